"""Scoring a gold set: pure functions from (gold item, prediction) to verdicts and metrics.

Nothing here runs the pipeline, reads files or prints, so the scorer can be tested on
planted predictions and a scorer bug cannot pass for a good pipeline.

Every comparison is made on `textnorm.for_match` text (NFKC, Simplified, no whitespace,
no digit-group commas); gold regexes are written in that form and validated to be.

Definitions (answerable items unless said otherwise):
- correct: not refused and every `answers` regex matches the answer.
- supported: correct and every `evidence` regex matches the cited passages' texts joined.
- retrieval hit (recall@k): every `evidence` regex matches the texts of all k retrieved
  passages joined (cited or not; k = the number retrieved).
- rank: the smallest r such that retrieved passages 1..r jointly match every evidence
  regex; MRR is the mean of 1/rank, counting 0 when no prefix does.
- refusal recall: refused unanswerable items / unanswerable items.
- false refusals: refused answerable items / answerable items.
- latency: p50 and p95 (linear interpolation between closest ranks) of the total and of
  each stage in `timings_ms`, over the items that report it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.models import Response
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
# The pipeline's stages in the order they run, so tables read top to bottom like the code.
STAGES = ("normalize", "bm25", "embed_query", "dense", "fusion", "evidence", "generate", "verify")
TOTAL = "total"


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


def parse_gold(lines: Iterable[str], source: str = "gold") -> list[GoldItem]:
    """Validate and parse JSONL gold lines; blank lines are skipped."""
    items: list[GoldItem] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = _parse_item(line)
        except GoldError as err:
            raise GoldError(f"{source}:{lineno}: {err}") from None
        if item.id in first_line:
            raise GoldError(
                f"{source}:{lineno}: duplicate id {item.id!r} (first on line {first_line[item.id]})"
            )
        first_line[item.id] = lineno
        items.append(item)
    if not items:
        raise GoldError(f"{source}: no gold items")
    return items


def _parse_item(line: str) -> GoldItem:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as err:
        raise GoldError(f"not valid JSON ({err.msg}, column {err.colno})") from None
    if not isinstance(raw, dict):
        raise GoldError("expected a JSON object")
    _check_keys(raw)
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
    return item


def _check_keys(raw: dict[str, Any]) -> None:
    missing = sorted(GOLD_KEYS - raw.keys())
    unknown = sorted(raw.keys() - GOLD_KEYS - OPTIONAL_GOLD_KEYS)
    if missing:
        raise GoldError(f"missing key(s): {', '.join(missing)}")
    if unknown:  # most likely a misspelt key whose content would be silently ignored
        raise GoldError(f"unknown key(s): {', '.join(unknown)}")


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


# ----------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Prediction:
    """What the scorer needs from a Response (or from a failed ask: `error`)."""

    answer: str
    refused: bool
    cited: tuple[str, ...]  # texts of the cited passages, in citation order
    retrieved: tuple[str, ...]  # texts of every retrieved passage, best first
    latency_ms: float | None = None
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    error: str = ""

    @classmethod
    def from_response(cls, r: Response) -> Prediction:
        return cls(
            answer=r.answer,
            refused=r.refused,
            cited=tuple(c.text for c in r.citations),
            retrieved=tuple(c.text for c in r.retrieved),
            latency_ms=r.latency_ms,
            timings_ms=dict(r.timings_ms),
        )

    @classmethod
    def failed(cls, error: str) -> Prediction:
        """The pipeline raised: the item counts as neither answered nor refused."""
        return cls(answer="", refused=False, cited=(), retrieved=(), error=error)


@dataclass(frozen=True)
class Verdict:
    id: str
    kind: str
    unanswerable: bool
    refused: bool
    correct: bool
    supported: bool
    retrieval_hit: bool
    rank: int | None
    answer_missing: tuple[str, ...]  # answers regexes the answer lacks
    cited_missing: tuple[str, ...]  # evidence regexes the cited passages lack
    retrieved_missing: tuple[str, ...]  # evidence regexes the retrieved passages lack
    latency_ms: float | None
    timings_ms: Mapping[str, float]
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.refused if self.unanswerable else self.supported

    @property
    def reason(self) -> str:
        """Why the item failed, in words; "" when it passed."""
        if self.passed:
            return ""
        if self.error:
            return f"error: {self.error}"
        if self.unanswerable:
            return "answered a question the sources cannot answer"
        if self.refused:
            return "refused, but the sources hold the answer"
        if not self.correct:
            return "wrong answer"
        return "right answer, but the cited passages lack the evidence"

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reason": self.reason,
            "correct": self.correct,
            "supported": self.supported,
            "retrieval_hit": self.retrieval_hit,
            "rank": self.rank,
            "answer_missing": list(self.answer_missing),
            "cited_missing": list(self.cited_missing),
            "retrieved_missing": list(self.retrieved_missing),
        }


def missing(patterns: Sequence[str], texts: Sequence[str]) -> tuple[str, ...]:
    """The patterns that do not match the texts joined and normalized."""
    joined = for_match("\n".join(texts))
    return tuple(p for p in patterns if not re.search(p, joined))


def first_rank(patterns: Sequence[str], passages: Sequence[str]) -> int | None:
    """Smallest r such that passages[:r] jointly match every pattern; None if none does."""
    for r in range(1, len(passages) + 1):
        if not missing(patterns, passages[:r]):
            return r
    return None


def score_item(item: GoldItem, p: Prediction) -> Verdict:
    answer_missing = missing(item.answers, [p.answer])
    cited_missing = missing(item.evidence, p.cited)
    retrieved_missing = missing(item.evidence, p.retrieved)
    answerable = not item.unanswerable and not p.error
    correct = answerable and not p.refused and not answer_missing
    return Verdict(
        id=item.id,
        kind=item.kind,
        unanswerable=item.unanswerable,
        refused=p.refused,
        correct=correct,
        supported=correct and not cited_missing,
        retrieval_hit=answerable and not retrieved_missing,
        rank=first_rank(item.evidence, p.retrieved) if answerable else None,
        answer_missing=answer_missing,
        cited_missing=cited_missing,
        retrieved_missing=retrieved_missing,
        latency_ms=p.latency_ms,
        timings_ms=dict(p.timings_ms),
        error=p.error,
    )


# ------------------------------------------------------------------------------ metrics


@dataclass(frozen=True)
class Latency:
    n: int  # items that reported this stage
    p50: float | None
    p95: float | None


@dataclass(frozen=True)
class Metrics:
    items: int
    answerable: int
    unanswerable: int
    errors: int
    correct: int
    supported: int
    refused_unanswerable: int
    false_refusals: int
    retrieval_hits: int
    answer_accuracy: float | None  # None: no item to measure it on
    supported_accuracy: float | None
    refusal_recall: float | None
    false_refusal_rate: float | None
    recall_at_k: float | None
    mrr: float | None
    latency_ms: dict[str, Latency]  # "total" first, then the stages in pipeline order


@dataclass(frozen=True)
class Summary:
    overall: Metrics
    by_kind: dict[str, Metrics]  # kinds in sorted order


def summarize(verdicts: Sequence[Verdict]) -> Summary:
    kinds = sorted({v.kind for v in verdicts})
    return Summary(
        overall=metrics(verdicts),
        by_kind={k: metrics([v for v in verdicts if v.kind == k]) for k in kinds},
    )


def metrics(verdicts: Sequence[Verdict]) -> Metrics:
    answerable = [v for v in verdicts if not v.unanswerable]
    unanswerable = [v for v in verdicts if v.unanswerable]
    correct = sum(v.correct for v in answerable)
    supported = sum(v.supported for v in answerable)
    refused_unanswerable = sum(v.refused for v in unanswerable)
    false_refusals = sum(v.refused for v in answerable)
    hits = sum(v.retrieval_hit for v in answerable)
    reciprocal = sum(1 / v.rank for v in answerable if v.rank)
    return Metrics(
        items=len(verdicts),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        errors=sum(bool(v.error) for v in verdicts),
        correct=correct,
        supported=supported,
        refused_unanswerable=refused_unanswerable,
        false_refusals=false_refusals,
        retrieval_hits=hits,
        answer_accuracy=ratio(correct, len(answerable)),
        supported_accuracy=ratio(supported, len(answerable)),
        refusal_recall=ratio(refused_unanswerable, len(unanswerable)),
        false_refusal_rate=ratio(false_refusals, len(answerable)),
        recall_at_k=ratio(hits, len(answerable)),
        mrr=ratio(reciprocal, len(answerable)),
        latency_ms=latencies(verdicts),
    )


def ratio(numerator: float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def latencies(verdicts: Sequence[Verdict]) -> dict[str, Latency]:
    series: dict[str, list[float]] = {
        TOTAL: [v.latency_ms for v in verdicts if v.latency_ms is not None]
    }
    for v in verdicts:
        for stage, ms in v.timings_ms.items():
            series.setdefault(stage, []).append(ms)
    order = [TOTAL, *STAGES, *sorted(set(series) - {TOTAL, *STAGES})]
    return {
        name: Latency(len(series[name]), percentile(series[name], 50), percentile(series[name], 95))
        for name in order
        if name in series
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile, interpolating linearly between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
