"""Dates as people type them: YYYY-MM-DD, DD/MM/YYYY, today, yesterday, +N / -N working days."""

from __future__ import annotations

import re
from datetime import date, timedelta

from navigator.domain.errors import DomainError
from navigator.domain.workdays import DEFAULT_CALENDAR, WorkingCalendar

EARLIEST = date(1900, 1, 1)

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_UK = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_REL = re.compile(r"^([+-])\s*(\d{1,4})$")


def parse_date(
    text: str | None,
    *,
    today: date,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
    field: str = "date",
    relative: bool = True,
) -> date | None:
    """Parse a typed date; None for an empty string. Raises DomainError with a reason."""
    if text is None:
        return None
    s = str(text).strip().lower()
    if not s:
        return None
    if relative:
        if s in ("today", "t", "now"):
            return today
        if s in ("yesterday", "y"):
            return today - timedelta(days=1)
        m = _REL.match(s)
        if m:
            n = int(m.group(2))
            return calendar.add(today, n if m.group(1) == "+" else -n)
    m = _ISO.match(s)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = _UK.match(s)
        if not m:
            hint = "YYYY-MM-DD or DD/MM/YYYY" + (", today, yesterday, +N or -N working days" if relative else "")
            raise DomainError(f"Not a date: use {hint}.", field=field)
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        value = date(y, mo, d)
    except ValueError:
        raise DomainError(f"There is no such date ({text.strip()}).", field=field) from None
    if value < EARLIEST:
        raise DomainError("Dates before 1900 are not accepted.", field=field)
    return value


def age_on(dob: date, on: date) -> int:
    years = on.year - dob.year
    if (on.month, on.day) < (dob.month, dob.day):
        years -= 1
    return years


def fmt(d: date | None) -> str:
    return d.isoformat() if d else ""
