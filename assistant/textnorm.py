"""Text normalization shared by documents, questions and the eval scorer.

One place decides what "the same text" means, so that a question in Traditional
script finds a passage in Simplified and the scorer compares like with like.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

import opencc

_DIGIT_COMMA = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
_WHITESPACE = re.compile(r"\s+")


@lru_cache(maxsize=4)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    return _converter("t2s").convert(text) if text else text


# OpenCC's "s2t" writes its own standard forms (爲, 羣, 衆, 啓, 峯); the Traditional reports
# write the Taiwan forms (為, 群, 眾, 啟, 峰), which "s2tw" gives, except for these variants,
# written the other way in every Traditional report of sources/ and eval/heldout/.
_REPORT_VARIANTS = str.maketrans({"汙": "污", "恆": "恒", "閒": "閑", "鑑": "鑒"})


def to_traditional(text: str) -> str:
    """Traditional script in the forms the reports use (為, not 爲)."""
    return _converter("s2tw").convert(text).translate(_REPORT_VARIANTS) if text else text


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def for_search(text: str) -> str:
    """The form that is indexed and queried: NFKC, Simplified, single spaces."""
    return _WHITESPACE.sub(" ", to_simplified(nfkc(text))).strip()


def for_match(text: str) -> str:
    """The eval's normalization: NFKC, Simplified, no whitespace, no digit-group commas."""
    text = _WHITESPACE.sub("", to_simplified(nfkc(text)))
    return _DIGIT_COMMA.sub("", text)


def is_traditional(text: str) -> bool:
    """Whether text reads as Traditional script: it changes under t2s more than a little."""
    han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    if not han:
        return False
    simplified = to_simplified("".join(han))
    changed = sum(a != b for a, b in zip(han, simplified, strict=False))
    return changed / len(han) > 0.02


_HAN_PAIR = re.compile(r"(?=([\u4e00-\u9fff]{2}))")


def han_bigrams(text: str) -> set[str]:
    """Pairs of adjacent Han characters: how a model's wording is compared with a passage's
    (it copies names and terms, not punctuation)."""
    return {m.group(1) for m in _HAN_PAIR.finditer(text)}


def char_bigrams(text: str) -> set[str]:
    """All pairs of adjacent characters, digits and marks included ("20" of a year counts)."""
    return {text[i : i + 2] for i in range(len(text) - 1)}


@lru_cache(maxsize=1)
def jieba():  # type: ignore[no-untyped-def]
    """jieba, loaded once and quiet: its dictionary takes a second to build."""
    import jieba as _jieba

    _jieba.setLogLevel(logging.WARNING)
    _jieba.initialize()
    return _jieba


def words(text: str) -> list[str]:
    """jieba's words of a phrase ("应到代表" → 应, 到, 代表)."""
    return jieba().lcut(text)
