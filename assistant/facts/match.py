"""Whether a fact is the one a question asks for: its metric, period, subject and status."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.facts.model import Fact, Kind, Period, Status, to_base
from assistant.textnorm import for_match

_NOISE = re.compile(r"[“”\"「」『』()（）《》、·\s的]")


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


# ------------------------------------------------------------------- a question's asks


@dataclass(frozen=True)
class ReportRef:
    """A report a question names: by year and kind, or by a phrase of its title."""

    phrase: str  # as in the question
    year: int | None = None
    kind: str | None = None  # work_report when it says 政府工作报告


@dataclass(frozen=True)
class Asked:
    """What one part of a question fixes about the figure it asks for (None: not fixed)."""

    text: str  # the part of the question, search form
    metric: str
    period: Period | None = None
    subject: str | None = None  # None: the home district is meant
    status: Status | None = None
    kind: Kind | None = None
    unit: str = ""  # the asked unit: 亿元, 个, % ("" when none is named)
    report: ReportRef | None = None  # the report it names, or the question does
    # The period is a year reached (到2025年, 截至2019年): what holds by then, a level or a
    # total over the years up to it.
    until: bool = False
    given: frozenset[str] = frozenset()  # numbers the question itself gives


_MONEY = ("元", "亿元", "万元", "亿", "万")
# Subjects that are not the home district nor one of its parts: another district, the
# city, the province, the country, Hong Kong.
_OTHER_PLACE = re.compile(r"^(?:[\u4e00-\u9fff]{2}(?:区|新区|合作区)|深圳市|广东省|全国|香港)$")


def _within_home(subject: str) -> bool:
    """A project, a named service, an area, a port or a place the district aids is within
    what a question about the district asks (罗湖…“罗湖政府在线”连续几年); another
    district, the city or a street of its own is not."""
    return not _OTHER_PLACE.match(subject) and not subject.endswith("街道")


def metric_match(asked: Asked, fact: Fact) -> float:
    """How surely `fact` measures what `asked` asks, 0..1: the names must be related (the
    same, one an abbreviation or part of the other, or ending in the same word: 议案 is not
    建议), and the words of the asked name must stand in the fact's clause (北站的总投资 is not
    the 总投资 of other projects). Returns the share of the asked name's character pairs
    that the fact's name and clause hold."""
    a, f = _norm(asked.metric), _norm(fact.metric)
    if not a or not f:
        return 0.0
    short, long = sorted((a, f), key=len)
    related = (
        a == f
        or (len(short) >= 2 and (short in long or is_subsequence(short, long)))
        or f[-2:] in a
        or a[-2:] in f
    )
    if not related:
        return 0.0
    pairs = _bigrams(a)
    if not pairs:
        return 1.0
    context = _bigrams(_norm(fact.metric + fact.context + fact.clause))
    return len(pairs & context) / len(pairs)


_COUNTERS = frozenset("个项家所条栋座套名场支批类大种件位户轮次届宗处片")


def unit_fits(asked: Asked, fact: Fact) -> bool:
    """The asked unit: money is money in any magnitude, a share a percentage, a count any
    measure word (多少个 is answered by 九项), anything else its own unit."""
    if not asked.unit:
        return True
    base = to_base(0.0, fact.unit)[1]
    if asked.unit in _MONEY:
        return base == "元"
    if asked.unit == "%":
        return fact.unit in ("%", "成", "个百分点")
    if asked.unit in _COUNTERS:
        return base in _COUNTERS or base.endswith(tuple(_COUNTERS))
    return base == to_base(0.0, asked.unit)[1]


def periods_meet(asked: Asked, fact: Fact) -> bool:
    """The same period; or, for a year reached (到2025年), any period ending then; or, for
    the years of a span asked (过去五年), the level reached at its end."""
    want, have = asked.period, fact.period
    if want is None:
        return True
    if have is None:
        return False
    if want == have:
        return True
    if asked.until and want.whole_years and have.last_year == want.last_year:
        return have.end[1] == 12
    span = want.whole_years and want.first_year < want.last_year
    return span and fact.kind != "change" and have == Period.year(want.last_year)


def failed_slot(asked: Asked, fact: Fact, home: str) -> str | None:
    """The first slot the fact contradicts ("period", "subject", "status", "kind", "unit"),
    None when it is the asked figure."""
    return next(iter(failed_slots(asked, fact, home)), None)


def failed_slots(asked: Asked, fact: Fact, home: str) -> tuple[str, ...]:
    """Every slot the fact contradicts, in the order of failed_slot."""
    slots: list[str] = []
    if asked.period is not None and not periods_meet(asked, fact):
        slots.append("period")
    if asked.subject is not None:
        if fact.subject != asked.subject and not (
            asked.subject == home and _within_home(fact.subject)
        ):
            slots.append("subject")
    elif fact.subject != home and _OTHER_PLACE.match(fact.subject):
        slots.append("subject")
    if asked.status is not None and fact.status != asked.status:
        slots.append("status")
    if asked.kind is not None and fact.kind != asked.kind:
        slots.append("kind")
    if not unit_fits(asked, fact):
        slots.append("unit")
    return tuple(slots)
