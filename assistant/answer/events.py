"""What `ask_stream` yields while a question is answered, the Response last."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.models import Citation, Response


@dataclass
class Rewritten:
    """The follow-up was rewritten into this standalone question (shown to the user)."""

    standalone: str


@dataclass
class Retrieved:
    """The passages found, numbered as a draft's [n] refer to them (before the answer's
    own citations are renumbered): a draft that is stopped keeps working links."""

    passages: list[Citation]


@dataclass
class Generating:
    """The passages are found and the model is asked; its tokens follow. Not yielded when
    no model writes the answer (quoted, from the facts, refused by the evidence test)."""


@dataclass
class Token:
    """A piece of the draft, as the model writes it (citations not yet renumbered)."""

    text: str


@dataclass
class Retry:
    """The guard rejected the draft shown so far; a new one follows."""

    problems: str


Event = Rewritten | Retrieved | Generating | Token | Retry | Response
