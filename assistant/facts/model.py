"""The data of facts: a period of time, and a figure's record."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["actual", "target"]
Kind = Literal["level", "change", "share", "rank"]

_HALVES = {(1, 6): "H1", (7, 12): "H2"}
_QUARTERS = {(1, 3): "Q1", (4, 6): "Q2", (7, 9): "Q3", (10, 12): "Q4"}


@dataclass(frozen=True, order=True)
class Period:
    """A span of whole months, [start, end] inclusive, as (year, month)."""

    start: tuple[int, int]
    end: tuple[int, int]

    @classmethod
    def year(cls, year: int) -> Period:
        return cls((year, 1), (year, 12))

    @classmethod
    def years(cls, first: int, last: int) -> Period:
        return cls((min(first, last), 1), (max(first, last), 12))

    @classmethod
    def months(cls, year: int, first: int, last: int) -> Period:
        return cls((year, first), (year, last))

    @property
    def first_year(self) -> int:
        return self.start[0]

    @property
    def last_year(self) -> int:
        return self.end[0]

    @property
    def whole_years(self) -> bool:
        return self.start[1] == 1 and self.end[1] == 12

    @property
    def label(self) -> str:
        """2023, 2016-2020, 2023H1, 2024Q1, 2023-05, 2023-01~2023-05."""
        (y1, m1), (y2, m2) = self.start, self.end
        if self.whole_years:
            return str(y1) if y1 == y2 else f"{y1}-{y2}"
        if y1 == y2:
            part = _HALVES.get((m1, m2)) or _QUARTERS.get((m1, m2))
            if part:
                return f"{y1}{part}"
            if m1 == m2:
                return f"{y1}-{m1:02d}"
        return f"{y1}-{m1:02d}~{y2}-{m2:02d}"

    def zh(self) -> str:
        """The period in words, for answers and refusals: 2023年上半年, 2016—2020年."""
        (y1, m1), (y2, m2) = self.start, self.end
        if self.whole_years:
            return f"{y1}年" if y1 == y2 else f"{y1}—{y2}年"
        if y1 == y2:
            words = {"H1": "上半年", "H2": "下半年", "Q1": "一季度", "Q2": "二季度"}
            words |= {"Q3": "三季度", "Q4": "四季度"}
            part = _HALVES.get((m1, m2)) or _QUARTERS.get((m1, m2))
            if part:
                return f"{y1}年{words[part]}"
            return f"{y1}年{m1}月" if m1 == m2 else f"{y1}年{m1}—{m2}月"
        return f"{y1}年{m1}月—{y2}年{m2}月"

    def __str__(self) -> str:
        return self.label


_LABEL = re.compile(
    r"^(?:(?P<y>\d{4})(?:-(?P<y2>\d{4}))?"
    r"|(?P<hy>\d{4})(?P<part>H[12]|Q[1-4])"
    r"|(?P<my>\d{4})-(?P<m>\d{2})(?:~(?P<my2>\d{4})-(?P<m2>\d{2}))?)$"
)


def parse_period(label: str) -> Period | None:
    """The inverse of `Period.label`; None for "" or a malformed label."""
    m = _LABEL.match(label.strip())
    if not m:
        return None
    if m["y"]:
        return Period.years(int(m["y"]), int(m["y2"] or m["y"]))
    if m["hy"]:
        year, part = int(m["hy"]), m["part"]
        spans = {v: k for k, v in {**_HALVES, **_QUARTERS}.items()}
        first, last = spans[part]
        return Period.months(year, first, last)
    y, mo = int(m["my"]), int(m["m"])
    if m["my2"]:
        return Period((y, mo), (int(m["my2"]), int(m["m2"])))
    return Period.months(y, mo, mo)


@dataclass
class Fact:
    """One figure mention of a report, read: what it measures, for whom, when, how."""

    value: float
    unit: str  # with its magnitude, Simplified: 亿元, 万平方米, %, 个, 大, 位 ...
    metric: str  # what it quantifies: 社会消费品零售总额, 新增学位, 建议
    subject: str  # whom it is about: 罗湖区, 深圳市, 光明区, a project
    period: Period | None
    status: Status
    kind: Kind
    mention: str  # the figure as written in the search form ("1391.75亿元", "八大")
    value_hi: float | None = None  # the top of a range (3至5个)
    # Where: the chunk, the sentence's offsets in the document, the mention's offsets in
    # the sentence's search form, and the clause that states it (original script).
    chunk_id: str = ""
    doc_id: str = ""
    start: int = 0
    end: int = 0
    at: tuple[int, int] = (0, 0)
    clause: str = ""
    context: str = ""  # the sentence up to the figure, search form, at most 40 characters
    tags: list[str] = field(default_factory=list)  # e.g. "planted": text addressed to a model

    @property
    def base(self) -> tuple[float, str]:
        """The value in the unit's base (亿元 → 元 ×1e8; 万套 → 套 ×1e4): how two figures are
        compared whatever magnitude they were written in."""
        return to_base(self.value, self.unit)


SCALES: dict[str, float] = {"万亿": 1e12, "亿": 1e8, "千万": 1e7, "百万": 1e6, "万": 1e4}


def to_base(value: float, unit: str) -> tuple[float, str]:
    for word, factor in SCALES.items():
        if unit.startswith(word) and len(unit) > len(word):
            return value * factor, unit[len(word) :]
        if unit == word:
            return value * factor, ""
    return value, unit
