"""Citation markers in an answer: `[n]` refers to passage n of what was retrieved; markers
that point nowhere are dropped, and the rest renumbered in order of use."""

from __future__ import annotations

import re

from assistant.models import CITE_MARKER


def verify_citations(text: str, n_passages: int) -> tuple[str, list[int], list[int]]:
    """Remove markers that point at no passage (1..n_passages).

    Returns the text, the valid passage numbers in order of first use, and the dropped ones.
    """
    order: list[int] = []
    dropped: list[int] = []

    def keep(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if not 1 <= n <= n_passages:
            dropped.append(n)
            return ""
        if n not in order:
            order.append(n)
        return m.group(0)

    return CITE_MARKER.sub(keep, text), order, dropped


def renumber(text: str, order: list[int]) -> str:
    """Markers renumbered 1..m in order of first use (`order` from verify_citations)."""
    return CITE_MARKER.sub(lambda m: f"[{order.index(int(m.group(1))) + 1}]", text)


def cited(text: str) -> list[int]:
    """The passage numbers a piece of text cites, in order."""
    return [int(n) for n in CITE_MARKER.findall(text)]


def strip(text: str) -> str:
    """The text without its markers."""
    return CITE_MARKER.sub("", text)
