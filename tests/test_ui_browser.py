"""The page in a real browser (Debian's chromium, driven by Playwright): ask, watch the answer
stream in, hover and click a citation, open the document at that place; upload a report and
see it cited, remove it; conversations that survive a reload and a restart; the script
toggle; a backend that cannot be chosen; a date refused; the queue; a phone. Saves
screenshots under tests/artifacts/ with the time from question to first visible token and
from upload to the new report cited.

Playwright cannot download browsers here, so it drives /usr/bin/chromium, which `make test`
installs with apt-get when missing; without it these tests skip and say why.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from assistant.config import Config
from assistant.textnorm import to_traditional
from assistant.ui.feedback import FeedbackStore, feedback_path
from tests.conftest import ROOT
from tests.fake_openai import free_port
from tests.ui_server import LONG_ANSWER, OutboundGuard, SlowFake, running_ui, ui_config

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = ROOT / "tests" / "artifacts"
QUESTION = "2019年罗湖完成固定资产投资多少亿元？"
Q_CLOSING = "罗湖区八届人大四次会议应到代表多少名？"  # only the uploaded report says
CLOSING = ROOT / "eval" / "heldout" / "sources" / "106_d8b1f3a67e04c925.txt"
LOCAL_MODEL = ROOT / "data" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DESK = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
BOT = '#chat [data-testid="bot"]'

# Clicks send and resolves with the milliseconds until the new answer bubble shows text of
# its own (not the "searching" placeholder): the first token the user can read.
ASK_AND_TIME = """
() => new Promise((resolve, reject) => {
  const chat = document.querySelector('#chat');
  const before = chat.querySelectorAll('[data-testid="bot"]').length;
  const visible = () => {
    const bots = chat.querySelectorAll('[data-testid="bot"]');
    if (bots.length <= before) return false;
    const last = bots[bots.length - 1];
    return !last.querySelector('.pending') && last.innerText.trim().length > 0;
  };
  const t0 = performance.now();
  const observer = new MutationObserver(() => {
    if (visible()) { observer.disconnect(); resolve(performance.now() - t0); }
  });
  observer.observe(chat, {childList: true, subtree: true, characterData: true});
  setTimeout(() => { observer.disconnect(); reject(new Error('no token in 300 s')); }, 300000);
  document.querySelector('#send').click();
})
"""
RESTORED = """() => document.querySelectorAll('#chat [data-testid="bot"] a.cite').length > 0"""
ANSWERED = """() => { const b = document.querySelectorAll('#chat [data-testid="bot"]');
  const last = b[b.length - 1];
  return last && (last.querySelector('a.cite') || last.querySelector('.refusal')
                  || last.querySelector('.notice.error')) && !last.querySelector('.cursor'); }"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed at /usr/bin/chromium "
            "(`make test` installs it with apt-get when it can)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: run make install")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def own_corpus(corpus_config: Config, tmp: Path) -> Config:
    """`corpus_config` over a copy of its sources and index, which a test may change."""
    shutil.copytree(corpus_config.paths.sources, tmp / "sources")
    shutil.copytree(corpus_config.paths.index_dir, tmp / "index_store")
    paths = corpus_config.paths.model_copy(
        update={"sources": tmp / "sources", "index_dir": tmp / "index_store"}
    )
    return corpus_config.model_copy(update={"paths": paths})


@pytest.fixture(scope="module")
def served(
    corpus_config: Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Config]]:
    tmp = tmp_path_factory.mktemp("ui-browser")
    dead = corpus_config.llm.openai.model_copy(  # no server there: the page must say so
        update={"base_url": f"http://127.0.0.1:{free_port()}/v1", "timeout": 2, "retries": 0}
    )
    cfg = ui_config(own_corpus(corpus_config, tmp), tmp / "data", openai=dead)
    with OutboundGuard() as guard, running_ui(cfg) as address:
        yield address, cfg
    assert guard.outbound == [], guard.outbound


@pytest.fixture(scope="module")
def url(served: tuple[str, Config]) -> str:
    return served[0]


def open_page(
    browser: Any, url: str, viewport: dict[str, int] = DESK, **context: Any
) -> tuple[Any, list[str]]:
    """A fresh browser (its own storage) on `url`, and the list its requests go to."""
    ctx = browser.new_context(
        viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", **context
    )
    page = ctx.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    load(page, url)
    return page, requests


def load(page: Any, url: str | None = None) -> None:
    if url:
        page.goto(url)
    else:
        page.reload()
    page.wait_for_selector("#question textarea", timeout=60_000)
    page.wait_for_selector("#status-banner .banner-ok", timeout=60_000)


