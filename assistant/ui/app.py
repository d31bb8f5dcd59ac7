"""The staff web UI: a gradio page over the same `ask_stream` path as the CLI.

One `Service` per server process holds what every session shares: the index and
retriever, one Pipeline per backend (built on first use), the feedback store. What belongs
to one browser tab (its turns, which answer's passages are shown, its feedback rows) lives
in a `ChatState` inside gr.State. The HTML itself comes from `ui_render`.
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

import calendar
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.answer.conversation import Turn
from assistant.answer.generate import Retry, Token
from assistant.answer.pipeline import Pipeline, Rewritten, ask_stream
from assistant.answer.retrieve import Filters, Retriever
from assistant.backends import BackendError, make_backend
from assistant.config import Config
from assistant.corpus.ingest import scan
from assistant.corpus.load import content_hash
from assistant.index.embed import E5Embedding
from assistant.index.generations import Index, read_manifest
from assistant.models import Document, Response
from assistant.ui import render as R
from assistant.ui.feedback import FeedbackRecord, FeedbackStore, feedback_path

log = logging.getLogger(__name__)

BACKENDS = ("extractive", "local", "openai")
CHAT_CONCURRENCY = 4  # answers computed at once; more only splits 2 cores finer
TOKEN_FLUSH_S = 0.05  # stream tokens to the page at most this often (the first at once)
EXAMPLES = [
    "2019年罗湖完成固定资产投资多少亿元？",
    "2021年政府工作报告中，罗湖区2020年地区生产总值是多少？",
    "罗湖区2019年投入产业转型升级扶持资金多少？",
    "羅湖持牌金融機構突破了多少家？",
]
INGEST_HINT = (
    "在项目目录运行 <code>assistant ingest</code>（或 <code>make run</code>），完成后刷新本页。"
)


class IndexUnavailable(Exception):
    """No usable index; the message says how to build one."""


# -- what all sessions share ----------------------------------------------------------------


class Service:
    """The index, one Pipeline per backend and the feedback store, shared by all sessions.

    The index is opened lazily and again whenever `assistant ingest` has made a new
    generation live, so a page left open picks up an ingest without a restart.
    """

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.feedback = FeedbackStore(feedback_path(cfg))
        self._lock = threading.RLock()
        self._embedder: E5Embedding | None = None
        self._index: Index | None = None
        self._retriever: Retriever | None = None
        self._pipelines: dict[str, Pipeline] = {}
        self._hashes: dict[Path, tuple[int, int, str]] = {}
        self.backends, self.unavailable = _probe_backends(cfg)
        wanted = cfg.llm.backend
        self.default_backend = wanted if wanted in self.backends else "extractive"
        self.notice = (
            f"配置的回答方式 {wanted} 不可用（{self.unavailable.get(wanted, '')}），改用原文摘录。"
            if wanted != self.default_backend
            else ""
        )

    # index ------------------------------------------------------------------------------

    def index(self) -> Index:
        """The live index; IndexUnavailable with what to do when there is none."""
        with self._lock:
            manifest = read_manifest(self.cfg.paths.index_dir)
            if manifest is None:
                self._index = None
                raise IndexUnavailable(f"索引为空：还没有入库任何文件。{INGEST_HINT}")
            if self._index is None or self._index.manifest.generation != manifest.generation:
                self._open_index()
            assert self._index is not None
            if not self._index.documents:
                raise IndexUnavailable(
                    f"索引中没有文件。把报告放进 sources 文件夹后，{INGEST_HINT}"
                )
            return self._index

    def _open_index(self) -> None:
        try:
            index = Index.open(self.cfg)
        except Exception as err:  # missing, other embedding model, damaged: all say rebuild
            raise IndexUnavailable(
                f"索引无法打开（{err}）。运行 <code>assistant ingest --rebuild</code> 后刷新本页。"
            ) from err
        if self._embedder is None:
            self._embedder = E5Embedding(self.cfg.embedding)
        self._index = index
        self._retriever = Retriever(index, self.cfg.retrieval, self._embedder)
        self._pipelines.clear()  # they hold the previous generation

    def pipeline(self, backend: str | None = None) -> Pipeline:
        """The Pipeline answering with `backend`, built (and warmed) on first use."""
        name = backend if backend in self.backends else self.default_backend
        with self._lock:
            index = self.index()
            pipe = self._pipelines.get(name)
            if pipe is None:
                assert self._retriever is not None
                pipe = Pipeline(self.cfg, index, self._retriever, make_backend(self.cfg, name))
                pipe.warm_up()
                self._pipelines[name] = pipe
            return pipe

    def document(self, doc_id: str) -> Document | None:
        return self.index().documents.get(doc_id)

    def source_rows(self) -> list[R.SourceRow]:
        index = self.index()
        counts: dict[str, int] = {}
        for c in index.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        docs = sorted(index.documents.values(), key=lambda d: (d.meta.date, d.doc_id), reverse=True)
        return [R.SourceRow(d, counts.get(d.doc_id, 0)) for d in docs]

    def status(self) -> tuple[str, str]:
        """(kind, message) for the banner: error without an index, warn when the sources
        folder no longer matches it, else ok."""
        try:
            index = self.index()
        except IndexUnavailable as err:
            return "error", str(err)
        added, changed, removed = self.stale(index)
        if added or changed or removed:
            what = "，".join(
                f"{label} {len(x)} 份"
                for label, x in (("新增", added), ("改动", changed), ("删除", removed))
                if x
            )
            return "warn", f"sources 文件夹与索引不一致（{what}），回答可能过时。{INGEST_HINT}"
        m = index.manifest
        built = m.created_at[:16].replace("T", " ")
        counts = f"已载入 {len(index.documents)} 份文件、{len(index.chunks)} 个段落"
        return "ok", f"{counts}（索引建于 {built} UTC）"

    def stale(self, index: Index) -> tuple[list[str], list[str], list[str]]:
        """Files of the sources folder that are new, changed or gone since the index."""
        try:
            files = scan([self.cfg.paths.sources], self.cfg.ingest.extensions)
        except OSError:
            return [], [], []
        limit = self.cfg.ingest.max_file_mb * 1_000_000
        added, changed = [], []
        for doc_id, path in files.items():
            digest = self._hash(path, limit)
            if digest is None:
                continue  # too big or unreadable: ingest skips it too
            doc = index.documents.get(doc_id)
            if doc is None:
                added.append(doc_id)
            elif doc.content_hash != digest:
                changed.append(doc_id)
        removed = [d for d in index.documents if d not in files]
        return added, changed, removed

    def _hash(self, path: Path, limit: float) -> str | None:
        """sha256 of a file, recomputed only when its size or mtime changed."""
        try:
            st = path.stat()
            if st.st_size > limit:
                return None
            cached = self._hashes.get(path)
            if cached and cached[:2] == (st.st_size, st.st_mtime_ns):
                return cached[2]
            digest = content_hash(path.read_bytes())
        except OSError:
            return None
        self._hashes[path] = (st.st_size, st.st_mtime_ns, digest)
        return digest

    # backends ---------------------------------------------------------------------------

    def backend_choices(self) -> list[tuple[str, str]]:
        return [(f"{name} · {_model_label(self.cfg, name)}", name) for name in self.backends]


def _probe_backends(cfg: Config) -> tuple[list[str], dict[str, str]]:
    """The backends that can be built here (cheap: no model is loaded), and why not the others."""
    ok: list[str] = []
    why: dict[str, str] = {}
    for name in BACKENDS:
        try:
            make_backend(cfg, name)
            ok.append(name)
        except BackendError as err:
            why[name] = str(err)
    return ok, why


def _model_label(cfg: Config, name: str) -> str:
    if name == "local":
        from assistant.backends.local import model_path

        return f"本地模型 {model_path(cfg).stem}"
    if name == "openai":
        return f"{cfg.llm.openai.model} @ {cfg.llm.openai.base_url}"
    return "原文摘录（不调用生成模型）"


# -- what one browser tab holds ---------------------------------------------------------------


@dataclass
class UITurn:
    question: str
    backend: str = ""
    standalone: str = ""  # the follow-up rewritten; "" when asked as is
    draft: str = ""  # a generator's text so far
    note: str = ""  # e.g. a draft rejected by the guard, regenerating
    response: Response | None = None
    stopped: bool = False
    error: str = ""  # HTML
    filters_note: str = ""


@dataclass
class ChatState:
    session: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    turns: list[UITurn] = field(default_factory=list)
    focus: int = -1  # the turn whose passages the panel shows
    rated: int = -1  # the turn a comment goes to (the last one thumbed)
    feedback: dict[int, int] = field(default_factory=dict)  # turn -> feedback record id
    document: tuple[int, int] | None = None  # (turn, n) shown in the document view

    def answered(self) -> list[int]:
        return [i for i, t in enumerate(self.turns) if t.response is not None]


def new_state() -> ChatState:
    return ChatState()


# -- rendering a state --------------------------------------------------------------------------


def bot_message(turn: UITurn, i: int, script: str) -> str:
    """The assistant's bubble for turn i, whatever state the turn is in."""
    if turn.error:
        return f'<div class="notice error">⛔ {turn.error}</div>'
    if turn.response is not None:
        return R.answer_message(turn.response, i, script, turn.filters_note)
    stopped = '<div class="stopped">⏹ 已停止生成</div>' if turn.stopped else ""
    if turn.draft:
        text = R.draft_message(turn.draft, script, turn.note, cursor=not turn.stopped)
        return f"{text}\n\n{stopped}" if stopped else text
    if stopped:
        return stopped
    return f'<span class="pending">{R.esc(turn.note) or "正在检索资料…"}</span>'


