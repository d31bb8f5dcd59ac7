"""The `assistant` command line. Each command is thin: parse, call the package, print."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from assistant.config import Config, ConfigError, load_config

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """Printed as one line, exit code 1; never a traceback."""


def friendly(func: F) -> F:
    """Turn the package's expected failures into one-line errors."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from assistant.backends import BackendError
        from assistant.index import IndexMismatch, IndexMissing
        from assistant.store import StoreError

        try:
            return func(*args, **kwargs)
        except (ConfigError, IndexMissing, IndexMismatch, StoreError, BackendError) as err:
            raise UserError(str(err)) from err

    return wrapper  # type: ignore[return-value]


@click.group()
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


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--rebuild", is_flag=True, help="Ignore the existing index and embed everything.")
@click.pass_context
@friendly
def ingest(ctx: click.Context, paths: tuple[Path, ...], rebuild: bool) -> None:
    """Ingest PATHS (default: the sources folder); the index then mirrors them."""
    from assistant.ingest import ingest as run_ingest
    from assistant.report import IngestProgress, print_ingest_summary

    with IngestProgress() as progress:
        summary = run_ingest(_cfg(ctx), list(paths) or None, rebuild=rebuild, progress=progress)
    print_ingest_summary(summary)


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--backend", default=None, help="extractive | local | openai")
@click.option("--mode", type=click.Choice(["bm25", "dense", "hybrid"]), default=None)
@click.option("--doc", "doc_ids", multiple=True, help="Only these document ids.")
@click.option("--from", "date_from", default=None, help="Earliest document date, YYYY-MM-DD.")
@click.option("--to", "date_to", default=None, help="Latest document date, YYYY-MM-DD.")
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
) -> None:
    """Answer QUESTION with numbered citations."""
    from assistant.answer import Pipeline
    from assistant.answer import ask as run_ask
    from assistant.report import print_response
    from assistant.retrieve import Filters

    pipe = Pipeline.open(_cfg(ctx), backend)
    filters = Filters(list(doc_ids) or None, date_from, date_to)
    response = run_ask(pipe, question, filters, mode=mode)
    if as_json:
        click.echo(json.dumps(response.model_dump(), ensure_ascii=False))
    else:
        print_response(response)


@cli.command()
@click.option("--backend", default=None, help="extractive | local | openai")
@click.pass_context
@friendly
def chat(ctx: click.Context, backend: str | None) -> None:
    """Ask questions in the terminal; an empty line or Ctrl-D quits."""
    from assistant.answer import Pipeline, ask_stream
    from assistant.conversation import Conversation
    from assistant.report import show_stream

    cfg = _cfg(ctx)
    click.echo("正在加载 / loading…")
    pipe = Pipeline.open(cfg, backend)
    click.echo(f"罗湖报告助手 ({pipe.backend.name}); 空行退出 / empty line quits")
    if pipe.notice:
        click.echo(pipe.notice)
    history = Conversation(max_turns=cfg.llm.history_turns)
    while True:
        try:
            question = input("问> ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo()
            break
        if not question:
            break
        response = show_stream(ask_stream(pipe, question, history=history.turns))
        history.add(question, response.standalone_question, response.answer)


@cli.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Report whether the index, the embedding model and the backend are ready."""
    from assistant.doctor import run_checks

    ok = True
    for check in run_checks(_cfg(ctx)):
        mark = "ok  " if check.ok else "FAIL"
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
@click.option("--backend", type=click.Choice(["extractive", "local", "openai"]), default=None)
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
) -> None:
    """Score the assistant on a gold set: predictions, report.json and report.html."""
    from assistant.eval_report import EvalProgress, print_comparison, print_summary
    from assistant.evaluate import (
        compare,
        configure,
        default_out_dir,
        evaluate,
        load_gold,
        open_pipeline,
    )
    from assistant.score import GoldError

    try:
        gold = load_gold(gold_path)
    except GoldError as err:
        raise UserError(str(err)) from err
    items = gold.items[:limit] if limit else gold.items
    cfg = configure(_cfg(ctx), backend, mode)
    out = out_dir or default_out_dir()
    if compare_all:
        with EvalProgress() as progress:
            comparison = compare(cfg, gold, items, out, progress)
        print_comparison(comparison)
        return
    pipe = open_pipeline(cfg)
    with EvalProgress() as progress:
        result = evaluate(pipe, gold, items, out, progress)
    print_summary(result)


def main() -> None:
    cli(prog_name="assistant")


if __name__ == "__main__":
    main()
