"""Ingest: incremental by content hash, atomic, and tolerant of bad files."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.answer.factory import open_pipeline
from assistant.answer.pipeline import ask
from assistant.config import Config
from assistant.corpus.ingest import ingest
from assistant.index import Index, IndexMismatch, read_manifest
from assistant.index.generations import CURRENT
from assistant.index.vectors import VectorStore, connect
from tests.conftest import ROOT, SOURCES, make_config

NEWS = "001_bfd75f84de2c2b1c.txt"
MEETING = "003_6c292aaa073e0d9c.txt"


def _small_sources(tmp: Path) -> Path:
    src = tmp / "sources"
    src.mkdir()
    for name in (NEWS, MEETING):
        shutil.copy(SOURCES / name, src / name)
    return src


def _vector_count(cfg: Config) -> int:
    manifest = read_manifest(cfg.paths.index_dir)
    assert manifest is not None
    return VectorStore(connect(cfg.index, cfg.paths.index_dir), manifest.collection).count()


def test_corpus_ingest_counts(corpus_config: Config) -> None:
    index = Index.open(corpus_config)
    assert len(index.documents) == 5
    assert len(index.chunks) == index.manifest.chunks == _vector_count(corpus_config)
    repaired = sum(d.clean_summary.get("mojibake_repaired", 0) for d in index.documents.values())
    assert repaired >= 10
    scripts = {d.doc_id[:3]: d.script for d in index.documents.values()}
    assert scripts == {"000": "hant", "001": "hans", "002": "hant", "003": "hant", "004": "hans"}


def test_second_ingest_does_no_work(corpus_config: Config) -> None:
    before = read_manifest(corpus_config.paths.index_dir)
    summary = ingest(corpus_config)
    assert summary.up_to_date and summary.embedded_chunks == 0
    assert read_manifest(corpus_config.paths.index_dir) == before
    assert summary.seconds < 2


def test_changed_and_removed_files(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, _small_sources(tmp_path))
    first = ingest(cfg)
    assert (first.documents, first.added) == (2, 2)

    news = cfg.paths.sources / NEWS
    news.write_text(news.read_text(encoding="utf-8") + "\n罗湖区新增测试段落,共计42个试点项目。\n")
    (cfg.paths.sources / MEETING).unlink()
    second = ingest(cfg, remove={MEETING})  # a removal is named (see test_library)
    assert (second.changed, second.removed, second.unchanged) == (1, 1, 0)
    # Only the chunk that gained the new sentence is embedded again.
    assert 1 <= second.embedded_chunks <= 2
    assert second.reused_chunks == second.chunks - second.embedded_chunks

    index = Index.open(cfg)
    assert {c.doc_id for c in index.chunks} == {NEWS}
    assert _vector_count(cfg) == len(index.chunks)
    assert any("42个试点项目" in c.text for c in index.chunks)
    # The removed report's words no longer find anything of it.
    found = index.bm25.search("高质量发展大会 新开工项目 启动仪式", 5)
    assert all(index.by_id[cid].doc_id == NEWS for cid, _ in found)


def test_unchanged_file_reuses_vectors(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, _small_sources(tmp_path))
    ingest(cfg)
    news = cfg.paths.sources / NEWS
    news.write_text(news.read_text(encoding="utf-8") + "\n追加一句。\n")
    summary = ingest(cfg)
    assert summary.unchanged == 1 and summary.reused_chunks > 0
    assert summary.embedded_chunks < summary.chunks


def test_bad_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    src = _small_sources(tmp_path)
    (src / "empty.txt").write_bytes(b"")
    (src / "image.txt").write_bytes(bytes(range(256)) * 4)
    (src / "huge.txt").write_bytes(("字" * 400_000).encode("utf-8"))
    cfg = make_config(tmp_path, src, ingest={"max_file_mb": 1.0})
    summary = ingest(cfg)
    reasons = {Path(s.path).name: s.reason for s in summary.skipped}
    assert set(reasons) == {"empty.txt", "image.txt", "huge.txt"}
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["image.txt"]
    assert "too large" in reasons["huge.txt"]
    assert summary.documents == 2


def test_index_built_with_another_model_says_how_to_rebuild(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, _small_sources(tmp_path))
    ingest(cfg)
    pointer = cfg.paths.index_dir / CURRENT
    data = json.loads(pointer.read_text())
    pointer.write_text(json.dumps({**data, "embedding_model": "bge-m3", "dim": 1024}))
    with pytest.raises(IndexMismatch, match="assistant ingest --rebuild"):
        Index.open(cfg)
    summary = ingest(cfg, rebuild=True)
    assert summary.embedded_chunks == summary.chunks
    Index.open(cfg)


def test_killed_ingest_leaves_the_old_index_answering(tmp_path: Path) -> None:
    src = _small_sources(tmp_path)
    cfg = make_config(tmp_path, src)
    ingest(cfg)
    before = read_manifest(cfg.paths.index_dir)
    # A long new report, so that embedding runs long enough to be killed in the middle.
    copy = src / "copy.txt"
    shutil.copy(SOURCES / "002_833012a21d5118d3.txt", copy)
    toml = tmp_path / "assistant.toml"
    toml.write_text(
        f'[paths]\nsources = "{src}"\nindex_dir = "{cfg.paths.index_dir}"\n'
        f'data_dir = "{tmp_path / "data"}"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "--config", str(toml), "ingest"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("embedding")
    time.sleep(1.0)
    assert proc.poll() is None, "ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    assert read_manifest(cfg.paths.index_dir) == before
    pipe = open_pipeline(cfg, "extractive")
    response = ask(pipe, "罗湖八大措施中规划引领要高质量编制什么规划?")
    assert not response.refused and "十四五" in response.answer

    # The next ingest completes and clears away the half-built generation.
    copy.unlink()
    summary = ingest(cfg)
    assert summary.up_to_date and summary.documents == 2
    ingest(cfg, rebuild=True)
    after = read_manifest(cfg.paths.index_dir)
    assert after is not None and before is not None
    client = connect(cfg.index, cfg.paths.index_dir)
    names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    assert names == {after.collection, before.collection}  # nothing half-built is left


def test_new_chunk_sizes_rechunk_and_reuse_unchanged_chunks(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, _small_sources(tmp_path))
    first = ingest(cfg)
    smaller = make_config(tmp_path, cfg.paths.sources, chunk={"min_chars": 100, "max_chars": 300})
    second = ingest(smaller)
    assert not second.up_to_date and second.changed == 2
    assert second.chunks > first.chunks
    # Sections shorter than both sizes give the same chunk: its vector is copied, not redone.
    assert second.reused_chunks > 0
    assert second.reused_chunks + second.embedded_chunks == second.chunks == _vector_count(smaller)
    assert ingest(smaller).up_to_date
