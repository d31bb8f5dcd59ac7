"""The grounding guard: checks every generated answer against the passages it cites.

A small model writes fluent sentences with figures the passages never gave, above all when
the passages do not hold the answer. Prompts reduce that; this module catches it. Pure
functions, no model; each check's outcome is a `Finding` of its own type:

- citations that point at no passage are removed (`DroppedCitation`);
- every figure in the answer (number with its magnitude and unit) must occur in a passage
  its sentence cites, after normalization (`UngroundedFigure`). A sentence whose figures all
  occur in other passages it was given has its citation moved there (`MovedCitation`): the
  1.5B model copies figures faithfully but often numbers them after the last passage it
  read, and a retry for that made it refuse answers it had right;
- a year or figure the question names must occur in some cited passage: an answer about
  2025 does not answer a question about 2030 (`MissingAskedTerm`);
- a phrase the question quotes ("强调“要紧盯目标干”的是谁?") must occur in a cited passage:
  the answer to it comes from where it was said (`MissingQuoted`);
- the answer must give the kind of value the question asks for: a figure for each 多少/几,
  a date for 哪天/哪年, an ordinal for 第几 (`Unanswered`). The small model otherwise
  restates the question ("…要形成几个超千亿支柱产业？[1]") or answers with a phrase
  ("新中国成立一百年时") and cites it, which no figure check would catch;
- an answer with no valid citation is rejected (`Uncited`);
- an answer that only says the passages do not contain it is a refusal (`refused`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal, TypeVar

from assistant.answer import citations
from assistant.answer.question import HOME, Question
from assistant.answer.refusal import is_refusal
from assistant.facts.match import Asked as FactAsked
from assistant.facts.match import failed_slot, metric_match
from assistant.facts.mentions import find_mentions
from assistant.facts.model import Fact, to_base
from assistant.figures import Figure, figures, has_number, is_year, match_forms, occurs
from assistant.models import GuardLog
from assistant.textnorm import for_match, for_search, han_bigrams

_CITES_RUN = re.compile(r"^(?:\s*\[\d+\])+")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")
_ORDINAL_GIVEN = re.compile(r"第\s*[\d零一二两三四五六七八九十百]+")
_MONTHS_EN = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d", re.IGNORECASE
)

# ----------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class Finding:
    """What one check found in a draft. `blocking` findings reject the draft; the others
    were mended in place. `describe` says a group of them in Chinese, for the regeneration
    prompt; `record` adds one to an answer's GuardLog."""

    blocking: ClassVar[bool] = True

    @classmethod
    def describe(cls, group: Sequence[Finding]) -> str:
        return ""

    def record(self, log: GuardLog) -> None:
        raise NotImplementedError


def _add(values: list, value: object) -> None:  # type: ignore[type-arg]
    if value not in values:
        values.append(value)


@dataclass(frozen=True)
class DroppedCitation(Finding):
    n: int
    blocking: ClassVar[bool] = False

    @classmethod
    def describe(cls, group: Sequence[Finding]) -> str:
        marks = "".join(f"[{f.n}]" for f in group if isinstance(f, DroppedCitation))
        return f"引用了不存在的资料编号{marks}"

    def record(self, log: GuardLog) -> None:
        _add(log.dropped_citations, self.n)


@dataclass(frozen=True)
class Uncited(Finding):
    """An answer (not a refusal) with no valid citation at all."""

    @classmethod
    def describe(cls, group: Sequence[Finding]) -> str:
        return "没有标注资料编号"

    def record(self, log: GuardLog) -> None:
        log.uncited = True


@dataclass(frozen=True)
class UngroundedFigure(Finding):
    figure: str  # as checked, "2400亿元"

    @classmethod
    def describe(cls, group: Sequence[Finding]) -> str:
        found = "、".join(f.figure for f in group if isinstance(f, UngroundedFigure))
        return f"数字{found}在所标注的资料中找不到"

    def record(self, log: GuardLog) -> None:
        _add(log.ungrounded_numbers, self.figure)


