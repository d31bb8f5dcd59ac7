"""The eval report as an evaluator uses it: every item inspectable (what was expected in words,
the answer, the evidence marked in the cited passages, latency, what the guard did), filters
that work in a real browser, no label cut off, the machine's load, a run set beside an
earlier one item by item (`--against`), and a gold file with annotation keys accepted."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Config
from assistant.evaluation.patterns import describe, match_spans
from tests.test_evaluate import EIGHT, GOLD, invoke, read_lines
from tests.test_ui_browser import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def gold_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gold") / "gold.jsonl"
    path.write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in GOLD), "utf-8")
    return path


@pytest.fixture(scope="module")
def first(corpus_config: Config, gold_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of the planted gold set through the CLI: t-planted fails, the rest pass."""
    out = tmp_path_factory.mktemp("eval") / "first"
    result = invoke(corpus_config, "eval", "--gold", str(gold_path), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def page_of(run: Path) -> str:
    return (run / "report.html").read_text("utf-8")


def test_expectations_read_as_words() -> None:
    assert describe(r"(?<![\d.])2375\.3(?!\.?\d)亿") == "2375.3亿"
    assert describe(EIGHT + "条") == "8条 或 八条"
    assert describe("渔[邨村]模式") == "渔邨模式 或 渔村模式"
    assert describe(r"2019(?:年|\.|-|/)0?8(?!\d)") == "2019[年/./-//](0)8"  # too many to spell
    # Matched on the normalized text, marked on the text as shown (Traditional, spaced).
    text = "全年完成固定資產投資 332 億元，籌集10,012套"
    spans = match_spans(text, ["固定资产投资332亿元", r"10012套"])
    assert [text[a:b] for a, b in spans] == ["固定資產投資 332 億元", "10,012套"]


def test_every_item_is_a_card_with_what_was_expected(first: Path) -> None:
    page = page_of(first)
    lines = {line["id"]: line for line in read_lines(first / "predictions.jsonl")}
    for g in GOLD:
        card = _card(page, g["id"])
        assert g["question"] in card and f'data-kind="{g["kind"]}"' in card
        assert " ms</span>" in card  # its latency
        assert "no model was asked" in card  # what the guard did (nothing: extractive)
        line = lines[g["id"]]
        outcome = "pass" if line["score"]["passed"] else "refused" if line["refused"] else "wrong"
        assert f'data-outcome="{outcome}"' in card, g["id"]
    eight = _card(page, "t-eight")
    # Expected in words, the regex only as hover text; the evidence marked where it is.
    assert '"ok" title="' + html.escape(EIGHT) + '">8 或 八</li>' in eight
    assert ">" + html.escape(EIGHT) + "<" not in page
    assert "<mark>八个方面主动谋划</mark>" in eight
    refusal = _card(page, "t-futian")
    assert "a refusal — the sources do not answer this" in refusal
    planted = _card(page, "t-planted")
    assert "refused, though the sources answer it" in planted and " open>" in planted


def _card(page: str, item_id: str) -> str:
    """The HTML of one item's card."""
    start = page.index(f'id="item-{item_id}"')
    end = page.find('<details class="item"', start)
    return page[start : end if end > 0 else None]


def test_the_machine_load_is_recorded(first: Path) -> None:
    report = json.loads((first / "report.json").read_text("utf-8"))
    machine = report["machine"]
    assert machine["cores"] == os.cpu_count()
    for moment in ("before", "after"):
        assert len(machine[moment]["load_average"]) == 3
        assert isinstance(machine[moment]["busiest_other_processes"], list)
    assert machine["run_seconds"] > 0 and machine["run_cores"] >= 0
    assert "load average (1/5/15 min)" in page_of(first)


def _plant_history(first: Path, earlier: Path) -> None:
    """An earlier run, made from the real one by changing what it recorded: t-eight had
    failed, t-planted had passed, t-date had another answer with the same verdict."""
    earlier.mkdir()
    lines = read_lines(first / "predictions.jsonl")
    for line in lines:
        if line["id"] == "t-eight":
            line["score"] = {**line["score"], "passed": False, "reason": "wrong answer"}
        if line["id"] == "t-planted":
            line["score"] = {**line["score"], "passed": True, "reason": ""}
        if line["id"] == "t-date":
            line["answer"] = "9月26日召开[1]。"
    (earlier / "predictions.jsonl").write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), "utf-8"
    )
    (earlier / "report.json").write_text((first / "report.json").read_text("utf-8"), "utf-8")


