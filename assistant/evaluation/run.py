"""Running a gold set through the pipeline: one configuration, or several side by side.

Every question goes through `answer.pipeline.ask`, the code path of `assistant ask`, on a
pipeline the factory builds as it builds it for `assistant ask`, so the numbers describe what
users get. Scoring lives in `score`, the outputs in `report`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, get_args

from assistant.answer.factory import PipelineFactory
from assistant.answer.pipeline import Pipeline, ask
from assistant.backends import registry
from assistant.backends.base import BackendError
from assistant.config import Config, RetrievalConfig
from assistant.evaluation import machine
from assistant.evaluation.against import Current, PastRun, compare_runs, load_run
from assistant.evaluation.gold import Gold, GoldItem
from assistant.evaluation.report import write_comparison, write_outputs
from assistant.evaluation.results import Comparison, Record, RunResult, Skipped, Variant
from assistant.evaluation.score import Prediction, score_item, summarize
from assistant.models import Response

DEFAULT_OUT_ROOT = Path("eval/out")
MODES: tuple[str, ...] = get_args(RetrievalConfig.model_fields["mode"].annotation)

Advance = Callable[[], None]


class ProgressSink(Protocol):
    """Where a run reports progress (the CLI's rich bar; nothing in tests)."""

    def task(self, label: str, total: int) -> Advance: ...


def default_out_dir(root: Path = DEFAULT_OUT_ROOT) -> Path:
    """A fresh timestamped folder, so runs never overwrite each other."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out, n = root / stamp, 1
    while out.exists():
        n += 1
        out = root / f"{stamp}-{n}"
    return out


def configure(cfg: Config, backend: str | None = None, mode: str | None = None) -> Config:
    """`cfg` with another backend and/or retrieval mode (the names are already validated)."""
    llm = cfg.llm.model_copy(update={"backend": backend or cfg.llm.backend})
    retrieval = cfg.retrieval.model_copy(update={"mode": mode or cfg.retrieval.mode})
    return cfg.model_copy(update={"llm": llm, "retrieval": retrieval})


def variant_of(cfg: Config) -> Variant:
    return Variant(f"{cfg.retrieval.mode}-{cfg.llm.backend}", cfg)


# ------------------------------------------------------------------------------ running


def scored_pipeline(factory: PipelineFactory, cfg: Config) -> Pipeline:
    """The pipeline of `cfg`, as `assistant ask` would answer with it. A backend the factory
    had to replace is not the one to score: BackendError, saying why."""
    pipe = factory.pipeline(cfg)
    if pipe.backend_name != cfg.llm.backend:
        raise BackendError(f"backend {cfg.llm.backend} is not ready: {pipe.notice}")
    return pipe


def open_scored_pipeline(cfg: Config) -> Pipeline:
    """The pipeline exactly as `assistant ask` opens it, checked to be the one asked for."""
    return scored_pipeline(PipelineFactory(cfg), cfg)


def run_item(pipe: Pipeline, item: GoldItem) -> Record:
    response: Response | None
    try:
        response = ask(pipe, item.question)
    except BackendError as err:
        # One failing generation must not throw away a long run: the item is scored as
        # a failure and shown in the report with the error.
        response, prediction = None, Prediction.failed(str(err))
    else:
        prediction = Prediction.from_response(response)
    return Record(item, response, score_item(item, prediction))


def evaluate(
    pipe: Pipeline,
    gold: Gold,
    items: Sequence[GoldItem],
    out_dir: Path,
    progress: ProgressSink | None = None,
    previous: PastRun | None = None,
) -> RunResult:
    """Run `items` (the gold set, or its first N under --limit) and write every output;
    with the machine's load meanwhile and, given an earlier run, each item beside it."""
    variant = variant_of(pipe.config)
    advance = progress.task(variant.name, len(items)) if progress else None
    before = machine.snapshot()
    records = []
    for item in items:
        records.append(run_item(pipe, item))
        if advance:
            advance()
    load = machine.measure(before)
    against = None
    if previous is not None:
        current = [Current(r.item.id, r.verdict.passed, _answer(r)) for r in records]
        gold_ids = {i.id for i in gold.items}
        against = compare_runs(previous, current, gold_ids, gold.sha256)
    summary = summarize([r.verdict for r in records])
    result = RunResult(variant, records, summary, out_dir, load, against)
    write_outputs(result, gold)
    return result


def _answer(r: Record) -> str:
    return r.response.answer if r.response else ""


# ---------------------------------------------------------------------------- comparing


def compare_variants(cfg: Config) -> list[Variant]:
    """Every retrieval mode with the configured backend, then every other backend with the
    configured mode (so the configured pair appears once)."""
    configs = [configure(cfg, mode=m) for m in MODES]
    configs += [configure(cfg, backend=b) for b in registry.names() if b != cfg.llm.backend]
    return [variant_of(c) for c in configs]


def compare(
    cfg: Config,
    gold: Gold,
    items: Sequence[GoldItem],
    out_dir: Path,
    progress: ProgressSink | None = None,
    against: Path | None = None,
) -> Comparison:
    """Run every variant on the same items over one opened index and embedder (reloading
    the embedding model or a local LLM per configuration would dominate the run); each
    one's outputs go to its own subfolder, and each is set beside the subfolder of its
    name in `against` (an earlier --compare run) when there is one."""
    factory = PipelineFactory(cfg)
    results: list[RunResult] = []
    skipped: list[Skipped] = []
    for variant in compare_variants(cfg):
        try:
            pipe = scored_pipeline(factory, variant.cfg)
        except BackendError as err:  # not installed, server down: reported, not fatal
            skipped.append(Skipped(variant, str(err)))
            continue
        earlier = against / variant.name if against else None
        previous = load_run(earlier) if earlier and earlier.is_dir() else None
        results.append(evaluate(pipe, gold, items, out_dir / variant.name, progress, previous))
    comparison = Comparison(results, skipped, out_dir)
    write_comparison(comparison, gold)
    return comparison
