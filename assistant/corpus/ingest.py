"""The path of a document: load, clean, split, embed, store; as three steps, `diff` (what
changed), `build` (a new generation beside the live one) and `commit_generation`.

Incremental by content hash: an unchanged file costs no embedding work (its vectors are
copied from the live generation), a changed file replaces its chunks (embedding only those
whose text changed). Nothing is removed unless named: a document whose file is gone from the
sources folder stays indexed (and is listed, `IngestSummary.missing_docs`) until it is named
in `remove` (see `corpus/library.py`, which staff's commands and the page call). The new
generation only becomes live once it is complete.

One writer at a time: the whole ingest holds the index's writer lock (`index/lock.py`), and
first clears what an interrupted ingest left (a half-built generation folder, its
collection, Chroma's segment folders). A file that cannot be read is a skip with its
reason, whatever the loader raised, and keeps what was indexed from it; the same content
under two names is indexed once and listed under both.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from assistant.config import Config
from assistant.corpus.chunk import chunk_document
from assistant.corpus.clean import clean_text
from assistant.corpus.instructions import RULES_VERSION, addressed_spans
from assistant.corpus.load import LoadedFile, LoadError, content_hash, describe_error, load_file
from assistant.corpus.metadata import MANIFEST, apply_manifest, load_manifest, read_meta
from assistant.facts.extract import FACTS_VERSION, extract_facts
from assistant.facts.table import FactTable
from assistant.index.bm25 import BM25Index
from assistant.index.generations import (
    GENERATIONS,
    MANIFEST_FILE,
    Manifest,
    check_model,
    commit,
    generation_dir,
    load_chunks,
    load_documents,
    new_generation_id,
    previous_generation,
    prune,
    read_manifest,
    read_pointer,
    record_skipped,
    save_generation,
    write_atomic,
)
from assistant.index.lock import writer_lock
from assistant.index.vectors import VectorStore, connect, reclaim
from assistant.models import EMBEDDING_DIM as DIM
from assistant.models import EMBEDDING_MODEL_ID as MODEL_ID
from assistant.models import Chunk, Document
from assistant.textnorm import is_traditional

# Bump when cleaning or chunking changes what a file turns into: the next ingest redoes them.
PIPELINE_VERSION = 3
ADDRESSED = "addressed_to_assistant"  # the clean report's key for flagged passages


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, n: int) -> None: ...


@dataclass
class Skipped:
    path: str
    reason: str
    doc_id: str = ""
    content_hash: str = ""  # the bytes that could not be used ("" unreadable, a folder)


class EmptyCorpus(ValueError):
    """An ingest would leave the index without a document; nothing was changed."""


@dataclass
class Duplicate:
    """A file whose content is already indexed under another name: listed, not indexed."""

    path: str
    same_as: str  # the doc id it is indexed under


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
    duplicates: list[Duplicate] = field(default_factory=list)
    # doc id -> its passages addressed to an assistant (kept out of answers), all documents
    flagged: dict[str, list[str]] = field(default_factory=dict)
    generations_removed: int = 0  # old ones, and those an interrupted ingest left
    disk_reclaimed_mb: float = 0.0  # Chroma segment folders and free pages given back
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


@dataclass
class Unreadable:
    """A folder that could not be listed: the documents indexed from it stay."""

    path: Path
    prefix: str  # the doc ids of its files start with this ("" for a whole root)
    reason: str


@dataclass
class Scan:
    files: dict[str, Path]  # document id -> file
    unreadable: list[Unreadable]


def scan(roots: Iterable[Path], extensions: list[str], base: Path | None = None) -> dict[str, Path]:
    """Files to ingest, keyed by their document id: the path relative to `base` (the sources
    folder) for a file inside it, else relative to the root given."""
    return scan_folders(roots, extensions, base).files


def scan_folders(roots: Iterable[Path], extensions: list[str], base: Path | None = None) -> Scan:
    """The files to ingest (ids as `scan` gives them), and the folders that could not be
    listed (pathlib's glob skips those without a word, and their documents would silently
    leave the index)."""
    found: dict[str, Path] = {}
    unreadable: list[Unreadable] = []
    exts = {e.lower() for e in extensions}
    for root in roots:
        if root.is_file():
            found[doc_id_of(root, base) or root.name] = root
            continue

        def failed(err: OSError, root: Path = root) -> None:
            folder = Path(err.filename) if err.filename else root
            rel = doc_id_of(folder, base)
            if rel is None:
                rel = folder.relative_to(root).as_posix() if folder != root else ""
            prefix = f"{rel}/" if rel and rel != "." else ""
            unreadable.append(Unreadable(folder, prefix, err.strerror or str(err)))

        for folder, dirs, names in os.walk(root, onerror=failed):
            dirs.sort()
            for name in sorted(names):
                path = Path(folder) / name
                if path.suffix.lower() in exts and name != MANIFEST and path.is_file():
                    found[doc_id_of(path, base) or path.relative_to(root).as_posix()] = path
    return Scan(dict(sorted(found.items())), unreadable)


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
    flagged = addressed_spans(cleaned.text)
    summary, details = cleaned.report.summary(), cleaned.report.details()
    summary[ADDRESSED] = len(flagged)
    details[ADDRESSED] = [_snippet(cleaned.text[s:e]) for s, e in flagged]
    return Document(
        doc_id=doc_id,
        path=str(loaded.path),
        content_hash=loaded.content_hash,
        text=cleaned.text,
        meta=meta,
        script="hant" if is_traditional(cleaned.text) else "hans",
        clean_summary=summary,
        clean_details=details,
        ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
        flagged=[[s, e] for s, e in flagged],
    )


def _snippet(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def flagged_documents(documents: Iterable[Document]) -> dict[str, list[str]]:
    """doc id -> the passages of it addressed to an assistant (as reported at ingest)."""
    return {d.doc_id: d.clean_details.get(ADDRESSED, []) for d in documents if d.flagged}


@dataclass
class Plan:
    """What an ingest will do, found by comparing the files with the live generation."""

    previous: Manifest | None  # the live generation before this ingest
    base: Manifest | None  # the generation to reuse chunks and vectors from (None: afresh)
    kept: list[Document]  # unchanged: reused as they are
    fresh: list[Document]  # new or changed: loaded, cleaned and chunked again
    removed: list[str]  # doc ids named to be removed
    stale: bool  # another cleaning/chunking version: every document is processed again
    missing: list[str] = field(default_factory=list)  # kept, their files gone from sources
    relisted: bool = False  # a kept document gained or lost a name with its content

    @property
    def documents(self) -> list[Document]:
        return sorted(self.kept + self.fresh, key=lambda d: d.doc_id)

    @property
    def up_to_date(self) -> bool:
        return (
            self.base is not None
            and not self.fresh
            and not self.removed
            and not self.stale
            and not self.relisted
        )


def ingest(
    cfg: Config,
    roots: list[Path] | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    remove: Collection[str] = (),
    on_wait: Callable[[str], None] | None = None,
) -> IngestSummary:
    """Add and update the files of `roots` (None: the whole sources folder; files outside
    it are indexed where they are, `library.add_files` copies them in first) and remove the
    documents named in `remove`; every other indexed document stays as it is. Diff, build a
    new generation, commit it, holding the index's writer lock throughout (`on_wait` hears
    of another ingest holding it; `ingest.when_locked` decides whether to wait or refuse:
    IndexBusy)."""
    t0 = time.perf_counter()
    lock = writer_lock(
        cfg.paths.index_dir, cfg.ingest.when_locked, cfg.ingest.lock_wait_seconds, on_wait
    )
    with lock:
        summary = IngestSummary()
        tidy(cfg, summary)
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
            commit_generation(cfg, manifest, plan.previous, summary)
            summary.chunks, summary.generation = manifest.chunks, manifest.generation
        record_skipped(cfg.paths.index_dir, [asdict(s) for s in summary.skipped])
    summary.seconds = time.perf_counter() - t0
    return summary


def tidy(cfg: Config, summary: IngestSummary) -> None:
    """Repair a damaged pointer, and clear what interrupted ingests left: generation
    folders that are neither live nor the one before (a half-built one has no manifest),
    with their collections and Chroma's segment folders. Costs nothing (not even opening
    Chroma) when there is nothing to do."""
    index_dir = cfg.paths.index_dir
    pointer = read_pointer(index_dir)
    live = pointer.manifest
    if live is not None and pointer.problem:
        commit(index_dir, live)  # a damaged pointer: the generation standing in is live
    if live is not None:
        own = generation_dir(index_dir, live.generation) / MANIFEST_FILE
        if own.parent.is_dir() and not own.exists():  # built before generations kept one
            write_atomic(own, json.dumps(asdict(live), indent=2))
    previous = previous_generation(index_dir, live)
    keep = {m.generation for m in (live, previous) if m is not None}
    root = index_dir / GENERATIONS
    leftovers = [f for f in root.iterdir() if f.name not in keep] if root.is_dir() else []
    if leftovers:
        _prune(cfg, keep, summary)


def _prune(cfg: Config, keep: set[str], summary: IngestSummary) -> None:
    client = connect(cfg.index, cfg.paths.index_dir)
    dropped = prune(cfg.paths.index_dir, client, cfg.index.collection, keep)
    summary.generations_removed += len(dropped)
    if cfg.index.mode == "embedded":
        summary.disk_reclaimed_mb += reclaim(cfg.paths.index_dir).bytes_freed / 1e6


@dataclass
class _Live:
    """What the index holds now, and what of it an ingest may reuse."""

    previous: Manifest | None  # the live generation
    base: Manifest | None  # the one to reuse chunks and vectors from (None: afresh)
    indexed: dict[str, Document]  # every document of the live generation
    old_docs: dict[str, Document]  # those whose chunks may be reused ({} without a base)
    stale: bool  # another cleaner or chunker version: every document processed again


def _live(cfg: Config, rebuild: bool) -> _Live:
    previous = read_manifest(cfg.paths.index_dir)
    base = None if rebuild else previous
    if base is not None and base.index_mode != cfg.index.mode:
        base = None  # another store holds no vectors to reuse: build afresh there
    if base is not None:
        check_model(base)
    indexed = {d.doc_id: d for d in load_documents(_folder(cfg, previous))} if previous else {}
    # Another cleaner or chunker version: every document is processed again, but a chunk
    # whose text did not change still reuses its vector.
    stale = base is not None and base.pipeline != pipeline_fingerprint(cfg)
    return _Live(previous, base, indexed, indexed if base is not None else {}, stale)


@dataclass
class _Sorting:
    """The documents of the next generation as the diff sorts them."""

    kept: list[Document] = field(default_factory=list)  # reused as they are
    fresh: list[Document] = field(default_factory=list)  # chunked again
    relisted: bool = False  # a kept document gained or lost a name with its content

    def keep(self, doc: Document, also: list[str]) -> None:
        self.relisted |= doc.also != also
        self.kept.append(replace(doc, also=also) if doc.also != also else doc)

    @property
    def ids(self) -> set[str]:
        return {d.doc_id for d in self.kept + self.fresh}


def diff(
    cfg: Config,
    roots: list[Path] | None,
    rebuild: bool,
    summary: IngestSummary,
    remove: Collection[str] = (),
) -> Plan:
    """Which files are new, changed or unchanged, which indexed documents are kept and which
    removed; the new and changed files are loaded and cleaned (a file that cannot be is
    skipped with its reason, and what was indexed from it is kept, as are the documents of
    a folder that could not be listed)."""
    live = _live(cfg, rebuild)
    sources, exts = cfg.paths.sources, cfg.ingest.extensions
    present = scan_folders([sources], exts) if sources.is_dir() else Scan({}, [])
    named = present if roots is None else scan_folders(roots, exts, sources)
    # When the indexed chunks cannot be kept as they are (a rebuild, another store, another
    # pipeline), every document still in the sources folder is read again, not only those named.
    reread = live.previous is not None and (live.base is None or live.stale)
    files = {**present.files, **named.files} if reread else named.files
    files = {doc_id: path for doc_id, path in files.items() if doc_id not in remove}

    hashes, errors = _hashes(files)
    # Indexed documents not read again take part with the hash they were indexed with, so a
    # file added under a new name is found identical to one indexed before.
    held = {i: d.content_hash for i, d in live.indexed.items() if i not in remove}
    aliases = same_content({**held, **hashes}, live.old_docs)
    names: dict[str, list[str]] = {}
    for alias, canonical in aliases.items():
        names.setdefault(canonical, []).append(alias)
        if alias in files:
            summary.duplicates.append(Duplicate(str(files[alias]), canonical))

    sorting = _Sorting()
    unique = {i: p for i, p in files.items() if i not in aliases}
    _read(cfg, unique, _overrides(sources, roots), live, hashes, errors, names, sorting, summary)
    unreadable = {u.path: u for u in present.unreadable + named.unreadable}.values()
    _report_unreadable(unreadable, live.indexed, sorting.ids | aliases.keys(), summary)

    # Every other indexed document stays (an alias is listed under the one indexed for it).
    rest = [d for i, d in live.indexed.items() if i not in sorting.ids | aliases.keys()]
    removed = sorted(d.doc_id for d in rest if d.doc_id in remove)
    hidden = [u.prefix for u in unreadable]  # their files could not be seen, not gone
    missing = []
    for doc in (d for d in rest if d.doc_id not in remove):
        if doc.doc_id not in present.files and not doc.doc_id.startswith(tuple(hidden)):
            missing.append(doc.doc_id)
        if doc.doc_id in live.old_docs and not live.stale:
            sorting.keep(doc, names.get(doc.doc_id, []))  # not named, or its file is gone
        else:  # chunked again from the text the index holds
            sorting.fresh.append(replace(doc, also=names.get(doc.doc_id, [])))
    sorting.relisted |= any(a in live.old_docs for a in aliases)  # were indexed on their own
    plan = Plan(
        live.previous,
        live.base,
        sorting.kept,
        sorting.fresh,
        removed,
        live.stale,
        sorted(missing),
        sorting.relisted,
    )
    _summarize(plan, summary)
    return plan


def _read(
    cfg: Config,
    files: dict[str, Path],
    overrides: dict[str, dict[str, str]],
    live: _Live,
    hashes: dict[str, str],
    errors: dict[str, str],
    names: dict[str, list[str]],
    sorting: _Sorting,
    summary: IngestSummary,
) -> None:
    """Each file: kept as indexed when its bytes and metadata did not change, else loaded
    and cleaned; one that cannot be is a skip with its reason, and keeps what was indexed."""
    max_bytes = int(cfg.ingest.max_file_mb * 1_000_000)
    for doc_id, path in files.items():
        old, data_hash, also = live.old_docs.get(doc_id), hashes[doc_id], names.get(doc_id, [])
        same_input = old and old.content_hash == data_hash and not live.stale
        if old and same_input and not _manifest_changed(old, overrides, doc_id):
            sorting.keep(old, also)
            continue
        if data_hash:
            try:
                doc = build_document(doc_id, load_file(path, max_bytes), overrides.get(doc_id, {}))
            except LoadError as err:
                errors[doc_id] = str(err)
            except Exception as err:  # any fault of a loader: a skip with its reason
                errors[doc_id] = f"failed: {describe_error(err)}"
            else:
                doc.also = also
                sorting.fresh.append(doc)
                (summary.changed_docs if old is not None else summary.added_docs).append(doc_id)
                summary.changed += old is not None
                summary.added += old is None
                continue
        note = "; what was indexed from it is kept" if old else ""
        summary.skipped.append(Skipped(str(path), errors[doc_id] + note, doc_id, data_hash))
        if old:
            sorting.kept.append(old)  # keep what was indexed rather than lose it


def _report_unreadable(
    folders: Iterable[Unreadable],
    indexed: dict[str, Document],
    placed: set[str],
    summary: IngestSummary,
) -> None:
    """A folder that could not be listed is a skip; the documents indexed from it stay."""
    for folder in folders:
        count = sum(1 for i in indexed if i.startswith(folder.prefix) and i not in placed)
        summary.skipped.append(
            Skipped(
                str(folder.path),
                f"unreadable folder: {folder.reason}; the {count} documents indexed "
                "from it are kept",
            )
        )


def _summarize(plan: Plan, summary: IngestSummary) -> None:
    summary.removed_docs, summary.removed = plan.removed, len(plan.removed)
    summary.missing_docs = plan.missing
    summary.unchanged = len(plan.kept)
    summary.documents = len(plan.documents)
    summary.flagged = flagged_documents(plan.documents)
    for d in plan.documents:
        summary.repaired_spans += d.clean_summary.get("mojibake_repaired", 0)
        summary.unrecoverable_spans += d.clean_summary.get("mojibake_unrecoverable", 0)


def _hashes(files: dict[str, Path]) -> tuple[dict[str, str], dict[str, str]]:
    """doc id -> the hash of its bytes ("" when unreadable), and doc id -> why unreadable."""
    hashes: dict[str, str] = {}
    errors: dict[str, str] = {}
    for doc_id, path in files.items():
        try:
            hashes[doc_id] = content_hash(path.read_bytes())
        except OSError as err:
            hashes[doc_id], errors[doc_id] = "", f"unreadable: {err.strerror or err}"
    return hashes, errors


def _overrides(sources: Path, roots: list[Path] | None) -> dict[str, dict[str, str]]:
    """Metadata overrides: the sources folder's manifest, and the manifest of a folder
    ingested from outside it (keyed by paths relative to that folder)."""
    overrides = load_manifest(sources) if sources.is_dir() else {}
    for root in roots or []:
        if root.is_dir() and doc_id_of(root, sources) is None:
            overrides.update(load_manifest(root))
    return overrides


def same_content(hashes: dict[str, str], indexed: dict[str, Document]) -> dict[str, str]:
    """Files with the same bytes as another: alias doc id -> the doc id indexed once for all
    of them (one already indexed with that content, else the first by name)."""
    groups: dict[str, list[str]] = {}
    for doc_id, digest in hashes.items():
        if digest:
            groups.setdefault(digest, []).append(doc_id)
    aliases: dict[str, str] = {}
    for digest, ids in groups.items():
        if len(ids) < 2:
            continue
        held = [i for i in sorted(ids) if i in indexed and indexed[i].content_hash == digest]
        canonical = held[0] if held else min(ids)
        aliases.update({i: canonical for i in ids if i != canonical})
    return aliases


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
    folder = generation_dir(cfg.paths.index_dir, generation)
    # The folder first: if this ingest dies, the next one finds it without a manifest and
    # removes it with its collection.
    folder.mkdir(parents=True)
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
    manifest = new_manifest(generation, collection, len(documents), len(chunks), cfg)
    save_generation(folder, documents, chunks, bm25, facts, manifest)
    return manifest


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
    # Identical texts (a report's repeated boilerplate, a long run cut into equal pieces)
    # are embedded once: the model gives them the same vector anyway.
    texts = list(dict.fromkeys(c.search_text for c in chunks))
    if progress:
        progress.start(len(texts))
    t = time.perf_counter()
    unique = embedder.embed_passages(texts, progress.advance if progress else None)
    seconds = time.perf_counter() - t
    row = {text: i for i, text in enumerate(texts)}
    vectors = unique[[row[c.search_text] for c in chunks]]
    store.add(chunks, vectors, {d.doc_id: d.meta.date_num for d in documents})
    return seconds


def commit_generation(
    cfg: Config, manifest: Manifest, previous: Manifest | None, summary: IngestSummary
) -> None:
    """Make the new generation live, atomically; the one before stays for readers that
    opened it, and older ones go with their Chroma data."""
    commit(cfg.paths.index_dir, manifest)
    keep = {manifest.generation} | ({previous.generation} if previous else set())
    _prune(cfg, keep, summary)


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
    versions = [PIPELINE_VERSION, RULES_VERSION, FACTS_VERSION]
    raw = json.dumps([*versions, cfg.chunk.model_dump()], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _manifest_changed(old: Document, overrides: dict[str, dict[str, str]], doc_id: str) -> bool:
    """A manifest edit must reach the index even when the file's bytes did not change."""
    override = overrides.get(doc_id, {})
    return any(getattr(old.meta, k) != v for k, v in override.items())


def document_order(chunks: list[Chunk], documents: list[Document]) -> list[Chunk]:
    rank = {d.doc_id: i for i, d in enumerate(documents)}
    return sorted(chunks, key=lambda c: (rank[c.doc_id], c.start))