def test_against_an_earlier_run_item_by_item(
    corpus_config: Config, gold_path: Path, first: Path, tmp_path: Path
) -> None:
    earlier = tmp_path / "earlier"
    _plant_history(first, earlier)
    out = tmp_path / "now"
    result = invoke(
        corpus_config,
        "eval",
        "--gold",
        str(gold_path),
        "--out",
        str(out),
        "--against",
        str(earlier),
    )
    assert result.exit_code == 0, result.output
    assert (
        "fixed 1 · broken 1 · unchanged 2 (2 passing, 0 failing; 1 with another answer) · "
        "new 0 · gone 0" in result.stdout
    ), result.stdout
    assert "fixed  t-eight" in result.stdout and "broken t-planted" in result.stdout

    against = json.loads((out / "report.json").read_text("utf-8"))["against"]
    assert (against["fixed"], against["broken"]) == (["t-eight"], ["t-planted"])
    assert against["counts"]["unchanged"] == 2 and against["counts"]["answer changed"] == 1
    assert against["same_gold"] is True

    page = page_of(out)
    assert 'data-change="fixed"' in _card(page, "t-eight")
    assert 'data-change="broken"' in _card(page, "t-planted")
    assert "Earlier run: passed" in _card(page, "t-planted")  # side by side with this run
    assert "9月26日召开[1]。" in _card(page, "t-date")  # the earlier answer beside this one
    assert '#f-change-fixed:checked~.items .item:not([data-change="fixed"])' in page

    not_a_run = invoke(corpus_config, "eval", "--gold", str(gold_path), "--against", str(tmp_path))
    assert not_a_run.exit_code == 1 and "not an eval run (no predictions.jsonl)" in not_a_run.output


def test_a_gold_file_with_annotation_keys_runs_with_a_warning(
    corpus_config: Config, tmp_path: Path
) -> None:
    gold = tmp_path / "annotated.jsonl"
    rows = [{**g, "doc": "001_bfd75f84de2c2b1c.txt", "notes": "checked"} for g in GOLD[:2]]
    gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    out = tmp_path / "out"
    result = invoke(corpus_config, "eval", "--gold", str(gold), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"warning: {gold}: key 'doc' is not used by the eval, ignored: line 1, 2" in (
        result.stderr
    )
    assert len(read_lines(out / "predictions.jsonl")) == 2
    assert len(json.loads((out / "report.json").read_text("utf-8"))["gold"]["warnings"]) == 2


# --------------------------------------------------------------------- in a real browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: make test installs it with apt-get")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: run make install")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_filters_work_and_no_label_is_cut_off(first: Path, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto((first / "report.html").as_uri())
    visible = "[...document.querySelectorAll('details.item')].filter(e => e.offsetParent).length"
    assert page.evaluate(visible) == len(GOLD)
    page.click('label[for="f-outcome-fail"]')
    assert page.evaluate(visible) == 1  # t-planted
    page.click('label[for="f-kind-count"]')
    assert page.evaluate(visible) == 0  # failed and a count: none
    page.click('label[for="f-outcome-all"]')
    assert page.evaluate(visible) == 1  # t-eight
    # Every label of both charts lies inside its chart.
    cut = page.evaluate(
        """[...document.querySelectorAll('svg')].flatMap(svg => {
            const box = svg.getBoundingClientRect();
            return [...svg.querySelectorAll('text')].filter(t => {
                const r = t.getBoundingClientRect();
                return r.left < box.left - 0.5 || r.right > box.right + 0.5 ||
                       r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5;
            }).map(t => t.textContent);
        })"""
    )
    assert cut == []
    page.close()
