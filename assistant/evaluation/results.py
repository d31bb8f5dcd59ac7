"""What an eval run produces, as plain data: each gold item as run, each configuration's
result, and a comparison of several."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import Config
from assistant.evaluation.against import Against
from assistant.evaluation.gold import GoldItem
from assistant.evaluation.machine import MachineLoad
from assistant.evaluation.score import Summary, Verdict
from assistant.models import Response


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
    machine: MachineLoad | None = None  # what the machine was doing meanwhile
    against: Against | None = None  # item by item beside an earlier run (--against)


@dataclass(frozen=True)
class Skipped:
    variant: Variant
    reason: str


@dataclass(frozen=True)
class Comparison:
    results: list[RunResult]
    skipped: list[Skipped]
    out_dir: Path
