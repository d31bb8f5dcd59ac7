"""A seeded generator of synthetic reports, for measuring how the assistant scales.

A district writes hundreds of reports a year and a city thousands; we have five. To see how
ingest, retrieval, memory and accuracy grow with the corpus, larger corpora are made from
the real ones so that they look like reports to BM25 and to the embedder:

1. Each synthetic document copies one real document (picked uniformly at random), cut into
   its sections: consecutive chunks that share a top-level heading. The opening section
   (title, date and source lines) stays first; the other sections are shuffled.
2. It is another district's report (`places`): the home district's name (罗湖, 羅湖) and
   the names of its ten streets (东门, 清水河 ...) become, consistently, another Shenzhen
   district's and its streets'. Why: every statement of a copy is a statement about
   somebody. A copy that still spoke of Luohu would either restate a real report's claim
   with other figures or dates (the same 八届六次全会 on another day, "2019年…" figures
   of another size: a contradiction no real collection holds, and no pipeline can resolve)
   or state Luohu figures the real reports do not have (so a question the gold set marks
   unanswerable, "2019年罗湖区地区生产总值是多少?", would become answerable by invention).
   A real collection does hold what remains: other districts' reports in the same formulaic
   wording, of other years. The places are those no gold question names (the bench drops
   福田, 南山 and 光明, which gold questions ask about as near misses), so that the gold
   set's answers and refusals stay true at every scale. Copies of one place may still
   disagree with each other; no gold question asks about them.
   With `places=()` the copies stay Luohu's (the generator before this rule, kept to
   measure what it did: `assistant bench --distractors restated`).
3. Dates and figures change, consistently within a document (the same figure string maps
   to the same new figure everywhere in it):
   - years (4-digit integers 1950..2099) move by one offset per document, drawn from
     -10..-1 and 1..10 (never 0), and anniversaries (建区40周年) with them;
   - a number before 月 becomes a random month, one before 日/号 a random day (1..28);
   - other figures of 10 or more, and every decimal, are scaled by a random factor in
     [0.6, 1.4] and keep their number of decimals; small integers (list numbers, "3个")
     and Chinese numerals are left alone.
   The title, publisher, section headings and the metadata date change the same way; the
   document's subject is read from the new text as ingest reads it.
4. A synthetic chunk is the real chunk's text after these changes, at its place in the new
   document (offsets point into the new text), with the search text rebuilt exactly as
   `chunk.chunk_document` does (title, date and section, then the text, for_search form).
5. Embedding every synthetic chunk with the real model would take hours on two cores, so a
   synthetic chunk's vector is its source chunk's real vector plus seeded Gaussian noise
   (sigma 0.01 per dimension, about 0.98 cosine to the source), re-normalised. Retrieval
   therefore works on vectors with the geometry of real ones: near-duplicates of real
   passages, as another district's report in the same wording would be (the vector does
   not see the renamed district; BM25 and the facts do).

Document i depends only on (seed, places, i), so a 10x corpus is a prefix of the 100x one
and runs are reproducible. Synthetic documents live under `synth/` in the sources folder.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.corpus.load import content_hash
from assistant.facts.reader import document_subject
from assistant.models import SECTION_SEP, Chunk, Document, DocumentMeta
from assistant.textnorm import for_search, to_traditional

SYNTH_DIR = "synth"
NOISE_SIGMA = 0.01
YEAR_SHIFTS = (*range(-10, 0), *range(1, 11))
FIGURE_SCALE = (0.6, 1.4)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")

# The home district and its streets (in the order of the district's own list), and the other
# Shenzhen districts a copy may be about, each with its streets.
HOME = ("罗湖", tuple("桂园 黄贝 东门 翠竹 东晓 南湖 笋岗 东湖 莲塘 清水河".split()))
DISTRICTS: dict[str, tuple[str, ...]] = {
    name: tuple(streets.split())
    for name, streets in (
        ("福田", "园岭 南园 福田 沙头 梅林 华富 香蜜湖 莲花 华强北 福保"),
        ("南山", "南头 南山 沙河 蛇口 招商 粤海 桃源 西丽"),
        ("盐田", "梅沙 盐田 沙头角 海山"),
        ("宝安", "新安 西乡 航城 福永 福海 沙井 新桥 松岗 燕罗 石岩"),
        ("龙岗", "平湖 坪地 布吉 吉华 坂田 南湾 横岗 园山 龙城 龙岗 宝龙"),
        ("龙华", "观湖 民治 龙华 大浪 福城 观澜"),
        ("坪山", "坪山 马峦 碧岭 石井 坑梓 龙田"),
        ("光明", "光明 公明 新湖 凤凰 玉塘 马田"),
    )
}


def places_outside(questions: Sequence[str]) -> tuple[str, ...]:
    """The districts none of `questions` (Simplified) names, nor any of its streets: what
    the copies may be about without changing a gold answer."""
    text = "\n".join(questions)
    return tuple(
        name
        for name, streets in DISTRICTS.items()
        if name not in text and not any(s in text for s in streets)
    )


@dataclass(frozen=True)
class _Renamer:
    """Writes the home district's report as `place`'s: the district's and its streets'
    names, in either script, in one pass (a new name is never renamed again)."""

    names: dict[str, str]
    pattern: re.Pattern[str]

    @classmethod
    def to(cls, place: str, traditional: bool) -> _Renamer:
        """Names in either script become `place`'s in the document's script."""
        home, home_streets = HOME
        streets = DISTRICTS[place]
        pairs = {home: place}
        for i, street in enumerate(home_streets):
            pairs[street] = streets[i % len(streets)]
        script = to_traditional if traditional else str
        names = {a: script(b) for a, b in pairs.items()}
        names.update({to_traditional(a): script(b) for a, b in pairs.items()})
        return cls(names, re.compile("|".join(sorted(map(re.escape, names), key=len)[::-1])))

    def __call__(self, text: str) -> str:
        return self.pattern.sub(lambda m: self.names[m.group()], text)


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
    rename: _Renamer | None = None  # None: the copy stays the home district's
    seen: dict[tuple[str, str], str] = field(default_factory=dict)

    def __call__(self, text: str) -> str:
        text = _NUMBER.sub(self._replace, text)
        return self.rename(text) if self.rename is not None else text

    def _replace(self, m: re.Match[str]) -> str:
        number, after = m.group(), m.string[m.end() : m.end() + 2]
        kind = _kind(number, after)
        key = (kind, number)
        if key not in self.seen:
            self.seen[key] = self._new(kind, number)
        return self.seen[key]

    def _new(self, kind: str, number: str) -> str:
        if kind == "year":
            return str(int(number) + self.year_shift)
        if kind == "anniversary":
            return str(max(1, int(number) + self.year_shift))
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
        if after == "周年":  # 建区40周年: an anniversary moves with the years
            return "anniversary"
        if after[:1] == "月" and 1 <= value <= 12:
            return "month"
        if after[:1] and after[:1] in "日号號" and 1 <= value <= 31:
            return "day"
        if value < 10:
            return "keep"
    return "figure"


def generate(
    documents: Sequence[Document],
    chunks: Sequence[Chunk],
    n: int,
    seed: int,
    places: Sequence[str] = tuple(DISTRICTS),
) -> Iterator[SynthDoc]:
    """`n` synthetic documents made from the real `documents` and their `chunks`, each about
    one of `places` (() : about the home district, as the real ones)."""
    rows_of: dict[str, list[int]] = {}
    for row, c in enumerate(chunks):
        rows_of.setdefault(c.doc_id, []).append(row)
    sources = sorted((d for d in documents if rows_of.get(d.doc_id)), key=lambda d: d.doc_id)
    for i in range(n):
        rng = random.Random(seed * 1_000_003 + i)
        source = sources[rng.randrange(len(sources))]
        rows = rows_of[source.doc_id]
        yield _make(i, source, [chunks[r] for r in rows], rows, rng, places)


def _make(
    i: int,
    source: Document,
    chunks: list[Chunk],
    rows: list[int],
    rng: random.Random,
    places: Sequence[str],
) -> SynthDoc:
    shift = rng.choice(YEAR_SHIFTS)
    place = rng.choice(list(places)) if places else None
    rename = _Renamer.to(place, source.script == "hant") if place else None
    rewrite = _Rewriter(rng, shift, rename)
    sections = _sections(list(zip(chunks, rows, strict=True)))
    head, rest = sections[:1], sections[1:]
    rng.shuffle(rest)
    ordered = [pair for section in head + rest for pair in section]

    doc_id = f"{SYNTH_DIR}/{i:06d}_{source.doc_id.split('_')[0]}.txt"
    meta = DocumentMeta(
        title=rewrite(source.meta.title),
        date=_shift_date(source.meta.date, rewrite.year_shift),
        publisher=rewrite(source.meta.publisher),
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
    # As ingest reads it (metadata.read_meta); the chunks' search texts are the Simplified
    # text already, so the whole document need not be converted again.
    meta.subject = document_subject(
        for_search(meta.title), "\n".join(c.search_text for c in new_chunks)
    )
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
