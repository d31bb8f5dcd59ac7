"""Figure mentions in a sentence of a report (its Simplified search form): numbers in digits
or in words, with magnitude and unit, percentages, ranges, counts (八大, 三轮) and ranks
(第15位, 居全市第二). Years, dates, list numbering, plan names and numbers inside names
(5G, 14号线, “1+6+N”) are not figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGITS = r"\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?"
_CN = "零一二两三四五六七八九十百千"
_CN_NUM = rf"[{_CN}]+"
_SCALE = r"万亿|千万|百万|亿|万"
# Longest first, so that 万平方米 is 万 + 平方米 and 个百分点 wins over 个.
_UNIT_WORDS = sorted(
    """平方公里 平方千米 平方米 立方米 微克/立方米 公里 千米 米 公顷 亩 元/平方米 美元 港元 元
    个百分点 百分点 % 倍 成 家 项 个月 个 人次 人 名 位 户 栋 座 所 场次 场 条 套 宗 辆 间 张 次 轮
    批 类 种 件 台 处 片 大类 大 块 支 部 届 期 层 吨 枚 千瓦 兆瓦 标准箱 岁 床 班 艘 架 株 棵 剂 票
    小时 分钟 天 周年 年 级 公斤 万元""".split(),
    key=len,
    reverse=True,
)
_UNIT = "|".join(re.escape(u) for u in _UNIT_WORDS)
# What a count in words counts: a measure word or 大 (八大措施).
_COUNTERS = "|".join(
    "大类 大 个 项 轮 家 条 所 座 场 批 类 种 件 次 届 名 位 户 "
    "栋 套 宗 处 片 年 天 级 支 成 倍 周年".split()
)
_APPROX = r"(?:多|余)?"

_RANGE_SEP = r"\s*(?:-|—|–|~|至|到)\s*"
_FIGURE = re.compile(
    rf"(?P<num>{_DIGITS})(?:{_RANGE_SEP}(?P<hi>{_DIGITS}))?\s*{_APPROX}"
    rf"(?P<scale>{_SCALE})?{_APPROX}(?P<unit>{_UNIT})?"
)
_PERCENT_WORDS = re.compile(rf"百分之(?P<num>{_DIGITS}|{_CN_NUM})")
_RANK = re.compile(rf"第\s*(?P<num>{_DIGITS}|[{_CN}]+)\s*(?P<unit>位|名)?")
_CN_COUNT = re.compile(
    rf"(?P<num>[{_CN}]+?)(?:{_RANGE_SEP}(?P<hi>[{_CN}]+?))?(?P<unit>{_COUNTERS})"
)
# After a rank's numeral: a rank ends there (居全市第二,), or names its place (第15位);
# 第一批, 第一时间, 第八届 are not ranks.
_RANK_END = re.compile(r"(?:位|名)|(?=[,.;:!?、。，；：！？)）\s]|$)")
_YEAR_WORD = re.compile(r"^(?:19|20)\d{2}$")
_TIME_BEFORE = re.compile(r"(?:过去|未来|今后|近|前|这|那|每)$")
_TIME_AFTER = re.compile(r"^(?:来|内|间|中|前|后|以来)")
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}


@dataclass(frozen=True)
class Mention:
    start: int  # offsets in the sentence
    end: int
    text: str
    value: float
    unit: str  # magnitude and unit as written: 亿元, 万平方米, %, 大, 位 ("" for a bare rank)
    value_hi: float | None = None
    rank: bool = False


def cn_value(text: str) -> float | None:
    """Chinese numerals to a number: 三 3, 十五 15, 二十三 23, 一百零五 105, 两千 2000."""
    total, section, current = 0, 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch in "十百千":
            section += (current or 1) * {"十": 10, "百": 100, "千": 1000}[ch]
            current = 0
        else:
            return None
    return float(total + section + current)


def number_value(text: str) -> float | None:
    text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        return cn_value(text)


def find_mentions(sentence: str) -> list[Mention]:
    """The figure mentions of one sentence (search form), in order, never overlapping."""
    found: list[Mention] = []
    taken = [False] * (len(sentence) + 1)

    def add(m: Mention) -> None:
        if m.end > m.start and not any(taken[m.start : m.end]):
            found.append(m)
            for i in range(m.start, m.end):
                taken[i] = True

    for m in _RANK.finditer(sentence):
        rank = _rank(sentence, m)
        if rank:
            add(rank)
    for m in _PERCENT_WORDS.finditer(sentence):
        value = number_value(m["num"])
        if value is not None:
            add(Mention(m.start(), m.end(), m.group(), value, "%"))
    for m in _FIGURE.finditer(sentence):
        figure = _figure(sentence, m)
        if figure:
            add(figure)
    for m in _CN_COUNT.finditer(sentence):
        count = _count(sentence, m)
        if count:
            add(count)
    return sorted(found, key=lambda x: x.start)


def _rank(sentence: str, m: re.Match[str]) -> Mention | None:
    end = _RANK_END.match(sentence, m.end("num"))
    if end is None:
        return None
    value = number_value(m["num"])
    if value is None or value > 1000:
        return None
    stop = end.end() if end.group() else m.end("num")
    return Mention(m.start(), stop, sentence[m.start() : stop], value, end.group(), rank=True)


def _figure(sentence: str, m: re.Match[str]) -> Mention | None:
    num, unit, scale = m["num"], m["unit"] or "", m["scale"] or ""
    before = sentence[max(0, m.start() - 1) : m.start()]
    after = sentence[m.end() : m.end() + 1]
    # Inside a name or a code: 5G, PM2.5, V类, 14号线, “1+6+N”, 12345热线, 2.0版.
    if re.match(r"[A-Za-z.\-/]", before) or re.match(r"[A-Za-z+号版]", after):
        return None
    if not unit and not scale:
        return None  # a bare number: a code, a name or a list item, not a figure
    if unit == "年" and _YEAR_WORD.match(num.replace(",", "")):
        return None  # a year says when
    if unit in ("年", "个月") and m["hi"] and _YEAR_WORD.match(m["hi"]):
        return None
    if re.match(r"[月日号]", after) and not scale:
        return None
    value = number_value(num)
    if value is None:
        return None
    hi = number_value(m["hi"]) if m["hi"] else None
    end = m.end()
    return Mention(m.start(), end, sentence[m.start() : end], value, scale + unit, hi)


def _count(sentence: str, m: re.Match[str]) -> Mention | None:
    num, unit = m["num"], m["unit"]
    start = m.start()
    before = sentence[:start]
    if before.endswith("第") or before.endswith(("星期", "周")):
        return None
    # 一 alone is mostly an article (一个重要…, 一批, 一流); 十四五 and the like are names.
    if num == "一" or (num.startswith("一") and len(num) == 1):
        return None
    if before and before[-1] in _CN:
        return None  # part of a longer numeral run such as 十四五 or 百千万
    after = sentence[m.end() :]
    if unit == "年" and (_TIME_BEFORE.search(before) or _TIME_AFTER.match(after)):
        return None  # 过去五年, 五年来: a period, not a figure
    if after[:1] and after[0] in _CN and unit in ("大", "个"):
        # 四个千亿, 十个一: the count is part of a name of numbers
        return None
    value = cn_value(num)
    if value is None or value == 0:
        return None
    hi = cn_value(m["hi"]) if m["hi"] else None
    return Mention(start, m.end(), m.group(), value, unit, hi)
