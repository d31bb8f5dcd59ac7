"""What a question asks: read once, used by every stage.

Retrieval, the evidence test, the prompt, the guard and the refusal all need to know the same
things about a question (is it English, does it ask a date or a count and in what unit, what
it quotes, which years and figures it names); they read them here, not each its own way.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property

from assistant.facts.lexicon import expand
from assistant.facts.match import Asked, ReportRef
from assistant.facts.model import Kind, Period, Status
from assistant.facts.periods import TimeContext, TimeMention, find_times
from assistant.facts.reader import HOME, named_subject
from assistant.figures import figures, is_year, numbers
from assistant.textnorm import for_match, for_search, is_traditional, words

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


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class BadQuestion(ValueError):
    """A question refused before any work, with a one-line message for the asker."""


def check_question(text: str, max_chars: int) -> str:
    """The question as it will be answered, or BadQuestion: longer than `max_chars` (a
    pasted page would hold an answer slot for minutes), or holding characters that are
    not text (bytes a terminal in another encoding passed on, as lone surrogates)."""
    if _LONE_SURROGATE.search(text):
        raise BadQuestion(
            "问题中有无法识别的字符（不是有效的 UTF-8 文本；请检查终端或文件的编码后重新输入）"
        )
    if len(text) > max_chars:
        raise BadQuestion(
            f"问题太长：{len(text):,} 字，上限 {max_chars:,} 字（answer.max_question_chars）；"
            "请只问一个问题，写短一些"
        )
    return text


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
    def asks_month(self) -> bool:
        return re.search(r"哪个月|哪一个月|几月|哪月", self.norm) is not None

    @cached_property
    def asks_day(self) -> bool:
        return re.search(r"哪天|哪一天|几号|几日|哪日", self.norm) is not None

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

    @cached_property
    def report(self) -> ReportRef | None:
        """A report the question names ("2021年政府工作报告中…", "八届六次全会…")."""
        return read_report(self.norm)

    @cached_property
    def asks_only_figures(self) -> bool:
        """Every part asks for a figure (no name, list or date beside them)."""
        parts = [p for p in _PART_END.split(self.norm) if re.search(r"[\u4e00-\u9fff]{2}", p)]
        other = [p for p in parts if not _FIGURE_ASK.search(p) and not _only_report(p)]
        return bool(self.asks) and not other and not self.asks_items

    @cached_property
    def subjects(self) -> tuple[str, ...]:
        """The districts (or bodies) the question asks of: each figure's, else the one it
        names, else the home district."""
        named = (a.subject for a in self.asks) if self.asks else [named_subject(self.norm, HOME)]
        return tuple(dict.fromkeys(s or HOME for s in named))

    @cached_property
    def asks(self) -> tuple[Asked, ...]:
        """For each part that asks for a figure, what it fixes about it; () for a question
        that asks for no figure (a name, a list, a date)."""
        return read_asks(self.norm, date.today().year)


def normalize(text: str) -> str:
    """A question's search form: NFKC, Simplified, the genre's abbreviations written out
    (社零 → 社会消费品零售总额)."""
    return expand(for_search(text))


def read_question(text: str, standalone: str | None = None) -> Question:
    """The question as asked; read from `standalone` when a follow-up was rewritten."""
    return Question(text, normalize(standalone or text))


# ------------------------------------------------------------------- figures asked for


_REPORT = re.compile(
    r"(?:(?P<year>(?:19|20)\d{2})\s*年\s*)?(?P<work>政府工作报告|工作报告)"
    r"|(?P<plenary>[一二三四五六七八九十]+届[一二三四五六七八九十]+次全会)"
    r"|《(?P<title>[^》]{2,40})》"
    r"|(?P<article>[\u4e00-\u9fff“”]{2,14})一文"
)
_FIGURE_ASK = re.compile(r"多少|(?<!哪)几(?![乎])|第几|百分之几")
_PART_END = re.compile(r"(?<=[?？])")
# Words of asking, not of the measure asked about.
# Words of asking, not of the measure asked about.
_ASK_WORDS = re.compile(
    r"是|为|有(?=多少|几)|共有|各|约|大约|分别|一共|总共|累计|吗|呢|[?？,，。:：;；()\s]|"
    r"提出|提到|据|按|称|报道|报告|一文|要|将|计划|目标|实际|预计|初步|控制在|控制|"
    r"达到了|达到|达|提高到了|提高到|提高至|提升到|增至|增长到|降到|降至|突破了|突破|超过|位列|排第|排名|"
    r"完成了|完成|实现了|实现|回顾|截至|截止|目前|当前|现在|已经|已|其中|又|了|使|从|由|(?<![应实])到|以上|以下|以内|"
    r"年均增长|增长|下降|增速|增幅|提高|减少|降低|年均|同期|同比"
)
_EDGE = re.compile(r"^(?:中|时|的|里|上|之|在|、)+|(?:中|时|的|里|上|之|是|在|、)+$")
# A verb before the 多少: the measure is the noun after it ("安排多少资金").
_VERB_ASK = re.compile(
    r"(?:安排|投入|筹集|引进|新增|新建|完成|建设|举办|开展|实施|办理|提供|出台|推出|认定|组建|培育|"
    r"打造|拆除|消减|帮扶|解决|选定|确定|授旗|收到)$"
)
_AFTER_UNIT = re.compile(
    r"^(?:亿元|万元|亿|万|元|个|项|家|所|条|栋|座|套|名|人次|人|场|公里|平方米|剂|倍|%|件|位|户|轮|"
    r"大|种|类|次|年|月|天|支|张|票|份|篇|本|辆|台|处|批|宗|间|块|部|届)"
)
_COUNT_ASK = re.compile(r"多少|几(?![乎])")
_NOUN_CUT = re.compile(
    r"多少|几|的|实施|开展|完成|建设|建成|落户|授旗|通过|成立|进驻|提出|用于|开工|获得"
)
_DISTRICT_WORD = re.compile(
    r"(?:罗湖区|罗湖|深圳市|深圳|全市|全区|(?:福田|南山|宝安|龙岗|龙华|坪山|光明|盐田|大鹏)区?)"
    r"(?=[\u4e00-\u9fff])"
)
_ACTUAL_ASK = re.compile(
    r"实际|已经|已|完成了|实现了|达到了|提高到了|增至|回顾|过去|截至|上年|去年"
)
_TARGET_WORDS = re.compile(
    r"目标|预期|力争|争取|确保|今后|未来|计划(?=[全新建投完实引筹开推举出提到于达年在要])|"
    r"(?:将|要)(?:达到|突破|超过|实现|建设|新增|控制|降到|降至|提高|提升|形成|完成|使|引进|筹集|"
    r"新改扩建|建成|打造|聚焦|实施|重点|做好|推动|推进)"
)
_CHANGE_ASK = re.compile(r"增长|增速|增幅|(?<![降])下降(?![到至])|降低|减少|年均增")
# A month named for an event ("2024年9月罗湖区委全会…") dates the event, not the figure.
_EVENT_DATE = re.compile(r"[^?？,，]{0,8}(?:全会|会议|大会|党代会|召开|印发|发布|报告)")
_RANK_ASK = re.compile(r"第几|排第|排名|位列|居第")
_SHARE_ASK = re.compile(r"比例|比重|占比|覆盖率|率是多少|百分之几|占[^?？]*多少")


def _split_asks(part: str) -> list[str]:
    """ "应到代表多少名、实到多少名?": one ask per 多少, at the mark between them."""
    asks = list(_COUNT_ASK.finditer(part))
    if len(asks) < 2:
        return [part]
    pieces, start = [], 0
    for prev, nxt in itertools.pairwise(asks):
        cut = max(part.rfind(mark, prev.end(), nxt.start()) for mark in "、,，")
        if cut < 0:
            return [part]
        pieces.append(part[start : cut + 1])
        start = cut + 1
    pieces.append(part[start:])
    return pieces


def _only_report(part: str) -> ReportRef | None:
    """A part that is only a report's name ("(2021年政府工作报告)")."""
    report = read_report(part)
    if report is None:
        return None
    rest = re.sub(r"[\W_]", "", part.replace(report.phrase, ""))
    return report if not rest else None


