"""report.html: self-contained (inline CSS and SVG, no script, so it opens offline), with
every item inspectable: the question, what was expected in words, the answer, the cited
passages with the matched evidence marked, the latency and what the guard did. Items are
filtered by kind, outcome and (beside an earlier run) change, with CSS alone: a radio
button per choice and a rule that hides the cards it excludes."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from assistant.evaluation.against import STATUSES, Against, Change, PastItem
from assistant.evaluation.patterns import describe, match_spans
from assistant.evaluation.results import Record, RunResult
from assistant.evaluation.score import TOTAL, Metrics, Summary, percentile
from assistant.evaluation.tables import COLUMNS, DEFINITIONS, ms, summary_rows
from assistant.models import Citation, GuardLog, Response

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",
"Noto Sans CJK SC",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem}.meta{color:#555;font-size:.9rem;margin:.2rem 0}
.warn{color:#8a5300;background:#fff6e0;padding:.3rem .6rem;border-radius:4px}
table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right;font-size:.9rem}
th:first-child,td:first-child{text-align:left}td.text{text-align:left}
tr.overall td{font-weight:bold}
.f{position:absolute;opacity:0;pointer-events:none}
.filters{margin:.5rem 0 1rem;line-height:2}.filters b{display:inline-block;min-width:5rem}
.filters label{border:1px solid #bbb;border-radius:1rem;padding:.1rem .6rem;margin-right:.2rem;
cursor:pointer;font-size:.85rem;white-space:nowrap}
details.item{border:1px solid #ddd;border-left:6px solid #27ae60;border-radius:4px;
margin:.5rem 0;background:#fff}
details.item[data-outcome]:not([data-outcome="pass"]){border-left-color:#c0392b;background:#fffafa}
details.item>summary{cursor:pointer;padding:.4rem .6rem;list-style-position:inside}
details.item>div{padding:0 1rem .6rem}
.badge{display:inline-block;border-radius:.7rem;padding:0 .5rem;font-size:.8rem;color:#fff;
background:#c0392b}.badge.o-pass{background:#27ae60}.badge.c-fixed{background:#1f7a3a}
.badge.c-broken{background:#8e1b10}.badge.c-new,.badge.c-passing,.badge.c-failing{background:#777}
.kind,.lat{color:#666;font-size:.85rem}
.question{font-size:1.05rem}.answer{background:#f4f4f4;padding:.5rem;white-space:pre-wrap}
.refused{color:#a15c00}
ul.expect{list-style:none;padding-left:.5rem;margin:.2rem 0}
.ok::before{content:"✓ ";color:#27ae60}.miss::before{content:"✗ ";color:#c0392b}
.passage{border:1px solid #ddd;border-radius:4px;margin:.4rem 0;padding:.3rem .6rem;background:#fff}
.passage .src{color:#1f5f8b;font-size:.85rem}.passage p{white-space:pre-wrap;margin:.3rem 0}
.passage.cited{border-color:#1f5f8b}
mark{background:#ffe58a;padding:0 1px}.answer mark{background:#c9f0d0}
.how{color:#444;font-size:.85rem}.how li{margin:.1rem 0}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:.8rem}
.pair>div{border:1px dashed #bbb;border-radius:4px;padding:.3rem .6rem;min-width:0}
.pair h4{margin:.2rem 0;font-size:.9rem}
dt{font-weight:bold}dd{margin:0 0 .4rem 1rem}
svg text{font-family:sans-serif}
"""
OUTCOMES = {
    "pass": "passed",
    "wrong": "wrong answer",
    "refused": "refused, though the sources answer it",
    "unsupported": "right answer, evidence not cited",
    "answered": "answered what the sources cannot answer",
    "error": "error",
}
NEAR_MISS = {
    "period": "the sources give the asked measure for another period",
    "subject": "the sources give the asked measure for another district or body",
    "status": "the sources give a target where a result is asked, or the reverse",
    "half_year": "the sources give a half-year beside the asked year",
    "term": "the sources use a look-alike term",
}