@dataclass(frozen=True)
class MissingAskedTerm(Finding):
    """A year or figure the question names that no cited passage mentions."""

    term: str

    @classmethod
    def describe(cls, group: Sequence[Finding]) -> str:
        asked = "、".join(f.term for f in group if isinstance(f, MissingAskedTerm))
        return f"问题问的是{asked}，但所标注的资料没有提到{asked}"

    def record(self, log: GuardLog) -> None:
        _add(log.missing_question_numbers, self.term)


@dataclass(frozen=True)
class MissingQuoted(Finding):
    phrase: str

    @classmethod
    def describe(cls, group: Sequence[Finding]) -> str:
        quoted = "、".join(f"“{f.phrase}”" for f in group if isinstance(f, MissingQuoted))
        return f"问题中的{quoted}在所标注的资料中没有出现，应依据提到它的资料回答"

    def record(self, log: GuardLog) -> None:
        _add(log.missing_quoted, self.phrase)


AskedValue = Literal["echo", "count", "date", "ordinal"]
_UNANSWERED: dict[str, str] = {
    "echo": "回答只是复述了问题，没有给出答案",
    "count": "问题问的是数量，回答没有给出资料中的具体数字",
    "date": "问题问的是日期或年份，回答没有给出具体日期",
    "ordinal": "问题问的是第几，回答没有给出序号",
}


@dataclass(frozen=True)
class Unanswered(Finding):
    """A kind of value the question asks for that the answer does not give."""

    kind: AskedValue

    @classmethod
    def describe(cls, group: Sequence[Finding]) -> str:
        return "；".join(_UNANSWERED[f.kind] for f in group if isinstance(f, Unanswered))

    def record(self, log: GuardLog) -> None:
        _add(log.unanswered, self.kind)


@dataclass(frozen=True)
class MovedCitation(Finding):
    """A sentence's citation moved to the passage that holds what it says (mended)."""

    claim: str  # the figure, or the start of the sentence
    old: tuple[int, ...]
    new: tuple[int, ...]
    blocking: ClassVar[bool] = False

    def __str__(self) -> str:
        marks = "".join(f"[{n}]" for n in self.old) + "→" + "".join(f"[{n}]" for n in self.new)
        return f"{self.claim}: {marks}"

    def record(self, log: GuardLog) -> None:
        log.moved_citations.append(str(self))


_SLOT_WORDS = {"period": "年份或时期", "subject": "地区或对象", "status": "目标或实际完成"}


@dataclass(frozen=True)
class WrongFact(Finding):
    """A figure that is a real figure of a cited passage, but of another period, subject or
    status than the question asks (the 2025 target for the completed figure)."""

    figure: str
    slot: str  # period | subject | status
    asked: str  # what the question fixes
    found: str  # what the figure is

    @classmethod
    def describe(cls, group: Sequence[Finding]) -> str:
        said = "；".join(
            f"{f.figure}是{f.found}的数字，问题问的是{f.asked}（{_SLOT_WORDS[f.slot]}不符）"
            for f in group
            if isinstance(f, WrongFact)
        )
        return said

    def record(self, log: GuardLog) -> None:
        _add(log.wrong_facts, f"{self.figure}: {self.slot} {self.found} ≠ {self.asked}")


# The order in which the regeneration prompt names what is wrong.
_PROBLEM_ORDER: tuple[type[Finding], ...] = (
    DroppedCitation,
    Uncited,
    UngroundedFigure,
    MissingAskedTerm,
    MissingQuoted,
    WrongFact,
    Unanswered,
)

F = TypeVar("F", bound=Finding)


