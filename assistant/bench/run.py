"""`assistant bench`: ingest, query latency per stage, memory and disk at growing corpus
sizes, and the same gold set through a plain llama-index pipeline, in one run.

Every measured piece runs as its own process (`python -m assistant.bench.run TASK SPEC OUT`) so
its peak RSS is its own (`os.wait4` returns the child's ru_maxrss) and no warm cache leaks
from one measurement into the next. Children get the parent's configuration through
ASSISTANT_* environment variables, with their own paths.

Scales: 1x is the real sources, ingested for real (cold, then unchanged). Nx adds
5*(N-1) synthetic reports (see `synth`) whose vectors are perturbed real ones, written
straight into a fresh generation with the real store classes (`VectorStore.add`,
`BM25Index.build`, `save_generation`, `commit`), so the index under test is the one
`assistant ask` opens. Their ingest time excludes embedding; the embedding it would need is
projected from the 1x rate.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.config import Config
from assistant.evaluation.score import percentile

DEFAULT_SCALES = (1, 10, 100, 1000)
QUICK_SCALES = (1, 10, 100)
WARMUP_QUESTIONS = 3
SEARCH_STAGES = ("normalize", "bm25", "embed_query", "dense", "fusion", "rerank")
PRE_GENERATION = (*SEARCH_STAGES, "evidence")  # "retrieval": everything before generation
STAGES = (*PRE_GENERATION, "generate", "verify")
PLAIN_PRE_GENERATION = ("retrieve", "evidence")  # the plain pipeline's, see baseline.py
WORKER_TIMEOUT = 3 * 3600


class BenchError(Exception):
    """A measured step failed; the message names it and the child's last error line."""


# ------------------------------------------------------------------------------ results


@dataclass
class Stat:
    p50: float | None
    p95: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat:
        return cls(percentile(values, 50), percentile(values, 95))


@dataclass
class IngestResult:
    """A real ingest: cold (nothing indexed), as `assistant ingest` runs it."""

    documents: int
    chunks: int
    seconds: float
    embed_seconds: float
    chunks_per_s: float
    embed_share: float  # of the ingest's time, spent inside the embedding model
    process_seconds: float  # the whole process, imports included
    peak_rss_mb: float


@dataclass
class BuildResult:
    """A synthetic scale built without the embedding model (vectors are perturbed)."""

    documents: int
    chunks: int
    seconds: float
    generate_seconds: float
    store_seconds: float
    bm25_seconds: float
    save_seconds: float
    chunks_per_s: float  # everything but embedding
    projected_embed_seconds: float  # these chunks at the 1x embedding rate
    projected_ingest_seconds: float
    projected_embed_share: float
    peak_rss_mb: float


@dataclass
class ReingestResult:
    """`ingest` again with nothing changed."""

    seconds: float
    up_to_date: bool
    process_seconds: float
    peak_rss_mb: float


@dataclass
class QueryResult:
    """The gold questions asked warm, one after another, in one process."""

    questions: int
    backend: str
    open_seconds: float
    stages: dict[str, Stat]  # per stage, plus "search", "retrieval" and "total"
    answer_accuracy: float | None
    supported_accuracy: float | None
    refusal_recall: float | None
    recall_at_k: float | None
    peak_rss_mb: float


@dataclass
class ColdStart:
    """`assistant ask QUESTION --json`, process start to exit (page cache warm)."""

    median_seconds: float
    runs: list[float]
    peak_rss_mb: float


@dataclass
class UIResult:
    available: bool
    detail: str
    start_seconds: float | None = None
    peak_rss_mb: float | None = None


@dataclass
class ScaleResult:
    scale: int
    documents: int
    chunks: int
    ingest: IngestResult | None  # 1x
    build: BuildResult | None  # 10x and up
    reingest: ReingestResult
    query: QueryResult
    cold_ask: ColdStart
    ui: UIResult
    index_mb: float


@dataclass
class Side:
    """One pipeline's numbers on the gold set, in the paired comparison."""

    answer_accuracy: float | None
    supported_accuracy: float | None
    retrieval_ms: Stat
    total_ms: Stat
    search_ms: Stat | None = None  # retrieval without evidence selection


@dataclass
class ComparisonResult:
    questions: int
    backend: str
    baseline_answering: str
    baseline_documents: int
    baseline_nodes: int
    baseline_ingest_seconds: float
    baseline_embed_seconds: float
    ours: Side
    plain: Side
    accuracy_gain_points: float | None
    supported_gain_points: float | None
    retrieval_p50_ratio: float | None  # ours / plain, everything before generation
    retrieval_p95_ratio: float | None
    search_p50_ratio: float | None  # ours / plain, the search alone (no evidence selection)
    peak_rss_mb: float


