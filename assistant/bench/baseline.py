"""The plain llama-index pipeline a developer would write from the docs, to compare against.

What it does, on purpose, and nothing more:
- `SimpleDirectoryReader` over the sources folder (the .txt reports, read as they are: no
  mojibake repair, no Traditional-to-Simplified conversion, no metadata from header lines);
- `SentenceSplitter()` with its defaults (1024 tokens, 200 overlap);
- `VectorStoreIndex` on a Chroma collection created the way the llama-index Chroma example
  does (default distance), with the same embedding model as ours (`E5Embedding`);
- dense retrieval only (`as_retriever(similarity_top_k=...)`, the same k as ours): no BM25,
  no fusion, no reranking, no query normalization.

Answers use the same answer backend as the compared run:
- extractive (no LLM): llama-index has no answer synthesis without an LLM, so the
  retrieved nodes go through our extractive composer (evidence sentences, support test and
  quotation, with the IDF table of our index over the same sources);
- a generator (local or openai): llama-index's default `as_query_engine()` with that LLM and
  its default (English) prompts.
Either way the baseline's citations are its retrieved source nodes, as llama-index returns
them, and it is scored by the eval harness's scorer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr

from assistant.answer import refusal
from assistant.answer.evidence import select_evidence
from assistant.answer.extractive import extract
from assistant.answer.question import read_question
from assistant.answer.request import AnswerRequest
from assistant.backends.base import Generator
from assistant.config import Config
from assistant.evaluation.score import Prediction
from assistant.index.bm25 import BM25Index
from assistant.index.embed import E5Embedding
from assistant.models import Chunk, Hit
from assistant.textnorm import for_search
from assistant.timings import ms_since, timed

COLLECTION = "baseline"


class TimedE5(E5Embedding):
    """Our embedder, counting the seconds spent inside the model while indexing."""

    _seconds: float = PrivateAttr(default=0.0)

    @property
    def seconds(self) -> float:
        return self._seconds

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        t = time.perf_counter()
        out = super()._get_text_embeddings(texts)
        self._seconds += time.perf_counter() - t
        return out

    def _get_text_embedding(self, text: str) -> list[float]:
        t = time.perf_counter()
        out = super()._get_text_embedding(text)
        self._seconds += time.perf_counter() - t
        return out


@dataclass
class BaselineIngest:
    documents: int
    nodes: int
    seconds: float
    embed_seconds: float


@dataclass
class BaselineAnswer:
    prediction: Prediction
    timings_ms: dict[str, float] = field(default_factory=dict)


class PlainPipeline:
    """The llama-index defaults pipeline; `ask` returns what the scorer needs."""

    def __init__(
        self,
        index: Any,
        cfg: Config,
        backend: Generator | None,
        idf: BM25Index,
        texts: dict[str, str],
    ) -> None:
        self.index = index
        self._doc_texts = texts  # file name -> whole text, for the composer's support test
        self.cfg = cfg
        self.backend = backend
        self.retriever = index.as_retriever(similarity_top_k=cfg.retrieval.top_k)
        self._idf = idf
        self._engine = self._query_engine(backend) if backend is not None else None

    @property
    def answering(self) -> str:
        """How answers are made, in words, for the report."""
        if self.backend is None:
            return "our extractive composer over llama-index's retrieved nodes (no LLM)"
        return f"llama-index default as_query_engine() with the {self.backend.name} LLM"

    def _query_engine(self, generator: Generator) -> Any:
        llm = generator.llm()  # type: ignore[attr-defined]  # the llama-index LLM it wraps
        return self.index.as_query_engine(llm=llm, similarity_top_k=self.cfg.retrieval.top_k)

    def ask(self, question: str) -> BaselineAnswer:
        from llama_index.core.schema import QueryBundle

        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        with timed(timings, "retrieve"):
            nodes = self.retriever.retrieve(question)
        if self._engine is None:
            answer, refused = self._compose(question, nodes, timings)
        else:
            with timed(timings, "generate"):
                response = self._engine.synthesize(QueryBundle(question), nodes)
            answer, refused = str(response), False
        texts = tuple(n.node.get_content() for n in nodes)
        prediction = Prediction(
            answer=answer,
            refused=refused,
            cited=texts,
            retrieved=texts,
            latency_ms=ms_since(t0),
            timings_ms=timings,
        )
        return BaselineAnswer(prediction, timings)

    def _compose(
        self, question: str, nodes: list[Any], timings: dict[str, float]
    ) -> tuple[str, bool]:
        """Our extractive composer over the baseline's nodes: the closest no-LLM equivalent
        of llama-index's response synthesis. Timed as in our pipeline (evidence selection,
        then the quotation) so that "everything before generation" means the same on both."""
        with timed(timings, "evidence"):
            q = read_question(question)
            hits = [Hit(_as_chunk(n), float(n.score or 0.0)) for n in nodes]
            evidence = select_evidence(q, hits, self._idf, self.cfg.answer)
            support = refusal.judge(q, hits, evidence, self.cfg.answer, self._document_text)
        with timed(timings, "generate"):
            draft = extract(AnswerRequest(q, hits, evidence, support), self.cfg.answer)
        return draft.text, draft.refused

    def _document_text(self, doc_id: str) -> str:
        return for_search(self._doc_texts.get(doc_id, ""))


def _as_chunk(node: Any) -> Chunk:
    text = node.node.get_content()
    return Chunk(
        chunk_id=node.node.node_id,
        doc_id=str(node.node.metadata.get("file_name", "")),
        section="",
        start=int(node.node.start_char_idx or 0),
        end=int(node.node.end_char_idx or 0),
        text=text,
        search_text=for_search(text),
    )


def build(
    cfg: Config, work: Path, backend: Generator | None, idf: BM25Index
) -> tuple[PlainPipeline, BaselineIngest]:
    """Index `cfg.paths.sources` the llama-index way into a Chroma store under `work`;
    `backend` is the compared run's own (a local model is loaded once, not twice)."""
    import chromadb
    from llama_index.core import Settings, SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    t0 = time.perf_counter()
    embed = TimedE5(cfg.embedding)
    # The defaults want OpenAI; a developer offline sets these first.
    Settings.embed_model = embed
    Settings.llm = None
    documents = SimpleDirectoryReader(str(cfg.paths.sources), required_exts=[".txt"]).load_data()
    client = chromadb.PersistentClient(path=str(work / "chroma"))
    # embedding_function=None: Chroma's default one downloads a model on first use.
    collection = client.get_or_create_collection(COLLECTION, embedding_function=None)
    store = ChromaVectorStore(chroma_collection=collection)
    storage = StorageContext.from_defaults(vector_store=store)
    index = VectorStoreIndex.from_documents(
        documents, storage_context=storage, embed_model=embed, transformations=[SentenceSplitter()]
    )
    stats = BaselineIngest(
        documents=len(documents),
        nodes=int(collection.count()),
        seconds=time.perf_counter() - t0,
        embed_seconds=embed.seconds,
    )
    texts = {str(d.metadata.get("file_name", "")): d.text for d in documents}
    return PlainPipeline(index, cfg, backend, idf, texts), stats
