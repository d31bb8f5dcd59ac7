"""The `assistant` command line. Each command is thin: parse, call the package, print.

What a command needs is imported when it runs: `assistant ingest` must not pay for
llama-index, nor `assistant ask` for gradio.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from assistant import __version__
from assistant.answer.question import BadQuestion, check_question
from assistant.backends import registry
from assistant.backends.base import BackendError
from assistant.config import Config, ConfigError, load_config
from assistant.corpus.ingest import EmptyCorpus
from assistant.corpus.library import CorpusError
from assistant.index.generations import IndexMismatch, IndexMissing, read_manifest
from assistant.index.lock import IndexBusy
from assistant.index.vectors import StoreError
from assistant.models import DocumentInfo

if TYPE_CHECKING:
    from assistant.answer.pipeline import Pipeline
    from assistant.console import StatusLine

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """Printed as one line, exit code 1; never a traceback."""


def friendly(func: F) -> F:
    """Turn the package's expected failures into one-line errors."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (
            ConfigError,
            IndexMissing,
            IndexMismatch,
            IndexBusy,
            StoreError,
            BackendError,
            BadQuestion,
            CorpusError,
            EmptyCorpus,
        ) as err:
            raise UserError(str(err)) from err

    return wrapper  # type: ignore[return-value]


class BackendChoice(click.Choice):  # type: ignore[type-arg]
    """The registered backends, read when the command runs (a backend registered by a
    plugin is a choice too)."""

    def __init__(self) -> None:
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> Sequence[str]:
        return registry.names()

    @choices.setter
    def choices(self, value: Sequence[str]) -> None:
        pass  # click sets it in __init__; the registry is the only source


EXAMPLES = """\b
Examples:
  assistant ingest                    index the new and changed reports of sources/
  assistant ingest ~/new/report.docx  add a report (copied into sources/)
  assistant sources                   the indexed reports: ids, titles, dates, passages
  assistant remove 003_6c292aaa073e0d9c.txt
  assistant ask "2020年罗湖区地区生产总值是多少？"
  assistant ask "羅湖區2025年的目標是什麼？" --show-passages
  assistant chat --backend local      questions in the terminal, the local model answering
  assistant eval --against eval/out/20261201-101500
"""


@click.group(epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="assistant")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Config file (default: ./assistant.toml if present).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Cited answers about Luohu District reports, offline."""
    try:
        ctx.obj = load_config(config_path)
    except ConfigError as err:
        raise UserError(str(err)) from err


def _cfg(ctx: click.Context) -> Config:
    return ctx.obj  # type: ignore[no-any-return]


@cli.command(
    epilog="""\b
Examples:
  assistant ingest                  new and changed files of sources/; nothing is removed
  assistant ingest report.pdf dir/  add (or update) these; copied into sources/ first
  assistant ingest --prune          also remove what is gone from sources/ (listed, asked)
  assistant ingest --rebuild        embed everything again (another embedding model)
