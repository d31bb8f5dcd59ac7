"""One browser tab: whose it is, which conversation it shows, its turns, which answer's
passages are shown; how a turn is answered through `ask_stream`, drawn, rated, and kept in
the history store.

A turn is stored as soon as it is asked and again when it is answered, stopped or failed,
so a reload in the middle loses at most the part of a draft since then.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from assistant.answer.conversation import Turn
from assistant.answer.events import Retrieved, Retry, Token
from assistant.answer.filters import filters_note, make_filters
from assistant.answer.pipeline import Prepared, answer_stream, asks_model, prepare, verified
from assistant.answer.question import BadQuestion, check_question
from assistant.backends.base import BackendError
from assistant.models import Citation, Response
from assistant.ui import render as R
from assistant.ui.feedback import FeedbackError, FeedbackRecord
from assistant.ui.history import Conversation, title_of
from assistant.ui.service import IndexUnavailable, Service

log = logging.getLogger(__name__)

TOKEN_FLUSH_S = 0.05  # stream tokens to the page at most this often (the first at once)
FEEDBACK_VALUES = {"up": "Like", "down": "Dislike"}  # our ratings as the chat's thumbs


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
    passages: list[Citation] = field(default_factory=list)  # what a draft's [n] point at
    rating: str = ""  # "up" | "down" | "": the thumb given to it
    feedback_id: int | None = None  # its row in the feedback store, once rated
    # What its feedback row is keyed by: one row per answer (a regenerated answer is a new
    # turn, with a key of its own), whichever control or session rates it.
    answer_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The verified answer is shown and the model's phrasing is still to come (queued or
    # streaming under it): what the model needs, kept for the second phase, never stored.
    prepared: Prepared | None = field(default=None, repr=False, compare=False)

    @property
    def phrasing(self) -> bool:
        return self.prepared is not None

    @property
    def finished(self) -> bool:
        return self.response is not None or self.stopped or bool(self.error)


@dataclass
class Settings:
    """What a conversation is asked with, restored when it is opened again."""

    backend: str = ""
    docs: list[str] = field(default_factory=list)
    date_from: str = ""
    date_to: str = ""
    script: str = R.AUTO

    @classmethod
    def of(cls, data: dict[str, Any]) -> Settings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class ChatState:
    session: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    user: str = ""  # whose history this tab reads and writes ("" until the page loaded)
    browser: str = ""  # the id the browser keeps (also when a login names the user)
    conversation: str = ""  # the open conversation's id; "" until its first question
    turns: list[UITurn] = field(default_factory=list)
    focus: int = -1  # the turn whose passages the panel shows
    rated: int = -1  # the turn a comment goes to (the last one thumbed)
    document: tuple[int, int] | None = None  # (turn, n) shown in the document view

    def answered(self) -> list[int]:
        return [i for i, t in enumerate(self.turns) if t.response is not None]


def new_state() -> ChatState:
    return ChatState()


# drawing ------------------------------------------------------------------------------------


def bot_message(turn: UITurn, i: int, chosen: str) -> str:
    """The assistant's bubble for turn i, whatever state the turn is in, in its one script."""
    script = R.turn_script(turn.question, chosen)
    if turn.error:
        return f'<div class="notice error">⛔ {turn.error}</div>'
    if turn.response is not None:
        shown = R.answer_message(turn.response, i, script, turn.filters_note)
        return shown + R.phrasing_note(turn.draft, script) if turn.phrasing else shown
    stopped = ""
    if turn.stopped:
        stopped = f'<div class="stopped">⏹ {R.show("已停止生成", script)}</div>'
    if turn.draft:
        text = R.draft_message(turn.draft, script, turn.note, not turn.stopped, i, turn.passages)
        return f"{text}\n\n{stopped}" if stopped else text
    if stopped:
        return stopped
    pending = R.esc(R.show(turn.note or "正在检索资料…", script))
    return f'<span class="pending">{pending}</span>'


def chat_messages(state: ChatState, chosen: str) -> list[dict[str, str]]:
    """User and assistant messages in pairs: message 2i+1 is always turn i's answer (the
    thumbs of the chat say which message they rate, and this maps it back to the turn)."""
    messages: list[dict[str, str]] = []
    for i, t in enumerate(state.turns):
        script = R.turn_script(t.question, chosen)
        messages.append(
            {"role": "user", "content": R.question_message(t.question, t.standalone, script)}
        )
        messages.append({"role": "assistant", "content": bot_message(t, i, chosen)})
    return messages