def ask(page: Any, question: str, timeout_ms: int = 300_000) -> float:
    """Ask `question`; returns ms to the first visible token; waits for the whole answer."""
    page.fill("#question textarea", question)
    first_token_ms = float(page.evaluate(ASK_AND_TIME))
    page.wait_for_function(ANSWERED, timeout=timeout_ms)
    return first_token_ms


def open_filters(page: Any) -> None:
    """Unfold the filters (folded, their label saying what is set)."""
    page.click("#filters > .label-wrap")
    page.locator("#backend").wait_for(state="visible")


def in_view(page: Any, selector: str, box_selector: str) -> bool:
    """Whether `selector` lies (at least partly) inside `box_selector`'s visible area."""
    return bool(
        page.evaluate(
            """([sel, boxSel]) => {
                 const el = document.querySelector(sel), box = document.querySelector(boxSel);
                 if (!el || !box || el.offsetParent === null) return false;
                 const r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
                 return r.bottom > Math.max(b.top, 0) && r.top < Math.min(b.bottom, innerHeight);
               }""",
            [selector, box_selector],
        )
    )


def on_screen(page: Any, selector: str) -> bool:
    return in_view(page, selector, "body")


def shot(page: Any, name: str, full: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full)


def save_timing(name: str, value: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "ui_timing.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[name] = value
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\n{name}: {value}")


def visible_text(page: Any, selector: str) -> str:
    """What a reader sees in `selector`: its text, without the folded original wording."""
    return str(
        page.evaluate(
            """(sel) => { const el = document.querySelector(sel).cloneNode(true);
                 el.querySelectorAll('details.original, .cite-cards').forEach(d => d.remove());
                 return el.innerText; }""",
            selector,
        )
    )


# -- asking and citations -------------------------------------------------------------------


def test_ask_click_a_citation_see_the_passage(browser: Any, url: str) -> None:
    page, requests = open_page(browser, url)
    first_token_ms = ask(page, QUESTION)
    save_timing(
        "extractive", {"backend": "extractive", "first_visible_token_ms": round(first_token_ms)}
    )
    answer = page.locator(BOT).last
    assert "332亿元" in answer.inner_text()

    answer.locator("a.cite").first.click()
    card = page.locator("#cite-0-1")
    card.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('#cite-0-1').classList.contains('flash')")
    assert in_view(page, "#cite-0-1", "#passages-panel")
    marked = card.locator("mark").first.inner_text()
    assert "332亿元" in marked  # the sentence the answer drew on is the highlighted one
    assert "请回答2019" in card.inner_text() and "2020-01-03" in card.inner_text()
    shot(page, "ui.png", full=True)

    card.locator("a.open-doc").click()
    page.locator("#doc-focus").wait_for(state="visible")
    page.wait_for_function(
        """() => { const el = document.querySelector('#doc-focus');
                   const head = document.querySelector('#document-view .doc-head');
                   const box = document.querySelector('#document-view');
                   const r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
                   return r.top >= head.getBoundingClientRect().bottom - 1 && r.top < b.bottom; }"""
    )
    assert "332亿元" in page.locator("#doc-focus mark").first.inner_text()
    # Reading on: the title and the place stay at the top, and one click goes back.
    page.evaluate(
        """() => { const box = document.querySelector('#document-view');
                   const at = document.querySelector('#doc-focus').offsetTop;
                   box.scrollTop = at > box.scrollHeight / 2 ? 0 : box.scrollHeight; }"""
    )
    page.wait_for_timeout(200)
    assert in_view(page, "#document-view .doc-title", "#document-view")
    assert "请回答2019" in page.locator("#document-view .doc-head").inner_text()
    assert not in_view(page, "#doc-focus", "#document-view")
    page.locator("#document-view a.doc-jump").click()
    page.wait_for_function(
        """() => { const el = document.querySelector('#doc-focus').getBoundingClientRect();
                   const b = document.querySelector('#document-view').getBoundingClientRect();
                   return el.top >= b.top && el.top < b.bottom; }"""
    )
    assert page.locator("#document-view .doc-passage").count() == 1
    shot(page, "ui-document.png", full=True)

    host = urlparse(url).netloc
    outside = [r for r in requests if urlparse(r).netloc != host and not r.startswith("data:")]
    assert outside == [], outside  # the page loads nothing from anywhere else
    page.context.close()


def test_hovering_a_citation_shows_its_card(browser: Any, url: str) -> None:
    page, _ = open_page(browser, url)
    ask(page, QUESTION)
    page.locator(f"{BOT} a.cite").first.hover()
    pop = page.locator("#cite-pop")
    pop.wait_for(state="visible")
    text = pop.inner_text()
    for part in ("请回答2019", "（2020年）", "2020-01-03", "数读", "332亿元", "查看段落"):
        assert part in text, (part, text)
    assert "332亿元" in pop.locator("q").first.inner_text()  # the sentence used
    shot(page, "ui-hover-card.png")
    page.mouse.move(5, 5)
    pop.wait_for(state="hidden")
    page.context.close()


def test_a_refusal_and_an_older_citation(browser: Any, url: str) -> None:
    page, _ = open_page(browser, url)
    ask(page, QUESTION)
    ask(page, "罗湖区2035年地区生产总值目标是多少？")
    refusal = page.locator(BOT).last
    assert "资料中没有2035年的数据" in refusal.locator(".refusal").inner_text()
    assert page.locator("#passages-panel").inner_text().startswith("未找到所问的数据")
    # [1] of the first answer: the panel switches back to that answer's passages.
    page.locator('#chat a[href="#cite-0-1"]').first.click()
    page.wait_for_function("() => document.querySelector('#cite-0-1')?.classList.contains('flash')")
    assert in_view(page, "#cite-0-1", "#passages-panel")
    page.context.close()


def test_the_script_toggle_applies_to_the_whole_answer(browser: Any, url: str) -> None:
    page, _ = open_page(browser, url)
    ask(page, QUESTION)
    open_filters(page)
    page.locator("#script label", has_text="繁體").click()
    page.wait_for_function(
        "() => document.querySelector('#chat [data-testid=\"bot\"]').innerText.includes('億元')"
    )
    page.wait_for_function(
        "() => document.querySelector('#passages-panel').innerText.includes('數讀')"
    )
    for selector in (BOT, "#passages-panel"):
        shown = visible_text(page, selector)
        assert to_traditional(shown) == shown, shown[:300]
    assert "依據" in page.locator(BOT).last.inner_text()
    shot(page, "ui-traditional.png")
    page.context.close()


# -- feedback, history ----------------------------------------------------------------------


def test_an_example_question_and_a_thumb(browser: Any, served: tuple[str, Config]) -> None:
    url, cfg = served
    page, _ = open_page(browser, url)
    page.locator("#chat button.example").first.click()  # shown while the chat is empty
    page.wait_for_selector(f"{BOT} a.cite", timeout=300_000)
    assert "332亿元" in page.locator(BOT).last.inner_text()
    page.locator(BOT).last.hover()  # its buttons show on hover
    # The page is shown in Chinese (locale zh-CN): gradio labels the thumb "赞".
    page.locator('#chat button[aria-label="赞"], #chat button[aria-label="Like"]').last.click()
    # Said where it is seen: a toast at the top, and the comment box under the question.
    page.get_by_text("已保存对第 1 个回答的评价👍").first.wait_for(state="visible")
    page.locator("#feedback-box").first.wait_for(state="visible")
    assert on_screen(page, "#feedback-head") and "第 1 个回答" in page.inner_text("#feedback-head")
    page.fill("#comment textarea", "很准确")
    page.click("#send-comment")
    page.wait_for_function(
        "() => document.querySelector('#feedback-status').innerText.includes('和意见')"
    )
    records = [r for r in FeedbackStore(feedback_path(cfg)).all() if "332亿元" in r.answer]
    assert [(r.rating, r.comment) for r in records if r.comment == "很准确"] == [("up", "很准确")]
    load(page)  # the thumb is kept with the answer
    page.locator(BOT).last.hover()
    page.locator('#chat button[aria-label="Liked"]').wait_for()
    page.context.close()


def test_history_survives_a_reload_and_a_server_restart(
    browser: Any, corpus_config: Config, tmp_path: Path
) -> None:
    cfg = ui_config(corpus_config, tmp_path / "data")
    port = free_port()  # the same one after the restart: a browser's storage is per address
    with OutboundGuard() as guard:
        with running_ui(cfg, port) as address:
            page, _ = open_page(browser, address)
            ask(page, QUESTION)
            ask(page, "羅湖持牌金融機構突破了多少家？")
            page.locator("#history-list label").first.wait_for()
            load(page)
            page.wait_for_function(RESTORED)
            assert page.locator(BOT).count() == 2 and "85家" in page.locator(BOT).last.inner_text()
            assert "332亿元" in page.locator(BOT).first.inner_text()
            assert page.locator("#history-list label").count() == 1
            title = page.locator("#history-list label").first.inner_text()
            assert "2019年罗湖完成固定资产投资" in title
            shot(page, "ui-history.png")
        with running_ui(cfg, port):  # a new server, the same data folder
            load(page)
            page.wait_for_function(RESTORED)
            assert page.locator(BOT).count() == 2
            page.click("#new-chat")
            page.wait_for_function("() => !document.querySelector('#chat [data-testid=\"bot\"]')")
            ask(page, "2021年政府工作报告中，罗湖区2020年地区生产总值是多少？")
            page.wait_for_function(
                "() => document.querySelectorAll('#history-list label').length === 2"
            )
            page.locator("#history-list").get_by_text("2019年罗湖完成固定资产投资").click()
            page.wait_for_function(
                "() => document.querySelector('#chat').innerText.includes('332亿元')"
            )
            page.context.close()
    assert guard.outbound == []


# -- honest controls ------------------------------------------------------------------------


def test_an_unavailable_backend_is_shown_and_cannot_be_chosen(browser: Any, url: str) -> None:
    page, _ = open_page(browser, url)
    open_filters(page)
    server = page.locator("#backend label", has_text="模型服务器")
    server.wait_for()
    assert "不可用：连接不上模型服务器" in server.inner_text()
    page.wait_for_function(
        """() => [...document.querySelectorAll('#backend label')]
                   .filter(l => l.innerText.includes('不可用'))
                   .every(l => l.querySelector('input').disabled)"""
    )
    server.click(force=True)
    page.wait_for_timeout(300)
    checked = page.locator("#backend input:checked").locator("xpath=..").inner_text()
    assert "原文摘录" in checked  # the choice did not move
    local = page.locator("#backend label", has_text="本机模型").inner_text()
    assert "不可用：本机模型文件" in local and "openai" not in page.inner_text("#backend")
    page.context.close()


def test_an_invalid_date_is_refused(browser: Any, url: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page, _ = open_page(browser, url)
    open_filters(page)
    field = page.locator("#date-from textarea, #date-from input").first
    field.fill("2019/13/01")
    field.press("Tab")  # leaving the field checks it, as Enter does
    banner = page.locator("#date-error .banner-error")
    try:
        banner.wait_for(timeout=10_000)
    except PlaywrightTimeout:  # a loaded CI machine once lost the blur: Enter checks it too
        field.press("Enter")
        banner.wait_for()
    assert "月份应在 1 到 12 之间" in page.inner_text("#date-error")
    assert "2019/13/01 至 最近" in page.inner_text("#filters > .label-wrap")  # said folded too
    ask(page, QUESTION)
    answer = page.locator(BOT).last
    assert "月份应在 1 到 12 之间" in answer.inner_text()
    assert answer.locator("a.cite").count() == 0  # not answered without the filter
    width = page.evaluate(
        "() => { const i = document.querySelector('#date-from input, #date-from textarea');"
        " return [i.scrollWidth, i.clientWidth]; }"
    )
    assert width[0] <= width[1]  # the value fits its field
    page.context.close()


def test_under_load_the_page_shows_the_place_in_the_queue(
    browser: Any, corpus_config: Config, tmp_path: Path
) -> None:
    fake = SlowFake(delay=0.05).start()
    try:
        openai = corpus_config.llm.openai.model_copy(
            update={"base_url": fake.base_url, "model": "fake-model", "retries": 0}
        )
        cfg = ui_config(corpus_config, tmp_path / "data", backend="openai", openai=openai)
        cfg = cfg.model_copy(update={"ui": cfg.ui.model_copy(update={"concurrency": 1})})
        fake.script = [LONG_ANSWER, LONG_ANSWER]
        with running_ui(cfg) as address:
            first, _ = open_page(browser, address)
            second, _ = open_page(browser, address)
            first.fill("#question textarea", "罗湖区2019年投入产业转型升级扶持资金多少？")
            first.click("#send")
            first.wait_for_selector(f"{BOT} .cursor")
            second.fill("#question textarea", QUESTION)
            second.click("#send")
            second.get_by_text(re.compile("排队中：第 1 位")).first.wait_for(timeout=20_000)
            shot(second, "ui-queue.png")
            second.wait_for_function(ANSWERED, timeout=120_000)
            first.context.close()
            second.context.close()
    finally:
        fake.stop()


# -- the Sources tab ------------------------------------------------------------------------


def test_upload_a_report_see_it_cited_then_remove_it(
    browser: Any, served: tuple[str, Config]
) -> None:
    url, cfg = served
    page, _ = open_page(browser, url)
    page.get_by_role("tab", name="资料来源").click()
    page.locator("#sources-table table.sources").wait_for()  # the tab is mounted
    page.set_input_files("#upload input[type=file]", [str(CLOSING)])
    page.locator("#upload", has_text=CLOSING.name).wait_for()
    t0 = time.perf_counter()
    page.click("#ingest")
    page.get_by_text(re.compile("读取并清洗|计算向量|写入索引")).first.wait_for(timeout=30_000)
    shot(page, "ui-upload-progress.png")
    page.locator("#ingest-report ul.ingest-report").wait_for(timeout=120_000)
    report = page.inner_text("#ingest-report")
    assert "新增 1 份" in report and "罗湖区八届人大四次会议胜利闭幕（2024年）" in report
    assert "已载入 6 份文件" in page.inner_text("#status-banner")
    page.get_by_role("tab", name="问答").click()
    ask(page, Q_CLOSING)
    seconds = time.perf_counter() - t0
    answer = page.locator(BOT).last
    assert "219名" in answer.inner_text()
    answer.locator("a.cite").first.hover()
    page.locator("#cite-pop").wait_for(state="visible")
    assert "罗湖区八届人大四次会议胜利闭幕" in page.inner_text("#cite-pop")
    save_timing("upload_to_cited_browser_s", {"seconds": round(seconds, 2), "file": CLOSING.name})

    page.get_by_role("tab", name="资料来源").click()
    page.locator(f"button.remove-doc[data-doc='{CLOSING.name}']").click()
    page.locator("#confirm-box").first.wait_for(state="visible")
    assert "确定从索引中删除" in page.inner_text("#ingest-report")
    page.click("#confirm-yes")
    page.get_by_text("已从索引中删除").first.wait_for()
    assert CLOSING.name not in page.inner_text("#sources-table")
    assert not (cfg.paths.sources / CLOSING.name).exists()
    page.get_by_role("tab", name="问答").click()
    ask(page, Q_CLOSING)
    assert page.locator(BOT).last.locator(".refusal").count() == 1
    page.context.close()


# -- a phone --------------------------------------------------------------------------------


def test_a_phone(browser: Any, url: str) -> None:
    page, _ = open_page(browser, url, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    # The first screen is for asking: filters folded, history closed.
    page.wait_for_function("() => !document.querySelector('#history-bar.open')")
    assert not page.locator("#docs").is_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.fill("#question textarea", QUESTION)
    page.tap("#send")
    page.wait_for_function(ANSWERED)
    link = page.locator(f"{BOT} a.cite").first
    link.tap()  # a tap shows the card ...
    page.locator("#cite-pop").wait_for(state="visible")
    assert "332亿元" in page.inner_text("#cite-pop")
    shot(page, "ui-phone-card.png")
    page.locator("#cite-pop a.card-open").tap()  # ... and its link the passage, in a drawer
    page.wait_for_function("() => document.querySelector('#side-panel').classList.contains('open')")
    page.locator("#cite-0-1").wait_for(state="visible")
    page.wait_for_timeout(400)  # the drawer slides in
    assert on_screen(page, "#cite-0-1") and on_screen(page, ".drawer-back")
    box = page.locator("#passages-panel").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    shot(page, "ui-phone.png")
    page.locator(".drawer-back").tap()  # the way back: to the [1] that was followed
    page.wait_for_function(
        "() => !document.querySelector('#side-panel').classList.contains('open')"
    )
    page.wait_for_timeout(400)
    assert on_screen(page, f"{BOT} a.cite")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.context.close()


def test_first_token_with_the_local_model(
    browser: Any, corpus_config: Config, tmp_path: Path
) -> None:
    """The configured generator, streaming: how long a user waits for the first word."""
    if not LOCAL_MODEL.exists():
        pytest.skip(f"no local model at {LOCAL_MODEL} (make run assembles it)")
    local = corpus_config.llm.local.model_copy(update={"model_file": LOCAL_MODEL})
    cfg = ui_config(corpus_config, tmp_path / "data", backend="local", local=local)
    with running_ui(cfg) as address:
        page, _ = open_page(browser, address)
        first_token_ms = ask(page, "罗湖区2019年投入产业转型升级扶持资金多少？")
        save_timing("local", {"backend": "local", "first_visible_token_ms": round(first_token_ms)})
        text = page.locator(BOT).last.inner_text()
        assert "6.6亿元" in text or "资料中未找到" in text
        shot(page, "ui-local.png", full=True)
        page.context.close()