def _e(text: object) -> str:
    return html.escape(str(text))


def render_html(result: RunResult, report: dict[str, Any]) -> str:
    records = result.records
    failures = sum(not r.verdict.passed for r in records)
    body = [
        f"<h1>Evaluation report — {_e(result.variant.name)}</h1>",
        _meta_html(report),
        _against_html(result.against, report) if result.against else "",
        "<h2>Summary</h2>",
        _table_html(("kind", *COLUMNS), summary_rows(result.summary, counts=True)),
        _definitions_html(),
        "<h2>Accuracy by kind</h2>",
        accuracy_chart(result.summary),
        "<h2>Latency</h2>",
        latency_chart([r.verdict.latency_ms for r in records]),
        _stage_table_html(result.summary.overall),
        _guard_html(report["guard"]),
        f'<h2 id="items">Items ({failures} of {len(records)} failed)</h2>',
        _items_html(records, result.against),
    ]
    return (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Eval {_e(result.variant.name)}</title>"
        f"<style>{CSS}{_filter_css(records, result.against)}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


# ------------------------------------------------------------------------------ header


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
    parts = [f'<p class="meta">{" · ".join(facts)}</p>']
    machine = report.get("machine")
    if machine:
        parts.append(f'<p class="meta">Machine: {_e(_machine_line(machine))}</p>')
    parts += [f'<p class="meta warn">{_e(w)}</p>' for w in gold.get("warnings", [])]
    return "".join(parts)


def _machine_line(m: dict[str, Any]) -> str:
    before, after = m["before"], m["after"]
    load = "/".join(f"{x:.2f}" for x in before["load_average"])
    load_after = "/".join(f"{x:.2f}" for x in after["load_average"])
    others = m.get("other_programs_cpu_percent", {})
    shares = ", ".join(f"{name} {share:.0f}%" for name, share in others.items())
    busy = f"; other busy programs (% of a core): {shares}" if others else ""
    memory = f", {m['memory_total_mb'] / 1024:.0f} GiB" if m.get("memory_total_mb") else ""
    return (
        f"{m['cores']} cores ({m['cpu_model']}{memory}), {m['system']}; load average "
        f"(1/5/15 min) {load} before, {load_after} after; the run kept {m['run_cores']:.2f} "
        f"cores busy for {m['run_seconds']:.0f} s{busy}"
    )


def _table_html(
    headers: Sequence[str], rows: Sequence[Sequence[str]], first_bold: bool = True
) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{"overall" if i == 0 and first_bold else ""}">'
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
        ("", "answers"), rows, first_bold=False
    )


# ----------------------------------------------------------------------------- against


def _against_html(against: Against, report: dict[str, Any]) -> str:
    prev = against.previous
    gold = "" if against.same_gold else " <b>The gold file differs from that run's.</b>"
    counts = against.counts()
    rows = [[label, str(counts[status])] for status, label in STATUSES.items()]
    rows += [
        ["unchanged verdict, another answer", str(counts["answer changed"])],
        ["gone (no longer in the gold file)", str(counts["gone"])],
    ]
    if against.not_run:
        rows.append(["in the earlier run, not run now", str(counts["not run now"])])
    parts = [
        '<h2 id="against">Against an earlier run</h2>',
        f'<p class="meta">{_e(prev.path)} ({_e(prev.name or "?")}, {_e(prev.timestamp)}).'
        f"{gold}</p>",
        '<div class="pair"><div>',
        _table_html(("items", "count"), rows, first_bold=False),
        "</div><div>",
        _overall_pair(prev.overall, report["overall"]),
        "</div></div>",
    ]
    for status in ("fixed", "broken"):
        ids = against.ids(status)
        if ids:
            links = ", ".join(f'<a href="#item-{_e(i)}">{_e(i)}</a>' for i in ids)
            parts.append(f"<p><b>{_e(STATUSES[status])}:</b> {links}</p>")
    return "".join(parts)