def chat_messages(state: ChatState, script: str) -> list[dict[str, str]]:
    """User and assistant messages in pairs: message 2i+1 is always turn i's answer (the
    thumbs of the chat say which message they rate, and this maps it back to the turn)."""
    messages: list[dict[str, str]] = []
    for i, t in enumerate(state.turns):
        question = R.question_message(t.question, t.standalone, script)
        messages.append({"role": "user", "content": question})
        messages.append({"role": "assistant", "content": bot_message(t, i, script)})
    return messages


def panel(state: ChatState, script: str) -> str:
    if 0 <= state.focus < len(state.turns):
        return R.passages_panel(state.turns[state.focus].response, state.focus, script)
    return R.EMPTY_PANEL


def document_html(service: Service, state: ChatState, script: str) -> str:
    if state.document is None:
        return R.EMPTY_DOCUMENT
    turn, n = state.document
    response = state.turns[turn].response if turn < len(state.turns) else None
    passages = R.shown_passages(response) if response else []
    cited = next((c for c in passages if c.n == n), None)
    try:
        doc = service.document(cited.doc_id) if cited else None
    except IndexUnavailable as err:
        return R.banner("error", str(err))
    if cited is None or doc is None:
        return R.EMPTY_DOCUMENT
    return R.document_view(doc, cited, script)


