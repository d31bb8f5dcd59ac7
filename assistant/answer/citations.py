"""Citation markers in an answer: `[n]` refers to passage n of what was retrieved; markers
that point nowhere are dropped, and the rest renumbered in order of use; and which
sentences of a cited passage the answer drew on (what the page marks)."""

from __future__ import annotations

import re

from assistant.figures import figures, match_forms, occurs
from assistant.models import CITE_MARKER
from assistant.sentences import text_sentences
from assistant.textnorm import for_match, han_bigrams


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


_CITE_RUN = re.compile(r"(?:\[\d+\])+")
_MIN_QUOTED = 6  # pairs a sentence needs before a claim is said to quote it
_QUOTED = 0.8  # share of a passage sentence's pairs found in a claim: the claim quotes it
_RELATED = 0.3  # share of a claim's pairs a sentence must hold to be what it drew on


def claims(text: str) -> list[tuple[str, list[int]]]:
    """The answer cut at its markers: each piece of text with the passages the run of
    markers closing it cites ("A，B[1][2]。C[1]" -> ("A，B", [1, 2]), ("。C", [1]))."""
    out: list[tuple[str, list[int]]] = []
    last = 0
    for m in _CITE_RUN.finditer(text):
        out.append((text[last : m.start()], cited(m.group(0))))
        last = m.end()
    return out


def drawn_on(answer: str, n: int, passage: str) -> list[str]:
    """The sentences of `passage` that the claims of `answer` citing [n] were drawn from:
    the ones a claim quotes, else for each claim the sentence holding its figures and most
    of its words. None when no sentence clearly is (better no mark than a wrong one)."""
    spans = text_sentences(passage)
    norms = [for_match(passage[a:b]) for a, b in spans]
    chosen: set[int] = set()
    for claim, refs in claims(answer):
        if n not in refs:
            continue
        norm = for_match(claim)
        pairs = han_bigrams(norm)
        if not pairs:
            continue
        figs = figures(claim)
        quoted = [
            i
            for i, s in enumerate(norms)
            if len(han_bigrams(s)) >= _MIN_QUOTED
            and len(han_bigrams(s) & pairs) >= _QUOTED * len(han_bigrams(s))
        ]
        if quoted:
            chosen.update(quoted)
            continue
        scores = [
            (
                sum(any(occurs(f, form) for form in match_forms(s)) for f in figs),
                len(han_bigrams(s) & pairs) / len(pairs),
                -i,
            )
            for i, s in enumerate(norms)
        ]
        if not scores:
            continue
        found, share, neg_i = max(scores)
        if (figs and not found) or share < _RELATED:
            continue
        chosen.add(-neg_i)
    return [passage[spans[i][0] : spans[i][1]].strip() for i in sorted(chosen)]
