"""Words of the genre: the abbreviations Chinese statistical and government reports use for
their standard measures, so that a question saying 社零 finds 社会消费品零售总额."""

from __future__ import annotations

import re

ABBREVIATIONS = {
    "社零总额": "社会消费品零售总额",
    "社零": "社会消费品零售总额",
    "固投": "固定资产投资",
    "规上": "规模以上",
    "限上": "限额以上",
    "一般预算收入": "一般公共预算收入",
}
_ABBREVIATION = re.compile("|".join(sorted(map(re.escape, ABBREVIATIONS), key=len, reverse=True)))


def expand(text: str) -> str:
    """`text` with the standard abbreviations written out."""
    return _ABBREVIATION.sub(lambda m: ABBREVIATIONS[m.group(0)], text)
