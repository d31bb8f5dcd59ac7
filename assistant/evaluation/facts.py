"""Scoring the fact extractor against hand-annotated figure mentions (eval/facts/GUIDE.md):
precision and recall of the mentions found, and the accuracy of each slot.

The documents are cleaned and chunked by the ingest's own code and read by the extractor
the ingest runs; annotations are located in the same normalized text (`for_match`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import Config
from assistant.corpus.chunk import chunk_document
from assistant.corpus.ingest import build_document, scan
from assistant.corpus.load import LoadError, load_file
from assistant.corpus.metadata import load_manifest
from assistant.facts.extract import extract_facts
from assistant.facts.match import metric_similarity
from assistant.facts.model import Fact, to_base
from assistant.models import Document
from assistant.textnorm import for_match, for_search

SLOTS = ("value+unit", "metric", "subject", "period", "status", "kind")
_COUNTERS = set("个项家所条栋座套名场支批类大种件位次轮届户宗处片块部台间张")
METRIC_MATCH = 0.6  # metric_similarity at which an extracted metric names the annotated one


@dataclass(frozen=True)
class Annotation:
    doc: str
    sentence: str
    mention: str
    occurrence: int
    value: float
    value_hi: float | None
    unit: str
    metric: str
    subject: str
    period: str
    status: str
    kind: str

    @classmethod
    def parse(cls, raw: dict[str, object]) -> Annotation:
        value = raw["value"]
        lo, hi = (value[0], value[1]) if isinstance(value, list) else (value, None)
        return cls(
            doc=str(raw["doc"]),
            sentence=str(raw["sentence"]),
            mention=str(raw["mention"]),
            occurrence=int(raw["occurrence"]),  # type: ignore[call-overload]
            value=float(lo),  # type: ignore[arg-type]
            value_hi=float(hi) if hi is not None else None,  # type: ignore[arg-type]
            unit=str(raw["unit"]),
            metric=str(raw["metric"]),
            subject=str(raw["subject"]),
            period=str(raw["period"]),
            status=str(raw["status"]),
            kind=str(raw["kind"]),
        )


@dataclass
class Located:
    """A figure's place in its document's match form: [start, end)."""

    start: int
    end: int

    def overlaps(self, other: Located) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass
class SlotScore:
    correct: int = 0
    matched: int = 0
    annotated: int = 0

    @property
    def precision(self) -> float | None:
        return self.correct / self.matched if self.matched else None

    @property
    def recall(self) -> float | None:
        return self.correct / self.annotated if self.annotated else None


@dataclass
class FactScore:
    annotations: int = 0
    unlocated: int = 0  # annotations whose sentence was not found in the ingested text
    extracted: int = 0  # facts in annotated sentences
    matched: int = 0
    slots: dict[str, SlotScore] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)  # for reading, one line each
    wrong: dict[str, list[str]] = field(default_factory=dict)

    @property
    def precision(self) -> float | None:
        return self.matched / self.extracted if self.extracted else None

    @property
    def recall(self) -> float | None:
        located = self.annotations - self.unlocated
        return self.matched / located if located else None

    def as_dict(self) -> dict[str, object]:
        return {
            "annotations": self.annotations,
            "unlocated": self.unlocated,
            "extracted_in_annotated_sentences": self.extracted,
            "matched": self.matched,
            "mention_precision": self.precision,
            "mention_recall": self.recall,
            "slots": {
                name: {"precision": s.precision, "recall": s.recall, "correct": s.correct}
                for name, s in self.slots.items()
            },
        }


def load_annotations(paths: Iterable[Path]) -> list[Annotation]:
    rows = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(Annotation.parse(json.loads(line)))
    return rows


def ingested_documents(cfg: Config, sources: Path) -> list[tuple[Document, list[Fact]]]:
    """The documents of `sources` as the ingest makes them, with their facts."""
    overrides = load_manifest(sources)
    out = []
    for doc_id, path in scan([sources], cfg.ingest.extensions).items():
        try:
            loaded = load_file(path, int(cfg.ingest.max_file_mb * 1_000_000))
        except LoadError:
            continue
        doc = build_document(doc_id, loaded, overrides.get(doc_id, {}))
        out.append((doc, extract_facts(doc, chunk_document(doc, cfg.chunk))))
    return out


def score_facts(
    annotations: Sequence[Annotation], documents: Sequence[tuple[Document, list[Fact]]]
) -> FactScore:
    score = FactScore(annotations=len(annotations))
    score.slots = {name: SlotScore(annotated=len(annotations)) for name in SLOTS}
    by_doc = {doc.doc_id: (doc, facts) for doc, facts in documents}
    for name in {a.doc for a in annotations}:
        if name not in by_doc:
            continue
        doc, facts = by_doc[name]
        text = for_match(doc.text)
        mine = [a for a in annotations if a.doc == name]
        placed = [(a, _locate_annotation(a, text)) for a in mine]
        score.unlocated += sum(1 for _, at in placed if at is None)
        sentences = [
            (s, s + len(a.sentence))
            for a, at in placed
            if at is not None and (s := text.find(a.sentence)) >= 0
        ]
        found = [(f, _locate_fact(f, doc, text)) for f in facts]
        found = [(f, at) for f, at in found if at is not None]
        in_annotated = [
            (f, at) for f, at in found if any(lo <= at.start < hi for lo, hi in sentences)
        ]
        score.extracted += len(in_annotated)
        used: set[int] = set()
        for a, at in placed:
            if at is None:
                continue
            match = next(
                (i for i, (f, fat) in enumerate(found) if i not in used and fat.overlaps(at)),
                None,
            )
            if match is None:
                score.misses.append(f"{a.doc[:3]} missed {a.mention} in {a.sentence[:40]}")
                continue
            used.add(match)
            score.matched += 1
            _score_slots(score, a, found[match][0])
    return score


def _score_slots(score: FactScore, a: Annotation, f: Fact) -> None:
    results = {
        "value+unit": _same_figure(a, f),
        "metric": metric_similarity(a.metric, f.metric) >= METRIC_MATCH,
        "subject": a.subject == f.subject,
        "period": a.period == (f.period.label if f.period else ""),
        "status": a.status == f.status,
        "kind": a.kind == f.kind,
    }
    shown = {
        "value+unit": f"{f.value:g}{f.unit}",
        "metric": f.metric,
        "subject": f.subject,
        "period": f.period.label if f.period else "",
        "status": f.status,
        "kind": f.kind,
    }
    expected = {
        "value+unit": f"{a.value:g}{a.unit}",
        "metric": a.metric,
        "subject": a.subject,
        "period": a.period,
        "status": a.status,
        "kind": a.kind,
    }
    for slot, ok in results.items():
        s = score.slots[slot]
        s.matched += 1
        s.correct += ok
        if not ok:
            score.wrong.setdefault(slot, []).append(
                f"{a.mention}: {shown[slot]} ≠ {expected[slot]} | {a.sentence[:50]}"
            )


def _same_figure(a: Annotation, f: Fact) -> bool:
    (av, au), (fv, fu) = to_base(a.value, a.unit), to_base(f.value, f.unit)
    if abs(av - fv) > 1e-6 * max(abs(av), 1.0):
        return False
    if (a.value_hi is None) != (f.value_hi is None):
        return False
    return au == fu or ({au, fu} <= _COUNTERS | {""} and (a.kind == "rank" or au in _COUNTERS))


def _locate_annotation(a: Annotation, text: str) -> Located | None:
    sentence = text.find(a.sentence)
    if sentence < 0:
        return None
    at = -1
    for _ in range(a.occurrence):
        at = a.sentence.find(a.mention, at + 1)
        if at < 0:
            return None
    return Located(sentence + at, sentence + at + len(a.mention))


def _locate_fact(f: Fact, doc: Document, text: str) -> Located | None:
    norm = for_search(doc.text[f.start : f.end])
    sentence = for_match(norm)
    where = text.find(sentence)
    if where < 0:
        return None
    start = where + len(for_match(norm[: f.at[0]]))
    return Located(start, start + len(for_match(norm[f.at[0] : f.at[1]])))


def summary_lines(score: FactScore) -> list[str]:
    def pct(x: float | None) -> str:
        return "–" if x is None else f"{x:.3f}"

    lines = [
        f"annotations {score.annotations} (unlocated {score.unlocated}), "
        f"extracted in annotated sentences {score.extracted}, matched {score.matched}",
        f"mentions: precision {pct(score.precision)}  recall {pct(score.recall)}",
    ]
    for name, s in score.slots.items():
        lines.append(f"  {name:<10} precision {pct(s.precision)}  recall {pct(s.recall)}")
    return lines


def error_counts(score: FactScore) -> Counter[str]:
    return Counter({slot: len(rows) for slot, rows in score.wrong.items()})
