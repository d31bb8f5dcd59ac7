"""Index generations on disk: each a folder of (documents, chunks, BM25) beside a Chroma
collection of its vectors, and the pointer file that says which one is live.

Every ingest that changes anything writes a new generation beside the live one and then
swaps a small pointer file atomically, so an ingest that dies half-way leaves the previous
index untouched and answering. The pointer records the embedding model that built it.

A generation is complete when its folder holds `manifest.json`, written last: a damaged
pointer falls back to the newest complete generation (with a warning), and a folder without
it is what an interrupted ingest left, removed by the next one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from assistant.facts.table import FactTable
from assistant.index.bm25 import BM25Index
from assistant.models import EMBEDDING_DIM as DIM
from assistant.models import EMBEDDING_MODEL_ID as MODEL_ID
from assistant.models import Chunk, Document, DocumentMeta

CURRENT = "CURRENT.json"
GENERATIONS = "generations"
MANIFEST_FILE = "manifest.json"  # a generation's own copy of its manifest, written last
KEEP_GENERATIONS = 2  # the live one and the one before, for readers that opened it

log = logging.getLogger(__name__)


class IndexMissing(Exception):
    """No index has been built yet."""


class IndexMismatch(Exception):
    """The index was built with another embedding model."""


@dataclass
class Manifest:
    generation: str
    collection: str
    embedding_model: str
    dim: int
    created_at: str
    documents: int
    chunks: int
    index_mode: str
    pipeline: str = ""  # fingerprint of the cleaning/chunking that produced the chunks


def new_generation_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dt%H%M%S%f")


def generation_dir(index_dir: Path, generation: str) -> Path:
    return index_dir / GENERATIONS / generation


@dataclass
class Pointer:
    """The live generation as the pointer names it; `problem` says, in one line, when the
    pointer was damaged and another generation stands in for it."""

    manifest: Manifest | None
    problem: str = ""


def read_pointer(index_dir: Path) -> Pointer:
    path = index_dir / CURRENT
    try:
        return Pointer(_manifest(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return Pointer(None)
    except (OSError, ValueError, TypeError) as err:  # unreadable, not JSON, not a manifest
        reason = f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:80]}"
    complete = complete_generations(index_dir)
    if not complete:
        problem = f"{path} is damaged ({reason}) and no complete generation is left"
        return Pointer(None, problem + "; rebuild with: assistant ingest --rebuild")
    newest = complete[-1]
    problem = (
        f"{path} is damaged ({reason}); using the newest complete generation "
        f"{newest.generation} instead; the next assistant ingest rewrites it"
    )
    _warn_once(problem)
    return Pointer(newest, problem)


@lru_cache(maxsize=16)
def _warn_once(problem: str) -> None:
    """Said once per process, not at every question a server answers meanwhile."""
    log.warning("warning: %s", problem)


def read_manifest(index_dir: Path) -> Manifest | None:
    """The live generation's manifest (None: no index yet)."""
    return read_pointer(index_dir).manifest


def _manifest(raw: str) -> Manifest:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    return Manifest(**data)


def complete_generations(index_dir: Path) -> list[Manifest]:
    """Generations whose folder was written to the end, oldest first (ids are times)."""
    root = index_dir / GENERATIONS
    found: list[Manifest] = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            found.append(_manifest((folder / MANIFEST_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue  # half-built, or damaged: not one to fall back to
    return found


def previous_generation(index_dir: Path, live: Manifest | None) -> Manifest | None:
    """The newest complete generation older than the live one: readers that opened it
    before the last ingest may still be answering from it."""
    if live is None:
        return None
    older = [m for m in complete_generations(index_dir) if m.generation < live.generation]
    return older[-1] if older else None


def check_model(manifest: Manifest) -> None:
    if manifest.embedding_model != MODEL_ID or manifest.dim != DIM:
        raise IndexMismatch(
            f"the index was built with {manifest.embedding_model} (dim {manifest.dim}) but this "
            f"configuration embeds with {MODEL_ID} (dim {DIM}); rebuild it with: "
            "assistant ingest --rebuild"
        )


def save_generation(
    folder: Path,
    documents: list[Document],
    chunks: list[Chunk],
    bm25: BM25Index,
    facts: FactTable,
    manifest: Manifest,
) -> None:
    """Write a generation's folder; its manifest last, so that a folder with one is whole."""
    folder.mkdir(parents=True, exist_ok=True)
    facts.save(folder)
    (folder / "documents.json").write_text(
        json.dumps([asdict(d) for d in documents], ensure_ascii=False), encoding="utf-8"
    )
    with (folder / "chunks.jsonl").open("w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
    bm25.save(folder / "bm25")
    write_atomic(folder / MANIFEST_FILE, json.dumps(asdict(manifest), indent=2))


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step: readers see the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def commit(index_dir: Path, manifest: Manifest) -> None:
    """Make `manifest`'s generation the live one, atomically."""
    write_atomic(index_dir / CURRENT, json.dumps(asdict(manifest), indent=2))


def prune(index_dir: Path, client: Any, collection_prefix: str, keep: set[str]) -> list[str]:
    """Drop generations (folders and collections) that are neither live nor kept; returns
    the generations dropped."""
    dropped: set[str] = set()
    root = index_dir / GENERATIONS
    if root.exists():
        for folder in root.iterdir():
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)
                dropped.add(folder.name)
    for col in client.list_collections():
        name = col if isinstance(col, str) else col.name
        gen = name.removeprefix(collection_prefix + "_")
        if name.startswith(collection_prefix + "_") and gen not in keep:
            client.delete_collection(name)
            dropped.add(gen)
    return sorted(dropped)


SKIPPED = "skipped.json"


def record_skipped(index_dir: Path, rows: list[dict[str, str]]) -> None:
    """The files the last ingest could not use (doc_id, path, reason, content_hash): the
    page then does not count them as new files waiting for an ingest."""
    write_atomic(index_dir / SKIPPED, json.dumps(rows, ensure_ascii=False, indent=1))


def read_skipped(index_dir: Path) -> list[dict[str, str]]:
    try:
        rows = json.loads((index_dir / SKIPPED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def load_documents(folder: Path) -> list[Document]:
    raw = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
    return [Document(**{**d, "meta": DocumentMeta(**d["meta"])}) for d in raw]


def load_chunks(folder: Path) -> list[Chunk]:
    with (folder / "chunks.jsonl").open(encoding="utf-8") as fh:
        return [Chunk(**json.loads(line)) for line in fh if line.strip()]