@dataclass
class Target:
    name: str
    goal: str
    measured: str
    met: bool | None  # None: not measured in this run


@dataclass
class BenchResult:
    started: str
    seconds: float
    command: str
    machine: dict[str, Any]
    options: dict[str, Any]
    scales: list[ScaleResult] = field(default_factory=list)
    comparison: ComparisonResult | None = None
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class BenchOptions:
    scales: tuple[int, ...] = DEFAULT_SCALES
    out_dir: Path = Path("eval/bench")
    backend: str | None = None  # of the comparison; scale runs answer extractively
    gold: Path = Path("eval/gold.jsonl")
    questions: int | None = None  # only the first N gold questions
    seed: int = 0
    repeats: int = 3  # cold starts of `assistant ask` per scale
    baseline: bool = True
    ui: bool = True
    work: Path | None = None  # scratch folder; a removed temp folder by default
    command: str = "assistant bench"


# ------------------------------------------------------------------------------ running


Log = Callable[[str], None]


def run_bench(cfg: Config, opts: BenchOptions, log: Log = print) -> BenchResult:
    """Measure every scale, then the comparison, then write the reports."""
    from assistant.bench.report import evaluate_targets, write_reports

    t0 = time.perf_counter()
    result = BenchResult(
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=0.0,
        command=opts.command,
        machine=_machine(),
        options=_jsonable(asdict(opts)),
    )
    work = Path(tempfile.mkdtemp(prefix="assistant-bench-", dir=opts.work))
    try:
        base = _scale_config(cfg, work, 1, cfg.paths.sources)
        embed_rate: float | None = None
        # 1x always runs: the larger corpora are made from its index.
        for scale in sorted({1, *opts.scales}):
            measured = _run_scale(cfg, base, work, scale, opts, embed_rate, log)
            embed_rate = embed_rate or _embed_rate(measured.ingest)
            result.scales.append(measured)
            _drop_scale(work, scale)
        if opts.baseline:
            log("bench: plain llama-index pipeline vs ours on the gold set")
            result.comparison = run_comparison(base, work, opts)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result.machine["load_average_end"] = _loadavg()
    result.seconds = time.perf_counter() - t0
    result.targets = evaluate_targets(result)
    result.notes = _notes(cfg, opts)
    write_reports(result, opts.out_dir)
    return result


def _run_scale(
    cfg: Config,
    base: Config,
    work: Path,
    scale: int,
    opts: BenchOptions,
    embed_rate: float | None,
    log: Log,
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
        build = run_build(base, scfg, work, scale, opts.seed, embed_rate)
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
    )


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
    from assistant.index.generations import read_manifest

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
    )


def run_build(
    base: Config, cfg: Config, work: Path, scale: int, seed: int, embed_rate: float | None
) -> BuildResult:
    spec = {
        "scale": scale,
        "seed": seed,
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
    from assistant.evaluation.run import load_gold

    question = load_gold(opts.gold).items[0].question
    args = [*_assistant_command(), "ask", question, "--json"]
    runs: list[float] = []
    peak = 0.0
    for _ in range(max(1, opts.repeats)):
        proc = run_measured(args, config_env(cfg), work)
        runs.append(proc.seconds)
        peak = max(peak, proc.peak_rss_mb)
    return ColdStart(statistics.median(runs), runs, peak)


def run_ui(cfg: Config, work: Path, timeout: float = 300.0) -> UIResult:
    """`assistant serve` until its page answers; its peak RSS at that point."""
    from assistant.cli import cli

    if "serve" not in cli.commands:
        return UIResult(False, "assistant serve does not exist in this build")
    port = free_port()
    env = {**config_env(cfg), "ASSISTANT_UI__PORT": str(port), "ASSISTANT_UI__HOST": "127.0.0.1"}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [*_assistant_command(), "serve"], stdout=log, stderr=log, env=env, cwd=work
        )
        up = wait_http(f"http://127.0.0.1:{port}/", timeout, proc)
        started = time.perf_counter() - t0
        proc.terminate()
        rss = _wait_rss(proc)
        if not up:
            log.seek(0)
            return UIResult(False, f"did not start: {_last_line(log.read())}")
    return UIResult(True, "assistant serve, until its page answered", started, rss)


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


