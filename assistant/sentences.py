"""Sentences of the cleaned text: chunking, evidence selection and the fact reader cut the
same way, so that a chunk never ends inside a sentence the other two read whole."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"[。!?;！？；]+[”’」』)）]*")


@dataclass
class Line:
    start: int
    end: int
    text: str


def text_lines(text: str) -> list[Line]:
    return [Line(m.start(), m.end(), m.group()) for m in re.finditer(r"[^\n]+", text)]


def sentence_spans(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans of one line; the tail without an end mark is a sentence too."""
    spans, pos = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() > pos:
            spans.append((offset + pos, offset + m.end()))
            pos = m.end()
    if text[pos:].strip():
        spans.append((offset + pos, offset + len(text)))
    return spans


def text_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a multi-line text: lines first, then sentence ends."""
    return [span for line in text_lines(text) for span in sentence_spans(line.text, line.start)]
