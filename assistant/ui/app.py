"""The staff web UI: a gradio page over the same `ask_stream` path as the CLI.

The page is laid out here and its chat, history and controls wired to the session
(`session`) and the shared service (`service`); the Sources tab is `sources_tab`; HTML comes
from `render`, style and scripts from `static/`.
"""

from __future__ import annotations

import os
import sys

# Set before gradio is imported, which reads them at import time: gradio would otherwise
# send analytics and check PyPI for a newer version, and huggingface_hub would look things
# up on the Hub. The page must make no outbound connection at all.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
if "huggingface_hub" in sys.modules:  # imported before us: it has read its settings already
    sys.modules["huggingface_hub"].constants.HF_HUB_OFFLINE = True

import logging
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from assistant.answer.filters import date_problem
from assistant.config import Config
from assistant.corpus.upload import upload_limit_bytes
from assistant.ui import render as R
from assistant.ui import sources_tab
from assistant.ui.service import IndexUnavailable, Service
from assistant.ui.session import (
    ChatState,
    Settings,
    UITurn,
    answer_turn,
    chat_messages,
    document_choices,
    document_html,
    feedback_values,
    history_choices,
    new_state,
    open_conversation,
    panel,
    phrase_turn,
    record_feedback,
    save_turn,
    start_new,
)
from assistant.ui.throttle import LoginThrottle

log = logging.getLogger(__name__)

EXAMPLES = [
    "2019年罗湖完成固定资产投资多少亿元？",
    "2021年政府工作报告中，罗湖区2020年地区生产总值是多少？",
    "罗湖区2019年投入产业转型升级扶持资金多少？",
    "羅湖持牌金融機構突破了多少家？",
]
STATIC = Path(__file__).resolve().parent / "static"
STORAGE_KEY = "luohu-assistant"  # the browser's localStorage entry for this page
SECRET_FILE = "ui_secret"  # under data_dir: the key the browser's entry is sealed with


