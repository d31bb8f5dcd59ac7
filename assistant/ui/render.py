"""HTML for the web UI: answers with clickable [n], the passages panel, the document view,
the sources table. Pure functions of the pipeline's data, without gradio, so they are
tested directly and the page shows exactly what they return.

Every text that comes from a document or a model is HTML-escaped here; the chat renders
Markdown, so the characters Markdown would act on are escaped too. Anchors are
`cite-<turn>-<n>`: turn-qualified, because an older answer's [1] is another passage.

One script per answer: everything drawn for an answer (its text, titles, labels, passages,
the document view) is in the one script `script` names, 简体 or 繁體 (`turn_script`: the
asker's, unless the reader chose one); a passage's original wording is one click away.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from assistant.answer.citations import drawn_on
from assistant.corpus.ingest import IngestSummary
from assistant.corpus.library import FileOutcome
from assistant.models import CITE_MARKER as CITE
from assistant.models import Citation, Document, DocumentMeta, FactPoint, Response
from assistant.textnorm import is_traditional, to_simplified, to_traditional
from assistant.ui.wording import file_reason
from assistant.ui.wording import notice as notice_zh

AUTO = "随提问"
SCRIPTS = (AUTO, "简体", "繁體")  # the asker's script / Simplified / Traditional
CLOSEST_SHOWN = 3  # passages offered with a refusal
CARD_CHARS = 90  # a hover card quotes this much of a passage when no sentence is marked

# What each cleaning counter means to a reader of the Sources tab: "{n}" is the count.
CLEANING_LABELS = {
    "pinyin_removed": "删去 {n} 处拼音注音（如“區(qū)”中的“(qū)”）",
    "mojibake_repaired": "修复 {n} 处乱码（编码错误造成的怪字，已还原）",
    "mojibake_unrecoverable": "{n} 处乱码无法还原（原文件已损坏）",
    "mojibake_lost_chars": "乱码中缺失 {n} 个字",
    "furniture_removed": "删去 {n} 处网页杂项（导航、分享按钮等）",
    "names_joined": "接合 {n} 处被空格拆开的人名",
    "chars_normalized": "统一 {n} 个全角/半角字符",
    "lines_dropped": "删去 {n} 行与正文无关的内容",
    "citation_marks": "源文中的 {n} 处引用标记改写为〔n〕（以免与回答的引用混淆）",
    "addressed_to_assistant": "{n} 段疑似写给AI助手的指令（原文照录，未用于回答）",
}
# Details shown under the summary: what the reader can check, not the raw bytes.
CLEANING_DETAIL_LABELS = {
    "mojibake_repaired": "修复后",
    "mojibake_unrecoverable": "无法还原",
    "furniture_removed": "删去",
    "names_joined": "接合后",
    "addressed_to_assistant": "疑似指令",
}
KIND_LABELS = {
    "work_report": "政府工作报告",
    "plenary_communique": "全会公报",
    "news": "新闻报道",
    "other": "其他",
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~$])")


def show(text: str, script: str) -> str:
    """`text` in `script` (简体 or 繁體; anything else: as the document wrote it)."""
    if script == "简体":
        return to_simplified(text)
    if script == "繁體":
        return to_traditional(text)
    return text


def turn_script(question: str, chosen: str) -> str:
    """The one script of an answer: the reader's choice, or the asker's own script."""
    if chosen in SCRIPTS[1:]:
        return chosen
    return "繁體" if is_traditional(question) else "简体"


def titled(title: str, date: str) -> str:
    """A title with its year, when the title does not say it ("政府工作報告（2021年）")."""
    year = date[:4]
    return f"{title}（{year}年）" if year and year not in title else title


def doc_title(meta: DocumentMeta) -> str:
    return titled(meta.title, meta.date)


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


def linked_answer(text: str, turn: int, script: str, linked: set[int] | None = None) -> str:
    """The answer with each [n] turned into a link to passage n of this turn (only those
    in `linked`, when given: a draft may cite a passage that is not there)."""
    parts: list[str] = []
    last = 0
    for m in CITE.finditer(text):
        parts.append(md_esc(show(text[last : m.start()], script)))
        n = int(m.group(1))
        parts.append(cite_link(turn, n) if linked is None or n in linked else md_esc(m.group(0)))
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
    where = " · ".join(esc(show(x, script)) for x in (titled(c.title, c.date), c.date) if x)
    return f"{cite_link(turn, c.n)} {where}"


def _notice(text: str, script: str) -> str:
    return f'<div class="notice">⚠️ {esc(show(notice_zh(text), script))}</div>\n\n' if text else ""


def cite_cards(passages: Sequence[Citation], script: str) -> str:
    """The hover (or tap) card of each [n], hidden in the message that cites it: title with
    its year, date, section and the sentence the answer used (static/page.js shows it). The
    chat drops data-* attributes, so a card says its number by a class."""
    cards = []
    for c in passages:
        used = c.highlight or [c.text[:CARD_CHARS] + ("…" if len(c.text) > CARD_CHARS else "")]
        meta = " · ".join(esc(show(x, script)) for x in (c.date, c.section) if x)
        quote = "".join(f"<q>{esc(show(s, script))}</q>" for s in used)
        cards.append(
            f'<span class="cite-card n{c.n}" hidden>'
            f'<b class="card-title">[{c.n}] {esc(show(titled(c.title, c.date), script))}</b>'
            f'<span class="card-meta">{meta}</span><span class="card-quote">{quote}</span>'
            f'<a class="cite card-open" href="#cite-{{turn}}-{c.n}">'
            f"{show('查看段落', script)} ›</a></span>"
        )
    return f'<span class="cite-cards" hidden>{"".join(cards)}</span>' if cards else ""


def _cards(passages: Sequence[Citation], turn: int, script: str) -> str:
    return cite_cards(passages, script).replace("{turn}", str(turn))


def answer_message(response: Response, turn: int, script: str, filters_note: str = "") -> str:
    """The assistant's bubble for a finished answer."""
    if response.refused:
        return refusal_message(response, turn, script, filters_note)
    body = linked_answer(response.answer, turn, script)
    sources = "<br>".join(_source_line(c, turn, script) for c in response.citations)
    label = show("依据：", script)
    footer = f'\n\n<div class="sources-line">{label}<br>{sources}</div>' if sources else ""
    chart = series_chart(response.series, turn, script)
    return (
        _notice(response.notice, script)
        + body
        + _cards(response.citations, turn, script)
        + footer
        + (f"\n\n{chart}" if chart else "")
    )


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
            f"{esc(show(p.mention, script))}</text>"
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
    parts = [_notice(response.notice, script)]
    if response.citations:  # "资料中没有2023年的数据；资料中有：…[1]": the [1] links
        said = linked_answer(response.answer, turn, script)
        parts.append(f'<div class="refusal">🚫 {said}</div>')
    else:
        parts.append(f'<div class="refusal">🚫 {esc(show(response.answer, script))}</div>')
    if filters_note:
        parts.append(f'\n\n<div class="filters-note">{esc(show(filters_note, script))}</div>')
    closest = shown_passages(response)
    parts.append(_cards(closest, turn, script))
    if closest and response.citations:
        lines = "<br>".join(_source_line(c, turn, script) for c in closest)
        head = show("资料中有的相关内容：", script)
        parts.append(f'\n\n<div class="closest">{head}<br>{lines}</div>')
    elif closest:
        lines = "<br>".join(_source_line(c, turn, script) for c in closest)
        head = show("最接近的段落（仅供参考，未用于回答）：", script)
        parts.append(f'\n\n<div class="closest">{head}<br>{lines}</div>')
    return "".join(parts)


