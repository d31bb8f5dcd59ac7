"""Building a scaled index for the bench: the real 1x index plus synthetic reports.

The generation is written with the same classes and functions as `ingest` (VectorStore.add,
BM25Index.build, save_generation, commit), so what `assistant ask` opens afterwards is an
ordinary index; only the embedding model is skipped (see `synth` for the vectors). The
synthetic reports are also written as files under the sources folder, with the content
hash the index records, so an unchanged re-ingest at this scale can be measured for real.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.bench import synth
from assistant.config import Config
from assistant.corpus.ingest import document_order, new_manifest
from assistant.corpus.metadata import MANIFEST
from assistant.facts.extract import extract_facts
from assistant.facts.model import Fact
from assistant.facts.reader import HOME
from assistant.facts.table import FactTable
from assistant.index.bm25 import BM25Index
from assistant.index.generations import (
    commit,
    generation_dir,
    new_generation_id,
    save_generation,
)
from assistant.index.live import Index
from assistant.index.vectors import VectorStore, connect
from assistant.models import Chunk, Document

ADD_BATCH = 4096  # chunks per VectorStore.add: bounds memory at 1000x


@dataclass
class ScaleBuild:
    documents: int
    chunks: int
    seconds: float
    generate_seconds: float  # synthetic text, files and vectors
    store_seconds: float  # Chroma adds
    bm25_seconds: float
    save_seconds: float  # chunks, documents and BM25 files, manifest
    facts_seconds: float = 0.0  # reading the synthetic documents' facts (inside generate)
    # Synthetic facts about a district the real reports are about (claims about Luohu the
    # real reports do not make), and those of them that restate a real fact (same subject,
    # metric, period, status, kind and unit) with another value (see `synth`).
    home_facts: int = 0
    restated_facts: int = 0


@dataclass
class _Pending:
    """Synthetic chunks waiting to be added to the vector store in one batch."""

    chunks: list[Chunk]
    vectors: list[np.ndarray]
    dates: dict[str, int]

    def __len__(self) -> int:
        return len(self.chunks)


def build_scaled(
    src: Config,
    dst: Config,
    scale: int,
    seed: int,
    places: tuple[str, ...] = tuple(synth.DISTRICTS),
) -> ScaleBuild:
    """`dst`'s index: `src`'s real documents and (scale - 1) times as many synthetic ones,
    about `places` (see `synth.generate`)."""
    t0 = time.perf_counter()
    real = Index.open(src)
    real_docs = sorted(real.documents.values(), key=lambda d: d.doc_id)
    vectors = real.vectors.vectors_of([c.chunk_id for c in real.chunks])
    copy_real_sources(src.paths.sources, dst.paths.sources, real_docs)

    generation = new_generation_id()
    client = connect(dst.index, dst.paths.index_dir)
    collection = f"{dst.index.collection}_{generation}"
    store = VectorStore(client, collection, create=True)
    timer = {"generate": 0.0, "store": 0.0, "facts": 0.0}

    def flush(pending: _Pending) -> _Pending:
        if pending:
            t = time.perf_counter()
            store.add(pending.chunks, np.vstack(pending.vectors), pending.dates)
            timer["store"] += time.perf_counter() - t
        return _Pending([], [], {})

    flush(_Pending(real.chunks, [vectors], {d.doc_id: d.meta.date_num for d in real_docs}))
    documents, chunks = list(real_docs), list(real.chunks)
    facts = list(real.facts.facts)
    restated = Restated.of(real.facts.facts, {d.meta.subject or HOME for d in real_docs})
    pending = _Pending([], [], {})
    n_synth = len(real_docs) * (scale - 1)
    t = time.perf_counter()
    made_docs = synth.generate(real_docs, real.chunks, n_synth, seed, places)
    # A made report byte-identical to an earlier one (it happens past some thousands) would be
    # folded into it by the first real ingest, which would then rebuild the generation: it is
    # not made twice, so the index is the one an ingest of these files keeps.
    made_hashes = {d.content_hash for d in real_docs}
    for k, made in enumerate(made_docs):
        if made.document.content_hash in made_hashes:
            continue
        made_hashes.add(made.document.content_hash)
        write_synthetic(dst.paths.sources, made.document)
        documents.append(made.document)
        chunks.extend(made.chunks)
        tf = time.perf_counter()
        read = extract_facts(made.document, made.chunks)
        restated.count(read)
        facts.extend(read)
        timer["facts"] += time.perf_counter() - tf
        pending.chunks.extend(made.chunks)
        pending.vectors.append(synth.perturb(vectors[made.source_rows], seed * 1_000_003 + k))
        pending.dates[made.document.doc_id] = made.document.meta.date_num
        if len(pending) >= ADD_BATCH:
            timer["generate"] += time.perf_counter() - t
            pending = flush(pending)
            t = time.perf_counter()
    timer["generate"] += time.perf_counter() - t
    flush(pending)

    t = time.perf_counter()
    documents.sort(key=lambda d: d.doc_id)
    chunks = document_order(chunks, documents)
    bm25 = BM25Index.build([c.chunk_id for c in chunks], [c.search_text for c in chunks])
    bm25_seconds = time.perf_counter() - t

    t = time.perf_counter()
    folder = generation_dir(dst.paths.index_dir, generation)
    manifest = new_manifest(generation, collection, len(documents), len(chunks), dst)
    save_generation(folder, documents, chunks, bm25, FactTable(facts), manifest)
    commit(dst.paths.index_dir, manifest)
    save_seconds = time.perf_counter() - t
    return ScaleBuild(
        documents=len(documents),
        chunks=len(chunks),
        seconds=time.perf_counter() - t0,
        generate_seconds=timer["generate"],
        facts_seconds=timer["facts"],
        store_seconds=timer["store"],
        bm25_seconds=bm25_seconds,
        save_seconds=save_seconds,
        home_facts=restated.home,
        restated_facts=restated.found,
    )


@dataclass
class Restated:
    """Counts the synthetic facts about the real reports' districts (`home`), and those that
    say something else than a real fact about the same thing: subject, metric, period,
    status, kind and unit alike, another value."""

    real: dict[tuple[str, ...], set[float]]
    subjects: set[str]
    home: int = 0
    found: int = 0

    @classmethod
    def of(cls, facts: list[Fact], subjects: set[str]) -> Restated:
        real: dict[tuple[str, ...], set[float]] = {}
        for f in facts:
            if f.period is not None:
                real.setdefault(_key(f), set()).add(round(f.value, 6))
        return cls(real, subjects)

    def count(self, facts: list[Fact]) -> None:
        for f in facts:
            self.home += f.subject in self.subjects
            values = self.real.get(_key(f)) if f.period is not None else None
            if values is not None and round(f.value, 6) not in values:
                self.found += 1


def _key(f: Fact) -> tuple[str, ...]:
    label = f.period.label if f.period is not None else ""
    return (f.subject, f.metric, label, f.status, f.kind, f.unit)


def copy_real_sources(src: Path, dst: Path, documents: list[Document]) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for doc in documents:
        target = dst / doc.doc_id
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / doc.doc_id, target)
    if (src / MANIFEST).exists():
        shutil.copy2(src / MANIFEST, dst / MANIFEST)


def write_synthetic(sources: Path, doc: Document) -> None:
    """The file a re-ingest will hash: exactly the bytes the recorded hash was taken of."""
    path = sources / doc.doc_id
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(doc.text.encode("utf-8"))
    doc.path = str(path)
