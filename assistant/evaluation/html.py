"""report.html: self-contained (inline CSS and SVG only, so it opens offline), explaining
every failure with the question, what was expected, the answer and the cited passages."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from assistant.evaluation.results import Record, RunResult
from assistant.evaluation.score import Metrics, Summary, percentile
from assistant.evaluation.tables import COLUMNS, DEFINITIONS, ms, summary_rows
from assistant.models import Citation

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",
"Noto Sans CJK SC",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem}.meta{color:#555;font-size:.9rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right;font-size:.9rem}
th:first-child,td:first-child{text-align:left}
tr.overall td{font-weight:bold}
.failure{border:1px solid #e0b4b4;border-left:6px solid #c0392b;border-radius:4px;
padding:.5rem 1rem;margin:1rem 0;background:#fffafa}
.failure h3{margin:.3rem 0;font-size:1.05rem}.reason{color:#c0392b}
.question{font-size:1.1rem}.answer{background:#f4f4f4;padding:.5rem;white-space:pre-wrap}
.refused{color:#a15c00}
ul.expect{list-style:none;padding-left:.5rem;margin:.2rem 0}
.ok::before{content:"✓ ";color:#27ae60}.miss::before{content:"✗ ";color:#c0392b}
code{background:#eef;padding:0 .2rem;font-size:.8rem;color:#555}
.passage{border:1px solid #ddd;border-radius:4px;margin:.4rem 0;padding:.3rem .6rem;background:#fff}
.passage .src{color:#1f5f8b;font-size:.85rem}.passage p{white-space:pre-wrap;margin:.3rem 0}
.passage.cited{border-color:#1f5f8b}
dt{font-weight:bold}dd{margin:0 0 .4rem 1rem}
td.pass{color:#27ae60}td.fail{color:#c0392b}
"""
_LOOKAROUND = re.compile(r"\(\?<?[=!][^()]*\)")
_WILDCARD = re.compile(r"\.(?:\*|\+|\{\d*,?\d*\})\??")
_ESCAPED = re.compile(r"\\([^A-Za-z0-9])")


def readable_pattern(pattern: str) -> str:
    """A regex as a reader sees it: boundaries dropped, wildcards as …, escapes undone.

    E.g. `(?<![\\d.])2375\\.3(?!\\.?\\d)亿` reads `2375.3亿`.
    """
    text = _LOOKAROUND.sub("", pattern)
    text = re.sub(r"\(\?(?:[aiLmsux]+)?:", "(", text)
    text = _WILDCARD.sub("…", text)
    text = _ESCAPED.sub(r"\1", text)
    text = re.sub(r"\((\w+)\)", r"\1", text)  # a group left around a single word
    return text.replace("|", " 或 ")


def _e(text: object) -> str:
    return html.escape(str(text))


