"""Adding files and removing documents by name (`corpus.library`, as the page calls it): the
others stay, and a change that fails leaves nothing half-done."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.answer.factory import open_pipeline
from assistant.answer.pipeline import ask
from assistant.config import Config
from assistant.corpus import ingest as ingest_module
from assistant.corpus import library
from assistant.corpus.ingest import EmptyCorpus, ingest
from assistant.corpus.library import (
    UnknownDocument,
    add_files,
    file_outcomes,
    remove_documents,
    safe_name,
)
from assistant.index import Index, read_manifest
from tests.conftest import ROOT, SOURCES, make_config

NEWS = "001_bfd75f84de2c2b1c.txt"
MEETING = "003_6c292aaa073e0d9c.txt"
CLOSING = ROOT / "eval" / "heldout" / "sources" / "106_d8b1f3a67e04c925.txt"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of one report (the news item), its sources folder holding only it; built
    once, copied for each test."""
    tmp = tmp_path_factory.mktemp("one-doc")
    (tmp / "sources").mkdir()
    shutil.copy(SOURCES / NEWS, tmp / "sources" / NEWS)
    ingest(make_config(tmp, tmp / "sources"))
    return tmp


@pytest.fixture
def one_doc(built: Path, tmp_path: Path) -> Config:
    for part in ("sources", "index_store"):
        shutil.copytree(built / part, tmp_path / part)
    return make_config(tmp_path, tmp_path / "sources")


def uploads(tmp: Path, **files: bytes) -> list[Path]:
    """Files as the page receives them: in a folder of their own, outside the sources."""
    folder = tmp / "upload"
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        (folder / name.replace("__", ".")).write_bytes(data)
    return [folder / name.replace("__", ".") for name in files]


def test_adding_keeps_the_others_and_refuses_bad_files(one_doc: Config, tmp_path: Path) -> None:
    cfg = one_doc
    before = Index.open(cfg)
    news_chunks = {c.chunk_id for c in before.chunks}
    files = uploads(
        tmp_path,
        closing__txt=CLOSING.read_bytes(),
        empty__txt=b"",
        tool__exe=b"MZ\x90\x00",
    )
    summary = add_files(cfg, files)
    outcomes = file_outcomes(cfg, files, summary)
    assert [(o.doc_id, o.status) for o in outcomes if o.status != "refused"] == [
        ("closing.txt", "added")
    ]
    reasons = {o.name: o.reason for o in outcomes if o.status == "refused"}
    assert "empty" in reasons["empty.txt"] and "unsupported file type" in reasons["tool.exe"]

    index = Index.open(cfg)
    assert set(index.documents) == {NEWS, "closing.txt"}
    assert news_chunks <= {c.chunk_id for c in index.chunks}  # the other report stays whole
    assert summary.reused_chunks == len(news_chunks)  # ... and is not embedded again
    assert summary.embedded_chunks == len(index.chunks) - len(news_chunks)
    assert (cfg.paths.sources / "closing.txt").read_bytes() == CLOSING.read_bytes()
    assert not (cfg.paths.sources / "empty.txt").exists()

    response = ask(open_pipeline(cfg), "罗湖区八届人大四次会议应到代表多少名?")
    assert "219名" in response.answer and response.citations[0].doc_id == "closing.txt"
    # The sources folder now matches the index: the terminal's ingest has nothing to do.
    assert ingest(cfg).up_to_date

    again = add_files(cfg, files[:1])
    assert file_outcomes(cfg, files[:1], again)[0].status == "unchanged" and again.up_to_date
    assert read_manifest(cfg.paths.index_dir) == index.manifest


def test_a_changed_upload_updates_its_document(one_doc: Config, tmp_path: Path) -> None:
    added = "\n罗湖区新增测试段落,共计42个试点项目。\n"
    text = (SOURCES / NEWS).read_text(encoding="utf-8") + added
    files = uploads(tmp_path, x__txt=text.encode())
    summary = add_files(one_doc, files, names=[NEWS])
    assert file_outcomes(one_doc, files, summary, [NEWS])[0].status == "updated"
    assert summary.embedded_chunks <= 2
    index = Index.open(one_doc)
    assert list(index.documents) == [NEWS]
    assert any("42个试点项目" in c.text for c in index.chunks)


def test_removing_moves_the_file_out_and_keeps_the_rest(one_doc: Config, tmp_path: Path) -> None:
    cfg = one_doc
    add_files(cfg, uploads(tmp_path, meeting__txt=(SOURCES / MEETING).read_bytes()))
    summary = remove_documents(cfg, [NEWS])
    assert summary.removed_docs == [NEWS] and summary.embedded_chunks == 0
    index = Index.open(cfg)
    assert list(index.documents) == ["meeting.txt"]
    assert not (cfg.paths.sources / NEWS).exists()
    (moved,) = map(Path, summary.set_aside)
    assert moved.read_bytes() == (SOURCES / NEWS).read_bytes()
    assert cfg.paths.data_dir / library.SET_ASIDE in moved.parents
    assert ingest(cfg).up_to_date  # a later ingest does not bring it back

    with pytest.raises(UnknownDocument, match=r"nope\.txt"):
        remove_documents(cfg, ["nope.txt"])
    assert read_manifest(cfg.paths.index_dir) == index.manifest


def test_a_failed_commit_leaves_index_and_sources_as_they_were(
    one_doc: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fault (a full disk at the last step) cannot be caused otherwise: it is injected."""
    before = read_manifest(one_doc.paths.index_dir)

    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ingest_module, "commit_generation", full_disk)
    with pytest.raises(OSError):
        add_files(one_doc, uploads(tmp_path, closing__txt=CLOSING.read_bytes()))
    assert read_manifest(one_doc.paths.index_dir) == before
    assert sorted(p.name for p in one_doc.paths.sources.iterdir()) == [NEWS]
    monkeypatch.undo()
    add_files(one_doc, uploads(tmp_path, closing__txt=CLOSING.read_bytes()))
    monkeypatch.setattr(ingest_module, "commit_generation", full_disk)
    with pytest.raises(OSError):
        remove_documents(one_doc, [NEWS])
    assert (one_doc.paths.sources / NEWS).exists()
    assert sorted(Index.open(one_doc).documents) == [NEWS, "closing.txt"]


def test_the_last_document_is_not_removed(one_doc: Config) -> None:
    with pytest.raises(EmptyCorpus, match="at least one"):
        remove_documents(one_doc, [NEWS])
    assert list(Index.open(one_doc).documents) == [NEWS]


def test_safe_names_stay_in_the_sources_folder() -> None:
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("C:\\Users\\a\\2024年 报告.docx") == "2024年 报告.docx"
    assert safe_name(".hidden?.md") == "hidden_.md"
    assert len(safe_name("字" * 300 + ".pdf")) == 120
