"""Evidence selection: the sentences of the retrieved passages that best answer the question,
and how much of the question each passage covers (what the support test reads).

Scores are lexical (IDF-weighted coverage of the question's terms) with a bonus when a
sentence holds the kind of value the question asks for; dense similarity already chose
the passages.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass

from assistant.answer.question import Question
from assistant.config import AnswerConfig
from assistant.figures import NUMBER
from assistant.index.bm25 import AnyOf, BM25Index, subject_words, tokenize
from assistant.index.duplicates import same_statement
from assistant.models import Hit
from assistant.sentences import text_sentences
from assistant.textnorm import for_search

HEADING_MAX = 40
_DATE = re.compile(r"\d{4}\s*[年-]\s*\d{1,2}\s*[月-]\s*\d{1,2}")
_DATE_WORDS = re.compile(r"\d{1,2}月\d{1,2}日|\d{4}年")


@dataclass
class Sentence:
    text: str  # original script, as in the document
    norm: str  # Simplified search form
    hit: int  # index into the hits list
    start: int  # offsets into the document
    end: int
    score: float = 0.0
    coverage: float = 0.0  # of the question's terms, by this sentence alone


@dataclass
class Evidence:
    sentences: list[Sentence]  # the best, best first: what a generator reads
    candidates: list[Sentence]  # every statement of the passages, best first
    passage_coverage: list[float]  # per hit: share of the question's key terms it holds
    joint_coverage: float  # the same for all passages together

    @property
    def coverage(self) -> float:
        return max(self.passage_coverage, default=0.0)


def _is_statement(sentence: str) -> bool:
    """Headings (no end mark, short) name a topic and state nothing; a header line with a
    date or figure ("——2021年11月3日在…会议上") does state something."""
    if len(sentence) < 8:
        return False
    return (
        sentence[-1] in "。!?;:”’」)"
        or len(sentence) > HEADING_MAX
        or _DATE.search(sentence) is not None
    )


def _heading(hit: Hit) -> str:
    """The title, date and section a chunk's search text starts with (chunk_document)."""
    text = for_search(hit.chunk.text)
    search = hit.chunk.search_text
    return search[: len(search) - len(text)] if search.endswith(text) else ""


def _value_bonus(question: Question, sentence_norm: str) -> float:
    if question.asks_date and _DATE_WORDS.search(sentence_norm):
        return 0.15
    if question.asks_quantity and NUMBER.search(sentence_norm):
        return 0.15
    return 0.0


def select_evidence(
    question: Question,
    hits: list[Hit],
    bm25: BM25Index,
    cfg: AnswerConfig,
    subjects: list[str] | None = None,
) -> Evidence:
    """`subjects`: each hit's document's district (罗湖区), which all its passages speak
    of whether or not they write it."""
    q_tokens = tokenize(question.norm)
    sentences: list[Sentence] = []
    passage_covs: list[float] = []
    passages: list[Container[str]] = []
    for i, hit in enumerate(hits):
        subject = subjects[i] if subjects else ""
        # Read from the BM25 index: a second jieba pass over the passage is half of this
        # function's time on a large corpus, where few passages repeat between questions.
        passage_tokens = AnyOf(
            [bm25.tokens_of(hit.chunk.chunk_id, hit.chunk.search_text), subject_words(subject)]
        )
        passages.append(passage_tokens)
        passage_text = f"{hit.chunk.search_text}\n{subject}"
        passage_cov = bm25.coverage(q_tokens, passage_tokens, passage_text)
        passage_covs.append(passage_cov)
        rank_prior = 0.2 / (1 + i)
        doc_start = hit.chunk.start
        # A sentence stands under its report's title, date, section and district: "2024年…
        # 大会由谁主持" is answered by a sentence of the 2024 report that need not write
        # 2024, and "2021年政府工作报告…纲要叫什么" by one of that report, not by a copy
        # writing 2021.
        header = f"{_heading(hit)} {subject}"
        header_tokens = set(tokenize(header))
        for s, e in text_sentences(hit.chunk.text):
            text = hit.chunk.text[s:e].strip()
            if not _is_statement(text) or hit.chunk.is_flagged(s, e):
                continue  # a passage addressed to an assistant is never evidence
            norm = for_search(text)
            own = set(tokenize(norm))
            cov = bm25.coverage(q_tokens, own, norm)
            # ranked with its heading; judged (`coverage`) on its own words
            headed = bm25.coverage(q_tokens, AnyOf([own, header_tokens]), f"{norm}\n{header}")
            score = headed + 0.3 * passage_cov + rank_prior + _value_bonus(question, norm)
            sentences.append(Sentence(text, norm, i, doc_start + s, doc_start + e, score, cov))
    sentences.sort(key=lambda s: -s.score)
    texts = [h.chunk.search_text for h in hits] + list(subjects or [])
    joint = bm25.coverage(q_tokens, AnyOf(passages), "\n".join(texts))
    return Evidence(distinct(sentences, cfg.evidence_sentences), sentences, passage_covs, joint)


def distinct(sentences: list[Sentence], n: int) -> list[Sentence]:
    """The first `n` sentences that say different things: a statement that near-duplicate
    passages repeat (a report and its reprint, last year's wording) is read and cited once,
    from the best of them; the page shows each passage anyway."""
    picked: list[Sentence] = []
    for s in sentences:
        if len(picked) == n:
            break
        if not any(same_statement(s.norm, p.norm) for p in picked):
            picked.append(s)
    return picked
