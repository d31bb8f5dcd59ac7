"""Index generations on disk: each a folder of (documents, chunks, BM25) beside a Chroma
collection of its vectors, and the pointer file that says which one is live.

Every ingest that changes anything writes a new generation beside the live one and then
swaps a small pointer file atomically, so an ingest that dies half-way leaves the previous
index untouched and answering. The pointer records the embedding model that built it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.facts.table import FactTable
from assistant.index.bm25 import BM25Index
from assistant.models import EMBEDDING_DIM as DIM
from assistant.models import EMBEDDING_MODEL_ID as MODEL_ID
from assistant.models import Chunk, Document, DocumentMeta

CURRENT = "CURRENT.json"
LOCK = ".ingest.lock"
GENERATIONS = "generations"
KEEP_GENERATIONS = 2  # the live one and the one before, for readers that opened it


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


def read_manifest(index_dir: Path) -> Manifest | None:
    path = index_dir / CURRENT
    if not path.exists():
        return None
    return Manifest(**json.loads(path.read_text(encoding="utf-8")))


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
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    facts.save(folder)
    (folder / "documents.json").write_text(
        json.dumps([asdict(d) for d in documents], ensure_ascii=False), encoding="utf-8"
    )
    with (folder / "chunks.jsonl").open("w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
    bm25.save(folder / "bm25")


@contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time (an ingest from the terminal, an upload from the page): each
    builds on the live generation, so two at once would each drop what the other added."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / LOCK).open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def commit(index_dir: Path, manifest: Manifest) -> None:
    """Make `manifest`'s generation the live one, atomically."""
    tmp = index_dir / (CURRENT + ".tmp")
    tmp.write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / CURRENT)


def prune(index_dir: Path, client: Any, collection_prefix: str, keep: set[str]) -> None:
    """Drop generations (folders and collections) that are neither live nor kept."""
    root = index_dir / GENERATIONS
    if root.exists():
        for folder in root.iterdir():
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)
    for col in client.list_collections():
        name = col if isinstance(col, str) else col.name
        gen = name.removeprefix(collection_prefix + "_")
        if name.startswith(collection_prefix + "_") and gen not in keep:
            client.delete_collection(name)


def load_documents(folder: Path) -> list[Document]:
    raw = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
    return [Document(**{**d, "meta": DocumentMeta(**d["meta"])}) for d in raw]


def load_chunks(folder: Path) -> list[Chunk]:
    with (folder / "chunks.jsonl").open(encoding="utf-8") as fh:
        return [Chunk(**json.loads(line)) for line in fh if line.strip()]
