"""The live index: the generation the pointer names, opened for reading (documents, chunks,
BM25 and its vector collection): everything retrieval and display read."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.config import Config
from assistant.facts.table import FactTable
from assistant.index.bm25 import BM25Index
from assistant.index.generations import (
    IndexMissing,
    Manifest,
    check_model,
    generation_dir,
    load_chunks,
    load_documents,
    read_manifest,
    read_pointer,
)
from assistant.index.vectors import StoreError, VectorStore, connect
from assistant.models import Chunk, Document


@dataclass
class Index:
    """Everything retrieval and display read, for one generation."""

    manifest: Manifest
    documents: dict[str, Document]
    chunks: list[Chunk]
    by_id: dict[str, Chunk]
    bm25: BM25Index
    vectors: VectorStore
    row_of: dict[str, int]
    facts: FactTable = field(default_factory=FactTable)
    _search_texts: dict[str, str] = field(default_factory=dict)
    _chunks_of: dict[str, list[Chunk]] = field(default_factory=dict)
    _about: dict[str, frozenset[str]] | None = None

    def docs_about(self, subject: str) -> frozenset[str]:
        """The documents whose subject (read at ingest) is `subject`; "" for those that name
        no district."""
        if self._about is None:
            about: dict[str, set[str]] = {}
            for doc in self.documents.values():
                about.setdefault(doc.meta.subject, set()).add(doc.doc_id)
            self._about = {s: frozenset(ids) for s, ids in about.items()}
        return self._about.get(subject, frozenset())

    def document_search_text(self, doc_id: str) -> str:
        """A whole document in the normalized search form: its chunks' search texts, which
        the ingest already converted. Converting the document again (OpenCC over tens of
        kilobytes) was most of evidence selection at 1000x, where few documents repeat."""
        text = self._search_texts.get(doc_id)
        if text is None:
            if not self._chunks_of:
                for chunk in self.chunks:
                    self._chunks_of.setdefault(chunk.doc_id, []).append(chunk)
            parts = self._chunks_of.get(doc_id, [])
            text = self._search_texts[doc_id] = "\n".join(c.search_text for c in parts)
        return text

    @classmethod
    def open(cls, cfg: Config) -> Index:
        """The generation the pointer names. Readers take no lock: when an ingest commits
        and prunes between our reading the pointer and the generation, the pointer has
        moved on, and the generation it names now is opened instead."""
        while True:
            pointer = read_pointer(cfg.paths.index_dir)
            manifest = pointer.manifest
            if manifest is None:
                raise IndexMissing(
                    pointer.problem
                    or f"no index in {cfg.paths.index_dir}; build it with: assistant ingest"
                )
            try:
                return cls._open(cfg, manifest)
            except (OSError, StoreError):
                if read_manifest(cfg.paths.index_dir) == manifest:
                    raise

    @classmethod
    def _open(cls, cfg: Config, manifest: Manifest) -> Index:
        check_model(manifest)
        folder = generation_dir(cfg.paths.index_dir, manifest.generation)
        documents = load_documents(folder)
        chunks = load_chunks(folder)
        client = connect(cfg.index, cfg.paths.index_dir)
        bm25 = BM25Index.load(folder / "bm25")
        return cls(
            manifest=manifest,
            documents={d.doc_id: d for d in documents},
            chunks=chunks,
            by_id={c.chunk_id: c for c in chunks},
            bm25=bm25,
            vectors=VectorStore(client, manifest.collection),
            row_of={cid: i for i, cid in enumerate(bm25.ids)},
            facts=FactTable.load(folder),
        )
