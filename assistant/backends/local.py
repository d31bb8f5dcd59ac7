"""The `local` backend: the packaged Qwen2.5-Coder-1.5B-Instruct run by llama-cpp-python on
this machine's cores.

The model is loaded lazily, once per process (several backends share it), and guarded by a
lock: one llama.cpp context must not decode two answers at once. llama.cpp keeps the tokens
it evaluated last and reuses the longest common prefix, so the fixed system prompt is
prefilled once; `warm()` does that ahead of the first question.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from assistant.backends.base import (
    BackendContext,
    BackendError,
    BackendSettings,
    GenerationRequest,
    Readiness,
)
from assistant.backends.generative import LLMBackend
from assistant.backends.model_thread import model_thread  # before llama.cpp loads: see there
from assistant.backends.modelfile import QWEN_1_5B, ensure_model, packaged_parts
from assistant.backends.registry import BackendSpec, register

if TYPE_CHECKING:
    from assistant.backends.llamacpp import LlamaCppChat


class LocalLLMConfig(BackendSettings):
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
    nice: int = Field(
        10,
        ge=0,
        le=19,
        description="How far the model's computing gives way to the rest of the process "
        "(the page's verified answers): the nice value of its thread; 0: none.",
    )
    max_tokens: int = Field(256, ge=16, le=4096, description="Longest answer in tokens.")
    temperature: float = Field(0.0, ge=0, le=2, description="0: greedy, reproducible.")
    seed: int = Field(0, ge=0, description="Sampling seed (matters only above temperature 0).")
    cache_mb: int = Field(
        64,
        ge=0,
        le=16384,
        description="RAM for saved prompt states (about 20 MB each for a sentences prompt), so "
        "that a different prompt in between (follow-up rewriting) does not cost the shared "
        "system prompt again; every byte is counted; 0: off.",
    )


def model_path(settings: LocalLLMConfig, data_dir: Path) -> Path:
    """Where the model is: the configured GGUF, or the packaged one's cache file."""
    return settings.model_file or data_dir / "models" / QWEN_1_5B.filename


def threads(settings: LocalLLMConfig) -> int:
    return settings.threads or os.cpu_count() or 2


class LocalBackend(LLMBackend):
    name = "local"

    def __init__(self, settings: LocalLLMConfig, ctx: BackendContext) -> None:
        super().__init__()
        self.settings = settings
        self.path = model_path(settings, ctx.data_dir)
        # Fail early, with what to do, when there is no model at all; a damaged file is
        # found when it is loaded and the question falls back to the extractive answer.
        if settings.model_file is not None:
            if not self.path.is_file():
                raise BackendError(f"llm.local.model_file not found: {self.path}")
        elif not self.path.is_file():
            packaged_parts()

    def _model_file(self) -> Path:
        if self.settings.model_file is not None:
            return self.path  # a model of the user's choosing: no known checksum
        return ensure_model(self.path)

    def _make_llm(self) -> LlamaCppChat:
        from assistant.backends.llamacpp import LlamaCppChat, LoadOptions, load_llama

        s = self.settings
        options = LoadOptions(s.n_ctx, threads(s), s.n_batch, s.seed, s.cache_mb)
        llama, lock = load_llama(self._model_file(), options)
        return LlamaCppChat(
            llama,
            lock,
            model_thread(s.nice),
            model_name=self.path.name,
            context_window=s.n_ctx,
            max_tokens=s.max_tokens,
            temperature=s.temperature,
            seed=s.seed,
        )

    def warm(self, request: GenerationRequest) -> None:
        """Load the model and prefill the request's fixed prompt before the first question."""
        pieces: Iterator[str] = self.stream(GenerationRequest(request.messages, max_tokens=1))
        for _ in pieces:
            pass

    def ready(self) -> Readiness:
        try:
            path = self._model_file()
            import llama_cpp
        except BackendError as err:
            return Readiness(False, str(err))
        except ImportError:
            return Readiness(False, "llama-cpp-python is not installed; run: make install")
        size_mb = path.stat().st_size / 2**20
        return Readiness(
            True,
            f"{path.name} ({size_mb:.0f} MB, verified), llama-cpp-python "
            f"{llama_cpp.__version__}, {threads(self.settings)} threads",
        )

    def describe(self) -> str:
        return f"本地模型 {self.path.stem}"

    def _explain(self, err: Exception) -> str | None:
        if isinstance(err, ValueError) and "context" in str(err).lower():
            return f"the question and passages exceed llm.local.n_ctx={self.settings.n_ctx}"
        return None


SPEC = register(
    BackendSpec(
        "local",
        "本机模型：在这台电脑上生成回答（较慢）",
        LocalLLMConfig,
        LocalBackend,
    )
)