"""
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--rebuild", is_flag=True, help="Ignore the existing index and embed everything.")
@click.option(
    "--prune",
    is_flag=True,
    help="Also remove the documents whose files are gone from the sources folder (listed "
    "and confirmed first).",
)
@click.option("--yes", "-y", is_flag=True, help="Remove without asking.")
@click.pass_context
@friendly
def ingest(
    ctx: click.Context, paths: tuple[Path, ...], rebuild: bool, prune: bool, yes: bool
) -> None:
    """Add and update reports (PATHS, or the sources folder).

    PATHS are files or folders; those outside the sources folder are copied into it. Without
    PATHS, every new and changed file of the sources folder. Nothing is removed unless
    --prune; a document whose file is gone is listed with how to remove it."""
    from assistant.console import IngestProgress, print_ingest_summary
    from assistant.corpus.library import missing_documents, update

    cfg = _cfg(ctx)
    remove: list[str] = []
    if prune:
        gone = missing_documents(cfg)
        if gone:
            _confirm_removal(gone, "文件已不在 sources 文件夹中，将从索引中移除：", yes)
            remove = [d.doc_id for d in gone]
        else:
            click.echo("没有要移除的文件：索引中每份文件都还在 sources 文件夹里。")
    with IngestProgress() as progress:
        summary = update(
            cfg,
            list(paths) or None,
            remove,
            rebuild=rebuild,
            progress=progress,
            on_wait=lambda message: click.echo(message, err=True),
        )
    print_ingest_summary(summary)


@cli.command()
@click.argument("doc_ids", nargs=-1, required=True, metavar="DOC...")
@click.option("--yes", "-y", is_flag=True, help="Remove without asking.")
@click.pass_context
@friendly
def remove(ctx: click.Context, doc_ids: tuple[str, ...], yes: bool) -> None:
    """Remove documents from the index (listed and confirmed first).

    DOC is an id as `assistant sources` lists it. The files are moved out of the sources
    folder to data/removed/, not deleted."""
    from assistant.console import IngestProgress, print_ingest_summary
    from assistant.corpus.library import find_documents, remove_documents

    cfg = _cfg(ctx)
    _confirm_removal(find_documents(cfg, list(doc_ids)), "将从索引中移除：", yes)
    with IngestProgress() as progress:
        summary = remove_documents(cfg, list(doc_ids), progress)
    print_ingest_summary(summary)


def _confirm_removal(docs: Sequence[DocumentInfo], heading: str, yes: bool) -> None:
    """List what will be removed, then ask (on a terminal) or require --yes (otherwise)."""
    from assistant.console import print_documents

    click.echo(f"{heading}（{len(docs)} 份）")
    print_documents(docs)
    if yes:
        return
    if not sys.stdin.isatty():
        raise UserError(
            f"not removing {len(docs)} document(s) without confirmation: nothing was changed; "
            "run it on a terminal to be asked, or add --yes"
        )
    if not click.confirm(f"确定移除以上 {len(docs)} 份文件？", default=False):
        raise UserError("已取消，未作任何改动。")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
@friendly
def sources(ctx: click.Context, as_json: bool) -> None:
    """List the indexed documents: id, title, date, passages.

    The id is what `ask --doc` and `remove` take; a document whose file is gone from the
    sources folder is marked."""
    from assistant.console import print_documents
    from assistant.corpus.library import documents

    docs = documents(_cfg(ctx))
    if as_json:
        rows = [d.model_dump() for d in docs]
        click.echo(json.dumps({"documents": rows}, ensure_ascii=False))
        return
    print_documents(docs, title=f"{len(docs)} 份文件")


@cli.command(
    epilog="""\b
Examples:
  assistant ask "2023年罗湖区地区生产总值是多少？"
  assistant ask "羅湖區今年的目標是什麼？" --show-passages
  assistant ask "社会消费品零售总额" --from 2021-01-01 --to 2021-12-31 --json
  assistant ask "..." --doc 000_4f2a037b8341d7e8.txt   (ids: assistant sources)
"""
)
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--backend", type=BackendChoice(), default=None, help="Who writes the answer.")
@click.option("--mode", type=click.Choice(["bm25", "dense", "hybrid"]), default=None)
@click.option(
    "--doc", "doc_ids", multiple=True, help="Only this document (repeatable; assistant sources)."
)
@click.option(
    "--from", "date_from", default=None, help="Earliest document date: 2019, 2019-06 or 2019-06-30."
)
@click.option("--to", "date_to", default=None, help="Latest document date, the same forms.")
@click.option(
    "--show-passages", is_flag=True, help="Print the cited passages under their citations."
)
@click.pass_context
@friendly
def ask(
    ctx: click.Context,
    question: str,
    as_json: bool,
    backend: str | None,
    mode: str | None,
    doc_ids: tuple[str, ...],
    date_from: str | None,
    date_to: str | None,
    show_passages: bool,
) -> None:
    """Answer QUESTION with numbered citations.

    Prints the answer, one line per cited passage (the passages with --show-passages) and
    how the answer was made, with its timings. What it is doing meanwhile goes to standard
    error."""
    from assistant.answer.filters import make_filters
    from assistant.answer.pipeline import ask_stream
    from assistant.console import StatusLine, follow, print_response
    from assistant.corpus.library import find_documents

    # Before the pipeline is opened (seconds): a question refused is refused at once.
    check_question(question, _cfg(ctx).answer.max_question_chars)
    try:
        filters = make_filters(list(doc_ids), date_from, date_to)
    except ValueError as err:  # a date that is no date: said, not ignored
        raise UserError(str(err)) from err
    if doc_ids:
        find_documents(_cfg(ctx), list(doc_ids))  # before the model loads, not after
    with StatusLine() as status:
        pipe = _open_pipeline(_cfg(ctx), backend, status)
        response = follow(ask_stream(pipe, question, filters, mode=mode), status)
    if as_json:
        click.echo(json.dumps(response.model_dump(), ensure_ascii=False))
    else:
        print_response(response, show_passages, asked=pipe.backend_name)


def _open_pipeline(cfg: Config, backend: str | None, status: StatusLine) -> Pipeline:
    """The pipeline of `ask` and `chat`, with the status line saying so while it loads (a
    local model takes half a minute on two cores). A backend that cannot answer is said
    by each answer's notice."""
    from assistant.answer.factory import open_pipeline
    from assistant.console import LOADING

    status.update(LOADING)
    return open_pipeline(cfg, backend)