# -- filters ----------------------------------------------------------------------------------


def parse_date(value: str | None, end: bool) -> str | None:
    """'2019', '2019-06' or '2019-06-30' (any of - / .) as an ISO date; the first or last
    day of a year or month, by which end of the range it bounds. ValueError otherwise."""
    text = (value or "").strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})(?:[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?月?)?年?(?:[ T].*)?", text)
    if not m:
        raise ValueError(f"无法识别的日期：{text}（请用 2019-06-30 这样的格式）")
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else (12 if end else 1)
    if not 1 <= month <= 12:
        raise ValueError(f"无法识别的日期：{text}")
    last = calendar.monthrange(year, month)[1]
    day = int(m.group(3)) if m.group(3) else (last if end else 1)
    if not 1 <= day <= last:
        raise ValueError(f"无法识别的日期：{text}")
    return f"{year:04d}-{month:02d}-{day:02d}"


def make_filters(docs: list[str] | None, date_from: str | None, date_to: str | None) -> Filters:
    start, stop = parse_date(date_from, end=False), parse_date(date_to, end=True)
    if start and stop and start > stop:
        raise ValueError(f"起始日期 {start} 晚于截止日期 {stop}")
    return Filters(list(docs) if docs else None, start, stop)


def filters_note(filters: Filters) -> str:
    parts = []
    if filters.doc_ids:
        parts.append(f"只检索所选的 {len(filters.doc_ids)} 份文件")
    if filters.date_from or filters.date_to:
        parts.append(f"日期 {filters.date_from or '最早'} 至 {filters.date_to or '最近'}")
    return "（当前筛选：" + "；".join(parts) + "。放宽筛选条件后可再试。）" if parts else ""


# -- the page -----------------------------------------------------------------------------------

CSS = """
.gradio-container { max-width: 1500px !important; }
#app-title h1 { font-size: 1.45rem; margin: 0; }
#app-title p { margin: 2px 0 0; color: var(--body-text-color-subdued); }
.banner { padding: 6px 12px; border-radius: 8px; font-size: 0.92em; }
.banner-ok { background: rgba(34,197,94,.10); border: 1px solid rgba(34,197,94,.35); }
.banner-warn { background: rgba(245,158,11,.12); border: 1px solid rgba(245,158,11,.45); }
.banner-error { background: rgba(239,68,68,.10); border: 1px solid rgba(239,68,68,.45); }
a.cite { font-weight: 600; text-decoration: none; color: var(--color-accent);
         padding: 0 1px; border-radius: 3px; cursor: pointer; }
a.cite:hover { background: rgba(59,130,246,.15); }
.sources-line { font-size: .85em; color: var(--body-text-color-subdued); margin-top: 6px; }
.refusal { border-left: 4px solid #f59e0b; background: rgba(245,158,11,.12);
           padding: 8px 12px; border-radius: 6px; font-weight: 600; }
.closest, .filters-note { font-size: .9em; color: var(--body-text-color-subdued); margin-top: 6px; }
.notice { border-left: 4px solid #ef4444; background: rgba(239,68,68,.08);
          padding: 6px 10px; border-radius: 6px; font-size: .9em; margin-bottom: 6px; }
.rewrite { font-size: .88em; opacity: .8; margin-top: 4px; }
.pending, .draft-note { color: var(--body-text-color-subdued); font-style: italic; }
.stopped { color: var(--body-text-color-subdued); font-size: .9em; }
.cursor { animation: blink 1s steps(2, start) infinite; }
@keyframes blink { to { visibility: hidden; } }
.passages-head { font-weight: 600; margin: 2px 0 8px; }
.passages.empty, .doc.empty { color: var(--body-text-color-subdued); padding: 24px 8px; }
.passage { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px;
           margin-bottom: 10px; background: var(--background-fill-primary); scroll-margin: 12px; }
.passage.flash { animation: flash 1.8s ease-out; }
@keyframes flash { 0% { box-shadow: 0 0 0 3px #3b82f6; } 100% { box-shadow: 0 0 0 0 transparent; } }
.passage-title { font-weight: 600; }
.passage-title .num { color: var(--color-accent); margin-right: 4px; }
.passage-meta { font-size: .85em; color: var(--body-text-color-subdued); margin: 2px 0 6px; }
.passage-text { line-height: 1.75; white-space: pre-wrap; }
mark { background: rgba(250,204,21,.45); color: inherit; padding: 0 1px; border-radius: 2px; }
a.open-doc { display: inline-block; margin-top: 6px; font-size: .88em; }
#passages-panel, #document-view { max-height: 72vh; overflow-y: auto !important;
                                  padding-right: 4px; }
.doc-title { font-weight: 700; font-size: 1.05em; }
.doc-meta { font-size: .85em; color: var(--body-text-color-subdued); margin: 2px 0 10px; }
.doc-body { white-space: pre-wrap; line-height: 1.8; }
.doc-passage { background: rgba(59,130,246,.10); outline: 2px solid rgba(59,130,246,.45);
               border-radius: 4px; scroll-margin: 40vh; }
table.sources { width: 100%; border-collapse: collapse; font-size: .92em; }
table.sources th, table.sources td { border-bottom: 1px solid var(--border-color-primary);
                                      padding: 6px 8px; text-align: left; vertical-align: top; }
table.sources th, table.sources td { border-left: none !important; border-right: none !important; }
table.sources td.num { text-align: right; }
table.sources .nowrap { white-space: nowrap; }
table.sources .doc-id { font-size: .8em; color: var(--body-text-color-subdued); }
"""

# Clicks on [n] anywhere on the page (the chat's Markdown is not ours to script) are caught
# here: the passage card is scrolled to and flashed; when the panel shows another answer,
# or its tab is hidden, Python is asked to show the right one and the card is found after.
PANEL_JS = """
const findCard = (turn, n) => {
  const card = element.querySelector(`#cite-${turn}-${n}`);
  return card && card.offsetParent !== null ? card : null;
};
const flash = (card) => {
  card.scrollIntoView({behavior: 'smooth', block: 'nearest'});
  card.classList.remove('flash'); void card.offsetWidth; card.classList.add('flash');
};
const focusLater = (turn, n) => {
  let tries = 0;
  const timer = setInterval(() => {
    const card = findCard(turn, n);
    if (card) { clearInterval(timer); flash(card); }
    else if (++tries > 50) clearInterval(timer);
  }, 100);
};
if (!window.__luohuCites) {
  window.__luohuCites = true;
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest ? ev.target.closest('a.cite') : null;
    if (!a) return;
    ev.preventDefault(); ev.stopPropagation();
    // The chat's sanitizer drops data-* attributes: the target is read from the href.
    const m = (a.getAttribute('href') || '').match(/#cite-(\\d+)-(\\d+)/);
    if (!m) return;
    window.dispatchEvent(new CustomEvent('luohu-cite',
      {detail: {turn: Number(m[1]), n: Number(m[2])}}));
  }, true);
}
window.addEventListener('luohu-cite', (ev) => {
  const {turn, n} = ev.detail;
  const card = findCard(turn, n);
  if (card) { flash(card); return; }
  trigger('cite', {turn: turn, n: n});
  focusLater(turn, n);
});
element.addEventListener('click', (ev) => {
  const a = ev.target.closest('a.open-doc');
  if (!a) return;
  ev.preventDefault();
  trigger('open', {turn: Number(a.dataset.turn), n: Number(a.dataset.n)});
});
"""

# After a document is rendered (and its tab shown), bring the cited passage into view.
DOCUMENT_JS = """
const focusPassage = () => {
  let tries = 0;
  const timer = setInterval(() => {
    const el = element.querySelector('#doc-focus');
    if (el && el.offsetParent !== null) {
      clearInterval(timer);
      // Scroll the document's own box, so the page around it stays where it is.
      const box = element.closest('#document-view') || element;
      const offset = el.getBoundingClientRect().top - box.getBoundingClientRect().top;
      box.scrollTop += offset - box.clientHeight / 5;
      box.scrollIntoView({block: 'nearest'});
    } else if (++tries > 50) clearInterval(timer);
  }, 100);
};
focusPassage();  // the tab's content is mounted when first shown, with the document in it
watch('value', focusPassage);
"""

RATING_CHOICES = [("👍 有用", "up"), ("👎 没用", "down")]


def build_app(service: Service) -> gr.Blocks:
    with gr.Blocks(title="罗湖区报告问答助手", fill_width=True) as demo:
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
                with gr.Row():
                    docs = gr.Dropdown(
                        label="只检索这些文件",
                        info="不选即检索全部",
                        multiselect=True,
                        choices=document_choices(service, R.SCRIPTS[0]),
                        # The index may change under a running server (an ingest): ids
                        # not known at start are still accepted; unknown ones match nothing.
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
                        list(R.SCRIPTS),
                        value=R.SCRIPTS[0],
                        label="显示文字（简/繁）",
                        scale=2,
                        min_width=250,
                    )
                with gr.Row():
                    with gr.Column(scale=3):
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
                            send = gr.Button(
                                "发送", variant="primary", scale=1, min_width=70, elem_id="send"
                            )
                            stop = gr.Button(
                                "停止", variant="stop", scale=1, min_width=70, elem_id="stop"
                            )
                            clear = gr.Button("新对话", scale=1, min_width=70)
                        with gr.Row():
                            rating = gr.Radio(
                                RATING_CHOICES,
                                label="这个回答有帮助吗？",
                                scale=2,
                                min_width=250,
                                elem_id="rating",
                            )
                            comment = gr.Textbox(
                                label="补充意见（可选）",
                                placeholder="例如：数字对，但引用的段落不是最相关的",
                                scale=4,
                            )
                            send_feedback = gr.Button("提交反馈", scale=1, min_width=90)
                        feedback_status = gr.Markdown("", elem_id="feedback-status")
                    with gr.Column(scale=2), gr.Tabs(selected="passages") as side:
                        with gr.Tab("引用段落", id="passages"):
                            passages = gr.HTML(
                                R.EMPTY_PANEL, elem_id="passages-panel", js_on_load=PANEL_JS
                            )
                        with gr.Tab("原文全文", id="doc"):
                            document = gr.HTML(
                                R.EMPTY_DOCUMENT,
                                elem_id="document-view",
                                js_on_load=DOCUMENT_JS,
                            )
            with gr.Tab("资料来源", id="sources"):
                sources_status = gr.HTML("")
                sources = gr.HTML("", elem_id="sources-table")
                refresh = gr.Button("重新检查", size="sm")

        # -- handlers (closures over the shared service) ------------------------------------

        def on_load(shown: str) -> tuple[Any, ...]:
            kind, message = service.status()
            try:
                rows = service.source_rows()
            except IndexUnavailable:
                rows = []
            choices = document_choices(service, shown)
            notice = R.banner("warn", R.esc(service.notice)) if service.notice else ""
            return (
                R.banner(kind, message) + notice,
                gr.Dropdown(choices=choices),
                R.banner(kind, message),
                R.sources_table(rows, shown),
            )

        load_outputs = [status, docs, sources_status, sources]
        demo.load(on_load, [script], load_outputs, api_name="status")
        refresh.click(on_load, [script], load_outputs, api_visibility="private")

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

        ask_inputs = [question, docs, date_from, date_to, backend, script, state]
        ask_outputs = [chatbot, state, passages, question]
        common = {
            "show_progress": "hidden",
            "concurrency_limit": CHAT_CONCURRENCY,
            "concurrency_id": "answer",
        }
        submitted = question.submit(respond, ask_inputs, ask_outputs, api_name="ask", **common)
        clicked = send.click(respond, ask_inputs, ask_outputs, api_visibility="private", **common)

        def pick_example(evt: gr.SelectData) -> str:
            value = evt.value
            return value.get("text", "") if isinstance(value, dict) else str(value)

        example = chatbot.example_select(
            pick_example, None, question, api_visibility="private"
        ).then(respond, ask_inputs, ask_outputs, api_visibility="private", **common)

        def on_stop(st: ChatState, shown: str) -> tuple[Any, ...]:
            if st.turns and st.turns[-1].response is None and not st.turns[-1].error:
                st.turns[-1].stopped = True
            return chat_messages(st, shown), st

        stop.click(
            on_stop,
            [state, script],
            [chatbot, state],
            cancels=[submitted, clicked, example],
            api_name="stop",
            queue=False,
        )

        def on_clear() -> tuple[Any, ...]:
            return [], ChatState(), R.EMPTY_PANEL, R.EMPTY_DOCUMENT, None, "", ""

        # The chat's own trash button empties the chat; the session must forget it too.
        chatbot.clear(
            on_clear,
            None,
            [chatbot, state, passages, document, rating, comment, feedback_status],
            api_visibility="private",
        )
        clear.click(
            on_clear,
            None,
            [chatbot, state, passages, document, rating, comment, feedback_status],
            api_name="new_chat",
            cancels=[submitted, clicked, example],
        )

        def on_like(st: ChatState, evt: gr.LikeData) -> tuple[Any, ...]:
            index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
            turn = int(index) // 2
            value = "up" if evt.liked is True else "down" if evt.liked is False else ""
            message = record_feedback(service, st, turn, value, None)
            return st, (value or None), message

        chatbot.like(on_like, [state], [state, rating, feedback_status], api_visibility="private")

        def on_feedback(value: str | None, note: str, st: ChatState) -> tuple[Any, ...]:
            answered = st.answered()
            if not answered:
                return st, "还没有可以评价的回答。", note
            turn = st.rated if st.rated in answered else answered[-1]
            message = record_feedback(service, st, turn, value, note.strip())
            return st, message, ""

        send_feedback.click(
            on_feedback,
            [rating, comment, state],
            [state, feedback_status, comment],
            api_name="feedback",
        )

        def on_cite(st: ChatState, shown: str, evt: gr.EventData) -> tuple[Any, ...]:
            turn = int(evt.turn)
            if 0 <= turn < len(st.turns):
                st.focus = turn
            return panel(st, shown), st, gr.Tabs(selected="passages")

        passages.cite(  # type: ignore[attr-defined]
            on_cite, [state, script], [passages, state, side], api_visibility="private"
        )

        def on_open(st: ChatState, shown: str, evt: gr.EventData) -> tuple[Any, ...]:
            st.document = (int(evt.turn), int(evt.n))
            return document_html(service, st, shown), st, gr.Tabs(selected="doc")

        passages.open(  # type: ignore[attr-defined]
            on_open, [state, script], [document, state, side], api_visibility="private"
        )

        def open_passage(turn: int, n: int, shown: str, st: ChatState) -> tuple[Any, ...]:
            """The document view for passage n of answer `turn` (the API twin of the link)."""
            st.document = (int(turn), int(n))
            return document_html(service, st, shown), st

        api_turn = gr.Number(visible=False, precision=0)
        api_n = gr.Number(visible=False, precision=0)
        open_btn = gr.Button(visible=False)
        open_btn.click(
            open_passage, [api_turn, api_n, script, state], [document, state], api_name="open"
        )

        def on_script(st: ChatState, shown: str) -> tuple[Any, ...]:
            return chat_messages(st, shown), panel(st, shown), document_html(service, st, shown)

        script.change(
            on_script, [state, script], [chatbot, passages, document], api_visibility="private"
        )

        def on_backend(name: str) -> str:
            try:
                pipe = service.pipeline(name)
            except (IndexUnavailable, BackendError) as err:
                return R.banner("error", str(err))
            kind, message = service.status()
            name = pipe.backend.name
            return R.banner(
                kind, f"{message}；回答方式：{name} · {_model_label(service.cfg, name)}"
            )

        backend.change(on_backend, [backend], [status], api_visibility="private")
    return demo


def document_choices(service: Service, script: str) -> list[tuple[str, str]]:
    """(label, doc_id) for the document filter; none without an index."""
    try:
        rows = service.source_rows()
    except IndexUnavailable:
        return []
    return [
        (f"{R.show(r.doc.meta.title, script)}（{r.doc.meta.date or '日期未知'}）", r.doc.doc_id)
        for r in rows
    ]


def answer_turn(
    service: Service,
    st: ChatState,
    turn: UITurn,
    doc_ids: list[str] | None,
    start: str | None,
    end: str | None,
) -> Iterator[None]:
    """Run one question through `ask_stream`, updating `turn` as events arrive; yields
    whenever the page should be redrawn."""
    try:
        filters = make_filters(doc_ids, start, end)
        pipe = service.pipeline(turn.backend)
    except ValueError as err:
        turn.error = R.esc(str(err))
        return
    except (IndexUnavailable, BackendError) as err:
        turn.error = str(err) if isinstance(err, IndexUnavailable) else R.esc(str(err))
        return
    turn.filters_note = filters_note(filters)
    history = [
        Turn(t.question, t.response.standalone_question or t.question, t.response.answer)
        for t in st.turns[:-1]
        if t.response is not None and not t.response.refused
    ]
    events = ask_stream(pipe, turn.question, filters, history=history)
    last_flush = 0.0
    try:
        for event in events:
            if turn.stopped:
                return
            if isinstance(event, Rewritten):
                turn.standalone = event.standalone
                yield
            elif isinstance(event, Token):
                turn.draft += event.text
                now = time.perf_counter()
                if now - last_flush >= TOKEN_FLUSH_S:
                    last_flush = now
                    yield
            elif isinstance(event, Retry):
                turn.draft, turn.note = "", f"核对未通过（{event.problems}），正在重新生成…"
                yield
            elif isinstance(event, Response):
                turn.response = event
    except Exception as err:  # a fault must not leave the page spinning: say what happened
        log.exception("answering %r failed", turn.question)
        turn.error = R.esc(f"回答时出错：{err}")
    finally:
        events.close()


def record_feedback(
    service: Service, st: ChatState, turn: int, rating: str | None, comment: str | None
) -> str:
    """Store (or update) the feedback row of answer `turn`; returns what to tell the user."""
    if not (0 <= turn < len(st.turns)) or st.turns[turn].response is None:
        return "回答完成后才能评价。"
    st.rated = turn
    rating = rating if rating in ("up", "down", "") else None
    record_id = st.feedback.get(turn)
    if record_id is None:
        record = feedback_record(st, turn, rating or "", comment or "")
        st.feedback[turn] = service.feedback.add(record)
    else:
        service.feedback.update(record_id, rating=rating, comment=comment or None)
    thumb = {"up": "👍", "down": "👎"}.get(rating or "", "")
    said = "和意见" if comment else ""
    return f"已保存对第 {turn + 1} 个回答的评价{thumb}{said}，谢谢！"


def feedback_record(st: ChatState, turn: int, rating: str, comment: str) -> FeedbackRecord:
    t = st.turns[turn]
    assert t.response is not None
    r = t.response
    return FeedbackRecord(
        question=t.question,
        standalone_question=r.standalone_question,
        answer=r.answer,
        refused=r.refused,
        citations=[
            c.model_dump(
                include={"n", "doc_id", "title", "date", "section", "chunk_id", "start", "end"}
            )
            for c in (r.citations or R.shown_passages(r))
        ],
        backend=r.backend,
        rating=rating,
        comment=comment,
        session=st.session,
        turn=turn,
    )


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
        css=CSS,
    )
    return demo, url
