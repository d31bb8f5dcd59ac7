"""The page in a real browser (Debian's chromium, driven by Playwright): ask, watch the answer
stream in, click a citation, see its passage, open the document at that place. Saves
screenshots under tests/artifacts/ and the time from question to first visible token.

Playwright cannot download browsers here, so it drives /usr/bin/chromium, which `make test`
installs with apt-get when missing; without it these tests skip and say why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from assistant.config import Config
from assistant.ui.feedback import FeedbackStore, feedback_path
from tests.conftest import ROOT
from tests.ui_server import OutboundGuard, running_ui, ui_config

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
LOCAL_MODEL = ROOT / "data" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

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


@pytest.fixture(scope="module")
def served(
    corpus_config: Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Config]]:
    cfg = ui_config(corpus_config, tmp_path_factory.mktemp("ui-browser"))
    with OutboundGuard() as guard, running_ui(cfg) as address:
        yield address, cfg
    assert guard.outbound == [], guard.outbound


@pytest.fixture(scope="module")
def url(served: tuple[str, Config]) -> str:
    return served[0]


def open_page(browser: Any, url: str) -> tuple[Any, list[str]]:
    """A fresh page on `url`, and the list every request it makes is appended to."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=60_000)
    page.wait_for_selector("#status-banner .banner-ok", timeout=60_000)
    return page, requests


def ask(page: Any, question: str, timeout_ms: int = 300_000) -> float:
    """Ask `question`; returns ms to the first visible token; waits for the whole answer."""
    page.fill("#question textarea", question)
    first_token_ms = float(page.evaluate(ASK_AND_TIME))
    page.wait_for_function(
        """() => { const b = document.querySelectorAll('#chat [data-testid="bot"]');
                   const last = b[b.length - 1];
                   return last && (last.querySelector('a.cite') || last.querySelector('.refusal'))
                          && !last.querySelector('.cursor'); }""",
        timeout=timeout_ms,
    )
    return first_token_ms


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


def save_timing(name: str, backend: str, ms: float) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "ui_timing.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[name] = {"backend": backend, "first_visible_token_ms": round(ms)}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nfirst visible token ({backend}): {ms:.0f} ms")


def test_ask_click_a_citation_see_the_passage(browser: Any, url: str) -> None:
    page, requests = open_page(browser, url)
    first_token_ms = ask(page, QUESTION)
    save_timing("extractive", "extractive", first_token_ms)
    answer = page.locator('#chat [data-testid="bot"]').last
    assert "332亿元" in answer.inner_text()

    answer.locator("a.cite").first.click()
    card = page.locator("#cite-0-1")
    card.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('#cite-0-1').classList.contains('flash')")
    assert in_view(page, "#cite-0-1", "#passages-panel")
    marked = card.locator("mark").first.inner_text()
    assert "332亿元" in marked  # the supporting sentence is the highlighted one
    assert "请回答2019" in card.inner_text() and "2020-01-03" in card.inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui.png"), full_page=True)

    card.locator("a.open-doc").click()
    page.locator("#doc-focus").wait_for(state="visible")
    page.wait_for_function(
        """() => { const el = document.querySelector('#doc-focus');
                   const box = document.querySelector('#document-view');
                   const r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
                   return r.top >= b.top - 1 && r.top < b.bottom; }"""
    )
    assert "332亿元" in page.locator("#doc-focus mark").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "ui-document.png"), full_page=True)

    host = urlparse(url).netloc
    outside = [r for r in requests if urlparse(r).netloc != host and not r.startswith("data:")]
    assert outside == [], outside  # the page loads nothing from anywhere else
    page.close()


def test_a_refusal_and_an_older_citation(browser: Any, url: str) -> None:
    page, _ = open_page(browser, url)
    ask(page, QUESTION)
    ask(page, "罗湖区2035年地区生产总值目标是多少？")
    refusal = page.locator('#chat [data-testid="bot"]').last
    assert "资料中没有2035年的数据" in refusal.locator(".refusal").inner_text()
    assert page.locator("#passages-panel").inner_text().startswith("未找到所问的数据")
    # [1] of the first answer: the panel switches back to that answer's passages.
    page.locator('#chat a[href="#cite-0-1"]').first.click()
    page.wait_for_function("() => document.querySelector('#cite-0-1')?.classList.contains('flash')")
    assert in_view(page, "#cite-0-1", "#passages-panel")
    page.close()


def test_an_example_question_and_a_thumb(browser: Any, served: tuple[str, Config]) -> None:
    url, cfg = served
    page, _ = open_page(browser, url)
    page.locator("#chat button.example").first.click()  # shown while the chat is empty
    page.wait_for_selector('#chat [data-testid="bot"] a.cite', timeout=300_000)
    assert "332亿元" in page.locator('#chat [data-testid="bot"]').last.inner_text()
    page.locator('#chat [data-testid="bot"]').last.hover()  # its buttons show on hover
    # The page is shown in Chinese (locale zh-CN): gradio labels the thumb "赞".
    page.locator('#chat button[aria-label="赞"], #chat button[aria-label="Like"]').last.click()
    page.wait_for_function(
        "() => document.querySelector('#feedback-status').innerText.includes('已保存')"
    )
    records = FeedbackStore(feedback_path(cfg)).all()
    assert any(r.rating == "up" and "332亿元" in r.answer for r in records)
    page.close()


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
        save_timing("local", "local", first_token_ms)
        text = page.locator('#chat [data-testid="bot"]').last.inner_text()
        assert "6.6亿元" in text or "资料中未找到" in text
        page.screenshot(path=str(ARTIFACTS / "ui-local.png"), full_page=True)
        page.close()
