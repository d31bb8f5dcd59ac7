"""Running a gold set through the pipeline: one configuration, or several side by side.

Every question goes through `answer.pipeline.ask`, the code path of `assistant ask`, on a
pipeline the factory builds as it builds it for `assistant ask`, so the numbers describe what
users get. Scoring lives in `score`, the outputs in `report`.

A run survives its process: what it was started with is written first (`run.json`), each
prediction is appended to `predictions.jsonl` as soon as it is made, and `assistant eval
--resume DIR` continues a run that died, re-scoring what it had written and asking only
the rest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol, get_args

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
RUN_FILE = "run.json"
PREDICTIONS = "predictions.jsonl"
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


class ResumeError(Exception):
    """A run cannot be continued; the message says why and what to do."""


@dataclass(frozen=True)
class RunSpec:
    """What a run was started with: `--resume` continues it with exactly this."""

    gold: str
    gold_sha256: str
    items: int  # the first N items of the gold file
    backend: str
    mode: str
    compare: bool
    index_generation: str


def run_spec(cfg: Config, gold: Gold, items: int, generation: str, compare: bool) -> RunSpec:
    return RunSpec(
        str(gold.path), gold.sha256, items, cfg.llm.backend, cfg.retrieval.mode, compare, generation
    )


def write_spec(out_dir: Path, spec: RunSpec) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RUN_FILE).write_text(json.dumps(asdict(spec), indent=2) + "\n", encoding="utf-8")


def read_spec(out_dir: Path) -> RunSpec:
    path = out_dir / RUN_FILE
    try:
        return RunSpec(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ResumeError(f"{out_dir} holds no eval run to resume (no {RUN_FILE})") from None
    except (OSError, ValueError, TypeError) as err:
        raise ResumeError(f"{path} is damaged ({err}); start a new run") from err


def check_resumable(spec: RunSpec, gold: Gold, generation: str) -> None:
    """A run continues on what it started on, or not at all: its numbers would mix."""
    if gold.sha256 != spec.gold_sha256:
        raise ResumeError(f"{spec.gold} changed since the run started; start a new run")
    if generation != spec.index_generation:
        raise ResumeError(
            f"the index changed since the run started (generation {spec.index_generation}, "
            f"now {generation}); start a new run"
        )


def evaluate(
    pipe: Pipeline,
    gold: Gold,
    items: Sequence[GoldItem],
    out_dir: Path,
    progress: ProgressSink | None = None,
    resume: bool = False,
    previous: PastRun | None = None,
) -> RunResult:
    """Run `items` (the gold set, or its first N under --limit) and write every output;
    each prediction is on disk as soon as it is made, with the machine's load meanwhile
    and, given an earlier run, each item beside it. With `resume`, the predictions already
    in `out_dir` are re-scored and only the other items are asked."""
    variant = variant_of(pipe.config)
    generation = pipe.index.manifest.generation
    spec = run_spec(pipe.config, gold, len(items), generation, compare=False)
    done = finished(out_dir, items) if resume else {}
    if not resume:
        write_spec(out_dir, spec)
    advance = progress.task(variant.name, len(items)) if progress else None
    before = machine.snapshot()
    records = []
    with prediction_log(out_dir / PREDICTIONS, [done[i.id] for i in items if i.id in done]) as log:
        for item in items:
            record = done.get(item.id)
            if record is None:
                record = run_item(pipe, item)
                write_line(log, record.prediction_line())
            records.append(record)
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


@contextmanager
def prediction_log(path: Path, kept: list[Record]) -> Iterator[IO[str]]:
    """predictions.jsonl opened for appending, holding `kept` (a resumed run's valid lines;
    a line the crash cut off is dropped and its item asked again)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for record in kept:
            write_line(fh, record.prediction_line())
        yield fh


def write_line(fh: IO[str], line: dict[str, Any]) -> None:
    """One prediction, on disk before the next question is asked."""
    fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    fh.flush()
    os.fsync(fh.fileno())


def finished(out_dir: Path, items: Sequence[GoldItem]) -> dict[str, Record]:
    """The predictions a run wrote before it stopped, re-scored, by item id."""
    path = out_dir / PREDICTIONS
    if not path.exists():
        return {}
    by_id = {item.id: item for item in items}
    records: dict[str, Record] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
            item = by_id[data["id"]]
            records[item.id] = record_of(item, data)
        except (ValueError, KeyError, TypeError):
            continue  # cut off by the crash, or not an item of this run: asked again
    return records


def record_of(item: GoldItem, line: dict[str, Any]) -> Record:
    """A prediction line back into a Record, scored again (the scorer is deterministic)."""
    if "error" in line and "answer" not in line:
        prediction = Prediction.failed(str(line["error"]))
        return Record(item, None, score_item(item, prediction))
    body = {k: v for k, v in line.items() if k not in ("id", "score")}
    response = Response.model_validate(body)
    return Record(item, response, score_item(item, Prediction.from_response(response)))


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
    resume: bool = False,
    against: Path | None = None,
) -> Comparison:
    """Run every variant on the same items over one opened index and embedder (reloading
    the embedding model or a local LLM per configuration would dominate the run); each
    one's outputs go to its own subfolder, a resumed comparison resumes each, and each is
    set beside the subfolder of its name in `against` (an earlier --compare run) when
    there is one."""
    factory = PipelineFactory(cfg)
    if not resume:
        generation = factory.index.manifest.generation
        write_spec(out_dir, run_spec(cfg, gold, len(items), generation, compare=True))
    results: list[RunResult] = []
    skipped: list[Skipped] = []
    for variant in compare_variants(cfg):
        try:
            pipe = scored_pipeline(factory, variant.cfg)
        except BackendError as err:  # not installed, server down: reported, not fatal
            skipped.append(Skipped(variant, str(err)))
            continue
        folder = out_dir / variant.name
        again = resume and (folder / RUN_FILE).exists()
        earlier = against / variant.name if against else None
        previous = load_run(earlier) if earlier and earlier.is_dir() else None
        results.append(evaluate(pipe, gold, items, folder, progress, again, previous))
    comparison = Comparison(results, skipped, out_dir)
    write_comparison(comparison, gold)
    return comparison
