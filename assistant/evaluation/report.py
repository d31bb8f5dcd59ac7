"""Eval outputs: predictions.jsonl, report.json and report.html (see `html`) per run, and
the comparison table (markdown and JSON) of a `--compare` run."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.answer.generate import tally
from assistant.evaluation.gold import Gold
from assistant.evaluation.html import render_html
from assistant.evaluation.results import Comparison, RunResult
from assistant.evaluation.tables import (
    COMPARISON_HEADERS,
    DEFINITIONS,
    comparison_rows,
    markdown_table,
)


def write_outputs(result: RunResult, gold: Gold) -> None:
    result.out_dir.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(r.prediction_line(), ensure_ascii=False) for r in result.records)
    (result.out_dir / "predictions.jsonl").write_text(
        "".join(f"{line}\n" for line in lines), encoding="utf-8"
    )
    report = report_dict(result, gold)
    write_json(result.out_dir / "report.json", report)
    (result.out_dir / "report.html").write_text(render_html(result, report), encoding="utf-8")


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def report_dict(result: RunResult, gold: Gold) -> dict[str, Any]:
    cfg = result.variant.cfg
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {
            "name": result.variant.name,
            "backend": cfg.llm.backend,
            "mode": cfg.retrieval.mode,
            "top_k": cfg.retrieval.top_k,
            "candidates": cfg.retrieval.candidates,
            "index_dir": str(cfg.paths.index_dir),
        },
        "gold": {**gold.describe(), "items_evaluated": len(result.records)},
        "definitions": DEFINITIONS,
        "overall": asdict(result.summary.overall),
        "by_kind": {k: asdict(m) for k, m in result.summary.by_kind.items()},
        "guard": guard_counts(result),
        "machine": result.machine.as_dict() if result.machine else None,
        "against": result.against.as_dict() if result.against else None,
        "failures": [
            {"id": r.item.id, "kind": r.item.kind, "reason": r.verdict.reason}
            for r in result.records
            if not r.verdict.passed
        ],
    }


def guard_counts(result: RunResult) -> dict[str, int]:
    """How often the grounding guard fired, in answers (not drafts)."""
    return tally(r.response.guard for r in result.records if r.response is not None)


def guard_line(counts: dict[str, int]) -> str:
    """The counts that are not zero, for the console; "" when no model was asked."""
    if not counts.get("asked the model"):
        return ""
    return "guard: " + " · ".join(f"{k} {v}" for k, v in counts.items() if v)


def write_comparison(comparison: Comparison, gold: Gold) -> None:
    comparison.out_dir.mkdir(parents=True, exist_ok=True)
    (comparison.out_dir / "comparison.md").write_text(
        comparison_markdown(comparison, gold), encoding="utf-8"
    )
    write_json(
        comparison.out_dir / "comparison.json",
        {
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "gold": gold.describe(),
            "configurations": [
                {
                    "name": r.variant.name,
                    "backend": r.variant.backend,
                    "mode": r.variant.mode,
                    "overall": asdict(r.summary.overall),
                }
                for r in comparison.results
            ],
            "skipped": [{"name": s.variant.name, "reason": s.reason} for s in comparison.skipped],
        },
    )


def comparison_markdown(comparison: Comparison, gold: Gold) -> str:
    items = len(comparison.results[0].records) if comparison.results else 0
    parts = [
        "# Eval comparison\n\n",
        f"{items} of {len(gold.items)} items of {gold.path} (sha256 {gold.sha256[:12]}…); "
        "each configuration's full outputs are in the folder of its name.\n\n",
        markdown_table(COMPARISON_HEADERS, comparison_rows(comparison), text_columns=3),
    ]
    if comparison.skipped:
        parts.append("\nSkipped (not available):\n")
        parts += [f"- {s.variant.name}: {s.reason}\n" for s in comparison.skipped]
    parts.append("\n" + "\n".join(f"- **{k}**: {v}" for k, v in DEFINITIONS.items()) + "\n")
    return "".join(parts)
