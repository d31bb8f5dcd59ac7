"""Document metadata read from the text's own header lines, with a manifest to override."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from assistant.facts.reader import document_subject
from assistant.models import DocumentMeta
from assistant.textnorm import to_simplified

HEADER_LINES = 8
_DATE = re.compile(r"(20\d{2}|19\d{2})\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})")
_PUBLISHER = re.compile(r"来源[::]\s*([^\s::]+)")
# Short lines that name a website or an office rather than the report itself.
_BANNER = re.compile(r"^.{0,14}(人民政府|网|網|报|報|门户|首页)$")
_META_LINE = re.compile(r"来源|日期|发布时间|作者|版次")

KIND_RULES: tuple[tuple[str, str], ...] = (
    ("work_report", r"政府工作报告|工作报告"),
    ("plenary_communique", r"全会|全体会议|公报|代表大会.*会议"),
)
MANIFEST = "manifest.toml"


def read_meta(text: str) -> DocumentMeta:
    """Title, ISO date, publisher and kind from the first lines of a cleaned document; the
    district it is about from its title and text."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()][:HEADER_LINES]
    simple = [to_simplified(ln) for ln in lines]
    title = next(
        (
            ln
            for ln, s in zip(lines, simple, strict=True)
            if not _BANNER.match(s) and not _META_LINE.search(s) and len(s) >= 4
        ),
        lines[0] if lines else "",
    )
    date = ""
    for s in simple:
        if m := _DATE.search(s):
            y, mo, d = (int(g) for g in m.groups())
            if 1 <= mo <= 12 and 1 <= d <= 31:
                date = f"{y:04d}-{mo:02d}-{d:02d}"
                break
    publisher = next((m.group(1) for s in simple if (m := _PUBLISHER.search(s))), "")
    if publisher:
        # Keep the document's own script for display.
        idx = next(i for i, s in enumerate(simple) if _PUBLISHER.search(s))
        m = re.search(r"[來来]源[::]\s*([^\s::]+)", lines[idx])
        publisher = m.group(1) if m else publisher
    subject = document_subject(to_simplified(title), to_simplified(text))
    return DocumentMeta(title, date, publisher, guess_kind(title), subject)


def guess_kind(title: str) -> str:
    simple = to_simplified(title)
    for kind, pattern in KIND_RULES:
        if re.search(pattern, simple):
            return kind
    return "news"


def load_manifest(sources_dir: Path) -> dict[str, dict[str, str]]:
    """`sources/manifest.toml`: a table per file (relative path) with fields to override."""
    path = sources_dir / MANIFEST
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    allowed = {"title", "date", "publisher", "kind", "subject"}
    out: dict[str, dict[str, str]] = {}
    for name, fields in data.items():
        if not isinstance(fields, dict) or not set(fields) <= allowed:
            raise ValueError(f"{path}: [{name}] may only set {sorted(allowed)}")
        out[name] = {k: str(v) for k, v in fields.items()}
    return out


def apply_manifest(meta: DocumentMeta, override: dict[str, str]) -> DocumentMeta:
    return DocumentMeta(**{**meta.__dict__, **override})
