"""HTML for the web UI: answers with clickable [n], the passages panel, the document view,
the sources table. Pure functions of the pipeline's data, without gradio, so they are
tested directly and the page shows exactly what they return.

Every text that comes from a document or a model is HTML-escaped here; the chat renders
Markdown, so the characters Markdown would act on are escaped too. Anchors are
`cite-<turn>-<n>`: turn-qualified, because an older answer's [1] is another passage.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.models import CITE_MARKER as CITE
from assistant.models import Citation, Document, FactPoint, Response
from assistant.textnorm import to_simplified, to_traditional

SCRIPTS = ("原文", "简体", "繁體")  # as written / Simplified / Traditional
CLOSEST_SHOWN = 3  # passages offered with a refusal

# What each cleaning counter means to a reader of the Sources tab.
CLEANING_LABELS = {
    "pinyin_removed": "删除拼音注音",
    "mojibake_repaired": "修复乱码",
    "mojibake_unrecoverable": "无法修复的乱码",
    "mojibake_lost_chars": "乱码中丢失的字",
    "furniture_removed": "删除网页杂项",
    "names_joined": "接合被拆开的人名",
    "chars_normalized": "规范字符",
    "lines_dropped": "删除无关行",
    "citation_marks": "源文中的引用标记改写为〔n〕",
    "addressed_to_assistant": "疑似写给AI助手的指令（未用于回答）",
}
KIND_LABELS = {
    "work_report": "政府工作报告",
    "plenary_communique": "全会公报",
    "news": "新闻报道",
    "other": "其他",
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~$])")


def show(text: str, script: str) -> str:
    """`text` in the script the reader chose (原文: as the document wrote it)."""
    if script == "简体":
        return to_simplified(text)
    if script == "繁體":
        return to_traditional(text)
    return text


_TEMPLATE_MARKS = str.maketrans({"{": "&#123;", "}": "&#125;", "$": "&#36;"})


def esc(text: str) -> str:
    """HTML-escaped; braces and $ as entities too, so that no report text can be read as
    part of gr.HTML's template (`${value}`, Handlebars `{{...}}`)."""
    return html.escape(text, quote=True).translate(_TEMPLATE_MARKS)


def md_esc(text: str) -> str:
    """Text for the chat's Markdown: escaped as HTML, and Markdown's own marks neutralized
    (a "-" or "1." opening a report line must not become a list)."""
    # Markdown first, then HTML: escaping in the other order would break "&#x27;".
    return html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=False)


def cite_link(turn: int, n: int) -> str:
    return f'<a class="cite" href="#cite-{turn}-{n}">[{n}]</a>'


def linked_answer(text: str, turn: int, script: str) -> str:
    """The answer with each [n] turned into a link to passage n of this turn."""
    parts: list[str] = []
    last = 0
    for m in CITE.finditer(text):
        parts.append(md_esc(show(text[last : m.start()], script)))
        parts.append(cite_link(turn, int(m.group(1))))
        last = m.end()
    parts.append(md_esc(show(text[last:], script)))
    return "".join(parts)


def shown_passages(response: Response) -> list[Citation]:
    """The passages an answer points at: its citations, or for a refusal the closest ones
    (a refusal that says what the sources do hold cites that)."""
    if response.refused and not response.citations:
        return [c.model_copy(update={"n": i + 1}) for i, c in enumerate(response.retrieved)][
            :CLOSEST_SHOWN
        ]
    return list(response.citations)


def _source_line(c: Citation, turn: int, script: str) -> str:
    where = " · ".join(esc(show(x, script)) for x in (c.title, c.date) if x)
    return f"{cite_link(turn, c.n)} {where}"


def _notice(text: str) -> str:
    return f'<div class="notice">⚠️ {esc(text)}</div>\n\n' if text else ""


