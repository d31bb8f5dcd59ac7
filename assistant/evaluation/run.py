"""Running a gold set through the pipeline: one configuration, or several side by side.

Every question goes through `answer.ask`, the code path of `assistant ask`, so the numbers
describe what users get. Scoring lives in `score`, rendering in `eval_report`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, get_args

from assistant.answer.pipeline import Pipeline, ask
from assistant.backends import Backend, BackendError, make_backend
from assistant.config import Config, LLMConfig, RetrievalConfig
from assistant.evaluation.score import (
    GoldError,
    GoldItem,
    Prediction,
    Summary,
    Verdict,
    parse_gold,
    score_item,
    summarize,
)
from assistant.models import Response

DEFAULT_OUT_ROOT = Path("eval/out")
MODES: tuple[str, ...] = get_args(RetrievalConfig.model_fields["mode"].annotation)
BACKENDS: tuple[str, ...] = get_args(LLMConfig.model_fields["backend"].annotation)

Advance = Callable[[], None]


@dataclass(frozen=True)
class Gold:
    path: Path
    sha256: str
    items: list[GoldItem]  # the whole file, validated

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path), "sha256": self.sha256, "items_in_file": len(self.items)}


@dataclass(frozen=True)
class Record:
    """One gold item as run: what the pipeline said and how it scored."""

    item: GoldItem
    response: Response | None  # None when ask raised
    verdict: Verdict

    def prediction_line(self) -> dict[str, Any]:
        """The `ask --json` object, plus the item's id, question and verdict."""
        body = self.response.model_dump() if self.response else {"error": self.verdict.error}
        return {
            "id": self.item.id,
            **body,
            "question": self.item.question,
            "score": self.verdict.as_dict(),
        }


@dataclass(frozen=True)
class Variant:
    """One configuration of a comparison; `name` doubles as its output folder."""

    name: str
    cfg: Config

    @property
    def backend(self) -> str:
        return self.cfg.llm.backend

    @property
    def mode(self) -> str:
        return self.cfg.retrieval.mode


@dataclass(frozen=True)
class RunResult:
    variant: Variant
    records: list[Record]
    summary: Summary
    out_dir: Path


@dataclass(frozen=True)
class Skipped:
    variant: Variant
    reason: str


# ---------------------------------------------------------------------------- inputs


def load_gold(path: Path) -> Gold:
    if not path.is_file():
        raise GoldError(f"gold file not found: {path}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise GoldError(f"{path}: not UTF-8 ({err.reason} at byte {err.start})") from None
    return Gold(path, hashlib.sha256(data).hexdigest(), parse_gold(text.splitlines(), str(path)))


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


class ProgressSink(Protocol):
    """Where a run reports progress (the CLI's rich bar; nothing in tests)."""

    def task(self, label: str, total: int) -> Advance: ...


def check_ready(backend: Backend) -> None:
    """Fail before the first question rather than on every one of them."""
    probe = getattr(backend, "ready", None)
    if probe is None:
        return
    ok, detail = probe()
    if not ok:
        raise BackendError(f"backend {backend.name} is not ready: {detail}")


def open_pipeline(cfg: Config) -> Pipeline:
    """The pipeline exactly as `assistant ask` opens it, checked to be ready."""
    pipe = Pipeline.open(cfg)
    check_ready(pipe.backend)
    return pipe


def run_item(pipe: Pipeline, item: GoldItem) -> Record:
    try:
        response: Response | None = ask(pipe, item.question)
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
) -> RunResult:
    """Run `items` (the gold set, or its first N under --limit) and write every output."""
    from assistant.evaluation.report import write_outputs

    variant = variant_of(pipe.config)
    advance = progress.task(variant.name, len(items)) if progress else None
    records = []
    for item in items:
        records.append(run_item(pipe, item))
        if advance:
            advance()
    result = RunResult(variant, records, summarize([r.verdict for r in records]), out_dir)
    write_outputs(result, gold)
    return result


# ---------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Comparison:
    results: list[RunResult]
    skipped: list[Skipped]
    out_dir: Path


def compare_variants(cfg: Config) -> list[Variant]:
    """Every retrieval mode with the configured backend, then every other backend with the
    configured mode (so the configured pair appears once)."""
    configs = [configure(cfg, mode=m) for m in MODES]
    configs += [configure(cfg, backend=b) for b in BACKENDS if b != cfg.llm.backend]
    return [variant_of(c) for c in configs]


class SharedParts:
    """The index and embedder opened once, and each backend built at most once: reloading
    the embedding model or a local LLM per configuration would dominate the run."""

    def __init__(self, cfg: Config) -> None:
        from assistant.index.embed import E5Embedding
        from assistant.index.generations import Index

        self.index = Index.open(cfg)
        self.embedder = E5Embedding(cfg.embedding)
        self._backends: dict[str, Backend | BackendError] = {}

    def backend(self, cfg: Config) -> Backend:
        name = cfg.llm.backend
        if name not in self._backends:
            try:
                backend = make_backend(cfg, name)
                check_ready(backend)
                self._backends[name] = backend
            except BackendError as err:
                self._backends[name] = err
        found = self._backends[name]
        if isinstance(found, BackendError):
            raise found
        return found

    def pipeline(self, cfg: Config) -> Pipeline:
        """The same Pipeline `ask` takes, assembled from the shared parts."""
        from assistant.answer.retrieve import Retriever

        retriever = Retriever(self.index, cfg.retrieval, self.embedder)
        return Pipeline(cfg, self.index, retriever, self.backend(cfg))


def compare(
    cfg: Config,
    gold: Gold,
    items: Sequence[GoldItem],
    out_dir: Path,
    progress: ProgressSink | None = None,
) -> Comparison:
    """Run every variant on the same items; each one's outputs go to its own subfolder."""
    from assistant.evaluation.report import write_comparison

    parts = SharedParts(cfg)
    results: list[RunResult] = []
    skipped: list[Skipped] = []
    for variant in compare_variants(cfg):
        try:
            pipe = parts.pipeline(variant.cfg)
        except BackendError as err:  # not installed, server down: reported, not fatal
            skipped.append(Skipped(variant, str(err)))
            continue
        results.append(evaluate(pipe, gold, items, out_dir / variant.name, progress))
    comparison = Comparison(results, skipped, out_dir)
    write_comparison(comparison, gold)
    return comparison