def render_html(result: RunResult, report: dict[str, Any]) -> str:
    failures = [r for r in result.records if not r.verdict.passed]
    body = [
        f"<h1>Evaluation report — {_e(result.variant.name)}</h1>",
        _meta_html(report),
        "<h2>Summary</h2>",
        _table_html(("kind", *COLUMNS), summary_rows(result.summary, counts=True)),
        _definitions_html(),
        "<h2>Accuracy by kind</h2>",
        accuracy_chart(result.summary),
        "<h2>Latency</h2>",
        latency_chart([r.verdict.latency_ms for r in result.records]),
        _stage_table_html(result.summary.overall),
        _guard_html(report["guard"]),
        f"<h2>Failures ({len(failures)} of {len(result.records)})</h2>",
        *(failure_html(r) for r in failures),
        "" if failures else "<p>No failures.</p>",
        "<h2>All items</h2>",
        _items_html(result.records),
    ]
    return (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Eval {_e(result.variant.name)}</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _meta_html(report: dict[str, Any]) -> str:
    cfg, gold = report["config"], report["gold"]
    facts = [
        f"backend <b>{_e(cfg['backend'])}</b>",
        f"retrieval <b>{_e(cfg['mode'])}</b>",
        f"top_k {cfg['top_k']}",
        f"{gold['items_evaluated']} of {gold['items_in_file']} items from {_e(gold['path'])}",
        f"sha256 {_e(gold['sha256'][:12])}…",
        _e(report["timestamp"]),
    ]
    return f'<p class="meta">{" · ".join(facts)}</p>'


def _table_html(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{"overall" if i == 0 else ""}">'
        + "".join(f"<td>{_e(c)}</td>" for c in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _definitions_html() -> str:
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in DEFINITIONS.items())
    return f"<details><summary>What the columns mean</summary><dl>{items}</dl></details>"


def _stage_table_html(m: Metrics) -> str:
    rows = [[name, str(lat.n), ms(lat.p50), ms(lat.p95)] for name, lat in m.latency_ms.items()]
    return _table_html(("stage", "items", "p50 ms", "p95 ms"), rows)


def _guard_html(counts: dict[str, int]) -> str:
    if not counts.get("asked the model"):
        return ""
    rows = [[name, str(n)] for name, n in counts.items()]
    return "<h2>Grounding guard</h2><p>Answers each check or outcome touched.</p>" + _table_html(
        ("", "answers"), rows
    )


def _items_html(records: Sequence[Record]) -> str:
    rows = []
    for r in records:
        v = r.verdict
        result = "pass" if v.passed else f'<a href="#item-{_e(v.id)}">fail</a>'
        rows.append(
            f"<tr><td>{_e(v.id)}</td><td>{_e(v.kind)}</td>"
            f'<td class="{"pass" if v.passed else "fail"}">{result}</td>'
            f'<td style="text-align:left">{_e(r.item.question)}</td></tr>'
        )
    head = "<tr><th>id</th><th>kind</th><th>result</th><th>question</th></tr>"
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def failure_html(r: Record) -> str:
    v, item = r.verdict, r.item
    parts = [
        f'<section class="failure" id="item-{_e(v.id)}">',
        f'<h3>{_e(v.id)} · {_e(v.kind)} — <span class="reason">{_e(v.reason)}</span></h3>',
        f'<p class="question"><b>Question:</b> {_e(item.question)}</p>',
    ]
    if item.unanswerable:
        parts.append("<p><b>Expected:</b> a refusal — the sources do not answer this.</p>")
    else:
        parts += [
            "<p><b>Expected the answer to contain (all of):</b></p>",
            _expect_list(item.answers, v.answer_missing),
            "<p><b>Expected the cited passages to contain (all of):</b></p>",
            _expect_list(item.evidence, v.cited_missing),
            f"<p><b>Retrieval:</b> {_e(_retrieval_note(r))}</p>",
        ]
    parts += _answer_html(r)
    parts.append("</section>")
    return "".join(parts)


def _expect_list(patterns: Sequence[str], missing: Sequence[str]) -> str:
    items = "".join(
        f'<li class="{"miss" if p in missing else "ok"}">{_e(readable_pattern(p))} '
        f"<code>{_e(p)}</code></li>"
        for p in patterns
    )
    return f'<ul class="expect">{items}</ul>'


def _retrieval_note(r: Record) -> str:
    v = r.verdict
    k = len(r.response.retrieved) if r.response else 0
    if v.rank is not None:
        return f"all the evidence is in the top {v.rank} of the {k} retrieved passages"
    if v.retrieval_hit:
        return f"the evidence is in the {k} retrieved passages taken together"
    missing = ", ".join(readable_pattern(p) for p in v.retrieved_missing)
    return f"the {k} retrieved passages lack: {missing}"


def _answer_html(r: Record) -> list[str]:
    if r.response is None:
        return [f"<p><b>Error:</b> {_e(r.verdict.error)}</p>"]
    resp = r.response
    label = "Answer (refused)" if resp.refused else "Answer"
    parts = [
        f"<p><b>{label}:</b></p>",
        f'<div class="answer{" refused" if resp.refused else ""}">{_e(resp.answer)}</div>',
    ]
    if resp.citations:
        parts.append("<p><b>Cited passages:</b></p>")
        parts += [_passage_html(c, cited=True) for c in resp.citations]
    else:
        parts.append("<p><b>Cited passages:</b> none</p>")
    cited_ids = {c.chunk_id for c in resp.citations}
    if resp.retrieved:
        passages = "".join(
            _passage_html(c, cited=c.chunk_id in cited_ids, rank=i)
            for i, c in enumerate(resp.retrieved, start=1)
        )
        parts.append(
            f"<details><summary>All {len(resp.retrieved)} retrieved passages, best first"
            f"</summary>{passages}</details>"
        )
    return parts


def _passage_html(c: Citation, cited: bool, rank: int | None = None) -> str:
    tag = f"#{rank}" if rank is not None else f"[{c.n}]"
    note = " (cited)" if cited and rank is not None else ""
    source = " · ".join(x for x in (c.title, c.date, c.section) if x)
    return (
        f'<div class="passage{" cited" if cited else ""}"><div class="src">{tag}{note} '
        f"{_e(source)}</div><p>{_e(c.text)}</p></div>"
    )


# ------------------------------------------------------------------------------ charts


def accuracy_chart(summary: Summary) -> str:
    """Horizontal bars per kind: answer / supported accuracy, and refusal recall where the
    kind has unanswerable items. Plain SVG, so the report needs no script or font."""
    series = (
        ("answer accuracy", "#3b7dd8"),
        ("supported", "#27ae60"),
        ("refusal recall", "#e08e0b"),
    )
    rows = [("overall", summary.overall), *summary.by_kind.items()]
    label_w, bar_w, bar_h, gap = 110, 480, 12, 10
    y, shapes = 30, []
    for name, m in rows:
        values = (m.answer_accuracy, m.supported_accuracy, m.refusal_recall)
        present = [(s, v) for s, v in zip(series, values, strict=True) if v is not None]
        top = y
        for (_, color), value in present:
            width = value * bar_w
            shapes.append(
                f'<rect x="{label_w}" y="{y}" width="{width:.1f}" height="{bar_h}" fill="{color}"/>'
                f'<text x="{label_w + width + 4:.1f}" y="{y + bar_h - 2}" font-size="10">'
                f"{value:.0%}</text>"
            )
            y += bar_h
        mid = top + (y - top) / 2 + 4
        shapes.append(f'<text x="0" y="{mid:.1f}" font-size="12">{_e(name)}</text>')
        y += gap
    legend = "".join(
        f'<rect x="{label_w + i * 150}" y="5" width="10" height="10" fill="{color}"/>'
        f'<text x="{label_w + i * 150 + 14}" y="14" font-size="11">{_e(label)}</text>'
        for i, (label, color) in enumerate(series)
    )
    width = label_w + bar_w + 50
    return (
        f'<svg width="{width}" height="{y + 5}" '
        f'font-family="sans-serif" role="img" aria-label="accuracy by kind">'
        f'<line x1="{label_w}" y1="25" x2="{label_w}" y2="{y}" stroke="#999"/>'
        f"{legend}{''.join(shapes)}</svg>"
    )


def latency_chart(latencies: Sequence[float | None], bins: int = 20) -> str:
    """A histogram of total time per question, with the p50 and p95 marked."""

    values = [v for v in latencies if v is not None]
    if not values:
        return "<p>No latencies recorded.</p>"
    left, plot_w, plot_h, top = 50, 600, 160, 20
    top_ms = max(values) or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int(v / top_ms * bins), bins - 1)] += 1
    peak = max(counts)
    col_w = plot_w / bins
    shapes = []
    for i, c in enumerate(counts):
        h = c / peak * plot_h
        shapes.append(
            f'<rect x="{left + i * col_w + 1:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{col_w - 2:.1f}" height="{h:.1f}" fill="#3b7dd8"><title>{c} question(s)'
            f"</title></rect>"
        )
    # The two labels sit on different heights so they stay legible when p50 is near p95.
    for name, q, color, dy in (("p50", 50, "#27ae60", 10), ("p95", 95, "#c0392b", 24)):
        value = percentile(values, q) or 0.0
        x = left + value / top_ms * plot_w
        shapes.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{color}" '
            f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{top + dy}" font-size="11" '
            f'fill="{color}">{name} {ms(value)} ms</text>'
        )
    axis_y = top + plot_h
    ticks = "".join(
        f'<text x="{left + f * plot_w:.1f}" y="{axis_y + 15}" font-size="10" '
        f'text-anchor="middle">{ms(f * top_ms)}</text>'
        for f in (0, 0.25, 0.5, 0.75, 1)
    )
    return (
        f'<svg width="{left + plot_w + 20}" '
        f'height="{axis_y + 35}" font-family="sans-serif" role="img" '
        f'aria-label="latency distribution">'
        f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#999"/>'
        f'<text x="0" y="{top + 10}" font-size="10">{peak}</text>'
        f'<text x="0" y="{axis_y}" font-size="10">0</text>'
        f"{''.join(shapes)}{ticks}"
        f'<text x="{left + plot_w / 2}" y="{axis_y + 30}" font-size="11" text-anchor="middle">'
        f"time per question (ms); bar height = number of questions</text></svg>"
    )