def draft_passages(draft: str, passages: Sequence[Citation]) -> list[Citation]:
    """The passages a draft cites, each marked with what the draft drew on from it."""
    cited = {int(n) for n in CITE.findall(draft)}
    return [
        c.model_copy(update={"highlight": drawn_on(draft, c.n, c.text)})
        for c in passages
        if c.n in cited
    ]


def draft_message(
    draft: str,
    script: str,
    note: str = "",
    cursor: bool = True,
    turn: int = 0,
    passages: Sequence[Citation] = (),
) -> str:
    """A generator's draft as it streams in. Its [n] link to the passages it was given
    (`passages`), so that a stopped draft keeps working links."""
    head = f'<div class="draft-note">{esc(show(note, script))}</div>\n\n' if note else ""
    tail = '<span class="cursor">▍</span>' if cursor else ""
    cited = draft_passages(draft, passages)
    body = linked_answer(draft, turn, script, {c.n for c in cited})
    return head + body + tail + _cards(cited, turn, script)


def phrasing_note(draft: str, script: str) -> str:
    """Under a verified answer while the model writes its own: what it has so far, without
    links (its [n] are not the answer's), and that it replaces the answer only once checked."""
    text = CITE.sub("", draft).strip()
    if not text:
        said = show("模型排队改写中；上面是核对过的回答，改写通过核对后会替换它。", script)
        return f'\n\n<div class="phrasing">⏳ {esc(said)}</div>'
    said = show("模型正在改写（通过核对后替换上面的回答）：", script)
    body = esc(show(text, script))
    return f'\n\n<div class="phrasing">✍️ {esc(said)}{body}<span class="cursor">▍</span></div>'


