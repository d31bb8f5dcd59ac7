"""The staff web UI: a gradio page over the same `ask_stream` path as the CLI.

The page is laid out here and its events wired to the session (`session`) and the shared
service (`service`); its HTML comes from `render`, its style and scripts from `static/`.
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from assistant.backends.base import BackendError
from assistant.config import Config
from assistant.corpus.upload import upload_limit_bytes
from assistant.ui import render as R
from assistant.ui.service import IndexUnavailable, Service, backend_label
from assistant.ui.session import (
    ChatState,
    UITurn,
    answer_turn,
    chat_messages,
    document_choices,
    document_html,
    new_state,
    panel,
    record_feedback,
)
from assistant.ui.throttle import LoginThrottle

log = logging.getLogger(__name__)

CHAT_CONCURRENCY = 4  # answers computed at once; more only splits 2 cores finer
EXAMPLES = [
    "2019年罗湖完成固定资产投资多少亿元？",
    "2021年政府工作报告中，罗湖区2020年地区生产总值是多少？",
    "罗湖区2019年投入产业转型升级扶持资金多少？",
    "羅湖持牌金融機構突破了多少家？",
]
STATIC = Path(__file__).resolve().parent / "static"


def _static(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


RATING_CHOICES = [("👍 有用", "up"), ("👎 没用", "down")]
ANSWERING = {
    "show_progress": "hidden",
    "concurrency_limit": CHAT_CONCURRENCY,
    "concurrency_id": "answer",
}


@dataclass
class Page:
    """The page's components, as the event wiring needs them."""

    state: gr.State
    status: gr.HTML
    docs: gr.Dropdown
    date_from: gr.DateTime
    date_to: gr.DateTime
    backend: gr.Dropdown
    script: gr.Radio
    chatbot: gr.Chatbot
    question: gr.Textbox
    send: gr.Button
    stop: gr.Button
    clear: gr.Button
    rating: gr.Radio
    comment: gr.Textbox
    send_feedback: gr.Button
    feedback_status: gr.Markdown
    side: gr.Tabs
    passages: gr.HTML
    document: gr.HTML
    sources_status: gr.HTML
    sources: gr.HTML
    refresh: gr.Button


def build_app(service: Service) -> gr.Blocks:
    with gr.Blocks(title="罗湖区报告问答助手", fill_width=True) as demo:
        page = _layout(service)
        _wire_status(demo, page, service)
        answering = _wire_chat(page, service)
        _wire_feedback(page, service)
        _wire_passages(page, service)
        _wire_controls(page, service, answering)
    return demo


# -- layout ---------------------------------------------------------------------------------


def _layout(service: Service) -> Page:
    state = gr.State(new_state)  # called per page load: each tab its own session id
    with gr.Row(equal_height=True):
        gr.HTML(
            "<h1>罗湖区政府报告问答助手</h1><p>回答只依据已入库的报告；"
            "每个 [n] 都可点击，查看它出自哪一段。</p>",
            elem_id="app-title",
        )
        status = gr.HTML(R.banner("ok", "正在载入…"), elem_id="status-banner")
    with gr.Tabs():
        with gr.Tab("问答", id="chat"):
            filters = _filters_row(service)
            with gr.Row():
                with gr.Column(scale=3):
                    chat = _chat_column()
                with gr.Column(scale=2), gr.Tabs(selected="passages") as side:
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
            sources_status = gr.HTML("")
            sources = gr.HTML("", elem_id="sources-table")
            refresh = gr.Button("重新检查", size="sm")
    return Page(
        state, status, *filters, *chat, side, passages, document, sources_status, sources, refresh
    )


