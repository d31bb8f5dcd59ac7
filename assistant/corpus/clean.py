"""Clean scraped report text before it is chunked and indexed.

Each defect of the captured pages has its own step; every step returns the new text and
what it did, so that ingestion can report it. The text keeps its own script (Traditional
documents stay Traditional: passages are shown to users) and its line structure (one
paragraph or heading per line), because the chunker splits on headings such as `一、…`,
`(一)…`, `1.…` and `答卷1`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from assistant.corpus.instructions import neutralize_citations
from assistant.corpus.mojibake import PINYIN_TONED, MojibakeRun, pinyin_readings, repair_mojibake
from assistant.textnorm import nfkc, to_simplified

__all__ = [
    "CleanReport",
    "CleanResult",
    "MojibakeRun",
    "clean_text",
    "join_spaced_names",
    "normalize_chars",
    "remove_furniture",
    "repair_mojibake",
    "strip_pinyin",
    "tidy_lines",
]


@dataclass
class CleanReport:
    pinyin_removed: int = 0
    mojibake_repaired: list[MojibakeRun] = field(default_factory=list)
    mojibake_unrecoverable: list[MojibakeRun] = field(default_factory=list)
    furniture_removed: list[str] = field(default_factory=list)  # removed lines / fragments
    names_joined: list[str] = field(default_factory=list)
    chars_normalized: int = 0  # NFKC, non-breaking and repeated spaces
    lines_dropped: int = 0  # blank lines
    citation_marks: int = 0  # [1] 【1】 written in the source, rewritten as 〔1〕

    @property
    def lost_chars(self) -> int:
        runs = self.mojibake_repaired + self.mojibake_unrecoverable
        return sum(run.lost_chars for run in runs)

    def summary(self) -> dict[str, int]:
        """Counts for a table, one row per document."""
        return {
            "pinyin_removed": self.pinyin_removed,
            "mojibake_repaired": len(self.mojibake_repaired),
            "mojibake_unrecoverable": len(self.mojibake_unrecoverable),
            "mojibake_lost_chars": self.lost_chars,
            "furniture_removed": len(self.furniture_removed),
            "names_joined": len(self.names_joined),
            "chars_normalized": self.chars_normalized,
            "lines_dropped": self.lines_dropped,
            "citation_marks": self.citation_marks,
        }

    def details(self) -> dict[str, list[str]]:
        """What was changed, readable, for the ingest report."""

        def show(run: MojibakeRun) -> str:
            after = run.repaired if run.changed else "(left as found)"
            return f"{run.garbled} -> {after} [lost {run.lost_chars}]"

        return {
            "mojibake_repaired": [show(r) for r in self.mojibake_repaired],
            "mojibake_unrecoverable": [show(r) for r in self.mojibake_unrecoverable],
            "furniture_removed": list(self.furniture_removed),
            "names_joined": list(self.names_joined),
        }


@dataclass
class CleanResult:
    text: str
    report: CleanReport


# --- pinyin annotations ---------------------------------------------------------------------

_ANNOTATION = re.compile(rf"[(（](?P<syllable>[a-zü{PINYIN_TONED}]{{1,6}})[)）]")
_SYLLABLE = re.compile(
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ueng|ang|eng|ing|ong|ian|iao|uai|uan|üan|ai|ei|ao|ou|an|en|in|un|ün"
    r"|ia|ie|iu|ua|uo|ui|üe|ue|er|a|o|e|i|u|ü)"
    r"|ng|n|m"
)
_TONE_MARKS = {"\u0300", "\u0301", "\u0304", "\u030c"}


def _is_pinyin(syllable: str) -> bool:
    # Only tone-marked syllables count: the annotator always marks the tone, and `(ai)` or
    # `(men)` without one could just as well be English or an abbreviation.
    decomposed = unicodedata.normalize("NFD", syllable)
    if not any(ch in _TONE_MARKS for ch in decomposed):
        return False
    toneless = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    return _SYLLABLE.fullmatch(toneless) is not None


def strip_pinyin(text: str) -> tuple[str, int]:
    """Remove pinyin annotations such as `區(qū)`; `(一)`, `(GEP)`, `(簡稱…)` stay."""
    count = 0

    def drop(m: re.Match[str]) -> str:
        nonlocal count
        if _is_pinyin(m["syllable"]):
            count += 1
            return ""
        return m.group()

    return _ANNOTATION.sub(drop, text), count


# --- web page furniture ---------------------------------------------------------------------

# Patterns are matched against the Simplified, NFKC form of a line with spaces collapsed, so
# one pattern covers both scripts and both punctuation widths.
_FURNITURE_LINE = [
    re.compile(p)
    for p in (
        r"分享到:?.{0,20}",  # share buttons, sometimes followed by the target names
        r"(扫一扫|手机扫扫|扫描二维码|微信扫一扫).{0,12}(打开|浏览|阅读|分享).{0,10}",
        r"手机看报|打印(本页)?|关闭(窗口)?|返回顶部|\[?字[体号]:?\s?大\s?中\s?小\]?",
        r"返回.{1,8}网?\s?意见反馈",
        r"当前展示.{0,30}返回",
        r"点击标签名称查看更多信息",
        r"[·•●▪◆■\s]+",  # bullet dots on their own
    )
]
# Site banners: the publishing site's name above the title.
_BANNER = re.compile(r"\S{2,14}(人民政府|政府门户网站|门户网站|政府网)")
_BANNER_LINES = 3
# Headers of the related-links lists that end a page. The header line itself is always
# furniture; the lines after it are dropped only when all of them look like link titles.
_TAIL_MARKER = re.compile(r"相关(新闻|阅读|链接|文章|信息和服务|信息)|知识图谱|推荐阅读")
# A link title is short and is not a sentence: a line after the header that is long or ends
# like a sentence means the page (or a later edit) goes on with text, which stays.
_TITLE_MAX = 60
_SENTENCE_END = ("。", "!", "?", "！", "？", ";", "；")
_LEADING_BULLET = re.compile(r"^(\s*[·•●▪◆■]\s*)(?=\S)")
_SPACES = re.compile(r"[\s\u00a0\u3000]+")


def _key(line: str) -> str:
    return _SPACES.sub(" ", to_simplified(nfkc(line))).strip()


def _is_title(line: str) -> bool:
    line = line.strip()
    return len(line) < _TITLE_MAX and not line.endswith(_SENTENCE_END)


def remove_furniture(text: str) -> tuple[str, list[str]]:
    """Drop share buttons, QR prompts, banners, bullet dots and related-news tails.

    Returns the text and the removed lines or fragments. Blank lines are left for tidy_lines.
    """
    lines = text.split("\n")
    kept: list[str] = []
    removed: list[str] = []
    seen_content = 0
    for i, line in enumerate(lines):
        key = _key(line)
        if not key:
            kept.append(line)
            continue
        if _TAIL_MARKER.fullmatch(key):
            rest = [r for r in lines[i + 1 :] if r.strip()]
            if all(_is_title(r) for r in rest):
                removed.extend([line.strip(), *(r.strip() for r in rest)])
                break
            removed.append(line.strip())
            continue
        is_banner = seen_content < _BANNER_LINES and _BANNER.fullmatch(key) is not None
        if is_banner or any(p.fullmatch(key) for p in _FURNITURE_LINE):
            removed.append(line.strip())
            continue
        seen_content += 1
        m = _LEADING_BULLET.match(line)
        if m:
            removed.append(m.group(1).strip())
            line = line[m.end() :]
        kept.append(line)
    return "\n".join(kept), removed


# --- characters and spacing -----------------------------------------------------------------

_INLINE_SPACES = re.compile(r"[ \t]{2,}")


def normalize_chars(text: str) -> tuple[str, int]:
    """NFKC (full-width punctuation, non-breaking spaces), then one space between words.

    Newlines are kept. The count is the number of characters changed or removed.
    """
    changed = sum(1 for ch in text if nfkc(ch) != ch)
    text = nfkc(text).replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    for line in text.split("\n"):
        collapsed = _INLINE_SPACES.sub(" ", line)
        changed += len(line) - len(collapsed)
        lines.append(collapsed)
    return "\n".join(lines), changed


_HAN = r"[\u3400-\u4dbf\u4e00-\u9fff]"
# Two to four single characters with one space between each, not part of a longer word:
# how the pages set personal names (`范 德 繁`). Two-character words (`主动 谋划`) do not match.
_SPACED_NAME = re.compile(rf"(?<!\S){_HAN}(?: {_HAN}){{1,3}}(?!\S)")


def join_spaced_names(text: str) -> tuple[str, list[str]]:
    """`范 德 繁` -> `范德繁`; returns the joined names."""
    joined: list[str] = []

    def join(m: re.Match[str]) -> str:
        name = m.group().replace(" ", "")
        joined.append(name)
        return name

    return _SPACED_NAME.sub(join, text), joined


def tidy_lines(text: str) -> tuple[str, int]:
    """Strip each line and drop blank ones; returns the text and how many lines were dropped."""
    lines = [line.strip() for line in text.split("\n")]
    kept = [line for line in lines if line]
    return "\n".join(kept), len(lines) - len(kept)


# --- the pipeline ---------------------------------------------------------------------------


def clean_text(text: str) -> CleanResult:
    """Run every cleaning step in the order the defects were introduced, latest first.

    Pinyin goes first so that a run such as `髽I(yè)` ends at its last garbled byte; the
    readings are collected beforehand because they help to restore a character whose byte
    was swallowed (`鰞?yōu)` -> `優`). Mojibake is repaired before NFKC, which would change
    the characters' GBK bytes, and before furniture removal, which must see real text.
    """
    report = CleanReport()
    readings = pinyin_readings(text)
    text, report.pinyin_removed = strip_pinyin(text)
    text, runs = repair_mojibake(text, readings)
    report.mojibake_repaired = [r for r in runs if r.repaired]
    report.mojibake_unrecoverable = [r for r in runs if not r.repaired]
    text, report.furniture_removed = remove_furniture(text)
    text, report.chars_normalized = normalize_chars(text)
    text, report.lines_dropped = tidy_lines(text)
    text, report.names_joined = join_spaced_names(text)
    # after NFKC, which has made ［1］ into [1]: only the assistant's own marks link
    text, report.citation_marks = neutralize_citations(text)
    return CleanResult(text, report)
