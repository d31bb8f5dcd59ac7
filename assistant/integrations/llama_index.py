"""The assistant in llama-index code: a query engine and a retriever over `assistant.api`.

    from assistant.api import Assistant
    from assistant.integrations.llama_index import AssistantQueryEngine

    engine = AssistantQueryEngine(Assistant.open("assistant.toml"))
    response = engine.query("2019年罗湖完成固定资产投资多少亿元？")
    print(response)                        # the answer, with its [n] citations
    for source in response.source_nodes:   # source n is citation [n]
        print(source.score, source.node.metadata["title"], source.node.get_content())

The engine answers as `assistant ask` does (retrieval, evidence, facts, the grounding
guard), so it can stand wherever llama-index takes a query engine (a `QueryEngineTool` of
an agent, a router). The retriever gives the same passages without an answer, for a
llama-index synthesizer of one's own. Each passage is a `TextNode` whose id is the chunk
id and whose metadata holds the document id, title, date, section, character offsets and
the sentences that support the answer; the response's metadata holds the whole typed
`models.Response` under "response".

Streaming is not offered: an answer is only final once the guard has checked it (a
draft can be rejected and rewritten); `Assistant.ask_stream` gives the draft's tokens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response as LlamaResponse
from llama_index.core.callbacks.base import CallbackManager
from llama_index.core.prompts.mixin import PromptMixinType
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from assistant.api import Assistant
from assistant.models import Citation, Response


class Scope:
    """What every query of an engine or retriever is narrowed to (see `Assistant.ask`)."""

    def __init__(
        self,
        documents: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        mode: str | None = None,
    ) -> None:
        self.kwargs: dict[str, Any] = {
            "documents": documents,
            "date_from": date_from,
            "date_to": date_to,
            "mode": mode,
        }


class AssistantQueryEngine(BaseQueryEngine):
    """`query(question)` → a llama-index `Response`: the assistant's answer, its cited
    passages as `source_nodes` (the n-th is [n]) and `metadata` with how it was made."""

    def __init__(
        self,
        assistant: Assistant,
        *,
        documents: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        mode: str | None = None,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        self.assistant = assistant
        self.scope = Scope(documents, date_from, date_to, mode)
        super().__init__(callback_manager=callback_manager)

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}  # the prompts live in prompts/, read by the assistant's own pipeline

    def _query(self, query_bundle: QueryBundle) -> LlamaResponse:
        return to_llama_response(self.assistant.ask(query_bundle.query_str, **self.scope.kwargs))

    async def _aquery(self, query_bundle: QueryBundle) -> LlamaResponse:
        return await asyncio.to_thread(self._query, query_bundle)

    def retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """The passages the question retrieves, best first (what `query` answers from)."""
        found = self.assistant.retrieve(query_bundle.query_str, **self.scope.kwargs)
        return [to_node(c) for c in found]


class AssistantRetriever(BaseRetriever):
    """`retrieve(question)` → the passages the assistant's hybrid retrieval finds, best
    first, as `NodeWithScore`s (score: the fused rank score, higher is better)."""

    def __init__(
        self,
        assistant: Assistant,
        *,
        documents: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        mode: str | None = None,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        self.assistant = assistant
        self.scope = Scope(documents, date_from, date_to, mode)
        super().__init__(callback_manager=callback_manager)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        found = self.assistant.retrieve(query_bundle.query_str, **self.scope.kwargs)
        return [to_node(c) for c in found]


def to_node(c: Citation) -> NodeWithScore:
    """A passage as llama-index holds one: its text, its place and its score."""
    metadata = {
        "doc_id": c.doc_id,
        "title": c.title,
        "date": c.date,
        "section": c.section,
        "n": c.n,
        "start": c.start,
        "end": c.end,
        "highlight": list(c.highlight),
    }
    node = TextNode(
        id_=c.chunk_id or f"{c.doc_id}:{c.start}",
        text=c.text,
        metadata=metadata,
        # What a llama-index LLM should read beside the text: where it is from, not offsets.
        excluded_llm_metadata_keys=["doc_id", "n", "start", "end", "highlight"],
        excluded_embed_metadata_keys=list(metadata),
    )
    return NodeWithScore(node=node, score=c.score)


def to_llama_response(r: Response) -> LlamaResponse:
    return LlamaResponse(
        response=r.answer,
        source_nodes=[to_node(c) for c in r.citations],
        metadata={
            "refused": r.refused,
            "backend": r.backend,
            "latency_ms": r.latency_ms,
            "notice": r.notice,
            "standalone_question": r.standalone_question,
            "response": r,
        },
    )
