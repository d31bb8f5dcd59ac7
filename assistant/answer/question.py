"""What a question asks: read once, used by every stage.

Retrieval, the evidence test, the prompt, the guard and the refusal all need to know the same
things about a question (is it English, does it ask a date or a count and in what unit, what
it quotes, which years and figures it names); they read them here, not each its own way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from assistant.figures import figures, is_year, numbers
from assistant.textnorm import for_match, for_search, is_traditional

_LATIN = re.compile(r"[A-Za-z]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_ASKS_QUANTITY = re.compile(
    r"多少|几|数量|规模|比例|增长|目标|达到|how (?:many|much)|number|percent"
)
_ASKS_DATE = re.compile(r"哪天|哪一天|何时|什么时候|日期|哪年|哪一年|when|what date|which year")
_ASKED_UNIT = re.compile(
    r"(?<!第)(?:多少|几)(亿元|万元|亿|万|元|个|项|家|所|条|栋|座|套|名|人次|人|场|公里|平方米|剂|倍|%)?"
)
_ASKS_ITEMS = re.compile(r"哪些|哪几|分别|包括|什么|是指|指的")
_ORDINAL = re.compile(r"[一二三四五六七八九十]+[届次]")
_QUOTED = re.compile(r"[“\"「『]([^“”\"「」『』]{2,24})[”\"」』]")
_OPEN_ASK = re.compile(r"什么|哪|几|多少|谁")
# The question's own interrogatives: an answer that repeats one restates the question.
_INTERROGATIVE = re.compile(r"多少|第几|几[个项大名条家次年月天位类种件所届人]")
_ASKS_AMOUNT_EN = re.compile(r"\bhow (?:many|much)\b|\bwhat (?:percentage|share|proportion)\b")
_ENTITY_TAGS = frozenset({"ns", "nr", "nt"})


def is_english(text: str) -> bool:
    return len(_LATIN.findall(text)) > 2 * len(_HAN.findall(text))


@dataclass(frozen=True)
class Question:
    """A question as asked, and its normalized form (what retrieval and the model read).

    `text` keeps the asker's language and script, which the answer follows; every reading
    of what is asked is made on `norm`.
    """

    text: str
    norm: str

    @cached_property
    def english(self) -> bool:
        return is_english(self.text)

    @cached_property
    def traditional(self) -> bool:
        return not self.english and is_traditional(self.text)

    @cached_property
    def numbers(self) -> tuple[str, ...]:
        """Figures and years written in digits, as in the search form."""
        return tuple(numbers(self.norm))

    @cached_property
    def match_numbers(self) -> tuple[str, ...]:
        """The same in the match form (no digit-group commas): how passages are checked."""
        return tuple(numbers(for_match(self.norm)))

    @cached_property
    def given_figures(self) -> frozenset[str]:
        """Every number the question itself gives (digits or counts in words): an answer
        that only repeats them gives nothing."""
        return frozenset(self.match_numbers) | {f.number for f in figures(self.norm)}

    @cached_property
    def asked_units(self) -> tuple[str, ...]:
        """For each 多少/几, the unit asked for ("" when none is named)."""
        return tuple(m.group(1) or "" for m in _ASKED_UNIT.finditer(self.norm))

    @cached_property
    def asks_quantity(self) -> bool:
        return _ASKS_QUANTITY.search(self.norm) is not None

    @cached_property
    def asks_date(self) -> bool:
        return _ASKS_DATE.search(self.norm) is not None

    @cached_property
    def asks_ordinal(self) -> bool:
        return "第几" in self.norm

    @cached_property
    def asks_items(self) -> bool:
        return _ASKS_ITEMS.search(self.norm) is not None

    @property
    def asks_count_only(self) -> bool:
        """ "聚焦多少大行动?" wants the count, not the actions' names."""
        return bool(self.asked_units) and not self.asks_items

    @cached_property
    def english_amounts(self) -> int:
        """How many amounts an English question asks for (how many / how much)."""
        return len(_ASKS_AMOUNT_EN.findall(self.norm.lower())) if self.english else 0

    @cached_property
    def interrogatives(self) -> tuple[str, ...]:
        return tuple(_INTERROGATIVE.findall(self.norm))

    @cached_property
    def quoted(self) -> tuple[str, ...]:
        """Phrases the question quotes, normalized like the passages; a quoted question
        ("突出什么提效率") is not a phrase to find."""
        phrases = (for_match(m.group(1)) for m in _QUOTED.finditer(self.norm))
        return tuple(p for p in dict.fromkeys(phrases) if not _OPEN_ASK.search(p))

    @cached_property
    def passage_terms(self) -> tuple[str, ...]:
        """Terms an answering passage must contain literally: years and figures, and session
        ordinals such as 七次 or 八届 (English questions: their years only)."""
        if self.english:
            return tuple(n for n in self.numbers if is_year(n))
        return self.numbers + tuple(_ORDINAL.findall(self.norm))

    @cached_property
    def entities(self) -> tuple[str, ...]:
        """Places, people and organisations the question names (jieba's part-of-speech
        tags); read only when asked for, since the tagger is slow to load."""
        import jieba.posseg

        tagged = jieba.posseg.cut(self.norm)
        return tuple(w for w, flag in tagged if flag in _ENTITY_TAGS and len(w) > 1)


def read_question(text: str) -> Question:
    return Question(text, for_search(text))