def answer_message(response: Response, turn: int, script: str, filters_note: str = "") -> str:
    """The assistant's bubble for a finished answer."""
    if response.refused:
        return refusal_message(response, turn, script, filters_note)
    body = linked_answer(response.answer, turn, script)
    sources = "<br>".join(_source_line(c, turn, script) for c in response.citations)
    footer = f'\n\n<div class="sources-line">依据：<br>{sources}</div>' if sources else ""
    chart = series_chart(response.series, turn, script)
    return _notice(response.notice) + body + footer + (f"\n\n{chart}" if chart else "")


_CHART_W, _CHART_H, _PAD = 360, 150, 28


def series_chart(points: Sequence[FactPoint], turn: int, script: str) -> str:
    """The answer's metric by period, as a small inline SVG: a dot per figure (hollow for a
    target), the period under it, the value above; a dot from a cited passage links to it."""
    same = [p for p in points if p.unit == points[0].unit] if points else []
    if len(same) < 3:
        return ""
    values = [p.value for p in same]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (_CHART_W - 2 * _PAD) / (len(same) - 1)
    marks = []
    for i, p in enumerate(same):
        x = _PAD + i * step
        y = _CHART_H - _PAD - (p.value - low) / span * (_CHART_H - 2 * _PAD - 10)
        fill = "none" if p.status == "target" else "currentColor"
        tip = esc(show(f"{p.period_zh} {p.mention}（{p.title} {p.date}）", script))
        dot = (
            f'<circle cx="{x:.0f}" cy="{y:.0f}" r="4" fill="{fill}" stroke="currentColor">'
            f"<title>{tip}</title></circle>"
        )
        if p.n is not None:
            dot = f'<a class="cite" href="#cite-{turn}-{p.n}">{dot}</a>'
        label = esc(show(p.period_zh, script))
        marks.append(
            f'{dot}<text x="{x:.0f}" y="{y - 8:.0f}" text-anchor="middle" font-size="10">'
            f"{esc(p.mention)}</text>"
            f'<text x="{x:.0f}" y="{_CHART_H - 8}" text-anchor="middle" font-size="10">'
            f"{label}</text>"
        )
    title = esc(show(f"{same[0].metric}（{same[0].subject}）", script))
    return (
        f'<div class="series-chart"><div class="series-title">{title}</div>'
        f'<svg viewBox="0 0 {_CHART_W} {_CHART_H}" width="{_CHART_W}" height="{_CHART_H}" '
        f'role="img" aria-label="{title}">{"".join(marks)}</svg></div>'
    )


def refusal_message(response: Response, turn: int, script: str, filters_note: str = "") -> str:
    """A refusal looks like one: a marked box saying so, then the closest passages, which
    are offered for reading, not as an answer."""
    parts = [_notice(response.notice)]
    if response.citations:  # "资料中没有2023年的数据；资料中有：…[1]": the [1] links
        said = linked_answer(response.answer, turn, script)
        parts.append(f'<div class="refusal">🚫 {said}</div>')
    else:
        parts.append(f'<div class="refusal">🚫 {esc(show(response.answer, script))}</div>')
    if filters_note:
        parts.append(f'\n\n<div class="filters-note">{esc(filters_note)}</div>')
    closest = shown_passages(response)
    if closest and response.citations:
        lines = "<br>".join(_source_line(c, turn, script) for c in closest)
        parts.append(f'\n\n<div class="closest">资料中有的相关内容：<br>{lines}</div>')
    elif closest:
        lines = "<br>".join(_source_line(c, turn, script) for c in closest)
        parts.append(
            f'\n\n<div class="closest">最接近的段落（仅供参考，未用于回答）：<br>{lines}</div>'
        )
    return "".join(parts)


def draft_message(draft: str, script: str, note: str = "", cursor: bool = True) -> str:
    """A generator's draft as it streams in; its [n] are not final until checked."""
    head = f'<div class="draft-note">{esc(note)}</div>\n\n' if note else ""
    tail = '<span class="cursor">▍</span>' if cursor else ""
    return head + md_esc(show(draft, script)) + tail


