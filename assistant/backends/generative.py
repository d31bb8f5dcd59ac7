"""What the `local` and `openai` backends share: messages in, text pieces out, every fault
turned into a one-line BackendError.

Both models sit behind llama-index's LLM interface (`stream_chat`, `chat`), so this code
does not care whether the tokens come from llama.cpp on this machine or from a server.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from assistant.backends.base import BackendError, GenerationRequest, Message, Readiness

if TYPE_CHECKING:
    from llama_index.core.llms import LLM, ChatMessage, ChatResponse


class StreamCut(BackendError):
    """A stream that ended without the model or server saying the reply was complete."""


class LLMBackend:
    """Subclasses provide `_make_llm` (built lazily, once), `ready`, `describe`, and may
    explain their own faults (`_explain`)."""

    name = "generative"

    def __init__(self) -> None:
        self._llm: LLM | None = None

    # -- to provide -------------------------------------------------------------------

    def _make_llm(self) -> LLM:
        raise NotImplementedError

    def _explain(self, err: Exception) -> str | None:
        """A one-line message for a fault this backend knows, else None."""
        return None

    @property
    def streaming(self) -> bool:
        return True

    def _finished(self, piece: ChatResponse) -> bool:
        """Whether this streamed piece says the reply is complete (a server's stream can
        end early without an error: the answer would be silently cut)."""
        return True

    def _cut_message(self) -> str:
        return f"the {self.name} model's reply ended before it was complete"

    def ready(self) -> Readiness:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def warm(self, request: GenerationRequest) -> None:
        """Nothing to pay ahead by default (a server keeps its own model loaded)."""

    # -- shared -----------------------------------------------------------------------

    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = self._make_llm()
        return self._llm

    def complete(self, request: GenerationRequest) -> str:
        return "".join(self.stream(request))

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """Token pieces of the reply. Every failure, whenever it happens (connecting, in
        the middle of a stream), leaves as BackendError with a one-line message."""
        chat = _chat_messages(request.messages)
        kwargs: dict[str, Any] = {"max_tokens": request.max_tokens} if request.max_tokens else {}
        try:
            llm = self.llm()
            if self.streaming:
                finished = False
                for piece in llm.stream_chat(chat, **kwargs):
                    finished = finished or self._finished(piece)
                    if piece.delta:
                        yield piece.delta
                if not finished:
                    raise StreamCut(self._cut_message())
            else:
                yield llm.chat(chat, **kwargs).message.content or ""
        except BackendError:
            raise
        except Exception as err:  # any fault of a model or a server ends as one line
            raise BackendError(self._explain(err) or _generic(self.name, err)) from err


def _chat_messages(messages: Sequence[Message]) -> list[ChatMessage]:
    from llama_index.core.llms import ChatMessage, MessageRole

    return [ChatMessage(role=MessageRole(m["role"]), content=m["content"]) for m in messages]


def _generic(name: str, err: Exception) -> str:
    first_line = (str(err).strip().splitlines() or [""])[0][:160]
    return f"{name} backend failed: {type(err).__name__}: {first_line}".rstrip(": ")