def read_report(norm: str) -> ReportRef | None:
    m = _REPORT.search(norm)
    if m is None:
        return None
    if m["work"]:
        return ReportRef(m.group(0), int(m["year"]) if m["year"] else None, "work_report")
    return ReportRef(m["plenary"] or m["title"] or m["article"])


def read_asks(norm: str, this_year: int) -> tuple[Asked, ...]:
    """One Asked per part that asks for a figure. A part takes the report it names, else the
    one an earlier part named, else one named after the questions ("…?(2021年政府工作报告)");
    and the time and place of the part before when it names none of its own."""
    parts = [q for p in _PART_END.split(norm) if p.strip() for q in _split_asks(p)]
    trailing = next((r for p in reversed(parts) if (r := _only_report(p))), None)
    current = trailing
    asks: list[Asked] = []
    previous: Asked | None = None
    for part in parts:
        own = read_report(part)
        current = own or current
        if own is None and current is not None and current.year is not None:
            years = {int(y) for y in re.findall(r"((?:19|20)\d{2})\s*年", part)}
            if years and current.year not in years and max(years) > current.year:
                current = None  # "…2024年的行动方案又提出…": another source than the report
        if not _FIGURE_ASK.search(part):
            continue
        ask = _read_part(part, current, this_year)
        if previous is not None and own is None:
            ask = replace(
                ask,
                metric=_elliptic_metric(part, ask.metric, previous.metric),
                period=ask.period or previous.period,
                until=ask.until if ask.period else previous.until,
                subject=ask.subject or previous.subject,
                status=ask.status or previous.status,
            )
        asks.append(ask)
        previous = ask
    return tuple(asks)


