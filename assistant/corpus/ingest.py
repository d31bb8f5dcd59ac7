"""The path of a document: load, clean, split, embed, store.

Incremental by content hash: an unchanged file costs no embedding work (its vectors are
copied from the live generation), a changed file replaces its chunks (embedding only those
whose text changed), a removed file's chunks go. The new generation only becomes live once
it is complete.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from assistant.config import Config
from assistant.corpus.chunk import chunk_document
from assistant.corpus.clean import clean_text
from assistant.corpus.load import LoadedFile, LoadError, content_hash, load_file
from assistant.corpus.metadata import MANIFEST, apply_manifest, load_manifest, read_meta
from assistant.index.bm25 import BM25Index
from assistant.index.generations import (
    Manifest,
    check_model,
    commit,
    generation_dir,
    new_generation_id,
    prune,
    read_manifest,
    save_generation,
)
from assistant.index.generations import _load_chunks as load_chunks
from assistant.index.generations import _load_documents as load_documents
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
    embedded_chunks: int = 0
    reused_chunks: int = 0
    repaired_spans: int = 0
    unrecoverable_spans: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    up_to_date: bool = False
    generation: str = ""


def scan(roots: Iterable[Path], extensions: list[str]) -> dict[str, Path]:
    """Files to ingest, keyed by their document id (path relative to the root given)."""
    found: dict[str, Path] = {}
    exts = {e.lower() for e in extensions}
    for root in roots:
        if root.is_file():
            found[root.name] = root
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix.lower() in exts and path.name != MANIFEST:
                found[path.relative_to(root).as_posix()] = path
    return found


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


def ingest(
    cfg: Config,
    roots: list[Path] | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> IngestSummary:
    t0 = time.perf_counter()
    summary = IngestSummary()
    index_dir = cfg.paths.index_dir
    roots = roots or [cfg.paths.sources]
    files = scan(roots, cfg.ingest.extensions)
    overrides: dict[str, dict[str, str]] = {}
    for root in roots:
        if root.is_dir():
            overrides.update(load_manifest(root))

    previous = read_manifest(index_dir)
    live = None if rebuild else previous
    if live is not None and live.index_mode != cfg.index.mode:
        live = None  # another store holds no vectors to reuse: build afresh there
    if live is not None:
        check_model(live)
    old_folder = generation_dir(index_dir, live.generation) if live else None
    old_docs = {d.doc_id: d for d in load_documents(old_folder)} if old_folder else {}
    fingerprint = pipeline_fingerprint(cfg)
    # Another cleaner or chunker version: every document is processed again, but a chunk
    # whose text did not change still reuses its vector.
    stale = live is not None and live.pipeline != fingerprint

    kept: list[Document] = []
    fresh: list[Document] = []
    max_bytes = int(cfg.ingest.max_file_mb * 1_000_000)
    for doc_id, path in files.items():
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
        summary.changed += old is not None
        summary.added += old is None

    current_ids = {d.doc_id for d in kept + fresh}
    summary.removed = len(set(old_docs) - current_ids)
    summary.unchanged = len(kept)
    documents = sorted(kept + fresh, key=lambda d: d.doc_id)
    summary.documents = len(documents)
    for d in documents:
        summary.repaired_spans += d.clean_summary.get("mojibake_repaired", 0)
        summary.unrecoverable_spans += d.clean_summary.get("mojibake_unrecoverable", 0)

    if live is not None and not fresh and not summary.removed and not stale:
        summary.up_to_date = True
        summary.chunks = live.chunks
        summary.generation = live.generation
        summary.seconds = time.perf_counter() - t0
        return summary

    # Read only now: an up-to-date run never needs them, and 88k chunks take seconds to read.
    old_chunks = load_chunks(old_folder) if old_folder else []
    kept_ids = {d.doc_id for d in kept}
    old_ids = {c.chunk_id for c in old_chunks}
    fresh_chunks = [c for d in fresh for c in chunk_document(d, cfg.chunk)]
    reused = [c for c in old_chunks if c.doc_id in kept_ids]
    reused += [c for c in fresh_chunks if c.chunk_id in old_ids]
    new_chunks = [c for c in fresh_chunks if c.chunk_id not in old_ids]
    chunks = reused + new_chunks

    generation = new_generation_id()
    client = connect(cfg.index, index_dir)
    collection = f"{cfg.index.collection}_{generation}"
    store = VectorStore(client, collection, create=True)
    if live is not None and reused:
        summary.reused_chunks = store.copy_from(
            VectorStore(client, live.collection), [c.chunk_id for c in reused]
        )
    dates = {d.doc_id: d.meta.date_num for d in documents}
    if new_chunks:
        from assistant.index.embed import E5Embedding  # only when there is text to embed

        embedder = E5Embedding(cfg.embedding)
        if progress:
            progress.start(len(new_chunks))
        t_embed = time.perf_counter()
        vectors = embedder.embed_passages(
            [c.search_text for c in new_chunks], progress.advance if progress else None
        )
        summary.embed_seconds = time.perf_counter() - t_embed
        store.add(new_chunks, vectors, dates)
        summary.embedded_chunks = len(new_chunks)

    chunks = _document_order(chunks, documents)
    folder = generation_dir(index_dir, generation)
    bm25 = BM25Index.build([c.chunk_id for c in chunks], [c.search_text for c in chunks])
    save_generation(folder, documents, chunks, bm25)
    manifest = new_manifest(generation, collection, len(documents), len(chunks), cfg)
    commit(index_dir, manifest)
    # The previous generation stays for readers that opened it; half-built ones go.
    keep = {generation} | ({previous.generation} if previous else set())
    prune(index_dir, client, cfg.index.collection, keep)

    summary.chunks = len(chunks)
    summary.generation = generation
    summary.seconds = time.perf_counter() - t0
    return summary


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
    """What decides the chunks besides the files: the processing version and chunk sizes."""
    raw = json.dumps([PIPELINE_VERSION, cfg.chunk.model_dump()], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _manifest_changed(old: Document, overrides: dict[str, dict[str, str]], doc_id: str) -> bool:
    """A manifest edit must reach the index even when the file's bytes did not change."""
    override = overrides.get(doc_id, {})
    return any(getattr(old.meta, k) != v for k, v in override.items())


def _document_order(chunks: list[Chunk], documents: list[Document]) -> list[Chunk]:
    rank = {d.doc_id: i for i, d in enumerate(documents)}
    return sorted(chunks, key=lambda c: (rank[c.doc_id], c.start))
