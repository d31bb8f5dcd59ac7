"""The bench's measured steps, each run in its own process:
`python -m assistant.bench.workers TASK SPEC_JSON OUT_JSON` (see `measure.run_worker`)."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assistant.answer.factory import PipelineFactory
from assistant.answer.pipeline import ask
from assistant.bench import baseline
from assistant.bench.measure import rss_mb
from assistant.bench.scale import build_scaled
from assistant.config import Config, load_config
from assistant.corpus.ingest import ingest
from assistant.evaluation.gold import load_gold
from assistant.evaluation.run import configure, run_item, scored_pipeline
from assistant.evaluation.score import score_item, summarize

WARMUP_QUESTIONS = 3


def _worker_ingest(cfg: Config, spec: dict[str, Any]) -> dict[str, Any]:

    summary = ingest(cfg, rebuild=True)
    return {
        "documents": summary.documents,
        "chunks": summary.chunks,
        "seconds": summary.seconds,
        "embed_seconds": summary.embed_seconds,
        "facts_seconds": summary.facts_seconds,
    }


def _worker_reingest(cfg: Config, spec: dict[str, Any]) -> dict[str, Any]:

    summary = ingest(cfg)
    return {"seconds": summary.seconds, "up_to_date": summary.up_to_date}


def _worker_build(cfg: Config, spec: dict[str, Any]) -> dict[str, Any]:

    paths = cfg.paths.model_copy(
        update={"sources": Path(spec["src_sources"]), "index_dir": Path(spec["src_index_dir"])}
    )
    index = cfg.index.model_copy(update={"collection": spec["src_collection"]})
    src = cfg.model_copy(update={"paths": paths, "index": index})
    places = tuple(spec["places"])
    return asdict(build_scaled(src, cfg, spec["scale"], spec["seed"], places))


def _worker_query(cfg: Config, spec: dict[str, Any]) -> dict[str, Any]:

    items = _gold_items(spec)
    t = time.perf_counter()
    pipe = scored_pipeline(PipelineFactory(cfg), configure(cfg, backend=spec["backend"]))
    open_seconds = time.perf_counter() - t
    for item in items[:WARMUP_QUESTIONS]:
        ask(pipe, item.question)  # first-use costs (jieba's POS model, caches), not counted
    records = [run_item(pipe, item) for item in items]
    overall = summarize([r.verdict for r in records]).overall
    return {
        "backend": pipe.backend_name,
        "open_seconds": open_seconds,
        "items": [_timing_row(r.verdict.latency_ms, r.verdict.timings_ms) for r in records],
        **_accuracies(overall),
    }


def _worker_compare(cfg: Config, spec: dict[str, Any]) -> dict[str, Any]:
    """Ours and the plain pipeline in one process, alternating who goes first on each
    question, so that load from other processes on the machine hits both alike."""

    items = _gold_items(spec)
    pipe = scored_pipeline(PipelineFactory(cfg), configure(cfg, backend=spec["backend"]))
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


def _worker_memory(cfg: Config, spec: dict[str, Any]) -> dict[str, Any]:
    """One process asking question after question (the gold set, round and round): its
    resident memory after opening and after each answer."""
    items = load_gold(Path(spec["gold"])).items
    t = time.perf_counter()
    pipe = scored_pipeline(PipelineFactory(cfg), configure(cfg, backend=spec["backend"]))
    curve = [rss_mb()[0]]
    asked = 0
    for i in range(spec["questions"]):
        record = run_item(pipe, items[i % len(items)])
        asked += bool(record.response and record.response.guard.attempts)
        curve.append(rss_mb()[0])
    return {
        "backend": pipe.backend_name,
        "rss_mb": curve,
        "peak_mb": rss_mb()[1],
        "seconds": time.perf_counter() - t,
        "asked_model": asked,
    }


def _gold_items(spec: dict[str, Any]) -> list[Any]:

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
    "memory": _worker_memory,
}


def worker_main(argv: Sequence[str]) -> None:

    task, spec_path, out_path = argv
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    result = WORKERS[task](load_config(), spec)
    Path(out_path).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    worker_main(sys.argv[1:])
