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

import os
import re
import shutil
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

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
from assistant.corpus.metadata import MANIFEST
from assistant.index.generations import (
    IndexMissing,
    generation_dir,
    load_chunks,
    load_documents,
    read_manifest,
)
from assistant.models import Document, DocumentInfo

SET_ASIDE = "removed"  # under the data folder: replaced versions and removed documents' files


class CorpusError(ValueError):
    """A change that cannot be made; the message says why, on one line. Nothing changed."""


class UnknownDocument(CorpusError):
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


def document(cfg: Config, doc_id: str) -> Document:
    """One indexed document with its cleaned text; UnknownDocument when not indexed."""
    find_documents(cfg, [doc_id])
    manifest = read_manifest(cfg.paths.index_dir)
    assert manifest is not None
    folder = generation_dir(cfg.paths.index_dir, manifest.generation)
    return next(d for d in load_documents(folder) if d.doc_id == doc_id)


# ------------------------------------------------------------------------------ changing


@dataclass(frozen=True)
class Incoming:
    """A file to add: where it comes from and the document it becomes."""

    source: Path
    doc_id: str


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def safe_name(name: str) -> str:
    """A name given with a file (an upload's) as a file name inside the sources folder: no
    folders, no control or shell characters, no leading dot; Chinese is kept."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip(" .")
    stem, suffix = os.path.splitext(base)
    return stem[: 120 - len(suffix)] + suffix


def incoming_files(
    cfg: Config, paths: Sequence[Path], names: Sequence[str] | None = None
) -> tuple[list[Incoming], list[Skipped]]:
    """The files `paths` name as the documents they become, and the ones refused with their
    reason. A file becomes its name (or its entry of `names`, e.g. an upload's original
    name), a folder's files keep their place under the folder's name; a file already in
    the sources folder stays what it is."""
    sources = cfg.paths.sources
    exts = {e.lower() for e in cfg.ingest.extensions}
    found: dict[str, Incoming] = {}
    refused: list[Skipped] = []
    for i, path in enumerate(paths):
        name = safe_name(names[i]) if names else path.name
        if not Path(name).stem:
            refused.append(Skipped(str(path), "unusable file name"))
            continue
        if not path.exists():
            refused.append(Skipped(str(path), "no such file or folder"))
            continue
        if path.is_file() and (Path(name).suffix.lower() not in exts or name == MANIFEST):
            kind = Path(name).suffix.lower() or "none"
            supported = " ".join(sorted(exts))
            refused.append(Skipped(str(path), f"unsupported file type: {kind} ({supported})"))
            continue
        files = {name: path} if path.is_file() else scan([path], cfg.ingest.extensions)
        for rel, file in files.items():
            inside = doc_id_of(file, sources)
            doc_id = inside or (rel if path.is_file() else f"{path.name}/{rel}")
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
    names: Sequence[str] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> IngestSummary:
    """One change of the corpus: add and update the files of `paths` (None: the whole
    sources folder, as it is), remove the documents of `remove` (UnknownDocument, and
    nothing changed, when one is not indexed). Files from outside the sources folder are
    copied into it; a file that cannot be read is refused with its reason and not copied.
    If the ingest fails, the sources folder is put back as it was. See the module's rules."""
    if remove:
        find_documents(cfg, list(remove))
    roots: list[Path] | None = None
    refused: list[Skipped] = []
    moves = _Moves(cfg)
    try:
        if paths is not None:
            incoming, refused = incoming_files(cfg, paths, names)
            roots = []
            for item in incoming:
                why = _unreadable(cfg, item.source)
                if why:
                    refused.append(Skipped(str(item.source), why))
                else:
                    roots.append(moves.copy_in(item))
        for doc_id in remove:
            moves.set_aside(doc_id)
        summary = ingest(
            cfg, roots, rebuild=rebuild, progress=progress, remove=set(remove), on_wait=on_wait
        )
    except BaseException:
        moves.undo()
        raise
    summary.skipped = refused + summary.skipped
    summary.copied = [str(p) for p in moves.copied]
    summary.set_aside = [str(to) for _, to in moves.moved]
    return summary