def question_message(question: str, standalone: str, script: str) -> str:
    """The user's bubble; a follow-up shows the standalone question it was read as."""
    text = md_esc(question)
    if standalone and standalone != question:
        text += f'\n\n<div class="rewrite">↳ 理解为：{esc(show(standalone, script))}</div>'
    return text


def _marked(text: str, sentences: Iterable[str]) -> list[tuple[str, bool]]:
    """`text` split into (piece, is_supporting_sentence) pieces."""
    spans: list[tuple[int, int]] = []
    for s in sentences:
        s = s.strip()
        i = text.find(s) if s else -1
        if i >= 0 and not any(a < i + len(s) and i < b for a, b in spans):
            spans.append((i, i + len(s)))
    pieces: list[tuple[str, bool]] = []
    last = 0
    for a, b in sorted(spans):
        pieces.append((text[last:a], False))
        pieces.append((text[a:b], True))
        last = b
    pieces.append((text[last:], False))
    return [(p, m) for p, m in pieces if p]


def highlighted(
    text: str, sentences: Iterable[str], script: str, flagged: Iterable[str] = ()
) -> str:
    """Supporting sentences marked; text addressed to an assistant shown as such (it was
    not used to answer)."""
    flagged = [f.strip() for f in flagged if f.strip()]
    pieces = []
    for p, m in _marked(text, [*flagged, *sentences]):
        shown = esc(show(p, script))
        if m and p.strip() in flagged:
            pieces.append(f'<span class="flagged" title="{FLAGGED_NOTE}">⚠ {shown}</span>')
        else:
            pieces.append(f"<mark>{shown}</mark>" if m else shown)
    return "".join(pieces)


FLAGGED_NOTE = "疑似写给AI助手的指令：原文照录，未用于回答"


def passage_card(c: Citation, turn: int, script: str) -> str:
    meta = " · ".join(esc(show(x, script)) for x in (c.date, c.section) if x)
    return (
        f'<div class="passage" id="cite-{turn}-{c.n}">'
        f'<div class="passage-title"><span class="num">[{c.n}]</span> '
        f"{esc(show(c.title, script))}</div>"
        f'<div class="passage-meta">{meta}</div>'
        f'<div class="passage-text">{highlighted(c.text, c.highlight, script, c.flagged)}</div>'
        f'<a class="open-doc" href="#doc" data-turn="{turn}" data-n="{c.n}">'
        "查看原文全文（定位到此段）›</a>"
        "</div>"
    )


EMPTY_PANEL = (
    '<div class="passages empty">提问后，这里显示回答引用的原文段落；'
    "点击回答中的 [n] 即可定位。</div>"
)


def passages_panel(response: Response | None, turn: int, script: str) -> str:
    """Each passage an answer cites (or, for a refusal, the closest ones), its supporting
    sentence marked, with a link to the whole document."""
    if response is None:
        return EMPTY_PANEL
    passages = shown_passages(response)
    if response.refused and response.citations:
        head = "未找到所问的数据。资料中有的相关段落："
    elif response.refused:
        head = "未找到答案。最接近的段落（仅供参考）："
    else:
        head = f"第 {turn + 1} 个回答引用的段落（黄色为支持回答的句子）："
    cards = "".join(passage_card(c, turn, script) for c in passages) or "没有检索到相关段落。"
    return (
        f'<div class="passages" data-turn="{turn}">'
        f'<div class="passages-head">{esc(head)}</div>{cards}</div>'
    )


EMPTY_DOCUMENT = '<div class="doc empty">点击段落下方的“查看原文全文”，在此阅读整篇文件。</div>'