def _filters_row(
    service: Service,
) -> tuple[gr.Dropdown, gr.DateTime, gr.DateTime, gr.Dropdown, gr.Radio]:
    with gr.Row():
        docs = gr.Dropdown(
            label="只检索这些文件",
            info="不选即检索全部",
            multiselect=True,
            choices=document_choices(service, R.SCRIPTS[0]),
            # The index may change under a running server (an ingest): ids not known at
            # start are still accepted; unknown ones match nothing.
            allow_custom_value=True,
            scale=3,
        )
        date_from = gr.DateTime(
            label="起始日期", include_time=False, type="string", scale=1, min_width=190
        )
        date_to = gr.DateTime(
            label="截止日期", include_time=False, type="string", scale=1, min_width=190
        )
        backend = gr.Dropdown(
            label="回答方式 / 模型",
            choices=service.backend_choices(),
            value=service.default_backend,
            scale=2,
        )
        script = gr.Radio(
            list(R.SCRIPTS), value=R.SCRIPTS[0], label="显示文字（简/繁）", scale=2, min_width=250
        )
    return docs, date_from, date_to, backend, script


def _chat_column() -> tuple[Any, ...]:
    chatbot = gr.Chatbot(
        label="对话",
        elem_id="chat",
        height="62vh",
        examples=[{"text": q} for q in EXAMPLES],
        placeholder="<b>请输入关于罗湖区政府报告的问题</b><br>或点击下面的示例问题。",
        latex_delimiters=[],
        buttons=["copy"],
        feedback_options=("Like", "Dislike"),
    )
    with gr.Row(equal_height=True):
        question = gr.Textbox(
            show_label=False,
            placeholder="输入问题后按回车，例如：2019年罗湖完成固定资产投资多少亿元？",
            scale=8,
            elem_id="question",
            autofocus=True,
        )
        send = gr.Button("发送", variant="primary", scale=1, min_width=70, elem_id="send")
        stop = gr.Button("停止", variant="stop", scale=1, min_width=70, elem_id="stop")
        clear = gr.Button("新对话", scale=1, min_width=70)
    with gr.Row():
        rating = gr.Radio(
            RATING_CHOICES, label="这个回答有帮助吗？", scale=2, min_width=250, elem_id="rating"
        )
        comment = gr.Textbox(
            label="补充意见（可选）", placeholder="例如：数字对，但引用的段落不是最相关的", scale=4
        )
        send_feedback = gr.Button("提交反馈", scale=1, min_width=90)
    feedback_status = gr.Markdown("", elem_id="feedback-status")
    return chatbot, question, send, stop, clear, rating, comment, send_feedback, feedback_status


# -- events ---------------------------------------------------------------------------------


def _wire_status(demo: gr.Blocks, page: Page, service: Service) -> None:
    def on_load(shown: str) -> tuple[Any, ...]:
        kind, message = service.status()
        try:
            rows = service.source_rows()
        except IndexUnavailable:
            rows = []
        notice = R.banner("warn", R.esc(service.notice)) if service.notice else ""
        return (
            R.banner(kind, message) + notice,
            gr.Dropdown(choices=document_choices(service, shown)),
            R.banner(kind, message),
            R.sources_table(rows, shown),
        )

    outputs = [page.status, page.docs, page.sources_status, page.sources]
    demo.load(on_load, [page.script], outputs, api_name="status")
    page.refresh.click(on_load, [page.script], outputs, api_visibility="private")


