"""Managing the corpus from the command line: `ingest PATH` adds and updates without removing
anything, removal is named (`--prune`, `remove`) and listed before it happens, `sources`
lists what is indexed; `ask` and `chat` say what they are doing on standard error.

Short reports written here keep each index a few chunks (the real embedder and Chroma, in a
second or two); the answering tests use the five real reports of `corpus_config`.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from assistant import __version__
from assistant.cli import cli as main
from assistant.config import Config
from assistant.corpus.ingest import EmptyCorpus, ingest
from assistant.corpus.library import (
    UnknownDocument,
    add_files,
    documents,
    missing_documents,
    remove_documents,
)
from assistant.index import Index, read_manifest
from tests.conftest import ROOT, make_config

PARKS = "罗湖区口袋公园建设情况\n2023-05-10\n2023年,罗湖区新建口袋公园12个,新增绿道8公里。\n"
SCHOOLS = "罗湖区教育发展情况\n2022-09-01\n2022年,罗湖区新增公办学位6000个,新建学校3所。\n"
ELDERLY = "罗湖区养老服务情况\n2024-03-15\n2024年,罗湖区建成长者饭堂20家,服务老年人10万人次。\n"


@pytest.fixture
def small(tmp_path: Path) -> Config:
    """Two short reports ingested into their own index."""
    src = tmp_path / "sources"
    src.mkdir()
    (src / "parks.txt").write_text(PARKS, encoding="utf-8")
    (src / "schools.txt").write_text(SCHOOLS, encoding="utf-8")
    cfg = make_config(tmp_path, src)
    assert ingest(cfg).added == 2
    return cfg


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "elderly.txt").write_text(ELDERLY, encoding="utf-8")
    return folder


def env_of(cfg: Config) -> dict[str, str]:
    """The repo's config file with `cfg`'s folders and backend, by environment."""
    env = {f"ASSISTANT_PATHS__{k.upper()}": str(v) for k, v in cfg.paths}
    return {**env, "ASSISTANT_LLM__BACKEND": cfg.llm.backend}


def cli(cfg: Config, *args: str, stdin: str = "") -> Result:
    """`assistant ARGS` in this process (stdin not a terminal; stdout and stderr apart)."""
    config = ["--config", str(ROOT / "assistant.toml")]
    return CliRunner().invoke(main, [*config, *args], input=stdin, env=env_of(cfg))


def process(cfg: Config, *args: str) -> subprocess.CompletedProcess[str]:
    """`assistant ARGS` as its own process: what a shell sees on each stream."""
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--config", str(ROOT / "assistant.toml"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **env_of(cfg)},
    )


def indexed(cfg: Config) -> set[str]:
    return set(Index.open(cfg).documents)


def generation(cfg: Config) -> str:
    manifest = read_manifest(cfg.paths.index_dir)
    assert manifest is not None
    return manifest.generation


# ------------------------------------------------------------------------------ adding


def test_ingest_path_adds_without_removing_others(small: Config, outside: Path) -> None:
    run = cli(small, "ingest", str(outside / "elderly.txt"))
    assert run.exit_code == 0, run.stderr
    assert indexed(small) == {"parks.txt", "schools.txt", "elderly.txt"}
    # Copied into the sources folder: the next plain ingest finds it where the rest are.
    assert (small.paths.sources / "elderly.txt").read_text(encoding="utf-8") == ELDERLY
    assert "added / changed / removed" in run.stdout and "1 / 0 / 0" in run.stdout
    assert ingest(small).up_to_date

    # A folder keeps its name inside the sources folder.
    (outside / "more").mkdir()
    (outside / "more" / "a.md").write_text(PARKS.replace("12个", "15个"), encoding="utf-8")
    assert cli(small, "ingest", str(outside / "more")).exit_code == 0
    assert "more/a.md" in indexed(small) and len(indexed(small)) == 4


def test_adding_a_file_again_updates_it_and_keeps_the_old_version(
    small: Config, tmp_path: Path
) -> None:
    newer = tmp_path / "new" / "parks.txt"
    newer.parent.mkdir()
    newer.write_text(PARKS.replace("12个", "14个"), encoding="utf-8")
    summary = add_files(small, [newer])
    assert (summary.added_docs, summary.changed_docs, summary.removed_docs) == (
        [],
        ["parks.txt"],
        [],
    )
    assert "14个" in (small.paths.sources / "parks.txt").read_text(encoding="utf-8")
    (kept,) = summary.set_aside
    assert Path(kept).read_text(encoding="utf-8") == PARKS  # not deleted
    assert Path(kept).is_relative_to(small.paths.data_dir / "removed")
    index = Index.open(small)
    assert any("14个" in c.text for c in index.chunks)
    assert not any("12个" in c.text for c in index.chunks)
    # The same bytes again: nothing to copy, nothing to do.
    again = add_files(small, [newer])
    assert again.up_to_date and not again.copied and not again.set_aside


def test_an_upload_goes_in_under_its_own_name(small: Config, tmp_path: Path) -> None:
    upload = tmp_path / "tmp8f3k2"  # how a web server keeps an upload: a name of its own
    upload.write_text(ELDERLY, encoding="utf-8")
    summary = add_files(small, [upload], names=["../养老 服务.txt"])
    assert summary.added_docs == ["养老 服务.txt"] and not summary.skipped
    assert (small.paths.sources / "养老 服务.txt").is_file()
    refused = add_files(small, [upload], names=["养老.exe"])
    assert "unsupported file type" in refused.skipped[0].reason


def test_a_bad_file_is_refused_and_nothing_changes(small: Config, tmp_path: Path) -> None:
    before = generation(small)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    image = tmp_path / "scan.png"
    image.write_bytes(b"\x89PNG")
    summary = add_files(small, [empty, image])
    reasons = {Path(s.path).name: s.reason for s in summary.skipped}
    assert reasons["empty.txt"] == "empty file" and "unsupported file type" in reasons["scan.png"]
    assert not (small.paths.sources / "empty.txt").exists()
    assert generation(small) == before and indexed(small) == {"parks.txt", "schools.txt"}


# ---------------------------------------------------------------------------- removing


def test_a_file_gone_from_sources_is_kept_and_listed(small: Config) -> None:
    (small.paths.sources / "schools.txt").unlink()
    run = cli(small, "ingest")
    assert run.exit_code == 0, run.stderr
    assert indexed(small) == {"parks.txt", "schools.txt"}  # nothing removed unasked
    assert "schools.txt" in run.stdout and "assistant ingest --prune" in run.stdout
    assert [d.doc_id for d in missing_documents(small)] == ["schools.txt"]
    # Rebuilding keeps it too, chunked again from the text the index holds.
    rebuilt = ingest(small, rebuild=True)
    assert rebuilt.missing_docs == ["schools.txt"] and rebuilt.removed == 0
    assert any("6000个" in c.text for c in Index.open(small).chunks)


def test_prune_lists_first_and_needs_a_yes(small: Config) -> None:
    (small.paths.sources / "schools.txt").unlink()
    before = generation(small)
    refused = cli(small, "ingest", "--prune")
    assert refused.exit_code == 1
    assert "schools.txt" in refused.stdout and "罗湖区教育发展情况" in refused.stdout
    assert "--yes" in refused.stderr and "Traceback" not in refused.stderr
    assert generation(small) == before

    run = cli(small, "ingest", "--prune", "--yes")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.index("schools.txt") < run.stdout.index("ingest summary")
    assert indexed(small) == {"parks.txt"}


def _on_a_terminal(cfg: Config, answer: str, *args: str) -> str:
    """Run `assistant ARGS` with a pseudo-terminal as stdin and stdout, answer its question,
    and return what it printed."""
    terminal, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "--config", str(ROOT / "assistant.toml"), *args],
        cwd=ROOT,
        stdin=child,
        stdout=child,
        stderr=child,
        env={**os.environ, **env_of(cfg)},
    )
    os.close(child)
    out, answered, deadline = b"", False, time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([terminal], [], [], 0.5)
        if ready:
            try:
                data = os.read(terminal, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            out += data
        if not answered and b"[y/N]" in out:
            os.write(terminal, answer.encode() + b"\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    proc.wait(timeout=30)
    os.close(terminal)
    assert answered, out.decode(errors="replace")
    return out.decode(errors="replace")


def test_remove_asks_on_a_terminal(small: Config) -> None:
    before = generation(small)
    shown = _on_a_terminal(small, "n", "remove", "parks.txt")
    assert "parks.txt" in shown and "已取消" in shown
    assert generation(small) == before and (small.paths.sources / "parks.txt").exists()

    shown = _on_a_terminal(small, "y", "remove", "parks.txt")
    assert indexed(small) == {"schools.txt"}
    assert not (small.paths.sources / "parks.txt").exists()  # set aside, not deleted:
    (kept,) = (small.paths.data_dir / "removed").rglob("parks.txt")
    assert kept.read_text(encoding="utf-8") == PARKS


def test_remove_names_an_unknown_id_and_changes_nothing(small: Config) -> None:
    before = generation(small)
    run = cli(small, "remove", "schools.txt", "park", "--yes")
    assert run.exit_code == 1
    assert "no indexed document park; did you mean parks.txt?" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert generation(small) == before
    with pytest.raises(UnknownDocument):
        remove_documents(small, ["nope.txt"])
    # An index keeps one document at least; the files set aside for the attempt come back.
    with pytest.raises(EmptyCorpus, match="cannot remove every document"):
        remove_documents(small, ["parks.txt", "schools.txt"])
    assert generation(small) == before
    assert sorted(p.name for p in small.paths.sources.iterdir()) == ["parks.txt", "schools.txt"]
    assert not (small.paths.data_dir / "removed").exists() or not any(
        (small.paths.data_dir / "removed").iterdir()
    )


# ----------------------------------------------------------------------------- listing


def test_sources_lists_ids_titles_dates_and_chunks(small: Config) -> None:
    (small.paths.sources / "schools.txt").unlink()
    run = cli(small, "sources")
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    parks = next(line for line in lines if line.startswith("parks.txt"))
    assert "罗湖区口袋公园建设情况" in parks and "2023-05-10" in parks
    assert "文件已不在 sources 中" in run.stdout  # schools.txt's file is gone

    data = json.loads(cli(small, "sources", "--json").stdout)
    rows = {d["doc_id"]: d for d in data["documents"]}
    assert rows["parks.txt"]["title"] == "罗湖区口袋公园建设情况"
    assert rows["parks.txt"]["date"] == "2023-05-10" and rows["parks.txt"]["chunks"] == 1
    assert rows["schools.txt"]["file_present"] is False
    assert [d.model_dump() for d in documents(small)] == data["documents"]


def test_version_and_examples_in_help(tmp_path: Path) -> None:
    run = cli(make_config(tmp_path, tmp_path), "--version")
    assert run.exit_code == 0 and run.stdout.strip() == f"assistant, version {__version__}"
    helped = cli(make_config(tmp_path, tmp_path), "ask", "--help")
    assert "Examples:" in helped.stdout and "--show-passages" in helped.stdout


# ---------------------------------------------------------------------------- answering


def test_ask_refuses_a_date_that_is_none_and_an_unknown_document(small: Config) -> None:
    bad_date = cli(small, "ask", "口袋公园有多少个?", "--from", "2019/13/01")
    assert bad_date.exit_code == 1 and "起始日期“2019/13/01”无效" in bad_date.stderr
    unknown = cli(small, "ask", "口袋公园有多少个?", "--doc", "park")
    assert unknown.exit_code == 1 and "did you mean parks.txt?" in unknown.stderr
    assert "正在载入模型" not in unknown.stderr  # said before anything loads


def test_ask_is_short_labelled_and_says_what_it_does_on_stderr(
    corpus_config: Config,
) -> None:
    question = "2019年罗湖完成固定资产投资多少亿元?"
    as_json = process(corpus_config, "ask", question, "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["backend"] == "extractive"  # stdout is the JSON alone
    assert as_json.stderr.splitlines() == ["正在载入模型…", "检索中…"]

    run = cli(corpus_config, "ask", question)
    assert run.exit_code == 0, run.stderr
    assert run.stderr.splitlines() == ["正在载入模型…", "检索中…"]
    out = run.stdout.splitlines()
    assert "332亿元[1]" in out[0]
    assert "[1] 请回答2019!罗湖交出全面振兴答卷（2020-01-03） › 答卷5 › 数读" in out
    # One line per citation: the passage itself only with --show-passages.
    passage = "一般公共预算收入91.2亿元"
    assert passage not in run.stdout
    footer = out[-1]
    assert re.fullmatch(r"回答方式：原文摘录 · 检索 [\d.]+ m?s · 共 [\d.]+ m?s", footer), footer

    shown = cli(corpus_config, "ask", question, "--show-passages")
    assert passage in shown.stdout


def test_chat_says_what_it_does_on_stderr(corpus_config: Config) -> None:
    run = cli(corpus_config, "chat", stdin="2019年罗湖完成固定资产投资多少亿元?\n那2018年呢?\n\n")
    assert run.exit_code == 0, run.stderr
    assert run.stderr.splitlines() == ["正在载入模型…", "检索中…", "检索中…"]
    assert "回答方式：原文摘录" in run.stdout and "332亿元" in run.stdout
    assert "（理解为：2018年罗湖完成固定资产投资多少亿元?）" in run.stdout
