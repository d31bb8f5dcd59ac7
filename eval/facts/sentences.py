"""Print a source report's sentences in the normalized form the annotations use.

Run:  python eval/facts/sentences.py 002_833012a21d5118d3.txt [sources_dir]

Normalized as the gold checker does (eval/check_gold.py): pinyin annotations stripped,
the known mojibake runs repaired, NFKC, Simplified, no whitespace, no digit-group commas.
Each line: the sentence number, a tab, the sentence.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from check_gold import ROOT, for_match, repair, strip_pinyin

SENTENCE = re.compile(r"[^。！？；!?;]*(?:[。！？；!?;]+[”’」』)）]*|$)")


def sentences(text: str) -> list[str]:
    """Sentences of a raw source text: lines first, then sentence ends."""
    out: list[str] = []
    for line in repair(strip_pinyin(text)).splitlines():
        norm = for_match(line)
        out.extend(s for s in SENTENCE.findall(norm) if s)
    return out


def main(argv: list[str]) -> None:
    name = argv[0]
    folder = Path(argv[1]) if len(argv) > 1 else ROOT / "sources"
    for i, s in enumerate(sentences((folder / name).read_text(encoding="utf-8")), start=1):
        print(f"{i}\t{s}")


if __name__ == "__main__":
    main(sys.argv[1:])