def question_message(question: str, standalone: str, script: str) -> str:
    """The user's bubble, as typed; a follow-up shows the standalone question it was read as."""
    text = md_esc(question)
    if standalone and standalone != question:
        label = show("理解为：", script)
        text += f'\n\n<div class="rewrite">↳ {label}{esc(show(standalone, script))}</div>'
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
    text = highlighted(c.text, c.highlight, script, c.flagged)
    original = ""
    if show(c.text, script) != c.text:  # the words as the report wrote them, one click away
        original = (
            f'<details class="original"><summary>{show("原文字形", script)}</summary>'
            f"{highlighted(c.text, c.highlight, '原文', c.flagged)}</details>"
        )
    return (
        f'<div class="passage" id="cite-{turn}-{c.n}">'
        f'<div class="passage-title"><span class="num">[{c.n}]</span> '
        f"{esc(show(titled(c.title, c.date), script))}</div>"
        f'<div class="passage-meta">{meta}</div>'
        f'<div class="passage-text">{text}</div>{original}'
        f'<a class="open-doc" href="#doc" data-turn="{turn}" data-n="{c.n}">'
        f"{show('查看原文全文（定位到此段）', script)} ›</a>"
        "</div>"
    )


EMPTY_PANEL = (
    '<div class="passages empty">提问后，这里显示回答引用的原文段落；'
    "点击回答中的 [n] 即可定位。</div>"
)


def passages_panel(
    passages: Sequence[Citation], turn: int, script: str, kind: str = "answer"
) -> str:
    """Each passage an answer cites (for a refusal, the closest ones), the sentences it drew
    on marked, with a link to the whole document. `kind`: answer | refused | noted | draft."""
    heads = {
        "answer": f"第 {turn + 1} 个回答引用的段落（黄色为回答所依据的句子）：",
        "noted": "未找到所问的数据。资料中有的相关段落：",
        "refused": "未找到答案。最接近的段落（仅供参考）：",
        "draft": f"第 {turn + 1} 个回答（未完成）引用的段落：",
    }
    cards = "".join(passage_card(c, turn, script) for c in passages)
    cards = cards or esc(show("没有检索到相关段落。", script))
    head = esc(show(heads.get(kind, heads["answer"]), script))
    return (
        f'<div class="passages" data-turn="{turn}">'
        f'<div class="passages-head">{head}</div>{cards}</div>'
    )


