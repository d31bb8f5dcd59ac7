"""Check the hand-made gold set (eval/gold.jsonl) against the five source reports.

Stdlib + opencc only. Run:  python eval/check_gold.py [gold.jsonl] [sources_dir]

What it checks
- schema: keys, types, kind values, unique ids, regexes compile, unanswerable items have
  empty answers/evidence, answerable items have both.
- every evidence regex of an answerable item matches the normalized text of at least one
  source; for non-multi items all evidence regexes match one common document; for multi
  items no single document matches all evidence regexes and at least two documents match.
- every answer regex matches the normalized text of a document that the item's evidence
  comes from (an extractive answer quoting the source can then satisfy it); for non-multi
  items it should also occur near (within WINDOW chars) an evidence match (warning only).
- regex hygiene: no Traditional characters (normalization makes everything Simplified),
  no whitespace, no digit-group commas, no regex that matches the empty string, and the
  question text alone must not satisfy all answer regexes (restating it is not an answer).

Normalization (same as the eval scorer, assistant.textnorm.for_match), applied after
stripping the pinyin annotations `(qū)`: NFKC, OpenCC t2s, all whitespace removed, commas
between digit groups removed.

Mojibake: about a dozen runs in 000, 002 and 003 are GBK bytes decoded one byte off. The
ingestion repairs them (re-encode as GBK, decode from one byte later; the first character
of a run is lost). REPAIRS below lists the runs found by hand with the repaired text, so
that a second "repaired" view of each source can be built. Regexes are checked against the
repaired view; a regex that matches ONLY the repaired view is reported as a warning
("garbled source") rather than an error, and such items are counted as garbled-source.

For unanswerable items the script prints, for a manual look, source lines that contain a
number/year from the question (or a few place/topic words), so one can confirm the sources
really are silent.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import opencc

from assistant.evaluation.gold import GOLD_KEYS, KINDS, OPTIONAL_GOLD_KEYS

WINDOW = 400  # chars: answer should occur this close to an evidence match (non-multi)
MAX_EVIDENCE_LITERAL = 20  # warn when an evidence regex carries more literal text

PINYIN = re.compile(r"\(([a-zāáǎàēéěèīíǐìōóǒòūúǔùüǖǘǚǜ]+)\)")
WHITESPACE = re.compile(r"\s+")
DIGIT_COMMA = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")

# (garbled run as it appears after stripping pinyin, repaired text). Repaired = the run
# re-encoded as GBK (ASCII '!' ';' were full-width in the byte stream) and decoded from its
# second byte; the run's first character cannot be recovered.
REPAIRS = [
    # 000
    ("敗⒏沙鲂伦鳛椤⒄故拘職庀螅瑸槿珖∪懈母镩_", "、干出新作為、展示新氣象，為全嚒刃改革開"),
    ("盥駡霏h", "埋場環"),
    # 002
    ("偛科髽I", "部企業"),
    ("!岸Y", "“禮"),
    (";I", "籌"),
    ("σ愿巴七M", "以赴推進"),
    ("!敖Y", "“結"),
    ("。ㄎ澹┩怀鰞", "（五）突出\ufffd"),
    ("漆t", "醫"),
    ("。ň牛┩怀鰪娖脚_", "（九）突出強平臺"),
    ("敵删托聵I", "成就新業"),
    # 003
    ("!狈兜路睆娬{", "”范德繁強調"),
]

ROOT = Path(__file__).resolve().parent.parent
_T2S = opencc.OpenCC("t2s")


def for_match(text: str) -> str:
    text = WHITESPACE.sub("", _T2S.convert(unicodedata.normalize("NFKC", text)))
    return DIGIT_COMMA.sub("", text)


def strip_pinyin(text: str) -> str:
    return PINYIN.sub("", text)


def repair(text: str) -> str:
    for bad, good in REPAIRS:
        text = text.replace(bad, good)
    return text


def is_traditional(text: str) -> bool:
    han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    if not han:
        return False
    simp = _T2S.convert("".join(han))
    return sum(a != b for a, b in zip(han, simp, strict=False)) / len(han) > 0.02


def script_of(q: str) -> str:
    letters = sum(c.isascii() and c.isalpha() for c in q)
    han = sum("\u4e00" <= c <= "\u9fff" for c in q)
    if letters > han:
        return "english"
    return "traditional" if is_traditional(q) else "simplified"


def literal_len(rx: str) -> int:
    """Rough count of literal characters in a regex (for the evidence length warning)."""
    s = re.sub(r"\(\?<?[!=].*?\)", "", rx)  # lookarounds
    s = re.sub(r"\\.", "x", s)
    s = re.sub(r"[\[\](){}?*+|^$.]", "", s)
    return len(s)


class Sources:
    def __init__(self, folder: Path):
        self.names: list[str] = []
        self.raw: dict[str, str] = {}
        self.fixed: dict[str, str] = {}
        self.lines: dict[str, list[str]] = {}
        for p in sorted(folder.glob("*.txt")):
            text = strip_pinyin(p.read_text(encoding="utf-8"))
            name = p.name[:3]
            self.names.append(name)
            self.raw[name] = for_match(text)
            fixed_text = repair(text)
            self.fixed[name] = for_match(fixed_text)
            self.lines[name] = [for_match(ln) for ln in fixed_text.splitlines() if ln.strip()]
        everything = "".join(
            strip_pinyin(p.read_text(encoding="utf-8")) for p in folder.glob("*.txt")
        )
        missing = [bad for bad, _ in REPAIRS if bad not in everything]
        if missing:
            print(f"WARNING: repair runs not found in sources: {missing}")


def main() -> int:
    gold_path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "eval" / "gold.jsonl"
    src_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "sources"
    if not src_dir.exists():
        src_dir = Path("/work/shared/corpus")
    src = Sources(src_dir)
    errors: list[str] = []
    warnings: list[str] = []
    items = []
    for n, line in enumerate(gold_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: bad JSON: {e}")

    # ---------------------------------------------------------------- schema
    ids = Counter(it.get("id") for it in items)
    for i, c in ids.items():
        if c > 1:
            errors.append(f"duplicate id {i}")
    compiled: dict[str, tuple[list, list]] = {}
    for it in items:
        iid = it.get("id", "?")
        if not GOLD_KEYS <= set(it) <= GOLD_KEYS | OPTIONAL_GOLD_KEYS:
            errors.append(f"{iid}: keys {sorted(it)} != {sorted(GOLD_KEYS)}")
            continue
        if not (isinstance(iid, str) and re.fullmatch(r"g\d{3}", iid)):
            errors.append(f"{iid}: id must look like g001")
        if not isinstance(it["question"], str) or not it["question"].strip():
            errors.append(f"{iid}: question must be a non-empty string")
        if not isinstance(it["unanswerable"], bool):
            errors.append(f"{iid}: unanswerable must be bool")
        if it["kind"] not in KINDS:
            errors.append(f"{iid}: bad kind {it['kind']!r}")
        for key in ("answers", "evidence"):
            if not (isinstance(it[key], list) and all(isinstance(r, str) and r for r in it[key])):
                errors.append(f"{iid}: {key} must be a list of non-empty strings")
        if it["unanswerable"]:
            if it["answers"] or it["evidence"]:
                errors.append(f"{iid}: unanswerable item must have empty answers and evidence")
            if it["kind"] != "unanswerable":
                errors.append(f"{iid}: unanswerable item must have kind 'unanswerable'")
        else:
            if not it["answers"] or not it["evidence"]:
                errors.append(f"{iid}: answerable item needs answers and evidence")
            if it["kind"] == "unanswerable":
                errors.append(f"{iid}: kind 'unanswerable' but unanswerable is false")
        cans, cevs = [], []
        for key, bucket in (("answers", cans), ("evidence", cevs)):
            for rx in it[key] if isinstance(it[key], list) else []:
                try:
                    bucket.append(re.compile(rx))
                except re.error as e:
                    errors.append(f"{iid}: {key} regex {rx!r} does not compile: {e}")
                    continue
                if re.search(rx, ""):
                    errors.append(f"{iid}: {key} regex {rx!r} matches the empty string")
                if _T2S.convert(rx) != rx:
                    errors.append(f"{iid}: {key} regex {rx!r} has Traditional characters")
                if re.search(r"\s", rx):
                    errors.append(f"{iid}: {key} regex {rx!r} contains whitespace")
                if re.search(r"\d,\d{3}", rx):
                    errors.append(f"{iid}: {key} regex {rx!r} has a digit-group comma")
                if key == "evidence" and literal_len(rx) > MAX_EVIDENCE_LITERAL:
                    warnings.append(f"{iid}: long evidence regex ({literal_len(rx)} chars): {rx}")
        compiled[iid] = (cans, cevs)
        if cans and all(rx.search(for_match(it["question"])) for rx in cans):
            errors.append(f"{iid}: the question itself satisfies every answer regex (answer leaks)")

    # ---------------------------------------------------------------- sources
    garbled: set[str] = set()
    doc_cover: Counter = Counter()
    for it in items:
        iid = it.get("id", "?")
        if it.get("unanswerable") or iid not in compiled:
            continue
        cans, cevs = compiled[iid]
        ev_docs: list[set[str]] = []
        ev_spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for rx in cevs:
            docs = {d for d in src.names if rx.search(src.fixed[d])}
            raw_docs = {d for d in src.names if rx.search(src.raw[d])}
            if not docs:
                errors.append(f"{iid}: evidence {rx.pattern!r} matches no source")
            elif not raw_docs:
                warnings.append(
                    f"{iid}: evidence {rx.pattern!r} matches only the repaired (mojibake) text"
                )
                garbled.add(iid)
            ev_docs.append(docs)
            for d in docs:
                ev_spans[d] += [m.span() for m in rx.finditer(src.fixed[d])]
        all_docs = set().union(*ev_docs) if ev_docs else set()
        common = set.intersection(*ev_docs) if ev_docs else set()
        if it["kind"] == "multi":
            if len(all_docs) < 2:
                errors.append(f"{iid}: multi item but evidence comes from {sorted(all_docs)} only")
            if common:
                errors.append(f"{iid}: multi item but {sorted(common)} alone matches all evidence")
        elif ev_docs and not common:
            errors.append(f"{iid}: evidence regexes do not all match one document: {ev_docs}")
        home = common if (common and it["kind"] != "multi") else all_docs
        for d in home:
            doc_cover[d] += 1
        for rx in cans:
            docs = {d for d in home if rx.search(src.fixed[d])}
            raw_docs = {d for d in home if rx.search(src.raw[d])}
            if not docs:
                errors.append(
                    f"{iid}: answer {rx.pattern!r} matches none of its evidence documents"
                    f" {sorted(home)}"
                )
                continue
            if not raw_docs:
                warnings.append(
                    f"{iid}: answer {rx.pattern!r} matches only the repaired (mojibake) text"
                )
                garbled.add(iid)
            if it["kind"] != "multi":
                near = any(
                    abs(m.start() - s) <= WINDOW or abs(m.end() - e) <= WINDOW
                    for d in docs
                    for m in rx.finditer(src.fixed[d])
                    for s, e in ev_spans[d]
                )
                if not near:
                    warnings.append(
                        f"{iid}: answer {rx.pattern!r} not within {WINDOW} chars of its evidence"
                    )

    # ---------------------------------------------------------------- unanswerable: manual look
    print("=" * 70)
    print("UNANSWERABLE items: source lines containing the question's numbers / key words")
    topic_words = [
        "福田",
        "南山",
        "龙岗",
        "宝安",
        "盐田",
        "人口",
        "寿命",
        "七次全会",
        "失业率",
        "进出口",
        "新开工",
        "里程",
        "罗湖北站",
    ]
    for it in items:
        if not it.get("unanswerable"):
            continue
        q = for_match(it["question"])
        keys = set(re.findall(r"\d+(?:\.\d+)?", q)) - {"1", "2", "3"}
        keys |= {w for w in topic_words if w in q}
        print(f"\n{it['id']}: {it['question']}   keys={sorted(keys)}")
        shown = 0
        for d in src.names:
            for ln in src.lines[d]:
                for k in sorted(keys):
                    for m in re.finditer(re.escape(k), ln):
                        if k.isdigit() and (
                            (m.start() > 0 and ln[m.start() - 1].isdigit())
                            or (m.end() < len(ln) and ln[m.end()].isdigit())
                        ):
                            continue
                        if shown < 12:
                            print(f"   [{d}] ...{ln[max(0, m.start() - 30) : m.end() + 30]}...")
                        shown += 1
                        break
        if shown == 0:
            print("   (no source line contains these keys)")
        elif shown > 12:
            print(f"   ... {shown - 12} more")

    # ---------------------------------------------------------------- summary
    print("=" * 70)
    for w in warnings:
        print("WARNING:", w)
    for e in errors:
        print("ERROR:", e)
    print("=" * 70)
    print(f"items: {len(items)}")
    print("by kind:", dict(sorted(Counter(it.get("kind") for it in items).items())))
    scripts = Counter(script_of(it.get("question", "")) for it in items)
    print("by question script:", dict(scripts))
    print("unanswerable:", sum(bool(it.get("unanswerable")) for it in items))
    print("multi:", sum(it.get("kind") == "multi" for it in items))
    print(
        f"garbled-source (a regex matches only the repaired text): {len(garbled)}",
        sorted(garbled),
    )
    print("answerable items whose evidence lies in each document:", dict(sorted(doc_cover.items())))
    print(f"{len(errors)} errors, {len(warnings)} warnings")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
