"""Conversation: the turns of a chat, and follow-ups rewritten into standalone questions.

Retrieval only sees one question, so "那2019年呢?" must become "2019年罗湖…是多少?" first.
The common shape, a follow-up that swaps the year, is rewritten by a rule (instant, exact);
any other follow-up goes to the generator with `prompts/rewrite.toml`, when there is one.
The rewritten question is shown to the user, who can tell when it went wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from assistant.answer.prompts import rewrite_request
from assistant.backends.base import BackendError, Generator
from assistant.figures import YEAR
from assistant.textnorm import for_search

_LEAD = re.compile(r"^(?:那么?|那|还有|另外|再问一下|再问|and|what about|how about)\s*", re.I)
_TAIL = re.compile(r"(?:的情况|情况)?(?:呢|吗)?\s*[?？。.!！]*$")
_PRONOUN = re.compile(
    r"它|(?<!应)该|这个|那个|这些|那些|他们|它们|上述|同期|同一|此项|这项|\b(?:it|they|that|those)\b",
    re.I,
)
_YEAR = re.compile(rf"(?<!\d){YEAR}(?!\d)(年?)")
_ONLY_YEAR = re.compile(rf"^({YEAR})年?$")
_REPORT_AFTER = re.compile(r"(?:[^,，。?？]{0,6})(?:报告|全会|会议)")
_MAX_FOLLOWUP_CHARS = 12  # "那2019年呢?"-sized; longer questions usually stand alone


@dataclass
class Turn:
    question: str  # as asked
    standalone: str  # what was retrieved for
    answer: str


@dataclass
class Conversation:
    """The turns of one chat, oldest first; `ask_stream` reads and `add` extends it."""

    max_turns: int = 3
    turns: list[Turn] = field(default_factory=list)

    def add(self, question: str, standalone: str, answer: str) -> None:
        self.turns.append(Turn(question, standalone or question, answer))
        if len(self.turns) > self.max_turns:
            self.turns = self.turns[len(self.turns) - self.max_turns :]


def is_followup(question: str) -> bool:
    """Short, opens or ends like a follow-up, or leans on a pronoun."""
    q = for_search(question)
    core = _TAIL.sub("", _LEAD.sub("", q))
    if _PRONOUN.search(q):
        return True
    shaped = bool(_LEAD.match(q)) or bool(re.search(r"呢\s*[?？]?$", q))
    return shaped and len(core) <= _MAX_FOLLOWUP_CHARS


def rewrite_by_rule(previous: str, question: str) -> str | None:
    """ "那2019年呢?" after a question about another year: the same question for 2019."""
    core = _TAIL.sub("", _LEAD.sub("", for_search(question))).strip()
    wanted = _ONLY_YEAR.match(core)
    if not wanted:
        return None
    prev = for_search(previous)
    # The year the question is about, not the year of the report it names
    # ("2021年政府工作报告中,2020年…": the follow-up changes 2020).
    for m in _YEAR.finditer(prev):
        if not _REPORT_AFTER.match(prev, m.end()):
            return prev[: m.start()] + wanted.group(1) + m.group(1) + prev[m.end() :]
    return None


def standalone_question(
    question: str, history: list[Turn], generator: Generator | None, prompts_dir: Path
) -> tuple[str, str]:
    """(the question to retrieve with, how it was rewritten: "" | "rule" | "model").

    A generator failure keeps the question as asked: a rewrite is a help, not a must.
    """
    if not history or not is_followup(question):
        return question, ""
    ruled = rewrite_by_rule(history[-1].standalone, question)
    if ruled:
        return ruled, "rule"
    if generator is None:
        return question, ""
    request = rewrite_request(prompts_dir, [t.standalone for t in history], question)
    try:
        text = generator.complete(request)
    except BackendError:
        return question, ""
    rewritten = _clean(text)
    return (rewritten, "model") if rewritten else (question, "")


def _clean(text: str) -> str:
    """The first line, without a label the model may echo."""
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^(?:改写后的问题|问题|独立问题)\s*[:：]\s*", "", line)
    return line.strip("\"'“”「」 ")
