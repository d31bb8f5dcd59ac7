"""The path of a document: load, clean, split, embed, store; as three steps, `diff` (what
changed), `build` (a new generation beside the live one) and `commit_generation`.

Incremental by content hash: an unchanged file costs no embedding work (its vectors are
copied from the live generation), a changed file replaces its chunks (embedding only those
whose text changed). Nothing is removed unless named: a document whose file is gone from the
sources folder stays indexed (and is listed, `IngestSummary.missing_docs`) until it is named
in `remove` (see `corpus/library.py`, which staff's commands and the page call). The new
generation only becomes live once it is complete.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from assistant.config import Config
from assistant.corpus.chunk import chunk_document
from assistant.corpus.clean import clean_text
from assistant.corpus.load import LoadedFile, LoadError, content_hash, load_file
from assistant.corpus.metadata import MANIFEST, apply_manifest, load_manifest, read_meta
from assistant.facts.extract import FACTS_VERSION, extract_facts
from assistant.facts.table import FactTable
from assistant.index.bm25 import BM25Index
from assistant.index.generations import (
    Manifest,
    check_model,
    commit,
    generation_dir,
    load_chunks,
    load_documents,
    new_generation_id,
    prune,
    read_manifest,
    save_generation,
    writer_lock,
)
from assistant.index.vectors import VectorStore, connect
from assistant.models import EMBEDDING_DIM as DIM
from assistant.models import EMBEDDING_MODEL_ID as MODEL_ID
from assistant.models import Chunk, Document
from assistant.textnorm import is_traditional

# Bump when cleaning or chunking changes what a file turns into: the next ingest redoes them.
PIPELINE_VERSION = 2


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, n: int) -> None: ...


class EmptyCorpus(ValueError):
    """An ingest would leave the index without a document; nothing was changed."""


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class IngestSummary:
    documents: int = 0
    chunks: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    added_docs: list[str] = field(default_factory=list)  # the doc ids of the counts above
    changed_docs: list[str] = field(default_factory=list)
    removed_docs: list[str] = field(default_factory=list)
    # Indexed documents whose files are gone from the sources folder: kept, not removed.
    missing_docs: list[str] = field(default_factory=list)
    embedded_chunks: int = 0
    reused_chunks: int = 0
    repaired_spans: int = 0
    unrecoverable_spans: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    facts: int = 0
    facts_seconds: float = 0.0
    up_to_date: bool = False
    generation: str = ""
    # Filled by `corpus.library`: files copied into the sources folder, and files moved out
    # of it (a replaced version, a removed document's file) to where they were kept.
    copied: list[str] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)


def scan(roots: Iterable[Path], extensions: list[str], base: Path | None = None) -> dict[str, Path]:
    """Files to ingest, keyed by their document id: the path relative to `base` (the sources
    folder) for a file inside it, else relative to the root given."""
    found: dict[str, Path] = {}
    exts = {e.lower() for e in extensions}
    for root in roots:
        if root.is_file():
            found[doc_id_of(root, base) or root.name] = root
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix.lower() in exts and path.name != MANIFEST:
                found[doc_id_of(path, base) or path.relative_to(root).as_posix()] = path
    return found


def doc_id_of(path: Path, sources: Path | None) -> str | None:
    """The document id of a file inside the sources folder (its relative path); None for a
    file outside it."""
    if sources is None:
        return None
    try:
        return path.resolve().relative_to(sources.resolve()).as_posix()
    except ValueError:
        return None


def build_document(doc_id: str, loaded: LoadedFile, override: dict[str, str]) -> Document:
    cleaned = clean_text(loaded.text)
    meta = apply_manifest(read_meta(cleaned.text), override)
    return Document(
        doc_id=doc_id,
        path=str(loaded.path),
        content_hash=loaded.content_hash,
        text=cleaned.text,
        meta=meta,
        script="hant" if is_traditional(cleaned.text) else "hans",
        clean_summary=cleaned.report.summary(),
        clean_details=cleaned.report.details(),
        ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


@dataclass
class Plan:
    """What an ingest will do, found by comparing the files with the live generation."""

    previous: Manifest | None  # the live generation before this ingest
    base: Manifest | None  # the generation to reuse chunks and vectors from (None: afresh)
    kept: list[Document]  # unchanged: reused as they are
    fresh: list[Document]  # new or changed: loaded, cleaned and chunked again
    removed: list[str]  # doc ids the index has and the files no longer do
    stale: bool  # another cleaning/chunking version: every document is processed again
    missing: list[str] = field(default_factory=list)  # kept, their files gone from sources

    @property
    def documents(self) -> list[Document]:
        return sorted(self.kept + self.fresh, key=lambda d: d.doc_id)

    @property
    def up_to_date(self) -> bool:
        return self.base is not None and not self.fresh and not self.removed and not self.stale


def ingest(
    cfg: Config,
    roots: list[Path] | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    remove: Collection[str] = (),
) -> IngestSummary:
    """Add and update the files of `roots` (None: the whole sources folder; files outside
    it are indexed where they are, `library.add_files` copies them in first) and remove the
    documents named in `remove`; every other indexed document stays as it is. Diff, build a
    new generation, commit it."""
    t0 = time.perf_counter()
    summary = IngestSummary()
    with writer_lock(cfg.paths.index_dir):
        plan = diff(cfg, roots, rebuild, summary, remove)
        if not plan.documents:
            raise EmptyCorpus(
                "cannot remove every document: the index keeps at least one; add the new reports "
                "first, then remove the old ones"
                if plan.removed
                else f"nothing to ingest: no readable {' '.join(cfg.ingest.extensions)} file in "
                f"{cfg.paths.sources}"
            )
        if plan.up_to_date:
            assert plan.base is not None
            summary.up_to_date = True
            summary.chunks, summary.generation = plan.base.chunks, plan.base.generation
        else:
            manifest = build(cfg, plan, summary, progress)
            commit_generation(cfg, manifest, plan.previous)
            summary.chunks, summary.generation = manifest.chunks, manifest.generation
    summary.seconds = time.perf_counter() - t0
    return summary


def diff(
    cfg: Config,
    roots: list[Path] | None,
    rebuild: bool,
    summary: IngestSummary,
    remove: Collection[str] = (),
) -> Plan:
    """Which files are new, changed or unchanged, which indexed documents are kept and which
    removed; the new and changed files are loaded and cleaned (a file that cannot be is
    skipped with its reason, and what was indexed from it is kept)."""
    sources = cfg.paths.sources
    previous = read_manifest(cfg.paths.index_dir)
    base = None if rebuild else previous
    if base is not None and base.index_mode != cfg.index.mode:
        base = None  # another store holds no vectors to reuse: build afresh there
    if base is not None:
        check_model(base)
    indexed = {d.doc_id: d for d in load_documents(_folder(cfg, previous))} if previous else {}
    old_docs = indexed if base is not None else {}
    # Another cleaner or chunker version: every document is processed again, but a chunk
    # whose text did not change still reuses its vector.
    stale = base is not None and base.pipeline != pipeline_fingerprint(cfg)
    present = scan([sources], cfg.ingest.extensions) if sources.is_dir() else {}
    named = present if roots is None else scan(roots, cfg.ingest.extensions, sources)
    # When the indexed chunks cannot be kept as they are (a rebuild, another store, another
    # pipeline), every document still in the sources folder is read again, not only those named.
    files = {**present, **named} if previous and (base is None or stale) else named
    overrides = _overrides(sources, roots)

    kept: list[Document] = []
    fresh: list[Document] = []
    max_bytes = int(cfg.ingest.max_file_mb * 1_000_000)
    for doc_id, path in files.items():
        if doc_id in remove:
            continue
        old = old_docs.get(doc_id)
        try:
            data_hash = content_hash(path.read_bytes())
        except OSError as err:
            data_hash = ""
            summary.skipped.append(Skipped(str(path), f"unreadable: {err.strerror}"))
        same_input = old and old.content_hash == data_hash and not stale
        if same_input and not _manifest_changed(old, overrides, doc_id):
            kept.append(old)
            continue
        if not data_hash:
            if old:
                kept.append(old)  # keep what was indexed rather than lose it
            continue
        try:
            doc = build_document(doc_id, load_file(path, max_bytes), overrides.get(doc_id, {}))
        except LoadError as err:
            summary.skipped.append(Skipped(str(path), str(err)))
            if old:
                kept.append(old)
            continue
        fresh.append(doc)
        (summary.changed_docs if old is not None else summary.added_docs).append(doc_id)
        summary.changed += old is not None
        summary.added += old is None

    current = {d.doc_id for d in kept + fresh}
    removed, missing = [], []
    for doc_id, doc in indexed.items():
        if doc_id in current:
            continue
        if doc_id in remove:
            removed.append(doc_id)
            continue
        if doc_id not in present:
            missing.append(doc_id)
        if doc_id in old_docs and not stale:
            kept.append(doc)  # not named, or its file is gone: it stays as indexed
        else:
            fresh.append(doc)  # chunked again from the text the index holds
    plan = Plan(previous, base, kept, fresh, sorted(removed), stale, sorted(missing))
    summary.removed_docs, summary.removed = plan.removed, len(plan.removed)
    summary.missing_docs = plan.missing
    summary.unchanged = len(kept)
    summary.documents = len(plan.documents)
    for d in plan.documents:
        summary.repaired_spans += d.clean_summary.get("mojibake_repaired", 0)
        summary.unrecoverable_spans += d.clean_summary.get("mojibake_unrecoverable", 0)
    return plan


def _overrides(sources: Path, roots: list[Path] | None) -> dict[str, dict[str, str]]:
    """Metadata overrides: the sources folder's manifest, and the manifest of a folder
    ingested from outside it (keyed by paths relative to that folder)."""
    overrides = load_manifest(sources) if sources.is_dir() else {}
    for root in roots or []:
        if root.is_dir() and doc_id_of(root, sources) is None:
            overrides.update(load_manifest(root))
    return overrides


def build(
    cfg: Config, plan: Plan, summary: IngestSummary, progress: Progress | None = None
) -> Manifest:
    """A new generation beside the live one: chunks (reused where their text is unchanged),
    vectors (copied for reused chunks, embedded for new ones), BM25, the folder. Nothing
    is live until `commit_generation`."""
    # Read only now: an up-to-date run never needs them, and 88k chunks take seconds to read.
    old_chunks = load_chunks(_folder(cfg, plan.base)) if plan.base else []
    kept_ids = {d.doc_id for d in plan.kept}
    old_ids = {c.chunk_id for c in old_chunks}
    fresh_chunks = [c for d in plan.fresh for c in chunk_document(d, cfg.chunk)]
    reused = [c for c in old_chunks if c.doc_id in kept_ids]
    reused += [c for c in fresh_chunks if c.chunk_id in old_ids]
    new_chunks = [c for c in fresh_chunks if c.chunk_id not in old_ids]

    generation = new_generation_id()
    client = connect(cfg.index, cfg.paths.index_dir)
    collection = f"{cfg.index.collection}_{generation}"
    store = VectorStore(client, collection, create=True)
    if plan.base is not None and reused:
        summary.reused_chunks = store.copy_from(
            VectorStore(client, plan.base.collection), [c.chunk_id for c in reused]
        )
    documents = plan.documents
    if new_chunks:
        summary.embed_seconds = _embed(cfg, store, new_chunks, documents, progress)
        summary.embedded_chunks = len(new_chunks)

    chunks = document_order(reused + new_chunks, documents)
    bm25 = BM25Index.build([c.chunk_id for c in chunks], [c.search_text for c in chunks])
    t = time.perf_counter()
    facts = _facts(cfg, plan, chunks)
    summary.facts, summary.facts_seconds = len(facts), time.perf_counter() - t
    save_generation(generation_dir(cfg.paths.index_dir, generation), documents, chunks, bm25, facts)
    return new_manifest(generation, collection, len(documents), len(chunks), cfg)


def _facts(cfg: Config, plan: Plan, chunks: list[Chunk]) -> FactTable:
    """The extract stage: the facts of new and changed documents are read from their chunks;
    an unchanged document keeps the facts the live generation has of it."""
    old = FactTable.load(_folder(cfg, plan.base)) if plan.base else FactTable()
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    facts = [f for d in plan.kept for f in old.of_doc(d.doc_id)]
    for doc in plan.fresh:
        facts.extend(extract_facts(doc, by_doc.get(doc.doc_id, [])))
    return FactTable(facts)


def _embed(
    cfg: Config,
    store: VectorStore,
    chunks: list[Chunk],
    documents: list[Document],
    progress: Progress | None,
) -> float:
    """Embed and store `chunks`; the seconds spent inside the embedding model."""
    from assistant.index.embed import E5Embedding  # only when there is text to embed

    embedder = E5Embedding(cfg.embedding)
    if progress:
        progress.start(len(chunks))
    t = time.perf_counter()
    vectors = embedder.embed_passages(
        [c.search_text for c in chunks], progress.advance if progress else None
    )
    seconds = time.perf_counter() - t
    store.add(chunks, vectors, {d.doc_id: d.meta.date_num for d in documents})
    return seconds


def commit_generation(cfg: Config, manifest: Manifest, previous: Manifest | None) -> None:
    """Make the new generation live, atomically; the one before stays for readers that
    opened it, and half-built ones go."""
    commit(cfg.paths.index_dir, manifest)
    keep = {manifest.generation} | ({previous.generation} if previous else set())
    client = connect(cfg.index, cfg.paths.index_dir)
    prune(cfg.paths.index_dir, client, cfg.index.collection, keep)


def _folder(cfg: Config, manifest: Manifest) -> Path:
    return generation_dir(cfg.paths.index_dir, manifest.generation)


def new_manifest(
    generation: str, collection: str, documents: int, chunks: int, cfg: Config
) -> Manifest:
    """What a generation records: a later ingest compares its model and pipeline with it."""
    return Manifest(
        generation=generation,
        collection=collection,
        embedding_model=MODEL_ID,
        dim=DIM,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        documents=documents,
        chunks=chunks,
        index_mode=cfg.index.mode,
        pipeline=pipeline_fingerprint(cfg),
    )


def pipeline_fingerprint(cfg: Config) -> str:
    """What decides the chunks and facts besides the files: the processing and fact-reading
    versions and the chunk sizes."""
    raw = json.dumps([PIPELINE_VERSION, FACTS_VERSION, cfg.chunk.model_dump()], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _manifest_changed(old: Document, overrides: dict[str, dict[str, str]], doc_id: str) -> bool:
    """A manifest edit must reach the index even when the file's bytes did not change."""
    override = overrides.get(doc_id, {})
    return any(getattr(old.meta, k) != v for k, v in override.items())


def document_order(chunks: list[Chunk], documents: list[Document]) -> list[Chunk]:
    rank = {d.doc_id: i for i, d in enumerate(documents)}
    return sorted(chunks, key=lambda c: (rank[c.doc_id], c.start))