@dataclass
class GuardReport:
    text: str  # the answer with invalid citations removed (and moved ones mended)
    cited: list[int]  # valid passage numbers, in order of first use
    findings: list[Finding] = field(default_factory=list)
    refused: bool = False  # the model said the passages do not contain the answer

    def of(self, kind: type[F]) -> list[F]:
        return [f for f in self.findings if isinstance(f, kind)]

    @property
    def ok(self) -> bool:
        """A refusal is acceptable as it is; an answer must cite and be grounded."""
        return self.refused or not any(f.blocking for f in self.findings)

    def problems(self) -> str:
        """What is wrong, in Chinese, for the regeneration prompt."""
        groups = ((kind, self.of(kind)) for kind in _PROBLEM_ORDER)
        return "；".join(kind.describe(group) for kind, group in groups if group)

    def record(self, log: GuardLog) -> None:
        for finding in self.findings:
            finding.record(log)

    # Read by tests and the UI: the findings of each kind as plain values.
    @property
    def dropped_citations(self) -> list[int]:
        return [f.n for f in self.of(DroppedCitation)]

    @property
    def ungrounded_numbers(self) -> list[str]:
        return [f.figure for f in self.of(UngroundedFigure)]

    @property
    def moved_citations(self) -> list[str]:
        return [str(f) for f in self.of(MovedCitation)]

    @property
    def missing_question_numbers(self) -> list[str]:
        return [f.term for f in self.of(MissingAskedTerm)]

    @property
    def missing_quoted(self) -> list[str]:
        return [f.phrase for f in self.of(MissingQuoted)]

    @property
    def unanswered(self) -> list[str]:
        return [f.kind for f in self.of(Unanswered)]

    @property
    def uncited(self) -> bool:
        return bool(self.of(Uncited))

    @property
    def wrong_facts(self) -> list[str]:
        return [f.figure for f in self.of(WrongFact)]


# -------------------------------------------------------------------------------- checks


def check(
    text: str,
    passages: Mapping[int, str],
    question: Question,
    facts: Mapping[int, Sequence[Fact]] | None = None,
) -> GuardReport:
    """Check a draft. `passages` maps passage number -> its text (with its source label),
    `facts` passage number -> the facts read from it."""
    n_passages = max(passages, default=0)
    text, cited, dropped = citations.verify_citations(text, n_passages)
    report = GuardReport(text=text.strip(), cited=cited)
    report.findings.extend(DroppedCitation(n) for n in dropped)
    # "Not in the passages" with nothing else said is a refusal; a partial answer that also
    # says one part is missing is an answer and is checked like one.
    claims = [seg for seg in _pieces(text) if not is_refusal(seg) and _substantive(seg)]
    if is_refusal(text) and not claims:
        report.refused = True
        return report
    if not cited:
        report.findings.append(Uncited())
    forms = {n: match_forms(p) for n, p in passages.items()}
    report.text = _ground(text, passages, forms, question, report).strip()
    report.cited = citations.verify_citations(report.text, n_passages)[1]
    report.findings.extend(
        MissingQuoted(q) for q in question.quoted if not any(q in forms[c][0] for c in report.cited)
    )
    report.findings.extend(Unanswered(kind) for kind in unanswered(" ".join(claims), question))
    if facts:
        report.findings.extend(wrong_facts(report.text, facts, question))
    if report.cited:
        report.findings.extend(
            MissingAskedTerm(n)
            for n in dict.fromkeys(question.match_numbers)
            if not any(has_number(n, form) for c in report.cited for form in forms[c])
        )
    return report


def _ground(
    text: str,
    passages: Mapping[int, str],
    forms: Mapping[int, tuple[str, ...]],
    question: Question,
    report: GuardReport,
) -> str:
    """Each sentence's figures checked against the passages it cites; its citation moved
    when what it says is clearly in another passage. Returns the mended text."""
    topic = han_bigrams(for_match(question.norm))
    exempt = set(question.match_numbers)
    cited = report.cited
    ungrounded: list[str] = []
    pieces: list[str] = []
    for piece in _pieces(text):
        refs = citations.cited(piece)
        converted, wrong = _english_amounts(piece, refs or cited, passages)
        figs = [f for f in figures(piece) if f.number not in exempt | converted]
        lost = [f for f in figs if not _grounded(f, refs or cited, forms)]
        for amount in wrong:
            if amount not in ungrounded:
                ungrounded.append(amount)
                report.findings.append(UngroundedFigure(amount))
        holders = _holders(figs, forms) if lost and refs else None
        if holders:
            piece = _recite(piece, holders)
            report.findings.extend(MovedCitation(f.text, tuple(refs), tuple(holders)) for f in lost)
            lost = []
        elif refs and not figs and (better := _better_source(piece, refs, passages, topic)):
            report.findings.append(MovedCitation(_clip(piece), tuple(refs), (better,)))
            piece = _recite(piece, [better])
        for f in lost:
            if f.text not in ungrounded:
                ungrounded.append(f.text)
                report.findings.append(UngroundedFigure(f.text))
        pieces.append(piece)
    return "".join(pieces)