def feedback_values(state: ChatState) -> list[str | None]:
    """The chat's thumbs as stored, one per answer."""
    return [FEEDBACK_VALUES.get(t.rating) for t in state.turns]


def panel(state: ChatState, chosen: str) -> str:
    if not 0 <= state.focus < len(state.turns):
        return R.EMPTY_PANEL
    turn = state.turns[state.focus]
    script = R.turn_script(turn.question, chosen)
    if turn.response is not None:
        return R.response_panel(turn.response, state.focus, script)
    cited = R.draft_passages(turn.draft, turn.passages)
    return R.passages_panel(cited, state.focus, script, "draft") if cited else R.EMPTY_PANEL


def turn_passages(turn: UITurn) -> list[Citation]:
    if turn.response is not None:
        return R.shown_passages(turn.response)
    return R.draft_passages(turn.draft, turn.passages)


def document_html(service: Service, state: ChatState, chosen: str) -> str:
    if state.document is None:
        return R.EMPTY_DOCUMENT
    i, n = state.document
    if not 0 <= i < len(state.turns):
        return R.EMPTY_DOCUMENT
    turn = state.turns[i]
    cited = next((c for c in turn_passages(turn) if c.n == n), None)
    try:
        doc = service.document(cited.doc_id) if cited else None
    except IndexUnavailable as err:
        return R.banner("error", str(err))
    if cited is None or doc is None:
        return R.EMPTY_DOCUMENT
    return R.document_view(doc, cited, R.turn_script(turn.question, chosen))


def document_choices(service: Service) -> list[tuple[str, str]]:
    """(label, doc_id) for the document filter, titles with their year; none without an
    index."""
    try:
        rows = service.source_rows()
    except IndexUnavailable:
        return []
    return [(R.doc_title(r.doc.meta), r.doc.doc_id) for r in rows]


# answering ----------------------------------------------------------------------------------


def answer_turn(
    service: Service,
    st: ChatState,
    turn: UITurn,
    doc_ids: list[str] | None,
    start: str | None,
    end: str | None,
) -> Iterator[None]:
    """The first phase of an answer, quick and without the model: read, retrieve, judge,
    and the verified answer set as `turn.response`. When the backend's model is to
    phrase it, `turn.prepared` keeps what `phrase_turn` needs (the page queues that part
    behind every asker's verified answer). Yields when the page should be redrawn."""
    try:
        # before the pipeline is opened (its first use costs seconds): refused at once
        check_question(turn.question, service.cfg.answer.max_question_chars)
        filters = make_filters(doc_ids, start, end)
        pipe = service.pipeline(turn.backend)
    except BadQuestion as err:
        turn.error = R.esc(str(err))
        return
    except ValueError as err:  # a date that is no date
        turn.error = R.esc(f"{err}。没有按这个条件检索；请改正后再问。")
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
    try:
        prepared = prepare(pipe, turn.question, filters, history=history)
        turn.standalone = prepared.standalone if prepared.rewritten else ""
        if turn.standalone:
            yield
        turn.response = verified(pipe, prepared)
        if asks_model(pipe, prepared):
            turn.prepared = prepared
    except Exception as err:  # a fault must not leave the page spinning: say what happened
        log.exception("answering %r failed", turn.question)
        turn.error = R.esc(f"回答时出错：{err}")
    yield


def phrase_turn(service: Service, st: ChatState, turn: UITurn) -> Iterator[None]:
    """The second phase: the model writes its answer under the verified one, which its
    Response replaces (the model's when it passed the guard, else the extractive answer
    with the reason). Past `ui.answer_seconds` the model is stopped and the verified answer
    stands, so no one holds the model's slot from the others. Yields when the page should
    be redrawn."""
    prepared = turn.prepared
    if prepared is None:
        return
    seconds = service.cfg.ui.answer_seconds
    events = within(answer_stream(service.pipeline(turn.backend), prepared), seconds)
    last_flush = 0.0
    try:
        for event in events:
            if turn.stopped or turn.prepared is None:
                return
            if isinstance(event, Retrieved):
                turn.passages = event.passages
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
                turn.response, turn.draft, turn.note = event, "", ""
                st.rated = -1  # a comment now goes to this answer, unless another is thumbed
    except AnswerTimeout:
        if turn.response is not None:
            said = f"模型改写超过 {seconds:g} 秒，已停止（ui.answer_seconds）；以上是核对过的回答。"
            notice = f"{turn.response.notice} {said}".strip()
            turn.response = turn.response.model_copy(update={"notice": notice})
        turn.draft, turn.note = "", ""
    except Exception:  # the verified answer stands: the page shows it, the log says why
        log.exception("phrasing %r failed", turn.question)
    finally:
        turn.prepared = None
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


