"""When the assistant says "not in the sources", and how it says it.

One home for the refusal policy:
- the support test (`judge`): do the retrieved passages cover the question at all;
- the moments a refusal is decided (`refuse_before_generation`, `model_refusal_stands`,
  `guard_refuses`), and how a model's own refusal is recognised (`is_refusal`);
- the words of a refusal, in the asker's language and script (`refusal_text`).

A confident, cited, wrong figure is the worst answer there is; a refusal is the honest one
when the passages do not hold what is asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.answer.evidence import Evidence
from assistant.answer.facts import NO_MATCH, FactMatch, Found
from assistant.answer.question import HOME, Question
from assistant.config import AnswerConfig, LLMConfig
from assistant.facts.match import Asked, failed_slots
from assistant.figures import has_number, is_year, numbers, states_value
from assistant.models import Hit
from assistant.textnorm import for_search, to_simplified, to_traditional

REFUSAL_ZH = "资料中未找到与该问题直接相关的内容。"
REFUSAL_EN = "The sources do not contain the answer to this question."

_REFUSAL = re.compile(
    r"未找到|没有找到|找不到|未提及|没有提及|未提到|没有提到|并未提|未涉及|没有涉及|未包含|"
    r"不包含|没有包含|没有相关|无相关|未给出|没有给出|没有具体|未说明|没有说明|未明确|没有明确|"
    r"无法回答|无法确定|无法得知|无法从|不能确定|没有这方面|没有关于|"
    r"not (?:contain|mention|provide|include|say|state|specify)|no information|"
    r"cannot (?:be )?(?:found|answer|determine)|does not (?:say|state|specify|contain|mention)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Support:
    """The support test's verdict on the retrieved passages."""

    supported: bool
    reason: str  # why not, for the guard log
    # The passages' words were found to cover the question's. Not for English questions:
    # they share no words with Chinese passages, so only their years were checked.
    covered: bool = False
    # A refusal that says what the sources do hold: "资料中没有2023年的数据；…[n]", where
    # [n] is passage n of the hits.
    note: str = ""


def refusal_text(question: Question) -> str:
    if question.english:
        return REFUSAL_EN
    return to_traditional(REFUSAL_ZH) if question.traditional else REFUSAL_ZH


def is_refusal(text: str) -> bool:
    """Whether a text says the passages do not hold the answer."""
    return bool(_REFUSAL.search(for_search(text)))


# -------------------------------------------------------------------------- the support test


def judge(
    question: Question,
    hits: list[Hit],
    evidence: Evidence,
    cfg: AnswerConfig,
    document_text: Callable[[str], str],
    facts: FactMatch = NO_MATCH,
) -> Support:
    """Whether the passages support an answer.

    A question asking for figures is supported when, for each part the facts decide, a fact
    of the retrieved passages fits what it fixes (metric, period, subject, status); when the
    facts of its metric all contradict it, the refusal says what they hold. Otherwise (no
    fact of the metric, or a question asking no figure) the words decide: the passages cover
    the question's key terms, name the years, figures and places it names, and state the
    kind of value it asks for."""
    miss = facts.first_miss()
    if miss is not None:
        part, found, slot = miss
        note = miss_note(question, part.asked, found, slot)
        return Support(False, f"the facts of the metric are of another {slot}", note=note)
    if facts.answered:
        # The facts fit; the places it names must still be in their documents.
        reason = _unnamed_entity(question, hits, document_text)
        return Support(False, reason) if reason else Support(True, "", covered=True)
    absent = _absent_metric(question, hits)
    if absent:
        note = f"资料中没有“{absent}”的数据。"
        note = to_traditional(note) if question.traditional else note
        return Support(False, f"no passage mentions {absent}", note=note)
    unstated = _unstated_value(question, hits, facts)
    if unstated:
        note = f"资料中没有“{unstated}”的具体数字。"
        note = to_traditional(note) if question.traditional else note
        return Support(False, f"the passages name {unstated} without a figure", note=note)
    reason = _unsupported(question, hits, evidence, cfg, document_text) or _no_value(
        question, evidence, cfg
    )
    if reason:
        return Support(False, reason)
    return Support(True, "", covered=not question.english)


