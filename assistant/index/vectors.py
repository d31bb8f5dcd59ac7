"""Vectors in Chroma, embedded (files under index_store/) or a Chroma server, via llama-index."""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import IndexConfig
from assistant.models import EMBEDDING_DIM, Chunk

# Chroma's client reports usage unless told not to; nothing may leave the machine.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
logging.getLogger("chromadb.telemetry").setLevel(logging.CRITICAL)


DOC_KEY = "source_doc"
CHROMA_DIR = "chroma"
CHROMA_DB = "chroma.sqlite3"
_SEGMENT_DIR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Free pages worth a VACUUM: at least this share of the file and this many bytes.
VACUUM_SHARE = 0.3
VACUUM_MIN_BYTES = 8 * 2**20


class StoreError(Exception):
    """The vector store cannot be reached or used; the message says what to do."""


@dataclass
class DenseFilter:
    doc_ids: Sequence[str] | None = None
    date_from: int | None = None  # yyyymmdd
    date_to: int | None = None


def connect(cfg: IndexConfig, index_dir: Path) -> Any:
    """A chromadb client for the configured mode."""
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    try:
        if cfg.mode == "http":
            client = chromadb.HttpClient(host=cfg.host, port=cfg.port, settings=settings)
            client.heartbeat()
            return client
        index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(index_dir / CHROMA_DIR), settings=settings)
    except Exception as err:  # chromadb raises many kinds; all mean "not usable"
        where = f"http://{cfg.host}:{cfg.port}" if cfg.mode == "http" else str(index_dir)
        raise StoreError(f"cannot open the Chroma store at {where}: {err}") from err


class VectorStore:
    """One Chroma collection (one index generation) behind llama-index's ChromaVectorStore."""

    def __init__(self, client: Any, name: str, create: bool = False) -> None:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.client = client
        self.name = name
        if create:
            # Cosine space, so scores are plain cosine similarities.
            self.collection = client.get_or_create_collection(
                name, metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
        else:
            try:
                self.collection = client.get_collection(name, embedding_function=None)
            except Exception as err:
                raise StoreError(
                    f"vector collection {name!r} is missing; rebuild: assistant ingest --rebuild"
                ) from err
        self.li_store = ChromaVectorStore(chroma_collection=self.collection)

    def count(self) -> int:
        with reachable(self.client):
            return int(self.collection.count())

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray, doc_dates: dict[str, int]) -> None:
        from llama_index.core.schema import TextNode

        nodes = [
            TextNode(
                id_=c.chunk_id,
                text=c.search_text,
                embedding=vectors[i].tolist(),
                # Not "doc_id": llama-index overwrites that key with the node's ref_doc_id.
                metadata={DOC_KEY: c.doc_id, "date_num": doc_dates.get(c.doc_id, 0)},
                excluded_embed_metadata_keys=[DOC_KEY, "date_num"],
            )
            for i, c in enumerate(chunks)
        ]
        for batch in _batches(nodes, self._max_batch()):
            with reachable(self.client):
                self.li_store.add(batch)

    def vectors_of(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of `ids`, in that order (rows of zeros for unknown ids)."""
        out = np.zeros((len(ids), EMBEDDING_DIM), dtype=np.float32)
        row = {cid: i for i, cid in enumerate(ids)}
        for batch in _batches(list(ids), self._max_batch()):
            with reachable(self.client):
                got = self.collection.get(ids=batch, include=["embeddings"])
            for cid, vector in zip(got["ids"], got["embeddings"], strict=True):
                out[row[cid]] = vector
        return out

    def copy_from(self, other: VectorStore, ids: Sequence[str]) -> int:
        """Copy stored vectors (and their records) so unchanged chunks cost no embedding."""
        copied = 0
        for batch in _batches(list(ids), self._max_batch()):
            with reachable(self.client):
                copied += self._copy_batch(other, batch)
        return copied

    def _copy_batch(self, other: VectorStore, batch: list[str]) -> int:
        got = other.collection.get(ids=batch, include=["embeddings", "metadatas", "documents"])
        if not got["ids"]:
            return 0
        self.collection.add(
            ids=got["ids"],
            embeddings=got["embeddings"],
            metadatas=got["metadatas"],
            documents=got["documents"],
        )
        return len(got["ids"])

    def search(
        self, vector: np.ndarray, k: int, flt: DenseFilter | None = None
    ) -> list[tuple[str, float]]:
        """Top-k (chunk id, cosine similarity). Asks Chroma for ids and distances only:
        llama-index's query also fetches every hit's text and metadata and rebuilds nodes
        from them, 5x the time of the search itself (1.2 vs 6 ms at 91 chunks), and more
        over HTTP; retrieval needs only the ranking. Filters keep llama-index's translation."""
        from llama_index.vector_stores.chroma.base import _to_chroma_filter

        filters = _filters(flt)
        where = _to_chroma_filter(filters) if filters is not None else None
        with reachable(self.client):
            result = self.collection.query(
                query_embeddings=[vector.tolist()],
                n_results=k,
                include=["distances"],
                **({"where": where} if where else {}),
            )
        ids, distances = result["ids"][0], result["distances"][0]
        return [(cid, 1.0 - float(d)) for cid, d in zip(ids, distances, strict=True)]

    def _max_batch(self) -> int:
        try:
            return int(self.client.get_max_batch_size())
        except Exception:
            return 1000


@dataclass
class Reclaimed:
    segment_dirs: int = 0  # vector segment folders no collection refers to, removed
    bytes_freed: int = 0  # by those folders and by compacting chroma.sqlite3


def reclaim(index_dir: Path) -> Reclaimed:
    """Give back the disk an embedded Chroma keeps after collections are deleted: Chroma
    drops a deleted collection's rows but leaves its vector segment folder, and SQLite keeps
    the freed pages inside chroma.sqlite3. Only the ingest calls this, holding the writer
    lock, so no segment is being created meanwhile. A reader holding the database busy
    only postpones the compaction to the next ingest."""
    root = index_dir / CHROMA_DIR
    db_path = root / CHROMA_DB
    done = Reclaimed()
    if not db_path.is_file():
        return done
    with closing(sqlite3.connect(db_path, timeout=5)) as db:
        live = {row[0] for row in db.execute("SELECT id FROM segments")}
    for folder in root.iterdir():
        if folder.is_dir() and _SEGMENT_DIR.match(folder.name) and folder.name not in live:
            done.bytes_freed += sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder, ignore_errors=True)
            done.segment_dirs += 1
    done.bytes_freed += _compact(db_path)
    return done