def response_panel(response: Response, turn: int, script: str) -> str:
    kind = "answer"
    if response.refused:
        kind = "noted" if response.citations else "refused"
    return passages_panel(shown_passages(response), turn, script, kind)


EMPTY_DOCUMENT = '<div class="doc empty">点击段落下方的“查看原文全文”，在此阅读整篇文件。</div>'


def document_view(doc: Document, c: Citation, script: str) -> str:
    """The whole cleaned document, its title and the cited place kept in view above it,
    the cited passage one highlighted block (the page scrolls to it) with the sentences
    the answer drew on marked."""
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
    section = esc(show(c.section, script)) or show("正文", script)
    passage = highlighted(text[start:end], c.highlight, script)
    back = show("回到引用处", script)
    return (
        f'<div class="doc" data-doc="{esc(doc.doc_id)}">'
        f'<div class="doc-head"><div class="doc-title">{esc(show(doc_title(doc.meta), script))}'
        f'</div><div class="doc-meta">{meta}</div>'
        f'<div class="doc-where">{show("引用", script)} [{c.n}]：{section} '
        f'<a class="doc-jump" href="#doc-focus">{back} ↓</a></div></div>'
        f'<div class="doc-body">{esc(show(text[:start], script))}'
        f'<span class="doc-passage" id="doc-focus">{passage}</span>'
        f"{esc(show(text[end:], script))}</div></div>"
    )


@dataclass
class SourceRow:
    doc: Document
    chunks: int


def cleaning_summary(doc: Document) -> str:
    """What cleaning did, in sentences staff understand; what they can check (the repaired
    words, what was removed) folded beneath, never the raw garbled bytes."""
    done = [
        CLEANING_LABELS.get(k, k + " {n}").format(n=v) for k, v in doc.clean_summary.items() if v
    ]
    if not done:
        return "无需修复"
    details = [
        f"<li>{esc(CLEANING_DETAIL_LABELS[k])}：{esc(_readable(item))}</li>"
        for k, items in doc.clean_details.items()
        if k in CLEANING_DETAIL_LABELS
        for item in items
        if _readable(item)
    ]
    summary = "；".join(esc(d) for d in done)
    if not details:
        return summary
    return f"<details><summary>{summary}</summary><ul>{''.join(details)}</ul></details>"


def _readable(item: str) -> str:
    """A cleaning detail without the garbled side: "乱码 -> 總部企業 [lost 1]" gives
    "總部企業（缺 1 字）"; other details are kept as they are."""
    _, arrow, after = item.partition(" -> ")
    if not arrow:
        return item
    m = re.search(r"\s*\[lost (\d+)\]\s*$", after)
    text = after[: m.start()] if m else after
    return f"“{text.strip()}”" + (f"（缺 {m.group(1)} 字）" if m else "") if text.strip() else ""