def _absent_metric(question: Question, hits: list[Hit]) -> str:
    """The measure a figure question asks for, when no retrieved passage names it, even
    with words between its characters (社零 is in 社会消费品零售总额; 议案 is not in
    "建议672件、政协提案"): the passages are about something else."""
    if question.english:
        return ""
    for asked in question.asks:
        name = _measure_name(asked)
        if not _PLAIN_NAME.fullmatch(name) or name not in asked.text:
            continue  # a phrase, not the name of a measure: the words decide
        texts = [h.chunk.search_text for h in hits]
        head = name[-2:]  # the thing counted: 议案, 支出
        whole = re.sub(r"[^\u4e00-\u9fff]", "", asked.metric)
        # A short name the question writes as such must be named (长者服务中心); a longer
        # or composed one (…会议代表议案) only by the thing it counts.
        short = len(whole) <= 6 and whole in asked.text
        if not any(head in t for t in texts) or (short and not any(names(whole, t) for t in texts)):
            return asked.metric
    return ""


# Words that end many a name without naming what is measured: “秒批”事项, 民生工作.
_GENERIC_TAIL = re.compile(r"(?:事项|工作|情况|数量|总数|方面|总量)$")
# The name of a measure: a few characters, no verb or particle in it.
_PLAIN_NAME = re.compile(
    r"(?:(?![了有的第是在把将为与和及或纳创实开展完成建设里得出来到收决提])[\u4e00-\u9fff]){2,6}"
)


def _measure_name(asked: Asked) -> str:
    """The asked measure's name as the question writes it; a long one by its last words
    ("办理人大代表议案" → 代表议案), which name the thing counted."""
    name = _GENERIC_TAIL.sub("", re.sub(r"[^\u4e00-\u9fff]", "", asked.metric))
    return name if len(name) <= 6 else name[-4:]


def names(name: str, text: str) -> bool:
    """`name`'s characters in order in `text`, a few words apart at most: an abbreviation of
    two characters may stand for a long name (社零), a longer name may gain a word or two."""
    window = 8 if len(name) == 2 else len(name) + 3
    start = text.find(name[0])
    while start >= 0:
        pos, ok = start, True
        for ch in name[1:]:
            pos = text.find(ch, pos + 1, start + window)
            if pos < 0:
                ok = False
                break
        if ok:
            return True
        start = text.find(name[0], start + 1)
    return False


_MISSING = {
    "subject": "{subject}的数据",
    "kind": "所问口径的数据",
    "unit": "以{unit}计的数据",
}


def miss_note(question: Question, asked: Asked, found: Found, slot: str) -> str:
    """ "资料中没有2023年的数据；资料中有：2020年…金融业增加值…[1]"."""
    slots = failed_slots(asked, found.fact, HOME) or (slot,)
    where = (asked.subject or HOME) if "subject" in slots else ""
    period = asked.period.zh() if "period" in slots and asked.period is not None else ""
    if where or period:  # "资料中没有光明区2022年上半年的数据"
        what = f"{where}{period}的数据"
    elif slot == "status":
        what = "相关目标" if asked.status == "target" else "实际完成的数据"
    else:
        what = _MISSING.get(slot, "所问的数据").format(subject=asked.subject, unit=asked.unit)
    fact = found.fact
    said = fact.period is None or str(fact.period.first_year) in fact.clause
    when = "" if said or fact.period is None else fact.period.zh()
    held = f"{when}{'，' if when else ''}{fact.clause}"
    if fact.status == "target" and "目标" not in held:
        held += "（目标）"
    if question.english:
        return f"{REFUSAL_EN} The sources hold: {held}[{found.hit + 1}]"
    note = f"资料中没有{what}；资料中有：{held}[{found.hit + 1}]"
    return to_traditional(note) if question.traditional else to_simplified(note)


def _unsupported(
    question: Question,
    hits: list[Hit],
    evidence: Evidence,
    cfg: AnswerConfig,
    document_text: Callable[[str], str],
) -> str:
    if not hits:
        return "nothing retrieved"
    covs = evidence.passage_coverage
    # English questions share no words with Chinese passages; only literal terms are checked.
    if not question.english:
        if max(covs) < cfg.min_coverage:
            return f"no passage covers the question ({max(covs):.2f} < {cfg.min_coverage})"
        if evidence.joint_coverage < cfg.min_joint_coverage:
            joint = evidence.joint_coverage
            return f"passages miss key terms ({joint:.2f} < {cfg.min_joint_coverage})"
    relevant = [
        h for h, cov in zip(hits, covs, strict=True) if question.english or cov >= cfg.min_coverage
    ]
    # A year or ordinal the question gives must appear in a passage about it: a question
    # about 2035 GDP is not answered by a passage on 2035 governance. For a figure, about it
    # is naming its measure, when passages name it: "2019年…地区生产总值" is not answered by
    # a 2019 passage on something else beside a plan that names 地区生产总值.
    measures = [n for a in question.asks if _PLAIN_NAME.fullmatch(n := _measure_name(a))]
    naming = [h for h in relevant if any(names(n, h.chunk.search_text) for n in measures)]
    for term in question.passage_terms:
        about = naming if naming and is_year(term) else relevant
        if not any(_mentions(term, h.chunk.search_text) for h in about):
            return f"no passage on the question mentions {term}"
    return _unnamed_entity(question, relevant, document_text)


