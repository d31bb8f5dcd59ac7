"""Reading a report sentence's figures as facts: for each figure mention, the metric it
quantifies, its subject, its period, its status and its kind.

The rules are written for the genre, Chinese government reports, which are formulaic: a
figure follows the phrase it quantifies ("社会消费品零售总额1391.75亿元"), a change follows
its level ("增长10.4%"), a target is announced (目标, 力争, 到2025年, 将), a subject is named
before what it did ("光明区…"), a scope after 居/位列 is not a subject ("居全市第二").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.facts.mentions import Mention, find_mentions
from assistant.facts.model import Fact, Kind, Period, Status, to_base
from assistant.facts.periods import TimeContext, TimeMention, find_times

# -- subjects ---------------------------------------------------------------------------

_DISTRICTS = "罗湖|福田|南山|宝安|龙岗|龙华|坪山|光明|盐田|大鹏|前海|深汕"
_FIGURE_NEXT = r"(?=\d)"  # not a numeral in words: 挂牌市三级 is a grade, not a place
_ENTITY = re.compile(
    rf"(?P<district>(?:{_DISTRICTS})(?:区|新区|合作区)?)"
    r"|(?P<city>深圳市|深圳|全市|我市)"
    r"|(?P<province>广东省|广东|全省)"
    r"|(?P<nation>全国|国家|新中国)"
    r"|(?P<hk>香港)"
    # a place or a port a figure stands right after owns it (陆丰市26个贫困村, 莲塘口岸24小时)
    rf"|(?P<place>(?:(?![全我本各该城都超上股夜花于在])[\u4e00-\u9fff]){{2}}(?:市|县){_FIGURE_NEXT}"
    rf"|(?:(?<![\u4e00-\u9fff])[\u4e00-\u9fff]{{3}}|[\u4e00-\u9fff]{{2}})口岸{_FIGURE_NEXT})"
    r"|(?P<street>(?:(?![多少几个每各全该本]|实现|覆盖|深入|下沉|延伸|进入|走进)"
    r"[\u4e00-\u9fff]){2,3}街道)"
    # an area that opens a sentence is what it tells of (清水河片区实现集中供地…)
    r"|(?P<area>^[\u4e00-\u9fff]{2,6}(?:-[\u4e00-\u9fff]{2,6})?片区)"
    r"|(?P<own>全区|我区|本区)"
)
# An entity after these words is the scope of a comparison or a ranking, not the subject:
# 居全市第二, 高于全市2.8个百分点, 在全市率先, 是全市的2.2倍.
_OBJECT_BEFORE = re.compile(
    r"(?:对接|落实|贯彻|服务|帮扶|对口|融入|联通|携手|支持|引进|吸引|辐射|面向|深港|粤港澳|"
    r"视察|亲临|出席)$"
)
_SCOPE_BEFORE = re.compile(
    r"(?:居|位列|位居|排名|排|列|占|高于|低于|快于|慢于|比|较|是|为|在|超过|领先|全)$"
)

# -- status -----------------------------------------------------------------------------

# A target is announced: strongly (目标是, 力争, 到2025年…) or by a future verb (将聚焦, 要加快);
# 将 is also 把 (将全区…), 计划 also a noun (更新计划), so those count only before a verb.
# 要求 and 目标 are mostly nouns of set phrases that announce nothing (总要求, 奋斗目标,
# 目标导向); a target is announced by 目标是 / 预期目标 / 力争 ...
_STRONG_TARGET = re.compile(
    r"(?<!奋斗)目标(?!导向)|预期|力争|争取|争当|争创|确保|力求|"
    r"计划(?=[全新建投完实引筹开推举出提到于达年在])"
)
_FUTURE_VERB = (
    r"全面|全力|持续|继续|进一步|加快|加大|聚焦|重点|着力|坚持|围绕|推动|推进|实施|建设|"
    r"打造|开展|深化|力争|努力|大力|不断|逐步|完成|新增|建成|实现|达到|形成|出台|启动|举办|"
    r"召开|引进|筹集|提供|培育|支持|建立|构建|投入|确保|争取"
)
_WEAK_TARGET = re.compile(rf"(?:将|要|拟)(?:{_FUTURE_VERB}|于|在(?!建))|预计|努力")
_ACTUAL = re.compile(r"已|完成了|实现了|取得|达成|累计完成|共完成")

# -- kind -------------------------------------------------------------------------------

_CHANGE_BEFORE = re.compile(
    r"(?:增长|下降|增加|减少|提高|提升|降低|上升|增速|增幅|回落|加快|放缓|扩大|缩小|年均增长|同比增长|同比下降|同口径增长|增)(?:了)?(?:约|近|超过|超|逾)?$"
)
_CHANGE_UNITS = ("%", "个百分点", "百分点", "倍", "成")
_COMPARED_BY = re.compile(r"(?<!同)比[^,，；;]{1,12}?(?:增加|减少|增长|下降|多|少)(?:了)?$")
_SHARE_WORDS = re.compile(r"比例|占比|比重|率|覆盖|占|份额")

# -- metric -----------------------------------------------------------------------------

_CLAUSE_MARK = "，,；;：:。！？!?"
_LEAD = re.compile(
    r"^(?:其中|另外|此外|同时|全年|当年|上半年|下半年|一季度|同比|截至|截止|共|累计|总计|合计|"
    r"全区|我区|本区|罗湖区|罗湖|深圳市|全市|(?:19|20)\d{2}年(?:的|底|末)?|今年|去年|上年|"
    r"(?:由|从|在|对|为|向|把|将|要|已|并|及|与|和|使|让|通过|实现|完成|推动|推进|"
    r"计划|力争|预计|目标|预期|确保|达到|突破|超过|新|再|还|又|均|都)\s*)+"
)
_TRAIL = re.compile(
    r"(?:分别|总量|总额是|规模|同比|比上年|较上年|全年|累计|共|总计|达到|达|为|是|完成|实现|突破|超过|"
    r"超|增至|增加到|增长到|提高到|提升到|升至|降至|降到|下降到|增加|增长|提高|提升|下降|减少|"
    r"降低|约|近|逾|多|余|以上|左右|的|了|有|由|从|至|到|占|达成|全面|基本|首次|已|在)+$"
)
_VERB_BEFORE_NOUN = re.compile(
    r"(?:建成|新建|新增|引进|完成|开展|实施|举办|打造|推出|出台|设立|组建|培育|服务|帮扶|解决|"
    r"改造|整治|投入|提供|收到|办理|召开|选举|表决|通过|组织|新开工|开工|竣工|签约|落地|建设|筹集|供应)$"
)


# A level reached at the end of a span (增至, 提高到, 达到…) is of its last year; what is
# summed over it (累计, 新增, 年均) covers the span.
_REACHED = re.compile(
    r"(?:增|提高|提升|增长|增加|扩大|升|降|降低|下降|减少|缩小)(?:至|到)|达到|达|突破|超过|超|接近|"
    r"跃居|跃升至|实现"
)
# A bound held through the span (控制在3.5%以内), a measure per head (每万人全科医生数: a
# state, never summed), an award received in some year of it (获评…第七名).
_HELD = re.compile(r"(?:控制在|保持在|稳定在|维持在)$")
_PER_HEAD = re.compile(r"(?:每[百千万]?人|人均|每户)[\u4e00-\u9fff]{0,10}$")
_AWARD = re.compile(r"获评|荣获|评为|入选")
_EVENTS = ("人次", "次", "场", "届")  # units that count events: a sum, never a level
_LIST_ITEMS = re.compile(r"(?:[\d.]+[^\d、,，；;]{0,12}、)+$")
# A count that sums up the names listed right before it ("罗湖、文锦渡、莲塘三个口岸").
_NAME = r"[\u4e00-\u9fff]{1,8}"
_LISTED = re.compile(rf"(?<![\d\u4e00-\u9fff]){_NAME}(?:、{_NAME})+(?:[和及与]{_NAME})?$")
# 年均 sums a span (年均举办10场), except in the name of a yearly average (年均浓度).
_OVER_SPAN = re.compile(
    r"累计|共计|总计|新增|年均(?![\u4e00-\u9fff]{0,3}(?:浓度|值|气温))|五年|全部"
)


@dataclass(frozen=True)
class DocContext:
    """What every sentence of one document shares: its subject, date and kind."""

    doc_id: str
    subject: str  # the document's own subject: 罗湖区, or the district its title names
    year: int | None
    month: int | None
    kind: str  # work_report | plenary_communique | news | other
    title_period: Period | None  # a period the title names: 2023年上半年…

    @property
    def review_end(self) -> int | None:
        """The last year a look back reaches: a work report reviews the years before it."""
        if self.year is None:
            return None
        return self.year - 1 if self.kind == "work_report" else self.year


@dataclass(frozen=True)
class SectionContext:
    """The part of a document a sentence stands in: a review or a plan, and its period."""

    reference: Period | None
    plan: bool = False


_REVIEW_HEAD = re.compile(r"回顾|过去|成绩|成就|答卷|回眸|总结|进展")
_PLAN_HEAD = re.compile(r"今后|未来|主要工作|工作安排|目标|任务|思路|计划|展望|部署|迈向|打算|举措")
# The glossary a work report ends with (有关名词解释), often under its last part's heading.
_GLOSSARY_HEAD = re.compile(r"名词解释|名词释义|名词注释|术语解释|注释$|附注")


def doc_context(doc_id: str, title: str, date: str, kind: str) -> DocContext:
    year = int(date[:4]) if date[:4].isdigit() else None
    month = int(date[5:7]) if date[5:7].isdigit() else None
    subject = "罗湖区"
    if m := re.search(rf"({_DISTRICTS})区", title):
        subject = f"{m.group(1)}区"
    return DocContext(doc_id, subject, year, month, kind, _title_period(title, year))


def _title_period(title: str, year: int | None) -> Period | None:
    """A period the title leads with ("2023年上半年光明区经济运行情况"), or a year it names
    alone ("请回答2019!"); a time named later in a title is an event's, not the report's."""
    times = find_times(title, TimeContext(year, None, year))
    if times and times[0].start <= 6:
        return times[0].period
    bare = re.search(r"(?<!\d)((?:19|20)\d{2})(?![\d年])", title)
    return Period.year(int(bare.group(1))) if bare else None


def section_context(doc: DocContext, section: str) -> SectionContext:
    """The period a part of the document is about, read from its heading path: the
    innermost heading that names a time decides it ("(五)…取得新进展" inside "一、过去五年
    工作回顾" is still the five years); a heading that only says review or plan decides
    when no heading above it names a time."""
    heads = [h for h in section.split(" › ") if h] if section else []
    ctx = TimeContext(doc.year, doc.title_period, doc.review_end)
    if doc.year is not None and any(_GLOSSARY_HEAD.search(h) for h in heads):
        # A glossary says what a name means as the report is given: no review, no plan.
        return SectionContext(Period.year(doc.year))
    fallback: SectionContext | None = None
    for head in reversed(heads):
        times = find_times(head, ctx)
        if times:
            plan = bool(_PLAN_HEAD.search(head)) or any(t.target_year for t in times)
            return SectionContext(times[-1].period, plan or bool(fallback and fallback.plan))
        if fallback is not None or doc.year is None:
            continue
        if _PLAN_HEAD.search(head):
            fallback = SectionContext(Period.year(doc.year), plan=True)
        elif _REVIEW_HEAD.search(head) and doc.review_end is not None:
            fallback = SectionContext(doc.title_period or Period.year(doc.review_end))
    return fallback or SectionContext(_default_period(doc))


def _default_period(doc: DocContext) -> Period | None:
    if doc.title_period is not None:
        return doc.title_period
    if doc.year is None:
        return None
    if doc.kind == "work_report":
        return Period.year(doc.year - 1)
    return Period.year(doc.year)


# -------------------------------------------------------------------------------- reading


def read_sentence(sentence: str, doc: DocContext, section: SectionContext) -> list[Fact]:
    """The facts of one sentence in its search form (Simplified, NFKC)."""
    mentions = find_mentions(sentence)
    if not mentions:
        return []
    ctx = TimeContext(doc.year, section.reference, doc.review_end)
    times = find_times(sentence, ctx)
    facts = []
    previous: Fact | None = None
    for i, m in enumerate(mentions):
        if any(t.start <= m.start < t.end and not t.figure for t in times):
            continue  # the number is part of a time expression (近五年, 1-5月)
        kind = _kind(sentence, m)
        metric = _metric(sentence, m, mentions)
        if not metric and previous is not None:
            metric = previous.metric  # "…1391.75亿元，增长10.4%": the change of the level before
        period = _period(sentence, m, times, section, kind, mentions, i)
        subject = _bracketed_base(sentence, m, doc)
        if subject is not None and previous is not None and previous.unit == m.unit:
            kind, metric = previous.kind, previous.metric  # 同比增长4.7%,比全市(3.0%)高
        fact = Fact(
            value=m.value,
            unit=m.unit,
            metric=metric,
            subject=subject or _subject(sentence, m, doc),
            period=period,
            status=_status(sentence, m, times, section, doc, period),
            kind=kind,
            mention=m.text,
            value_hi=m.value_hi,
            at=(m.start, m.end),
            clause=clause_of(sentence, m),
            context=sentence[_context_start(sentence, m, mentions, i) : m.end],
        )
        facts.append(fact)
        previous = fact
    return facts


def _context_start(sentence: str, m: Mention, mentions: list[Mention], i: int) -> int:
    """Where the words about a figure begin: its clause, after the figure before it."""
    previous = mentions[i - 1].end if i else 0
    return max(m.start - 40, previous, _clause_start(sentence, m.start))


def _clause_start(sentence: str, pos: int) -> int:
    i = pos
    while i > 0 and sentence[i - 1] not in _CLAUSE_MARK:
        i -= 1
    return i


def _clause_end(sentence: str, pos: int) -> int:
    i = pos
    while i < len(sentence) and sentence[i] not in _CLAUSE_MARK:
        i += 1
    return i


def clause_of(sentence: str, m: Mention) -> str:
    """The clause that states the figure; a clause that is only the figure's change or rank
    ("增长10.4%") takes the clause before it along."""
    start, end = _clause_start(sentence, m.start), _clause_end(sentence, m.end)
    head = sentence[start : m.start]
    if start > 1 and (not re.search(r"[\u4e00-\u9fff]{2}", head) or _CHANGE_BEFORE.search(head)):
        start = _clause_start(sentence, start - 1)
    return sentence[start:end].strip(" ,，、")


# A quoted name that opens a clause and is followed by what it scored ("“X”项目以168票",
# "“X”连续四年获评…") is the clause's subject: a project voted on, a named service.
_QUOTED_TOPIC = re.compile(r"^(?:其中)?[“\"]([^”\"]{2,14})[”\"](?:项目|工程)?(?=以|连续|\d)")
_QUOTED_ITEMS = re.compile(
    r"^[“\"]([^”\"]{2,14})[”\"](?:(?:和|、|及)[“\"]([^”\"]{2,14})[”\"])+分列"
)


def _subject(sentence: str, m: Mention, doc: DocContext) -> str:
    start = _clause_start(sentence, m.start)
    clause = sentence[start : m.start]
    if topic := _QUOTED_TOPIC.match(clause):
        return topic.group(1)
    if items := _quoted_item(sentence, m, start):
        return items
    for begin in (start, 0):
        # read up to the figure's end: a place is known by the figure right after it
        scope, cut = sentence[begin : m.end], m.start - begin
        found = [
            e for e in _ENTITY.finditer(scope) if e.end() <= cut and _is_subject(scope, e, doc, cut)
        ]
        if found:
            return _canonical(found[-1], doc)
    return doc.subject


def _quoted_item(sentence: str, m: Mention, start: int) -> str:
    """ "“A”和“B”分列第二、第三位": the i-th name is the i-th figure's."""
    at = sentence.find("分列", start)
    if at < 0 or at > m.start or not _QUOTED_ITEMS.match(sentence[start : at + 2]):
        return ""
    names = re.findall(r"[“\"]([^”\"]{2,14})[”\"]", sentence[start:at])
    figures = re.findall(r"第[一二三四五六七八九十\d]+", sentence[at : _clause_end(sentence, at)])
    rank = re.match(r"第[一二三四五六七八九十\d]+", sentence[m.start :])
    if not rank or len(names) != len(figures):
        return ""
    before = len(re.findall(r"第[一二三四五六七八九十\d]+", sentence[at : m.start]))
    return names[before] if before < len(names) else ""


_BRACKET_OPEN = re.compile(r"[(（]\s*(?:增长|下降|增速为?)?\s*$")


def _bracketed_base(sentence: str, m: Mention, doc: DocContext) -> str | None:
    """ "比全市(3.0%)高1.7个百分点": a figure in brackets right after a place is that
    place's, the base the sentence compares with."""
    head = sentence[: m.start]
    bracket = _BRACKET_OPEN.search(head)
    if bracket is None or not re.match(r"\s*[)）]", sentence[m.end :]):
        return None
    place = None
    for e in _ENTITY.finditer(head[: bracket.start()]):
        place = e if e.end() == bracket.start() else None
    return _canonical(place, doc) if place is not None else None


def named_subject(text: str, home: str) -> str | None:
    """The subject a text names (a question: "2020年福田区…"), None when it names none or
    only its own (全区)."""
    doc = DocContext("", home, None, None, "", None)
    found = [
        e
        for e in _ENTITY.finditer(text)
        if not (e["own"] or e["place"] or e["area"]) and _is_subject(text, e, doc)
    ]
    return _canonical(found[-1], doc) if found else None


# A place followed by one of these is a modifier (深圳首个, 全区第一, 全市3个), not
# the subject; a following year (深圳2024年) still leaves it the subject.
_MODIFIER_AFTER = re.compile(
    r"\d(?!\d{3}\s*年)|[“\"、第]|系列|首|唯一|率先|前列|平均|层面|各区|范围|以上|重点"
)


_FOUNDED = ("成立", "建区", "建市", "设立", "建立")


def _is_subject(text: str, e: re.Match[str], doc: DocContext, end: int | None = None) -> bool:
    """An entity is the subject, not a scope (居全市第二), an object (对接香港), a modifier
    (国家高新技术企业, 深圳500强企业) or an item of a list (广东、深圳系列…)."""
    before, after = text[: e.start()], text[e.end() : end]
    if _OBJECT_BEFORE.search(before):
        return False
    if _SCOPE_BEFORE.search(before) and not after.startswith(_FOUNDED):
        return False  # 是新中国成立70周年: what was founded is the subject, not a scope
    if e["place"]:
        return True  # defined by the figure right after it
    if _MODIFIER_AFTER.match(after):
        return False
    if (e["nation"] in ("全国", "国家") or e["province"]) and re.match(r"[\u4e00-\u9fff]", after):
        return False  # 国家级, 全国首部, 全省率先: a rank or a kind, not a subject
    return not (e["city"] and doc.subject != "深圳市" and re.match(r"[\u4e00-\u9fff]{0,2}$", after))


def _canonical(e: re.Match[str], doc: DocContext) -> str:
    if e["district"]:
        name = e["district"]
        return name if name.endswith(("区", "合作区")) else f"{name}区"
    if e["city"]:
        return "深圳市"
    if e["province"]:
        return "广东省"
    if e["nation"]:
        return "全国"
    if e["hk"]:
        return "香港"
    for name in ("street", "place", "area"):
        if e[name]:
            return e[name]
    return doc.subject


def _kind(sentence: str, m: Mention) -> Kind:
    if m.rank:
        return "rank"
    before = sentence[max(0, m.start - 8) : m.start]
    if m.unit in ("个百分点", "百分点"):
        return "change"
    if m.unit == "倍":
        # 是2015年的3.4倍: against another time; 是全市的2.2倍: a share of a whole
        between = sentence[_clause_start(sentence, m.start) : m.start]
        return "change" if re.search(r"\d{4}年|增长|增加|提高", between) else "share"
    if m.unit in _CHANGE_UNITS and _CHANGE_BEFORE.search(before):
        return "change"
    clause = sentence[_clause_start(sentence, m.start) : m.start]
    respectively = re.search(r"分别(.{0,8}?)[\d一二三四五六七八九十]", clause)
    if m.unit in _CHANGE_UNITS and respectively and _CHANGE_BEFORE.search(respectively.group(1)):
        return "change"  # 分别累计下降25.7%、37.9%: every figure of the list
    if m.unit in ("%", "成"):
        return "share"
    if _COMPARED_BY.search(clause):
        return "change"  # 比上次会议增加23件: a count by which it grew
    return "level"


def _period(
    sentence: str,
    m: Mention,
    times: list[TimeMention],
    section: SectionContext,
    kind: Kind,
    mentions: list[Mention],
    i: int,
) -> Period | None:
    times = [t for t in times if not t.base]
    if inside := [t for t in times if t.start <= m.start < t.end]:
        return inside[0].period  # 连续四年: the figure is the time's own count
    before = [t for t in times if t.end <= m.start]
    clause_start = _clause_start(sentence, m.start)
    listed = m.unit[-1:] in _COUNT_UNITS and _LISTED.search(sentence[: m.start])
    if listed and before and before[-1].name in ("since", "since_day"):
        # 2月6日…以来,罗湖、文锦渡、莲塘三个口岸…累计: 以来 opens a window for what is summed
        # in it, not for a count of the names listed
        return section.reference
    if (paired := _respectively(sentence, m, mentions, times)) is not None:
        return paired
    in_clause = [t for t in before if t.start >= clause_start]
    if kind == "change" and "年均" in sentence[clause_start : m.start]:
        years = sorted({t.period.last_year for t in before if t.period.whole_years})
        if len(years) >= 2:
            return Period.years(years[-2] + 1, years[-1])
        if section.reference and section.reference.first_year != section.reference.last_year:
            return section.reference
    if in_clause:
        return in_clause[-1].period
    if before:
        return before[-1].period
    after = [t for t in times if t.start >= m.end and t.start < _clause_end(sentence, m.end)]
    if after:
        return after[0].period
    ref = section.reference
    if ref is None or ref.first_year == ref.last_year:
        return ref
    # A review or plan of several years: a level reached is of its last year, a count of
    # what was done (新增, 建成, 累计) covers the span; "由X增至Y" starts the year before.
    clause = sentence[clause_start : m.start]
    if re.search(r"(?:由|从)$", clause) and any(
        n.start > m.end and _REACHED.search(sentence[m.end : n.start]) for n in mentions[i + 1 :]
    ):
        return Period.year(ref.first_year - 1)
    head = _LIST_ITEMS.sub("", clause)  # 实现150项“秒批”、380项…: the verb heads each item
    if _HELD.search(head) or _OVER_SPAN.search(head):
        return ref
    reached = _REACHED.search(head[-6:])
    if reached and m.unit.endswith(_EVENTS) and reached.group() in ("超", "超过", "接近"):
        reached = None  # 救助困难群众超16万人次: events are summed; 超 only says "over"
    if reached or _PER_HEAD.search(head):
        return Period.year(ref.last_year)
    if kind == "rank" and _AWARD.search(head):
        return ref  # 获评…第七名: an award of some year of the span
    if kind in ("share", "rank"):
        return Period.year(ref.last_year)
    return ref


def _respectively(
    sentence: str, m: Mention, mentions: list[Mention], times: list[TimeMention]
) -> Period | None:
    """ "一季度、上半年和全年分别增长4.1%、5.2%、5.6%": the i-th time goes with the i-th figure."""
    start, end = _clause_start(sentence, m.start), _clause_end(sentence, m.end)
    at = sentence.rfind("分别", start, m.start)
    if at < 0:
        return None
    listed = [t for t in times if start <= t.start and t.end <= at]
    figures = [n for n in mentions if at < n.start and n.end <= end]
    if len(listed) < 2 or len(listed) != len(figures) or m not in figures:
        return None
    return listed[figures.index(m)].period


def _status(
    sentence: str,
    m: Mention,
    times: list[TimeMention],
    section: SectionContext,
    doc: DocContext,
    period: Period | None,
) -> Status:
    start = _clause_start(sentence, m.start)
    clause = sentence[start : m.start]
    before = sentence[: m.start]
    after = sentence[m.end : _clause_end(sentence, m.end)]
    if _ACTUAL.search(clause):
        return "actual"
    to_year = any(t.target_year and t.end <= m.start for t in times)
    if period is not None and doc.year is not None and period.last_year < doc.year:
        # A past period is a result, unless the clause itself names it a target.
        strong = _STRONG_TARGET.search(clause) or _STRONG_TARGET.search(before)
        return "target" if strong or to_year else "actual"
    if _STRONG_TARGET.search(before) or _WEAK_TARGET.search(before) or to_year:
        return "target"
    if period is not None and doc.year is not None and period.last_year > doc.year:
        return "target"
    if section.plan and not _ACTUAL.search(clause + after):
        return "target"
    if section.plan is False and re.match(r"^(?:以上|左右)", after) and section.reference:
        return "actual"
    return "actual"


_FUNDING_VERBS = frozenset({"投入", "安排", "筹集", "拨付", "下达", "投资", "支出", "统筹"})
_ASPECTS = frozenset({"增速", "增幅", "降幅", "总量", "规模", "增长", "比重", "同比", "总额"})
_COUNT_UNITS = frozenset("个项家所条栋座套名场支批类大种件次轮届户宗处片块部台间张枚票")
_SCOPE_WORDS = re.compile(
    r"(?:居|位列|位居|跃居|排名|排|列|是|为|占)?(?:全市|全省|全国|深圳市|各区)(?:的|各区|前列)?|"
    r"(?:19|20)\d{2}年(?:的|底|末|度)?|今年|去年|上年|同期|年均|同比|分别"
)


# The base of a comparison is not the measure: 比一季度加快, 降幅比上半年收窄, 高于全市.
_COMPARISON = re.compile(
    r"(?:降幅|增速|增幅|总量)?(?:(?<!同)比|较|高于|低于|快于|慢于)[^,，；;]*?"
    r"(?:加快|放缓|提高|回落|收窄|扩大|增加|减少|下降|上升|低|高|快|慢)?$|"
    r"扣除价格因素(?:后)?(?:实际)?|同口径|当季|.{0,30}分列|完成年度预算的"
)


def _respective_items(sentence: str, m: Mention, mentions: list[Mention]) -> str:
    """ "建设用地、水耗、电耗分别下降5.8%、5.4%、4.5%": the i-th item is the i-th figure's."""
    start, end = _clause_start(sentence, m.start), _clause_end(sentence, m.end)
    at = sentence.rfind("分别", start, m.start)
    if at < 0:
        return ""
    items = [i for i in re.split(r"、|和|及", sentence[start:at]) if i]
    figures = [n for n in mentions if at < n.start and n.end <= end]
    if len(items) < 2 or len(items) != len(figures) or m not in figures:
        return ""
    item = _clean(_SCOPE_WORDS.sub("", items[figures.index(m)]))
    return item if len(item) >= 2 else ""


def _metric(sentence: str, m: Mention, mentions: list[Mention]) -> str:
    """The phrase the figure quantifies: the words before it in its clause, or, for a count
    written before its noun ("引进128个重大项目", "三大关键因素"), the noun after it; "" when
    the clause only continues the figure before (由X增至Y, 增长6.2%, 居全市第二)."""
    start = _clause_start(sentence, m.start)
    prior = [n for n in mentions if start <= n.end <= m.start]
    if prior:
        start = max(start, prior[-1].end)
    before = sentence[start : m.start]
    after = sentence[m.end : _clause_end(sentence, m.end)]
    noun_after = re.match(r"^[“\"]?([\u4e00-\u9fff]{2,16})", after)
    noun = ""
    if noun_after:
        noun = re.split(
            r"的|和|及|与|以上|左右|、|获得|通过|已|将|被|位列|分列|占", noun_after.group(1)
        )[0]
    if noun and len(noun) >= 2 and m.unit[-1:] in _COUNT_UNITS and not m.rank:
        return noun
    items = _respective_items(sentence, m, mentions)
    if items:
        return items
    if re.search(r"占|贡献率|的比重|的比例", before) and not re.match(r"^[^占]{2,}占", before):
        return ""  # 占地区生产总值比重达到39.4%: the share of the figure before
    head = _clean(_COMPARISON.sub("", _SCOPE_WORDS.sub("", before)))
    head = re.split(r"占", head)[0]
    if head in _FUNDING_VERBS and to_base(m.value, m.unit)[1] == "元":
        return f"{head}资金"  # 投入77亿元, 安排1.33亿元: money spent is funding
    if head in _ASPECTS:
        return ""  # 增速居全市第二: an aspect of the figure before
    if noun and len(noun) >= 2 and (not head or _VERB_BEFORE_NOUN.search(before)):
        return noun
    return head


def _clean(phrase: str) -> str:
    phrase = re.sub(r"[“”\"「」()（）《》、\s]", "", phrase)
    for _ in range(3):
        phrase = _LEAD.sub("", phrase)
        phrase = _TRAIL.sub("", phrase)
    # A long run of words: the tail names the measure ("…罗湖区全年投入产业转型升级扶持资金").
    if len(phrase) > 14:
        parts = re.split(r"(?:投入|实现|完成|推动|开展|建设|新增|累计|全年|达到)", phrase)
        phrase = parts[-1] or phrase[-14:]
    return phrase[-16:]
