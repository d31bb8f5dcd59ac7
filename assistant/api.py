"""The assistant as a Python library: open it once, then ask, stream, add and remove reports.

    from assistant.api import Assistant

    with Assistant.open("assistant.toml") as assistant:
        response = assistant.ask("2019年罗湖完成固定资产投资多少亿元？")
        print(response.answer)            # 完成固定资产投资332亿元[1]。
        for c in response.citations:      # [1] 请回答2019!罗湖交出全面振兴答卷 2020-01-03
            print(f"[{c.n}] {c.title} {c.date}")

Answers come from the same pipeline as `assistant ask`, the page and the eval (`answer.
pipeline`), with the same typed results (`models.Response`, `Citation`, `GuardLog`);
corpus changes go through `corpus.library`, the rules of `assistant ingest` and `remove`.
The index and models are opened on the first question and kept; after an `ingest` or
`remove` the next question reads the new index (a loaded model is not loaded again).
An Assistant answers one question at a time: give each thread its own.
`integrations/llama_index.py` wraps it as a llama-index query engine and retriever.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from pydantic import ValidationError

from assistant.answer.conversation import Conversation
from assistant.answer.events import Event
from assistant.answer.factory import PipelineFactory
from assistant.answer.filters import make_filters
from assistant.answer.pipeline import Pipeline, ask_stream, retrieve_passages
from assistant.config import Config, ConfigError, load_config
from assistant.corpus import library
from assistant.corpus.ingest import IngestSummary, Progress
from assistant.index.generations import read_manifest
from assistant.index.live import Index
from assistant.models import Citation, Document, DocumentInfo, Response


class Assistant:
    """Cited answers over the configured reports (see the module's example)."""

    def __init__(self, config: Config, backend: str | None = None) -> None:
        self.config = config
        self.backend = backend or config.llm.backend
        self._lock = threading.RLock()
        self._factory: PipelineFactory | None = None
        self._pipeline: Pipeline | None = None

    @classmethod
    def open(
        cls,
        config: Config | str | os.PathLike[str] | None = None,
        *,
        backend: str | None = None,
        **overrides: object,
    ) -> Assistant:
        """An assistant on `config`: a Config, or the path of a TOML file (default:
        ./assistant.toml, then the ASSISTANT_* environment), with `overrides` by section,
        e.g. `Assistant.open("assistant.toml", retrieval={"top_k": 8})`. `backend` names
        who writes answers (default: `[llm] backend`). ConfigError on a wrong value."""
        if isinstance(config, Config):
            cfg = _with_overrides(config, overrides)
        else:
            cfg = load_config(Path(config) if config is not None else None, **overrides)
        return cls(cfg, backend)

    # --------------------------------------------------------------------------- answers

    def ask(
        self,
        question: str,
        *,
        documents: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        mode: str | None = None,
        conversation: Conversation | None = None,
    ) -> Response:
        """The answer to `question` with its citations. `documents` (ids, see `sources`)
        and the dates (2019, 2019-06 or 2019-06-30, inclusive) narrow the search; `mode`
        is bm25, dense or hybrid; a `conversation` (see `conversation()`) lets a follow-up
        ("那2018年呢？") be read against the questions before it, and records this one."""
        for event in self.ask_stream(
            question,
            documents=documents,
            date_from=date_from,
            date_to=date_to,
            mode=mode,
            conversation=conversation,
        ):
            if isinstance(event, Response):
                return event
        raise AssertionError("ask_stream ends with a Response")

    def ask_stream(
        self,
        question: str,
        *,
        documents: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        mode: str | None = None,
        conversation: Conversation | None = None,
    ) -> Iterator[Event]:
        """What `ask` does, as it happens: `Rewritten` (a follow-up read as a standalone
        question), `Generating` (a model is asked), its `Token`s, a `Retry` when the
        grounding guard rejects a draft, and the `Response` last, which replaces the draft
        (see `answer.events`). ValueError for a date that is no date; UnknownDocument
        for an id the index does not hold."""
        filters = make_filters(list(documents or []), date_from, date_to)
        if documents:
            library.find_documents(self.config, list(documents))
        pipe = self.pipeline()
        history = conversation.turns if conversation is not None else None
        for event in ask_stream(pipe, question, filters, mode=mode, history=history):
            if isinstance(event, Response) and conversation is not None:
                conversation.add(question, event.standalone_question, event.answer)
            yield event

    def retrieve(
        self,
        question: str,
        *,
        documents: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        mode: str | None = None,
    ) -> list[Citation]:
        """The passages `question` retrieves, best first (the retrieval of `ask`, without
        an answer); the same filters as `ask`."""
        filters = make_filters(list(documents or []), date_from, date_to)
        if documents:
            library.find_documents(self.config, list(documents))
        return retrieve_passages(self.pipeline(), question, filters, mode)

    def conversation(self) -> Conversation:
        """A new conversation to pass to `ask`: it keeps the last `[llm] history_turns`."""
        return Conversation(max_turns=self.config.llm.history_turns)

    def pipeline(self) -> Pipeline:
        """The pipeline answering now: opened on first use (the index, the embedding model,
        the backend, warmed up) and reopened when an ingest has made a new index live."""
        with self._lock:
            manifest = read_manifest(self.config.paths.index_dir)
            live = self._pipeline
            if live is None or manifest is None or manifest != live.index.manifest:
                index = Index.open(self.config)  # IndexMissing says to ingest first
                if self._factory is None:
                    self._factory = PipelineFactory(self.config, index)
                else:
                    self._factory = self._factory.over(index)
                self._pipeline = self._factory.pipeline(backend=self.backend)
            return self._pipeline

    @property
    def notice(self) -> str:
        """Why the backend asked for is not the one answering ("" when it is)."""
        return self.pipeline().notice

    # ---------------------------------------------------------------------------- corpus

    def ingest(
        self,
        paths: Sequence[str | os.PathLike[str]] | None = None,
        *,
        rebuild: bool = False,
        progress: Progress | None = None,
    ) -> IngestSummary:
        """Add and update reports: `paths` (files or folders, copied into the sources
        folder when elsewhere), or every new and changed file of the sources folder. Never
        removes a document; `summary.missing_docs` lists those whose files are gone."""
        chosen = [Path(p) for p in paths] if paths is not None else None
        return library.update(self.config, chosen, rebuild=rebuild, progress=progress)

    def add(
        self,
        files: Sequence[str | os.PathLike[str]],
        names: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> IngestSummary:
        """Add these files under `names` (default: their own), e.g. uploads kept under
        temporary names. A file that cannot be read is refused (`summary.skipped`)."""
        return library.add_files(self.config, [Path(f) for f in files], progress, names)

    def remove(self, doc_ids: Sequence[str]) -> IngestSummary:
        """Remove these documents; their files are set aside under data/removed/.
        UnknownDocument, and nothing changed, when one of them is not indexed."""
        return library.remove_documents(self.config, list(doc_ids))

    def prune(self) -> IngestSummary:
        """Remove the documents whose files are gone from the sources folder (see
        `missing()` for which)."""
        return library.prune(self.config)

    def sources(self) -> list[DocumentInfo]:
        """The indexed documents, newest first: id, title, date, passages, file present."""
        return library.documents(self.config)

    def missing(self) -> list[DocumentInfo]:
        """Indexed documents whose files are gone from the sources folder."""
        return library.missing_documents(self.config)

    def document(self, doc_id: str) -> Document:
        """One indexed document with its cleaned text (what citations' offsets point into).
        UnknownDocument when the index does not hold it."""
        return library.document(self.config, doc_id)

    # --------------------------------------------------------------------------- closing

    def close(self) -> None:
        """Let go of the index and the models (a local model's memory is freed when
        nothing else holds it). The next question opens them again."""
        with self._lock:
            self._pipeline = None
            self._factory = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _with_overrides(cfg: Config, overrides: dict[str, object]) -> Config:
    """`cfg` with some keys of some sections changed, validated as a file would be."""
    if not overrides:
        return cfg
    data = cfg.model_dump()
    for section, values in overrides.items():
        current = data.get(section)
        both = isinstance(current, dict) and isinstance(values, dict)
        data[section] = {**current, **values} if both else values  # type: ignore[dict-item]
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"config error: {where}: {first['msg']}") from err
