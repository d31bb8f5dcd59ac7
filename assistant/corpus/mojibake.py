"""Find and undo GBK mojibake: stretches of text that were decoded one byte off.

The reports went through GBK. In places a pinyin annotation was spliced in between the two
bytes of a character (or a byte went missing), so the decoder paired each trail byte with the
next lead byte and produced a run of rare characters and debris: `?偛科髽I` for `總部企業`.
The stray lead byte was swallowed into a `?`, often with the annotation's `(` (`?zhí)`), and
the pages were later folded to half-width (`！` became `!`). The decoder falls back into step
at the first single-byte character, so runs are short. Re-encoding a run as GBK and decoding
it from one byte later restores it, except the first character, whose other byte is gone.

Detection does not rely on a list of known strings: every character gets a log-probability
from a unigram model (jieba's dictionary, Simplified, so characters are converted with t2s
before the lookup), stretches around improbable characters are proposed as runs, and a repair
is accepted only when the repaired text is far more probable than the garbled text.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assistant.textnorm import to_simplified

# Fixed log10-probabilities for characters that the dictionary does not describe well.
# Punctuation and digits are ordinary in reports; these values only need to keep them
# from looking like debris.
_LP_PUNCT = -2.5
_LP_DIGIT = -3.5
_LP_LATIN = -5.5
_LP_SPACE = -3.0
_LP_UNSEEN_HAN = -8.5
_LP_DEBRIS = -9.5
# The price of a character a reading gives up as lost (beyond the one every run loses): a
# lost character still carried meaning, and pricing it like an unseen character keeps a
# reading from winning just by explaining fewer bytes (`??偛` as `。總…`, not `。?…`).
_LP_LOST = -8.5

# A character at or below this is improbable enough to start looking for a run. Rare real
# characters (names such as 鎏, places such as 笋) sit around -5.5..-6.5; the decision is
# made by the repair test, the seed only decides where to look.
_SEED_LP = -6.0
# A repair must raise the log10-likelihood by this much in total and per garbled character.
_MIN_GAIN = 6.0
_MIN_GAIN_PER_CHAR = 1.0
# Where to look for a run's boundaries: it may start up to _MAX_LEAD_IN characters before the
# first improbable character, and is extended until _PATIENCE characters bring no more gain.
_MAX_LEAD_IN = 4
_PATIENCE = 6
# Seeds closer than this belong to the same candidate run: debris such as `?lián)` keeps
# seeds a few characters apart inside one run.
_CLUSTER_GAP = 6

_PUNCT = set("，。、；：？！“”‘’（）《》〈〉【】—…·,.;:?!()[]<>\"'%-+/=~～")
PINYIN_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"  # tone-marked letters of pinyin
_PINYIN_CHARS = "a-zü" + PINYIN_TONED
# A pinyin annotation whose "(" was swallowed together with a stray lead byte: `?zhí)`.
_JUNK_TAIL = re.compile(rf"[{_PINYIN_CHARS}]{{1,6}}\)")
_PINYIN_ANNOTATION = re.compile(
    rf"(?P<char>[\u3400-\u9fff])\((?P<reading>(?=[a-zü]*[{PINYIN_TONED}])[{_PINYIN_CHARS}]{{1,6}})\)"
)


@dataclass
class MojibakeRun:
    """One garbled stretch and what it was turned into."""

    start: int  # offsets into the text given to repair_mojibake
    end: int
    garbled: str
    repaired: str  # "" when nothing could be recovered
    lost_chars: int  # characters of the original that cannot be recovered (a lower bound)
    gain: float = 0.0  # log10-likelihood gained by the repair; 0 for unrecoverable runs
    changed: bool = True  # whether the text was rewritten (False: left as found)


def _dict_path() -> Path:
    import jieba

    return Path(jieba.__file__).parent / "dict.txt"


_DICT_ENTRY = re.compile(r"^(\S+) (\d+)", re.MULTILINE)


@cache
def _char_counts() -> tuple[dict[str, int], int]:
    """Character counts: a word's frequency counted for each of its characters.

    Counting walks all 350k dictionary entries (about half a second), so the result is kept
    next to jieba's own cache in the temp directory, keyed by the dictionary's size and time.
    """
    path = _dict_path()
    stat = path.stat()
    cached = Path(tempfile.gettempdir()) / f"luohu-charfreq-{stat.st_size}-{stat.st_mtime_ns}.json"
    try:
        counts = json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        counts = _count_chars(path)
        with contextlib.suppress(OSError):
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(counts, ensure_ascii=False), encoding="utf-8")
            tmp.replace(cached)
    return counts, sum(counts.values())


def _count_chars(path: Path) -> dict[str, int]:
    counts: defaultdict[str, int] = defaultdict(int)
    for word, freq in _DICT_ENTRY.findall(path.read_text(encoding="utf-8")):
        n = int(freq)
        for ch in word:
            counts[ch] += n
    return {ch: n for ch, n in counts.items() if _is_han(ch)}


@cache
def _dict_text() -> str:
    return "\n" + _dict_path().read_text(encoding="utf-8")


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


@cache
def char_logp(ch: str) -> float:
    """log10 probability of one character in ordinary Chinese text (script-independent)."""
    if _is_han(ch):
        counts, total = _char_counts()
        simp = to_simplified(ch)
        n = counts.get(simp, 0) if len(simp) == 1 else 0
        if n == 0 and simp != ch:
            n = counts.get(ch, 0)
        return math.log10(n / total) if n else _LP_UNSEEN_HAN
    if ch in _PUNCT:
        return _LP_PUNCT
    if ch.isdigit() and ch.isascii():
        return _LP_DIGIT
    if ch.isascii() and ch.isalpha():
        return _LP_LATIN
    if ch in " \u3000":
        return _LP_SPACE
    # Full-width forms of the above are as ordinary as the forms they stand for.
    folded = unicodedata.normalize("NFKC", ch)
    if folded != ch and len(folded) == 1 and folded.isascii():
        return char_logp(folded)
    return _LP_DEBRIS


def text_logp(text: str) -> float:
    return sum(char_logp(ch) for ch in text)


def pinyin_readings(text: str) -> dict[str, set[str]]:
    """Readings the document itself gives for its characters: `優(yōu)` -> {"yōu": {"優"}}."""
    readings: dict[str, set[str]] = {}
    for m in _PINYIN_ANNOTATION.finditer(text):
        readings.setdefault(m["reading"], set()).add(m["char"])
    return readings


# --- byte-level re-decoding -------------------------------------------------------------


def _byte_options(ch: str) -> tuple[bytes, ...]:
    """The GBK bytes a garbled character may have come from.

    The pages were later folded to half-width, so an ASCII `!` may stand for GBK `！`
    (a3 a1): both are tried. Empty when the character cannot come from GBK at all.
    """
    if ch.isascii():
        if "!" <= ch <= "~":
            return (ch.encode("ascii"), chr(ord(ch) + 0xFEE0).encode("gbk"))
        if ch == " ":
            return (b" ", "\u3000".encode("gbk"))
        return (ch.encode("ascii"),)
    try:
        return (ch.encode("gbk"),)
    except UnicodeEncodeError:
        return ()


@cache
def _pair_char(lead: int, trail: int) -> str | None:
    try:
        return bytes((lead, trail)).decode("gbk")
    except UnicodeDecodeError:
        return None


_TO_DROP = -2  # state: the first byte, the orphaned trail byte, is still to be dropped
_ALIGNED = -1  # state: no lead byte waiting


@dataclass(frozen=True)
class _Path:
    score: float
    chars: tuple[str, ...]
    dropped: int | None  # the byte dropped at the start, if any


class _ShiftedDecoder:
    """Incremental best re-decoding of garbled characters from their GBK bytes.

    A small dynamic programme over the half-width ambiguities; the state is the lead byte
    still waiting for its trail. Characters are fed one at a time so that every prefix of a
    candidate run is scored without starting over.
    """

    def __init__(self, drop_first: bool) -> None:
        start = _TO_DROP if drop_first else _ALIGNED
        self.states: dict[int, _Path] = {start: _Path(0.0, (), None)}

    def feed(self, ch: str) -> bool:
        nxt: dict[int, _Path] = {}
        for pending, path in self.states.items():
            for raw in _byte_options(ch):
                stepped = _step(pending, path, raw)
                if stepped is None:
                    continue
                state, new = stepped
                if state not in nxt or nxt[state].score < new.score:
                    nxt[state] = new
        self.states = nxt
        return bool(nxt)

    def complete(self) -> _Path | None:
        return self.states.get(_ALIGNED)

    def dangling(self) -> tuple[int, _Path] | None:
        open_ends = [(s, p) for s, p in self.states.items() if s >= 0]
        return max(open_ends, key=lambda sp: sp[1].score) if open_ends else None


def _is_trail_byte(b: int) -> bool:
    return 0x40 <= b <= 0xFE and b != 0x7F


def _step(pending: int, path: _Path, raw: bytes) -> tuple[int, _Path] | None:
    score, chars, dropped = path.score, list(path.chars), path.dropped
    for b in raw:
        if pending == _TO_DROP:
            if not _is_trail_byte(b):
                return None  # the dropped byte is the orphaned half of a character
            pending, dropped = _ALIGNED, b
        elif pending >= 0:
            ch = _pair_char(pending, b)
            if ch is None:
                return None
            chars.append(ch)
            score += char_logp(ch)
            pending = _ALIGNED
        elif b < 0x80:
            chars.append(chr(b))
            score += char_logp(chr(b))
        elif 0x81 <= b <= 0xFE:
            pending = b
        else:
            return None
    return pending, _Path(score, tuple(chars), dropped)


# --- detection ------------------------------------------------------------------------------


def _is_seed(text: str, i: int) -> bool:
    ch = text[i]
    if ch == "?":
        return True
    if ch.isascii() and (ch.isalpha() or ch in "_{}|\\^`~"):
        # A Latin letter or stray symbol right after a Chinese character is a typical
        # leftover trail byte (`髽I`); real words such as `AI` or `GDP` are rejected later by
        # the repair test.
        return i > 0 and _is_han(text[i - 1])
    if ch.isspace() or ch.isascii():
        return False
    return char_logp(ch) <= _SEED_LP


def _junk_before(text: str, pos: int, floor: int) -> tuple[int, int, str | None]:
    """Debris (`?`, `?zhí)`) ending at pos: its start, how many `?`, the reading if one."""
    start, count, reading = pos, 0, None
    while start > floor:
        found = None
        for k in range(3, 9):  # `?` + 1..6 pinyin letters + `)`
            s = start - k
            if s >= floor and text[s] == "?" and _JUNK_TAIL.fullmatch(text, s + 1, start):
                found = s
                break
        if found is not None:
            reading = text[found + 1 : start - 1] if count == 0 else None
        elif text[start - 1] == "?":
            found = start - 1
            reading = None
        else:
            break
        start, count = found, count + 1
    return start, count, reading


def _junk_after(text: str, pos: int, ceil: int) -> tuple[int, str | None]:
    """End of `?` / `?yōu)` debris starting at pos, and the reading it carries if any."""
    if pos < ceil and text[pos] == "?":
        m = _JUNK_TAIL.match(text, pos + 1, ceil)
        if m:
            return m.end(), m.group()[:-1]
        return pos + 1, None
    return pos, None


@dataclass
class _Candidate:
    start: int
    end: int
    repaired: str
    lost: int
    gain: float


class _Scorer:
    """Turns a decoded body plus its debris into a candidate run with a likelihood gain."""

    def __init__(self, text: str, readings: dict[str, set[str]]) -> None:
        self.text = text
        self.readings = readings

    def candidate(
        self,
        junk: tuple[int, int, str | None],
        body_end: int,
        decoder: _ShiftedDecoder,
        line_end: int,
    ) -> _Candidate | None:
        junk_start, junk_q, reading = junk
        options: list[_Candidate] = []
        done = decoder.complete()
        if done is not None:
            options.append(self._build(junk_start, junk_q, reading, body_end, done))
        open_end = decoder.dangling()
        if open_end is not None:
            lead, path = open_end
            end, tail_reading = _junk_after(self.text, body_end, line_end)
            recovered = _char_for_reading(lead, tail_reading, self.readings, 0)
            extra = (recovered,) if recovered else ()
            path = _Path(path.score + sum(map(char_logp, extra)), path.chars + extra, path.dropped)
            cand = self._build(junk_start, junk_q, reading, end, path)
            if not recovered:
                cand.lost += 1
                cand.gain += _LP_LOST
            options.append(cand)
        return max(options, key=lambda c: c.gain) if options else None

    def _build(
        self,
        junk_start: int,
        junk_q: int,
        reading: str | None,
        end: int,
        path: _Path,
    ) -> _Candidate:
        repaired = "".join(path.chars)
        score = path.score
        lost_bytes = junk_q + (path.dropped is not None)
        lost = (lost_bytes + 1) // 2
        if junk_q == 1 and reading and path.dropped is not None and junk_start > 0:
            # `龍?zhí)盥…`: the annotator read 執 (88 cc) across 龍's trail byte and the lost
            # character's lead, so the reading gives back that lead byte.
            prev = self.text[junk_start - 1]
            first = self._recover_first(prev, reading, path.dropped, repaired[:1])
            if first:
                repaired, score, lost = first + repaired, score + char_logp(first), 0
        garbled = self.text[junk_start:end]
        # A run behind debris has lost its first character whether or not it is repaired, so
        # only the characters lost beyond that one count against a reading; without debris
        # every lost character must be paid for (else dropping a byte of `APP` is a "repair").
        free = 1 if junk_q else 0
        gain = score - text_logp(garbled) + _LP_LOST * max(0, lost - free)
        return _Candidate(junk_start, end, repaired, lost, gain)

    def _recover_first(self, prev: str, reading: str, trail: int, after: str) -> str | None:
        try:
            prev_bytes = prev.encode("gbk")
        except UnicodeEncodeError:
            return None
        if len(prev_bytes) != 2:
            return None
        annotated = _char_for_reading(prev_bytes[1], reading, self.readings, 0)
        if annotated is None:
            return None
        lost = _pair_char(annotated.encode("gbk")[1], trail)
        # The guess is only kept when it makes a dictionary word with a neighbour; a gap in
        # the byte stream (debris dropped as private-use characters) would otherwise turn
        # into a plausible but wrong character.
        if lost and (_is_word(prev + lost) or _is_word(lost + after)):
            return lost
        return None


def _char_for_reading(
    byte: int, reading: str | None, readings: dict[str, set[str]], position: int
) -> str | None:
    """The character with this reading in the document whose GBK byte at position is byte."""
    if not reading:
        return None
    fits = []
    for ch in readings.get(reading, ()):
        try:
            encoded = ch.encode("gbk")
        except UnicodeEncodeError:
            continue
        if len(encoded) == 2 and encoded[position] == byte:
            fits.append(ch)
    return max(fits, key=char_logp) if fits else None


@cache
def _is_word(text: str) -> bool:
    # A few look-ups per document: a substring search beats building a 350k-word set.
    return f"\n{to_simplified(text)} " in _dict_text()


def _seed_clusters(text: str) -> list[tuple[int, int]]:
    clusters: list[tuple[int, int]] = []
    for i in range(len(text)):
        if not _is_seed(text, i):
            continue
        if clusters and i - clusters[-1][1] < _CLUSTER_GAP:
            clusters[-1] = (clusters[-1][0], i + 1)
        else:
            clusters.append((i, i + 1))
    return clusters


def _best_candidate(
    scorer: _Scorer, c_start: int, c_end: int, lo: int, line_end: int
) -> _Candidate | None:
    text = scorer.text
    best: _Candidate | None = None
    for body_start in range(max(lo, c_start - _MAX_LEAD_IN), min(c_end, line_end) + 1):
        junk = _junk_before(text, body_start, lo)
        for drop_first in (True, False):
            if not drop_first and junk[1] == 0:
                continue  # nothing lost and nothing shifted: the text as it stands
            decoder = _ShiftedDecoder(drop_first)
            last_gain_at = body_start
            local_best = -math.inf
            pos = body_start
            while True:
                cand = scorer.candidate(junk, pos, decoder, line_end)
                if cand is not None:
                    if cand.gain > local_best + 1e-9:
                        local_best, last_gain_at = cand.gain, pos
                    if best is None or cand.gain > best.gain + 1e-9:
                        best = cand
                if pos >= line_end or pos - max(last_gain_at, c_end) > _PATIENCE:
                    break
                if not decoder.feed(text[pos]):
                    break
                pos += 1
    return best


def find_mojibake(text: str, readings: dict[str, set[str]] | None = None) -> list[MojibakeRun]:
    """Garbled runs in text, left to right.

    `readings` (see pinyin_readings) come from the text before its annotations were stripped.
    Runs that no reading explains but that hold two or more impossible characters are reported
    with repaired == "" and changed == False.
    """
    readings = readings if readings is not None else pinyin_readings(text)
    scorer = _Scorer(text, readings)
    runs: list[MojibakeRun] = []
    floor = 0
    for c_start, c_end in _seed_clusters(text):
        if c_end <= floor:
            continue
        c_start = max(c_start, floor)
        line_start = text.rfind("\n", 0, c_start) + 1
        line_end = text.find("\n", c_end)
        line_end = len(text) if line_end < 0 else line_end
        lo = max(floor, line_start)
        best = _best_candidate(scorer, c_start, c_end, lo, line_end)
        if best is not None and _accepted(best):
            runs.append(
                MojibakeRun(
                    best.start,
                    best.end,
                    text[best.start : best.end],
                    best.repaired,
                    best.lost,
                    round(best.gain, 1),
                    changed=True,
                )
            )
            floor = best.end
        elif _is_debris(text[c_start:c_end]):
            runs.append(
                MojibakeRun(c_start, c_end, text[c_start:c_end], "", c_end - c_start, 0.0, False)
            )
            floor = c_end
    return runs


def _accepted(cand: _Candidate) -> bool:
    n = cand.end - cand.start
    return cand.gain >= _MIN_GAIN and cand.gain >= _MIN_GAIN_PER_CHAR * n


def _is_debris(span: str) -> bool:
    """Characters that no ordinary report contains, at least two of them."""
    return sum(char_logp(ch) <= _LP_UNSEEN_HAN and not ch.isascii() for ch in span) >= 2


def repair_mojibake(
    text: str, readings: dict[str, set[str]] | None = None
) -> tuple[str, list[MojibakeRun]]:
    """Replace every repairable run by its repair; returns the new text and all runs found.

    Unrecoverable runs are reported but left in place: nothing is known about what they said.
    """
    runs = find_mojibake(text, readings)
    out: list[str] = []
    pos = 0
    for run in runs:
        if not run.changed:
            continue
        out.append(text[pos : run.start])
        out.append(run.repaired)
        pos = run.end
    out.append(text[pos:])
    return "".join(out), runs
