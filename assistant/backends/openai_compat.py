"""The `openai` backend: any server speaking the OpenAI chat-completions protocol (OpenAI,
vLLM, Ollama, llama.cpp server, DeepSeek), through llama-index's OpenAILike and the `openai`
package.

The key is read from the environment variable NAMED in the config, when a question is
asked, and never stored or logged. Each fault the network can produce (server down, timeout,
429, 5xx, a rejected key, a malformed or cut stream) becomes one line for the user.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import openai
from llama_index.llms.openai_like import OpenAILike

from assistant.answer.prompts import Message
from assistant.backends.generative import GenerativeBackend
from assistant.config import Config

NO_KEY = "not-needed"  # servers without authentication (vLLM, Ollama) accept any key


class _OpenAIChat(OpenAILike):
    """OpenAILike with retries left to the `openai` client alone.

    llama-index wraps non-streaming calls in its own retry loop (waits of 1-20 s) around the
    client's retries; with both, one fault could cost minutes. `max_retries` stays 0 so
    that loop is off, and the client gets `client_retries`.
    """

    client_retries: int = 0

    def _get_credential_kwargs(self, is_async: bool = False) -> dict[str, Any]:
        kwargs = super()._get_credential_kwargs(is_async)
        kwargs["max_retries"] = self.client_retries
        return kwargs


class OpenAIBackend(GenerativeBackend):
    name = "openai"

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self.settings = cfg.llm.openai

    @property
    def streaming(self) -> bool:
        return self.settings.stream

    def api_key(self) -> str:
        return os.environ.get(self.settings.api_key_env, "") or NO_KEY

    def _make_llm(self) -> _OpenAIChat:
        s = self.settings
        return _OpenAIChat(
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
        )

    def stream_messages(
        self, messages: Sequence[Message], max_tokens: int | None = None
    ) -> Iterator[str]:
        # The key may be set or changed between questions (a chat left open).
        self._llm = None
        yield from super().stream_messages(messages, max_tokens)

    def _finished(self, piece: Any) -> bool:
        raw = getattr(piece, "raw", None)
        choices = getattr(raw, "choices", None) or []
        return any(getattr(c, "finish_reason", None) for c in choices)

    def _cut_message(self) -> str:
        return (
            f"the LLM server at {self.settings.base_url} cut the reply off before it was complete"
        )

    def ready(self) -> tuple[bool, str]:
        """Asks the server for its models: reachable, key accepted, model served."""
        s = self.settings
        try:
            client = openai.OpenAI(
                base_url=s.base_url, api_key=self.api_key(), timeout=s.timeout, max_retries=0
            )
            served = [m.id for m in client.models.list()]
        except Exception as err:  # ready() reports, it never raises
            return False, self._explain(err) or f"{type(err).__name__}: {err}"
        key = f"key from ${s.api_key_env}" if os.environ.get(s.api_key_env) else "no key"
        if served and s.model not in served:
            return False, f"{s.base_url} does not serve model '{s.model}' (it has: {served[:5]})"
        return True, f"{s.base_url}, model {s.model}, {key}"

    def _explain(self, err: Exception) -> str | None:
        return explain(
            err,
            self.settings.base_url,
            self.settings.model,
            self.settings.api_key_env,
            self.settings.timeout,
        )


def explain(err: Exception, base_url: str, model: str, key_env: str, timeout: float) -> str | None:
    """One line naming the fault and what to do; None when it is not a known fault."""
    server = f"the LLM server at {base_url}"
    if isinstance(err, openai.APITimeoutError | httpx.TimeoutException):
        return f"{server} did not answer within {timeout:g} s (llm.openai.timeout)"
    if isinstance(err, openai.APIConnectionError | httpx.ConnectError):
        return f"cannot reach {server}; is it running? (llm.openai.base_url)"
    if isinstance(err, openai.AuthenticationError | openai.PermissionDeniedError):
        return (
            f"{server} rejected the API key (HTTP {err.status_code}); "
            f"check the environment variable {key_env}"
        )
    if isinstance(err, openai.RateLimitError):
        return f"{server} is rate limiting requests (HTTP 429); try again later"
    if isinstance(err, openai.NotFoundError):
        return f"{server} has no model '{model}' (HTTP 404; llm.openai.model)"
    if isinstance(err, openai.APIStatusError):
        return f"{server} failed (HTTP {err.status_code})"
    if isinstance(err, json.JSONDecodeError | openai.APIResponseValidationError):
        return f"{server} sent a malformed reply"
    if isinstance(err, httpx.RemoteProtocolError | httpx.ReadError):
        return f"{server} cut the reply off before it was complete"
    if isinstance(err, openai.APIError):
        return f"{server} reported an error: {str(err).splitlines()[0][:120]}"
    return None
