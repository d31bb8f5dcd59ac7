"""The facts of an index generation: stored beside its chunks (facts.jsonl), looked up by
chunk, searched by metric."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from assistant.facts.match import metric_similarity
from assistant.facts.model import Fact, parse_period

FILE = "facts.jsonl"


def fact_to_dict(fact: Fact) -> dict[str, object]:
    row = asdict(fact)
    row["period"] = fact.period.label if fact.period else ""
    return row


def fact_from_dict(row: dict[str, object]) -> Fact:
    data = dict(row)
    data["period"] = parse_period(str(data.get("period") or ""))
    data["at"] = tuple(data.get("at") or (0, 0))  # type: ignore[arg-type]
    return Fact(**data)  # type: ignore[arg-type]


class FactTable:
    def __init__(self, facts: Iterable[Fact] = ()) -> None:
        self.facts = list(facts)
        self._by_chunk: dict[str, list[Fact]] = defaultdict(list)
        self._by_doc: dict[str, list[Fact]] = defaultdict(list)
        self._by_period: dict[str, set[str]] | None = None
        for fact in self.facts:
            self._by_chunk[fact.chunk_id].append(fact)
            self._by_doc[fact.doc_id].append(fact)

    def __len__(self) -> int:
        return len(self.facts)

    def of_chunk(self, chunk_id: str) -> list[Fact]:
        return self._by_chunk.get(chunk_id, [])

    def of_doc(self, doc_id: str) -> list[Fact]:
        return self._by_doc.get(doc_id, [])

    def chunks_with_period(self, label: str) -> set[str]:
        """The chunks with a fact of that period (built once, on first use)."""
        if self._by_period is None:
            self._by_period = defaultdict(set)
            for f in self.facts:
                if f.period is not None:
                    self._by_period[f.period.label].add(f.chunk_id)
        return self._by_period.get(label, set())

    def search(self, metric: str, threshold: float = 0.6) -> list[tuple[float, Fact]]:
        """Facts whose metric names `metric`, most similar first."""
        scored = [(metric_similarity(metric, f.metric), f) for f in self.facts]
        return sorted(((s, f) for s, f in scored if s >= threshold), key=lambda x: -x[0])

    def save(self, folder: Path) -> None:
        with (folder / FILE).open("w", encoding="utf-8") as fh:
            for fact in self.facts:
                fh.write(json.dumps(fact_to_dict(fact), ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, folder: Path) -> FactTable:
        path = folder / FILE
        if not path.exists():
            return cls()  # a generation built before facts were read: the next ingest adds them
        with path.open(encoding="utf-8") as fh:
            return cls(fact_from_dict(json.loads(line)) for line in fh if line.strip())
