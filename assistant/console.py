"""Terminal rendering: the ingest progress bar and summary, documents, answers with their
citations and labelled timings, and the status line on standard error."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Self

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from assistant.answer.events import Generating, Retry, Token
from assistant.backends import registry
from assistant.backends.base import BackendError
from assistant.corpus.ingest import IngestSummary
from assistant.models import Citation, DocumentInfo, FactPoint, Response

console = Console()
err_console = Console(stderr=True)


class Bars:
    """Rich progress bars shown while the `with` block runs."""

    def __init__(self, bar: Progress) -> None:
        self._bar = bar

    def __enter__(self) -> Self:
        self._bar.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.__exit__(kind, err, tb)


class IngestProgress(Bars):
    """A progress bar over the chunks being embedded (the slow part of an ingest)."""

    def __init__(self) -> None:
        super().__init__(
            Progress(
                TextColumn("embedding"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
        )
        self._task: int | None = None

    def start(self, total: int) -> None:
        console.print(f"embedding {total} new chunks", highlight=False)
        self._task = self._bar.add_task("embed", total=total)

    def advance(self, n: int) -> None:
        if self._task is not None:
            self._bar.advance(self._task, n)


def print_ingest_summary(s: IngestSummary) -> None:
    for skipped in s.skipped:
        # escaped: a reason can quote "[Content_Types].xml", which rich reads as markup
        line = f"[yellow]skipped[/] {escape(skipped.path)}: {escape(skipped.reason)}"
        console.print(line, highlight=False)
    for dup in s.duplicates:
        console.print(
            f"[cyan]same content[/] {escape(dup.path)}: identical to {escape(dup.same_as)}, "
            "indexed once and listed under both names",
            highlight=False,
        )
    for doc_id, passages in s.flagged.items():
        console.print(
            f"[red]addressed to an assistant[/] {escape(doc_id)}: {len(passages)} passage(s), "
            f"shown as such, never used to answer: {escape(passages[0] if passages else '')}",
            highlight=False,
        )
    for path in s.copied:
        console.print(f"copied into the sources folder: {escape(path)}", highlight=False)
    for path in s.set_aside:
        console.print(f"set aside (not deleted): {escape(path)}", style="dim", highlight=False)
    table = Table(title="index up to date" if s.up_to_date else "ingest summary")
    table.add_column("")
    table.add_column("", justify="right")
    rows = {
        "documents": s.documents,
        "chunks": s.chunks,
        "added / changed / removed": f"{s.added} / {s.changed} / {s.removed}",
        "chunks embedded / reused": f"{s.embedded_chunks} / {s.reused_chunks}",
        "mojibake spans repaired / unrecoverable": f"{s.repaired_spans} / {s.unrecoverable_spans}",
        "files skipped": len(s.skipped),
        "duplicates (indexed once)": len(s.duplicates),
        "documents with text addressed to an assistant": len(s.flagged),
        "old generations removed (disk MB reclaimed)": (
            f"{s.generations_removed} ({s.disk_reclaimed_mb:.1f})"
        ),
        "seconds (embedding)": f"{s.seconds:.2f} ({s.embed_seconds:.2f})",
    }
    for key, value in rows.items():
        table.add_row(key, str(value))
    console.print(table)
    for label, ids in (("added", s.added_docs), ("changed", s.changed_docs)):
        if ids:
            console.print(f"{label}: {', '.join(ids)}", highlight=False, soft_wrap=True)
    if s.removed_docs:
        console.print(f"removed: {', '.join(s.removed_docs)}", highlight=False, soft_wrap=True)
    if s.missing_docs:
        console.print(
            f"\n{len(s.missing_docs)} 份文件已不在 sources 文件夹中，"
            "仍保留在索引里（回答仍会引用）：",
            style="yellow",
            highlight=False,
        )
        for doc_id in s.missing_docs:
            console.print(f"  {doc_id}", highlight=False, markup=False)
        console.print(
            "要从索引中移除：assistant ingest --prune（以上全部），或 assistant remove ID",
            style="dim",
            highlight=False,
            markup=False,
        )


def print_documents(docs: Sequence[DocumentInfo], title: str = "") -> None:
    """Documents one a line: id, title, date, passages, and a mark when the file is gone."""
    table = Table(title=title or None, box=None, pad_edge=False, header_style="bold")
    table.add_column("id", overflow="fold")
    table.add_column("标题", overflow="fold")
    table.add_column("日期", no_wrap=True)
    table.add_column("段落", justify="right", no_wrap=True)
    for d in docs:
        gone = "" if d.file_present else "（文件已不在 sources 中）"
        table.add_row(d.doc_id, d.title + gone, d.date or "–", str(d.chunks))
    console.print(table)


def backend_label(name: str) -> str:
    """Who wrote an answer, in the registry's plain words ("原文摘录", "本机模型")."""
    try:
        return registry.get(name).label.split("：")[0]
    except BackendError:
        return name


# Stages that are not part of finding the passages (the rest is what "检索" sums).
_NOT_RETRIEVAL = frozenset({"generate", "verify", "ttft", "rewrite"})


def duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def answer_footer(r: Response, asked: str | None = None) -> str:
    """How the answer came to be, labelled: "回答方式：原文摘录 · 检索 35 ms · 共 40 ms".
    `asked` is the backend the pipeline answers with; when another wrote the answer it
    says whether that model was asked at all."""
    how = backend_label(r.backend)
    if asked and asked != r.backend:
        model = backend_label(asked)
        how += f"（{model}的回答未采用）" if r.guard.attempts else f"（未调用{model}）"
    t = r.timings_ms
    parts = [f"回答方式：{how}"]
    if "rewrite" in t:
        parts.append(f"改写问题 {duration(t['rewrite'])}")
    parts.append(f"检索 {duration(sum(v for k, v in t.items() if k not in _NOT_RETRIEVAL))}")
    if r.guard.attempts:
        if "ttft" in t:
            parts.append(f"首字 {duration(t['ttft'])}")
        parts.append(f"生成 {duration(t.get('generate', 0.0))}")
    parts.append(f"共 {duration(r.latency_ms)}")
    return " · ".join(parts)


def print_response(r: Response, show_passages: bool = False, asked: str | None = None) -> None:
    """The answer, its citations one line each (with their passages under `show_passages`),
    the notice and the labelled timings."""
    if r.standalone_question:
        _say(f"（理解为：{r.standalone_question}）", "dim")
    _say(r.answer, "yellow" if r.refused else "bold")
    if r.citations:
        console.print()
    for c in r.citations:
        _say(_source_line(f"[{c.n}]", c), "cyan")
        if show_passages:
            _say(c.text + "\n")
    if r.refused and r.retrieved:
        _say("\n最接近的段落：", "dim")
        for c in r.retrieved[:3]:
            _say(_source_line("-", c), "dim")
            if show_passages:
                _say(c.text + "\n", "dim")
    if r.notice:
        _say(r.notice, "red")
    _say(f"\n{answer_footer(r, asked)}", "dim")


def _say(text: str, style: str = "") -> None:
    """Text as it is: no markup, no highlighting, and wrapped by the terminal, not cut into
    lines (a piped answer or passage stays one line)."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def _source_line(tag: str, c: Citation) -> str:
    where = f" › {c.section}" if c.section else ""
    return f"{tag} {c.title}（{c.date or '日期不详'}）{where}"


# ------------------------------------------------------------------------------ status


class _Activity:
    """What the status line shows: a spinner, the message, the seconds so far and, while a
    model writes, its draft (redrawn on every refresh)."""

    def __init__(self) -> None:
        self.message = ""
        self.draft = ""
        self.since = time.perf_counter()
        self._spinner = Spinner("dots")

    def __rich__(self) -> RenderableType:
        seconds = time.perf_counter() - self.since
        self._spinner.text = Text(f"{self.message} {seconds:.0f} s", style="dim")
        if not self.draft:
            return self._spinner
        return Group(self._spinner, Text(self.draft, style="dim"))


class StatusLine:
    """What a command is doing while it is slow, on standard error (standard output stays
    the answer, and `--json` parseable): on a terminal a spinner with the seconds elapsed
    and the model's draft, gone when done; otherwise one line per new message."""

    def __init__(self) -> None:
        self._activity = _Activity()
        self._live = (
            Live(self._activity, console=err_console, transient=True, refresh_per_second=8)
            if err_console.is_terminal
            else None
        )

    def __enter__(self) -> Self:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, err, tb)

    def update(self, message: str) -> None:
        if message == self._activity.message:
            return
        self._activity.message = message
        self._activity.since = time.perf_counter()
        if self._live is None:
            err_console.print(message, highlight=False, markup=False)

    def draft(self, text: str) -> None:
        self._activity.draft = text


LOADING = "正在载入模型…"
RETRIEVING = "检索中…"
GENERATING = "正在生成回答…"


def follow(events: Iterable[object], status: StatusLine) -> Response:
    """Run `ask_stream` events to their Response, showing on `status` what is happening:
    retrieval, the model writing (its draft, replaced by the checked answer), a rejected
    draft being written again."""
    status.update(RETRIEVING)
    draft = ""
    for event in events:
        if isinstance(event, Generating):
            status.update(GENERATING)
        elif isinstance(event, Token):
            draft += event.text
            status.draft(draft)
        elif isinstance(event, Retry):
            status.update(f"核对未通过（{event.problems}），重新生成…")
            draft = ""
            status.draft(draft)
        elif isinstance(event, Response):
            return event
    raise AssertionError("ask_stream ends with a Response")


_STATUS = {"actual": "实际", "target": "目标"}


def print_facts(metric: str, points: list[FactPoint]) -> None:
    """A metric's figures by period: value, status, whom, and where each is stated."""
    if not points:
        console.print(f"资料中没有“{metric}”的数据", style="yellow")
        return
    table = Table(title=metric)
    for column in ("period", "value", "status", "kind", "subject", "source", "clause"):
        table.add_column(column)
    for p in points:
        table.add_row(
            p.period_zh,
            p.mention,
            _STATUS.get(p.status, p.status),
            p.kind,
            p.subject,
            f"{p.title[:16]} ({p.date})",
            p.clause,
        )
    console.print(table)
