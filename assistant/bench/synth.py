"""A seeded generator of synthetic reports, for measuring how the assistant scales.

A district writes hundreds of reports a year and a city thousands; we have five. To see how
ingest, retrieval and memory grow with the corpus, larger corpora are made from the real
ones so that they look like reports to BM25 and to the embedder:

1. Each synthetic document copies one real document (picked uniformly at random), cut into
   its sections: consecutive chunks that share a top-level heading. The opening section
   (title, date and source lines) stays first; the other sections are shuffled.
2. Dates and figures change, consistently within a document (the same figure string maps
   to the same new figure everywhere in it):
   - years (4-digit integers 1950..2099) move by one offset per document, drawn from
     -10..-1 and 1..10 (never 0, so a synthetic report never claims a real report's year);
   - a number before 月 becomes a random month, one before 日/号 a random day (1..28);
   - other figures of 10 or more, and every decimal, are scaled by a random factor in
     [0.6, 1.4] and keep their number of decimals; small integers (list numbers, "3个")
     and Chinese numerals are left alone.
   The title, section headings and the metadata date change the same way.
3. A synthetic chunk is the real chunk's text after these changes, at its place in the new
   document (offsets point into the new text), with the search text rebuilt exactly as
   `chunk.chunk_document` does (title, date and section, then the text, for_search form).
4. Embedding every synthetic chunk with the real model would take hours on two cores, so a
   synthetic chunk's vector is its source chunk's real vector plus seeded Gaussian noise
   (sigma 0.01 per dimension, about 0.98 cosine to the source), re-normalised. Retrieval
   therefore works on vectors with the geometry of real ones: near-duplicates of real
   passages, as next year's report of the same kind would be.

Document i depends only on (seed, i), so a 10x corpus is a prefix of the 100x one and runs
are reproducible. Synthetic documents live under `synth/` in the sources folder.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.corpus.load import content_hash
from assistant.models import SECTION_SEP, Chunk, Document, DocumentMeta
from assistant.textnorm import for_search

SYNTH_DIR = "synth"
NOISE_SIGMA = 0.01
YEAR_SHIFTS = (*range(-10, 0), *range(1, 11))
FIGURE_SCALE = (0.6, 1.4)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass
class SynthDoc:
    document: Document
    chunks: list[Chunk]
    source_rows: list[int]  # for each chunk, the row of the real chunk it was made from


@dataclass
class _Rewriter:
    """Changes the dates and figures of one document, the same way wherever they occur."""

    rng: random.Random
    year_shift: int
    seen: dict[tuple[str, str], str] = field(default_factory=dict)

    def __call__(self, text: str) -> str:
        return _NUMBER.sub(self._replace, text)

    def _replace(self, m: re.Match[str]) -> str:
        number, after = m.group(), m.string[m.end() : m.end() + 1]
        kind = _kind(number, after)
        key = (kind, number)
        if key not in self.seen:
            self.seen[key] = self._new(kind, number)
        return self.seen[key]

    def _new(self, kind: str, number: str) -> str:
        if kind == "year":
            return str(int(number) + self.year_shift)
        if kind == "month":
            return str(self.rng.randint(1, 12))
        if kind == "day":
            return str(self.rng.randint(1, 28))
        if kind == "keep":
            return number
        decimals = len(number.split(".")[1]) if "." in number else 0
        value = float(number) * self.rng.uniform(*FIGURE_SCALE)
        return f"{value:.{decimals}f}" if decimals else str(max(10, round(value)))


def _kind(number: str, after: str) -> str:
    if "." not in number:
        value = int(number)
        if len(number) == 4 and 1950 <= value <= 2099:
            return "year"
        if after == "月" and 1 <= value <= 12:
            return "month"
        if after and after in "日号號" and 1 <= value <= 31:
            return "day"
        if value < 10:
            return "keep"
    return "figure"


def generate(
    documents: Sequence[Document], chunks: Sequence[Chunk], n: int, seed: int
) -> Iterator[SynthDoc]:
    """`n` synthetic documents made from the real `documents` and their `chunks`."""
    rows_of: dict[str, list[int]] = {}
    for row, c in enumerate(chunks):
        rows_of.setdefault(c.doc_id, []).append(row)
    sources = sorted((d for d in documents if rows_of.get(d.doc_id)), key=lambda d: d.doc_id)
    for i in range(n):
        rng = random.Random(seed * 1_000_003 + i)
        source = sources[rng.randrange(len(sources))]
        rows = rows_of[source.doc_id]
        yield _make(i, source, [chunks[r] for r in rows], rows, rng)


def _make(
    i: int, source: Document, chunks: list[Chunk], rows: list[int], rng: random.Random
) -> SynthDoc:
    rewrite = _Rewriter(rng, rng.choice(YEAR_SHIFTS))
    sections = _sections(list(zip(chunks, rows, strict=True)))
    head, rest = sections[:1], sections[1:]
    rng.shuffle(rest)
    ordered = [pair for section in head + rest for pair in section]

    doc_id = f"{SYNTH_DIR}/{i:06d}_{source.doc_id.split('_')[0]}.txt"
    meta = DocumentMeta(
        title=rewrite(source.meta.title),
        date=_shift_date(source.meta.date, rewrite.year_shift),
        publisher=source.meta.publisher,
        kind=source.meta.kind,
    )
    texts = [rewrite(c.text) for c, _ in ordered]
    text = "\n".join(texts)
    new_chunks, pos, seen = [], 0, set()
    for (c, _), chunk_text in zip(ordered, texts, strict=True):
        section = rewrite(c.section)
        search_text = for_search(f"{meta.title} {meta.date}\n{section}\n{chunk_text}")
        new_chunks.append(
            Chunk(
                chunk_id=_chunk_id(doc_id, search_text, seen),
                doc_id=doc_id,
                section=section,
                start=pos,
                end=pos + len(chunk_text),
                text=chunk_text,
                search_text=search_text,
            )
        )
        pos += len(chunk_text) + 1
    document = Document(
        doc_id=doc_id,
        path=doc_id,
        content_hash=content_hash(text.encode("utf-8")),
        text=text,
        meta=meta,
        script=source.script,
        ingested_at=source.ingested_at,
    )
    return SynthDoc(document, new_chunks, [r for _, r in ordered])


def _sections(pairs: list[tuple[Chunk, int]]) -> list[list[tuple[Chunk, int]]]:
    """Consecutive chunks under the same top-level heading, kept together when shuffled."""
    groups: list[list[tuple[Chunk, int]]] = []
    for pair in pairs:
        top = pair[0].section.split(SECTION_SEP)[0]
        if groups and groups[-1][0][0].section.split(SECTION_SEP)[0] == top:
            groups[-1].append(pair)
        else:
            groups.append([pair])
    return groups


def _shift_date(iso: str, years: int) -> str:
    if not iso:
        return iso
    y, rest = iso.split("-", 1)
    return f"{int(y) + years:04d}-{rest}"


def _chunk_id(doc_id: str, search_text: str, seen: set[str]) -> str:
    """The same id scheme as `chunk.chunk_document` (a suffix only for repeated text)."""
    base = hashlib.sha256(f"{doc_id}\x00{search_text}".encode()).hexdigest()[:16]
    chunk_id, n = base, 1
    while chunk_id in seen:
        n += 1
        chunk_id = f"{base}-{n}"
    seen.add(chunk_id)
    return chunk_id


def perturb(vectors: np.ndarray, seed: int, sigma: float = NOISE_SIGMA) -> np.ndarray:
    """Real vectors plus seeded Gaussian noise, back on the unit sphere."""
    rng = np.random.default_rng(seed)
    noisy = vectors + rng.normal(0.0, sigma, vectors.shape).astype(np.float32)
    norms = np.linalg.norm(noisy, axis=1, keepdims=True)
    return (noisy / np.maximum(norms, 1e-12)).astype(np.float32)
