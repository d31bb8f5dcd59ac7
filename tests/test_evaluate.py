"""The eval end to end on a tiny gold set written from the real reports, with the extractive
backend: the files it writes, their schema, and the comparison across retrieval modes."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from assistant.answer.pipeline import Pipeline
from assistant.backends import registry
from assistant.backends.base import BackendError, Generator
from assistant.backends.registry import BackendSpec
from assistant.cli import cli
from assistant.config import Config
from assistant.evaluation.gold import load_gold
from assistant.evaluation.results import RunResult
from assistant.evaluation.run import compare_variants, configure, evaluate
from assistant.models import Response
from tests.fake_openai import FakeOpenAI, free_port

ROOT = Path(__file__).resolve().parent.parent
NOT_NUMERAL = "零一二三四五六七八九十百千万两"
EIGHT = f"(?:(?<![\\d.])8(?!\\.?\\d)|(?<![{NOT_NUMERAL}])八(?![{NOT_NUMERAL}]))"
GOLD = [
    {
        "id": "t-eight",
        "question": "罗湖全方位融入国家重大战略,在几个方面主动谋划?",
        "answers": [EIGHT],
        "evidence": ["八个方面主动谋划"],
        "unanswerable": False,
        "kind": "count",
    },
    {
        "id": "t-date",
        "question": "罗湖区委八届六次全会是哪天召开的?",
        "answers": ["(?<!\\d)9月26日"],
        "evidence": ["9月26日,中国共产党深圳市罗湖区"],
        "unanswerable": False,
        "kind": "date",
    },
    {
        "id": "t-futian",
        "question": "福田区2035年地区生产总值的目标是多少?",
        "answers": [],
        "evidence": [],
        "unanswerable": True,
        "kind": "unanswerable",
    },
    {  # planted: no answer can contain this, so the report must show a failure
        "id": "t-planted",
        "question": "罗湖八大措施的第一项是什么?",
        "answers": ["不可能出现的答案"],
        "evidence": ["规划引领"],
        "unanswerable": False,
        "kind": "name",
    },
]


@pytest.fixture(scope="module")
def gold_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gold") / "gold.jsonl"
    path.write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in GOLD), "utf-8")
    return path


@pytest.fixture(scope="module")
def run(pipeline: Pipeline, gold_file: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    gold = load_gold(gold_file)
    return evaluate(pipeline, gold, gold.items, tmp_path_factory.mktemp("eval") / "run")


def invoke(config: Config, *args: str) -> Result:
    """The CLI on the test corpus: the repo's config file with the paths moved by env."""
    env = {f"ASSISTANT_PATHS__{k.upper()}": str(v) for k, v in config.paths}
    env["ASSISTANT_LLM__BACKEND"] = config.llm.backend
    return CliRunner().invoke(cli, ["--config", str(ROOT / "assistant.toml"), *args], env=env)


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_predictions_follow_the_ask_schema(run: RunResult) -> None:
    lines = read_lines(run.out_dir / "predictions.jsonl")
    assert [line["id"] for line in lines] == [g["id"] for g in GOLD]
    for line, g in zip(lines, GOLD, strict=True):
        assert line["question"] == g["question"]
        fields = {k: v for k, v in line.items() if k in Response.model_fields}
        assert set(fields) == set(Response.model_fields)  # the whole `ask --json` object
        Response.model_validate(fields)
        assert isinstance(line["score"], dict) and "passed" in line["score"]


def test_report_json_has_the_metrics(run: RunResult, gold_file: Path) -> None:
    report = json.loads((run.out_dir / "report.json").read_text("utf-8"))
    assert report["config"]["backend"] == "extractive"
    assert report["gold"]["sha256"] == hashlib.sha256(gold_file.read_bytes()).hexdigest()
    assert report["gold"]["items_evaluated"] == len(GOLD)
    for key in (
        "answer_accuracy",
        "supported_accuracy",
        "refusal_recall",
        "false_refusal_rate",
        "recall_at_k",
        "mrr",
        "latency_ms",
    ):
        assert key in report["overall"]
    assert set(report["by_kind"]) == {"count", "date", "unanswerable", "name"}
    assert report["overall"]["items"] == 4 and report["overall"]["unanswerable"] == 1
    assert {"p50", "p95"} <= set(report["overall"]["latency_ms"]["total"])
    assert "t-planted" in {f["id"] for f in report["failures"]}
    # The extractive backend is never guarded: every guard count is zero.
    assert report["guard"]["asked the model"] == 0 and not any(report["guard"].values())


def test_report_html_shows_every_failure_and_fetches_nothing(run: RunResult) -> None:
    page = (run.out_dir / "report.html").read_text("utf-8")
    assert '<meta charset="utf-8">' in page
    failed = [r for r in run.records if not r.verdict.passed]
    assert failed, "the planted item must fail"
    for r in failed:
        assert f'id="item-{r.item.id}"' in page
        assert r.item.question in page
    assert page.count("<svg") == 2  # accuracy by kind, latency
    for external in ("<script", "<link", "src=", "@import", "url("):
        assert external not in page