def add_files(
    cfg: Config,
    paths: Sequence[Path],
    progress: Progress | None = None,
    names: Sequence[str] | None = None,
) -> IngestSummary:
    """Add (or update) the documents of these files or folders (`names`: the names the
    files go in under, e.g. an upload's original names); nothing else changes."""
    return update(cfg, paths, progress=progress, names=names)


def remove_documents(
    cfg: Config, doc_ids: Sequence[str], progress: Progress | None = None
) -> IngestSummary:
    """Remove these documents from the index and set their files aside; UnknownDocument
    (and nothing changed) when one of them is not indexed."""
    return update(cfg, [], remove=doc_ids, progress=progress)


def prune(cfg: Config, progress: Progress | None = None) -> IngestSummary:
    """Remove the documents whose files are gone from the sources folder."""
    return remove_documents(cfg, [d.doc_id for d in missing_documents(cfg)], progress)


Outcome = Literal["added", "updated", "unchanged", "duplicate", "refused"]


@dataclass(frozen=True)
class FileOutcome:
    """What a change did with one file it was given (the page reports uploads this way)."""

    name: str  # as given: an upload's original name
    doc_id: str  # the document it became ("" when refused; a duplicate's: the one indexed)
    status: Outcome
    reason: str = ""  # why it was refused, one line


def file_outcomes(
    cfg: Config, paths: Sequence[Path], summary: IngestSummary, names: Sequence[str] | None = None
) -> list[FileOutcome]:
    """File by file, what `add_files(cfg, paths, names=names)` did, read off its summary."""
    why = {s.path: s.reason for s in summary.skipped}
    same_as = {doc_id_of(Path(d.path), cfg.paths.sources): d.same_as for d in summary.duplicates}
    out: list[FileOutcome] = []
    for i, path in enumerate(paths):
        name = names[i] if names else path.name
        doc_id = doc_id_of(path, cfg.paths.sources) or safe_name(name)
        reason = why.get(str(path)) or why.get(str(cfg.paths.sources / doc_id))
        if reason:
            out.append(FileOutcome(name, "", "refused", reason))
        elif doc_id in same_as:  # indexed once, under the name that had it first
            out.append(FileOutcome(name, same_as[doc_id], "duplicate"))
        elif doc_id in summary.added_docs:
            out.append(FileOutcome(name, doc_id, "added"))
        elif doc_id in summary.changed_docs:
            out.append(FileOutcome(name, doc_id, "updated"))
        else:
            out.append(FileOutcome(name, doc_id, "unchanged"))
    return out


def _unreadable(cfg: Config, path: Path) -> str:
    """Why a file would be skipped by the ingest ("" when it would not)."""
    try:
        load_file(path, int(cfg.ingest.max_file_mb * 1_000_000))
    except LoadError as err:
        return str(err)
    return ""


class _Moves:
    """The files a change puts into the sources folder and takes out of it (to
    data/removed/<time>/), so that a failed change can put everything back."""

    def __init__(self, cfg: Config) -> None:
        self.sources = cfg.paths.sources
        self.aside = cfg.paths.data_dir / SET_ASIDE / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        self.copied: list[Path] = []
        self.moved: list[tuple[Path, Path]] = []  # (from, to)

    def copy_in(self, item: Incoming) -> Path:
        """The file in the sources folder (copied there unless it is there already); the
        version it replaces is set aside first."""
        dest = self.sources / item.doc_id
        if item.source.resolve() == dest.resolve() or _same_bytes(item.source, dest):
            return dest
        if dest.is_file():
            self.set_aside(item.doc_id)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        shutil.copyfile(item.source, tmp)
        os.replace(tmp, dest)  # never a half-copied file under the document's name
        self.copied.append(dest)
        return dest

    def set_aside(self, doc_id: str) -> None:
        file = self.sources / doc_id
        if file.is_file():
            target = self.aside / doc_id
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(file, target)
            self.moved.append((file, target))

    def undo(self) -> None:
        for dest in self.copied:
            dest.unlink(missing_ok=True)
        for original, target in reversed(self.moved):
            shutil.move(target, original)
        for folder in sorted(self.aside.rglob("*"), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        if self.aside.is_dir() and not any(self.aside.iterdir()):
            self.aside.rmdir()


def _same_bytes(a: Path, b: Path) -> bool:
    return b.is_file() and content_hash(a.read_bytes()) == content_hash(b.read_bytes())
