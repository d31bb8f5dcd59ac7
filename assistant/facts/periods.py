"""Time in report text: the expressions that say when (2023年, 2023年上半年, 一季度, 1-5月,
去年, 过去五年, 十四五, 到2025年), resolved to absolute periods with what the text is about."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.facts.model import Period

_CN_NUMERAL = {c: i for i, c in enumerate("零一二三四五六七八九十")} | {"两": 2}
_QUARTER = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_PLANS = {"十二五": (2011, 2015), "十三五": (2016, 2020), "十四五": (2021, 2025)}
_PLANS |= {"十五五": (2026, 2030)}

Y = r"((?:19|20)\d{2})"
_BASE_BEFORE = re.compile(r"(?:(?<![占同])比|较|高于|低于|快于|慢于|恢复至|恢复到|相当于)$")
_EXPRESSIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("span", rf"{Y}\s*年?\s*(?:-|—|–|~|至|到)\s*{Y}\s*年"),
        # 2月6日…以来: from that day's month to the end of what the text reports on
        (
            "since_day",
            rf"(?:{Y}\s*年)?\s*(\d{{1,2}})\s*月\s*\d{{1,2}}\s*[日号](?=[^,，。；;]{{0,24}}?以来)",
        ),
        # 连续四年: the years up to the one the text reports on; the count is a figure too
        ("running", r"连续\s*([一二两三四五六七八九十\d]+)\s*年(?![度底末])"),
        ("since", rf"{Y}\s*年以来"),
        ("half", rf"(?:{Y}\s*年)?\s*(上|下)半年"),
        ("months", rf"(?:{Y}\s*年)?\s*(\d{{1,2}})\s*(?:-|—|–|~|至)\s*(\d{{1,2}})\s*月"),
        ("first_quarters", rf"(?:{Y}\s*年)?\s*前([一二三])季度"),
        ("quarter", rf"(?:{Y}\s*年)?\s*(?:第)?([一二三四1-4])\s*季度"),
        ("month", rf"(?:{Y}\s*年)?\s*(\d{{1,2}})\s*月(?:末|底|份|当月)?(?![\d日号])"),
        # 到2025年 is a year to reach; 增至2020年的2375亿元 is where a figure went
        ("target", rf"(?<![增降升涨减长])(?:到|至)\s*{Y}\s*年"),
        ("year", rf"{Y}\s*年(?!均|度\w*报告)"),
        ("plan", r"“?(十[二三四五]五)”?(?:期间|时期|规划)?"),
        (
            "past",
            r"(?:过去|近|前)([一二两三四五六七八九十\d]+)年|([一二两三四五六七八九十\d]+)年来",
        ),
        ("future", r"(?:未来|今后|接下来)([一二两三四五六七八九十\d]+)年"),
        ("relative", r"今年|本年|明年|去年|上年|上一年|前年|过去一年|一年来"),
        ("whole_year", r"全年|当年"),
    )
)


@dataclass(frozen=True)
class TimeContext:
    """What a piece of text is about when it says no time: the document's date and the
    period of the part it stands in."""

    year: int | None  # of the document's date
    reference: Period | None  # what this part of the document reports on
    review_end: int | None  # the last year a review looks back on (过去五年 ends there)


@dataclass(frozen=True)
class TimeMention:
    start: int
    end: int
    period: Period
    target_year: bool = False  # "到2025年": a year to reach
    base: bool = False  # the base of a comparison (比一季度, 比上年末, 2019年同期): not the when
    name: str = ""  # which expression: year, half, running (连续四年), since_day ...

    @property
    def figure(self) -> bool:
        """Its number is also a figure ("连续四年": a count of years)."""
        return self.name == "running"


def _count(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if len(text) == 1:
        return _CN_NUMERAL.get(text)
    if text.startswith("十"):
        return 10 + (_CN_NUMERAL.get(text[1:], 0) if len(text) > 1 else 0)
    return None


def find_times(text: str, ctx: TimeContext) -> list[TimeMention]:
    """The time expressions of `text`, in order, not overlapping."""
    found: list[TimeMention] = []
    taken = [False] * (len(text) + 1)
    for name, pattern in _EXPRESSIONS:
        for m in pattern.finditer(text):
            if any(taken[m.start() : m.end()]):
                continue
            period = _resolve(name, m, ctx, found)
            if period is None:
                continue
            base = (
                bool(_BASE_BEFORE.search(text[: m.start()]))
                or text.startswith("同期", m.end())
                or (text[: m.start()].endswith(("是", "为")) and text.startswith("的", m.end()))
            )
            # 恢复至2019年同期的71.3%: a year reached back to is a base, not a year to reach
            target = name == "target" and not base
            found.append(TimeMention(m.start(), m.end(), period, target, base, name))
            for i in range(m.start(), m.end()):
                taken[i] = True
    return sorted(found, key=lambda t: t.start)


def _year_or(m: re.Match[str], group: int, ctx: TimeContext) -> int | None:
    if m.group(group):
        return int(m.group(group))
    if ctx.reference is not None:
        return ctx.reference.last_year
    return ctx.year


def _resolve(
    name: str, m: re.Match[str], ctx: TimeContext, earlier: list[TimeMention]
) -> Period | None:
    if name == "span":
        return Period.years(int(m.group(1)), int(m.group(2)))
    if name == "since_day":
        year, month = _year_or(m, 1, ctx), int(m.group(2))
        if year is None or not 1 <= month <= 12:
            return None
        ref = ctx.reference
        end = ref.end if ref is not None and ref.end >= (year, month) else (year, 12)
        return Period((year, month), end)
    if name == "running":
        n = _count(m.group(1))
        end = ctx.reference.last_year if ctx.reference is not None else ctx.year
        if n is None or end is None or not 1 < n <= 50:
            return None
        return Period.years(end - n + 1, end)
    if name == "since":
        end = ctx.review_end or ctx.year or int(m.group(1))
        return Period.years(int(m.group(1)), max(end, int(m.group(1))))
    if name in ("year", "target"):
        return Period.year(int(m.group(1)))
    if name == "half":
        year = _year_or(m, 1, ctx)
        return (
            None
            if year is None
            else Period.months(year, *((1, 6) if m.group(2) == "上" else (7, 12)))
        )
    if name == "quarter":
        year = _year_or(m, 1, ctx)
        q = _QUARTER[m.group(2)]
        return None if year is None else Period.months(year, 3 * q - 2, 3 * q)
    if name == "months":
        year = _year_or(m, 1, ctx)
        first, last = int(m.group(2)), int(m.group(3))
        if year is None or not 1 <= first <= last <= 12:
            return None
        return Period.months(year, first, last)
    if name == "first_quarters":
        year = _year_or(m, 1, ctx)
        return None if year is None else Period.months(year, 1, 3 * _QUARTER[m.group(2)])
    if name == "month":
        year = _year_or(m, 1, ctx)
        month = int(m.group(2))
        return None if year is None or not 1 <= month <= 12 else Period.months(year, month, month)
    if name == "plan":
        first, last = _PLANS[m.group(1)]
        return Period.years(first, last)
    if name == "past":
        n = _count(m.group(1) or m.group(2))
        end = ctx.review_end or ctx.year
        if n is None or end is None:
            return None
        return Period.years(end - n + 1, end)
    if name == "future":
        n = _count(m.group(1))
        if n is None or ctx.year is None:
            return None
        return Period.years(ctx.year, ctx.year + n - 1)
    if name == "whole_year":  # the year the text reports on
        year = ctx.reference.last_year if ctx.reference is not None else ctx.year
        return None if year is None else Period.year(year)
    return _relative(m.group(0), ctx)


def _relative(word: str, ctx: TimeContext) -> Period | None:
    if ctx.year is None:
        return None
    if word in ("过去一年", "一年来"):
        return Period.year(ctx.review_end or ctx.year - 1)
    offset = {"今年": 0, "本年": 0, "明年": 1, "去年": -1, "上年": -1, "上一年": -1, "前年": -2}
    return Period.year(ctx.year + offset[word])
