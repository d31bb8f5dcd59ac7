"""The eval in the terminal: a progress bar per configuration and the summary tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from assistant.console import Bars, console
from assistant.evaluation.report import guard_counts, guard_line
from assistant.evaluation.results import Comparison, RunResult
from assistant.evaluation.tables import metric_cells, summary_rows


class EvalProgress(Bars):
    """One progress bar per configuration run."""

    def __init__(self) -> None:
        super().__init__(
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
            )
        )

    def task(self, label: str, total: int) -> Callable[[], None]:
        task_id = self._bar.add_task(label, total=total)
        return lambda: self._bar.advance(task_id)


# Short headers keep the table within 80 columns; LEGEND spells them out.
SHORT_COLUMNS = ("n", "acc", "supp", "refuse", "f.ref", "R@k", "MRR", "p50", "p95")
LEGEND = (
    "acc answer accuracy · supp supported accuracy · refuse refusal recall · "
    "f.ref false refusals · R@k retrieval recall@k · p50/p95 latency in ms"
)


def _rich_table(title: str, first: str, rows: Sequence[Sequence[str]]) -> Table:
    table = Table(title=title, box=None, pad_edge=False, header_style="bold underline")
    table.add_column(first, no_wrap=True)
    for header in SHORT_COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


def print_summary(result: RunResult) -> None:
    title = f"eval: {result.variant.name}"
    console.print(_rich_table(title, "kind", summary_rows(result.summary)))
    console.print(LEGEND, style="dim", highlight=False)
    if line := guard_line(guard_counts(result)):
        console.print(line, highlight=False, soft_wrap=True)
    if result.machine:
        console.print(f"machine: {result.machine.summary()}", style="dim", soft_wrap=True)
    if result.against:
        print_against(result)
    failures = sum(not r.verdict.passed for r in result.records)
    console.print(
        f"{failures} failure(s); report: {result.out_dir / 'report.html'}", soft_wrap=True
    )


def print_against(result: RunResult) -> None:
    """The run beside the earlier one: the counts, then each fixed and broken item."""
    against = result.against
    assert against is not None
    console.print(f"against {against.previous.path}: {against.summary()}", soft_wrap=True)
    if not against.same_gold:
        console.print("  (the gold file differs from that run's)", style="yellow")
    questions = {r.item.id: r for r in result.records}
    for status, style in (("fixed", "green"), ("broken", "red")):
        for item_id in against.ids(status):  # type: ignore[arg-type]
            r = questions[item_id]
            console.print(
                f"  {status:<6} {item_id} {r.item.kind}: {r.item.question}",
                style=style,
                highlight=False,
                markup=False,
                soft_wrap=True,
            )


def print_comparison(comparison: Comparison) -> None:
    rows = [[r.variant.name, *metric_cells(r.summary.overall)] for r in comparison.results]
    console.print(_rich_table("eval comparison", "configuration", rows))
    console.print(LEGEND, style="dim", highlight=False)
    for s in comparison.skipped:
        console.print(f"[yellow]skipped[/] {s.variant.name}: {s.reason}", highlight=False)
    console.print(f"written to {comparison.out_dir / 'comparison.md'}", soft_wrap=True)
