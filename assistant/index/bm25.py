"""BM25 over jieba tokens of the Simplified text.

bm25s' own tokenizer treats a run of Chinese characters as one token, so Chinese scores
would silently be zero: documents and queries are tokenized here, the same way.
"""

from __future__ import annotations

import re
from collections.abc import Container
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.index.duplicates import near_duplicate_groups
from assistant.textnorm import jieba

_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]")
# Words that say "this is a question" rather than what it is about.
STOPWORDS = frozenset(
    (
        "的 了 和 与 及 是 在 有 为 对 中 把 被 将 等 也 都 就 "
        "而 或 之 其 这 那 个 各 我们 什么 多少 怎么 如何 是否 吗 "
        "呢 请问 请 问 一下 提出 提到 情况 谁 称 按 据 叫 共 一文 "
        "报道 什么样 怎样 意思 指 分别 其中 又 要 the a an "
        "of in on to for is are was what "
        "which how many much did does do "
    ).split()
)
# Interrogatives such as 哪条, 哪几个, 第几名, 几项: open-ended, so not matched literally.
_INTERROGATIVE = re.compile(r"^(?:哪|第几|几)")


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens, lowercased, without punctuation and question words."""
    return list(_tokenize_cached(text))


def subject_words(subject: str) -> frozenset[str]:
    """The tokens of a document's district (罗湖区: 罗湖, 湖区, 罗湖区): what each of its
    passages speaks of whether or not it writes it."""
    return frozenset(tokenize(subject)) if subject else frozenset()


# Answering tokenizes the same passages and sentences again and again (evidence selection,
# reranking); jieba is most of a warm question's CPU time. Bounded: a few MB of text.
TOKEN_CACHE_SIZE = 8192


@lru_cache(maxsize=TOKEN_CACHE_SIZE)
def _tokenize_cached(text: str) -> tuple[str, ...]:
    return tuple(_tokenize(text))


def _tokenize(text: str) -> list[str]:
    tokens = jieba().cut_for_search(text.lower())
    return [
        t
        for t in (t.strip() for t in tokens)
        if t and _TOKEN_OK.search(t) and t not in STOPWORDS and not _INTERROGATIVE.match(t)
    ]


GROUPS_FILE = "groups.npz"


class BM25Index:
    """A bm25s index whose rows line up with a list of chunk ids."""

    def __init__(
        self,
        retriever: object,
        ids: list[str],
        groups: np.ndarray | None = None,
        group_df: np.ndarray | None = None,
    ) -> None:
        self._retriever = retriever
        self.ids = ids
        self._vocab: dict[str, int] = getattr(retriever, "vocab_dict", {}) or {}
        scores = getattr(retriever, "scores", None) or {}
        indptr = np.asarray(scores.get("indptr", np.zeros(1)))
        self._df = np.diff(indptr)
        # Term -> rows (sorted) of the document-term matrix: which chunk holds which token.
        self._indptr = indptr
        self._rows = np.asarray(scores.get("indices", np.zeros(0, dtype=np.int32)))
        self._n = max(int(scores.get("num_docs", len(ids))), 1)
        self._row_of: dict[str, int] | None = None  # built on first use
        # Near-duplicate passages (see `duplicates`): each row's group, and per term the
        # number of groups that use it (computed when built, read when loaded: a second
        # of work and 200 MB at 88,000 chunks). None: an index saved before groups were.
        self.groups = groups if groups is not None and len(groups) == self._n else None
        self._group_df: np.ndarray | None = None
        self._groups_n = self._n
        if self.groups is not None:
            if group_df is None:
                group_df = _group_df(self._indptr, self._rows, self.groups)
            self._group_df = group_df
            self._groups_n = max(int(self.groups.max(initial=-1)) + 1, 1)

    def idf(self, token: str) -> float:
        """Inverse document frequency over groups of near-duplicate passages, so that a
        paragraph printed a hundred times weighs its words as one printed once; a token the
        corpus never uses gets the highest value."""
        tid = self._vocab.get(token)
        counts = self._df if self._group_df is None else self._group_df
        df = float(counts[tid]) if tid is not None and tid < len(counts) else 0.0
        return float(np.log(1 + (self._groups_n - df + 0.5) / (df + 0.5)))

    def has_token(self, row: int, token: str) -> bool:
        """Whether the text at `row` has `token` among its tokens, read from the index."""
        tid = self._vocab.get(token)
        if tid is None or tid + 1 >= len(self._indptr):
            return False
        lo, hi = int(self._indptr[tid]), int(self._indptr[tid + 1])
        pos = lo + int(np.searchsorted(self._rows[lo:hi], row))
        return pos < hi and int(self._rows[pos]) == row

    def tokens_at(self, row: int) -> Container[str]:
        """The tokens of the text at `row`, as `tokenize` gave them when indexing: answers
        `token in ...` without tokenizing the text again."""
        return _RowTokens(self, row)

    def tokens_of(self, chunk_id: str, text: str) -> Container[str]:
        """A chunk's tokens: from the index when it holds the chunk, else by tokenizing."""
        if self._row_of is None:
            self._row_of = {cid: i for i, cid in enumerate(self.ids)}
        row = self._row_of.get(chunk_id)
        return self.tokens_at(row) if row is not None else set(tokenize(text))

    def coverage(self, q_tokens: list[str], text_tokens: Container[str], text: str = "") -> float:
        """IDF-weighted share of the question's distinct terms that a text contains.

        A term also counts when it occurs inside the text as characters: jieba cuts the same
        characters differently in different contexts (地铁线 / 地铁线路).
        """
        terms = set(q_tokens)
        total = sum(self.idf(t) for t in terms)
        if total == 0:
            return 0.0
        found = (t for t in terms if t in text_tokens or (len(t) > 1 and t in text))
        return sum(self.idf(t) for t in found) / total

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> BM25Index:
        import bm25s

        retriever = bm25s.BM25()
        corpus = [_tokenize(t) or ["∅"] for t in texts]  # once per text: not worth caching
        retriever.index(corpus, show_progress=False)
        return cls(retriever, ids, near_duplicate_groups(texts))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._retriever.save(str(folder), show_progress=False)  # type: ignore[attr-defined]
        (folder / "ids.txt").write_text("\n".join(self.ids), encoding="utf-8")
        if self.groups is not None and self._group_df is not None:
            np.savez(folder / GROUPS_FILE, groups=self.groups, group_df=self._group_df)

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        import bm25s

        retriever = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
        ids = (folder / "ids.txt").read_text(encoding="utf-8").split("\n")
        groups = group_df = None
        if (folder / GROUPS_FILE).exists():
            with np.load(folder / GROUPS_FILE) as data:
                groups = data["groups"]
                group_df = data.get("group_df")
        return cls(retriever, ids, groups, group_df)

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[str, float]]:
        """Top-k (chunk id, score) with score > 0; `allowed` is a 0/1 mask over rows."""
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens or not self.ids:
            return []
        k = min(k, len(self.ids))
        docs, scores = self._retriever.retrieve(  # type: ignore[attr-defined]
            [tokens],
            k=k,
            show_progress=False,
            weight_mask=None if allowed is None else allowed.astype(np.float32),
        )
        return [
            (self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0
        ]


def _group_df(indptr: np.ndarray, rows: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per term, its document frequency with each group of near duplicates counted once:
    a row adds 1/(its group's size). A word every copy keeps counts 1 for the group; a
    figure or year that copies change counts for the share of copies that hold it."""
    terms = len(indptr) - 1
    if terms <= 0 or not len(rows):
        return np.zeros(max(terms, 0), dtype=np.float64)
    share = 1.0 / np.bincount(groups)[groups[rows]]
    term_of = np.repeat(np.arange(terms, dtype=np.int64), np.diff(indptr))
    return np.bincount(term_of, weights=share, minlength=terms)


class _RowTokens(Container[str]):
    def __init__(self, index: BM25Index, row: int) -> None:
        self._index = index
        self._row = row

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self._index.has_token(self._row, token)


class AnyOf(Container[str]):
    """The union of several token containers, without building it."""

    def __init__(self, parts: list[Container[str]]) -> None:
        self._parts = parts

    def __contains__(self, token: object) -> bool:
        return any(token in part for part in self._parts)
