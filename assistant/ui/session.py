"""One browser tab: its turns, which answer's passages are shown, its feedback rows; how a
turn is answered through `ask_stream`, drawn as chat messages, and rated."""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from assistant.answer.conversation import Turn
from assistant.answer.events import Retry, Rewritten, Token
from assistant.answer.pipeline import ask_stream
from assistant.answer.question import BadQuestion, check_question
from assistant.backends.base import BackendError
from assistant.models import Response
from assistant.ui import render as R
from assistant.ui.feedback import FeedbackError, FeedbackRecord, answer_key
from assistant.ui.filters import filters_note, make_filters
from assistant.ui.service import IndexUnavailable, Service

log = logging.getLogger(__name__)

TOKEN_FLUSH_S = 0.05  # stream tokens to the page at most this often (the first at once)


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
    rated: int = -1  # the answer a comment goes to: one thumbed since the last answer came
    feedback: dict[int, int] = field(default_factory=dict)  # turn -> feedback record id
    document: tuple[int, int] | None = None  # (turn, n) shown in the document view

    def answered(self) -> list[int]:
        return [i for i, t in enumerate(self.turns) if t.response is not None]


def new_state() -> ChatState:
    return ChatState()


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
        # before the pipeline is opened (its first use costs seconds): refused at once
        check_question(turn.question, service.cfg.answer.max_question_chars)
        filters = make_filters(doc_ids, start, end)
        pipe = service.pipeline(turn.backend)
    except ValueError as err:  # BadQuestion too
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
    seconds = service.cfg.ui.answer_seconds
    events = within(ask_stream(pipe, turn.question, filters, history=history), seconds)
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
                st.rated = -1  # a comment now goes to this answer, unless another is thumbed
    except BadQuestion as err:
        turn.error = R.esc(str(err))
    except AnswerTimeout:
        turn.error = R.esc(
            f"回答超过 {seconds:g} 秒，已停止（ui.answer_seconds），以免占用其他同事的回答名额；"
            "请把问题问得更具体，或稍后再试。"
        )
    except Exception as err:  # a fault must not leave the page spinning: say what happened
        log.exception("answering %r failed", turn.question)
        turn.error = R.esc(f"回答时出错：{err}")
    finally:
        events.close()


class AnswerTimeout(Exception):
    """An answer ran past `ui.answer_seconds`."""


_DONE = object()


def within(events: Iterator[object], seconds: float) -> Iterator[object]:
    """`events` as they come, until `seconds` have passed: then AnswerTimeout. A worker
    thread pulls them, so a step that blocks (waiting for the local model while another
    user's answer is being written) cannot hold the page's answer slot past the limit; the
    abandoned answer stops at its next event."""
    pipe: queue.Queue[tuple[object, BaseException | None]] = queue.Queue()
    abandoned = threading.Event()

    def pump() -> None:
        try:
            for event in events:
                pipe.put((event, None))
                if abandoned.is_set():
                    break
            pipe.put((_DONE, None))
        except BaseException as err:  # handed to the page's thread, raised there
            pipe.put((_DONE, err))
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()

    threading.Thread(target=pump, name="answer", daemon=True).start()
    deadline = time.monotonic() + seconds
    try:
        while True:
            try:
                event, err = pipe.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AnswerTimeout from None
            if err is not None:
                raise err
            if event is _DONE:
                return
            yield event
    finally:
        abandoned.set()


def record_feedback(
    service: Service, st: ChatState, turn: int, rating: str | None, comment: str | None
) -> str:
    """Store (or update in place) the feedback of answer `turn`: one row per answer, keyed
    by it, whichever control gave it; returns what to tell the user. `None` leaves the
    thumb or the comment as it was."""
    if not (0 <= turn < len(st.turns)) or st.turns[turn].response is None:
        return "回答完成后才能评价。"
    rating = rating if rating in ("up", "down", "") else None
    try:
        record = feedback_record(st, turn, "", "")
        st.feedback[turn] = service.feedback.rate(record, rating=rating, comment=comment or None)
    except FeedbackError as err:
        return str(err)
    st.rated = turn
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
        answer_id=answer_key(st.session, turn),
    )