def _overall_pair(before: dict[str, Any], now: dict[str, Any]) -> str:
    """The headline metrics of both runs side by side."""
    if not before:
        return "<p>(the earlier run has no report.json)</p>"
    keys = [
        ("accuracy", "answer_accuracy"),
        ("supported", "supported_accuracy"),
        ("refusal recall", "refusal_recall"),
        ("false refusals", "false_refusal_rate"),
        ("recall@k", "recall_at_k"),
    ]

    def pct(value: Any) -> str:
        return "–" if value is None else f"{value:.1%}"

    rows = [[label, pct(before.get(k)), pct(now.get(k))] for label, k in keys]
    for q in ("p50", "p95"):
        then = before.get("latency_ms", {}).get(TOTAL, {}).get(q)
        rows.append([f"{q} ms", ms(then), ms(now["latency_ms"][TOTAL][q])])
    return _table_html(("", "before", "now"), rows, first_bold=False)


# ------------------------------------------------------------------------------- items


def _filters(records: Sequence[Record], against: Against | None) -> list[tuple[str, list[str]]]:
    """The filter groups and their values, in the order they are shown."""
    kinds = sorted({r.item.kind for r in records})
    outcomes = [o for o in OUTCOMES if o != "pass" and any(r.verdict.outcome == o for r in records)]
    groups = [("kind", ["all", *kinds]), ("outcome", ["all", "pass", "fail", *outcomes])]
    if against is not None:
        present = [s for s in STATUSES if against.ids(s)]
        groups.append(("change", ["all", *present]))
    return groups


def _filter_css(records: Sequence[Record], against: Against | None) -> str:
    rules = []
    for group, values in _filters(records, against):
        for value in values:
            box = f"#f-{group}-{value}:checked"
            rules.append(
                f'{box}~.filters label[for="f-{group}-{value}"]{{background:#1f5f8b;color:#fff}}'
            )
            if value == "all":
                continue
            if value == "fail":
                hidden = f'.item[data-{group}="pass"]'
            else:
                hidden = f'.item:not([data-{group}="{value}"])'
            rules.append(f"{box}~.items {hidden}{{display:none}}")
    return "\n".join(rules)


def _items_html(records: Sequence[Record], against: Against | None) -> str:
    groups = _filters(records, against)
    radios = "".join(
        f'<input class="f" type="radio" name="{g}" id="f-{g}-{v}"{_checked(v)}>'
        for g, values in groups
        for v in values
    )
    rows = []
    for group, values in groups:
        labels = "".join(
            f'<label for="f-{group}-{v}">{_e(_filter_label(group, v))} '
            f"({_count(records, against, group, v)})</label>"
            for v in values
        )
        rows.append(f"<div><b>{group}</b> {labels}</div>")
    cards = "".join(
        item_html(r, against.changes.get(r.item.id) if against else None) for r in records
    )
    return f'{radios}<div class="filters">{"".join(rows)}</div><div class="items">{cards}</div>'


def _checked(value: str) -> str:
    return " checked" if value == "all" else ""


def _filter_label(group: str, value: str) -> str:
    if group == "outcome" and value in OUTCOMES:
        return OUTCOMES[value]
    if group == "outcome" and value == "fail":
        return "failed"
    if group == "change" and value in STATUSES:
        return value
    return value


def _count(records: Sequence[Record], against: Against | None, group: str, value: str) -> int:
    if value == "all":
        return len(records)
    if group == "kind":
        return sum(r.item.kind == value for r in records)
    if group == "outcome":
        if value == "fail":
            return sum(not r.verdict.passed for r in records)
        return sum(r.verdict.outcome == value for r in records)
    assert against is not None
    return len(against.ids(value))  # type: ignore[arg-type]


