"""A run beside an earlier one (`assistant eval --against DIR`), item by item: which items
were fixed, which broke, which stayed as they were (and whether their answer changed), which
are new and which are gone. The earlier run is read from its own outputs
(`predictions.jsonl`, and `report.json` for what it was), so any past run can be compared.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import ValidationError

from assistant.models import Response

Status = Literal["fixed", "broken", "passing", "failing", "new"]
# The order the report shows them in, with plain labels.
STATUSES: dict[Status, str] = {
    "fixed": "fixed (failed before, passes now)",
    "broken": "broken (passed before, fails now)",
    "failing": "still failing",
    "passing": "still passing",
    "new": "new (not in the earlier run)",
}


class Current(NamedTuple):
    """An item of the run being compared: its id, whether it passed, its answer."""

    id: str
    passed: bool
    answer: str


class RunError(ValueError):
    """The earlier run cannot be read; the message names the folder and what is wrong."""


@dataclass(frozen=True)
class PastItem:
    """One item as the earlier run answered and scored it."""

    id: str
    passed: bool
    reason: str
    response: Response | None  # None when that ask failed
    error: str = ""


@dataclass(frozen=True)
class PastRun:
    path: Path
    name: str  # its configuration, e.g. hybrid-extractive
    timestamp: str
    gold_sha256: str
    items: dict[str, PastItem]
    overall: dict[str, Any]  # its report.json's overall metrics ({} without one)


@dataclass(frozen=True)
class Change:
    id: str
    status: Status
    before: PastItem | None
    answer_changed: bool  # the answer's text differs (whatever the verdict)


@dataclass(frozen=True)
class Against:
    """The current run's items against `previous`."""

    previous: PastRun
    changes: dict[str, Change]  # by the current run's item ids, in its order
    gone: list[str]  # ids of the earlier run that the gold file no longer has
    not_run: list[str]  # ids of the earlier run in the gold file but not run now (--limit)
    same_gold: bool

    def ids(self, status: Status) -> list[str]:
        return [c.id for c in self.changes.values() if c.status == status]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {s: len(self.ids(s)) for s in STATUSES}
        counts["unchanged"] = counts["passing"] + counts["failing"]
        counts["answer changed"] = sum(
            c.answer_changed for c in self.changes.values() if c.status in ("passing", "failing")
        )
        counts["gone"] = len(self.gone)
        counts["not run now"] = len(self.not_run)
        return counts

    def summary(self) -> str:
        c = self.counts()
        not_run = f" · not run now {c['not run now']}" if self.not_run else ""
        return (
            f"fixed {c['fixed']} · broken {c['broken']} · unchanged {c['unchanged']} "
            f"({c['passing']} passing, {c['failing']} failing; {c['answer changed']} with "
            f"another answer) · new {c['new']} · gone {c['gone']}{not_run}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.previous.path),
            "name": self.previous.name,
            "timestamp": self.previous.timestamp,
            "same_gold": self.same_gold,
            "counts": self.counts(),
            **{status: self.ids(status) for status in ("fixed", "broken", "new")},
            "gone": self.gone,
            "not_run": self.not_run,
        }


def load_run(path: Path) -> PastRun:
    """An earlier run from its folder; RunError saying what is missing or malformed."""
    predictions = path / "predictions.jsonl"
    if not predictions.is_file():
        raise RunError(f"{path}: not an eval run (no predictions.jsonl)")
    items: dict[str, PastItem] = {}
    for lineno, line in enumerate(predictions.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = _past_item(json.loads(line))
        except (json.JSONDecodeError, KeyError, TypeError, ValidationError) as err:
            raise RunError(f"{predictions}:{lineno}: not a prediction line ({err})") from None
        items[item.id] = item
    report = _report(path / "report.json")
    return PastRun(
        path=path,
        name=str(report.get("config", {}).get("name", "")),
        timestamp=str(report.get("timestamp", "")),
        gold_sha256=str(report.get("gold", {}).get("sha256", "")),
        items=items,
        overall=report.get("overall", {}),
    )


def _past_item(line: dict[str, Any]) -> PastItem:
    score = line["score"]
    fields = {k: v for k, v in line.items() if k in Response.model_fields}
    response = None if "error" in line and "answer" not in line else Response(**fields)
    return PastItem(
        id=str(line["id"]),
        passed=bool(score["passed"]),
        reason=str(score.get("reason", "")),
        response=response,
        error=str(line.get("error", "")),
    )


def _report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}  # an interrupted run has predictions but no report yet
    return data if isinstance(data, dict) else {}


def compare_runs(
    previous: PastRun, current: Sequence[Current], gold_ids: Collection[str], gold_sha256: str
) -> Against:
    """The current run's items beside `previous`; `gold_ids`: every id of the gold file
    (an earlier item that is still there but was not run now is not "gone")."""
    changes: dict[str, Change] = {}
    for now in current:
        before = previous.items.get(now.id)
        if before is None:
            status: Status = "new"
        elif before.passed != now.passed:
            status = "fixed" if now.passed else "broken"
        else:
            status = "passing" if now.passed else "failing"
        then = before.response.answer if before and before.response else ""
        changed = before is not None and now.answer != then
        changes[now.id] = Change(now.id, status, before, changed)
    others = [i for i in previous.items if i not in changes]
    gone = [i for i in others if i not in gold_ids]
    not_run = [i for i in others if i in gold_ids]
    same = not previous.gold_sha256 or previous.gold_sha256 == gold_sha256
    return Against(previous, changes, gone, not_run, same)