_EN_SCALE = {
    "trillion": 1e12,
    "hundred million": 1e8,
    "billion": 1e9,
    "million": 1e6,
    "thousand": 1e3,
}
_EN_AMOUNT = re.compile(
    r"(?<![\d.])(\d+(?:,\d{3})*(?:\.\d+)?)\s*(trillion|hundred million|billion|million|thousand)"
    r"(?:\s*(?:yuan|rmb|cny))?",
    re.IGNORECASE,
)


def _english_amounts(
    piece: str, refs: list[int], passages: Mapping[int, str]
) -> tuple[set[str], list[str]]:
    """Amounts an English answer converts ("237.53 billion yuan" for 2375.3亿元): checked by
    value against the cited passages' figures. Returns the numbers rightly converted (not
    to be looked up as written) and the amounts that are no figure of them ("2375.3 billion
    yuan" for 2375.3亿元, or "30.2 billion" for 30.2亿元)."""
    converted: set[str] = set()
    wrong: list[str] = []
    amounts = list(_EN_AMOUNT.finditer(piece))
    if not amounts:
        return converted, wrong
    held = [
        to_base(m.value, m.unit)[0] for n in refs for m in find_mentions(for_search(passages[n]))
    ]
    for a in amounts:
        number = a.group(1).replace(",", "")
        value = float(number) * _EN_SCALE[a.group(2).lower()]
        if any(abs(value - h) <= 0.005 * h for h in held if h > 0):
            converted.add(number)
        else:
            wrong.append(a.group(0))
            converted.add(number)  # reported once, as the amount
    return converted, wrong


def wrong_facts(
    text: str, facts: Mapping[int, Sequence[Fact]], question: Question
) -> list[WrongFact]:
    """Each figure of the answer, looked up among the facts of the passages its sentence
    cites: when it is one of them and that fact contradicts what the question fixes about
    its metric (period, subject, status), it is the wrong figure, however real."""
    found: list[WrongFact] = []
    for piece in _pieces(text):
        refs = citations.cited(piece)
        for fig in figures(piece):
            if fig.number in question.given_figures:
                continue
            same = [f for n in refs for f in facts.get(n, ()) if _same_figure(fig, f)]
            verdicts = [_verdict(question, f) for f in same]
            verdicts = [v for v in verdicts if v is not ...]
            if verdicts and all(v is not None for v in verdicts):
                found.append(WrongFact(fig.text, *verdicts[0]))  # type: ignore[misc]
    return found


def _same_figure(fig: Figure, fact: Fact) -> bool:
    value, unit = to_base(float(fig.number), fig.scale + fig.unit)
    base_value, base_unit = fact.base
    same_value = abs(value - base_value) <= 1e-9 * max(abs(value), 1.0)
    return same_value and (not fig.unit or unit == base_unit or fact.unit.endswith(fig.unit))


def _verdict(question: Question, fact: Fact):  # type: ignore[no-untyped-def]
    """None when the fact is what some part of the question asks; (slot, asked, found)
    when it is of that part's metric but not its period, subject or status; ... when no
    part asks for its metric (the figure is context, not the answer)."""
    verdict = ...
    for asked in question.asks:
        if metric_match(asked, fact) < FACT_METRIC:
            continue
        slot = failed_slot(asked, fact, HOME)
        if slot is None or slot not in _SLOT_WORDS:
            return None
        verdict = (slot, _describe(asked, slot), _describe_fact(fact, slot))
    return verdict


FACT_METRIC = 0.65  # as answer.facts.METRIC_MATCH: the same measure


def _describe(asked: FactAsked, slot: str) -> str:
    if slot == "period" and asked.period is not None:
        return asked.period.zh()
    if slot == "subject":
        return asked.subject or HOME
    return "目标" if asked.status == "target" else "实际完成"


def _describe_fact(fact: Fact, slot: str) -> str:
    if slot == "period":
        return fact.period.zh() if fact.period else "未知时期"
    if slot == "subject":
        return fact.subject
    return "目标" if fact.status == "target" else "实际完成"


