"""Figures as Chinese reports and answers write them: numbers with magnitude and unit,
Chinese numerals, counts in words, years.

One home for the number patterns, so that the evidence test, the guard and the question
reader agree on what a figure is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.models import CITE_MARKER
from assistant.textnorm import for_match, for_search

NUMBER = re.compile(r"\d+(?:\.\d+)?")
YEAR = r"(?:19|20)\d{2}"  # a year as reports write it, for patterns built around it
_YEAR = re.compile(YEAR)

# Units after a number, longest first so that 万平方米 wins over 米. A figure is checked
# with its unit: "6.8万元" is not grounded by "6.8%".
_UNIT_WORDS = (
    "平方公里",
    "平方千米",
    "平方米",
    "公里",
    "千米",
    "米",
    "公顷",
    "亩",
    "元",
    "美元",
    "港元",
    "%",
    "个百分点",
    "百分点",
    "倍",
    "家",
    "项",
    "个",
    "年",
    "月",
    "日",
    "号",
    "天",
    "小时",
    "分钟",
    "人次",
    "人",
    "名",
    "位",
    "户",
    "栋",
    "座",
    "所",
    "场",
    "条",
    "套",
    "宗",
    "辆",
    "间",
    "张",
    "次",
    "轮",
    "批",
    "类",
    "种",
    "件",
    "台",
    "处",
    "片",
    "大",
    "块",
    "支",
    "部",
    "届",
    "期",
    "层",
    "吨",
    "千瓦",
    "兆瓦",
    "标准箱",
    "岁",
    "床",
    "班",
    "艘",
    "架",
    "株",
    "棵",
    "km",
    "m",
)
_UNITS = sorted(_UNIT_WORDS, key=len, reverse=True)
SCALES = ("万亿", "亿", "万", "千", "百")
_FIGURE = re.compile(
    rf"(?<![\d.])({NUMBER.pattern})(?!\.?\d)({'|'.join(SCALES)})?"
    rf"({'|'.join(re.escape(u) for u in _UNITS)})?"
)
_UNIT_WINDOW = 8  # characters between a number and its unit in a passage ("6589个学位")

# List numbering the model adds ("1. ", "2、", "(3)") is layout, not a figure.
_ENUMERATOR = re.compile(
    r"(?:^|(?<=[\s:：;；,，。!！?？]))\d{1,2}(?:[.、)）](?!\d))|[(（]\d{1,2}[)）]"
)
_UNIT_WINDOW = 8  # characters between a number and its unit in a passage ("6589个学位")

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUMBER = re.compile(r"[零一二两三四五六七八九十百]{1,4}")
# A count the model may write in words: two or more (一 alone is too often not a count:
# "一个重要…"), before "大" ("五大行动") or a measure word.
_CN_COUNT = re.compile(
    r"(?<![零一二两三四五六七八九十百])(?!一(?![零一二两三四五六七八九十百]))"
    r"[零一二两三四五六七八九十百]{1,4}"
    r"(?=大|项|个|轮|家|条|所|座|场|批|类|种|件|次|届|名|位|户|栋|套|宗|处|片|年)"
)


@dataclass(frozen=True)
class Figure:
    text: str  # as checked, e.g. "2375.3亿元"
    number: str  # "2375.3"
    scale: str  # "亿", "万" or ""
    unit: str  # "元", "%", "家" or ""


def is_year(number: str) -> bool:
    return _YEAR.fullmatch(number) is not None


def numbers(text: str) -> list[str]:
    """The numbers written in digits in `text`, as written ("2375.3", "2020")."""
    return NUMBER.findall(text)


def figures(text: str) -> list[Figure]:
    """The figures in an answer: numbers with their magnitude and unit, citations and list
    numbering removed, normalized like the passages (NFKC, Simplified, no digit commas).
    A Chinese count before a measure word ("八大行动", "三轮") is a figure too."""
    text = for_match(_ENUMERATOR.sub(" ", CITE_MARKER.sub(" ", for_search(text))))
    text = _CN_COUNT.sub(lambda m: str(cn_to_int(m.group(0)) or m.group(0)), text)
    return [
        Figure(m.group(0), m.group(1), m.group(2) or "", m.group(3) or "")
        for m in _FIGURE.finditer(text)
    ]


def match_forms(passage: str) -> tuple[str, ...]:
    """A passage as figures are looked up in it: normalized, and again with small Chinese
    numerals written as digits ("三轮" -> "3轮") since a model may write either."""
    norm = for_match(passage)
    return (norm, _CN_NUMBER.sub(_arabic, norm))


def occurs(fig: Figure, passage_norm: str) -> bool:
    for m in re.finditer(rf"(?<![\d.]){re.escape(fig.number)}(?!\.?\d)", passage_norm):
        rest = passage_norm[m.end() :]
        scale = next((s for s in SCALES if rest.startswith(s)), "")
        # The magnitude must agree exactly (6.8万元 is not 6.8元); a figure given without a
        # unit ("2.2") is grounded by the bare number with any magnitude.
        if (fig.scale or fig.unit) and scale != fig.scale:
            continue
        rest = rest[len(scale) :]
        if not fig.unit or _unit_follows(fig.unit, rest):
            return True
    return False


def _unit_follows(unit: str, rest: str) -> bool:
    window = rest[: _UNIT_WINDOW + len(unit)]
    at = window.find(unit)
    return at >= 0 and not re.search(r"\d", window[:at])


def has_number(number: str, text: str) -> bool:
    """Whether `number` stands in `text` as a whole number (not inside 2020.5 or 12020)."""
    return bool(re.search(rf"(?<![\d.]){re.escape(number)}(?!\.?\d)", text))


def _arabic(m: re.Match[str]) -> str:
    value = cn_to_int(m.group(0))
    return str(value) if value is not None else m.group(0)


def cn_to_int(text: str) -> int | None:
    """Small Chinese numerals (up to 999): 三 -> 3, 十五 -> 15, 二十三 -> 23, 一百零五 -> 105."""
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


_VALUE = r"[\d一二三四五六七八九十百千万两]+(?:\.\d+)?\s*(?:多|余)?(?:万|亿)?"
_COUNTERS = "个项家所条栋座套名场支批类大种"


def states_value(unit: str, text: str) -> bool:
    """Whether `text` states a number in `unit` ("" : any number). Counters are
    interchangeable: "多少个" is answered by 九个, 十大 or 8项 alike."""
    counter = f"[{_COUNTERS}]" if unit and unit in _COUNTERS else re.escape(unit)
    return re.search(_VALUE + counter, text) is not None
