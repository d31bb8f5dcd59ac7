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
from assistant.index.bm25 import AnyOf, BM25Index, tokenize
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


def _value_bonus(question: Question, sentence_norm: str) -> float:
    if question.asks_date and _DATE_WORDS.search(sentence_norm):
        return 0.15
    if question.asks_quantity and NUMBER.search(sentence_norm):
        return 0.15
    return 0.0


def select_evidence(
    question: Question, hits: list[Hit], bm25: BM25Index, cfg: AnswerConfig
) -> Evidence:
    q_tokens = tokenize(question.norm)
    sentences: list[Sentence] = []
    passage_covs: list[float] = []
    passages: list[Container[str]] = []
    for i, hit in enumerate(hits):
        # Read from the BM25 index: a second jieba pass over the passage is half of this
        # function's time on a large corpus, where few passages repeat between questions.
        passage_tokens = bm25.tokens_of(hit.chunk.chunk_id, hit.chunk.search_text)
        passages.append(passage_tokens)
        passage_cov = bm25.coverage(q_tokens, passage_tokens, hit.chunk.search_text)
        passage_covs.append(passage_cov)
        rank_prior = 0.2 / (1 + i)
        doc_start = hit.chunk.start
        for s, e in text_sentences(hit.chunk.text):
            text = hit.chunk.text[s:e].strip()
            if not _is_statement(text) or hit.chunk.is_flagged(s, e):
                continue  # a passage addressed to an assistant is never evidence
            norm = for_search(text)
            cov = bm25.coverage(q_tokens, set(tokenize(norm)), norm)
            score = cov + 0.3 * passage_cov + rank_prior + _value_bonus(question, norm)
            sentences.append(Sentence(text, norm, i, doc_start + s, doc_start + e, score, cov))
    sentences.sort(key=lambda s: -s.score)
    joint = bm25.coverage(q_tokens, AnyOf(passages), "\n".join(h.chunk.search_text for h in hits))
    return Evidence(sentences[: cfg.evidence_sentences], sentences, passage_covs, joint)
