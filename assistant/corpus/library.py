"""The corpus as staff manage it: what is indexed, add files, remove documents. The command
line (`assistant ingest`, `remove`, `sources`), the page and the Python API call these, so
each rule has one home:

- The sources folder is the corpus. A file added from elsewhere is copied into it (a file
  by its name, a folder under its own name), so that the next `assistant ingest` sees it
  and a document never depends on a folder that may move. A file that cannot be read is
  refused with its reason before anything is copied.
- Adding a file whose name is taken updates that document; the version it replaces is set
  aside under `data/removed/`, not deleted.
- Nothing is removed unless named: `remove_documents` (or `prune` of the documents whose
  files are gone). A removed document's file is set aside the same way.
- Every change is one incremental, atomic ingest (`corpus.ingest`): the new generation is
  complete before it is live.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from assistant.config import Config
from assistant.corpus.ingest import (
    IngestSummary,
    Progress,
    Skipped,
    doc_id_of,
    ingest,
    scan,
)
from assistant.corpus.load import LoadError, content_hash, load_file
from assistant.index.generations import (
    IndexMissing,
    generation_dir,
    load_chunks,
    load_documents,
    read_manifest,
)
from assistant.models import DocumentInfo

SET_ASIDE = "removed"  # under the data folder: replaced versions and removed documents' files


class UnknownDocument(ValueError):
    """A document id the index does not hold; the message says how to list them."""


# ------------------------------------------------------------------------------ reading


def documents(cfg: Config) -> list[DocumentInfo]:
    """The indexed documents, newest first, with their chunk counts and whether their file
    is still in the sources folder. IndexMissing when nothing was ingested yet."""
    manifest = read_manifest(cfg.paths.index_dir)
    if manifest is None:
        raise IndexMissing(f"no index in {cfg.paths.index_dir}; build it with: assistant ingest")
    folder = generation_dir(cfg.paths.index_dir, manifest.generation)
    counts: dict[str, int] = {}
    for chunk in load_chunks(folder):
        counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
    sources = cfg.paths.sources
    infos = [
        DocumentInfo(
            doc_id=d.doc_id,
            title=d.meta.title,
            date=d.meta.date,
            publisher=d.meta.publisher,
            kind=d.meta.kind,
            script=d.script,
            chunks=counts.get(d.doc_id, 0),
            file_present=(sources / d.doc_id).is_file(),
            ingested_at=d.ingested_at,
        )
        for d in load_documents(folder)
    ]
    return sorted(infos, key=lambda i: (i.date, i.doc_id), reverse=True)


def missing_documents(cfg: Config) -> list[DocumentInfo]:
    """Indexed documents whose files are gone from the sources folder (none without an
    index): what `prune` would remove."""
    if read_manifest(cfg.paths.index_dir) is None:
        return []
    return [d for d in documents(cfg) if not d.file_present]


def find_documents(cfg: Config, doc_ids: Sequence[str]) -> list[DocumentInfo]:
    """The documents of `doc_ids`, in that order; UnknownDocument naming any the index does
    not hold (with the ids that come closest)."""
    known = {d.doc_id: d for d in documents(cfg)}
    unknown = [i for i in doc_ids if i not in known]
    if unknown:
        hints = [k for k in known if any(u in k or k in u for u in unknown)]
        near = f"; did you mean {', '.join(hints)}?" if hints else ""
        raise UnknownDocument(
            f"no indexed document {', '.join(unknown)}{near} (`assistant sources` lists the ids)"
        )
    return [known[i] for i in dict.fromkeys(doc_ids)]


# ------------------------------------------------------------------------------ changing


@dataclass(frozen=True)
class Incoming:
    """A file to add: where it comes from and the document it becomes."""

    source: Path
    doc_id: str

    def destination(self, sources: Path) -> Path:
        return sources / self.doc_id


def incoming_files(cfg: Config, paths: Sequence[Path]) -> tuple[list[Incoming], list[Skipped]]:
    """The files `paths` name (a folder: its files of the ingested types) as the documents
    they become, and the ones refused with their reason."""
    sources = cfg.paths.sources
    exts = {e.lower() for e in cfg.ingest.extensions}
    found: dict[str, Incoming] = {}
    refused: list[Skipped] = []
    for path in paths:
        if path.is_file() and path.suffix.lower() not in exts:
            refused.append(Skipped(str(path), f"not a supported type ({' '.join(sorted(exts))})"))
            continue
        if not path.exists():
            refused.append(Skipped(str(path), "no such file or folder"))
            continue
        for doc_id, file in scan([path], cfg.ingest.extensions, sources).items():
            inside = doc_id_of(file, sources) is not None
            doc_id = doc_id if inside or path.is_file() else f"{path.name}/{doc_id}"
            if doc_id in found and found[doc_id].source != file:
                refused.append(Skipped(str(file), f"another file added is also named {doc_id}"))
                continue
            found[doc_id] = Incoming(file, doc_id)
    return list(found.values()), refused


def update(
    cfg: Config,
    paths: Sequence[Path] | None = None,
    remove: Collection[str] = (),
    rebuild: bool = False,
    progress: Progress | None = None,
) -> IngestSummary:
    """One change of the corpus: add and update the files of `paths` (None: the whole
    sources folder, as it is), remove the documents of `remove`. Files from outside the
    sources folder are copied into it first; a file that cannot be read is refused and not
    copied. See the module's rules."""
    if remove:
        find_documents(cfg, list(remove))
    roots: list[Path] | None = None
    refused: list[Skipped] = []
    copied: list[str] = []
    set_aside: list[str] = []
    if paths is not None:
        incoming, refused = incoming_files(cfg, paths)
        roots = []
        for item in incoming:
            dest = item.destination(cfg.paths.sources)
            if item.source.resolve() != dest.resolve():
                why = _unreadable(cfg, item.source)
                if why:
                    refused.append(Skipped(str(item.source), why))
                    continue
                if not _same_bytes(item.source, dest):
                    if dest.is_file():
                        set_aside.append(str(_set_aside(cfg, dest, item.doc_id)))
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(item.source, dest)
                    copied.append(str(dest))
            roots.append(dest)
    summary = ingest(cfg, roots, rebuild=rebuild, progress=progress, remove=set(remove))
    for doc_id in summary.removed_docs:
        file = cfg.paths.sources / doc_id
        if file.is_file():
            set_aside.append(str(_set_aside(cfg, file, doc_id)))
    summary.skipped = refused + summary.skipped
    summary.copied, summary.set_aside = copied, set_aside
    return summary


