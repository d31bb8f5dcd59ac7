"""Prompt templates (Chinese, in `prompts/*.toml`, editable without code) and the rendering
of a question's evidence into the numbered passages a generator reads.

The model always reads Simplified text: the 1.5B model is confused by Traditional script, and
its answer is converted back for a Traditional question after the guard has checked it.
Templates are re-read when their file changes, so staff can edit them while the chat runs.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from assistant.answer.request import AnswerRequest
from assistant.backends.base import BackendError, GenerationRequest, Message
from assistant.config import Config
from assistant.models import SECTION_SEP
from assistant.textnorm import char_bigrams, for_search

Context = Literal["sentences", "passages"]

_SECTION_CHARS = 14  # the last heading, its start: "(一)砥砺奋进谋发展…"
_TITLE_CHARS = 16  # labels are prefilled for every passage: keep them short
REWRITE_TOKENS = 80  # a standalone question is one short line


class PromptError(BackendError):
    """A prompt file is missing or malformed; the message names the file and key."""


@dataclass(frozen=True)
class AnswerPrompts:
    system: str
    user: str  # {passages} {question} {language}
    retry: str  # {problems}
    language_zh: str
    language_en: str


@dataclass(frozen=True)
class RewritePrompts:
    system: str
    user: str  # {history} {question}


_REQUIRED: dict[str, dict[str, tuple[str, ...]]] = {
    "answer.toml": {
        "system": (),
        "user": ("{passages}", "{question}"),
        "retry": ("{problems}",),
        "language_zh": (),
        "language_en": (),
    },
    "rewrite.toml": {"system": (), "user": ("{question}",)},
}


def answer_prompts(prompts_dir: Path) -> AnswerPrompts:
    return AnswerPrompts(**_load(prompts_dir / "answer.toml"))


def rewrite_prompts(prompts_dir: Path) -> RewritePrompts:
    return RewritePrompts(**_load(prompts_dir / "rewrite.toml"))


def _load(path: Path) -> dict[str, str]:
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as err:
        raise PromptError(f"prompt file missing: {path} (see paths.prompts_dir)") from err
    return dict(_parse(path, mtime))


@lru_cache(maxsize=8)
def _parse(path: Path, mtime_ns: int) -> tuple[tuple[str, str], ...]:
    """`mtime_ns` is only the cache key: an edited file is parsed again."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise PromptError(f"cannot read prompt file {path}: {err}") from err
    required = _REQUIRED[path.name]
    for key, placeholders in required.items():
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise PromptError(f"{path}: key '{key}' is missing or empty")
        for placeholder in placeholders:
            if placeholder not in value:
                raise PromptError(f"{path}: key '{key}' must contain {placeholder}")
    return tuple((key, str(data[key]).strip()) for key in required)


