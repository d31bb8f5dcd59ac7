"""The web UI, driven over HTTP with gradio_client as the page drives it: answers with
links for [n], follow-ups, refusals, faults, stop, feedback, sources, many users at once,
an empty or stale index, login, and no connection leaving the machine."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.answer.pipeline import ask as pipeline_ask
from assistant.config import Config
from assistant.textnorm import for_match
from assistant.ui import render as R
from assistant.ui.feedback import FeedbackStore, feedback_path
from tests.conftest import ROOT
from tests.fake_openai import FakeOpenAI, _chunk, chunk, sse
from tests.ui_server import OutboundGuard, message_text, new_client, running_ui, ui_config

ARTIFACTS = ROOT / "tests" / "artifacts"
Q_INVEST = "2019年罗湖完成固定资产投资多少亿元?"
Q_GDP = "2021年政府工作报告中,罗湖区2020年地区生产总值是多少?"
Q_REFUSED = "罗湖区2035年地区生产总值目标是多少?"
Q_FUND = "罗湖区2019年投入产业转型升级扶持资金多少?"
LONG_ANSWER = (
    "罗湖区2019年投入产业转型升级扶持资金6.6亿元[{n:6.6亿元}]。" + "这笔资金用于扶持企业。" * 12
)


@dataclass
class SlowFake(FakeOpenAI):
    """The fake OpenAI server, streaming its pieces `delay` seconds apart (a long answer)."""

    delay: float = 0.0

    def _stream(self, h: Any, entry: str, text: str) -> None:
        if not self.delay:
            super()._stream(h, entry, text)
            return
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        try:
            for i in range(0, len(text), 3):
                _chunk(h, sse(chunk(text[i : i + 3])))
                h.wfile.flush()
                time.sleep(self.delay)
            _chunk(h, sse(chunk("", finish="stop")))
            _chunk(h, b"data: [DONE]\n\n")
            _chunk(h, b"")
        except OSError:
            pass  # the reader went away (the user pressed stop)


@pytest.fixture(scope="module")
def guard() -> Iterator[OutboundGuard]:
    with OutboundGuard() as g:
        yield g


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[SlowFake]:
    fake = SlowFake().start()
    assert fake._server is not None
    # A reader that went away (stop) is expected here, not worth a traceback on stderr.
    fake._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def ui(
    corpus_config: Config,
    tmp_path_factory: pytest.TempPathFactory,
    guard: OutboundGuard,
    fake_llm: SlowFake,
) -> Iterator[tuple[str, Config]]:
    openai = corpus_config.llm.openai.model_copy(
        update={"base_url": fake_llm.base_url, "model": "fake-model", "retries": 0, "timeout": 10}
    )
    cfg = ui_config(corpus_config, tmp_path_factory.mktemp("ui-data"), openai=openai)
    with running_ui(cfg) as url:
        yield url, cfg


@pytest.fixture
def client(ui: tuple[str, Config]) -> Any:
    """A new browser tab: its own session, its own conversation."""
    return new_client(ui[0])


def ask(
    client: Any,
    question: str,
    docs: list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    backend: str = "extractive",
    script: str = "原文",
) -> tuple[list[dict[str, Any]], str]:
    """(chat messages, passages panel HTML) after the answer is complete."""
    chat, panel, _ = client.predict(
        question, docs or [], start, end, backend, script, api_name="/ask"
    )
    return chat, panel


def last_answer(chat: list[dict[str, Any]]) -> str:
    assert chat[-1]["role"] == "assistant"
    return message_text(chat[-1])


def test_an_answer_links_each_citation_to_its_passage(client: Any) -> None:
    chat, panel = ask(client, Q_INVEST)
    answer = last_answer(chat)
    assert "332亿元" in answer
    links = re.findall(r'<a class="cite" href="#cite-0-(\d+)">\[(\d+)\]</a>', answer)
    assert links and all(a == b for a, b in links)
    for n in {int(n) for n, _ in links}:
        assert f'id="cite-0-{n}"' in panel  # every link has its passage in the panel
    card = panel[panel.index('id="cite-0-1"') :]
    assert "<mark>" in card and "332亿元" in card[card.index("<mark>") : card.index("</mark>")]
    assert "请回答2019" in card and "2020-01-03" in card and "数读" in card  # title, date, section


def test_the_answer_streams_into_the_chat(client: Any) -> None:
    job = client.submit(Q_INVEST, [], None, None, "extractive", "原文", api_name="/ask")
    job.result(timeout=120)
    chats = [out[0] for out in job.outputs()]
    assert len(chats) >= 2
    assert message_text(chats[0][-1]) == Q_INVEST or "正在检索" in message_text(chats[0][-1])
    assert "332亿元" in last_answer(chats[-1])


def test_generator_tokens_stream_then_the_checked_answer(client: Any, fake_llm: SlowFake) -> None:
    fake_llm.script, fake_llm.delay = [LONG_ANSWER], 0.02
    job = client.submit(Q_FUND, [], None, None, "openai", "原文", api_name="/ask")
    job.result(timeout=120)
    drafts = [
        message_text(out[0][-1])
        for out in job.outputs()
        if out[0][-1]["role"] == "assistant" and 'class="cursor"' in message_text(out[0][-1])
    ]
    assert len(drafts) >= 2 and len(drafts[-1]) > len(drafts[0])  # grew piece by piece
    final = last_answer(job.outputs()[-1][0])
    assert "6.6亿元" in final and 'href="#cite-0-1"' in final and "cursor" not in final


def test_a_follow_up_shows_its_standalone_rewrite(client: Any) -> None:
    chat, _ = ask(client, Q_GDP)
    assert "2375.3" in last_answer(chat)
    chat, panel = ask(client, "那2015年呢?")
    assert len(chat) == 4
    shown = message_text(chat[2])
    assert "理解为：" in shown and "2015年" in shown[shown.index("理解为") :]
    assert "1708.4" in last_answer(chat) and 'href="#cite-1-1"' in last_answer(chat)
    assert 'id="cite-1-1"' in panel  # the panel follows the latest answer


def test_a_refusal_looks_like_one_and_offers_the_closest_passages(client: Any) -> None:
    chat, panel = ask(client, Q_REFUSED)
    answer = last_answer(chat)
    # It says what the sources do hold (the 2025 target), and links to where.
    assert 'class="refusal"' in answer and "资料中没有2035年的数据" in answer
    assert '<a class="cite" href="#cite-' in answer and "资料中有的相关内容" in answer
    assert "资料中有的相关段落" in panel and panel.count('class="passage"') >= 1


def test_a_backend_fault_shows_a_message_and_the_extractive_answer(
    client: Any, fake_llm: SlowFake, pipeline: Any
) -> None:
    fake_llm.script, fake_llm.delay = ["500"], 0.0
    chat, _ = ask(client, Q_FUND, backend="openai")
    answer = last_answer(chat)
    assert 'class="notice"' in answer and "HTTP 500" in answer and "以下为原文摘录" in answer
    assert R.linked_answer(pipeline_ask(pipeline, Q_FUND).answer, 0, "原文") in answer


def test_stop_ends_a_long_generation(client: Any, fake_llm: SlowFake) -> None:
    fake_llm.script, fake_llm.delay = [LONG_ANSWER * 3], 0.3
    job = client.submit(Q_FUND, [], None, None, "openai", "原文", api_name="/ask")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        outs = job.outputs()
        if outs and 'class="cursor"' in message_text(outs[-1][0][-1]):
            break
        time.sleep(0.2)
    else:
        pytest.fail("no token streamed")
    t0 = time.monotonic()
    chat = client.predict(api_name="/stop")  # the chat (the session state is not sent)
    stopped = last_answer(chat)
    assert "已停止生成" in stopped and "罗湖区" in stopped and "cursor" not in stopped
    while not job.done() and time.monotonic() - t0 < 10:
        time.sleep(0.1)
    assert job.done(), "the generation kept running after stop"
    fake_llm.delay = 0.0
    chat, _ = ask(client, Q_INVEST)  # the session (and the backend) answer again
    assert "332亿元" in last_answer(chat) and "已停止生成" in message_text(chat[1])


def test_feedback_is_stored_and_exported(
    client: Any, ui: tuple[str, Config], tmp_path: Path
) -> None:
    _, cfg = ui
    ask(client, Q_INVEST)
    status, comment = client.predict("down", "引用的段落不是最相关的", api_name="/feedback")
    assert "已保存" in status and comment == ""
    store = FeedbackStore(feedback_path(cfg))
    mine = [r for r in store.all() if r.question == Q_INVEST and r.comment]
    assert len(mine) == 1
    record = mine[0]
    assert record.rating == "down" and "332亿元" in record.answer and record.backend == "extractive"
    assert record.citations and {"doc_id", "title", "date", "section"} <= set(record.citations[0])
    assert re.match(r"\d{4}-\d{2}-\d{2}T", record.created_at)
    # A second thumb on the same answer updates its row.
    client.predict("up", "", api_name="/feedback")
    again = [r for r in FeedbackStore(feedback_path(cfg)).all() if r.id == record.id]
    assert again[0].rating == "up" and again[0].comment == "引用的段落不是最相关的"

    toml = tmp_path / "assistant.toml"
    toml.write_text(f'[paths]\ndata_dir = "{cfg.paths.data_dir}"\n', encoding="utf-8")
    for fmt in ("jsonl", "csv"):
        out = tmp_path / f"feedback.{fmt}"
        args = ["feedback", "export", "--format", fmt, "--out", str(out)]
        run = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "--config", str(toml), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        if fmt == "jsonl":
            rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        else:
            with out.open(encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.DictReader(fh))
        exported = [r for r in rows if int(r["id"]) == record.id]
        assert exported and exported[0]["question"] == Q_INVEST
        cites = exported[0]["citations"]
        cites = json.loads(cites) if isinstance(cites, str) else cites
        assert cites[0]["doc_id"] == record.citations[0]["doc_id"]


def test_three_answers_each_commented_are_three_rows_and_export_safely(
    client: Any, ui: tuple[str, Config], tmp_path: Path
) -> None:
    _, cfg = ui
    notes = {Q_INVEST: "数字对", Q_GDP: "=cmd|' /C calc'!A0", Q_FUND: "引用不对"}
    for question, note in notes.items():
        ask(client, question)
        status, _ = client.predict(None, note, api_name="/feedback")
        assert "已保存" in status
    rows = [r for r in FeedbackStore(feedback_path(cfg)).all() if r.comment in notes.values()]
    assert sorted((r.question, r.comment) for r in rows) == sorted(notes.items())
    toml = tmp_path / "assistant.toml"
    toml.write_text(f'[paths]\ndata_dir = "{cfg.paths.data_dir}"\n', encoding="utf-8")
    out = tmp_path / "feedback.csv"
    export = ["feedback", "export", "--format", "csv", "--out", str(out)]
    run = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--config", str(toml), *export],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    with out.open(encoding="utf-8-sig", newline="") as fh:
        cells = {r["question"]: r["comment"] for r in csv.DictReader(fh)}
    assert cells[Q_GDP] == "'=cmd|' /C calc'!A0"  # shown as text, never run


def test_a_passage_opens_the_whole_document_at_that_place(client: Any, ui: Any) -> None:
    ask(client, Q_INVEST)
    html = client.predict(0, 1, "原文", api_name="/open")
    focus = html[html.index('id="doc-focus"') :]
    assert "<mark>" in focus[: focus.index("</span>")] and "332亿元" in focus
    assert "请回答2019" in html[: html.index('id="doc-focus"')]  # the text before it too
    assert len(re.sub(r"<[^>]+>", "", html)) > 5000  # the whole document, not the chunk


def test_the_script_toggle_shows_traditional(client: Any) -> None:
    chat, panel = ask(client, Q_INVEST, script="繁體")
    assert "固定資產投資332億元" in last_answer(chat)
    assert "數讀" in panel and "固定资产" not in panel


def test_filters_narrow_what_is_searched(client: Any) -> None:
    chat, _ = ask(client, Q_INVEST, start="2024-01-01")
    assert 'class="refusal"' in last_answer(chat) and "当前筛选" in last_answer(chat)
    chat, _ = ask(client, Q_INVEST, docs=["004_322b88558eed9829.txt"], start="2020", end="2020")
    assert "332亿元" in last_answer(chat) and "政府工作報告" not in last_answer(chat)
    chat, _ = ask(client, Q_INVEST, start="昨天")
    assert "无法识别的日期" in last_answer(chat)


def test_sources_tab_lists_the_ingested_documents(client: Any) -> None:
    banner, docs, _, table = client.predict(api_name="/status")
    assert "已载入 5 份文件" in banner
    assert len(docs["choices"]) == 5
    assert table.count("<tr>") == 6  # header and five documents
    for text in (
        "政府工作報告",
        "罗湖区人民政府",
        "删除拼音注音",
        "修复乱码",
        "入库时间",
        "段落数",
    ):
        assert text in table


def test_ten_concurrent_clients_each_get_their_own_answer(
    ui: tuple[str, Config], pipeline: Any
) -> None:
    gold = {
        json.loads(line)["id"]: json.loads(line)
        for line in (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    }
    # Ten questions, each answered right when asked alone, no two with the same answer
    # (several figures share one sentence of the 2021 report): what each client must get.
    items, expected, alone = [], {}, []
    for i in range(1, 17):
        item = gold[f"g{i:03d}"]
        t0 = time.perf_counter()
        response = pipeline_ask(pipeline, item["question"])
        seconds = time.perf_counter() - t0
        assert all(re.search(a, for_match(response.answer)) for a in item["answers"]), item
        rendered = R.answer_message(response, 0, "原文")
        if rendered not in expected.values():
            items.append(item)
            expected[item["question"]] = rendered
            alone.append(seconds)
        if len(items) == 10:
            break
    assert len(items) == 10

    clients = [new_client(ui[0]) for _ in items]
    alone_client = new_client(ui[0])
    for c in [*clients, alone_client]:  # a client's first call sets it up (about 1 s here):
        c.predict(api_name="/status")  # the page has done this too by the time one asks
    t0 = time.perf_counter()  # the same path with nobody else asking, for comparison
    ask(alone_client, items[0]["question"])
    single = time.perf_counter() - t0
    barrier = threading.Barrier(len(items))
    results: dict[str, tuple[float, str]] = {}
    errors: list[str] = []

    def one(c: Any, question: str) -> None:
        barrier.wait()
        t0 = time.perf_counter()
        try:
            chat, _ = ask(c, question)
            results[question] = (time.perf_counter() - t0, last_answer(chat))
        except Exception as err:  # collected: the report counts them
            errors.append(f"{question}: {err!r}")

    pairs = zip(clients, items, strict=True)
    threads = [threading.Thread(target=one, args=(c, i["question"])) for c, i in pairs]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    wall = time.perf_counter() - wall
    latencies = sorted(s for s, _ in results.values())
    wrong = [q for q, (_, answer) in results.items() if answer != expected[q]]
    p95 = latencies[max(0, math.ceil(0.95 * len(latencies)) - 1)] if latencies else float("nan")
    report = {
        "clients": len(items),
        "errors": errors,
        "wrong_answers": wrong,
        "latency_s": {q[:24]: round(s, 2) for q, (s, _) in results.items()},
        "p50_s": round(latencies[len(latencies) // 2], 2) if latencies else None,
        "p95_s": round(p95, 2),
        "wall_s": round(wall, 2),
        "one_at_a_time_in_process_p50_s": round(sorted(alone)[len(alone) // 2], 2),
        "one_client_alone_through_the_ui_s": round(single, 2),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "ui_concurrency.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    print(
        f"\n10 concurrent clients: errors={len(errors)} wrong={len(wrong)} "
        f"p50={report['p50_s']}s p95={report['p95_s']}s wall={report['wall_s']}s"
    )
    assert not errors and not wrong and len(results) == len(items)


def test_an_empty_index_says_how_to_ingest(
    corpus_config: Config, tmp_path: Path, guard: OutboundGuard
) -> None:
    cfg = ui_config(corpus_config, tmp_path / "data")
    cfg = cfg.model_copy(
        update={"paths": cfg.paths.model_copy(update={"index_dir": tmp_path / "empty"})}
    )
    with running_ui(cfg) as url:
        c = new_client(url)
        banner = c.predict(api_name="/status")[0]
        assert "banner-error" in banner and "assistant ingest" in banner
        chat, _ = ask(c, Q_INVEST)
        assert "assistant ingest" in last_answer(chat) and "索引为空" in last_answer(chat)


def test_a_stale_index_says_how_to_ingest(
    corpus_config: Config, tmp_path: Path, guard: OutboundGuard
) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(corpus_config.paths.sources, sources)
    (sources / "new_report.txt").write_text(
        "罗湖区2025年政府工作报告\n新的内容。", encoding="utf-8"
    )
    cfg = ui_config(corpus_config, tmp_path / "data")
    cfg = cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"sources": sources})})
    with running_ui(cfg) as url:
        banner = new_client(url).predict(api_name="/status")[0]
    assert "banner-warn" in banner and "新增 1 份" in banner and "assistant ingest" in banner


def test_login_is_required_when_configured(
    corpus_config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guard: OutboundGuard
) -> None:
    cfg = ui_config(corpus_config, tmp_path / "data")
    ui = cfg.ui.model_copy(
        update={"user_env": "LUOHU_TEST_UI_USER", "password_env": "LUOHU_TEST_UI_PW"}
    )
    cfg = cfg.model_copy(update={"ui": ui})
    monkeypatch.setenv("LUOHU_TEST_UI_USER", "staff")
    monkeypatch.setenv("LUOHU_TEST_UI_PW", "s3cret")
    with running_ui(cfg) as url:
        assert httpx.get(url + "config", timeout=30).status_code == 401
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a plain error
            new_client(url, auth=("staff", "wrong"))
        c = new_client(url, auth=("staff", "s3cret"))
        assert "已载入" in c.predict(api_name="/status")[0]


def test_nothing_left_the_machine(guard: OutboundGuard, ui: Any) -> None:
    """Runs last in this module: every server above ran under the guard."""
    assert guard.outbound == [], "\n\n".join(guard.stacks)
