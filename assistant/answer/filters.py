"""Filters as staff type them (documents, dates), checked and turned into retrieval filters:
the page, the command line and the Python API read dates by the same rules."""

from __future__ import annotations

import calendar
import re

from assistant.answer.retrieve import Filters

DATE_HINT = "请按 2019-06-30 的格式填写（也可以只写 2019 或 2019-06）"
_DATE = re.compile(
    r"(\d{4})(?:[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?月?)?年?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"  # a time after it is ignored
)


def parse_date(value: str | None, end: bool) -> str | None:
    """'2019', '2019-06' or '2019-06-30' (any of - / . 年月日) as an ISO date; the first or
    last day of a year or month, by which end of the range it bounds. ValueError saying
    what is wrong, in Chinese, otherwise (2019/13/01 is refused, not read as something)."""
    text = (value or "").strip()
    if not text:
        return None
    m = _DATE.fullmatch(text)
    if not m:
        raise ValueError(f"“{text}”不是日期，{DATE_HINT}")
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else (12 if end else 1)
    if not 1 <= month <= 12:
        raise ValueError(f"“{text}”无效：月份应在 1 到 12 之间")
    last = calendar.monthrange(year, month)[1]
    day = int(m.group(3)) if m.group(3) else (last if end else 1)
    if not 1 <= day <= last:
        raise ValueError(f"“{text}”无效：{year}年{month}月只有 {last} 天")
    return f"{year:04d}-{month:02d}-{day:02d}"


def date_problem(date_from: str | None, date_to: str | None) -> str:
    """What is wrong with the two date fields, in Chinese; "" when nothing."""
    try:
        make_filters(None, date_from, date_to)
    except ValueError as err:
        return str(err)
    return ""


def make_filters(docs: list[str] | None, date_from: str | None, date_to: str | None) -> Filters:
    try:
        start = parse_date(date_from, end=False)
    except ValueError as err:
        raise ValueError(f"起始日期{err}") from None
    try:
        stop = parse_date(date_to, end=True)
    except ValueError as err:
        raise ValueError(f"截止日期{err}") from None
    if start and stop and start > stop:
        raise ValueError(f"起始日期 {start} 晚于截止日期 {stop}")
    return Filters(list(docs) if docs else None, start, stop)


def filters_note(filters: Filters) -> str:
    parts = []
    if filters.doc_ids:
        parts.append(f"只检索所选的 {len(filters.doc_ids)} 份文件")
    if filters.date_from or filters.date_to:
        parts.append(f"日期 {filters.date_from or '最早'} 至 {filters.date_to or '最近'}")
    return "（当前筛选：" + "；".join(parts) + "。放宽筛选条件后可再试。）" if parts else ""
