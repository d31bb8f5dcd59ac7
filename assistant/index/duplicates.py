"""Near-duplicate passages: the same paragraph in several documents.

A collection repeats itself: a report is posted on the district site and reprinted by two
newspapers, next year's report keeps last year's sentences with new figures, every district
writes the same formula with its own name. Word weights counted over such a collection say
more about how often a paragraph was copied than about how telling a word is: a word of a
paragraph printed a hundred times looks common, and a word of the question that no passage
uses outweighs everything else as the corpus grows. So passages are put into groups of near
duplicates, and a word's document frequency is counted over groups (`BM25Index.idf`).

Two passages are near duplicates when their texts, with every run of digits made one sign
(figures and dates change between copies), share most of their four-character shingles:
MinHash signatures, compared band by band (locality-sensitive hashing) and confirmed on the
whole signature. Numpy over batches of passages: 88,000 passages take a few seconds.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

from assistant.textnorm import han_bigrams

SHINGLE = 4  # characters per shingle: a renamed place or changed word spoils few of them
HASHES = 16  # MinHash values per passage
BANDS = 4  # HASHES // BANDS values must all agree for two passages to be compared
SAME = 0.75  # share of equal MinHash values (an estimate of shingle overlap) to join
BATCH = 4096  # passages hashed at once: bounds memory at any corpus size

_NOISE = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")
_MASK32 = np.uint64(0xFFFFFFFF)
_rng = np.random.default_rng(20261203)  # fixed: signatures must not change between runs
_MUL = _rng.integers(1, 2**61, HASHES, dtype=np.uint64) | np.uint64(1)
_ADD = _rng.integers(0, 2**61, HASHES, dtype=np.uint64)
_BASE = np.uint64(1_000_003)


def skeleton(text: str) -> str:
    """What copies of a passage share: its words, without figures, spaces or punctuation."""
    return _NOISE.sub("", _DIGITS.sub("#", text))


def signatures(texts: Sequence[str]) -> np.ndarray:
    """(len(texts), HASHES) MinHash values of each text's shingles."""
    out = np.empty((len(texts), HASHES), dtype=np.uint32)
    for lo in range(0, len(texts), BATCH):
        out[lo : lo + BATCH] = _batch([skeleton(t) for t in texts[lo : lo + BATCH]])
    return out


def _batch(texts: list[str]) -> np.ndarray:
    sig = np.empty((len(texts), HASHES), dtype=np.uint32)
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    count = np.maximum(lengths - SHINGLE + 1, 0)  # shingles per text
    shingles = np.zeros(max(len(codes) - SHINGLE + 1, 0), dtype=np.uint64)
    for k in range(SHINGLE):  # a polynomial hash of each window, wrapping in 64 bits
        shingles = shingles * _BASE + codes[k : len(codes) - SHINGLE + 1 + k]
    has = count > 0
    if has.any():
        # the windows that lie inside one text, text after text
        pos = np.repeat(starts[has] - np.cumsum(count[has]) + count[has], count[has])
        pos += np.arange(int(count[has].sum()))
        window = shingles[pos]
        bounds = np.concatenate(([0], np.cumsum(count[has])[:-1]))
        for h in range(HASHES):
            values = ((window * _MUL[h] + _ADD[h]) >> np.uint64(32)) & _MASK32
            sig[has, h] = np.minimum.reduceat(values, bounds).astype(np.uint32)
    # A text shorter than a shingle is its own group: values no other text can share.
    for i in np.flatnonzero(~has):
        sig[i] = np.random.default_rng(zlib.crc32(texts[i].encode())).integers(
            0, 2**32, HASHES, dtype=np.uint32
        )
    return sig


def near_duplicate_groups(texts: Sequence[str]) -> np.ndarray:
    """For each text, the id (0..groups-1) of its group of near duplicates, in order of
    first appearance."""
    sigs = signatures(texts)
    parent = np.arange(len(texts))

    def find(i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    width = HASHES // BANDS
    for b in range(BANDS):
        band = np.ascontiguousarray(sigs[:, b * width : (b + 1) * width])
        keys = band.view(np.dtype((np.void, band.dtype.itemsize * width))).ravel()
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        cuts = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
        for run in np.split(order, cuts):
            if len(run) < 2:
                continue
            first = int(run[0])
            same = (sigs[run[1:]] == sigs[first]).mean(axis=1) >= SAME
            for other in run[1:][same]:
                a, c = find(first), find(int(other))
                if a != c:
                    parent[max(a, c)] = min(a, c)
    roots = np.array([find(i) for i in range(len(texts))], dtype=np.int64)
    _, first_seen, ids = np.unique(roots, return_index=True, return_inverse=True)
    # number groups in order of their first member, so ids are stable under appending
    rank = np.empty(len(first_seen), dtype=np.int64)
    rank[np.argsort(first_seen)] = np.arange(len(first_seen))
    return rank[ids].astype(np.int32)


SAME_STATEMENT = 0.8  # share of shared character pairs for two sentences to say one thing


def same_statement(a: str, b: str) -> bool:
    """Whether two sentences are one statement in two copies: the same characters apart
    from figures and a name or two (pairs of Han characters, Jaccard >= SAME_STATEMENT)."""
    pa, pb = han_bigrams(a), han_bigrams(b)
    if not pa or not pb:
        return skeleton(a) == skeleton(b)
    return len(pa & pb) / len(pa | pb) >= SAME_STATEMENT
