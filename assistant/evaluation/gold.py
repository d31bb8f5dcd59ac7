"""The gold set: hand-written questions with regexes for a right answer and its evidence,
validated when read (a malformed line names its file and line). Keys the loader does not
use (an annotator's `doc`, `script`, `notes`) are reported once and ignored."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.textnorm import for_match

KINDS = frozenset(
    {
        "count",
        "target",
        "figure",
        "date",
        "name",
        "list",
        "glossary",
        "multi",
        "english",
        "unanswerable",
    }
)
GOLD_KEYS = frozenset({"id", "question", "answers", "evidence", "unanswerable", "kind"})
# Near-miss questions name what they are near to: the asked metric for another year, another
# subject, a target where the result was stated (or the reverse), a half-year beside the year,
# a look-alike term (议案 / 建议). Optional; the report breaks results down by it.
NEAR_MISS = frozenset({"period", "subject", "status", "half_year", "term"})
OPTIONAL_GOLD_KEYS = frozenset({"near_miss"})


class GoldError(ValueError):
    """The gold file is malformed; the message names the file and line, on one line."""


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    answers: tuple[str, ...]  # regexes that must all match the normalized answer
    evidence: tuple[str, ...]  # regexes that must all match the normalized cited passages
    unanswerable: bool
    kind: str
    near_miss: str = ""


# ---------------------------------------------------------------------------- gold parsing


def parse_gold(
    lines: Iterable[str], source: str = "gold", warnings: list[str] | None = None
) -> list[GoldItem]:
    """Validate and parse JSONL gold lines; blank lines are skipped. Unknown keys are
    ignored; `warnings` (when given) receives one line per unknown key naming its lines."""
    items: list[GoldItem] = []
    first_line: dict[str, int] = {}
    unknown: dict[str, list[int]] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item, extra = _parse_item(line)
        except GoldError as err:
            raise GoldError(f"{source}:{lineno}: {err}") from None
        if item.id in first_line:
            raise GoldError(
                f"{source}:{lineno}: duplicate id {item.id!r} (first on line {first_line[item.id]})"
            )
        first_line[item.id] = lineno
        items.append(item)
        for key in extra:
            unknown.setdefault(key, []).append(lineno)
    if not items:
        raise GoldError(f"{source}: no gold items")
    if warnings is not None:
        warnings += [unknown_key_warning(source, k, lines) for k, lines in unknown.items()]
    return items


def unknown_key_warning(source: str, key: str, lines: list[int]) -> str:
    """One line: the key, where it is, that it is ignored, and the key it may misspell."""
    where = ", ".join(map(str, lines[:5])) + (
        f" and {len(lines) - 5} more" if len(lines) > 5 else ""
    )
    known = sorted(GOLD_KEYS | OPTIONAL_GOLD_KEYS)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{source}: key {key!r} is not used by the eval, ignored{hint}: line {where}"


def _parse_item(line: str) -> tuple[GoldItem, list[str]]:
    """The item of one line, and the keys it carries that the eval does not use."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as err:
        raise GoldError(f"not valid JSON ({err.msg}, column {err.colno})") from None
    if not isinstance(raw, dict):
        raise GoldError("expected a JSON object")
    extra = _check_keys(raw)
    item = GoldItem(
        id=_text(raw, "id"),
        question=_text(raw, "question"),
        answers=_patterns(raw, "answers"),
        evidence=_patterns(raw, "evidence"),
        unanswerable=_flag(raw, "unanswerable"),
        kind=_kind(raw),
        near_miss=_near_miss(raw),
    )
    _check_consistency(item)
    return item, extra


def _check_keys(raw: dict[str, Any]) -> list[str]:
    """The keys the eval does not use (annotations; or a misspelling, which the warning
    names); GoldError when a required one is missing."""
    missing = sorted(GOLD_KEYS - raw.keys())
    if missing:
        raise GoldError(f"missing key(s): {', '.join(missing)}")
    return sorted(raw.keys() - GOLD_KEYS - OPTIONAL_GOLD_KEYS)


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise GoldError(f"{key} must be a non-empty string")
    return value


def _flag(raw: dict[str, Any], key: str) -> bool:
    if not isinstance(raw[key], bool):
        raise GoldError(f"{key} must be true or false")
    return bool(raw[key])


def _kind(raw: dict[str, Any]) -> str:
    kind = raw["kind"]
    if kind not in KINDS:
        raise GoldError(f"kind {kind!r} is not one of {', '.join(sorted(KINDS))}")
    return str(kind)


def _near_miss(raw: dict[str, Any]) -> str:
    value = raw.get("near_miss", "")
    if value and value not in NEAR_MISS:
        raise GoldError(f"near_miss {value!r} is not one of {', '.join(sorted(NEAR_MISS))}")
    return str(value)


def _patterns(raw: dict[str, Any], key: str) -> tuple[str, ...]:
    value = raw[key]
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise GoldError(f"{key} must be a list of strings")
    for i, pattern in enumerate(value):
        _check_pattern(f"{key}[{i}]", pattern)
    return tuple(value)


def _check_pattern(where: str, pattern: str) -> None:
    try:
        compiled = re.compile(pattern)
    except re.error as err:
        raise GoldError(f"{where} is not a valid regex ({err}): {pattern!r}") from None
    if compiled.search(""):
        raise GoldError(f"{where} matches the empty string, so it proves nothing: {pattern!r}")
    if for_match(pattern) != pattern:
        # The text it is matched against is normalized; a regex with Traditional
        # characters, whitespace, full-width punctuation or digit commas can never match.
        raise GoldError(
            f"{where} is not in normalized form (Simplified, no whitespace, ASCII "
            f"punctuation, no digit-group commas) and could never match: {pattern!r} "
            f"-> {for_match(pattern)!r}"
        )


def _check_consistency(item: GoldItem) -> None:
    if item.unanswerable and (item.answers or item.evidence):
        raise GoldError("an unanswerable item must have empty answers and evidence")
    if not item.unanswerable and not (item.answers and item.evidence):
        raise GoldError("an answerable item needs at least one answers and one evidence regex")
    if item.kind == "unanswerable" and not item.unanswerable:
        raise GoldError('kind "unanswerable" but unanswerable is false')


@dataclass(frozen=True)
class Gold:
    path: Path
    sha256: str
    items: list[GoldItem]  # the whole file, validated
    warnings: list[str] = field(default_factory=list)  # unknown keys, ignored

    def describe(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "items_in_file": len(self.items),
            "warnings": self.warnings,
        }


def load_gold(path: Path) -> Gold:
    if not path.is_file():
        raise GoldError(f"gold file not found: {path}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise GoldError(f"{path}: not UTF-8 ({err.reason} at byte {err.start})") from None
    warnings: list[str] = []
    items = parse_gold(text.splitlines(), str(path), warnings)
    return Gold(path, hashlib.sha256(data).hexdigest(), items, warnings)