def _elliptic_metric(part: str, metric: str, previous: str) -> str:
    """ "应到代表多少名、实到多少名": a later ask that names only its verb shares the noun of
    the ask before (实到代表); one that names nothing asks for the same measure."""
    if not metric:
        return previous
    if not previous or metric in previous or _names_noun(part):
        return metric
    mine, theirs = words(metric), words(previous)
    return metric + theirs[-1] if len(mine) == 1 and len(theirs) > 1 else metric


def _names_noun(part: str) -> bool:
    """Whether anything but a unit follows the last 多少 or 几."""
    asks = list(_COUNT_ASK.finditer(part))
    rest = part[asks[-1].end() :] if asks else part
    unit = _AFTER_UNIT.match(rest)
    return re.search(r"[\u4e00-\u9fff]", rest[unit.end() :] if unit else rest) is not None


def _read_part(part: str, report: ReportRef | None, this_year: int) -> Asked:
    text = part.replace(report.phrase, " ") if report else part
    if report is not None and report.year is not None:
        review_end = report.year - 1 if report.kind == "work_report" else report.year
        ctx = TimeContext(report.year, None, review_end)
        now = report.year
    else:
        ctx = TimeContext(this_year, None, this_year)
        now = None  # "过去五年" with no report named: not fixed
    found = find_times(text, ctx)
    # 连续两年 describes the figure, not when; 2月6日…以来 runs to a date the question leaves open
    times = [
        t
        for t in found
        if not t.base and not _event_date(text, t) and t.name not in ("running", "since_day")
    ]
    if now is None:
        times = [t for t in times if re.search(r"\d{4}|十[二三四五]五", text[t.start : t.end])]
    period = times[-1].period if times else None
    until = bool(times) and (times[-1].target_year or text[: times[-1].start].endswith("截至"))
    kind = _asked_kind(text)
    if period is not None and kind == "change" and re.search(r"(?:从|由)\s*\d{4}", text):
        period = Period.years(period.first_year + 1, period.last_year)  # growth from 2015 to 2020
    status: Status | None = None
    to_year = any(t.target_year and t.period.last_year >= (now or this_year) for t in times)
    if _TARGET_WORDS.search(text) or to_year:
        status = "target"
    elif _ACTUAL_ASK.search(text):
        status = "actual"
    units = [m.group(1) or "" for m in _ASKED_UNIT.finditer(text)]
    metric = _asked_metric(text, found)
    subject = named_subject(text, HOME)
    given = frozenset(numbers(for_match(text))) | {f.number for f in figures(text)}
    unit = units[0] if units else ""
    return Asked(part, metric, period, subject, status, kind, unit, report, until, given)


def _event_date(text: str, t: TimeMention) -> bool:
    return t.period.start == t.period.end and _EVENT_DATE.match(text, t.end) is not None


def _asked_kind(text: str) -> Kind | None:
    if _RANK_ASK.search(text):
        return "rank"
    if _SHARE_ASK.search(text):
        return "share"
    if _CHANGE_ASK.search(text):
        return "change"
    return None


def _asked_metric(text: str, times: list) -> str:  # type: ignore[type-arg]
    """The measure asked about: the noun a count asks for ("为多少支招商先锋队授旗"), else
    the words before the 多少 ("罗湖固定资产投资累计完成多少")."""
    for t in sorted(times, key=lambda t: -t.start):
        text = text[: t.start] + " " + text[t.end :]
    text = _DISTRICT_WORD.sub(" ", text)
    text = re.sub(r"[“”\"「」『』《》()（）]", "", text)
    ask = _COUNT_ASK.search(text) or re.search(r"第几|百分之几", text)
    if ask is None:
        return ""
    rest = text[ask.end() :]
    unit = _AFTER_UNIT.match(rest)
    after = rest[unit.end() :] if unit else rest
    noun = re.match(r"^([\u4e00-\u9fff][\u4e00-\u9fff、]{1,13})", after)
    noun_text = _EDGE.sub("", _NOUN_CUT.split(noun.group(1))[0]) if noun else ""
    before = text[: ask.start()]
    pieces = [_EDGE.sub("", p) for p in _ASK_WORDS.split(before)]
    pieces = [p for p in pieces if len(p) >= 2]
    if len(noun_text) >= 2 and _VERB_ASK.search(before.strip()):
        # "补齐民生短板投入多少资金": the noun with the words that qualify it
        return (pieces[-1] if pieces else "") + noun_text
    if len(noun_text) >= 2 and unit:
        return _generic(noun_text)
    return _generic(pieces[-1] if pieces else noun_text)


_GENERIC_TAIL = re.compile(r"(?<=[\u4e00-\u9fff]{2})(?:事项|工作|情况|数量|总数|总量)$")


def _generic(metric: str) -> str:
    """“秒批”事项 asks for the 秒批: words that end many a name are not the measure; a
    figure the question gives (400多条改革措施…完成多少条) is not part of it either."""
    return _GENERIC_TAIL.sub("", _GIVEN_COUNT.sub("", metric))


_GIVEN_COUNT = re.compile(r"^[\d.]+[多余]?(?=[\u4e00-\u9fff])" + _AFTER_UNIT.pattern[1:])
