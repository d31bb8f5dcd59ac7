"""Loading: bytes on disk to plain text, with the encoding detected rather than assumed."""

from __future__ import annotations

import codecs
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

# Candidates for Chinese text without a BOM, most to least common in this corpus' world.
_CJK_ENCODINGS = ("utf_8", "gb18030", "big5")


class LoadError(Exception):
    """A file that cannot be ingested; the message is the one-line reason."""


@dataclass
class LoadedFile:
    path: Path
    text: str
    encoding: str
    content_hash: str


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_file(path: Path, max_bytes: int) -> LoadedFile:
    """Read one file into text; raise LoadError with a short reason when it cannot be used."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise LoadError(f"unreadable: {err.strerror}") from err
    if not data.strip():
        raise LoadError("empty file")
    if len(data) > max_bytes:
        raise LoadError(f"too large: {len(data) / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text, encoding = _pdf_text(data), "pdf"
    elif suffix == ".docx":
        text, encoding = _docx_text(data), "docx"
    else:
        text, encoding = decode_text(data)
        if suffix in (".html", ".htm"):
            text = html_text(text)
    if not text.strip():
        raise LoadError("no text after extraction")
    return LoadedFile(path=path, text=text, encoding=encoding, content_hash=content_hash(data))


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes of a text file: BOM first, then strict UTF-8, then the likeliest CJK codec."""
    for bom, codec in (
        (codecs.BOM_UTF8, "utf_8_sig"),
        (codecs.BOM_UTF16_LE, "utf_16"),
        (codecs.BOM_UTF16_BE, "utf_16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError as err:
                raise LoadError(f"undecodable: broken {codec} after its BOM") from err
    if b"\x00" in data:
        raise LoadError("binary file (NUL bytes, no UTF-16 BOM)")
    try:
        return data.decode("utf_8"), "utf_8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data, cp_isolation=list(_CJK_ENCODINGS[1:])).best()
    if best is None or best.chaos > 0.3:
        raise LoadError("undecodable: not UTF-8, UTF-16, GB18030 or Big5 text")
    return str(best), best.encoding


def html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "header", "noscript"]):
        tag.decompose()
    return soup.get_text("\n")


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError) as err:
        raise LoadError(f"unreadable PDF: {err}") from err


def _docx_text(data: bytes) -> str:
    import zipfile

    from docx import Document

    try:
        doc = Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as err:
        raise LoadError(f"unreadable DOCX: {err}") from err
    return "\n".join(p.text for p in doc.paragraphs)
