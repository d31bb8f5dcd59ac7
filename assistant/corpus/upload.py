"""Whether a file offered for upload may go into the sources folder: the one check every
upload path (the page, a future API) calls before saving anything.

The ingest itself would skip a file of the wrong kind or over `ingest.max_file_mb` later,
with a reason; refusing it at the door says so to the person uploading, at once, and keeps
a large body out of the sources folder.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

from assistant.config import IngestConfig

MB = 1_000_000
MAX_NAME_CHARS = 200


class UploadRejected(ValueError):
    """The upload is refused; the message (Chinese, one line) says why."""


def upload_limit_bytes(cfg: IngestConfig) -> int:
    """The largest upload: `max_upload_mb`, never above `max_file_mb` (the ingest would skip
    a larger file anyway). For the web server's own body limit too."""
    return int(min(cfg.max_upload_mb, cfg.max_file_mb) * MB)


def check_upload(name: str, size_bytes: int, cfg: IngestConfig) -> str:
    """The bare file name to save the upload under, or UploadRejected: a name that is a
    path, hidden or empty; a kind of file the ingest does not read; an empty file or one
    over the limit."""
    bare = PureWindowsPath(PurePosixPath(name).name).name.strip()  # "C:\\x\\a.pdf" -> a.pdf
    if not bare or bare.startswith(".") or bare != name.strip() or len(bare) > MAX_NAME_CHARS:
        raise UploadRejected(f"文件名不可用：{name[:60]!r}（只接受不带路径的普通文件名）")
    suffix = PurePosixPath(bare).suffix.lower()
    if suffix not in {e.lower() for e in cfg.extensions}:
        kinds = " ".join(cfg.extensions)
        raise UploadRejected(f"不支持的文件类型 {suffix or '（无扩展名）'}：只接受 {kinds}")
    limit = upload_limit_bytes(cfg)
    if size_bytes <= 0:
        raise UploadRejected(f"{bare} 是空文件")
    if size_bytes > limit:
        raise UploadRejected(
            f"{bare} 太大：{size_bytes / MB:.1f} MB，上限 {limit / MB:.1f} MB"
            "（ingest.max_upload_mb）"
        )
    return bare