def _static(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


@dataclass
class Page:
    """The page's components, as the event wiring needs them."""

    browser: gr.BrowserState  # {"id": per-browser user id, "open": the open conversation}
    state: gr.State
    status: gr.HTML
    # the history sidebar
    new_chat: gr.Button
    search: gr.Textbox
    history: gr.Radio
    title: gr.Textbox
    rename: gr.Button
    delete: gr.Button
    delete_box: gr.Group
    delete_text: gr.HTML
    delete_yes: gr.Button
    delete_no: gr.Button
    # filters and controls
    filters: gr.Accordion
    docs: gr.Dropdown
    date_from: gr.Textbox
    date_to: gr.Textbox
    date_error: gr.HTML
    backend: gr.Radio
    script: gr.Radio
    # the chat
    chatbot: gr.Chatbot
    question: gr.Textbox
    send: gr.Button
    stop: gr.Button
    feedback_box: gr.Group
    feedback_head: gr.HTML
    comment: gr.Textbox
    send_comment: gr.Button
    feedback_status: gr.HTML
    side: gr.Tabs
    passages: gr.HTML
    document: gr.HTML


def build_app(service: Service) -> tuple[gr.Blocks, gr.BrowserState]:
    with gr.Blocks(title="罗湖区报告问答助手", fill_width=True) as demo:
        browser = gr.BrowserState(
            {"id": "", "open": ""}, storage_key=STORAGE_KEY, secret=browser_secret(service.cfg)
        )
        page, tab = _layout(service, browser)
        answering = _wire_chat(page, service)
        _wire_feedback(page, service)
        _wire_passages(page, service)
        _wire_controls(page, service, answering)
        _wire_history(page, service, answering)
        sources_tab.wire(service, tab, page.docs, page.status)
        _wire_load(demo, page, service, tab)
    return demo, browser


def browser_secret(cfg: Config) -> str:
    """The key that seals the browser's id, kept under data_dir so that it survives a
    restart (gradio's default is a new key per start: every browser would lose its
    history)."""
    path = cfg.paths.data_dir / SECRET_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(24)
        path.touch(mode=0o600)
        path.write_text(secret, encoding="utf-8")
        return secret


def identify(st: ChatState, saved: dict[str, Any] | None, request: gr.Request | None) -> None:
    """Say whose tab `st` is, once: by the login, else by the browser's id (a new one for a
    browser that has none yet)."""
    if not st.user:
        st.browser = (saved or {}).get("id") or uuid.uuid4().hex
        st.user = user_of(request, st.browser)


def user_of(request: gr.Request | None, browser_id: str) -> str:
    """Whose history a tab reads: the login name when a login is on, else the browser's id."""
    name = getattr(request, "username", None) if request is not None else None
    return f"login:{name}" if name else f"browser:{browser_id}"


# -- layout ---------------------------------------------------------------------------------


def _layout(service: Service, browser: gr.BrowserState) -> tuple[Page, sources_tab.Tab]:
    state = gr.State(new_state)  # called per page load: each tab its own session
    sidebar = _sidebar()
    with gr.Row(equal_height=True, elem_id="top-row"):
        gr.HTML(
            "<h1>罗湖区政府报告问答助手</h1><p>回答只依据已入库的报告；"
            "每个 [n] 都可点击或悬停，查看它出自哪一段。</p>",
            elem_id="app-title",
        )
        status = gr.HTML(R.banner("wait", "正在载入…"), elem_id="status-banner")
    with gr.Tabs(elem_id="main-tabs"):
        with gr.Tab("问答", id="chat"):
            controls = _controls(service)
            with gr.Row(elem_id="chat-row"):
                with gr.Column(scale=3, min_width=320):
                    chat = _chat_column()
                with gr.Column(scale=2, min_width=300, elem_id="side-panel"):
                    gr.HTML(
                        '<div class="drawer-bar"><button class="drawer-back">‹ 返回对话</button>'
                        "<span>引用段落与原文</span></div>",
                        elem_id="drawer-bar",
                        js_on_load=None,
                    )
                    with gr.Tabs(selected="passages") as side:
                        with gr.Tab("引用段落", id="passages"):
                            passages = gr.HTML(
                                R.EMPTY_PANEL,
                                elem_id="passages-panel",
                                js_on_load=_static("passages.js"),
                            )
                        with gr.Tab("原文全文", id="doc"):
                            document = gr.HTML(
                                R.EMPTY_DOCUMENT,
                                elem_id="document-view",
                                js_on_load=_static("document.js"),
                            )
        with gr.Tab("资料来源", id="sources"):
            tab = sources_tab.layout(service)
    page = Page(browser, state, status, *sidebar, *controls, *chat, side, passages, document)
    return page, tab


def _date_field(label: str, example: str, elem_id: str) -> gr.Textbox:
    """A plain YYYY-MM-DD field (a year or a month is enough), checked when left."""
    return gr.Textbox(
        label=label,
        info=f"如 {example}，可只写年份",
        placeholder="YYYY-MM-DD",
        max_lines=1,
        scale=1,
        min_width=150,
        elem_id=elem_id,
    )


def _sidebar() -> tuple[Any, ...]:
    with gr.Sidebar(label="对话记录", open=True, width=290, elem_id="history-bar"):
        gr.HTML("<div class='bar-title'>对话记录</div>")
        new_chat = gr.Button("＋ 新对话", variant="primary", size="sm", elem_id="new-chat")
        search = gr.Textbox(
            show_label=False,
            placeholder="搜索对话（标题、问题或回答）",
            max_lines=1,
            elem_id="history-search",
        )
        history = gr.Radio(
            [], show_label=False, container=False, elem_id="history-list", label="对话"
        )
        with gr.Row(elem_id="history-actions"):
            title = gr.Textbox(
                show_label=False, placeholder="当前对话的名称", max_lines=1, scale=3, min_width=80
            )
            rename = gr.Button("改名", size="sm", scale=1, min_width=50)
        delete = gr.Button("删除当前对话…", size="sm", variant="secondary", elem_id="delete-chat")
        with gr.Group(visible=False, elem_id="delete-box") as delete_box:
            delete_text = gr.HTML("")
            with gr.Row():
                delete_yes = gr.Button("确认删除", variant="stop", size="sm", min_width=60)
                delete_no = gr.Button("取消", size="sm", min_width=60)
    return (
        new_chat,
        search,
        history,
        title,
        rename,
        delete,
        delete_box,
        delete_text,
        delete_yes,
        delete_no,
    )


def _controls(service: Service) -> tuple[Any, ...]:
    # Folded, its label saying what is set: the chat keeps the first screen.
    label = filters_label([], "", "", service.default_backend, R.AUTO, service)
    with gr.Accordion(label, open=False, elem_id="filters") as filters:
        with gr.Row(equal_height=True):
            docs = gr.Dropdown(
                label="只检索这些文件",
                info="不选即检索全部",
                multiselect=True,
                choices=document_choices(service),
                # The index may change under a running server (an upload): ids not known
                # at start are still accepted; unknown ones match nothing.
                allow_custom_value=True,
                scale=4,
                min_width=260,
                elem_id="docs",
            )
            date_from = _date_field("起始日期", "2019-06-30", "date-from")
            date_to = _date_field("截止日期", "2021-12-31", "date-to")
        date_error = gr.HTML("", elem_id="date-error")
        with gr.Row(equal_height=True):
            backend = gr.Radio(
                choices=service.backend_choices(),
                value=service.default_backend,
                label="回答方式",
                scale=4,
                min_width=260,
                elem_id="backend",
            )
            script = gr.Radio(
                list(R.SCRIPTS),
                value=R.AUTO,
                label="回答用字（简/繁）",
                info="随提问：用提问所用的字体",
                scale=1,
                min_width=220,
                elem_id="script",
            )
    return filters, docs, date_from, date_to, date_error, backend, script


def filters_label(
    docs: list[str] | None, start: str, end: str, backend: str, shown: str, service: Service
) -> str:
    """The folded filters' label: what answers are searched in and written with."""
    where = f"只检索 {len(docs)} 份文件" if docs else "检索全部文件"
    when = f"{start or '最早'} 至 {end or '最近'}" if (start or end) else "不限日期"
    spec = next((s for s in service.board.states(wait=0) if s.name == backend), None)
    how = (spec.label.split("：")[0].split("（")[0] if spec else backend) or "原文摘录"
    script = "用字随提问" if shown == R.AUTO else f"用{shown}"
    return f"筛选与回答方式：{where} · {when} · {how} · {script}"


def _chat_column() -> tuple[Any, ...]:
    chatbot = gr.Chatbot(
        label="对话",
        elem_id="chat",
        height="max(360px, calc(100vh - 330px))",
        examples=[{"text": q} for q in EXAMPLES],
        placeholder="<b>请输入关于罗湖区政府报告的问题</b><br>或点击下面的示例问题。",
        latex_delimiters=[],
        buttons=["copy"],
        feedback_options=("Like", "Dislike"),
    )
    with gr.Group(visible=False, elem_id="feedback-box") as feedback_box:
        feedback_head = gr.HTML("", elem_id="feedback-head")
        with gr.Row(equal_height=True):
            comment = gr.Textbox(
                show_label=False,
                placeholder="补充意见（可选），例如：数字对，但引用的段落不是最相关的",
                max_lines=3,
                scale=5,
                elem_id="comment",
            )
            send_comment = gr.Button("提交意见", scale=1, min_width=80, elem_id="send-comment")
        feedback_status = gr.HTML("", elem_id="feedback-status")
    with gr.Row(equal_height=True, elem_id="ask-row"):
        question = gr.Textbox(
            show_label=False,
            placeholder="输入问题后按回车，例如：2019年罗湖完成固定资产投资多少亿元？",
            scale=8,
            min_width=160,
            elem_id="question",
            autofocus=True,
        )
        send = gr.Button("发送", variant="primary", scale=1, min_width=64, elem_id="send")
        stop = gr.Button("停止", variant="stop", scale=1, min_width=64, elem_id="stop")
        # A phone shows the passages as a drawer: this opens it (static/page.js; hidden on
        # a desk, where the passages are beside the chat).
        gr.Button("📑 引用", scale=1, min_width=64, elem_id="drawer-open")
    return (
        chatbot,
        question,
        send,
        stop,
        feedback_box,
        feedback_head,
        comment,
        send_comment,
        feedback_status,
    )


# -- events ---------------------------------------------------------------------------------


def _answering(service: Service) -> dict[str, Any]:
    """How an answering event queues: at most `[ui] concurrency` at once, each waiting asker
    shown their place in the queue on the chat (static/page.js says it in Chinese)."""
    return {
        "show_progress": "minimal",
        "concurrency_limit": service.cfg.ui.concurrency,
        "concurrency_id": "answer",
    }


def _phrasing(service: Service) -> dict[str, Any]:
    """How the model's phrasing queues: behind every asker's verified answer, at most
    `[ui] model_concurrency` at once; a waiting asker sees their place on the chat."""
    return {
        "show_progress": "minimal",
        "concurrency_limit": service.cfg.ui.model_concurrency,
        "concurrency_id": "model",
    }


def _chat_update(st: ChatState, shown: str) -> Any:
    return gr.Chatbot(value=chat_messages(st, shown), feedback_value=feedback_values(st))


def _history_update(service: Service, st: ChatState, query: str = "") -> Any:
    return gr.Radio(choices=history_choices(service, st, query), value=st.conversation or None)


def _browser(saved: dict[str, Any] | None, st: ChatState) -> dict[str, str]:
    """What the browser keeps: its id and the open conversation. The id is the session's,
    not what the browser sent: its store may not have caught up with the page's first
    load yet (gradio reads localStorage when the component mounts)."""
    return {"id": st.browser or (saved or {}).get("id", ""), "open": st.conversation}


def _wire_chat(page: Page, service: Service) -> list[Any]:
    """Asking, by Enter, the button or an example, and regenerating; returns the events
    that answer."""

    def answer(
        text: str,
        doc_ids: list[str] | None,
        start: str | None,
        end: str | None,
        backend_name: str | None,
        shown: str,
        st: ChatState,
        saved: dict[str, Any] | None,
        request: gr.Request | None,
        replace: bool = False,
    ) -> Iterator[tuple[Any, ...]]:
        identify(st, saved, request)  # asked before the page finished loading
        text = (text or "").strip()
        if not text:
            yield _chat_update(st, shown), st, *(gr.skip() for _ in range(5))
            return
        name, why = service.usable(backend_name)
        settings = Settings(name, list(doc_ids or []), start or "", end or "", shown)
        turn = UITurn(text, backend=name)
        if replace and st.turns:
            st.turns[-1] = turn
        else:
            st.turns.append(turn)
        i = len(st.turns) - 1
        if why:
            turn.error = R.esc(f"所选的回答方式现在不能用：{why}。请换一种回答方式后再问。")
        save_turn(service, st, i, settings)
        conv = service.history.get(st.user, st.conversation) if st.conversation else None
        history, title = _history_update(service, st), conv.title if conv else gr.skip()
        # The chat as a plain value, not a component update: gradio rebuilds a component's
        # config for an update, in its event loop, at a cost that grows with the chat, and
        # every asker waited for it. Only a regenerated answer needs its thumbs cleared.
        chat = _chat_update(st, shown) if replace else chat_messages(st, shown)
        yield chat, st, gr.skip(), "", history, _browser(saved, st), title
        skip = [gr.skip() for _ in range(4)]
        if not turn.error:
            for _ in answer_turn(service, st, turn, doc_ids, start, end):
                yield chat_messages(st, shown), st, *skip, gr.skip()
        if turn.response is not None:
            st.focus = i
        save_turn(service, st, i, settings)
        done = [gr.skip(), gr.skip(), _browser(saved, st), gr.skip()]  # the browser's last word
        yield chat_messages(st, shown), st, panel(st, shown), *done

    def ask(
        text: str,
        doc_ids: list[str] | None,
        start: str | None,
        end: str | None,
        backend_name: str | None,
        shown: str,
        st: ChatState,
        saved: dict[str, Any] | None,
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        yield from answer(text, doc_ids, start, end, backend_name, shown, st, saved, request)

    def regenerate(
        doc_ids: list[str] | None,
        start: str | None,
        end: str | None,
        backend_name: str | None,
        shown: str,
        st: ChatState,
        saved: dict[str, Any] | None,
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        """The last question asked again (with the backend and filters now chosen); its
        answer replaces the last one, here and in the history."""
        if not st.turns or not st.turns[-1].finished:
            yield _chat_update(st, shown), st, *(gr.skip() for _ in range(5))
            return
        question = st.turns[-1].question
        controls = (doc_ids, start, end, backend_name, shown)
        yield from answer(question, *controls, st, saved, request, replace=True)

    def pick_example(evt: gr.SelectData) -> str:
        value = evt.value
        return value.get("text", "") if isinstance(value, dict) else str(value)

    controls = [page.docs, page.date_from, page.date_to, page.backend, page.script]
    inputs = [page.question, *controls, page.state, page.browser]
    outputs = [page.chatbot, page.state, page.passages, page.question, page.history]
    outputs += [page.browser, page.title]

    def phrase(st: ChatState, shown: str) -> Iterator[tuple[Any, ...]]:
        """The model's phrasing of the last answer, when its backend has a model to ask."""
        if not st.turns or not st.turns[-1].phrasing:  # nothing to phrase: the chat as it is
            yield chat_messages(st, shown), st, panel(st, shown)
            return
        i, turn = len(st.turns) - 1, st.turns[-1]
        for _ in phrase_turn(service, st, turn):
            yield chat_messages(st, shown), st, gr.skip()
        save_turn(service, st, i, Settings())
        yield chat_messages(st, shown), st, panel(st, shown)

    queued = {**_answering(service), "show_progress_on": [page.chatbot]}
    phrased = {**_phrasing(service), "show_progress_on": [page.chatbot]}
    phrase_io = ([page.state, page.script], [page.chatbot, page.state, page.passages])

    def then_phrase(event: Any, name: str | None = None) -> Any:
        api = {"api_name": name} if name else {"api_visibility": "private"}
        return event.then(phrase, *phrase_io, **api, **phrased)

    submitted = page.question.submit(ask, inputs, outputs, api_name="ask", **queued)
    clicked = page.send.click(ask, inputs, outputs, api_visibility="private", **queued)
    example = page.chatbot.example_select(
        pick_example, None, page.question, api_visibility="private"
    ).then(ask, inputs, outputs, api_visibility="private", **queued)
    again = [*controls, page.state, page.browser]
    retried = page.chatbot.retry(regenerate, again, outputs, api_name="regenerate", **queued)
    asked = [submitted, clicked, example, retried]
    phrasings = [then_phrase(submitted, "phrase"), *(then_phrase(e) for e in asked[1:])]
    return asked + phrasings


def _wire_feedback(page: Page, service: Service) -> None:
    """One control per answer: the thumbs under it. A thumb is saved at once and said so
    (a toast, and the comment box under the question field, naming the answer)."""

    def rate(st: ChatState, turn: int, rating: str, comment: str) -> tuple[Any, ...]:
        message = record_feedback(service, st, turn, rating, comment or None)
        ok = message.startswith("已保存")
        if ok:
            save_turn(service, st, turn, Settings())
            gr.Info(message, title="已保存")
        said = {"up": "👍 有用", "down": "👎 没用"}.get(rating, "已取消评价")
        head = f"<b>第 {turn + 1} 个回答</b>：{said}。想说得更具体，可以在下面补充意见。"
        status = R.banner("ok" if ok else "warn", R.esc(message))
        return st, gr.Group(visible=ok), head if ok else gr.skip(), status

    def on_like(st: ChatState, evt: gr.LikeData) -> tuple[Any, ...]:
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        value = "up" if evt.liked is True else "down" if evt.liked is False else ""
        return rate(st, int(index) // 2, value, "")

    def feedback(turn: float, rating: str, note: str, st: ChatState) -> tuple[Any, ...]:
        """A thumb (and comment) for answer `turn` (the API twin of the thumbs)."""
        _, _, _, status = rate(st, int(turn), rating, (note or "").strip())
        return st, status

    def on_comment(note: str, st: ChatState) -> tuple[Any, ...]:
        if st.rated < 0:
            return st, R.banner("warn", "请先点回答下方的 👍 或 👎。"), note
        message = record_feedback(service, st, st.rated, None, note.strip())
        save_turn(service, st, st.rated, Settings())
        gr.Info(message, title="已保存")
        return st, R.banner("ok", R.esc(message)), ""

    outputs = [page.state, page.feedback_box, page.feedback_head, page.feedback_status]
    page.chatbot.like(on_like, [page.state], outputs, api_visibility="private")
    page.send_comment.click(
        on_comment,
        [page.comment, page.state],
        [page.state, page.feedback_status, page.comment],
        api_name="comment",
    )
    api_turn = gr.Number(visible=False, precision=0)
    api_rating = gr.Textbox(visible=False)
    gr.Button(visible=False).click(
        feedback,
        [api_turn, api_rating, page.comment, page.state],
        [page.state, page.feedback_status],
        api_name="feedback",
    )


def _wire_passages(page: Page, service: Service) -> None:
    """[n] links and "open the document" links of the passages panel, and their API twin."""

    def on_cite(st: ChatState, shown: str, evt: gr.EventData) -> tuple[Any, ...]:
        turn = int(evt.turn)
        if 0 <= turn < len(st.turns):
            st.focus = turn
        return panel(st, shown), st, gr.Tabs(selected="passages")

    def on_open(st: ChatState, shown: str, evt: gr.EventData) -> tuple[Any, ...]:
        st.document = (int(evt.turn), int(evt.n))
        return document_html(service, st, shown), st, gr.Tabs(selected="doc")

    def open_passage(turn: int, n: int, shown: str, st: ChatState) -> tuple[Any, ...]:
        """The document view for passage n of answer `turn` (the API twin of the link)."""
        st.document = (int(turn), int(n))
        return document_html(service, st, shown), st

    def show_passages(turn: int, shown: str, st: ChatState) -> tuple[Any, ...]:
        """The passages panel of answer `turn` (the API twin of clicking its [n])."""
        if 0 <= int(turn) < len(st.turns):
            st.focus = int(turn)
        return panel(st, shown), st

    common = [page.state, page.script]
    page.passages.cite(  # type: ignore[attr-defined]
        on_cite, common, [page.passages, page.state, page.side], api_visibility="private"
    )
    page.passages.open(  # type: ignore[attr-defined]
        on_open, common, [page.document, page.state, page.side], api_visibility="private"
    )
    api_turn = gr.Number(visible=False, precision=0)
    api_n = gr.Number(visible=False, precision=0)
    gr.Button(visible=False).click(
        open_passage,
        [api_turn, api_n, page.script, page.state],
        [page.document, page.state],
        api_name="open",
    )
    gr.Button(visible=False).click(
        show_passages,
        [api_turn, page.script, page.state],
        [page.passages, page.state],
        api_name="passages",
    )


def _settings(docs: list[str] | None, start: str, end: str, backend: str, shown: str) -> Settings:
    return Settings(backend or "", list(docs or []), start or "", end or "", shown)


def _wire_controls(page: Page, service: Service, answering: list[Any]) -> None:
    """Stop, the script toggle, the backend switch, the dates; each change of a control is
    kept with the open conversation."""

    def on_stop(st: ChatState, shown: str) -> tuple[Any, ...]:
        if st.turns and st.turns[-1].phrasing:  # the verified answer stays as it is
            st.turns[-1].prepared, st.turns[-1].draft = None, ""
        if st.turns and not st.turns[-1].finished:
            turn = st.turns[-1]
            turn.stopped = True
            if turn.draft:
                st.focus = len(st.turns) - 1
            save_turn(service, st, len(st.turns) - 1, Settings())
        return chat_messages(st, shown), st, panel(st, shown)

    def on_script(st: ChatState, shown: str) -> tuple[Any, ...]:
        return chat_messages(st, shown), panel(st, shown), document_html(service, st, shown)

    def on_backend(name: str) -> tuple[Any, ...]:
        """A choice the page should not have offered (static/page.js disables unavailable
        ones): put back the default and say why."""
        _, why = service.usable(name)
        if not why:
            return gr.skip(), ""
        message = R.banner("error", R.esc(f"这种回答方式现在不能用：{why}"))
        return gr.Radio(value=service.default_backend), message

    def check_dates(start: str, end: str) -> str:
        problem = date_problem(start, end)
        return R.banner("error", R.esc(f"{problem}。提问时不会使用这个条件。")) if problem else ""

    def keep(
        docs: list[str] | None, start: str, end: str, backend: str, shown: str, st: ChatState
    ) -> None:
        if st.user and st.conversation:
            settings = _settings(docs, start, end, backend, shown)
            service.history.save_settings(st.user, st.conversation, settings.__dict__)

    page.stop.click(
        on_stop,
        [page.state, page.script],
        [page.chatbot, page.state, page.passages],
        cancels=answering,
        api_name="stop",
        queue=False,
    )
    page.script.change(
        on_script,
        [page.state, page.script],
        [page.chatbot, page.passages, page.document],
        api_visibility="private",
    )
    page.backend.input(
        on_backend, [page.backend], [page.backend, page.date_error], api_visibility="private"
    )
    for box in (page.date_from, page.date_to):
        for event in (box.blur, box.submit):
            event(
                check_dates,
                [page.date_from, page.date_to],
                page.date_error,
                api_visibility="private",
                queue=False,
            )
    gr.Button(visible=False).click(
        check_dates, [page.date_from, page.date_to], page.date_error, api_name="validate_dates"
    )
    gr.Button(visible=False).click(
        lambda: [asdict(s) for s in service.board.states()],
        None,
        gr.JSON(visible=False),
        api_name="backends",
    )

    def relabel(docs: list[str] | None, start: str, end: str, backend: str, shown: str) -> Any:
        return gr.Accordion(label=filters_label(docs, start, end, backend, shown, service))

    values = [page.docs, page.date_from, page.date_to, page.backend, page.script]
    for box in values:  # also when a conversation is opened and sets them
        box.change(relabel, values, page.filters, api_visibility="private", queue=False)
    controls = [*values, page.state]
    for event in (page.docs.input, page.backend.input, page.script.input):
        event(keep, controls, None, api_visibility="private", queue=False)
    for box in (page.date_from, page.date_to):
        box.blur(keep, controls, None, api_visibility="private", queue=False)


def _restore(
    service: Service, st: ChatState, settings: Settings, fresh: bool = False
) -> tuple[Any, ...]:
    """The page as a conversation left it: its chat, passages, controls (`fresh`: with the
    lists of documents and backends read again, as on opening the page)."""
    name, why = service.usable(settings.backend)
    backend = name if settings.backend and not why else None
    shown = settings.script if settings.script in R.SCRIPTS else R.AUTO
    docs = {"choices": document_choices(service)} if fresh else {}
    backends = {"choices": service.backend_choices()} if fresh else {}
    return (
        _chat_update(st, shown),
        panel(st, shown),
        R.EMPTY_DOCUMENT,
        gr.Dropdown(value=settings.docs, **docs),
        settings.date_from,
        settings.date_to,
        gr.Radio(value=backend or service.default_backend, **backends),
        shown,
        "",
    )


def _wire_history(page: Page, service: Service, answering: list[Any]) -> None:
    """The sidebar: a new conversation, open one, search, rename, delete (confirmed)."""
    restored = [page.chatbot, page.passages, page.document, page.docs, page.date_from]
    restored += [page.date_to, page.backend, page.script, page.date_error]
    hidden = [page.feedback_box, page.delete_box]

    def on_new(st: ChatState, saved: dict[str, Any] | None) -> tuple[Any, ...]:
        """An empty conversation; the controls stay as they are."""
        start_new(st)
        return (
            st,
            _browser(saved, st),
            _history_update(service, st),
            "",
            _chat_update(st, R.AUTO),
            R.EMPTY_PANEL,
            R.EMPTY_DOCUMENT,
            gr.Group(visible=False),
            gr.Group(visible=False),
        )

    def on_open(conv_id: str, st: ChatState, saved: dict[str, Any] | None) -> tuple[Any, ...]:
        conv = open_conversation(service, st, conv_id)
        if conv is None:
            skipped = [gr.skip() for _ in restored + hidden]
            return (st, gr.skip(), _history_update(service, st), gr.skip(), *skipped)
        settings = Settings.of(conv.settings)
        return (
            st,
            _browser(saved, st),
            gr.skip(),
            conv.title,
            *_restore(service, st, settings),
            gr.Group(visible=False),
            gr.Group(visible=False),
        )

    def on_search(query: str, st: ChatState) -> Any:
        return _history_update(service, st, query)

    def on_rename(title: str, query: str, st: ChatState) -> tuple[Any, ...]:
        if st.conversation and service.history.rename(st.user, st.conversation, title):
            gr.Info("已改名。", title="对话记录")
        return _history_update(service, st, query), title

    def on_delete(st: ChatState) -> tuple[Any, ...]:
        conv = service.history.get(st.user, st.conversation) if st.conversation else None
        if conv is None:
            return gr.Group(visible=False), ""
        text = f"确定删除对话“{R.esc(conv.title)}”吗？删除后无法恢复。"
        return gr.Group(visible=True), f"<div class='confirm'>{text}</div>"

    def on_delete_yes(st: ChatState, saved: dict[str, Any] | None) -> tuple[Any, ...]:
        if st.conversation:
            service.history.delete(st.user, st.conversation)
            gr.Info("对话已删除。", title="对话记录")
        return on_new(st, saved)

    head = [page.state, page.browser, page.history, page.title]
    emptied = [*head, page.chatbot, page.passages, page.document, *hidden]
    page.new_chat.click(
        on_new,
        [page.state, page.browser],
        emptied,
        cancels=answering,
        api_name="new_chat",
    )
    # The chat's own trash button empties the chat: the tab starts a new conversation too
    # (the old one stays in the history).
    page.chatbot.clear(
        on_new, [page.state, page.browser], emptied, cancels=answering, api_visibility="private"
    )
    page.history.input(
        on_open,
        [page.history, page.state, page.browser],
        head + restored + hidden,
        cancels=answering,
        api_name="open_conversation",
    )

    def conversations(query: str, st: ChatState) -> list[dict[str, str]]:
        """The user's conversations as data (what the sidebar lists)."""
        return (
            [
                {"id": c.id, "title": c.title, "updated_at": c.updated_at}
                for c in service.history.list(st.user, query or "")
            ]
            if st.user
            else []
        )

    page.search.change(on_search, [page.search, page.state], page.history, api_name="search")
    gr.Button(visible=False).click(
        conversations, [page.search, page.state], gr.JSON(visible=False), api_name="conversations"
    )
    page.rename.click(
        on_rename,
        [page.title, page.search, page.state],
        [page.history, page.title],
        api_name="rename",
    )
    page.title.submit(
        on_rename,
        [page.title, page.search, page.state],
        [page.history, page.title],
        api_visibility="private",
    )
    page.delete.click(
        on_delete, [page.state], [page.delete_box, page.delete_text], api_name="delete"
    )
    page.delete_no.click(
        lambda: gr.Group(visible=False), None, page.delete_box, api_visibility="private"
    )
    page.delete_yes.click(
        on_delete_yes,
        [page.state, page.browser],
        emptied,
        cancels=answering,
        api_name="delete_confirm",
    )


def _wire_load(demo: gr.Blocks, page: Page, service: Service, tab: sources_tab.Tab) -> None:
    """Opening the page: whose it is, the conversation it had open, the sources."""

    def on_load(
        saved: dict[str, Any] | None, st: ChatState, request: gr.Request
    ) -> tuple[Any, ...]:
        asked = bool(st.turns)  # a question asked before the page finished loading: keep it
        identify(st, saved, request)
        conv = None if asked else open_conversation(service, st, (saved or {}).get("open", ""))
        if asked and st.conversation:
            conv = service.history.get(st.user, st.conversation)
        settings = Settings.of(conv.settings) if conv else Settings(service.default_backend)
        kind, message = service.status()
        notice = R.banner("warn", R.esc(service.notice)) if service.notice else ""
        return (
            _browser(saved, st),
            st,
            R.banner(kind, message) + notice,
            _history_update(service, st),
            conv.title if conv else "",
            *_restore(service, st, settings, fresh=True),
            *tab.refreshed(),
        )

    outputs = [page.browser, page.state, page.status, page.history, page.title]
    outputs += [page.chatbot, page.passages, page.document, page.docs, page.date_from]
    outputs += [page.date_to, page.backend, page.script, page.date_error]
    outputs += tab.refresh_outputs
    demo.load(on_load, [page.browser, page.state], outputs, api_name="load")


# -- serving --------------------------------------------------------------------------------------


def login(cfg: Config) -> tuple[str, str] | None:
    """(user, password) when both variables named in the config are set, else no login."""
    user = os.environ.get(cfg.ui.user_env, "")
    password = os.environ.get(cfg.ui.password_env, "")
    return (user, password) if user and password else None


def launch(
    cfg: Config, host: str | None = None, port: int | None = None, block: bool = True
) -> tuple[gr.Blocks, str]:
    """Open the service (warming the default backend), then serve the page."""
    service = Service(cfg)
    try:
        service.pipeline()  # first question without the one-off costs
    except IndexUnavailable as err:
        log.warning("%s", re.sub(r"<[^>]+>", "", str(err)))
    demo, _ = build_app(service)
    demo.queue(default_concurrency_limit=cfg.ui.concurrency)
    _, url, _ = demo.launch(
        server_name=host or cfg.ui.host,
        server_port=port or cfg.ui.port,
        auth=login(cfg),
        auth_message="罗湖区报告问答助手：请登录",
        app_kwargs={
            "middleware": [Middleware(LoginThrottle, limit=cfg.ui.login_attempts_per_minute)]
        },
        max_file_size=upload_limit_bytes(cfg.ingest),
        prevent_thread_lock=not block,
        share=False,
        inbrowser=False,
        show_error=False,
        quiet=not block,
        footer_links=[],
        run_history=False,
        enable_monitoring=False,
        mcp_server=False,
        pwa=False,
        ssr_mode=False,
        theme=gr.themes.Default(primary_hue="blue", neutral_hue="slate"),
        css=_static("app.css"),
        js=_static("page.js"),
    )
    return demo, url
