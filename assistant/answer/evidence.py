"""Evidence selection: the sentences of the retrieved passages that best answer the question,
and whether the passages support an answer at all.

Scores are lexical (IDF-weighted coverage of the question's terms) with a bonus when a
sentence holds the kind of value the question asks for; dense similarity already chose
the passages. The support test is what lets the assistant say "not in the sources".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from dataclasses import dataclass

from assistant.config import AnswerConfig
from assistant.corpus.chunk import text_sentences
from assistant.index.bm25 import AnyOf, BM25Index, tokenize
from assistant.models import Hit
from assistant.textnorm import for_search

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ASKS_QUANTITY = re.compile(
    r"多少|几|数量|规模|比例|增长|目标|达到|how (?:many|much)|number|percent"
)
_ASKS_DATE = re.compile(r"哪天|哪一天|何时|什么时候|日期|哪年|哪一年|when|what date|which year")
HEADING_MAX = 40
_DATE = re.compile(r"\d{4}\s*[年-]\s*\d{1,2}\s*[月-]\s*\d{1,2}")
_YEAR = re.compile(r"(?:19|20)\d{2}")
_VALUE = r"[\d一二三四五六七八九十百千万两]+(?:\.\d+)?\s*(?:多|余)?(?:万|亿)?"
_COUNTERS = "个项家所条栋座套名场支批类大种"
_ASKED_UNIT = re.compile(
    r"(?<!第)(?:多少|几)(亿元|万元|亿|万|元|个|项|家|所|条|栋|座|套|名|人次|人|场|公里|平方米|剂|倍|%)?"
)
_ORDINAL = re.compile(r"[一二三四五六七八九十]+[届次]")
_ENTITY_TAGS = frozenset({"ns", "nr", "nt"})
_LATIN = re.compile(r"[A-Za-z]")
_HAN = re.compile(r"[\u4e00-\u9fff]")


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
    sentences: list[Sentence]  # best first
    supported: bool
    reason: str  # why unsupported, for the guard report
    coverage: float
    # The passages' words were found to cover the question's. Not for English questions:
    # they share no words with Chinese passages, so only their years were checked.
    covered: bool = False


def is_english(question: str) -> bool:
    return len(_LATIN.findall(question)) > 2 * len(_HAN.findall(question))


def is_year(number: str) -> bool:
    return _YEAR.fullmatch(number) is not None


def question_numbers(question_norm: str) -> list[str]:
    return _NUMBER.findall(question_norm)


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


def asks_date(question_norm: str) -> bool:
    return _ASKS_DATE.search(question_norm) is not None


def _value_bonus(question_norm: str, sentence_norm: str) -> float:
    if asks_date(question_norm) and re.search(r"\d{1,2}月\d{1,2}日|\d{4}年", sentence_norm):
        return 0.15
    if _ASKS_QUANTITY.search(question_norm) and _NUMBER.search(sentence_norm):
        return 0.15
    return 0.0


def select_evidence(
    question_norm: str,
    hits: list[Hit],
    bm25: BM25Index,
    cfg: AnswerConfig,
    document_text: Callable[[str], str],
) -> Evidence:
    q_tokens = tokenize(question_norm)
    english = is_english(question_norm)
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
            if not _is_statement(text):
                continue
            norm = for_search(text)
            cov = bm25.coverage(q_tokens, set(tokenize(norm)), norm)
            score = cov + 0.3 * passage_cov + rank_prior + _value_bonus(question_norm, norm)
            sentences.append(Sentence(text, norm, i, doc_start + s, doc_start + e, score, cov))
    sentences.sort(key=lambda s: -s.score)
    joint = bm25.coverage(q_tokens, AnyOf(passages), "\n".join(h.chunk.search_text for h in hits))
    supported, reason = _supported(
        question_norm, hits, passage_covs, joint, cfg, english, document_text
    )
    if supported:
        supported, reason = _gives_value(question_norm, sentences, cfg)
    return Evidence(
        sentences[: cfg.evidence_sentences],
        supported,
        reason,
        max(passage_covs, default=0.0),
        covered=supported and not english,
    )


def asked_units(question_norm: str) -> list[str]:
    """For each 多少/几 in the question, the unit asked for ("" when none is named)."""
    return [m.group(1) or "" for m in _ASKED_UNIT.finditer(question_norm)]


def _gives_value(
    question_norm: str, sentences: list[Sentence], cfg: AnswerConfig
) -> tuple[bool, str]:
    """A question asking "how many X" needs a sentence on the question that states a number
    of X; a sentence about the subject without the figure does not answer it."""
    on_topic = [s.norm for s in sentences if s.coverage >= cfg.min_sentence_coverage]
    for unit in asked_units(question_norm):
        # "多少个" is answered by 九个, 十大 or 8项 alike: counters are interchangeable.
        counter = f"[{_COUNTERS}]" if unit and unit in _COUNTERS else re.escape(unit)
        value = re.compile(_VALUE + counter)
        if not any(value.search(t) for t in on_topic):
            return False, f"no sentence on the question gives a value in {unit or 'numbers'}"
    return True, ""


def named_entities(question_norm: str) -> list[str]:
    """Places, people and organisations the question names (jieba's part-of-speech tags)."""
    import jieba.posseg

    return [w for w, flag in jieba.posseg.cut(question_norm) if flag in _ENTITY_TAGS and len(w) > 1]


def passage_terms(question_norm: str, english: bool) -> list[str]:
    """Terms an answering passage must contain literally: years and figures, and session
    ordinals such as 七次 or 八届."""
    numbers = [n for n in question_numbers(question_norm) if not english or is_year(n)]
    return numbers if english else numbers + _ORDINAL.findall(question_norm)


def _mentions(term: str, text: str) -> bool:
    if term.isdigit() or _NUMBER.fullmatch(term):
        return re.search(rf"(?<![\d.]){re.escape(term)}(?![\d])", text) is not None
    return term in text


def _supported(
    question_norm: str,
    hits: list[Hit],
    covs: list[float],
    joint_cov: float,
    cfg: AnswerConfig,
    english: bool,
    document_text: Callable[[str], str],
) -> tuple[bool, str]:
    if not hits:
        return False, "nothing retrieved"
    # English questions share no words with Chinese passages; only literal terms are checked.
    if not english:
        if max(covs) < cfg.min_coverage:
            return False, f"no passage covers the question ({max(covs):.2f} < {cfg.min_coverage})"
        if joint_cov < cfg.min_joint_coverage:
            return False, f"passages miss key terms ({joint_cov:.2f} < {cfg.min_joint_coverage})"
    relevant = [h for h, cov in zip(hits, covs, strict=True) if english or cov >= cfg.min_coverage]
    # A year or ordinal the question gives must appear in a passage about it: a question
    # about 2035 GDP is not answered by a passage on 2035 governance.
    for term in passage_terms(question_norm, english):
        if not any(_mentions(term, h.chunk.search_text) for h in relevant):
            return False, f"no passage on the question mentions {term}"
    # A place, person or organisation it names must at least occur in their documents
    # (a report on Luohu need not repeat 罗湖 in every paragraph; one on Futian would).
    if not english:
        docs = [document_text(d) for d in dict.fromkeys(h.chunk.doc_id for h in relevant)]
        for name in named_entities(question_norm):
            if not any(name in d for d in docs):
                return False, f"the sources found do not mention {name}"
    return True, ""