def item_html(r: Record, change: Change | None = None) -> str:
    """One item's card: closed when it passed and did not change, open otherwise."""
    v, item = r.verdict, r.item
    latency = f"{ms(v.latency_ms)} ms" if v.latency_ms is not None else "–"
    status = change.status if change else ""
    badge = f' <span class="badge c-{status}">{_e(status)}</span>' if change else ""
    is_open = not v.passed or status in ("fixed", "broken")
    attrs = (
        f'class="item" id="item-{_e(item.id)}" data-kind="{_e(item.kind)}" '
        f'data-outcome="{v.outcome}"' + (f' data-change="{status}"' if change else "")
    )
    summary = (
        f'<summary><b>{_e(item.id)}</b> <span class="kind">{_e(item.kind)}</span> '
        f'<span class="badge o-{v.outcome}">{_e(OUTCOMES[v.outcome])}</span>{badge} '
        f'<span class="lat">{latency}</span> {_e(item.question)}</summary>'
    )
    parts = [
        *_expected_html(r),
        *_answer_html(r),
        _before_html(r, change) if change else "",
    ]
    body = "".join(parts)
    return f"<details {attrs}{' open' if is_open else ''}>{summary}<div>{body}</div></details>"


def _expected_html(r: Record) -> list[str]:
    item, v = r.item, r.verdict
    if item.unanswerable:
        near = (
            f" (a near miss: {NEAR_MISS.get(item.near_miss, item.near_miss)})"
            if item.near_miss
            else ""
        )
        return [f"<p><b>Expected:</b> a refusal — the sources do not answer this{_e(near)}.</p>"]
    return [
        "<p><b>Expected the answer to contain (all of):</b></p>",
        _expect_list(item.answers, v.answer_missing),
        "<p><b>Expected the cited passages to contain (all of):</b></p>",
        _expect_list(item.evidence, v.cited_missing),
        f"<p><b>Retrieval:</b> {_e(_retrieval_note(r))}</p>",
    ]


