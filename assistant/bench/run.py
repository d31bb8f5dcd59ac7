"""`assistant bench`: ingest, query latency per stage, memory and disk at growing corpus
sizes, and the same gold set through a plain llama-index pipeline, in one run.

Every measured piece runs as its own process (`python -m assistant.bench.workers TASK SPEC
OUT`, see `workers`) so its peak RSS is its own and no warm cache leaks from one measurement
into the next. Children get the parent's configuration through ASSISTANT_* environment
variables, with their own paths (`measure.config_env`).

Scales: 1x is the real sources, ingested for real (cold, then unchanged). Nx adds
5*(N-1) synthetic reports (see `synth`: other districts' reports in the real ones' words,
about districts no gold question names) whose vectors are perturbed real ones, written
straight into a fresh generation with the real store classes (see `scale`), so the index
under test is the one `assistant ask` opens. Their ingest time excludes embedding; the
embedding it would need is projected from the 1x rate.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.bench import synth
from assistant.bench.measure import (
    BenchError,
    assistant_command,
    config_env,
    dir_mb,
    jsonable,
    loadavg,
    machine,
    rss_mb,
    run_measured,
    run_worker,
    serving,
    wait_rss,
)
from assistant.bench.report import evaluate_targets, write_reports
from assistant.bench.results import (
    PLAIN_PRE_GENERATION,
    PRE_GENERATION,
    SEARCH_STAGES,
    STAGES,
    BenchOptions,
    BenchResult,
    BuildResult,
    ColdStart,
    ComparisonResult,
    FactsResult,
    IngestResult,
    MemoryCurve,
    QueryResult,
    ReingestResult,
    ScaleResult,
    Side,
    Stat,
    UIResult,
)
from assistant.bench.users import PageUser, run_users
from assistant.config import Config
from assistant.evaluation.gold import load_gold
from assistant.facts.table import FILE as FACTS_FILE
from assistant.index.generations import generation_dir, read_manifest
from assistant.textnorm import for_search

Log = Callable[[str], None]


def run_bench(cfg: Config, opts: BenchOptions, log: Log = print) -> BenchResult:
    """Measure every scale, then the comparison, then write the reports."""
    t0 = time.perf_counter()
    result = BenchResult(
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=0.0,
        command=opts.command,
        machine=machine(),
        options=jsonable(asdict(opts)),
    )
    places = distractor_places(opts)
    work = Path(tempfile.mkdtemp(prefix="assistant-bench-", dir=opts.work))
    try:
        base = _scale_config(cfg, work, 1, cfg.paths.sources)
        embed_rate: float | None = None
        # 1x always runs: the larger corpora are made from its index.
        for scale in sorted({1, *opts.scales}):
            measured = _run_scale(cfg, base, work, scale, opts, embed_rate, log, places)
            embed_rate = embed_rate or _embed_rate(measured.ingest)
            result.scales.append(measured)
            _drop_scale(work, scale)
        if opts.baseline:
            log("bench: plain llama-index pipeline vs ours on the gold set")
            result.comparison = run_comparison(base, work, opts)
        if opts.memory_questions:
            log(f"bench: memory over {opts.memory_questions} questions ({opts.memory_backend})")
            result.memory = run_memory(base, work, opts)
        if opts.ui and opts.users:
            log(f"bench: {', '.join(map(str, opts.users))} users at once in the page")
            users_cfg = memory_config(base, opts.memory_backend)
            result.users = run_users(users_cfg, work, opts.gold, opts.users)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result.machine["load_average_end"] = loadavg()
    result.seconds = time.perf_counter() - t0
    result.targets = evaluate_targets(result)
    result.notes = _notes(cfg, opts, places)
    write_reports(result, opts.out_dir)
    return result


def distractor_places(opts: BenchOptions) -> tuple[str, ...]:
    """The districts the synthetic reports are about: those no gold question names, so that
    every gold answer and refusal stays true at every scale; () for restated copies."""
    if opts.distractors == "restated":
        return ()
    questions = [for_search(item.question) for item in load_gold(opts.gold).items]
    places = synth.places_outside(questions)
    if not places:
        raise BenchError(
            "the gold set names every district the synthetic reports could be about; "
            "use --distractors restated"
        )
    return places


def _run_scale(
    cfg: Config,
    base: Config,
    work: Path,
    scale: int,
    opts: BenchOptions,
    embed_rate: float | None,
    log: Log,
    places: tuple[str, ...],
) -> ScaleResult:
    ingest_result: IngestResult | None = None
    build: BuildResult | None = None
    if scale == 1:
        scfg = base
        log("bench 1x: cold ingest of the real sources")
        ingest_result = run_ingest(scfg, work)
    else:
        scfg = _scale_config(cfg, work, scale, work / f"x{scale}" / "sources")
        log(f"bench {scale}x: building the corpus (real reports + synthetic ones)")
        build = run_build(base, scfg, work, scale, opts.seed, embed_rate, places)
    log(f"bench {scale}x: unchanged re-ingest")
    reingest = run_reingest(scfg, work)
    log(f"bench {scale}x: questions, warm")
    query = run_queries(scfg, work, opts)
    log(f"bench {scale}x: cold starts of assistant ask")
    cold = run_cold_ask(scfg, work, opts)
    ui = run_ui(scfg, work) if opts.ui else UIResult(False, "skipped (--no-ui)")
    documents, chunks = _counts(scfg)
    return ScaleResult(
        scale=scale,
        documents=documents,
        chunks=chunks,
        ingest=ingest_result,
        build=build,
        reingest=reingest,
        query=query,
        cold_ask=cold,
        ui=ui,
        index_mb=dir_mb(scfg.paths.index_dir),
        facts=_facts(scfg, ingest_result, build),
    )


def _facts(
    cfg: Config, ingest: IngestResult | None, build: BuildResult | None
) -> FactsResult | None:
    manifest = read_manifest(cfg.paths.index_dir)
    if manifest is None:
        return None
    path = generation_dir(cfg.paths.index_dir, manifest.generation) / FACTS_FILE
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as f:
        count = sum(1 for _ in f)
    seconds = ingest.facts_seconds if ingest else build.facts_seconds if build else 0.0
    return FactsResult(count, seconds, path.stat().st_size / 1e6)


def _embed_rate(ingest_result: IngestResult | None) -> float | None:
    """Chunks per second inside the embedding model, from the 1x cold ingest."""
    if ingest_result and ingest_result.embed_seconds > 0:
        return ingest_result.chunks / ingest_result.embed_seconds
    return None


def _scale_config(cfg: Config, work: Path, scale: int, sources: Path) -> Config:
    """Where a scale's sources and index live; its own collection prefix, so the bench never
    prunes (or reads) the collections of a real index on a shared Chroma server."""
    paths = cfg.paths.model_copy(
        update={"sources": sources, "index_dir": work / f"x{scale}" / "index_store"}
    )
    index = cfg.index.model_copy(update={"collection": f"bench{scale}x"})
    llm = cfg.llm.model_copy(update={"backend": "extractive"})
    return cfg.model_copy(update={"paths": paths, "index": index, "llm": llm})


def _drop_scale(work: Path, scale: int) -> None:
    """Scales above 1x are measured once; their files would only fill the disk."""
    if scale != 1:
        shutil.rmtree(work / f"x{scale}", ignore_errors=True)


def _counts(cfg: Config) -> tuple[int, int]:
    manifest = read_manifest(cfg.paths.index_dir)
    return (manifest.documents, manifest.chunks) if manifest else (0, 0)


# ----------------------------------------------------------------------- measured steps


def run_ingest(cfg: Config, work: Path) -> IngestResult:
    out, proc = run_worker("ingest", cfg, work, {})
    seconds, embed = out["seconds"], out["embed_seconds"]
    return IngestResult(
        documents=out["documents"],
        chunks=out["chunks"],
        seconds=seconds,
        embed_seconds=embed,
        chunks_per_s=out["chunks"] / seconds if seconds else 0.0,
        embed_share=embed / seconds if seconds else 0.0,
        process_seconds=proc.seconds,
        peak_rss_mb=proc.peak_rss_mb,
        facts_seconds=out.get("facts_seconds", 0.0),
    )


def run_build(
    base: Config,
    cfg: Config,
    work: Path,
    scale: int,
    seed: int,
    embed_rate: float | None,
    places: tuple[str, ...],
) -> BuildResult:
    spec = {
        "scale": scale,
        "seed": seed,
        "places": list(places),
        "src_sources": str(base.paths.sources),
        "src_index_dir": str(base.paths.index_dir),
        "src_collection": base.index.collection,
    }
    out, proc = run_worker("build", cfg, work, spec)
    projected = out["chunks"] / embed_rate if embed_rate else 0.0
    seconds = out["seconds"]
    return BuildResult(
        documents=out["documents"],
        chunks=out["chunks"],
        seconds=seconds,
        generate_seconds=out["generate_seconds"],
        store_seconds=out["store_seconds"],
        bm25_seconds=out["bm25_seconds"],
        save_seconds=out["save_seconds"],
        chunks_per_s=out["chunks"] / seconds if seconds else 0.0,
        projected_embed_seconds=projected,
        projected_ingest_seconds=projected + seconds,
        projected_embed_share=projected / (projected + seconds) if projected else 0.0,
        peak_rss_mb=proc.peak_rss_mb,
        facts_seconds=out.get("facts_seconds", 0.0),
        home_facts=out.get("home_facts", 0),
        restated_facts=out.get("restated_facts", 0),
        places=places,
    )


def run_reingest(cfg: Config, work: Path) -> ReingestResult:
    out, proc = run_worker("reingest", cfg, work, {})
    return ReingestResult(out["seconds"], out["up_to_date"], proc.seconds, proc.peak_rss_mb)


def run_queries(cfg: Config, work: Path, opts: BenchOptions) -> QueryResult:
    spec = {"gold": str(opts.gold.resolve()), "limit": opts.questions, "backend": "extractive"}
    out, proc = run_worker("query", cfg, work, spec)
    return QueryResult(
        questions=len(out["items"]),
        backend=out["backend"],
        open_seconds=out["open_seconds"],
        stages=stage_stats(out["items"]),
        answer_accuracy=out["answer_accuracy"],
        supported_accuracy=out["supported_accuracy"],
        refusal_recall=out["refusal_recall"],
        recall_at_k=out["recall_at_k"],
        peak_rss_mb=proc.peak_rss_mb,
    )


def stage_stats(items: Sequence[dict[str, Any]]) -> dict[str, Stat]:
    """p50/p95 per stage, and of the sums that matter: search, retrieval, total."""
    stats: dict[str, Stat] = {}
    for stage in STAGES:
        values = [it["timings_ms"][stage] for it in items if stage in it["timings_ms"]]
        if values:
            stats[stage] = Stat.of(values)
    stats["search"] = Stat.of([_sum(it["timings_ms"], SEARCH_STAGES) for it in items])
    stats["retrieval"] = Stat.of([_sum(it["timings_ms"], PRE_GENERATION) for it in items])
    stats["total"] = Stat.of([it["latency_ms"] for it in items])
    return stats


def _sum(timings: dict[str, float], stages: Sequence[str]) -> float:
    return sum(timings.get(s, 0.0) for s in stages)


def run_cold_ask(cfg: Config, work: Path, opts: BenchOptions) -> ColdStart:
    question = load_gold(opts.gold).items[0].question
    args = [*assistant_command(), "ask", question, "--json"]
    runs: list[float] = []
    peak = 0.0
    for _ in range(max(1, opts.repeats)):
        proc = run_measured(args, config_env(cfg), work)
        runs.append(proc.seconds)
        peak = max(peak, proc.peak_rss_mb)
    return ColdStart(statistics.median(runs), runs, peak)


def run_ui(cfg: Config, work: Path, timeout: float = 300.0) -> UIResult:
    """`assistant serve` until its page answers; its peak RSS at that point."""
    with serving(cfg, work, timeout) as served:
        if not served.up:
            return UIResult(False, served.problem)
        served.proc.terminate()
        rss = wait_rss(served.proc)
    return UIResult(True, "assistant serve, until its page answered", served.seconds, rss)


def memory_config(cfg: Config, backend: str) -> Config:
    """The steady-memory runs: every answerable question reaches the model (facts first
    would answer figure questions without it), so each run stresses the generator."""
    llm = cfg.llm.model_copy(update={"backend": backend, "facts_first": False})
    return cfg.model_copy(update={"llm": llm})


def run_memory(base: Config, work: Path, opts: BenchOptions) -> list[MemoryCurve]:
    """Resident memory of a query process and of the UI process, question after question."""
    cfg = memory_config(base, opts.memory_backend)
    curves = [_memory_query(cfg, work, opts)]
    if opts.ui:
        curves.append(_memory_ui(cfg, work, opts))
    return curves


def _memory_query(cfg: Config, work: Path, opts: BenchOptions) -> MemoryCurve:
    spec = {
        "gold": str(opts.gold.resolve()),
        "questions": opts.memory_questions,
        "backend": opts.memory_backend,
    }
    try:
        out, proc = run_worker("memory", cfg, work, spec)
    except BenchError as err:
        return MemoryCurve("query", opts.memory_backend, False, str(err))
    return MemoryCurve(
        "query",
        out["backend"],
        True,
        "one process: open the pipeline, then ask question after question",
        out["rss_mb"],
        max(out["peak_mb"], proc.peak_rss_mb),
        out["seconds"],
        out["asked_model"],
    )


def _memory_ui(cfg: Config, work: Path, opts: BenchOptions, timeout: float = 600.0) -> MemoryCurve:
    """`assistant serve` asked over HTTP as the page asks (the verified answer, then the
    model's phrasing; a new chat for each question, as many users would), its RSS read
    from /proc after each answer."""
    items = load_gold(opts.gold).items
    backend = opts.memory_backend
    with serving(cfg, work, timeout) as served:
        if not served.up:
            return MemoryCurve("ui", backend, False, served.problem)
        user = PageUser(served.url, backend)
        t = time.perf_counter()
        curve = [rss_mb(served.proc.pid)[0]]
        for i in range(opts.memory_questions):
            user.ask(items[i % len(items)].question)
            user.new_chat()
            curve.append(rss_mb(served.proc.pid)[0])
        peak = rss_mb(served.proc.pid)[1]
        seconds = time.perf_counter() - t
    detail = "assistant serve, asked over HTTP (gradio_client), a new chat per question"
    return MemoryCurve("ui", backend, True, detail, curve, peak, seconds)


def run_comparison(base: Config, work: Path, opts: BenchOptions) -> ComparisonResult:
    backend = opts.backend or "extractive"
    spec = {"gold": str(opts.gold.resolve()), "limit": opts.questions, "backend": backend}
    out, proc = run_worker("compare", base, work, spec)
    ours = _side(out["ours"], ours=True)
    plain = _side(out["plain"], ours=False)
    return ComparisonResult(
        questions=len(out["ours"]["items"]),
        backend=backend,
        baseline_answering=out["answering"],
        baseline_documents=out["baseline_ingest"]["documents"],
        baseline_nodes=out["baseline_ingest"]["nodes"],
        baseline_ingest_seconds=out["baseline_ingest"]["seconds"],
        baseline_embed_seconds=out["baseline_ingest"]["embed_seconds"],
        ours=ours,
        plain=plain,
        accuracy_gain_points=_points(ours.answer_accuracy, plain.answer_accuracy),
        supported_gain_points=_points(ours.supported_accuracy, plain.supported_accuracy),
        retrieval_p50_ratio=_ratio(ours.retrieval_ms.p50, plain.retrieval_ms.p50),
        retrieval_p95_ratio=_ratio(ours.retrieval_ms.p95, plain.retrieval_ms.p95),
        search_p50_ratio=_ratio(_p50(ours.search_ms), _p50(plain.search_ms)),
        peak_rss_mb=proc.peak_rss_mb,
    )


def _side(data: dict[str, Any], ours: bool) -> Side:
    items = data["items"]
    if ours:
        stats = stage_stats(items)
        retrieval, search = stats["retrieval"], stats["search"]
    else:
        # The same composer's evidence selection counts on both sides (extractive backend).
        retrieval = Stat.of([_sum(it["timings_ms"], PLAIN_PRE_GENERATION) for it in items])
        search = Stat.of([it["timings_ms"]["retrieve"] for it in items])
    return Side(
        answer_accuracy=data["answer_accuracy"],
        supported_accuracy=data["supported_accuracy"],
        retrieval_ms=retrieval,
        total_ms=Stat.of([it["latency_ms"] for it in items]),
        search_ms=search,
    )


def _distractor_note(places: tuple[str, ...]) -> str:
    if not places:
        return (
            "Distractors: restated (--distractors restated). The synthetic reports stay "
            "Luohu's: they restate the real reports' named events and periods with other "
            "dates and figures, and state Luohu figures for years the real reports lack. No "
            "pipeline can tell such a copy from the real report, and unanswerable gold "
            "questions become answerable by them; kept only to compare with earlier runs. "
            "`Luohu / restated facts`: the synthetic facts about Luohu, and those that "
            "contradict a real fact (same subject, metric, period, status, kind and unit, "
            "another value)."
        )
    return (
        "Distractors: other districts. Each synthetic report is another Shenzhen district's "
        f"({'、'.join(places)}: the districts no gold question names), its district and street "
        "names changed consistently, years and anniversaries shifted, figures scaled. A real "
        "collection holds such reports: the same formulaic wording, other districts, other "
        "years. A copy that still spoke of Luohu would restate a real report's named events and "
        "periods with other figures (a contradiction no collection holds and no pipeline can "
        "resolve) or invent Luohu figures the gold set says the sources lack. `Luohu / restated "
        "facts`: the synthetic facts the fact reader still finds about Luohu, and those that "
        "contradict a real fact (same subject, metric, period, status, kind and unit, another "
        "value)."
    )


def _p50(stat: Stat | None) -> float | None:
    return stat.p50 if stat else None


def _points(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else (a - b) * 100


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _notes(cfg: Config, opts: BenchOptions, places: tuple[str, ...]) -> list[str]:
    notes = [
        "Scale runs (10x and up) add synthetic reports made by assistant/bench/synth.py (seeded: "
        f"seed {opts.seed}): sections of a real report shuffled, years shifted, figures and "
        "dates changed; their vectors are the real 1x vectors plus Gaussian noise "
        "(sigma 0.01 per dimension, re-normalised), NOT embedded by the model. Their ingest "
        "time therefore excludes embedding; the embedding it would take is projected from "
        "the 1x cold ingest's chunks/s.",
        _distractor_note(places),
        "Query latencies are warm (pipeline opened, 3 questions asked first), one process "
        "per scale, answering with the extractive backend; retrieval = every stage before "
        "generation (normalize, bm25, embed_query, dense, hints, fusion, rerank, evidence).",
        "Accuracy at 10x and up is the gold set asked of the whole corpus, synthetic "
        "distractors included: the real reports must still win over their near-duplicates.",
    ]
    if cfg.index.mode == "http":
        notes.append(
            f"Vectors are on the Chroma server {cfg.index.host}:{cfg.index.port}; the index "
            "size counts only the local part (chunks, BM25, manifest)."
        )
    return notes
