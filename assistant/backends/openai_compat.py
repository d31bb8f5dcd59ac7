"""The `openai` backend: any server speaking the OpenAI chat-completions protocol (OpenAI,
vLLM, Ollama, llama.cpp server, DeepSeek).

The key is read from the environment variable NAMED in the config, when a question is
asked, and never stored or logged. Each fault the network can produce (server down, timeout,
429, 5xx, a rejected key, a malformed or cut stream) becomes one line for the user.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import Field

from assistant.backends.base import BackendContext, BackendSettings, GenerationRequest, Readiness
from assistant.backends.generative import LLMBackend
from assistant.backends.registry import BackendSpec, register

if TYPE_CHECKING:
    from assistant.backends.openai_llm import OpenAIChat

NO_KEY = "not-needed"  # servers without authentication (vLLM, Ollama) accept any key


class OpenAIConfig(BackendSettings):
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
        30.0,
        gt=0,
        description="Seconds to wait for the server to answer or send the next piece; a "
        "server that does not is not asked again for that answer.",
    )
    retries: int = Field(
        1, ge=0, le=10, description="Retries on connection errors, 429 and 5xx (not timeouts)."
    )
    temperature: float = Field(0.1, ge=0, le=2)
    max_tokens: int = Field(512, ge=16, le=32768, description="Longest answer in tokens.")
    stream: bool = Field(True, description="Stream tokens (false: one non-streaming request).")


class OpenAIBackend(LLMBackend):
    name = "openai"

    def __init__(self, settings: OpenAIConfig, ctx: BackendContext | None = None) -> None:
        super().__init__()
        self.settings = settings

    @property
    def streaming(self) -> bool:
        return self.settings.stream

    def api_key(self) -> str:
        return os.environ.get(self.settings.api_key_env, "") or NO_KEY

    def _make_llm(self) -> OpenAIChat:
        from assistant.backends.openai_llm import OpenAIChat, checked_client

        s = self.settings
        return OpenAIChat(
            model=s.model,
            api_base=s.base_url,
            api_key=self.api_key(),
            is_chat_model=True,
            is_function_calling_model=False,
            context_window=32768,
            max_tokens=s.max_tokens,
            temperature=s.temperature,
            timeout=s.timeout,
            max_retries=0,
            client_retries=s.retries,
            http_client=checked_client(s.timeout),
        )

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        # The key may be set or changed between questions (a chat left open).
        self._llm = None
        yield from super().stream(request)

    def _finished(self, piece: Any) -> bool:
        raw = getattr(piece, "raw", None)
        choices = getattr(raw, "choices", None) or []
        return any(getattr(c, "finish_reason", None) for c in choices)

    def _cut_message(self) -> str:
        return (
            f"the LLM server at {self.settings.base_url} cut the reply off before it was complete"
        )

    def ready(self) -> Readiness:
        """Asks the server for its models: reachable, key accepted, model served."""
        from assistant.backends.openai_llm import served_models

        s = self.settings
        try:
            served = served_models(s.base_url, self.api_key(), s.timeout)
        except Exception as err:  # ready() reports, it never raises
            return Readiness(False, self._explain(err) or f"{type(err).__name__}: {err}")
        key = f"key from ${s.api_key_env}" if os.environ.get(s.api_key_env) else "no key"
        if served and s.model not in served:
            detail = f"{s.base_url} does not serve model '{s.model}' (it has: {served[:5]})"
            return Readiness(False, detail)
        return Readiness(True, f"{s.base_url}, model {s.model}, {key}")

    def describe(self) -> str:
        return f"{self.settings.model} @ {self.settings.base_url}"

    def _explain(self, err: Exception) -> str | None:
        from assistant.backends.openai_llm import explain

        s = self.settings
        return explain(err, s.base_url, s.model, s.api_key_env, s.timeout)


SPEC = register(
    BackendSpec(
        "openai",
        "模型服务器：由兼容 OpenAI 接口的服务器生成回答",
        OpenAIConfig,
        OpenAIBackend,
    )
)
