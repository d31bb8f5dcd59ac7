"""Check the hand-annotated figure mentions (eval/facts/mentions.jsonl) against the sources.

Run:  python eval/facts/check_mentions.py [--sources DIR] [FILE.jsonl ...]
      (default: eval/facts/mentions*.jsonl against sources/)

Every line must have the keys of GUIDE.md with valid values; its sentence must be a sentence
of its document (as eval/facts/sentences.py prints them) and its mention must stand in the
sentence at least `occurrence` times. Prints a summary by document, kind, status and period
shape, and exits 1 on any error.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sentences import ROOT, sentences

KEYS = {
    "doc",
    "sentence",
    "mention",
    "occurrence",
    "value",
    "unit",
    "metric",
    "subject",
    "period",
    "status",
    "kind",
}
STATUSES = {"actual", "target"}
KINDS = {"level", "change", "share", "rank"}
PERIOD = re.compile(
    r"^(?:"
    r"\d{4}(?:-\d{4})?"  # a year, or the years of a span
    r"|\d{4}(?:H[12]|Q[1-4])"  # a half-year, a quarter
    r"|\d{4}-\d{2}(?:~\d{4}-\d{2})?"  # a month, or months
    r")?$"
)


def period_shape(p: str) -> str:
    if not p:
        return "none"
    if re.fullmatch(r"\d{4}", p):
        return "year"
    if re.fullmatch(r"\d{4}-\d{4}", p):
        return "years"
    if "H" in p:
        return "half-year"
    if "Q" in p:
        return "quarter"
    return "months"


def check(line: dict, docs: dict[str, set[str]]) -> list[str]:
    errors = []
    if set(line) != KEYS:
        errors.append(f"keys: missing {sorted(KEYS - set(line))}, extra {sorted(set(line) - KEYS)}")
        return errors
    if line["doc"] not in docs:
        return [f"unknown doc {line['doc']}"]
    if line["sentence"] not in docs[line["doc"]]:
        errors.append("sentence is not a sentence of the document")
    if line["sentence"].count(line["mention"]) < int(line["occurrence"]):
        errors.append(f"mention {line['mention']!r} not {line['occurrence']}x in the sentence")
    value = line["value"]
    ok_value = isinstance(value, (int, float)) or (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, (int, float)) for v in value)
    )
    if not ok_value:
        errors.append(f"value must be a number or [lo, hi]: {value!r}")
    for key in ("unit", "metric", "subject"):
        if not isinstance(line[key], str) or (key != "unit" and not line[key]):
            errors.append(f"{key} must be a non-empty string")
    if not PERIOD.match(str(line["period"])):
        errors.append(f"period {line['period']!r} is not one of the shapes of GUIDE.md")
    if line["status"] not in STATUSES:
        errors.append(f"status {line['status']!r} not in {sorted(STATUSES)}")
    if line["kind"] not in KINDS:
        errors.append(f"kind {line['kind']!r} not in {sorted(KINDS)}")
    return errors


def main(argv: list[str]) -> int:
    folder = ROOT / "sources"
    if argv[:1] == ["--sources"]:
        folder, argv = Path(argv[1]), argv[2:]
    paths = [Path(a) for a in argv] or sorted((ROOT / "eval" / "facts").glob("mentions*.jsonl"))
    docs = {
        p.name: set(sentences(p.read_text(encoding="utf-8"))) for p in sorted(folder.glob("*.txt"))
    }
    failures = 0
    rows = []
    for path in paths:
        for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except json.JSONDecodeError as err:
                print(f"{path.name}:{n}: not JSON: {err}")
                failures += 1
                continue
            for error in check(line, docs):
                print(f"{path.name}:{n}: {error}")
                failures += 1
            rows.append(line)
    seen = Counter(
        (r.get("doc"), r.get("sentence"), r.get("mention"), r.get("occurrence")) for r in rows
    )
    for key, count in seen.items():
        if count > 1:
            print(f"duplicate mention: {key}")
            failures += 1
    print(
        f"{len(rows)} mentions, {len({(r.get('doc'), r.get('sentence')) for r in rows})} sentences"
    )
    for key in ("doc", "kind", "status"):
        print(f"  by {key}: {dict(Counter(r.get(key) for r in rows))}")
    print(
        f"  by period shape: {dict(Counter(period_shape(str(r.get('period', ''))) for r in rows))}"
    )
    print("OK" if not failures else f"{failures} errors")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