def render(template: str, **values: str) -> str:
    """Fill `{name}` placeholders; other braces in an edited template are left alone."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def passage_label(title: str, date: str, section: str) -> str:
    """Where a passage comes from, short: prefill on two cores is the slow part."""
    section = section.rsplit(SECTION_SEP, 1)[-1] if section else ""
    parts = [_clip(for_search(title), _TITLE_CHARS)]
    if date:
        parts.append(f"（{date}）")
    if section:
        parts.append(SECTION_SEP + _clip(for_search(section), _SECTION_CHARS))
    return "".join(parts)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def render_passages(request: AnswerRequest, context: Context, chars: int) -> str:
    """The numbered passages. `[n]` is the passage's place in request.hits (1-based), so a
    citation always points at a passage even when only some sentences of it are shown.
    Quoted material: the template sets them between markers, and nothing in them may close
    the quote or open a chat turn (see `defuse`)."""
    blocks: list[str] = [fact_lines(request)] if request.facts.found else []
    for i, body in _bodies(request, context, chars):
        label = request.labels[i] if i < len(request.labels) else ""
        blocks.append(f"[{i + 1}] {label}\n{defuse(body)}".rstrip())
    return "\n".join(blocks)


# What would end the quoted passages or start a turn of the chat template inside them.
_BREAKOUT = re.compile(r"</?资料>|<\|[a-z_]+\|>|\[/?INST\]|<</?SYS>>", re.IGNORECASE)


def defuse(text: str) -> str:
    """Passage text with quote markers and chat-template tokens made inert: angle brackets
    turned into their full-width look-alikes, so the text reads the same and means nothing."""
    return _BREAKOUT.sub(lambda m: m.group().translate(_FULL_WIDTH), text)


_FULL_WIDTH = str.maketrans("<>[]", "＜＞［］")


_STATUS = {"actual": "实际", "target": "目标"}
_KIND = {"level": "", "change": "增幅", "share": "占比", "rank": "排名"}


def fact_lines(request: AnswerRequest) -> str:
    """The matched facts as short labelled lines, before the evidence: the small model
    copies a figure faithfully when it is told which one is asked for."""
    lines = ["所问数据："]
    for found in request.facts.found:
        f = found.fact
        when = f.period.zh() if f.period else ""
        what = " ".join(x for x in (when, f.subject, f.metric, _KIND[f.kind]) if x)
        lines.append(f"[{found.hit + 1}] {what}：{f.mention}（{_STATUS[f.status]}）")
    return "\n".join(lines)


def _bodies(request: AnswerRequest, context: Context, chars: int) -> list[tuple[int, str]]:
    if context == "passages":
        return [(i, for_search(h.chunk.trusted_text)) for i, h in enumerate(request.hits)]
    by_hit: dict[int, list[tuple[int, str]]] = defaultdict(list)
    question = char_bigrams(request.question.norm)
    count_only = request.question.asks_count_only
    for s in request.evidence.sentences:
        text = elide_lists(s.norm) if count_only else s.norm
        by_hit[s.hit].append((s.start, focus(text, question, chars)))
    # Passages in their numbered order, sentences in document order: they read as text.
    return [(i, "".join(t for _, t in sorted(by_hit[i]))) for i in sorted(by_hit)]


_CLAUSE_END = re.compile(r"(?<=[,，:：])")
# A quoted list of names: “金融服务固本强基行动、信息和科技服务扩容聚链行动、…”.
_QUOTED_LIST = re.compile(r"“[^“”]*、[^“”]*”")


def elide_lists(sentence: str) -> str:
    """Quoted lists shortened to “…”: for a count question they are what pushes the count
    ("…”7大行动") out of the clauses `focus` keeps."""
    return _QUOTED_LIST.sub("“…”", sentence)


def focus(sentence: str, question: set[str], limit: int) -> str:
    """A long sentence cut down to its clauses that share most with the question, and their
    neighbours up to `limit` characters. Reports run one sentence over a whole paragraph
    of clauses; prefill, the model's reading, costs about 12 ms a token on two cores."""
    if len(sentence) <= limit:
        return sentence
    clauses = _CLAUSE_END.split(sentence)
    overlap = [len(char_bigrams(c) & question) for c in clauses]
    lo = hi = overlap.index(max(overlap))
    size = len(clauses[lo])
    while True:
        grow = [i for i in (hi + 1, lo - 1) if 0 <= i < len(clauses)]
        grow = [i for i in grow if size + len(clauses[i]) <= limit]
        if not grow:
            break
        i = grow[0]  # the clause after first: a figure follows its subject
        size += len(clauses[i])
        lo, hi = min(lo, i), max(hi, i)
    text = "".join(clauses[lo : hi + 1])
    return ("…" if lo > 0 else "") + text + ("…" if hi < len(clauses) - 1 else "")


def answer_messages(
    prompts: AnswerPrompts, request: AnswerRequest, context: Context, chars: int
) -> list[Message]:
    user = render(
        prompts.user,
        passages=render_passages(request, context, chars),
        question=defuse(request.question.norm),
        language=prompts.language_en if request.question.english else prompts.language_zh,
    )
    messages: list[Message] = [_message("system", prompts.system), _message("user", user)]
    if request.failure:
        messages.append(_message("assistant", request.previous))
        messages.append(_message("user", render(prompts.retry, problems=request.failure)))
    return messages


def rewrite_messages(prompts: RewritePrompts, history: list[str], question: str) -> list[Message]:
    user = render(
        prompts.user,
        history="\n".join(for_search(q) for q in history),
        question=for_search(question),
    )
    return [_message("system", prompts.system), _message("user", user)]


def rewrite_request(prompts_dir: Path, history: list[str], question: str) -> GenerationRequest:
    messages = rewrite_messages(rewrite_prompts(prompts_dir), history, question)
    return GenerationRequest(tuple(messages), max_tokens=REWRITE_TOKENS)


def _message(role: str, content: str) -> Message:
    return {"role": role, "content": content}


@dataclass(frozen=True)
class Prompter:
    """The generation requests of answering, from the editable templates."""

    prompts_dir: Path
    context: Context
    evidence_chars: int

    @classmethod
    def of(cls, cfg: Config) -> Prompter:
        return cls(cfg.paths.prompts_dir, cfg.llm.context, cfg.answer.evidence_chars)

    def answer(self, request: AnswerRequest) -> GenerationRequest:
        prompts = answer_prompts(self.prompts_dir)
        messages = answer_messages(prompts, request, self.context, self.evidence_chars)
        return GenerationRequest(tuple(messages))

    def warm(self) -> GenerationRequest:
        """The fixed start of every answer prompt, for a backend to prefill ahead."""
        system = answer_prompts(self.prompts_dir).system
        return GenerationRequest((_message("system", system), _message("user", "<资料>\n")))
