"""The page's filters: dates as staff type them, turned into retrieval filters."""

from __future__ import annotations

import calendar
import re

from assistant.answer.retrieve import Filters


def parse_date(value: str | None, end: bool) -> str | None:
    """'2019', '2019-06' or '2019-06-30' (any of - / .) as an ISO date; the first or last
    day of a year or month, by which end of the range it bounds. ValueError otherwise."""
    text = (value or "").strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})(?:[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?月?)?年?(?:[ T].*)?", text)
    if not m:
        raise ValueError(f"无法识别的日期：{text}（请用 2019-06-30 这样的格式）")
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else (12 if end else 1)
    if not 1 <= month <= 12:
        raise ValueError(f"无法识别的日期：{text}")
    last = calendar.monthrange(year, month)[1]
    day = int(m.group(3)) if m.group(3) else (last if end else 1)
    if not 1 <= day <= last:
        raise ValueError(f"无法识别的日期：{text}")
    return f"{year:04d}-{month:02d}-{day:02d}"


def make_filters(docs: list[str] | None, date_from: str | None, date_to: str | None) -> Filters:
    start, stop = parse_date(date_from, end=False), parse_date(date_to, end=True)
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