def _p50(stat: Stat | None) -> float | None:
    return stat.p50 if stat else None


def _points(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else (a - b) * 100


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


# ------------------------------------------------------------------------ subprocesses


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float
    stdout: str


def run_worker(
    task: str, cfg: Config, work: Path, spec: dict[str, Any]
) -> tuple[dict[str, Any], Measured]:
    """Run `python -m assistant.bench.run TASK` on `cfg`; its JSON result and what it cost."""
    fd, name = tempfile.mkstemp(prefix=f"{task}-", suffix=".json", dir=work)
    os.close(fd)
    spec_path, out_path = Path(name), Path(name).with_suffix(".out.json")
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    args = [sys.executable, "-m", "assistant.bench.run", task, str(spec_path), str(out_path)]
    proc = run_measured(args, config_env(cfg), work)
    return json.loads(out_path.read_text(encoding="utf-8")), proc


def run_measured(args: list[str], env: dict[str, str], cwd: Path) -> Measured:
    """Run to completion; wall seconds and the child's own peak RSS (ru_maxrss)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env, cwd=cwd)
        timer = threading.Timer(WORKER_TIMEOUT, proc.kill)
        timer.start()
        try:
            rss = _wait_rss(proc)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            err.seek(0)
            raise BenchError(f"{' '.join(args[:4])} failed: {_last_line(err.read())}")
        out.seek(0)
        return Measured(seconds, rss, out.read().decode("utf-8", "replace"))


def _wait_rss(proc: subprocess.Popen[bytes]) -> float:
    """Reap the child with wait4, which reports its peak RSS (KiB on Linux), in MB."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024


def _last_line(data: bytes) -> str:
    lines = [ln for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "(no output)"


def config_env(cfg: Config) -> dict[str, str]:
    """The environment that makes a child's `load_config()` equal `cfg` (env beats toml)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    for key, value in _flatten(cfg.model_dump(mode="json")).items():
        env[f"ASSISTANT_{key.upper()}"] = value
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_package_root(), env.get("PYTHONPATH")]))
    return env


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}__"))
        elif value is not None:
            flat[name] = value if isinstance(value, str) else json.dumps(value)
    return flat


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def _assistant_command() -> list[str]:
    script = Path(sys.executable).parent / "assistant"
    return [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Poll `url` until it answers; False on timeout or when `proc` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.25)
    return False


def dir_mb(path: Path) -> float:
    if not path.exists():
        return 0.0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "load_average_start": _loadavg(),
    }


def _loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))


def _notes(cfg: Config, opts: BenchOptions) -> list[str]:
    notes = [
        "Scale runs (10x and up) add synthetic reports made by assistant/synth.py (seeded: "
        f"seed {opts.seed}): sections of a real report shuffled, years shifted, figures and "
        "dates changed; their vectors are the real 1x vectors plus Gaussian noise "
        "(sigma 0.01 per dimension, re-normalised), NOT embedded by the model. Their ingest "
        "time therefore excludes embedding; the embedding it would take is projected from "
        "the 1x cold ingest's chunks/s.",
        "Query latencies are warm (pipeline opened, 3 questions asked first), one process "
        "per scale, answering with the extractive backend; retrieval = every stage before "
        "generation (normalize, bm25, embed_query, dense, fusion, rerank, evidence).",
        "Accuracy at 10x and up is on a corpus with near-duplicate synthetic reports of "
        "other years; it shows how retrieval copes with distractors, not a target.",
    ]
    if cfg.index.mode == "http":
        notes.append(
            f"Vectors are on the Chroma server {cfg.index.host}:{cfg.index.port}; the index "
            "size counts only the local part (chunks, BM25, manifest)."
        )
    return notes


# ------------------------------------------------------------------------------ workers
# Each runs in its own process: `python -m assistant.bench.run TASK SPEC_JSON OUT_JSON`.


def _worker_ingest(cfg: Config, spec: dict[str, Any]) -> dict[str, Any]:
    from assistant.corpus.ingest import ingest

    summary = ingest(cfg, rebuild=True)
    return {
        "documents": summary.documents,
        "chunks": summary.chunks,
        "seconds": summary.seconds,
        "embed_seconds": summary.embed_seconds,
    }


def _worker_reingest(cfg: Config, spec: dict[str, Any]) -> dict[str, Any]:
    from assistant.corpus.ingest import ingest

    summary = ingest(cfg)
    return {"seconds": summary.seconds, "up_to_date": summary.up_to_date}


def _worker_build(cfg: Config, spec: dict[str, Any]) -> dict[str, Any]:
    from assistant.bench.scale import build_scaled

    paths = cfg.paths.model_copy(
        update={"sources": Path(spec["src_sources"]), "index_dir": Path(spec["src_index_dir"])}
    )
    index = cfg.index.model_copy(update={"collection": spec["src_collection"]})
    src = cfg.model_copy(update={"paths": paths, "index": index})
    return asdict(build_scaled(src, cfg, spec["scale"], spec["seed"]))


def _worker_query(cfg: Config, spec: dict[str, Any]) -> dict[str, Any]:
    from assistant.answer.pipeline import Pipeline, ask
    from assistant.evaluation.run import check_ready, run_item
    from assistant.evaluation.score import summarize

    items = _gold_items(spec)
    t = time.perf_counter()
    pipe = Pipeline.open(cfg, spec["backend"])
    check_ready(pipe.backend)
    open_seconds = time.perf_counter() - t
    for item in items[:WARMUP_QUESTIONS]:
        ask(pipe, item.question)  # first-use costs (jieba's POS model, caches), not counted
    records = [run_item(pipe, item) for item in items]
    overall = summarize([r.verdict for r in records]).overall
    return {
        "backend": pipe.backend.name,
        "open_seconds": open_seconds,
        "items": [_timing_row(r.verdict.latency_ms, r.verdict.timings_ms) for r in records],
        **_accuracies(overall),
    }


def _worker_compare(cfg: Config, spec: dict[str, Any]) -> dict[str, Any]:
    """Ours and the plain pipeline in one process, alternating who goes first on each
    question, so that load from other processes on the machine hits both alike."""
    from assistant.answer.pipeline import Pipeline, ask
    from assistant.bench import baseline
    from assistant.evaluation.run import check_ready, run_item
    from assistant.evaluation.score import score_item, summarize

    items = _gold_items(spec)
    pipe = Pipeline.open(cfg, spec["backend"])
    check_ready(pipe.backend)
    scratch = Path(tempfile.mkdtemp(prefix="baseline-", dir=Path.cwd()))
    plain, ingest_stats = baseline.build(cfg, scratch, pipe.backend, pipe.index.bm25)
    for item in items[:WARMUP_QUESTIONS]:
        ask(pipe, item.question)
        plain.ask(item.question)
    ours, theirs = [], []
    for i, item in enumerate(items):
        steps = [
            lambda it=item: ours.append(run_item(pipe, it)),
            lambda it=item: theirs.append(score_item(it, plain.ask(it.question).prediction)),
        ]
        for step in steps if i % 2 == 0 else reversed(steps):
            step()
    ours_summary = summarize([r.verdict for r in ours]).overall
    plain_summary = summarize(theirs).overall
    return {
        "answering": plain.answering,
        "baseline_ingest": asdict(ingest_stats),
        "ours": {
            "items": [_timing_row(r.verdict.latency_ms, r.verdict.timings_ms) for r in ours],
            **_accuracies(ours_summary),
        },
        "plain": {
            "items": [_timing_row(v.latency_ms, v.timings_ms) for v in theirs],
            **_accuracies(plain_summary),
        },
    }


def _gold_items(spec: dict[str, Any]) -> list[Any]:
    from assistant.evaluation.run import load_gold

    items = load_gold(Path(spec["gold"])).items
    return items[: spec["limit"]] if spec.get("limit") else items


def _timing_row(latency: float | None, timings: Any) -> dict[str, Any]:
    return {"latency_ms": latency or 0.0, "timings_ms": dict(timings)}


def _accuracies(m: Any) -> dict[str, float | None]:
    return {
        "answer_accuracy": m.answer_accuracy,
        "supported_accuracy": m.supported_accuracy,
        "refusal_recall": m.refusal_recall,
        "recall_at_k": m.recall_at_k,
    }


WORKERS: dict[str, Callable[[Config, dict[str, Any]], dict[str, Any]]] = {
    "ingest": _worker_ingest,
    "reingest": _worker_reingest,
    "build": _worker_build,
    "query": _worker_query,
    "compare": _worker_compare,
}


def worker_main(argv: Sequence[str]) -> None:
    from assistant.config import load_config

    task, spec_path, out_path = argv
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    result = WORKERS[task](load_config(), spec)
    Path(out_path).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    worker_main(sys.argv[1:])