def add_files(
    cfg: Config, paths: Sequence[Path], progress: Progress | None = None
) -> IngestSummary:
    """Add (or update) the documents of these files or folders; nothing else changes."""
    return update(cfg, paths, progress=progress)


def remove_documents(
    cfg: Config, doc_ids: Sequence[str], progress: Progress | None = None
) -> IngestSummary:
    """Remove these documents from the index and set their files aside; UnknownDocument
    (and nothing changed) when one of them is not indexed."""
    return update(cfg, [], remove=doc_ids, progress=progress)


def prune(cfg: Config, progress: Progress | None = None) -> IngestSummary:
    """Remove the documents whose files are gone from the sources folder."""
    return remove_documents(cfg, [d.doc_id for d in missing_documents(cfg)], progress)


def _unreadable(cfg: Config, path: Path) -> str:
    """Why a file would be skipped by the ingest ("" when it would not)."""
    try:
        load_file(path, int(cfg.ingest.max_file_mb * 1_000_000))
    except LoadError as err:
        return str(err)
    return ""


def _same_bytes(a: Path, b: Path) -> bool:
    return b.is_file() and content_hash(a.read_bytes()) == content_hash(b.read_bytes())


def _set_aside(cfg: Config, file: Path, doc_id: str) -> Path:
    """Move a file out of the sources folder to data/removed/<time>/<doc id>."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = cfg.paths.data_dir / SET_ASIDE / stamp / doc_id
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(file), target)
    return target
