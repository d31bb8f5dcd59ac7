"""The facts that answer a question: the facts of the retrieved passages matched, part by
part, to what the question fixes (metric, period, subject, status, kind, unit).

A part is answered by a fact that fits every slot it fixes; a fact of the asked metric that
contradicts one (another year, another district, a target for a result) is a near miss,
kept to say what the sources do hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answer.question import HOME, Question
from assistant.answer.retrieve import Filters, Hints
from assistant.facts.match import Asked, ReportRef, failed_slot, failed_slots, metric_match
from assistant.facts.model import Fact
from assistant.index.live import Index
from assistant.models import FactPoint, Hit
from assistant.textnorm import for_search, han_bigrams

METRIC_MATCH = 0.65  # share of the asked name's character pairs a fact's clause must hold
# A fact of a related name that contradicts the question is a near miss at a lower share:
# "全年引进总部企业" asked, "新增总部企业20家以上" (a 2021-2025 target) held.
MISS_MATCH = 0.4


@dataclass(frozen=True)
class Found:
    fact: Fact
    hit: int  # its passage's place among the hits
    score: float  # metric match


@dataclass(frozen=True)
class PartMatch:
    asked: Asked
    fits: tuple[Found, ...]  # best first
    misses: tuple[tuple[Found, str], ...]  # facts of the metric, with the slot they fail

    @property
    def decided(self) -> bool:
        return bool(self.fits or self.misses)


@dataclass(frozen=True)
class FactMatch:
    parts: tuple[PartMatch, ...]

    @property
    def decided(self) -> bool:
        """Some part of the question was matched against facts of its metric."""
        return any(p.decided for p in self.parts)

    @property
    def answered(self) -> bool:
        """Every part that facts could decide has a fact that fits it."""
        return self.decided and all(p.fits for p in self.parts if p.decided)

    @property
    def found(self) -> list[Found]:
        return [p.fits[0] for p in self.parts if p.fits]

    def first_miss(self) -> tuple[PartMatch, Found, str] | None:
        for part in self.parts:
            if part.misses and not part.fits:
                found, slot = part.misses[0]
                return part, found, slot
        return None


NO_MATCH = FactMatch(())


def named_docs(report: ReportRef | None, index: Index) -> set[str] | None:
    """The documents a named report is (None: none named, or none found by that name)."""
    if report is None:
        return None
    phrase = for_search(report.phrase)
    found = set()
    for doc in index.documents.values():
        title = for_search(doc.meta.title)
        year = int(doc.meta.date[:4]) if doc.meta.date[:4].isdigit() else None
        if report.kind == "work_report":
            if doc.meta.kind == "work_report" and (report.year is None or report.year == year):
                found.add(doc.doc_id)
        elif phrase and (phrase in title or title in phrase):
            found.add(doc.doc_id)
    return found or None


def retrieval_hints(question: Question, index: Index) -> Hints | None:
    """Where the answer should be: the named report's documents, the chunks with facts of
    the asked periods, the documents about the asked districts (see `retrieve.Hints`)."""
    docs: set[str] = set()
    chunks: set[str] = set()
    for asked in question.asks or ():
        docs |= named_docs(asked.report, index) or set()
        if asked.period is not None:
            chunks |= index.facts.chunks_with_period(asked.period.label)
    if not question.asks:
        docs |= named_docs(question.report, index) or set()
    about = subject_docs(question, index)
    if not docs and not chunks and about is None:
        return None
    return Hints(frozenset(docs) or None, frozenset(chunks) or None, about)


def subject_docs(question: Question, index: Index) -> frozenset[str] | None:
    """The documents about the districts the question asks of (the home district when it
    names none, with the documents that name no district); None when that tells nothing:
    no such document, or every document is one."""
    found: set[str] = set()
    for subject in question.subjects:
        found |= index.docs_about(subject)
        if subject == HOME:
            found |= index.docs_about("")
    if not found or len(found) == len(index.documents):
        return None
    return frozenset(found)


def match_facts(question: Question, hits: list[Hit], index: Index, home: str = HOME) -> FactMatch:
    if not question.asks or not len(index.facts):
        return NO_MATCH
    parts: list[PartMatch] = []
    for asked in question.asks:
        docs = named_docs(asked.report, index)
        scored = [
            Found(f, i, metric_match(asked, f))
            for i, h in enumerate(hits)
            if docs is None or h.chunk.doc_id in docs
            for f in index.facts.of_chunk(h.chunk.chunk_id)
            # a figure the question gives ("400多条改革措施…已完成多少条") is not its answer
            if _number(f) not in asked.given
        ]
        previous = parts[-1].fits[0].fact if parts and parts[-1].fits else None
        taken = {id(p.fits[0].fact) for p in parts if p.fits}  # one fact answers one part
        near = sorted(
            (x for x in scored if x.score >= MISS_MATCH and id(x.fact) not in taken),
            key=_ranker(previous, asked, hits),
        )
        fits = tuple(
            x for x in near if x.score >= METRIC_MATCH and failed_slot(asked, x.fact, home) is None
        )
        misses = _closest_first(
            asked, [(x, off) for x in near if (off := failed_slots(asked, x.fact, home))]
        )
        parts.append(PartMatch(asked, fits, misses))
    return FactMatch(tuple(parts))


def _closest_first(
    asked: Asked, misses: list[tuple[Found, tuple[str, ...]]]
) -> tuple[tuple[Found, str], ...]:
    """The miss a refusal quotes is the nearest one: the fewest slots off, then a result
    before a target when the question fixes no status ("2021年上半年…是多少" wants a result,
    so the 2020 figure says more than the 2025 goal). Otherwise in the ranker's order."""

    def distance(miss: tuple[Found, tuple[str, ...]]) -> tuple[int, bool]:
        found, off = miss
        return len(off), asked.status is None and found.fact.status == "target"

    return tuple((found, off[0]) for found, off in sorted(misses, key=distance))