@cli.command()
@click.option("--backend", type=BackendChoice(), default=None, help="Who writes the answer.")
@click.pass_context
@friendly
def chat(ctx: click.Context, backend: str | None) -> None:
    """Ask questions in the terminal; an empty line or Ctrl-D quits."""
    from assistant.answer.conversation import Conversation
    from assistant.answer.pipeline import ask_stream
    from assistant.console import StatusLine, backend_label, follow, print_response

    cfg = _cfg(ctx)
    with StatusLine() as status:
        pipe = _open_pipeline(cfg, backend, status)
    click.echo(f"罗湖报告助手（回答方式：{backend_label(pipe.backend_name)}）；空行退出")
    history = Conversation(max_turns=cfg.llm.history_turns)
    while True:
        try:
            question = input("问> ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo()
            break
        if not question:
            break
        if pipe.index.manifest != read_manifest(cfg.paths.index_dir):
            with StatusLine() as status:  # an ingest made another generation live
                pipe = _open_pipeline(cfg, backend, status)
        try:
            with StatusLine() as status:
                response = follow(ask_stream(pipe, question, history=history.turns), status)
        except BadQuestion as err:
            click.echo(str(err), err=True)
            continue
        print_response(response, asked=pipe.backend_name)
        history.add(question, response.standalone_question, response.answer)


@cli.command()
@click.argument("metric")
@click.option("--subject", default=None, help="Only this district or body, e.g. 罗湖 or 光明区.")
@click.option(
    "--kind",
    type=click.Choice(["level", "change", "share", "rank", "any"]),
    default="any",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
@friendly
def facts(ctx: click.Context, metric: str, subject: str | None, kind: str, as_json: bool) -> None:
    """The figures of METRIC across documents and periods, e.g. 社会消费品零售总额."""
    from assistant.answer.facts import metric_series, point_of
    from assistant.answer.question import normalize
    from assistant.console import print_facts
    from assistant.facts.reader import named_subject
    from assistant.index.live import Index

    index = Index.open(_cfg(ctx))
    who = (named_subject(normalize(subject), subject) or normalize(subject)) if subject else None
    series = metric_series(index, normalize(metric), who, None if kind == "any" else kind)
    points = [point_of(index, f) for f in series]
    if as_json:
        rows = [p.model_dump() for p in points]
        click.echo(json.dumps({"metric": metric, "facts": rows}, ensure_ascii=False))
    else:
        print_facts(metric, points)


@cli.command("eval-facts")
@click.option(
    "--mentions",
    "mention_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Annotated mentions (default: eval/facts/mentions*.jsonl).",
)
@click.option(
    "--sources",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The annotated reports (default: the sources folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--errors", type=int, default=0, help="Show up to N disagreements per slot.")
@click.pass_context
@friendly
def eval_facts(
    ctx: click.Context,
    mention_files: tuple[Path, ...],
    sources: Path | None,
    as_json: bool,
    errors: int,
) -> None:
    """Score the fact extractor against hand-annotated figure mentions: precision and
    recall of the mentions found and of each slot (metric, subject, period, status)."""
    from assistant.evaluation.facts import (
        ingested_documents,
        load_annotations,
        score_facts,
        summary_lines,
    )

    cfg = _cfg(ctx)
    files = list(mention_files) or sorted(Path("eval/facts").glob("mentions*.jsonl"))
    if not files:
        raise UserError("no annotated mentions: give --mentions FILE")
    score = score_facts(
        load_annotations(files), ingested_documents(cfg, sources or cfg.paths.sources)
    )
    if as_json:
        click.echo(json.dumps(score.as_dict(), ensure_ascii=False))
        return
    for line in summary_lines(score):
        click.echo(line)
    for slot, rows in score.wrong.items():
        for row in rows[:errors]:
            click.echo(f"  {slot}: {row}")


@cli.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Report whether the index, the embedding model and the backend are ready."""
    from assistant.doctor import run_checks

    ok = True
    for check in run_checks(_cfg(ctx)):
        mark = ("warn" if check.warn else "ok  ") if check.ok else "FAIL"
        click.echo(f"[{mark}] {check.name}: {check.detail}")
        ok &= check.ok
    sys.exit(0 if ok else 1)


@cli.command("eval")
@click.option(
    "--gold",
    "gold_path",
    type=click.Path(path_type=Path),
    default=Path("eval/gold.jsonl"),
    show_default=True,
    help="Gold set, one JSON object a line.",
)
@click.option("--backend", type=BackendChoice(), default=None)
@click.option("--mode", type=click.Choice(["bm25", "dense", "hybrid"]), default=None)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: eval/out/<timestamp>).",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N items.")
@click.option(
    "--compare",
    "compare_all",
    is_flag=True,
    help="Run every retrieval mode and every available backend side by side.",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Continue the run in DIR (one that died): its own gold set, backend and mode; "
    "only the items without a prediction are asked.",
)
@click.option(
    "--against",
    "against_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="An earlier run's folder: each item beside it (fixed, broken, unchanged), in the "
    "console and the report. With --compare, each configuration against its subfolder.",
)
@click.pass_context
@friendly
def eval_command(
    ctx: click.Context,
    gold_path: Path,
    backend: str | None,
    mode: str | None,
    out_dir: Path | None,
    limit: int | None,
    compare_all: bool,
    resume_dir: Path | None,
    against_dir: Path | None,
) -> None:
    """Score the assistant on a gold set: predictions, report.json and report.html.

    The report shows every item (question, expected, answer, cited passages with the
    evidence marked, latency, what the guard did), filters by kind and outcome, and the
    machine's load during the run."""
    from assistant.console import err_console
    from assistant.evaluation.against import RunError, load_run
    from assistant.evaluation.console import EvalProgress, print_comparison, print_summary
    from assistant.evaluation.gold import GoldError, load_gold
    from assistant.evaluation.run import (
        ResumeError,
        check_resumable,
        compare,
        configure,
        default_out_dir,
        evaluate,
        open_scored_pipeline,
        read_spec,
    )
    from assistant.index.generations import read_manifest

    resume = resume_dir is not None
    try:
        if resume_dir is not None:
            given = [
                f"--{name.replace('_', '-')}"
                for name in ("gold_path", "backend", "mode", "out_dir", "limit", "compare_all")
                if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
            ]
            if given:
                raise ResumeError(
                    f"--resume continues a run with its own settings; drop {', '.join(given)}"
                )
            spec = read_spec(resume_dir)
            gold_path, backend, mode = Path(spec.gold), spec.backend, spec.mode
            limit, compare_all, out_dir = spec.items, spec.compare, resume_dir
        gold = load_gold(gold_path)
        if resume_dir is not None:
            live = read_manifest(_cfg(ctx).paths.index_dir)
            check_resumable(spec, gold, live.generation if live else "")
        previous = load_run(against_dir) if against_dir and not compare_all else None
    except (GoldError, ResumeError, RunError) as err:
        raise UserError(str(err)) from err
    for warning in gold.warnings:
        err_console.print(f"warning: {warning}", style="yellow", markup=False, soft_wrap=True)
    items = gold.items[:limit] if limit else gold.items
    cfg = configure(_cfg(ctx), backend, mode)
    out = out_dir or default_out_dir()
    if compare_all:
        with EvalProgress() as progress:
            comparison = compare(cfg, gold, items, out, progress, resume, against_dir)
        print_comparison(comparison)
        return
    pipe = open_scored_pipeline(cfg)
    with EvalProgress() as progress:
        result = evaluate(pipe, gold, items, out, progress, resume, previous)
    print_summary(result)


@cli.command()
@click.option("--host", default=None, help="Address to bind (default: ui.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Default: ui.port.")
@click.pass_context
@friendly
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the web UI for staff (chat, cited passages, sources, feedback)."""
    from assistant.ui.app import launch

    cfg = _cfg(ctx)
    click.echo(f"正在加载 / loading… then http://{host or cfg.ui.host}:{port or cfg.ui.port}")
    launch(cfg, host=host, port=port, block=True)


@cli.group()
def feedback() -> None:
    """Staff feedback given in the web UI."""


@feedback.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
@click.pass_context
def feedback_export(ctx: click.Context, fmt: str, out: Path | None) -> None:
    """Write every feedback record (question, answer, citations, backend, time) as JSONL
    or CSV."""
    from assistant.ui.feedback import FeedbackStore, feedback_path

    path = feedback_path(_cfg(ctx))
    if not path.exists():
        raise UserError(f"no feedback yet: {path} does not exist")
    store = FeedbackStore(path)
    export = store.export_jsonl if fmt == "jsonl" else store.export_csv
    if out is None:
        export(sys.stdout)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    # utf-8-sig for CSV: spreadsheet programs then read the Chinese text correctly.
    encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
    with out.open("w", encoding=encoding, newline="") as fh:
        count = export(fh)
    click.echo(f"{count} feedback records written to {out}", err=True)


@cli.command()
@click.option("--scales", default=None, help="Corpus multiples (default: 1,10,100,1000).")
@click.option("--quick", is_flag=True, help="Only 1x, 10x and 100x.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("eval/bench"),
    show_default=True,
    help="Where bench.json, bench.md and bench.png go.",
)
@click.option(
    "--backend",
    type=BackendChoice(),
    default=None,
    help="Backend of the comparison with the plain llama-index pipeline (default: extractive).",
)
@click.option(
    "--gold",
    "gold_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("eval/gold.jsonl"),
    show_default=True,
)
@click.option("--questions", type=click.IntRange(min=1), default=None, help="First N questions.")
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Cold starts of `assistant ask` per scale.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Synthetic corpus seed.")
@click.option(
    "--distractors",
    type=click.Choice(["other-places", "restated"]),
    default="other-places",
    show_default=True,
    help="Synthetic reports: other districts' (honest), or Luohu's restated (the old corpus).",
)
@click.option("--no-baseline", is_flag=True, help="Skip the plain llama-index comparison.")
@click.option("--no-ui", is_flag=True, help="Skip the UI process measurement.")
@click.option(
    "--memory-questions",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Questions asked of one query process and of the UI process, with the local "
    "backend, their memory read after each (0: skip; about 5 s a question each).",
)
@click.option(
    "--users",
    default="1,10",
    show_default=True,
    help="Staff asking the page at once, one round per count, with the local backend: "
    "when each sees the verified answer and the model's phrasing (0: skip).",
)
@click.option(
    "--work",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Scratch folder for the scaled indexes (default: the system temp folder).",
)
@click.pass_context
@friendly
def bench(
    ctx: click.Context,
    scales: str | None,
    quick: bool,
    out_dir: Path,
    backend: str | None,
    gold_path: Path,
    questions: int | None,
    repeats: int,
    seed: int,
    distractors: str,
    no_baseline: bool,
    no_ui: bool,
    memory_questions: int,
    users: str,
    work: Path | None,
) -> None:
    """Measure ingest, query latency per stage, memory and disk at growing corpus sizes,
    and compare with a plain llama-index pipeline; writes JSON, markdown and a plot."""
    from assistant.bench.measure import BenchError
    from assistant.bench.results import DEFAULT_SCALES, QUICK_SCALES, BenchOptions
    from assistant.bench.run import run_bench

    try:
        chosen = tuple(int(x) for x in scales.split(",")) if scales else None
    except ValueError as err:
        raise UserError(f"--scales takes integers separated by commas, got {scales!r}") from err
    if chosen and min(chosen) < 1:
        raise UserError("--scales must be 1 or more")
    try:
        rounds = tuple(n for n in (int(x) for x in users.split(",")) if n > 0)
    except ValueError as err:
        raise UserError(f"--users takes integers separated by commas, got {users!r}") from err
    opts = BenchOptions(
        scales=chosen or (QUICK_SCALES if quick else DEFAULT_SCALES),
        out_dir=out_dir,
        backend=backend,
        gold=gold_path,
        questions=questions,
        seed=seed,
        distractors=distractors.replace("-", "_"),
        repeats=repeats,
        baseline=not no_baseline,
        ui=not no_ui,
        work=work,
        command="assistant " + " ".join(sys.argv[1:]),
        memory_questions=memory_questions,
        users=rounds,
    )
    try:
        run_bench(_cfg(ctx), opts, log=lambda line: click.echo(line, err=True))
    except BenchError as err:
        raise UserError(str(err)) from err
    click.echo(f"bench results in {out_dir}: bench.json, bench.md, bench.png")


def main() -> None:
    cli(prog_name="assistant")


if __name__ == "__main__":
    main()
