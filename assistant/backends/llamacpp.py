"""llama.cpp behind llama-index's LLM interface: the model loaded once per process and
chatted with in its own template. Imported only when the local backend first generates:
llama-index costs a second to import, which config loading and the extractive path skip.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import gc
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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

from assistant.backends.base import BackendError
from assistant.backends.model_thread import ModelThread

# (path, n_ctx, threads, n_batch) -> (Llama, the lock its decoding takes)
_LOADED: dict[tuple[str, int, int, int], tuple[Any, threading.Lock]] = {}
_LOAD_LOCK = threading.Lock()


@atexit.register
def _unload() -> None:
    """Free the models while the interpreter still stands (registered after the model
    thread's own exit hook, so it runs first), not during finalization, when what their
    destructors call may already be gone."""
    with _LOAD_LOCK:
        loaded = [llama for llama, _ in _LOADED.values()]
        _LOADED.clear()
    for llama in loaded:
        close = getattr(llama, "close", None)  # other holders keep a closed, inert object
        if close is not None:
            close()
    gc.collect()


@dataclass(frozen=True)
class LoadOptions:
    n_ctx: int
    threads: int
    n_batch: int
    seed: int
    cache_mb: int  # RAM for saved prompt states; 0: none


def load_llama(path: Path, opts: LoadOptions) -> tuple[Any, threading.Lock]:
    """The llama.cpp model for `path` and its lock, loaded at most once per process."""
    key = (str(path), opts.n_ctx, opts.threads, opts.n_batch)
    with _LOAD_LOCK:
        if key not in _LOADED:
            try:
                from llama_cpp import Llama
            except ImportError as err:
                raise BackendError("llama-cpp-python is not installed; run: make install") from err
            try:
                llama = Llama(
                    model_path=str(path),
                    n_ctx=opts.n_ctx,
                    n_threads=opts.threads,
                    n_threads_batch=opts.threads,
                    n_batch=opts.n_batch,
                    seed=opts.seed,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as err:
                raise BackendError(
                    f"cannot load the local model {path} ({err}); delete it to have it "
                    "assembled again, or set llm.local.model_file to a valid GGUF"
                ) from err
            _drop_logits_buffer(llama)
            if opts.cache_mb:
                llama.set_cache(prompt_cache(opts.cache_mb * 2**20))
            _LOADED[key] = (llama, threading.Lock())
        return _LOADED[key]


def _drop_logits_buffer(llama: Any) -> None:
    """llama-cpp-python keeps an (n_batch x vocabulary) float buffer of logits, 512 x 151,936
    x 4 bytes = 311 MB for Qwen2.5, which it never writes without logits_all (sampling
    happens inside llama.cpp) but fills when it restores a saved prompt state, and copies
    into every state it saves. One row serves every use it has left."""
    import numpy as np

    if not getattr(llama, "_logits_all", False):
        llama.scores = np.zeros((1, llama.n_vocab()), dtype=np.single)


_LIBC = (
    ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6") if sys.platform == "linux" else None
)


def release_freed_memory() -> None:
    """Hand the C heap's free pages back to the system. A saved prompt state is tens of MB
    allocated on the heap; states of other sizes coming and going leave holes glibc keeps,
    and a long-running process (the page) grew by them question after question."""
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


def prompt_cache(capacity_bytes: int) -> Any:
    """llama-cpp-python's RAM cache of saved prompt states, held to its capacity.

    Its own accounting counts only the model's state (the KV cache of the prompt, a few MB)
    and not the copy of the logits buffer each saved state carries (n_batch x vocabulary
    floats: 512 x 151,936 x 4 bytes = 311 MB for Qwen2.5), so 256 MB "of cache" held a
    dozen states and 4 GB: a process grew by about 330 MB a question, to 6.6 GB. Without
    logits_all those rows are never written (sampling happens inside llama.cpp), so a saved
    state keeps one row, and every byte kept is counted."""
    from llama_cpp import LlamaRAMCache

    class CompactRAMCache(LlamaRAMCache):  # type: ignore[misc]
        @property
        def cache_size(self) -> int:
            return sum(_state_bytes(state) for state in self.cache_state.values())

        def __setitem__(self, key: Any, value: Any) -> None:
            if getattr(value, "scores", None) is not None and len(value.scores) > 1:
                value.scores = value.scores[-1:].copy()
            super().__setitem__(key, value)

    return CompactRAMCache(capacity_bytes=capacity_bytes)


def _state_bytes(state: Any) -> int:
    return int(state.llama_state_size) + state.scores.nbytes + state.input_ids.nbytes


class LlamaCppChat(CustomLLM):
    """A llama.cpp model as a llama-index LLM, chatting with the model's own template."""

    model_name: str = "local"
    context_window: int = 4096
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0
    _llama: Any = PrivateAttr()
    _lock: threading.Lock = PrivateAttr()
    _thread: ModelThread = PrivateAttr()

    def __init__(
        self, llama: Any, lock: threading.Lock, thread: ModelThread, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._llama = llama
        self._lock = lock
        self._thread = thread  # every call into llama.cpp runs there (see model_thread)

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

        def deltas() -> Iterator[str]:
            with self._lock:
                try:
                    chunks = self._llama.create_chat_completion(
                        dicts, stream=True, **self._params(kwargs)
                    )
                    for chunk in chunks:
                        delta = chunk["choices"][0]["delta"].get("content")
                        if delta:
                            yield delta
                finally:
                    release_freed_memory()

        return self._thread.run(deltas)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        def completion() -> Any:
            with self._lock:
                return self._llama.create_completion(prompt, **self._params(kwargs))

        out = self._thread.call(completion)
        return CompletionResponse(text=out["choices"][0]["text"])

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        def chunks() -> Iterator[Any]:
            with self._lock:
                yield from self._llama.create_completion(
                    prompt, stream=True, **self._params(kwargs)
                )

        def gen() -> CompletionResponseGen:
            text = ""
            for chunk in self._thread.run(chunks):
                delta = chunk["choices"][0]["text"]
                text += delta
                yield CompletionResponse(text=text, delta=delta)

        return gen()
