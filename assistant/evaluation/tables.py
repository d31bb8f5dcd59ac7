"""Table cells and headers the eval's JSON, markdown, HTML and terminal outputs share."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.evaluation.results import Comparison
from assistant.evaluation.score import TOTAL, Metrics, Summary

DEFINITIONS = {
    "accuracy": "answerable questions answered (not refused) with every expected value "
    "present in the answer",
    "supported": "accurate AND every expected evidence passage text is in the cited passages",
    "refusal recall": "questions the sources cannot answer that the assistant refused",
    "false refusals": "answerable questions the assistant refused",
    "recall@k": "answerable questions whose evidence is all in the k retrieved passages "
    "(cited or not)",
    "MRR": "mean of 1/r, r = fewest top-ranked retrieved passages that together hold all "
    "the evidence (0 when they never do)",
    "p50 / p95": "median and 95th-percentile time per question, in milliseconds",
}
COLUMNS = (
    "items",
    "accuracy",
    "supported",
    "refusal recall",
    "false refusals",
    "recall@k",
    "MRR",
    "p50 ms",
    "p95 ms",
)
DASH = "–"  # a metric with nothing to measure (e.g. refusal recall without unanswerables)


def pct(value: float | None) -> str:
    return DASH if value is None else f"{value:.1%}"


def ms(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def metric_cells(m: Metrics, counts: bool = False) -> list[str]:
    """One row of COLUMNS; with `counts`, rates also show their fraction, e.g. 62.5% (5/8)."""

    def rate(value: float | None, numerator: int, denominator: int) -> str:
        return (
            f"{pct(value)} ({numerator}/{denominator})"
            if counts and value is not None
            else pct(value)
        )

    total = m.latency_ms.get(TOTAL)
    return [
        str(m.items),
        rate(m.answer_accuracy, m.correct, m.answerable),
        rate(m.supported_accuracy, m.supported, m.answerable),
        rate(m.refusal_recall, m.refused_unanswerable, m.unanswerable),
        rate(m.false_refusal_rate, m.false_refusals, m.answerable),
        rate(m.recall_at_k, m.retrieval_hits, m.answerable),
        DASH if m.mrr is None else f"{m.mrr:.3f}",
        ms(total.p50 if total else None),
        ms(total.p95 if total else None),
    ]


def summary_rows(summary: Summary, counts: bool = False) -> list[list[str]]:
    rows = [["overall", *metric_cells(summary.overall, counts)]]
    rows += [[kind, *metric_cells(m, counts)] for kind, m in summary.by_kind.items()]
    return rows


def comparison_rows(comparison: Comparison) -> list[list[str]]:
    return [
        [r.variant.name, r.variant.backend, r.variant.mode, *metric_cells(r.summary.overall)]
        for r in comparison.results
    ]


COMPARISON_HEADERS = ("configuration", "backend", "mode", *COLUMNS)


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1
) -> str:
    """Rows under headers; the first `text_columns` align left, the numbers right."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    align = ["---" if i < text_columns else "---:" for i in range(len(headers))]
    return "\n".join([line(headers), "| " + " | ".join(align) + " |", *map(line, rows)]) + "\n"