def _compact(db_path: Path) -> int:
    """VACUUM chroma.sqlite3 when enough of it is free pages; the bytes it gave back."""
    before = db_path.stat().st_size
    db = sqlite3.connect(db_path, timeout=5, isolation_level=None)
    try:
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        page = db.execute("PRAGMA page_size").fetchone()[0]
        if free * page < max(VACUUM_MIN_BYTES, VACUUM_SHARE * before):
            return 0
        db.execute("VACUUM")
    except sqlite3.OperationalError as err:  # busy: a reader; next time
        logging.getLogger(__name__).info("chroma.sqlite3 not compacted: %s", err)
        return 0
    finally:
        db.close()
    return max(0, before - db_path.stat().st_size)


@contextmanager
def reachable(client: Any) -> Iterator[None]:
    """A Chroma server that stops answering mid-session is a StoreError (one line for the
    user), not a traceback; errors of the store itself pass through unchanged."""
    import httpx

    try:
        yield
    except (httpx.TransportError, ConnectionError) as err:
        raise StoreError(
            f"{_where(client)} stopped answering ({err}); start it again, or check "
            "[index] host and port"
        ) from err


def _where(client: Any) -> str:
    try:
        settings = client.get_settings()
        if settings.chroma_server_host:
            return (
                f"the Chroma server at http://{settings.chroma_server_host}:"
                f"{settings.chroma_server_http_port}"
            )
    except Exception:  # a client without settings: say nothing more specific
        pass
    return "the Chroma store"


def _filters(flt: DenseFilter | None) -> Any:
    from llama_index.core.vector_stores.types import (
        FilterCondition,
        FilterOperator,
        MetadataFilter,
        MetadataFilters,
    )

    if flt is None:
        return None
    parts = []
    if flt.doc_ids is not None:
        parts.append(
            MetadataFilter(key=DOC_KEY, value=list(flt.doc_ids), operator=FilterOperator.IN)
        )
    if flt.date_from is not None:
        parts.append(
            MetadataFilter(key="date_num", value=flt.date_from, operator=FilterOperator.GTE)
        )
    if flt.date_to is not None:
        parts.append(MetadataFilter(key="date_num", value=flt.date_to, operator=FilterOperator.LTE))
    if not parts:
        return None
    return MetadataFilters(filters=parts, condition=FilterCondition.AND)


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
