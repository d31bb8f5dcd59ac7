"""Terminal rendering: the ingest progress bar and summary, and answers with their passages."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from assistant.answer.events import Retry, Rewritten, Token
from assistant.corpus.ingest import IngestSummary
from assistant.models import FactPoint, Response

console = Console()


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


def print_response(r: Response) -> None:
    style = "yellow" if r.refused else "bold"
    console.print(r.answer, style=style, markup=False, highlight=False)
    for c in r.citations:
        console.print(f"\n[{c.n}] {c.title} ({c.date}) › {c.section}", style="cyan", markup=False)
        console.print(c.text, markup=False, highlight=False)
    if r.refused and r.retrieved:
        console.print("\n最接近的段落 / closest passages:", style="dim")
        for c in r.retrieved[:3]:
            console.print(f"- {c.title} › {c.section}: {c.text[:80]}…", style="dim", markup=False)
    if r.notice:
        console.print(r.notice, style="red", markup=False)
    ttft = r.timings_ms.get("ttft")
    first = f"first token {ttft:.0f} ms, " if ttft is not None else ""
    console.print(f"\n({r.backend}, {first}{r.latency_ms:.0f} ms)", style="dim")


def show_stream(events: Iterable[object]) -> Response:
    """Render `ask_stream` events: the rewritten question, the draft growing token by token
    (replaced, not kept, once the checked answer arrives), then the answer and passages."""
    draft = ""
    with Live(Text(""), console=console, transient=True, refresh_per_second=12) as live:
        for event in events:
            if isinstance(event, Rewritten):
                live.console.print(f"（理解为：{event.standalone}）", style="dim", markup=False)
            elif isinstance(event, Token):
                draft += event.text
                live.update(Text(draft, style="dim"))
            elif isinstance(event, Retry):
                note = f"（核对未通过：{event.problems}；重新生成）"
                live.console.print(note, style="dim", markup=False)
                draft = ""
                live.update(Text(""))
            elif isinstance(event, Response):
                live.update(Text(""))
                response = event
    print_response(response)
    return response


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