def _expect_list(patterns: Sequence[str], missing: Sequence[str]) -> str:
    """Each expectation in words; the pattern itself is the hover text."""
    items = "".join(
        f'<li class="{"miss" if p in missing else "ok"}" title="{_e(p)}">{_e(describe(p))}</li>'
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
    missing = ", ".join(describe(p) for p in v.retrieved_missing)
    return f"the {k} retrieved passages lack: {missing}"


def _answer_html(r: Record) -> list[str]:
    if r.response is None:
        return [f"<p><b>Error:</b> {_e(r.verdict.error)}</p>"]
    resp = r.response
    label = "Answer (refused)" if resp.refused else "Answer"
    parts = [
        f"<p><b>{label}:</b></p>",
        f'<div class="answer{" refused" if resp.refused else ""}">'
        f"{marked(resp.answer, r.item.answers)}</div>",
    ]
    if resp.notice:
        parts.append(f'<p class="refused">{_e(resp.notice)}</p>')
    parts.append(_how_html(resp))
    evidence = r.item.evidence
    if resp.citations:
        parts.append("<p><b>Cited passages</b> (the expected evidence marked):</p>")
        parts += [_passage_html(c, evidence, cited=True) for c in resp.citations]
    else:
        parts.append("<p><b>Cited passages:</b> none</p>")
    cited_ids = {c.chunk_id for c in resp.citations}
    if resp.retrieved:
        passages = "".join(
            _passage_html(c, evidence, cited=c.chunk_id in cited_ids, rank=i)
            for i, c in enumerate(resp.retrieved, start=1)
        )
        parts.append(
            f"<details><summary>All {len(resp.retrieved)} retrieved passages, best first"
            f"</summary>{passages}</details>"
        )
    return parts


def _how_html(resp: Response) -> str:
    """Who wrote the answer, what the guard did, and where the time went."""
    timings = " · ".join(f"{k} {ms(v)}" for k, v in resp.timings_ms.items())
    lines = [
        f"answered by <b>{_e(resp.backend)}</b> in {ms(resp.latency_ms)} ms ({_e(timings)})",
        *(_e(a) for a in guard_actions(resp.guard)),
    ]
    return '<ul class="how">' + "".join(f"<li>{line}</li>" for line in lines) + "</ul>"


def guard_actions(g: GuardLog) -> list[str]:
    """What the grounding guard found and did, in words; for an answer no model wrote,
    that no model was asked (and why, when it says)."""
    actions = []
    if g.attempts:
        actions.append(
            f"the model wrote {g.attempts} draft(s)" + (", regenerated" if g.retried else "")
        )
    else:
        actions.append("no model was asked")
    found = {
        "citations dropped (no such passage)": [f"[{n}]" for n in g.dropped_citations],
        "figures in no passage": g.ungrounded_numbers,
        "citations moved": g.moved_citations,
        "asked year or figure not in a cited passage": g.missing_question_numbers,
        "quoted phrase not cited": g.missing_quoted,
        "asked value not given": g.unanswered,
        "figure of another period, subject or status": g.wrong_facts,
    }
    actions += [f"{label}: {', '.join(values)}" for label, values in found.items() if values]
    if g.uncited:
        actions.append("the draft cited nothing")
    if g.model_refused:
        actions.append("the model said not found where the passages answer: not trusted")
    if g.fallback == "facts":
        actions.append("answered from the facts read at ingest")
    elif g.fallback == "extractive":
        actions.append("the extractive answer replaced the model's")
    if g.refused_by:
        actions.append(
            f"refused by the {g.refused_by}" + (f": {g.refusal_reason}" if g.refusal_reason else "")
        )
    if g.error:
        actions.append(f"backend error: {g.error}")
    return actions


def _passage_html(
    c: Citation, evidence: Sequence[str], cited: bool, rank: int | None = None
) -> str:
    tag = f"#{rank}" if rank is not None else f"[{c.n}]"
    note = " (cited)" if cited and rank is not None else ""
    source = " · ".join(x for x in (c.title, c.date, c.section) if x)
    return (
        f'<div class="passage{" cited" if cited else ""}"><div class="src">{tag}{note} '
        f"{_e(source)} · score {c.score:.3f}</div><p>{marked(c.text, evidence)}</p></div>"
    )


def marked(text: str, patterns: Sequence[str]) -> str:
    """`text`, escaped, with where `patterns` match it in <mark>."""
    out, pos = [], 0
    for start, end in match_spans(text, patterns):
        out += [_e(text[pos:start]), f"<mark>{_e(text[start:end])}</mark>"]
        pos = end
    out.append(_e(text[pos:]))
    return "".join(out)


def _before_html(r: Record, change: Change) -> str:
    """The earlier run's answer beside this one's, when they differ."""
    before = change.before
    if before is None:
        return '<p class="how">Not in the earlier run.</p>'
    if not change.answer_changed and change.status in ("passing", "failing"):
        return '<p class="how">The earlier run gave the same answer, with the same verdict.</p>'
    then = _side(before.response, before.error)
    now = _side(r.response, r.verdict.error)
    return (
        f'<div class="pair"><div><h4>Earlier run: {_e(_verdict_words(before))}</h4>{then}</div>'
        f"<div><h4>This run: {_e(OUTCOMES[r.verdict.outcome])}</h4>{now}</div></div>"
    )


def _verdict_words(item: PastItem) -> str:
    return "passed" if item.passed else item.reason or "failed"


def _side(resp: Response | None, error: str) -> str:
    if resp is None:
        return f"<p>Error: {_e(error)}</p>"
    cited = "".join(f"<li>[{c.n}] {_e(c.title)} · {_e(c.section)}</li>" for c in resp.citations)
    return (
        f'<div class="answer{" refused" if resp.refused else ""}">{_e(resp.answer)}</div>'
        f'<ul class="how">{cited or "<li>no citation</li>"}<li>{_e(resp.backend)}, '
        f"{ms(resp.latency_ms)} ms</li></ul>"
    )


# ------------------------------------------------------------------------------ charts


def _text_width(text: str, size: float) -> float:
    """An estimate of a label's width in pixels (CJK characters are about square)."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def accuracy_chart(summary: Summary) -> str:
    """Horizontal bars per kind: answer / supported accuracy, and refusal recall where the
    kind has unanswerable items. Plain SVG, so the report needs no script or font; the
    label column is as wide as the longest label, so none is cut."""
    series = (
        ("answer accuracy", "#3b7dd8"),
        ("supported", "#27ae60"),
        ("refusal recall", "#e08e0b"),
    )
    rows = [("overall", summary.overall), *summary.by_kind.items()]
    label_w = max(_text_width(name, 12) for name, _ in rows) + 12
    bar_w, bar_h, gap = 480, 12, 10
    y, shapes = 30, []
    for name, m in rows:
        values = (m.answer_accuracy, m.supported_accuracy, m.refusal_recall)
        present = [(s, v) for s, v in zip(series, values, strict=True) if v is not None]
        top = y
        for (_, color), value in present:
            width = value * bar_w
            shapes.append(
                f'<rect x="{label_w:.0f}" y="{y}" width="{width:.1f}" height="{bar_h}" '
                f'fill="{color}"/><text x="{label_w + width + 4:.1f}" y="{y + bar_h - 2}" '
                f'font-size="10">{value:.0%}</text>'
            )
            y += bar_h
        mid = top + (y - top) / 2 + 4
        shapes.append(f'<text x="0" y="{mid:.1f}" font-size="12">{_e(name)}</text>')
        y += gap
    step = max(_text_width(label, 11) for label, _ in series) + 30
    legend = "".join(
        f'<rect x="{label_w + i * step:.0f}" y="5" width="10" height="10" fill="{color}"/>'
        f'<text x="{label_w + i * step + 14:.0f}" y="14" font-size="11">{_e(label)}</text>'
        for i, (label, color) in enumerate(series)
    )
    width = max(label_w + bar_w + 40, label_w + 3 * step)
    return (
        f'<svg width="{width:.0f}" height="{y + 5}" role="img" aria-label="accuracy by kind">'
        f'<line x1="{label_w:.0f}" y1="25" x2="{label_w:.0f}" y2="{y}" stroke="#999"/>'
        f"{legend}{''.join(shapes)}</svg>"
    )


def latency_chart(latencies: Sequence[float | None], bins: int = 20) -> str:
    """A histogram of total time per question, with the p50 and p95 marked; a marker's
    label turns to the left of its line where it would run off the chart."""
    values = [v for v in latencies if v is not None]
    if not values:
        return "<p>No latencies recorded.</p>"
    left, plot_w, plot_h, top = 50, 600, 160, 38  # the markers' labels sit above the bars
    width = left + plot_w + 30
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
    for name, q, color, y in (("p50", 50, "#27ae60", 15), ("p95", 95, "#c0392b", 30)):
        value = percentile(values, q) or 0.0
        x = left + value / top_ms * plot_w
        label = f"{name} {ms(value)} ms"
        fits = x + 3 + _text_width(label, 11) <= width
        anchor = f'x="{x + 3:.1f}"' if fits else f'x="{x - 3:.1f}" text-anchor="end"'
        shapes.append(
            f'<line x1="{x:.1f}" y1="{y + 3}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{color}" '
            f'stroke-dasharray="4 3"/><text {anchor} y="{y}" font-size="11" '
            f'fill="{color}">{label}</text>'
        )
    axis_y = top + plot_h
    ticks = "".join(
        f'<text x="{left + f * plot_w:.1f}" y="{axis_y + 15}" font-size="10" '
        f'text-anchor="{"end" if f == 1 else "middle"}">{ms(f * top_ms)}</text>'
        for f in (0, 0.25, 0.5, 0.75, 1)
    )
    return (
        f'<svg width="{width}" height="{axis_y + 35}" role="img" '
        f'aria-label="latency distribution">'
        f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#999"/>'
        f'<text x="{left - 4}" y="{top + 10}" font-size="10" text-anchor="end">{peak}</text>'
        f'<text x="{left - 4}" y="{axis_y}" font-size="10" text-anchor="end">0</text>'
        f"{''.join(shapes)}{ticks}"
        f'<text x="{left + plot_w / 2}" y="{axis_y + 30}" font-size="11" text-anchor="middle">'
        f"time per question (ms); bar height = number of questions</text></svg>"
    )
