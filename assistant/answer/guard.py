"""The grounding guard: checks every generated answer against the passages it cites.

A small model writes fluent sentences with figures the passages never gave, above all when
the passages do not hold the answer. Prompts reduce that; this module catches it. Pure
functions, no model:

- citations that point at no passage are removed (`verify_citations`);
- every figure in the answer (number with its magnitude and unit) must occur in a passage
  its sentence cites, after normalization (`ungrounded`). A sentence whose figures all occur
  in other passages it was given has its citation moved there (`moved_citations`): the 1.5B
  model copies figures faithfully but often numbers them after the last passage it read,
  and a retry for that made it refuse answers it had right;
- a year or figure the question names must occur in some cited passage: an answer about
  2025 does not answer a question about 2030 (`missing_question_numbers`);
- a phrase the question quotes ("强调“要紧盯目标干”的是谁?") must occur in a cited passage:
  the answer to it comes from where it was said (`missing_quoted`);
- the answer must give the kind of value the question asks for: a figure for each 多少/几,
  a date for 哪天/哪年, an ordinal for 第几 (`unanswered`). The small model otherwise
  restates the question ("…要形成几个超千亿支柱产业？[1]") or answers with a phrase
  ("新中国成立一百年时") and cites it, which no figure check would catch;
- an answer that only says the passages do not contain it is a refusal (`refused`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from assistant.answer.evidence import asked_units, asks_date, is_english, is_year
from assistant.textnorm import for_match, for_search

CITE = re.compile(r"\[(\d+)\]")
_CITES_RUN = re.compile(r"^(?:\s*\[\d+\])+")

# Units after a number, longest first so that 万平方米 wins over 米. A figure is checked
# with its unit: "6.8万元" is not grounded by "6.8%".
_UNIT_WORDS = (
    "平方公里",
    "平方千米",
    "平方米",
    "公里",
    "千米",
    "米",
    "公顷",
    "亩",
    "元",
    "美元",
    "港元",
    "%",
    "个百分点",
    "百分点",
    "倍",
    "家",
    "项",
    "个",
    "年",
    "月",
    "日",
    "号",
    "天",
    "小时",
    "分钟",
    "人次",
    "人",
    "名",
    "位",
    "户",
    "栋",
    "座",
    "所",
    "场",
    "条",
    "套",
    "宗",
    "辆",
    "间",
    "张",
    "次",
    "轮",
    "批",
    "类",
    "种",
    "件",
    "台",
    "处",
    "片",
    "大",
    "块",
    "支",
    "部",
    "届",
    "期",
    "层",
    "吨",
    "千瓦",
    "兆瓦",
    "标准箱",
    "岁",
    "床",
    "班",
    "艘",
    "架",
    "株",
    "棵",
    "km",
    "m",
)
_UNITS = sorted(_UNIT_WORDS, key=len, reverse=True)
_SCALES = ("万亿", "亿", "万", "千", "百")
_NUMBER = r"\d+(?:\.\d+)?"
_FIGURE = re.compile(
    rf"(?<![\d.])({_NUMBER})(?!\.?\d)({'|'.join(_SCALES)})?"
    rf"({'|'.join(re.escape(u) for u in _UNITS)})?"
)
# List numbering the model adds ("1. ", "2、", "(3)") is layout, not a figure.
_ENUMERATOR = re.compile(
    r"(?:^|(?<=[\s:：;；,，。!！?？]))\d{1,2}(?:[.、)）](?!\d))|[(（]\d{1,2}[)）]"
)
_UNIT_WINDOW = 8  # characters between a number and its unit in a passage ("6589个学位")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")

_REFUSAL = re.compile(
    r"未找到|没有找到|找不到|未提及|没有提及|未提到|没有提到|并未提|未涉及|没有涉及|未包含|"
    r"不包含|没有包含|没有相关|无相关|未给出|没有给出|没有具体|未说明|没有说明|未明确|没有明确|"
    r"无法回答|无法确定|无法得知|无法从|不能确定|没有这方面|没有关于|"
    r"not (?:contain|mention|provide|include|say|state|specify)|no information|"
    r"cannot (?:be )?(?:found|answer|determine)|does not (?:say|state|specify|contain|mention)",
    re.IGNORECASE,
)

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUMBER = re.compile(r"[零一二两三四五六七八九十百]{1,4}")
# A count the model may write in words: two or more (一 alone is too often not a count:
# "一个重要…"), before "大" ("五大行动") or a measure word.
_CN_COUNT = re.compile(
    r"(?<![零一二两三四五六七八九十百])(?!一(?![零一二两三四五六七八九十百]))"
    r"[零一二两三四五六七八九十百]{1,4}"
    r"(?=大|项|个|轮|家|条|所|座|场|批|类|种|件|次|届|名|位|户|栋|套|宗|处|片|年)"
)


@dataclass(frozen=True)
class Figure:
    text: str  # as checked, e.g. "2375.3亿元"
    number: str  # "2375.3"
    scale: str  # "亿", "万" or ""
    unit: str  # "元", "%", "家" or ""


@dataclass
class GuardReport:
    text: str  # the answer with invalid citations removed
    cited: list[int]  # valid passage numbers, in order of first use
    dropped_citations: list[int] = field(default_factory=list)
    ungrounded_numbers: list[str] = field(default_factory=list)
    moved_citations: list[str] = field(default_factory=list)  # "6.8万元: [2]→[1]"
    missing_question_numbers: list[str] = field(default_factory=list)
    missing_quoted: list[str] = field(default_factory=list)  # phrases quoted in the question
    unanswered: list[str] = field(default_factory=list)  # kinds asked, not given: "count"...
    uncited: bool = False  # an answer (not a refusal) with no valid citation at all
    refused: bool = False  # the model said the passages do not contain the answer

    @property
    def ok(self) -> bool:
        """A refusal is acceptable as it is; an answer must cite and be grounded."""
        if self.refused:
            return True
        return not (
            self.uncited
            or self.ungrounded_numbers
            or self.missing_question_numbers
            or self.missing_quoted
            or self.unanswered
        )

    def problems(self) -> str:
        """What is wrong, in Chinese, for the regeneration prompt."""
        found: list[str] = []
        if self.dropped_citations:
            cites = "".join(f"[{n}]" for n in self.dropped_citations)
            found.append(f"引用了不存在的资料编号{cites}")
        if self.uncited:
            found.append("没有标注资料编号")
        if self.ungrounded_numbers:
            found.append(f"数字{'、'.join(self.ungrounded_numbers)}在所标注的资料中找不到")
        if self.missing_question_numbers:
            asked = "、".join(self.missing_question_numbers)
            found.append(f"问题问的是{asked}，但所标注的资料没有提到{asked}")
        if self.missing_quoted:
            quoted = "、".join(f"“{q}”" for q in self.missing_quoted)
            found.append(f"问题中的{quoted}在所标注的资料中没有出现，应依据提到它的资料回答")
        if self.unanswered:
            found.append("；".join(_UNANSWERED[k] for k in self.unanswered))
        return "；".join(found)

    def as_dict(self) -> dict[str, object]:
        return {
            "dropped_citations": self.dropped_citations,
            "ungrounded_numbers": self.ungrounded_numbers,
            "moved_citations": self.moved_citations,
            "missing_question_numbers": self.missing_question_numbers,
            "missing_quoted": self.missing_quoted,
            "unanswered": self.unanswered,
            "uncited": self.uncited,
        }


def verify_citations(text: str, n_passages: int) -> tuple[str, list[int], list[int]]:
    """Remove markers that point at no passage (1..n_passages).

    Returns the text, the valid passage numbers in order of first use, and the dropped ones.
    """
    order: list[int] = []
    dropped: list[int] = []

    def keep(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if not 1 <= n <= n_passages:
            dropped.append(n)
            return ""
        if n not in order:
            order.append(n)
        return m.group(0)

    return CITE.sub(keep, text), order, dropped


def renumber(text: str, order: list[int]) -> str:
    """Markers renumbered 1..m in order of first use (`order` from verify_citations)."""
    return CITE.sub(lambda m: f"[{order.index(int(m.group(1))) + 1}]", text)


def check(text: str, passages: Mapping[int, str], question_norm: str) -> GuardReport:
    """Check a draft. `passages` maps passage number -> its text (with its source label)."""
    text, cited, dropped = verify_citations(text, max(passages, default=0))
    report = GuardReport(text=text.strip(), cited=cited, dropped_citations=dropped)
    # "Not in the passages" with nothing else said is a refusal; a partial answer that also
    # says one part is missing is an answer and is checked like one.
    claims = [seg for seg, _ in segments(text) if not is_refusal(seg) and _substantive(seg)]
    if is_refusal(text) and not claims:
        report.refused = True
        return report
    if not cited:
        report.uncited = True
    forms = {n: match_forms(p) for n, p in passages.items()}
    question = _bigrams(for_match(question_norm))
    exempt = set(_numbers(question_norm))
    pieces: list[str] = []
    for piece in _pieces(text):
        refs = [int(n) for n in CITE.findall(piece)]
        figs = [f for f in figures(piece) if f.number not in exempt]
        lost = [f for f in figs if not _grounded(f, refs or cited, forms)]
        holders = _holders(figs, forms) if lost and refs else None
        if holders:
            piece = _recite(piece, holders)
            report.moved_citations.extend(f"{f.text}: {_move(refs, holders)}" for f in lost)
            lost = []
        elif refs and not figs and (better := _better_source(piece, refs, passages, question)):
            report.moved_citations.append(f"{_clip(piece)}: {_move(refs, [better])}")
            piece = _recite(piece, [better])
        report.ungrounded_numbers.extend(
            f.text for f in lost if f.text not in report.ungrounded_numbers
        )
        pieces.append(piece)
    report.text = "".join(pieces).strip()
    report.cited = verify_citations(report.text, max(passages, default=0))[1]
    report.missing_quoted = [
        q for q in quoted(question_norm) if not any(q in forms[c][0] for c in report.cited)
    ]
    report.unanswered = unanswered(" ".join(claims), question_norm)
    if report.cited:
        report.missing_question_numbers = [
            n
            for n in dict.fromkeys(_numbers(question_norm))
            if not any(_has_number(n, form) for c in report.cited for form in forms[c])
        ]
    return report


_QUOTED = re.compile(r"[“\"「『]([^“”\"「」『』]{2,24})[”\"」』]")
_OPEN_ASK = re.compile(r"什么|哪|几|多少|谁")


def quoted(question_norm: str) -> list[str]:
    """Phrases the question quotes, normalized like the passages; a quoted question
    ("突出什么提效率") is not a phrase to find."""
    phrases = (for_match(m.group(1)) for m in _QUOTED.finditer(question_norm))
    return [p for p in dict.fromkeys(phrases) if not _OPEN_ASK.search(p)]


# What the question asks for, named in the regeneration prompt.
_UNANSWERED = {
    "echo": "回答只是复述了问题，没有给出答案",
    "count": "问题问的是数量，回答没有给出资料中的具体数字",
    "date": "问题问的是日期或年份，回答没有给出具体日期",
    "ordinal": "问题问的是第几，回答没有给出序号",
}
# The question's own interrogative ("几个", "第几") or a question mark left in the answer:
# the model restated the question instead of answering it.
_INTERROGATIVE = re.compile(r"多少|第几|几[个项大名条家次年月天位类种件所届人]")
_ASKS_AMOUNT_EN = re.compile(r"\bhow (?:many|much)\b|\bwhat (?:percentage|share|proportion)\b")
_ORDINAL_ASK = re.compile(r"第几")
_ORDINAL_GIVEN = re.compile(r"第\s*[\d零一二两三四五六七八九十百]+")
_MONTHS_EN = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d", re.IGNORECASE
)


def unanswered(claims: str, question_norm: str) -> list[str]:
    """The kinds of value the question asks for that the answer's claims do not give.

    Figures the question itself contains do not count as given: "2019年…" is not an answer
    to "2019年…多少个?", nor "四个先锋" to "争当“四个先锋”,要树立几个意识?".
    """
    raw = CITE.sub("", claims)
    text = for_match(raw)
    if "?" in text or any(q in text for q in _INTERROGATIVE.findall(question_norm)):
        return ["echo"]
    asked = set(_numbers(question_norm)) | {f.number for f in figures(question_norm)}
    new = [f for f in figures(raw) if f.number not in asked]
    missing: list[str] = []
    english = is_english(question_norm)
    counts = (
        len(_ASKS_AMOUNT_EN.findall(question_norm.lower()))
        if english
        else len(asked_units(question_norm))
    )
    if counts and len({f.number for f in new}) < counts:
        missing.append("count")
    if asks_date(question_norm) and not (
        # "一百年" is a span, not a year: a date has a four-digit year, a month or a day.
        any(f.unit in ("月", "日", "号") or is_year(f.number) for f in new)
        or (english and _MONTHS_EN.search(raw))
    ):
        missing.append("date")
    if _ORDINAL_ASK.search(question_norm) and not _ORDINAL_GIVEN.search(text):
        missing.append("ordinal")
    return missing


def segments(text: str) -> list[tuple[str, list[int]]]:
    """Sentences with the passage numbers they cite."""
    return [(piece, [int(n) for n in CITE.findall(piece)]) for piece in _pieces(text)]


def _pieces(text: str) -> list[str]:
    """The text cut into sentences that join back into it. Markers that open a sentence
    belong to the one before ("…亿元。[1]")."""
    out: list[str] = []
    for piece in _SENTENCE_END.split(text):
        lead = _CITES_RUN.match(piece)
        if lead and out:
            out[-1] += lead.group(0)
            piece = piece[lead.end() :]
        if piece:
            out.append(piece)
    return out


def _grounded(fig: Figure, refs: list[int], forms: Mapping[int, tuple[str, ...]]) -> bool:
    return any(occurs(fig, form) for n in refs for form in forms[n])


def _holders(figs: list[Figure], forms: Mapping[int, tuple[str, ...]]) -> list[int] | None:
    """Passages that hold a sentence's figures: the first that holds them all, else the
    first holding each; None when one of them is in no passage (it was invented)."""
    whole = [n for n in sorted(forms) if all(_grounded(f, [n], forms) for f in figs)]
    if whole:
        return whole[:1]
    each = [next((n for n in sorted(forms) if _grounded(f, [n], forms)), None) for f in figs]
    if any(n is None for n in each):
        return None
    return sorted({n for n in each if n is not None})


_MIN_CONTENT = 2  # bigrams a sentence must add to the question before its source is judged
_CONTENT_FOUND = 0.5  # share of them a passage must hold to be the source...
_CONTENT_MARGIN = 0.3  # ... and by how much more than the passages cited


def _better_source(
    piece: str, refs: list[int], passages: Mapping[int, str], question: set[str]
) -> int | None:
    """For a sentence without figures (a name, a list): the passage that holds what it adds
    to the question, when that is clearly not a passage it cites. The model's wording is
    checked by character pairs, since it copies names and terms from the passage it read."""
    if is_refusal(piece):
        return None
    content = _bigrams(for_match(CITE.sub("", piece))) - question
    if len(content) < _MIN_CONTENT:
        return None
    share = {n: len(content & _bigrams(for_match(p))) / len(content) for n, p in passages.items()}
    best = max(sorted(share), key=lambda n: share[n])
    cited = max(share[n] for n in refs)
    if share[best] >= _CONTENT_FOUND and share[best] - cited >= _CONTENT_MARGIN:
        return best
    return None


def _bigrams(text: str) -> set[str]:
    return {m.group(1) for m in _HAN_PAIR.finditer(text)}


_HAN_PAIR = re.compile(r"(?=([\u4e00-\u9fff]{2}))")


def _move(old: list[int], new: list[int]) -> str:
    return "".join(f"[{n}]" for n in old) + "→" + "".join(f"[{n}]" for n in new)


def _clip(piece: str, limit: int = 12) -> str:
    text = CITE.sub("", piece).strip()
    return text if len(text) <= limit else text[:limit] + "…"


def _recite(piece: str, holders: list[int]) -> str:
    """The sentence with its markers replaced by `holders`, where its first marker was."""
    first = CITE.search(piece)
    assert first is not None
    rest = CITE.sub("", piece[first.end() :])
    return piece[: first.start()] + "".join(f"[{n}]" for n in holders) + rest


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.search(for_search(text)))


def figures(text: str) -> list[Figure]:
    """The figures in an answer: numbers with their magnitude and unit, citations and list
    numbering removed, normalized like the passages (NFKC, Simplified, no digit commas).
    A Chinese count before a measure word ("八大行动", "三轮") is a figure too."""
    text = for_match(_ENUMERATOR.sub(" ", CITE.sub(" ", for_search(text))))
    text = _CN_COUNT.sub(lambda m: str(cn_to_int(m.group(0)) or m.group(0)), text)
    return [
        Figure(m.group(0), m.group(1), m.group(2) or "", m.group(3) or "")
        for m in _FIGURE.finditer(text)
    ]


def match_forms(passage: str) -> tuple[str, ...]:
    """A passage as figures are looked up in it: normalized, and again with small Chinese
    numerals written as digits ("三轮" -> "3轮") since a model may write either."""
    norm = for_match(passage)
    return (norm, _CN_NUMBER.sub(_arabic, norm))


def occurs(fig: Figure, passage_norm: str) -> bool:
    for m in re.finditer(rf"(?<![\d.]){re.escape(fig.number)}(?!\.?\d)", passage_norm):
        rest = passage_norm[m.end() :]
        scale = next((s for s in _SCALES if rest.startswith(s)), "")
        # The magnitude must agree exactly (6.8万元 is not 6.8元); a figure given without a
        # unit ("2.2") is grounded by the bare number with any magnitude.
        if (fig.scale or fig.unit) and scale != fig.scale:
            continue
        rest = rest[len(scale) :]
        if not fig.unit or _unit_follows(fig.unit, rest):
            return True
    return False


def _unit_follows(unit: str, rest: str) -> bool:
    window = rest[: _UNIT_WINDOW + len(unit)]
    at = window.find(unit)
    return at >= 0 and not re.search(r"\d", window[:at])


def _numbers(text: str) -> list[str]:
    return re.findall(_NUMBER, for_match(text))


def _has_number(number: str, passage_norm: str) -> bool:
    return bool(re.search(rf"(?<![\d.]){re.escape(number)}(?!\.?\d)", passage_norm))


def _arabic(m: re.Match[str]) -> str:
    value = cn_to_int(m.group(0))
    return str(value) if value is not None else m.group(0)


def cn_to_int(text: str) -> int | None:
    """Small Chinese numerals (up to 999): 三 -> 3, 十五 -> 15, 二十三 -> 23, 一百零五 -> 105."""
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def _substantive(segment: str) -> bool:
    """More than citations and punctuation."""
    return len(re.sub(r"[\W_]", "", CITE.sub("", segment))) >= 2