def unanswered(claims: str, question: Question) -> list[AskedValue]:
    """The kinds of value the question asks for that the answer's claims do not give.

    Figures the question itself contains do not count as given: "2019年…" is not an answer
    to "2019年…多少个?", nor "四个先锋" to "争当“四个先锋”,要树立几个意识?".
    """
    raw = citations.strip(claims)
    text = for_match(raw)
    if "?" in text or any(q in text for q in question.interrogatives):
        return ["echo"]
    new = [f for f in figures(raw) if f.number not in question.given_figures]
    missing: list[AskedValue] = []
    counts = question.english_amounts if question.english else len(question.asked_units)
    if counts and len({f.number for f in new}) < counts:
        missing.append("count")
    if question.asks_date and not (
        # "一百年" is a span, not a year: a date has a four-digit year, a month or a day.
        any(f.unit in ("月", "日", "号") or is_year(f.number) for f in new)
        or (question.english and _MONTHS_EN.search(raw))
    ):
        missing.append("date")
    if question.asks_ordinal and not _ORDINAL_GIVEN.search(text):
        missing.append("ordinal")
    return missing


def _pieces(text: str) -> list[str]:
    """The text cut into sentences that join back into it. Markers that open a sentence
    belong to the one before ("…亿元。[1]")."""
    out: list[str] = []
    for piece in _SENTENCE_END.split(text):
        lead = _CITES_RUN.match(piece)
        if lead and out:
            out[-1] += lead.group(0)
            piece = piece[lead.end() :]
        if piece:
            out.append(piece)
    return out


def _grounded(fig: Figure, refs: list[int], forms: Mapping[int, tuple[str, ...]]) -> bool:
    return any(occurs(fig, form) for n in refs for form in forms[n])


def _holders(figs: list[Figure], forms: Mapping[int, tuple[str, ...]]) -> list[int] | None:
    """Passages that hold a sentence's figures: the first that holds them all, else the
    first holding each; None when one of them is in no passage (it was invented)."""
    whole = [n for n in sorted(forms) if all(_grounded(f, [n], forms) for f in figs)]
    if whole:
        return whole[:1]
    each = [next((n for n in sorted(forms) if _grounded(f, [n], forms)), None) for f in figs]
    if any(n is None for n in each):
        return None
    return sorted({n for n in each if n is not None})


_MIN_CONTENT = 2  # bigrams a sentence must add to the question before its source is judged
_CONTENT_FOUND = 0.5  # share of them a passage must hold to be the source...
_CONTENT_MARGIN = 0.3  # ... and by how much more than the passages cited


def _better_source(
    piece: str, refs: list[int], passages: Mapping[int, str], topic: set[str]
) -> int | None:
    """For a sentence without figures (a name, a list): the passage that holds what it adds
    to the question, when that is clearly not a passage it cites. The model's wording is
    checked by character pairs, since it copies names and terms from the passage it read."""
    if is_refusal(piece):
        return None
    content = han_bigrams(for_match(citations.strip(piece))) - topic
    if len(content) < _MIN_CONTENT:
        return None
    share = {
        n: len(content & han_bigrams(for_match(p))) / len(content) for n, p in passages.items()
    }
    best = max(sorted(share), key=lambda n: share[n])
    cited = max(share[n] for n in refs)
    if share[best] >= _CONTENT_FOUND and share[best] - cited >= _CONTENT_MARGIN:
        return best
    return None


def _clip(piece: str, limit: int = 12) -> str:
    text = citations.strip(piece).strip()
    return text if len(text) <= limit else text[:limit] + "…"


def _recite(piece: str, holders: list[int]) -> str:
    """The sentence with its markers replaced by `holders`, where its first marker was."""
    first = re.search(r"\[\d+\]", piece)
    assert first is not None
    rest = citations.strip(piece[first.end() :])
    return piece[: first.start()] + "".join(f"[{n}]" for n in holders) + rest


def _substantive(segment: str) -> bool:
    """More than citations and punctuation."""
    return len(re.sub(r"[\W_]", "", citations.strip(segment))) >= 2