def test_cli_eval_writes_outputs_and_prints_a_summary(
    corpus_config: Config, gold_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cli"
    result = invoke(
        corpus_config,
        "eval",
        "--gold",
        str(gold_file),
        "--out",
        str(out),
        "--limit",
        "2",
        "--backend",
        "extractive",
    )
    assert result.exit_code == 0, result.output
    assert len(read_lines(out / "predictions.jsonl")) == 2
    assert (out / "report.html").is_file() and (out / "report.json").is_file()
    assert "overall" in result.output


def test_cli_compare_has_a_row_per_mode(
    corpus_config: Config, gold_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the extractive backend really runs (fast and always there); "missing" stands for
    # a backend that is not installed, which must be skipped with its reason, not fail.
    # The generators cannot be used here for real reasons: no model file, no server.
    def not_installed(settings: object, ctx: object) -> Generator:
        raise BackendError("the missing backend is not installed")

    missing = BackendSpec("missing", "a backend that is not installed", None, not_installed)
    specs = {"extractive": registry.get("extractive"), "missing": missing}
    monkeypatch.setattr(registry, "_SPECS", {**specs, **registry._SPECS})
    monkeypatch.setenv("ASSISTANT_LLM__LOCAL__MODEL_FILE", str(tmp_path / "none.gguf"))
    monkeypatch.setenv("ASSISTANT_LLM__OPENAI__BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    out = tmp_path / "compare"
    result = invoke(
        corpus_config,
        "eval",
        "--gold",
        str(gold_file),
        "--out",
        str(out),
        "--limit",
        "2",
        "--backend",
        "extractive",
        "--compare",
    )
    assert result.exit_code == 0, result.output
    table = (out / "comparison.md").read_text("utf-8")
    for mode in ("bm25", "dense", "hybrid"):
        assert f"| {mode}-extractive | extractive | {mode} |" in table
        assert (out / f"{mode}-extractive" / "report.json").is_file()
    assert "- hybrid-missing: " in table  # listed with its reason, below the table
    summary = json.loads((out / "comparison.json").read_text("utf-8"))
    assert [c["name"] for c in summary["configurations"]] == [
        "bm25-extractive",
        "dense-extractive",
        "hybrid-extractive",
    ]
    assert summary["skipped"][0]["name"] == "hybrid-missing" and summary["skipped"][0]["reason"]


def test_compare_covers_modes_and_backends(corpus_config: Config) -> None:
    cfg = configure(corpus_config, backend="extractive", mode="hybrid")
    names = [v.name for v in compare_variants(cfg)]
    assert names[:3] == ["bm25-extractive", "dense-extractive", "hybrid-extractive"]
    assert names[3:] == ["hybrid-local", "hybrid-openai"]


def test_cli_rejects_a_malformed_gold_file_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "gold.jsonl"
    bad.write_text(json.dumps(GOLD[0]) + "\n" + json.dumps({**GOLD[1], "answers": ["(9月"]}) + "\n")
    result = CliRunner().invoke(cli, ["eval", "--gold", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2: answers[0] is not a valid regex" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_run_that_dies_is_resumed_without_asking_again(
    corpus_config: Config, gold_file: Path, tmp_path: Path
) -> None:
    """A real process killed mid-run: its predictions are on disk, and --resume asks only
    the rest (each answer takes a second: the model server is slow)."""
    server = FakeOpenAI(default="slow", slow_seconds=1.0).start()
    toml = tmp_path / "assistant.toml"
    p = corpus_config.paths
    toml.write_text(
        f'[paths]\nsources = "{p.sources}"\nindex_dir = "{p.index_dir}"\n'
        f'data_dir = "{tmp_path / "data"}"\nprompts_dir = "{p.prompts_dir}"\n'
        '[llm]\nbackend = "openai"\nfacts_first = false\nrefuse_unsupported = false\n'
        f'guard_retries = 0\n[llm.openai]\nbase_url = "{server.base_url}"\n'
        'model = "fake-model"\nretries = 0\ntimeout = 20\n',
        encoding="utf-8",
    )
    out = tmp_path / "run"
    predictions = out / "predictions.jsonl"
    command = [sys.executable, "-m", "assistant.cli", "--config", str(toml), "eval"]
    try:
        first = subprocess.Popen(
            [*command, "--gold", str(gold_file), "--out", str(out)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 180
        while not (predictions.exists() and len(predictions.read_text().splitlines()) >= 2):
            assert first.poll() is None and time.monotonic() < deadline, "no predictions"
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.wait()
        before = predictions.read_text(encoding="utf-8").splitlines()
        assert 2 <= len(before) < len(GOLD) and not (out / "report.json").exists()
        asked = len(server.seen)

        refused = subprocess.run(
            [*command, "--resume", str(out), "--backend", "extractive"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert refused.returncode == 1 and "drop --backend" in refused.stderr

        again = subprocess.run(
            [*command, "--resume", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        assert again.returncode == 0, again.stderr
    finally:
        server.stop()
    after = predictions.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in after] == [g["id"] for g in GOLD]
    assert after[: len(before)] == before  # the answers made before the kill, kept as made
    resumed = [s.prompt for s in server.seen[asked:] if s.path.endswith("/chat/completions")]
    done = {json.loads(line)["id"] for line in before}
    assert resumed and not [g for g in GOLD if g["id"] in done and _asked(g, resumed)]
    assert all(_asked(g, resumed) for g in GOLD[len(before) + 1 :])  # only the rest was asked
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["gold"]["items_evaluated"] == len(GOLD)


def _asked(item: dict[str, object], prompts: list[str]) -> bool:
    return any(str(item["question"]) in prompt for prompt in prompts)
