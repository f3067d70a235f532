"""Dates as people type them: YYYY-MM-DD, DD/MM/YYYY, today, yesterday, +N / -N working days."""

from __future__ import annotations

import re
from calendar import isleap
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

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
            # "+0" is today itself (even on a weekend), as "today" is: never a day in the future.
            return calendar.add(today, n if m.group(1) == "+" else -n) if n else today
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
    """Age in whole years on a date. Someone born on 29 February is a year older on 1 March in a
    common year (the UK rule), not on 28 February as plain year arithmetic would have it."""
    if on >= dob:  # whole years: 29 February's birthday is 1 March in a common year (so (2, 28) < (2, 29))
        return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))
    years = relativedelta(on, dob).years
    if (dob.month, dob.day) == (2, 29) and (on.month, on.day) == (2, 28) and not isleap(on.year) and on > dob:
        years -= 1  # relativedelta moves the birthday back to 28 February in a common year
    return years


def add_months(d: date, n: int) -> date:
    """The same day n months later (earlier when n < 0), or the month's last day when it is shorter
    (31 March - 1 month is 28 or 29 February)."""
    return d + relativedelta(months=n)


def add_years(d: date, n: int) -> date:
    """The same day n years later (earlier when n < 0); 29 February becomes 28 February in a common year."""
    return d + relativedelta(years=n)


def month_key(d: date) -> str:
    """The month of ``d`` as ``YYYY-MM``: how the monthly return and the team view name a month."""
    return f"{d.year:04d}-{d.month:02d}"


def month_start(d: date) -> date:
    return d.replace(day=1)


def month_end(d: date) -> date:
    """The last day of d's month (31 December, 28 or 29 February)."""
    return d + relativedelta(day=31)


def fmt(d: date | None) -> str:
    return d.isoformat() if d else ""