def document_view(doc: Document, c: Citation, script: str) -> str:
    """The whole cleaned document, the cited passage wrapped in an element the page scrolls
    to, its supporting sentences marked."""
    text = doc.text
    start, end = max(0, c.start), min(len(text), c.end)
    if not (start < end and text[start:end].strip()):
        # Offsets that do not fit the document (an index from before offsets were kept):
        # find the passage by its text instead.
        found = text.find(c.text.strip())
        start, end = (found, found + len(c.text.strip())) if found >= 0 else (0, 0)
    meta = " · ".join(
        esc(show(x, script))
        for x in (doc.meta.date, doc.meta.publisher, KIND_LABELS.get(doc.meta.kind, ""))
        if x
    )
    section = esc(show(c.section, script)) or "正文"
    passage = highlighted(text[start:end], c.highlight, script)
    return (
        f'<div class="doc" data-doc="{esc(doc.doc_id)}">'
        f'<div class="doc-title">{esc(show(doc.meta.title, script))}</div>'
        f'<div class="doc-meta">{meta} · 引用 [{c.n}]：{section}</div>'
        f'<div class="doc-body">{esc(show(text[:start], script))}'
        f'<span class="doc-passage" id="doc-focus">{passage}</span>'
        f"{esc(show(text[end:], script))}</div></div>"
    )


@dataclass
class SourceRow:
    doc: Document
    chunks: int


def cleaning_summary(doc: Document) -> str:
    """What cleaning repaired, in words; the details (before -> after) folded beneath."""
    done = [f"{CLEANING_LABELS.get(k, k)} {v}" for k, v in doc.clean_summary.items() if v]
    if not done:
        return "无需修复"
    details = [
        f"<li><b>{esc(CLEANING_LABELS.get(k, k))}</b>：{esc(item)}</li>"
        for k, items in doc.clean_details.items()
        for item in items
    ]
    summary = esc("；".join(done))
    if not details:
        return summary
    return f"<details><summary>{summary}</summary><ul>{''.join(details)}</ul></details>"


def sources_table(rows: Sequence[SourceRow], script: str = "原文") -> str:
    if not rows:
        return '<div class="sources empty">索引中还没有文件。</div>'
    body = "".join(
        "<tr>"
        f"<td>{esc(show(r.doc.meta.title, script))}"
        f"<div class='doc-id'>{esc(r.doc.doc_id)}{_also(r.doc)}</div></td>"
        f"<td class='nowrap'>{esc(r.doc.meta.date or '未知')}</td>"
        f"<td>{esc(show(r.doc.meta.publisher, script) or '未知')}</td>"
        f"<td class='nowrap'>{esc(KIND_LABELS.get(r.doc.meta.kind, r.doc.meta.kind))}</td>"
        f"<td class='num'>{r.chunks}</td>"
        f"<td>{cleaning_summary(r.doc)}</td>"
        f"<td class='nowrap'>{esc(_local_time(r.doc.ingested_at))}</td>"
        "</tr>"
        for r in rows
    )
    return (
        '<table class="sources"><thead><tr><th>标题</th><th>日期</th><th>发布者</th><th>类型</th>'
        "<th>段落数</th><th>清洗修复</th><th>入库时间</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _also(doc: Document) -> str:
    """The other names the same content was found under: indexed once, listed under each."""
    return f"（同一内容也见：{esc('、'.join(doc.also))}）" if doc.also else ""


def _local_time(iso: str) -> str:
    """'2026-11-22T09:35:55+00:00' -> '2026-11-22 09:35 UTC' (no guessing of time zones)."""
    m = re.match(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})", iso)
    if not m:
        return iso or "未知"
    return (
        f"{m.group(1)} {m.group(2)} UTC"
        if iso.endswith(("+00:00", "Z"))
        else f"{m.group(1)} {m.group(2)}"
    )


def banner(kind: str, text: str) -> str:
    """A status strip: kind is ok | warn | error."""
    icon = {"ok": "✅", "warn": "⚠️", "error": "⛔"}.get(kind, "")
    return f'<div class="banner banner-{kind}">{icon} {text}</div>'
