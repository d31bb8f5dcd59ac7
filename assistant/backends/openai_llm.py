"""The OpenAI protocol through llama-index's OpenAILike and the `openai` package, and the
one-line explanation of every fault the network can produce. Imported when the `openai`
backend is first used: config loading does not pay for the client libraries."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
from llama_index.llms.openai_like import OpenAILike


class OpenAIChat(OpenAILike):
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


class NotOpenAIReply(openai.OpenAIError):
    """The server answered with something other than the OpenAI protocol (an HTML page of
    a proxy or a login portal, plain text): said as such, not as the decoding error that
    reading it as JSON or as an event stream would end in."""

    def __init__(self, content_type: str) -> None:
        super().__init__(f"reply of type {content_type or 'unknown'}")
        self.content_type = content_type


class _Checked(httpx.BaseTransport):
    """The transport under the `openai` client: a reply that is not JSON or an event stream
    is NotOpenAIReply, and a timeout is final. The client retries timeouts like connection
    errors, so a server that never replies cost (retries + 1) x timeout while the message
    said "within timeout"; an OpenAIError raised here is passed through without a retry."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self.inner.handle_request(request)
        except httpx.TimeoutException as err:
            raise openai.APITimeoutError(request=request) from err
        kind = response.headers.get("content-type", "").lower()
        if response.status_code < 400 and not ("json" in kind or "event-stream" in kind):
            response.close()
            raise NotOpenAIReply(kind.split(";")[0].strip())
        return response

    def close(self) -> None:
        self.inner.close()


def checked_client(timeout: float) -> httpx.Client:
    """The HTTP client the backend's requests go through (see `_Checked`)."""
    return httpx.Client(transport=_Checked(httpx.HTTPTransport()), timeout=timeout)


def served_models(base_url: str, api_key: str, timeout: float) -> list[str]:
    client = openai.OpenAI(
        base_url=base_url,
        api_key=api_key,
        timeout=timeout,
        max_retries=0,
        http_client=checked_client(timeout),
    )
    return [m.id for m in client.models.list()]


def explain(err: Exception, base_url: str, model: str, key_env: str, timeout: float) -> str | None:
    """One line naming the fault and what to do; None when it is not a known fault."""
    server = f"the LLM server at {base_url}"
    if isinstance(err, NotOpenAIReply):
        return (
            f"{server} answered with {err.content_type or 'a reply'} instead of the OpenAI "
            "protocol (a proxy or login page in between? llm.openai.base_url should end in /v1)"
        )
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