def _unnamed_entity(
    question: Question, hits: list[Hit], document_text: Callable[[str], str]
) -> str:
    """A place, person or organisation the question names must at least occur in the
    passages' documents (a report on Luohu need not repeat 罗湖 in every paragraph; one on
    Futian would)."""
    if question.english:
        return ""
    docs = [document_text(d) for d in dict.fromkeys(h.chunk.doc_id for h in hits)]
    for name in question.entities:
        if not any(name in d for d in docs):
            return f"the sources found do not mention {name}"
    return ""


def _mentions(term: str, text: str) -> bool:
    return has_number(term, text) if term[0].isdigit() else term in text


def _no_value(question: Question, evidence: Evidence, cfg: AnswerConfig) -> str:
    """A question asking "how many X" needs a sentence on the question that states a number
    of X, one asking "which month" a month, "which day" a day; a sentence about the subject
    without them does not answer it."""
    on_topic = [s.norm for s in evidence.candidates if s.coverage >= cfg.min_sentence_coverage]
    for unit in question.asked_units:
        if not any(states_value(unit, t) for t in on_topic):
            return f"no sentence on the question gives a value in {unit or 'numbers'}"
    if question.asks_month and not any(_MONTH.search(t) for t in on_topic):
        return "no sentence on the question gives a month"
    if question.asks_day and not any(_DAY.search(t) for t in on_topic):
        return "no sentence on the question gives a day"
    return ""


_MONTH = re.compile(r"[\d一二三四五六七八九十]{1,2}\s*月(?!份?以来)")
_DAY = re.compile(r"\d{1,2}\s*[日号]|[一二三四五六七八九十]{1,3}[日号]|\d{1,2}[·.\-]\d{1,2}")
_WORD_FIGURE = re.compile(r"[一二两三四五六七八九十百千]+[个项家所条大]")


def _unstated_value(question: Question, hits: list[Hit], facts: FactMatch) -> str:
    """A measure the passages name only in words, with no figure in any clause that names
    it ("一批总部企业先后落地", "实现长者服务中心街道全覆盖"): asked how many, they do not say."""
    decided = {id(p.asked) for p in facts.parts if p.decided}
    for asked in question.asks:
        if id(asked) in decided or not asked.unit:
            continue
        name = _measure_name(asked)
        if not _PLAIN_NAME.fullmatch(name) or name not in asked.text:
            continue
        clauses = [
            c
            for h in hits
            for c in re.split(r"[,，;；。:：!?！？]", h.chunk.search_text)
            if names(name, c)
        ]
        if clauses and not any(_states_figure(c, name, asked.given) for c in clauses):
            return asked.metric
    return ""


def _states_figure(clause: str, name: str, given: frozenset[str]) -> bool:
    """Whether the clause gives the measure a figure, other than one the question gives: in
    "从13个领域、60个方面、提出400多条改革措施" the list item naming 改革措施 holds only the
    400 the question starts from. An item without a figure ("建设用地、水耗…分别下降5.8%")
    is read with its whole clause."""
    item = next((i for i in clause.split("、") if name in i), clause)
    text = item if re.search(r"\d", item) else clause
    if any(n not in given for n in numbers(text)):
        return True
    return _WORD_FIGURE.search(text) is not None


# --------------------------------------------------------------- when a refusal is decided


def refuse_before_generation(support: Support, cfg: LLMConfig) -> bool:
    """The evidence test already knows: refusing without the model is fast and gives no
    figure it could invent."""
    return cfg.refuse_unsupported and not support.supported


def model_refusal_stands(support: Support, retried: bool) -> bool:
    """A model's "not found" is the best judgement there is only when nothing showed the
    passages cover the question (the evidence test is off by config, or the question is
    in English and only its years could be checked) and no draft of it was rejected.

    Otherwise its refusals are mostly wrong: of the 1.5B model's 7 first-draft refusals
    over the 167 gold questions 6 were answerable, and asked to read again it refused all 6
    again; after a rejected draft, all 7 refusals in a 42-question sample were answerable.
    """
    return not (support.covered or retried)


def guard_refuses(missing_asked_terms: list[str]) -> bool:
    """Drafts that kept citing passages without the year or figure asked about answer
    another question: the passages do not hold this one. Saying so beats quoting the
    wrong year."""
    return bool(missing_asked_terms)
