"""Changing the corpus by name: add these files, remove this document.

Both take the path of `ingest` (a new generation beside the live one, committed by swapping
the pointer), but start from the live index rather than from a folder scan: adding never
removes another report, and removing touches only the one named. The other documents'
chunks, vectors and facts are reused as they are. A file that cannot be read is refused
with its reason and changes nothing; the others of the same batch still go in.

Added files are copied into the sources folder (so a later `assistant ingest` keeps them);
a removed document's file is moved out of it into `data_dir/removed/` (recoverable, and so
that a later ingest does not bring it back).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from assistant.config import Config
from assistant.corpus.ingest import (
    IngestSummary,
    Plan,
    Progress,
    build,
    build_document,
    commit_generation,
    pipeline_fingerprint,
)
from assistant.corpus.load import LoadError, load_file
from assistant.corpus.metadata import MANIFEST, load_manifest
from assistant.index.generations import (
    Manifest,
    check_model,
    generation_dir,
    load_documents,
    read_manifest,
    writer_lock,
)
from assistant.models import Document

REMOVED_DIR = "removed"  # under data_dir: files of removed documents, one folder per removal
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
MAX_NAME = 120

Status = Literal["added", "updated", "unchanged"]
# Told as an add goes: ("read", file name, i, n) per file, then ("embed", "", 0, 0) and
# ("commit", "", 0, 0); the embedding itself reports through `Progress`.
Stage = Callable[[str, str, int, int], None]


@dataclass
class Added:
    name: str  # as uploaded
    doc_id: str
    status: Status
    document: Document


@dataclass
class Refused:
    name: str
    reason: str  # one line, like the loader's


@dataclass
class AddResult:
    added: list[Added] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    summary: IngestSummary = field(default_factory=IngestSummary)


@dataclass
class RemoveResult:
    removed: list[Document]
    moved_to: list[Path]  # where their files went (none for a file outside the sources)
    summary: IngestSummary


def safe_name(name: str) -> str:
    """A file name that stays inside the sources folder: no folders, no control or shell
    characters, no leading dot; Chinese is kept."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip(" .")
    stem, suffix = os.path.splitext(base)
    return stem[: MAX_NAME - len(suffix)] + suffix


def add_files(
    cfg: Config,
    files: Sequence[Path],
    names: Sequence[str] | None = None,
    progress: Progress | None = None,
    on_stage: Stage | None = None,
) -> AddResult:
    """Add (or update) these files in the index and the sources folder; `names` are the
    names they go in under (default: their own). Refused files are reported, not raised."""
    t0 = time.perf_counter()
    result = AddResult()
    summary = result.summary
    stage: Stage = on_stage or (lambda what, name, i, n: None)
    sources = cfg.paths.sources
    with writer_lock(cfg.paths.index_dir):
        previous, old_docs = _live(cfg)
        overrides = load_manifest(sources) if sources.is_dir() else {}
        fresh: list[Document] = []
        uploads: dict[str, Path] = {}
        for i, path in enumerate(files):
            name = names[i] if names else path.name
            stage("read", name, i + 1, len(files))
            doc_id = safe_name(name)
            refusal = _refusal(cfg, doc_id, uploads)
            if refusal:
                result.refused.append(Refused(name, refusal))
                continue
            try:
                loaded = load_file(path, int(cfg.ingest.max_file_mb * 1_000_000))
            except LoadError as err:
                result.refused.append(Refused(name, str(err)))
                continue
            old = old_docs.get(doc_id)
            if old is not None and old.content_hash == loaded.content_hash:
                result.added.append(Added(name, doc_id, "unchanged", old))
                continue
            doc = build_document(doc_id, loaded, overrides.get(doc_id, {}))
            doc.path = str(sources / doc_id)
            fresh.append(doc)
            uploads[doc_id] = path
            result.added.append(Added(name, doc_id, "updated" if old else "added", doc))
        summary.added = sum(a.status == "added" for a in result.added)
        summary.changed = sum(a.status == "updated" for a in result.added)
        fresh_ids = {d.doc_id for d in fresh}
        kept = [d for d in old_docs.values() if d.doc_id not in fresh_ids]
        summary.unchanged, summary.documents = len(kept), len(kept) + len(fresh)
        if not fresh:
            summary.up_to_date = True
        else:
            stage("embed", "", 0, 0)
            plan = Plan(previous, previous, kept, fresh, [], stale=False)
            manifest = _build(cfg, plan, summary, progress)
            stage("commit", "", 0, 0)
            with _placed(uploads, sources):
                commit_generation(cfg, manifest, previous)
            summary.chunks, summary.generation = manifest.chunks, manifest.generation
    summary.seconds = time.perf_counter() - t0
    return result


