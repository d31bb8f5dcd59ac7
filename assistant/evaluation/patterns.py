"""Gold regexes for readers: what a pattern expects, in words (`describe`), and where it
matched in a passage as shown (`match_spans`), for the report's cards.

Patterns are matched against `textnorm.for_match` text (Simplified, no spaces, no digit
commas); a passage is shown as written (perhaps Traditional, with spaces), so the match is
carried back to the original characters through an index kept while normalizing.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as sre  # type: ignore[attr-defined]
from typing import Any

from assistant.textnorm import nfkc, to_simplified

OR = " 或 "
GAP = "…"  # anything, or a character class we do not spell out
MAX_SPELLED = 6  # more alternatives than this are written compactly: 2018(年度)[-/至]2019


class _TooMany(Exception):
    pass


def describe(pattern: str) -> str:
    """A gold regex as a reader would say it: lookarounds and anchors dropped, a choice
    spelled out ("8条 或 八条"), or compact when there are many ("2019[年/./-//](0)8": a
    choice in square brackets, an optional part in round ones), any-character runs as ….
    Falls back to the pattern itself when it cannot be read."""
    try:
        tree = sre.parse(pattern)
    except (re.error, RecursionError):
        return pattern
    try:
        spelled = _spell(list(tree))
    except _TooMany:
        return _tidy(_compact(list(tree), top=True))
    return OR.join(dict.fromkeys(_tidy(s) for s in spelled))


def _tidy(text: str) -> str:
    return re.sub(f"(?:{GAP})+", GAP, text).strip() or GAP


def _spell(items: list[tuple[Any, Any]]) -> list[str]:
    """Every string the items can read as (each choice made), or _TooMany."""
    options: list[str] = [""]
    for op, av in items:
        part = _spell_one(op, av)
        options = [a + b for a, b in itertools.product(options, part)]
        if len(options) > MAX_SPELLED:
            raise _TooMany
    return options


def _spell_one(op: Any, av: Any) -> list[str]:
    if op is C.LITERAL:
        return [chr(av)]
    if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
        return [""]
    if op is C.SUBPATTERN:
        return _spell(list(av[-1]))
    if op is C.BRANCH:
        return [s for branch in av[1] for s in _spell(list(branch))]
    if op is C.IN:
        chars = [chr(v) for o, v in av if o is C.LITERAL]
        return chars if chars and len(chars) == len(av) else [GAP]
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        low, high, sub = av
        if (low, high) == (0, 1):
            return ["", *_spell(list(sub))]
        return [GAP]
    return [GAP]  # ANY, NOT_LITERAL, categories, backreferences


def _compact(items: list[tuple[Any, Any]], top: bool = False) -> str:
    """One line for many alternatives: a choice as [a/b], an optional part as (x); at the
    top, alternatives are joined by 或."""
    out = []
    alone = len(items) == 1
    for op, av in items:
        if op is C.LITERAL:
            out.append(chr(av))
        elif op is C.SUBPATTERN:
            out.append(_compact(list(av[-1]), top and alone))
        elif op is C.BRANCH:
            choices = [_compact(list(b)) for b in av[1]]
            out.append(OR.join(choices) if top and alone else f"[{'/'.join(choices)}]")
        elif op is C.IN:
            chars = [chr(v) for o, v in av if o is C.LITERAL]
            out.append(f"[{'/'.join(chars)}]" if chars and len(chars) == len(av) else GAP)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            low, high, sub = av
            inner = _compact(list(sub))
            out.append(f"({inner})" if (low, high) == (0, 1) and inner != GAP else GAP)
        elif op not in (C.AT, C.ASSERT, C.ASSERT_NOT):
            out.append(GAP)
    return "".join(out)


# ------------------------------------------------------------------------------ matching

_DIGIT_COMMA = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")


def normalized_with_index(text: str) -> tuple[str, list[int]]:
    """`for_match(text)` and, for each of its characters, the index in `text` it comes
    from. When a phrase conversion changed the length (rare), the index is empty."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for piece in nfkc(ch):
            if not piece.isspace():
                chars.append(piece)
                origin.append(i)
    simple = to_simplified("".join(chars))
    if len(simple) != len(chars):
        return simple, []
    drop = {m.start() for m in _DIGIT_COMMA.finditer(simple)}
    kept = [j for j in range(len(simple)) if j not in drop]
    return "".join(simple[j] for j in kept), [origin[j] for j in kept]


def match_spans(text: str, patterns: Sequence[str]) -> list[tuple[int, int]]:
    """Where the patterns match `text`, as (start, end) of its own characters, merged."""
    norm, origin = normalized_with_index(text)
    if not origin:
        return []
    spans = []
    for pattern in patterns:
        for m in re.finditer(pattern, norm):
            if m.end() > m.start():
                spans.append((origin[m.start()], origin[m.end() - 1] + 1))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
