"""What every session of the page shares: the index, one Pipeline per backend (built by the
pipeline factory on first use), the feedback and history stores, the backends' readiness,
whether the sources folder still matches the index, and the changes staff make to the
corpus from the page (one at a time)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from assistant.answer.factory import PipelineFactory, buildable_backends
from assistant.answer.pipeline import Pipeline
from assistant.backends import registry
from assistant.backends.registry import FALLBACK
from assistant.config import Config
from assistant.corpus import library
from assistant.corpus.ingest import IngestSummary, Progress, scan
from assistant.corpus.library import FileOutcome
from assistant.corpus.load import content_hash
from assistant.index.embed import E5Embedding
from assistant.index.generations import read_manifest, read_pointer, read_skipped
from assistant.index.live import Index
from assistant.models import Document
from assistant.ui import render as R
from assistant.ui.backends import BackendBoard
from assistant.ui.feedback import FeedbackStore, feedback_path
from assistant.ui.history import HistoryStore, history_path
from assistant.ui.wording import backend_reason

INGEST_HINT = (
    "在“资料来源”页上传报告或点“按 sources 文件夹重新入库”；也可以在项目目录运行 "
    "<code>assistant ingest</code>（或 <code>make run</code>），完成后刷新本页。"
)


class IndexUnavailable(Exception):
    """No usable index; the message says how to build one."""


class Service:
    """The index, one Pipeline per backend and the feedback store, shared by all sessions.

    The index is opened lazily and again whenever `assistant ingest` has made a new
    generation live, so a page left open picks up an ingest without a restart.
    """

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.feedback = FeedbackStore(feedback_path(cfg), cfg.ui.max_comment_chars)
        self.history = HistoryStore(history_path(cfg))
        self.board = BackendBoard(cfg)
        self._lock = threading.RLock()
        self._writing = threading.Lock()  # one change to the corpus from the page at a time
        self._embedder: E5Embedding | None = None
        self._index: Index | None = None
        self._factory: PipelineFactory | None = None
        self._pipelines: dict[str, Pipeline] = {}
        self._hashes: dict[Path, tuple[int, int, str]] = {}
        self.backends, self.unavailable = buildable_backends(cfg)
        wanted = cfg.llm.backend
        self.default_backend = wanted if wanted in self.backends else FALLBACK
        why = backend_reason(self.unavailable.get(wanted, ""))
        self.notice = (
            f"配置的回答方式“{registry.get(wanted).label}”不能用（{why}），改用原文摘录。"
            if wanted != self.default_backend
            else ""
        )

    # index ------------------------------------------------------------------------------

    def index(self) -> Index:
        """The live index; IndexUnavailable with what to do when there is none."""
        with self._lock:
            manifest = read_manifest(self.cfg.paths.index_dir)
            if manifest is None:
                self._index = None
                raise IndexUnavailable(f"索引为空：还没有入库任何文件。{INGEST_HINT}")
            if self._index is None or self._index.manifest.generation != manifest.generation:
                self._open_index()
            assert self._index is not None
            if not self._index.documents:
                raise IndexUnavailable(
                    f"索引中没有文件。把报告放进 sources 文件夹后，{INGEST_HINT}"
                )
            return self._index

    def _open_index(self) -> None:
        try:
            index = Index.open(self.cfg)
        except Exception as err:  # missing, other embedding model, damaged: all say rebuild
            raise IndexUnavailable(
                f"索引无法打开（{err}）。运行 <code>assistant ingest --rebuild</code> 后刷新本页。"
            ) from err
        if self._embedder is None:
            self._embedder = E5Embedding(self.cfg.embedding)
        self._index = index
        self._factory = PipelineFactory(self.cfg, index, self._embedder)
        self._pipelines.clear()  # they hold the previous generation

    def pipeline(self, backend: str | None = None) -> Pipeline:
        """The Pipeline answering with `backend`, built (and warmed) on first use."""
        name = backend if backend in self.backends else self.default_backend
        with self._lock:
            index = self.index()
            pipe = self._pipelines.get(name)
            if pipe is None:
                assert self._factory is not None and self._factory.index is index
                pipe = self._pipelines[name] = self._factory.pipeline(backend=name)
            return pipe

    def document(self, doc_id: str) -> Document | None:
        return self.index().documents.get(doc_id)

    def source_rows(self) -> list[R.SourceRow]:
        index = self.index()
        counts: dict[str, int] = {}
        for c in index.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        docs = sorted(index.documents.values(), key=lambda d: (d.meta.date, d.doc_id), reverse=True)
        return [R.SourceRow(d, counts.get(d.doc_id, 0)) for d in docs]

    def status(self) -> tuple[str, str]:
        """(kind, message) for the banner: error without an index, warn when the sources
        folder no longer matches it, else ok."""
        try:
            index = self.index()
        except IndexUnavailable as err:
            return "error", str(err)
        added, changed, removed = self.stale(index)
        if added or changed or removed:
            what = "，".join(
                f"{label} {len(x)} 份"
                for label, x in (("新增", added), ("改动", changed), ("已不在文件夹中", removed))
                if x
            )
            return "warn", f"sources 文件夹与索引不一致（{what}），回答可能过时。{INGEST_HINT}"
        m = index.manifest
        counts = f"已载入 {len(index.documents)} 份文件、{len(index.chunks)} 个段落"
        problem = read_pointer(self.cfg.paths.index_dir).problem
        if problem:  # answering from the newest complete generation instead
            return "warn", f"{counts}；索引指针损坏，暂用最近一次完整的索引。{INGEST_HINT}"
        bad = len(read_skipped(self.cfg.paths.index_dir))
        unusable = f"；另有 {bad} 份文件无法入库（原因见 assistant ingest 的输出）" if bad else ""
        return "ok", f"{counts}（索引更新于 {R.local_time(m.created_at)}）{unusable}"

    def stale(self, index: Index) -> tuple[list[str], list[str], list[str]]:
        """Files of the sources folder that are new, changed or gone since the index. A file
        the last ingest skipped as it is now (bad, empty) is not waiting for an ingest, and
        one indexed under another name (same content) is in the index."""
        try:
            files = scan([self.cfg.paths.sources], self.cfg.ingest.extensions)
        except OSError:
            return [], [], []
        limit = self.cfg.ingest.max_file_mb * 1_000_000
        skipped = {
            r.get("doc_id"): r.get("content_hash") for r in read_skipped(self.cfg.paths.index_dir)
        }
        listed = {alias: d for d in index.documents.values() for alias in d.also}
        added, changed = [], []
        for doc_id, path in files.items():
            digest = self._hash(path, limit)
            if digest is None or skipped.get(doc_id) == digest:
                continue  # too big, unreadable or skipped as bad: ingest skips it too
            doc = index.documents.get(doc_id) or listed.get(doc_id)
            if doc is None:
                added.append(doc_id)
            elif doc.content_hash != digest:
                changed.append(doc_id)
        removed = [d for d in index.documents if d not in files]
        return added, changed, removed

    def _hash(self, path: Path, limit: float) -> str | None:
        """sha256 of a file, recomputed only when its size or mtime changed."""
        try:
            st = path.stat()
            if st.st_size > limit:
                return None
            cached = self._hashes.get(path)
            if cached and cached[:2] == (st.st_size, st.st_mtime_ns):
                return cached[2]
            digest = content_hash(path.read_bytes())
        except OSError:
            return None
        self._hashes[path] = (st.st_size, st.st_mtime_ns, digest)
        return digest

    # changes to the corpus -----------------------------------------------------------------

    def add_files(
        self,
        files: Sequence[Path],
        names: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> tuple[list[FileOutcome], IngestSummary]:
        """Uploaded files into the sources folder and the index (`library.add_files`): what
        became of each, and the ingest's summary."""
        with self._writing:
            summary = library.add_files(self.cfg, files, progress, names)
        return library.file_outcomes(self.cfg, files, summary, names), summary

    def remove(self, doc_id: str) -> tuple[Document, IngestSummary]:
        """The document removed (its file set aside) and the ingest's summary."""
        with self._writing:
            gone = library.document(self.cfg, doc_id)
            return gone, library.remove_documents(self.cfg, [doc_id])

    def sync(self, progress: Progress | None = None) -> IngestSummary:
        """The index brought in line with the sources folder: what `assistant ingest
        --prune` does, after the page has listed the removals and staff confirmed them."""
        with self._writing:
            gone = [d.doc_id for d in library.missing_documents(self.cfg)]
            return library.update(self.cfg, remove=gone, progress=progress)

    # backends ---------------------------------------------------------------------------

    def backend_choices(self) -> list[tuple[str, str]]:
        """(label, name) of every backend; an unavailable one says so and why."""
        return [(s.choice_label, s.name) for s in self.board.states()]

    def usable(self, name: str | None) -> tuple[str, str]:
        """(the backend to answer with, "" or why the one asked for cannot answer now)."""
        name = name or self.default_backend
        state = self.board.state(name)
        if state is None:
            return self.default_backend, ""
        return (name, "") if state.ready else (name, state.reason)