def remove_documents(cfg: Config, doc_ids: Sequence[str]) -> RemoveResult:
    """Remove these documents from the index, and move their files out of the sources
    folder. KeyError naming the ids the index does not have, ValueError for all of them
    (an index keeps at least one document); then nothing changes."""
    t0 = time.perf_counter()
    summary = IngestSummary()
    with writer_lock(cfg.paths.index_dir):
        previous, old_docs = _live(cfg)
        unknown = [d for d in doc_ids if d not in old_docs]
        if unknown:
            raise KeyError(f"no such document in the index: {', '.join(unknown)}")
        gone = [old_docs[d] for d in dict.fromkeys(doc_ids)]
        kept = [d for d in old_docs.values() if d.doc_id not in set(doc_ids)]
        if not kept:
            raise ValueError("cannot remove every document: the index keeps at least one")
        plan = Plan(previous, previous, kept, [], [d.doc_id for d in gone], stale=False)
        summary.removed, summary.unchanged, summary.documents = len(gone), len(kept), len(kept)
        manifest = _build(cfg, plan, summary, None)
        trash = cfg.paths.data_dir / REMOVED_DIR / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        moved = _move_out(gone, cfg.paths.sources, trash)
        try:
            commit_generation(cfg, manifest, previous)
        except BaseException:
            for src, dest in moved:
                shutil.move(dest, src)
            raise
        summary.chunks, summary.generation = manifest.chunks, manifest.generation
    summary.seconds = time.perf_counter() - t0
    return RemoveResult(gone, [dest for _, dest in moved], summary)


def _live(cfg: Config) -> tuple[Manifest | None, dict[str, Document]]:
    previous = read_manifest(cfg.paths.index_dir)
    if previous is None:
        return None, {}
    check_model(previous)
    folder = generation_dir(cfg.paths.index_dir, previous.generation)
    return previous, {d.doc_id: d for d in load_documents(folder)}


def _refusal(cfg: Config, doc_id: str, batch: dict[str, Path]) -> str:
    suffix = Path(doc_id).suffix.lower()
    if not Path(doc_id).stem or doc_id == MANIFEST:
        return "unusable file name"
    if suffix not in {e.lower() for e in cfg.ingest.extensions}:
        return f"unsupported file type: {suffix or 'none'}"
    if doc_id in batch:
        return "the same name twice in one upload"
    return ""


def _build(cfg: Config, plan: Plan, summary: IngestSummary, progress: Progress | None) -> Manifest:
    manifest = build(cfg, plan, summary, progress)
    previous = plan.previous
    if previous is not None and previous.pipeline != pipeline_fingerprint(cfg):
        # The kept documents were chunked by another version: say so, so that the next
        # `assistant ingest` processes them again as it would have.
        manifest.pipeline = previous.pipeline
    return manifest


class _placed:
    """Copies uploads into the sources folder for the length of a `with`; on an error
    inside it, puts back what was there before (an updated file) or removes the copy."""

    def __init__(self, uploads: dict[str, Path], sources: Path) -> None:
        self.uploads, self.sources = uploads, sources
        self.before: dict[Path, bytes | None] = {}

    def __enter__(self) -> None:
        self.sources.mkdir(parents=True, exist_ok=True)
        for doc_id, src in self.uploads.items():
            dest = self.sources / doc_id
            self.before[dest] = dest.read_bytes() if dest.exists() else None
            tmp = dest.with_name(f".{dest.name}.upload")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            return
        for dest, data in self.before.items():
            if data is None:
                dest.unlink(missing_ok=True)
            else:
                dest.write_bytes(data)


def _move_out(gone: list[Document], sources: Path, trash: Path) -> list[tuple[Path, Path]]:
    """Move the files of removed documents out of the sources folder into `trash`. A
    document's id is its path inside the folder it was ingested from; one ingested from
    elsewhere (`assistant ingest PATH`) has no file here to move."""
    moved: list[tuple[Path, Path]] = []
    for doc in gone:
        src = sources / doc.doc_id
        if not src.is_file():
            continue
        dest = trash / doc.doc_id
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(src, dest)
        moved.append((src, dest))
    return moved