def _wire_chat(page: Page, service: Service) -> list[Any]:
    """Asking, by Enter, the button or an example; returns the events that answer."""

    def respond(
        text: str,
        doc_ids: list[str] | None,
        start: str | None,
        end: str | None,
        backend_name: str | None,
        shown: str,
        st: ChatState,
    ) -> Iterator[tuple[Any, ...]]:
        text = (text or "").strip()
        if not text:
            yield chat_messages(st, shown), st, gr.skip(), gr.skip()
            return
        turn = UITurn(text, backend=backend_name or service.default_backend)
        st.turns.append(turn)
        i = len(st.turns) - 1
        yield chat_messages(st, shown), st, gr.skip(), ""
        for _ in answer_turn(service, st, turn, doc_ids, start, end):
            yield chat_messages(st, shown), st, gr.skip(), gr.skip()
        if turn.response is not None:
            st.focus = i
        yield chat_messages(st, shown), st, panel(st, shown), gr.skip()

    def pick_example(evt: gr.SelectData) -> str:
        value = evt.value
        return value.get("text", "") if isinstance(value, dict) else str(value)

    inputs = [page.question, page.docs, page.date_from, page.date_to, page.backend]
    inputs += [page.script, page.state]
    outputs = [page.chatbot, page.state, page.passages, page.question]
    submitted = page.question.submit(respond, inputs, outputs, api_name="ask", **ANSWERING)
    clicked = page.send.click(respond, inputs, outputs, api_visibility="private", **ANSWERING)
    example = page.chatbot.example_select(
        pick_example, None, page.question, api_visibility="private"
    ).then(respond, inputs, outputs, api_visibility="private", **ANSWERING)
    return [submitted, clicked, example]


def _wire_feedback(page: Page, service: Service) -> None:
    def on_like(st: ChatState, evt: gr.LikeData) -> tuple[Any, ...]:
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        turn = int(index) // 2
        value = "up" if evt.liked is True else "down" if evt.liked is False else ""
        message = record_feedback(service, st, turn, value, None)
        return st, (value or None), message

    def on_feedback(value: str | None, note: str, st: ChatState) -> tuple[Any, ...]:
        answered = st.answered()
        if not answered:
            return st, "还没有可以评价的回答。", note
        turn = st.rated if st.rated in answered else answered[-1]
        message = record_feedback(service, st, turn, value, note.strip())
        return st, message, ""

    page.chatbot.like(
        on_like,
        [page.state],
        [page.state, page.rating, page.feedback_status],
        api_visibility="private",
    )
    page.send_feedback.click(
        on_feedback,
        [page.rating, page.comment, page.state],
        [page.state, page.feedback_status, page.comment],
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


def _wire_controls(page: Page, service: Service, answering: list[Any]) -> None:
    """Stop, new chat, the script toggle and the backend switch."""

    def on_stop(st: ChatState, shown: str) -> tuple[Any, ...]:
        if st.turns and st.turns[-1].response is None and not st.turns[-1].error:
            st.turns[-1].stopped = True
        return chat_messages(st, shown), st

    def on_clear() -> tuple[Any, ...]:
        return [], ChatState(), R.EMPTY_PANEL, R.EMPTY_DOCUMENT, None, "", ""

    def on_script(st: ChatState, shown: str) -> tuple[Any, ...]:
        return chat_messages(st, shown), panel(st, shown), document_html(service, st, shown)

    def on_backend(name: str) -> str:
        try:
            pipe = service.pipeline(name)
        except (IndexUnavailable, BackendError) as err:
            return R.banner("error", str(err))
        kind, message = service.status()
        name = pipe.backend_name
        return R.banner(kind, f"{message}；回答方式：{name} · {backend_label(service.cfg, name)}")

    page.stop.click(
        on_stop,
        [page.state, page.script],
        [page.chatbot, page.state],
        cancels=answering,
        api_name="stop",
        queue=False,
    )
    cleared = [page.chatbot, page.state, page.passages, page.document]
    cleared += [page.rating, page.comment, page.feedback_status]
    # The chat's own trash button empties the chat; the session must forget it too.
    page.chatbot.clear(on_clear, None, cleared, api_visibility="private")
    page.clear.click(on_clear, None, cleared, api_name="new_chat", cancels=answering)
    page.script.change(
        on_script,
        [page.state, page.script],
        [page.chatbot, page.passages, page.document],
        api_visibility="private",
    )
    page.backend.change(on_backend, [page.backend], [page.status], api_visibility="private")


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
    demo = build_app(service)
    demo.queue(default_concurrency_limit=CHAT_CONCURRENCY)
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
    )
    return demo, url