def _number(fact: Fact) -> str:
    return f"{fact.value:g}"


def _sentence(fact: Fact, hits: list[Hit], at: int) -> str:
    chunk = hits[at].chunk
    return for_search(chunk.text[fact.start - chunk.start : fact.end - chunk.start])


def _ranker(previous: Fact | None, asked: Asked, hits: list[Hit]):  # type: ignore[no-untyped-def]
    """The surest name first; then, after a part answered, a fact of the same sentence
    ("已开通地铁线路增至8条,总里程超过42公里"); then a level before its change; then the
    fact whose words and sentence share most with the question ("…项目通过了规划验收"; the
    plan of 国际消费中心核心区 the question names, not another report's same target); then
    the better passage."""
    words = han_bigrams(asked.text)

    def rank(found: Found) -> tuple[float, int, int, int, int, int]:
        fact = found.fact
        near = 0 if previous is not None and fact.start == previous.start else 1
        # its own words ("6个项目通过规划验收") with its sentence's (the plan it is about)
        shared = len(words & han_bigrams(fact.context + fact.clause))
        around = len(words & han_bigrams(_sentence(fact, hits, found.hit)))
        # Asked no kind: the level ("完成了多少": 71.2亿元, not 完成年度预算的53.2%); asked a
        # growth: a rate in % before a contribution in 个百分点.
        if asked.kind is None:
            plain = 0 if fact.kind == "level" else 1
        else:
            plain = 0 if fact.unit == "%" or asked.kind != "change" else 1
        return (-round(found.score, 2), near, plain, -(shared + around), -shared, found.hit)

    return rank


# ------------------------------------------------------------------ a metric over time


def metric_series(
    index: Index,
    metric: str,
    subject: str | None = None,
    kind: str | None = "level",
    filters: Filters | None = None,
) -> list[Fact]:
    """The facts of a metric across documents and periods, oldest first: one per period and
    status (the latest document's when reports repeat a figure). `subject` None: any;
    `filters`: only the documents the question was asked of."""
    found = [f for _, f in index.facts.search(metric, threshold=0.9)]
    if filters is not None:
        found = [f for f in found if _within(index, f, filters)]
    if subject is not None:
        found = [f for f in found if f.subject == subject]
    if kind is not None:
        found = [f for f in found if f.kind == kind]
    latest: dict[tuple[str, str], Fact] = {}
    for fact in found:
        if fact.period is None:
            continue
        key = (fact.period.label, fact.status)
        date = index.documents[fact.doc_id].meta.date if fact.doc_id in index.documents else ""
        kept = latest.get(key)
        kept_date = index.documents[kept.doc_id].meta.date if kept else ""
        if kept is None or date > kept_date:
            latest[key] = fact
    return sorted(latest.values(), key=lambda f: (f.period, f.status))  # type: ignore[arg-type, return-value]


SERIES_MIN = 3  # periods before a metric's facts are worth a chart


def point_of(index: Index, fact: Fact, n: int | None = None) -> FactPoint:
    meta = index.documents[fact.doc_id].meta
    return FactPoint(
        period=fact.period.label if fact.period else "",
        period_zh=fact.period.zh() if fact.period else "",
        value=fact.value,
        unit=fact.unit,
        mention=fact.mention,
        metric=fact.metric,
        subject=fact.subject,
        status=fact.status,
        kind=fact.kind,
        clause=fact.clause,
        doc_id=fact.doc_id,
        title=meta.title,
        date=meta.date,
        chunk_id=fact.chunk_id,
        start=fact.start,
        end=fact.end,
        n=n,
    )


def _within(index: Index, fact: Fact, filters: Filters) -> bool:
    doc = index.documents.get(fact.doc_id)
    return doc is not None and filters.allows(fact.doc_id, doc.meta.date_num)


def answer_series(
    index: Index, facts: FactMatch, cited: list[Hit], filters: Filters | None = None
) -> list[FactPoint]:
    """The metric of the answer's first fact by period, when three or more are known in the
    documents asked of; a point from a cited passage carries that citation's number."""
    found = facts.found
    if not found:
        return []
    first = found[0].fact
    series = metric_series(index, first.metric, first.subject, first.kind, filters)
    if len({f.period for f in series}) < SERIES_MIN:
        return []
    number = {h.chunk.chunk_id: i + 1 for i, h in enumerate(cited)}
    return [point_of(index, f, number.get(f.chunk_id)) for f in series]
