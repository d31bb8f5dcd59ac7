"""Chunking for Chinese reports: the document's own structure first, then sentence ends.

A chunk is a contiguous span of the cleaned document, so its offsets point at exactly the
text a user sees; it never ends inside a sentence (and so never inside a number), except a
"sentence" longer than a chunk may be (a line without punctuation: a table dump, a page
scraped without its marks), which is cut at clause marks, else at spaces, else hard, and
never inside a number.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from assistant.config import ChunkConfig
from assistant.models import SECTION_SEP, Chunk, Document, mask_spans
from assistant.sentences import sentence_spans, text_lines
from assistant.textnorm import for_search

_CN_NUM = "一二三四五六七八九十"
# (level, pattern) for lines that open a section; checked in order.
HEADING_RULES: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^[{_CN_NUM}]+、")),
    (1, re.compile(r"^答卷\s*\d+\s*$")),
    # The opening bracket may be the character a mojibake repair could not recover.
    (2, re.compile(rf"^[((]?[{_CN_NUM}]+[))]")),
    (3, re.compile(r"^\d{1,2}[.、](?!\d)")),
)
HEADLINE_MAX = 30
SUBHEAD_MAX = 12
PARAGRAPH_MIN = 40
HEADING_LABEL_MAX = 30
_NO_HEADLINE_END = tuple("。!?;:,、,！？；：，")
_CLAUSE_MARKS = frozenset("，,、：:）)」』”’")
_NUMBER_CHARS = frozenset("0123456789.,%")


@dataclass
class _Piece:
    """A sentence (or a heading-only line) with the section it sits in."""

    start: int
    end: int
    section: tuple[str, ...]
    heading: bool = False  # the whole line is a heading: it belongs with what follows


def heading_level(line: str, next_line: str | None) -> int | None:
    for level, pattern in HEADING_RULES:
        if pattern.match(line):
            return level
    # A headline stands above a paragraph, not above another short line ("各位代表:").
    if next_line is None or len(next_line) < PARAGRAPH_MIN:
        return None
    if len(line) <= HEADLINE_MAX and not line.endswith(_NO_HEADLINE_END):
        return 2  # a news headline line above its paragraphs
    if len(line) <= SUBHEAD_MAX and line.endswith("。"):
        return 4  # a short run-in subheading ("完善更新實施方式。") above its paragraph
    return None


def heading_label(line: str) -> str:
    """The part of a heading line that names the section: up to its first sentence end."""
    label = re.split(r"[。:;:；]", line, maxsplit=1)[0].strip()
    label = re.sub(r"\s+", "", label)
    return label if len(label) <= HEADING_LABEL_MAX else label[: HEADING_LABEL_MAX - 1] + "…"


def bounded(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """The span [start, end) of `text` in pieces of at most `limit` characters: cut after
    the last clause mark in the second half of each window, else after its last space,
    else at the window's end moved back out of any number."""
    spans: list[tuple[int, int]] = []
    while end - start > limit:
        cut = _cut(text, start, start + limit)
        spans.append((start, cut))
        start = cut
    spans.append((start, end))
    return spans


def _cut(text: str, lo: int, hi: int) -> int:
    half = lo + (hi - lo) // 2
    for marks in (_CLAUSE_MARKS, None):
        for i in range(hi, half, -1):
            c = text[i - 1]
            found = (c in marks) if marks is not None else c.isspace()
            if found and not _inside_number(text, i):
                return i
    cut = hi
    while cut > lo + 1 and _inside_number(text, cut):
        cut -= 1
    return cut if cut > lo + 1 else hi  # all digits: no number is that long


def _inside_number(text: str, i: int) -> bool:
    """A cut at i would split a number: digits (with their point, comma or %) on both
    sides, a digit on at least one."""
    before, after = text[i - 1], text[i] if i < len(text) else ""
    return (
        before in _NUMBER_CHARS and after in _NUMBER_CHARS and (before.isdigit() or after.isdigit())
    )


def _pieces(text: str, header_lines: int, max_chars: int) -> list[_Piece]:
    lines = text_lines(text)
    stack: list[tuple[int, str]] = []
    pieces: list[_Piece] = []
    for i, line in enumerate(lines):
        stripped = line.text.strip()
        if not stripped:
            continue
        nxt = lines[i + 1].text.strip() if i + 1 < len(lines) else None
        level = None if i < header_lines else heading_level(stripped, nxt)
        if level is not None:
            stack = [(lv, lb) for lv, lb in stack if lv < level]
            stack.append((level, heading_label(stripped)))
        section = tuple(lb for _, lb in stack)
        spans = [
            piece
            for s, e in sentence_spans(line.text, line.start)
            for piece in bounded(text, s, e, max_chars)
        ]
        heading_only = level is not None and len(spans) == 1
        for s, e in spans:
            pieces.append(_Piece(s, e, section, heading_only))
    return pieces


def _pack(pieces: list[_Piece], cfg: ChunkConfig) -> list[list[_Piece]]:
    """Greedy packing within a section; a short tail joins the chunk before it."""
    groups: list[list[_Piece]] = []
    current: list[_Piece] = []

    def size(group: list[_Piece]) -> int:
        return group[-1].end - group[0].start if group else 0

    for piece in pieces:
        if current:
            # Heading lines stay with the text they head, never with the text before them.
            only_headings = all(p.heading for p in current)
            opens_section = piece.heading or piece.section != current[-1].section
            too_big = piece.end - current[0].start > cfg.max_chars
            if (opens_section and not only_headings) or too_big:
                groups.append(current)
                current = []
        current.append(piece)
    if current:
        groups.append(current)
    merged: list[list[_Piece]] = []
    for group in groups:
        prev = merged[-1] if merged else None
        if (
            prev
            and size(group) < cfg.min_chars // 2
            and prev[0].section == group[0].section
            and group[-1].end - prev[0].start <= cfg.max_chars * 1.2
        ):
            prev.extend(group)
        else:
            merged.append(group)
    return merged


def chunk_document(doc: Document, cfg: ChunkConfig, header_lines: int = 3) -> list[Chunk]:
    """Split a cleaned document into chunks with section paths and stable ids."""
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for group in _pack(_pieces(doc.text, header_lines, cfg.max_chars), cfg):
        raw = doc.text[group[0].start : group[-1].end]
        start = group[0].start + len(raw) - len(raw.lstrip())
        text = raw.strip()
        end = start + len(text)
        section = SECTION_SEP.join(group[-1].section)
        heading = f"{doc.meta.title} {doc.meta.date}\n{section}"
        flagged = [
            [max(s, start) - start, min(e, end) - start]
            for s, e in doc.flagged
            if s < end and start < e
        ]
        # a passage addressed to an assistant is not searched: it can never be retrieved
        search_text = for_search(f"{heading}\n{mask_spans(text, flagged)}")
        # From what is embedded, so an id names one vector: same text in, same id out.
        base = hashlib.sha256(f"{doc.doc_id}\x00{search_text}".encode()).hexdigest()[:16]
        seen[base] = seen.get(base, 0) + 1
        chunk_id = base if seen[base] == 1 else f"{base}-{seen[base]}"
        chunks.append(
            Chunk(
                chunk_id=chunk_id,
                doc_id=doc.doc_id,
                section=section,
                start=start,
                end=end,
                text=text,
                search_text=search_text,
                flagged=flagged,
            )
        )
    return chunks
