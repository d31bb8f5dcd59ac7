"""The facts of a document, chunk by chunk: the extract stage of the ingest."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from assistant.facts.model import Fact
from assistant.facts.reader import DocContext, doc_context, read_sentence, section_context
from assistant.models import Chunk, Document
from assistant.sentences import text_sentences
from assistant.textnorm import for_search


def _reading_version() -> str:
    """The source of the fact reader: when it changes, the next ingest reads every document
    again (vectors are reused; only cleaning, chunking and reading are redone)."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in ("mentions.py", "periods.py", "reader.py", "extract.py", "model.py"):
        digest.update((here / name).read_bytes())
    digest.update((here.parent / "sentences.py").read_bytes())  # the sentences it reads
    return digest.hexdigest()[:12]


FACTS_VERSION = _reading_version()


def context_of(doc: Document) -> DocContext:
    meta = doc.meta
    return doc_context(doc.doc_id, for_search(meta.title), meta.date, meta.kind, meta.subject)


def extract_facts(doc: Document, chunks: list[Chunk]) -> list[Fact]:
    """Every figure mention of the document's chunks, read as a fact. Read from the
    Simplified search form; the clause is kept in the document's own script."""
    ctx = context_of(doc)
    facts: list[Fact] = []
    # A sentence repeated in the same section reads the same (boilerplate; a long run cut
    # into equal pieces): read once, placed at each occurrence.
    read: dict[tuple[str, str], list[Fact]] = {}
    for chunk in chunks:
        section = section_context(ctx, for_search(chunk.section))
        for s, e in text_sentences(chunk.text):
            if chunk.is_flagged(s, e):
                continue  # text addressed to an assistant states no fact
            shown = chunk.text[s:e]
            norm = for_search(shown)
            key = (norm, chunk.section)
            if key not in read:
                read[key] = read_sentence(norm, ctx, section)
            for fact in map(replace, read[key]):
                fact.chunk_id, fact.doc_id = chunk.chunk_id, doc.doc_id
                fact.start, fact.end = chunk.start + s, chunk.start + e
                fact.clause = _shown(fact.clause, norm, shown)
                facts.append(fact)
    return facts


def _shown(clause: str, norm: str, shown: str) -> str:
    """The clause in the document's own script: normalizing keeps lengths for report text
    (t2s maps character to character), so the same span of the original is the clause."""
    at = norm.find(clause)
    if at < 0 or len(norm) != len(shown):
        return clause
    return shown[at : at + len(clause)]
