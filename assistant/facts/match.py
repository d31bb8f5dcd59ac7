"""Whether a fact is the one a question asks for: its metric, period, subject and status."""

from __future__ import annotations

import re

from assistant.textnorm import for_match

_NOISE = re.compile(r"[“”\"「」『』()（）《》、·\s]")


def _norm(phrase: str) -> str:
    return _NOISE.sub("", for_match(phrase))


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def metric_similarity(a: str, b: str) -> float:
    """How surely two metric phrases name the same measure, 0..1. An abbreviation or a
    shorter name in order (新增学位 / 新增中小学学位, 社零 / 社会消费品零售总额) counts nearly as
    the same; otherwise the share of character pairs they have in common (Dice)."""
    a, b = _norm(a), _norm(b)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    short, long = sorted((a, b), key=len)
    if len(short) >= 2 and is_subsequence(short, long):
        return 0.9
    pa, pb = _bigrams(a), _bigrams(b)
    if not pa or not pb:
        return 0.0
    return 2 * len(pa & pb) / (len(pa) + len(pb))