# history ------------------------------------------------------------------------------------


def turn_data(t: UITurn) -> dict[str, Any]:
    """A turn as the history store keeps it (JSON)."""
    return {
        "question": t.question,
        "backend": t.backend,
        "standalone": t.standalone,
        "draft": t.draft if t.response is None else "",
        "note": t.note if t.response is None else "",
        "response": t.response.model_dump(mode="json") if t.response is not None else None,
        # A turn left unfinished (the server stopped under it) reads as stopped.
        "stopped": t.stopped or not t.finished,
        "error": t.error,
        "filters_note": t.filters_note,
        "passages": [c.model_dump(mode="json") for c in t.passages] if t.response is None else [],
        "rating": t.rating,
        "feedback_id": t.feedback_id,
        "answer_id": t.answer_id,
    }


def turn_from(data: dict[str, Any]) -> UITurn:
    response = data.get("response")
    return UITurn(
        question=data.get("question", ""),
        backend=data.get("backend", ""),
        standalone=data.get("standalone", ""),
        draft=data.get("draft", ""),
        note=data.get("note", ""),
        response=Response.model_validate(response) if response else None,
        stopped=bool(data.get("stopped")),
        error=data.get("error", ""),
        filters_note=data.get("filters_note", ""),
        passages=[Citation.model_validate(c) for c in data.get("passages", [])],
        rating=data.get("rating", ""),
        feedback_id=data.get("feedback_id"),
        answer_id=data.get("answer_id") or uuid.uuid4().hex,
    )


def turn_words(t: UITurn) -> str:
    """What a search of the history finds a turn by."""
    answer = t.response.answer if t.response is not None else t.draft
    return " ".join((t.question, t.standalone, answer))


def save_turn(service: Service, st: ChatState, i: int, settings: Settings) -> None:
    """Store turn i of the open conversation, opening one on the first question."""
    if not st.user:
        return  # the page has not said whose tab this is yet: nothing to keep it under
    turn = st.turns[i]
    if not st.conversation:
        conv = service.history.create(st.user, title_of(turn.question), settings.__dict__)
        st.conversation = conv.id
    service.history.save_turn(st.user, st.conversation, i, turn_data(turn), turn_words(turn))


def open_conversation(service: Service, st: ChatState, conv_id: str) -> Conversation | None:
    """Load a conversation of this tab's user into the tab; None (and the tab unchanged)
    when there is no such conversation of theirs."""
    conv = service.history.get(st.user, conv_id) if st.user and conv_id else None
    if conv is None:
        return None
    st.conversation = conv.id
    st.turns = [turn_from(d) for d in service.history.turns(st.user, conv.id)]
    answered = st.answered()
    st.focus = answered[-1] if answered else -1
    st.rated, st.document = -1, None
    return conv


def start_new(st: ChatState) -> None:
    st.conversation, st.turns, st.focus, st.rated, st.document = "", [], -1, -1, None


def history_choices(service: Service, st: ChatState, query: str = "") -> list[tuple[str, str]]:
    """(label, id) of the user's conversations for the sidebar, newest first."""
    if not st.user:
        return []
    # The time as stored (UTC, ISO): static/page.js shows it in the reader's own zone.
    return [(f"{c.title} · {c.updated_at}", c.id) for c in service.history.list(st.user, query)]


# feedback -----------------------------------------------------------------------------------


def record_feedback(
    service: Service, st: ChatState, turn: int, rating: str | None, comment: str | None
) -> str:
    """Store (or update in place) the feedback of answer `turn`: one row per answer, keyed
    by it, whichever control gave it; returns what to tell the user. `None` leaves the
    thumb or the comment as it was."""
    if not (0 <= turn < len(st.turns)) or st.turns[turn].response is None:
        return "回答完成后才能评价。"
    rating = rating if rating in ("up", "down", "") else None
    t = st.turns[turn]
    try:
        record = feedback_record(st, turn, "", "")
        t.feedback_id = service.feedback.rate(record, rating=rating, comment=comment or None)
    except FeedbackError as err:
        return str(err)
    st.rated = turn
    if rating is not None:
        t.rating = rating
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
        answer_id=t.answer_id,
    )
