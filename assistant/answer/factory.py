"""One way to build a pipeline, for the CLI, the chat, the UI, the eval and the bench.

What pipelines share (the live index, the embedding model) is opened once per factory;
each pipeline gets its retrieval settings and its backend. One rule decides what answers
when the backend asked for cannot be used (it cannot be built, it says it is not ready, or
its model does not load): the extractive backend, with a one-line notice saying why. Each
caller reports the notice its own way (a line in the terminal, a banner in the page, a
skipped variant in the eval), but none decides differently.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answer.pipeline import Pipeline
from assistant.answer.retrieve import Retriever
from assistant.backends import registry
from assistant.backends.base import BackendContext, BackendError, Generator
from assistant.config import Config
from assistant.index.embed import E5Embedding
from assistant.index.live import Index


@dataclass(frozen=True)
class Choice:
    """The backend that will answer: `generator` (None: extractive) and, when it is not the
    one asked for, why."""

    asked: str
    generator: Generator | None
    notice: str = ""
    detail: str = ""  # what the backend said when it was found ready

    @property
    def substituted(self) -> bool:
        return bool(self.notice)


def backend_context(cfg: Config) -> BackendContext:
    return BackendContext(data_dir=cfg.paths.data_dir)


def build_generator(cfg: Config, name: str | None = None) -> Generator | None:
    """The generator of backend `name` (default: the configured one), unprobed; None for a
    backend without one. BackendError when it is unknown or cannot be built here."""
    spec = registry.get(name or cfg.llm.backend)
    if spec.factory is None:
        return None
    return spec.factory(cfg.llm.section(spec.name), backend_context(cfg))


def buildable_backends(cfg: Config) -> tuple[list[str], dict[str, str]]:
    """The registered backends that can be built here (cheap: no model is loaded, no server
    asked), and why not the others."""
    ok: list[str] = []
    why: dict[str, str] = {}
    for name in registry.names():
        try:
            build_generator(cfg, name)
            ok.append(name)
        except BackendError as err:
            why[name] = str(err)
    return ok, why


def unusable(name: str, err: BackendError) -> str:
    """The notice of a substitution, one line."""
    return f"{err}; 以下为原文摘录。"


def choose_backend(cfg: Config, name: str | None = None) -> Choice:
    """The one rule: a backend that cannot be built or is not ready gives way to the
    extractive backend with a notice. An unknown name is a mistake to report (BackendError),
    not to work around."""
    asked = name or cfg.llm.backend
    registry.get(asked)
    try:
        generator = build_generator(cfg, asked)
        if generator is None:
            return Choice(asked, None)
        ready = generator.ready()
        if not ready.ok:
            raise BackendError(ready.detail)
    except BackendError as err:
        return Choice(asked, None, unusable(asked, err))
    return Choice(asked, generator, detail=ready.detail)


class PipelineFactory:
    """Builds pipelines over one opened index and embedder (opened here unless given)."""

    def __init__(
        self, cfg: Config, index: Index | None = None, embedder: E5Embedding | None = None
    ) -> None:
        self.cfg = cfg
        self.index = index or Index.open(cfg)
        self.embedder = embedder or E5Embedding(cfg.embedding)
        self._choices: dict[str, Choice] = {}

    def over(self, index: Index) -> PipelineFactory:
        """A factory over another generation of the index (after an ingest) that keeps the
        embedder and the backends already chosen: a loaded model is not loaded again."""
        other = PipelineFactory(self.cfg, index, self.embedder)
        other._choices = self._choices
        return other

    def choice(self, cfg: Config, name: str | None = None) -> Choice:
        """The backend for `name`, chosen (and probed) once per factory."""
        asked = name or cfg.llm.backend
        key = _key(cfg, asked)
        if key not in self._choices:
            self._choices[key] = choose_backend(cfg, asked)
        return self._choices[key]

    def pipeline(
        self, cfg: Config | None = None, backend: str | None = None, warm: bool = True
    ) -> Pipeline:
        """A pipeline for `cfg` (default: the factory's) answering with `backend` (default:
        the configured one), warmed up unless told not to."""
        cfg = cfg or self.cfg
        choice = self.choice(cfg, backend)
        retriever = Retriever(self.index, cfg.retrieval, self.embedder)
        pipe = Pipeline(cfg, self.index, retriever, choice.generator, choice.notice)
        if warm:
            try:
                pipe.warm_up()
            except BackendError as err:  # the model does not load: the same rule
                failed = Choice(choice.asked, None, unusable(choice.asked, err))
                self._choices[_key(cfg, choice.asked)] = failed
                pipe.backend, pipe.notice = None, failed.notice
        return pipe


def _key(cfg: Config, name: str) -> str:
    section = cfg.llm.section(name)
    return f"{name}\x00{section.model_dump_json() if section else ''}"


def open_pipeline(cfg: Config, backend: str | None = None, warm: bool = True) -> Pipeline:
    """The pipeline `assistant ask` answers with: the index opened, the backend chosen by
    the one rule, warmed up."""
    return PipelineFactory(cfg).pipeline(backend=backend, warm=warm)
