"""The extractive backend: the best evidence sentences, each cited. No generator, no guessing."""

from __future__ import annotations

from assistant.backends.base import AnswerRequest, Draft
from assistant.config import AnswerConfig


class ExtractiveBackend:
    name = "extractive"

    def __init__(self, cfg: AnswerConfig) -> None:
        self.cfg = cfg

    def ready(self) -> tuple[bool, str]:
        return True, "no generator: quotes the best evidence sentences"

    def answer(self, request: AnswerRequest) -> Draft:
        if not request.evidence.supported:
            return Draft(text="", refused=True)
        picked = request.evidence.sentences[: self.cfg.max_sentences]
        # Keep document order within a passage so the quote reads naturally.
        picked = sorted(picked, key=lambda s: (s.hit, s.start))
        text = "".join(f"{s.text}[{s.hit + 1}]" for s in picked)
        return Draft(text=text, refused=not picked)
