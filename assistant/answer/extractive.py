"""The extractive answer: the best evidence sentences, each cited. No generator, no guessing.

It answers when no generator is configured and whenever a generator fails or its answer
fails the guard.
"""

from __future__ import annotations

from assistant.answer.request import AnswerRequest, Draft
from assistant.config import AnswerConfig


def extract(request: AnswerRequest, cfg: AnswerConfig) -> Draft:
    if not request.support.supported:
        return Draft(text="", refused=True)
    picked = request.evidence.sentences[: cfg.max_sentences]
    # Keep document order within a passage so the quote reads naturally.
    picked = sorted(picked, key=lambda s: (s.hit, s.start))
    text = "".join(f"{s.text}[{s.hit + 1}]" for s in picked)
    return Draft(text=text, refused=not picked)
