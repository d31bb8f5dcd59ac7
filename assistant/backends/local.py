"""The `local` backend: the packaged Qwen2.5-Coder-1.5B-Instruct run by llama-cpp-python on
this machine's cores, behind llama-index's LLM interface.

The model is loaded lazily, once per process (several backends share it), and guarded by a
lock: one llama.cpp context must not decode two answers at once. llama.cpp keeps the tokens
it evaluated last and reuses the longest common prefix, so the fixed system prompt is
prefilled once; `warm()` does that ahead of the first question.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from pydantic import PrivateAttr

from assistant.answer.prompts import answer_prompts
from assistant.backends.base import BackendError
from assistant.backends.generative import GenerativeBackend
from assistant.backends.modelfile import QWEN_1_5B, ensure_model, packaged_parts
from assistant.config import Config, LocalLLMConfig

# (path, n_ctx, threads, n_batch) -> (Llama, the lock its decoding takes)
_LOADED: dict[tuple[str, int, int, int], tuple[Any, threading.Lock]] = {}
_LOAD_LOCK = threading.Lock()


def model_path(cfg: Config) -> Path:
    """Where the model is: the configured GGUF, or the packaged one's cache file."""
    return cfg.llm.local.model_file or cfg.paths.data_dir / "models" / QWEN_1_5B.filename


def threads(cfg: LocalLLMConfig) -> int:
    return cfg.threads or os.cpu_count() or 2


def load_llama(path: Path, cfg: LocalLLMConfig) -> tuple[Any, threading.Lock]:
    """The llama.cpp model for `path` and its lock, loaded at most once per process."""
    key = (str(path), cfg.n_ctx, threads(cfg), cfg.n_batch)
    with _LOAD_LOCK:
        if key not in _LOADED:
            try:
                from llama_cpp import Llama
            except ImportError as err:
                raise BackendError("llama-cpp-python is not installed; run: make install") from err
            try:
                llama = Llama(
                    model_path=str(path),
                    n_ctx=cfg.n_ctx,
                    n_threads=threads(cfg),
                    n_threads_batch=threads(cfg),
                    n_batch=cfg.n_batch,
                    seed=cfg.seed,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as err:
                raise BackendError(
                    f"cannot load the local model {path} ({err}); delete it to have it "
                    "assembled again, or set llm.local.model_file to a valid GGUF"
                ) from err
            if cfg.cache_mb:
                from llama_cpp import LlamaRAMCache

                llama.set_cache(LlamaRAMCache(capacity_bytes=cfg.cache_mb * 2**20))
            _LOADED[key] = (llama, threading.Lock())
        return _LOADED[key]


class LlamaCppChat(CustomLLM):
    """A llama.cpp model as a llama-index LLM, chatting with the model's own template."""

    model_name: str = "local"
    context_window: int = 4096
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0
    _llama: Any = PrivateAttr()
    _lock: threading.Lock = PrivateAttr()

    def __init__(self, llama: Any, lock: threading.Lock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._llama = llama
        self._lock = lock

    @classmethod
    def class_name(cls) -> str:
        return "llama_cpp_chat"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_tokens,
            is_chat_model=True,
            model_name=self.model_name,
        )

    def _params(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {
            "max_tokens": kwargs.get("max_tokens") or self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        text = "".join(self._stream(messages, kwargs))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        def gen() -> ChatResponseGen:
            text = ""
            for delta in self._stream(messages, kwargs):
                text += delta
                yield ChatResponse(
                    message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta
                )

        return gen()

    def _stream(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> Iterator[str]:
        dicts = [{"role": m.role.value, "content": m.content or ""} for m in messages]
        with self._lock:
            chunks = self._llama.create_chat_completion(dicts, stream=True, **self._params(kwargs))
            for chunk in chunks:
                delta = chunk["choices"][0]["delta"].get("content")
                if delta:
                    yield delta

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        with self._lock:
            out = self._llama.create_completion(prompt, **self._params(kwargs))
        return CompletionResponse(text=out["choices"][0]["text"])

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        def gen() -> CompletionResponseGen:
            text = ""
            with self._lock:
                for chunk in self._llama.create_completion(
                    prompt, stream=True, **self._params(kwargs)
                ):
                    delta = chunk["choices"][0]["text"]
                    text += delta
                    yield CompletionResponse(text=text, delta=delta)

        return gen()


class LocalBackend(GenerativeBackend):
    name = "local"

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self.path = model_path(cfg)
        # Fail early, with what to do, when there is no model at all; a damaged file is
        # found when it is loaded and the question falls back to the extractive answer.
        if cfg.llm.local.model_file is not None:
            if not self.path.is_file():
                raise BackendError(f"llm.local.model_file not found: {self.path}")
        elif not self.path.is_file():
            packaged_parts()

    def _model_file(self) -> Path:
        if self.cfg.llm.local.model_file is not None:
            return self.path  # a model of the user's choosing: no known checksum
        return ensure_model(self.path)

    def _make_llm(self) -> LlamaCppChat:
        local = self.cfg.llm.local
        llama, lock = load_llama(self._model_file(), local)
        return LlamaCppChat(
            llama,
            lock,
            model_name=self.path.name,
            context_window=local.n_ctx,
            max_tokens=local.max_tokens,
            temperature=local.temperature,
            seed=local.seed,
        )

    def warm(self) -> None:
        """Load the model and prefill the fixed system prompt before the first question."""
        system = answer_prompts(self.cfg.paths.prompts_dir).system
        for _ in self.stream_messages(
            [{"role": "system", "content": system}, {"role": "user", "content": "资料："}],
            max_tokens=1,
        ):
            pass

    def ready(self) -> tuple[bool, str]:
        try:
            path = self._model_file()
            import llama_cpp
        except BackendError as err:
            return False, str(err)
        except ImportError:
            return False, "llama-cpp-python is not installed; run: make install"
        size_mb = path.stat().st_size / 2**20
        return True, (
            f"{path.name} ({size_mb:.0f} MB, verified), llama-cpp-python "
            f"{llama_cpp.__version__}, {threads(self.cfg.llm.local)} threads"
        )

    def _explain(self, err: Exception) -> str | None:
        if isinstance(err, ValueError) and "context" in str(err).lower():
            return f"the question and passages exceed llm.local.n_ctx={self.cfg.llm.local.n_ctx}"
        return None
