"""Script conversion: Traditional in the forms the reports themselves write."""

from __future__ import annotations

import opencc

from assistant.textnorm import is_traditional, to_simplified, to_traditional
from tests.conftest import ROOT

OPENCC_ONLY_FORMS = "爲羣衆啓峯汙恆閒鑑"  # s2t's or Taiwan's variants; the reports write others


def traditional_reports() -> list[str]:
    paths = sorted((ROOT / "sources").glob("*.txt"))
    paths += sorted((ROOT / "eval" / "heldout" / "sources").glob("*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in paths]
    return [t for t in texts if is_traditional(t)]


def test_traditional_uses_the_reports_forms() -> None:
    assert to_traditional("为人民群众启动污染治理") == "為人民群眾啟動污染治理"
    assert to_traditional("") == ""


def test_round_trip_of_the_traditional_reports_keeps_their_variants() -> None:
    reports = traditional_reports()
    assert reports
    s2t = opencc.OpenCC("s2t")
    ours, plain = 0, 0
    for text in reports:
        back = to_traditional(to_simplified(text))
        assert not set(back) & set(OPENCC_ONLY_FORMS) - set(text)
        ours += sum(a != b for a, b in zip(text, back, strict=True))
        plain += sum(a != b for a, b in zip(text, s2t.convert(to_simplified(text)), strict=True))
    # What is left are one-to-many characters the reports leave in Simplified (干部, 示范).
    assert ours < plain * 0.65, (ours, plain)
