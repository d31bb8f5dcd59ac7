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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.evaluation.gold import GoldItem
from assistant.models import Response
from assistant.textnorm import for_match

# The pipeline's stages in the order they run, so tables read top to bottom like the code.
STAGES = ("normalize", "bm25", "embed_query", "dense", "fusion", "evidence", "generate", "verify")
TOTAL = "total"


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
    def outcome(self) -> str:
        """ "pass", or the kind of failure in one word (the report filters by it): error,
        answered (a question the sources cannot answer), refused, wrong, unsupported."""
        if self.passed:
            return "pass"
        if self.error:
            return "error"
        if self.unanswerable:
            return "answered"
        if self.refused:
            return "refused"
        return "wrong" if not self.correct else "unsupported"

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