def sources_table(rows: Sequence[SourceRow], script: str = "原文", removable: bool = True) -> str:
    if not rows:
        return '<div class="sources empty">索引中还没有文件。</div>'
    body = "".join(
        "<tr>"
        f"<td>{esc(show(doc_title(r.doc.meta), script))}"
        f"<div class='doc-id'>{esc(r.doc.doc_id)}{_also(r.doc)}</div></td>"
        f"<td class='nowrap'>{esc(r.doc.meta.date or '未知')}</td>"
        f"<td class='nowrap'>{esc(show(r.doc.meta.publisher, script) or '未知')}</td>"
        f"<td class='nowrap'>{esc(KIND_LABELS.get(r.doc.meta.kind, r.doc.meta.kind))}</td>"
        f"<td class='num'>{r.chunks}</td>"
        f"<td>{cleaning_summary(r.doc)}</td>"
        f"<td class='nowrap'>{local_time(r.doc.ingested_at)}</td>"
        + (
            f"<td class='nowrap'><button class='remove-doc' data-doc='{esc(r.doc.doc_id)}'>"
            "删除…</button></td>"
            if removable
            else ""
        )
        + "</tr>"
        for r in rows
    )
    remove_head = "<th></th>" if removable else ""
    return (
        '<table class="sources"><thead><tr><th>标题</th><th>日期</th><th>发布者</th><th>类型</th>'
        f"<th>段落数</th><th>清洗做了什么</th><th>入库时间</th>{remove_head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _also(doc: Document) -> str:
    """The other names the same content was found under: indexed once, listed under each."""
    return f"（同一内容也见：{esc('、'.join(doc.also))}）" if doc.also else ""


def local_time(iso: str) -> str:
    """A stored UTC time as the reader's local time: the server's local time in the page,
    which static/page.js rewrites in the browser's own time zone."""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return esc(iso or "未知")
    shown = when.astimezone().strftime("%Y-%m-%d %H:%M")
    return f'<time class="local" datetime="{esc(iso)}">{shown}</time>'


def ingest_report(
    files: list[FileOutcome],
    summary: IngestSummary,
    documents: dict[str, Document],
    chunks: dict[str, int],
) -> str:
    """What an upload did, file by file: taken (with its title, date and what cleaning
    did), unchanged, or refused with the reason; `documents` are the index's after it."""
    lines = []
    for f in files:
        if f.status == "refused":
            why = esc(file_reason(f.reason))
            lines.append(f"<li class='bad'>⛔ <b>{esc(f.name)}</b>：未入库，{why}</li>")
            continue
        doc = documents.get(f.doc_id)
        meta = doc.meta if doc else None
        what = f"《{esc(doc_title(meta))}》{esc(meta.date or '日期未知')}" if meta else ""
        if f.status == "duplicate":
            note = f"内容与已入库的{what or esc(f.doc_id)}完全相同，只收录一次，两个文件名都列出"
            lines.append(f"<li class='same'>➖ <b>{esc(f.name)}</b>：{note}</li>")
            continue
        if f.status == "unchanged" or doc is None:
            note = f"与已入库的版本相同，未改动（{what}）"
            lines.append(f"<li class='same'>➖ <b>{esc(f.name)}</b>：{note}</li>")
            continue
        verb = "已入库" if f.status == "added" else "已更新"
        count = chunks.get(f.doc_id, 0)
        lines.append(
            f"<li class='ok'>✅ <b>{esc(f.name)}</b>：{verb}，{what}，{count} 个段落。"
            f"<div class='cleaning'>清洗：{cleaning_summary(doc)}</div></li>"
        )
    counts = {
        k: sum(f.status == k for f in files) for k in ("added", "updated", "unchanged", "duplicate")
    }
    refused = sum(f.status == "refused" for f in files)
    parts = [f"新增 {counts['added']} 份", f"更新 {counts['updated']} 份"]
    parts += [f"未变化 {counts['unchanged']} 份"] if counts["unchanged"] else []
    parts += [f"与已有文件相同 {counts['duplicate']} 份"] if counts["duplicate"] else []
    parts += [f"未入库 {refused} 份"] if refused else []
    kind = "warn" if refused else "ok"
    head = f"入库完成：{'，'.join(parts)}（用时 {summary.seconds:.1f} 秒）。其他报告保持不变。"
    return f"{banner(kind, head)}<ul class='ingest-report'>{''.join(lines)}</ul>"


def removal_report(removed: Document, summary: IngestSummary) -> str:
    where = (
        f"原文件已移到 <code>{esc(str(Path(summary.set_aside[0]).parent))}</code>，需要时可放回 "
        "sources 文件夹重新入库。"
        if summary.set_aside
        else ""
    )
    title = f"《{esc(doc_title(removed.meta))}》"
    return banner("ok", f"已从索引中删除{title}，回答不会再引用它。{where}")


def banner(kind: str, text: str) -> str:
    """A status strip: kind is ok | warn | error."""
    icon = {"ok": "✅", "warn": "⚠️", "error": "⛔"}.get(kind, "")
    return f'<div class="banner banner-{kind}">{icon} {text}</div>'
