"""Hybrid retrieval: BM25 and dense results fused by reciprocal rank."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

import numpy as np

from assistant.config import RetrievalConfig
from assistant.index.bm25 import AnyOf, subject_words, tokenize
from assistant.index.embed import E5Embedding
from assistant.index.live import Index
from assistant.index.vectors import DenseFilter
from assistant.models import Hit
from assistant.timings import timed

SPREAD = 4  # BM25 reads this deeper than `candidates`: copies of a passage come together
EXACT_DENSE_MAX = 20_000  # chunks whose vectors a search within some documents keeps
DOC_MASKS_KEPT = 16  # row masks of document sets (named reports, districts) kept


@dataclass
class Filters:
    """Restrict retrieval to some documents and/or a date range (ISO dates, inclusive)."""

    doc_ids: list[str] | None = None
    date_from: str | None = None
    date_to: str | None = None

    def allows(self, doc_id: str, date_num: int) -> bool:
        """Whether a document (its date as yyyymmdd) is inside the filter."""
        if self.doc_ids is not None and doc_id not in self.doc_ids:
            return False
        low, high = _date_num(self.date_from), _date_num(self.date_to)
        return (low is None or date_num >= low) and (high is None or date_num <= high)

    def dense(self) -> DenseFilter | None:
        if self.doc_ids is None and not self.date_from and not self.date_to:
            return None
        return DenseFilter(
            doc_ids=self.doc_ids,
            date_from=_date_num(self.date_from),
            date_to=_date_num(self.date_to),
        )


@dataclass(frozen=True)
class Hints:
    """What a question tells about where its answer is: the documents of a report it names
    ("2021年政府工作报告"), the chunks with facts of the period it asks ("2023年上半年"), the
    documents about the district it asks of (罗湖区 unless it names another). Each is
    searched on its own and fused with the rest, so that look-alike reports of other years
    or other districts do not push the right one out before the cut."""

    doc_ids: frozenset[str] | None = None
    chunk_ids: frozenset[str] | None = None
    subject_ids: frozenset[str] | None = None


def _date_num(iso: str | None) -> int | None:
    return int(iso.replace("-", "")) if iso else None


def rrf(
    rankings: list[tuple[list[str], float]], k: int
) -> list[tuple[str, float, list[int | None]]]:
    """Reciprocal-rank fusion of several rankings, each with its weight.

    Returns (id, fused score, 1-based rank in each input or None), best first.
    """
    scores: dict[str, float] = {}
    ranks: dict[str, list[int | None]] = {}
    for i, (ids, weight) in enumerate(rankings):
        for rank, cid in enumerate(ids, start=1):
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank)
            ranks.setdefault(cid, [None] * len(rankings))[i] = rank
    order = sorted(scores, key=lambda c: -scores[c])
    return [(c, scores[c], ranks[c]) for c in order]


class Retriever:
    def __init__(self, index: Index, cfg: RetrievalConfig, embedder: E5Embedding | None) -> None:
        self.index = index
        self.cfg = cfg
        self.embedder = embedder
        self._doc_of_row = np.array([index.by_id[c].doc_id for c in index.bm25.ids])
        dates = {d.doc_id: d.meta.date_num for d in index.documents.values()}
        self._date_of_row = np.array([dates[d] for d in self._doc_of_row], dtype=np.int64)
        self._kept_vectors: dict[frozenset[str], tuple[np.ndarray, np.ndarray]] = {}
        self._rows_of_docs: dict[frozenset[str], np.ndarray] = {}

    def retrieve(
        self,
        query: str,
        filters: Filters | None = None,
        mode: str | None = None,
        top_k: int | None = None,
        timings: dict[str, float] | None = None,
        hints: Hints | None = None,
    ) -> list[Hit]:
        """`query` must already be normalized (textnorm.for_search)."""
        mode = mode or self.cfg.mode
        top_k = top_k or self.cfg.top_k
        timings = timings if timings is not None else {}
        depth = max(self.cfg.candidates, top_k)
        rankings: list[tuple[list[str], float]] = []
        if mode in ("bm25", "hybrid"):
            with timed(timings, "bm25"):
                found = self.index.bm25.search(query, depth * SPREAD, self._mask(filters))
            rankings.append(([cid for cid, _ in found], self.cfg.bm25_weight))
        if mode in ("dense", "hybrid"):
            if self.embedder is None:
                raise RuntimeError("dense retrieval needs an embedder")
            with timed(timings, "embed_query"):
                vector = self.embedder.embed_query(query)
            with timed(timings, "dense"):
                dense = filters.dense() if filters else None
                found = [cid for cid, _ in self.index.vectors.search(vector, depth, dense)]
                about = hints.subject_ids if hints is not None else None
                if about is not None and self.cfg.subject_weight:
                    # Copies of a paragraph crowd one region of vector space, where the
                    # store's approximate search misses passages and can return one
                    # paragraph many times: the asked district's reports are ranked
                    # exactly, on their own, and only by that ranking.
                    inside = self._dense_within(vector, depth, about, filters)
                    rankings.append((inside, self.cfg.dense_weight))
                    found = [c for c in found if self._doc_of(c) not in about]
                rankings.append((found, self.cfg.dense_weight))
        if hints is not None and mode in ("bm25", "hybrid"):
            with timed(timings, "hints"):
                rankings.extend(self._hinted(query, depth, filters, hints))
        with timed(timings, "fusion"):
            fused = self._fuse(rankings, depth, hints)
        if self.cfg.rerank and fused:
            with timed(timings, "rerank"):
                about = hints.subject_ids if hints is not None else None
                fused = self._rerank(query, fused[: self.cfg.rerank_depth], about)
        hits = []
        for cid, score, ranks in fused[:top_k]:
            chunk = self.index.by_id.get(cid)
            if chunk is None:
                continue  # a vector without a chunk record: a stale collection, ignore it
            by_mode = dict(
                zip([m for m in ("bm25", "dense") if _uses(mode, m)], ranks, strict=False)
            )
            hits.append(Hit(chunk, score, by_mode.get("bm25"), by_mode.get("dense")))
        return hits

    def _fuse(
        self, rankings: list[tuple[list[str], float]], depth: int, hints: Hints | None
    ) -> list[tuple[str, float, list[int | None]]]:
        """Reciprocal-rank fusion over groups of near-duplicate passages (see
        `index.duplicates`): copies of one paragraph are one candidate, so that they neither
        add up nor push out the passage another part of the question needs (the first
        `depth` groups of each ranking count). A group is shown by the copy that fits most
        of the question's hints (the named report, the asked period, the asked district),
        the first among equals, and is ranked where its copies that fit as well stand: a
        copy from another district does not lift the asked district's passage."""
        groups = self.index.bm25.groups
        if groups is None:
            return rrf([(ids[:depth], weight) for ids, weight in rankings], self.cfg.rrf_k)
        members: dict[str, list[str]] = {}
        key_of: dict[str, str] = {}
        for ids, _ in rankings:
            for cid in ids:
                if cid not in key_of:
                    row = self.index.row_of.get(cid)
                    key_of[cid] = key = f"g{groups[row]}" if row is not None else f"c{cid}"
                    members.setdefault(key, []).append(cid)
        fit = _Fit(hints, self.index)
        best = {key: max(fit(c) for c in copies) for key, copies in members.items()}
        by_group: list[tuple[list[str], float]] = []
        for ids, weight in rankings:
            order = [key_of[c] for c in ids if fit(c) == best[key_of[c]]]
            by_group.append((list(dict.fromkeys(order))[:depth], weight))
        fused = rrf(by_group, self.cfg.rrf_k)
        shown = {key: next(c for c in members[key] if fit(c) == best[key]) for key in members}
        return [(shown[key], score, ranks) for key, score, ranks in fused]

    def _doc_of(self, chunk_id: str) -> str:
        chunk = self.index.by_id.get(chunk_id)
        return chunk.doc_id if chunk else ""

    def _dense_within(
        self, vector: np.ndarray, depth: int, doc_ids: frozenset[str], filters: Filters | None
    ) -> list[str]:
        """The dense ranking of the chunks of `doc_ids` (inside the user's filters), exact:
        a vector store's filtered search explores near the unfiltered top and can return a
        single passage when copies of it crowd that region. Their vectors are read once
        and kept; a set too large to keep is left to the store's filtered search."""
        rows = self._doc_rows(doc_ids)
        base = self._mask(filters)
        mask = rows if base is None or rows is None else rows & base
        if mask is None or not mask.any():
            return []
        picked = np.flatnonzero(mask)
        if len(picked) > EXACT_DENSE_MAX:
            dense = DenseFilter(sorted(doc_ids), *(_within_dates(filters)))
            return [cid for cid, _ in self.index.vectors.search(vector, depth, dense)]
        key = frozenset(doc_ids)
        if key not in self._kept_vectors:
            self._kept_vectors.clear()  # one set at a time: the asked district's, usually
            ids = [self.index.bm25.ids[r] for r in np.flatnonzero(rows)] if rows is not None else []
            self._kept_vectors[key] = (np.flatnonzero(rows), self.index.vectors.vectors_of(ids))
        all_rows, matrix = self._kept_vectors[key]
        inside = np.isin(all_rows, picked)
        scores = matrix[inside] @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:depth]
        ids_inside = all_rows[inside]
        return [self.index.bm25.ids[int(ids_inside[i])] for i in order]

    def _hinted(
        self, query: str, depth: int, filters: Filters | None, hints: Hints
    ) -> list[tuple[list[str], float]]:
        """BM25 within the named report's documents, within the chunks of the asked period
        and within the documents about the asked district, each a ranking of its own."""
        rankings = []
        base = self._mask(filters)
        for rows, weight in (
            (self._doc_rows(hints.doc_ids), self.cfg.report_weight),
            (self._chunk_rows(hints.chunk_ids), self.cfg.period_weight),
            (self._doc_rows(hints.subject_ids), self.cfg.subject_weight),
        ):
            if rows is None or not weight:
                continue
            mask = rows if base is None else rows & base
            if mask.any():
                found = self.index.bm25.search(query, depth * SPREAD, mask)
                rankings.append(([cid for cid, _ in found], weight))
        return rankings

    def _doc_rows(self, doc_ids: frozenset[str] | None) -> np.ndarray | None:
        """The rows of `doc_ids`' chunks; the same sets come back (the home district's
        reports, for nearly every question), and comparing 88,000 names takes ms."""
        if doc_ids is None:
            return None
        rows = self._rows_of_docs.get(doc_ids)
        if rows is None:
            if len(self._rows_of_docs) >= DOC_MASKS_KEPT:
                self._rows_of_docs.clear()
            rows = self._rows_of_docs[doc_ids] = np.isin(self._doc_of_row, list(doc_ids))
        return rows

    def _chunk_rows(self, chunk_ids: frozenset[str] | None) -> np.ndarray | None:
        if chunk_ids is None:
            return None
        mask = np.zeros(len(self._doc_of_row), dtype=bool)
        rows = [r for c in chunk_ids if (r := self.index.row_of.get(c)) is not None]
        mask[rows] = True
        return mask

    def _rerank(
        self,
        query: str,
        fused: list[tuple[str, float, list[int | None]]],
        about: frozenset[str] | None = None,
    ) -> list[tuple[str, float, list[int | None]]]:
        """Fusion ranks well but coarsely; how much of the question a passage covers breaks
        the ties that matter (dense similarity alone puts title-like passages first)."""
        q_tokens = tokenize(query)
        top = max(score for _, score, _ in fused)
        rescored = [
            (
                cid,
                self._coverage(q_tokens, cid, about) + self.cfg.rerank_fusion_share * score / top,
                ranks,
            )
            for cid, score, ranks in fused
        ]
        return sorted(rescored, key=lambda x: -x[1])

    def _coverage(self, q_tokens: list[str], chunk_id: str, about: frozenset[str] | None) -> float:
        """How much of the question a passage covers; in a document about the asked
        district (`about`: when the index holds others too), the district's name counts as
        covered: a report on Luohu need not write 罗湖 in every paragraph."""
        chunk = self.index.by_id.get(chunk_id)
        doc = self.index.documents.get(chunk.doc_id) if chunk else None
        subject = doc.meta.subject if doc and about and doc.doc_id in about else ""
        tokens = AnyOf([self._tokens(chunk_id), subject_words(subject)])
        return self.index.bm25.coverage(q_tokens, tokens, f"{self._text(chunk_id)}\n{subject}")

    def _text(self, chunk_id: str) -> str:
        chunk = self.index.by_id.get(chunk_id)
        return chunk.search_text if chunk else ""

    def _tokens(self, chunk_id: str) -> Container[str]:
        """The chunk's tokens from the BM25 index: tokenizing the candidates again cost
        45 ms a question at 88k chunks, where few candidates repeat between questions."""
        row = self.index.row_of.get(chunk_id)
        if row is not None:
            return self.index.bm25.tokens_at(row)
        chunk = self.index.by_id.get(chunk_id)
        return set(tokenize(chunk.search_text)) if chunk else set()

    def _mask(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or filters.dense() is None:
            return None
        mask = np.ones(len(self._doc_of_row), dtype=bool)
        if filters.doc_ids is not None:
            mask &= np.isin(self._doc_of_row, filters.doc_ids)
        if filters.date_from:
            mask &= self._date_of_row >= _date_num(filters.date_from)
        if filters.date_to:
            mask &= self._date_of_row <= _date_num(filters.date_to)
        return mask


def _within_dates(filters: Filters | None) -> tuple[int | None, int | None]:
    if filters is None:
        return None, None
    return _date_num(filters.date_from), _date_num(filters.date_to)


class _Fit:
    """How many of a question's hints a passage fits (its document is the named report or
    about the asked district, it holds facts of the asked period); remembered per id."""

    def __init__(self, hints: Hints | None, index: Index) -> None:
        self.hints = hints
        self.index = index
        self.known: dict[str, int] = {}

    def __call__(self, cid: str) -> int:
        if self.hints is None:
            return 0
        if cid not in self.known:
            chunk = self.index.by_id.get(cid)
            doc = chunk.doc_id if chunk else ""
            hinted = (
                (self.hints.doc_ids, doc),
                (self.hints.chunk_ids, cid),
                (self.hints.subject_ids, doc),
            )
            self.known[cid] = sum(ids is not None and key in ids for ids, key in hinted)
        return self.known[cid]


def _uses(mode: str, retriever: str) -> bool:
    return mode == "hybrid" or mode == retriever
