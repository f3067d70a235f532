"""Working days: Monday-Friday, excluding England & Wales bank holidays.

The count from A to B is the number of working days d with A < d <= B (same
day is 0; Friday to the next Monday is 1). An admin can correct the calendar
with extra non-working days or days that are working after all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    # subdiv="ENG": without it Easter Monday and the August holiday are missing.
    # The holidays package includes substitute days ("... (observed)").
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


class WorkingCalendar:
    def __init__(self, extra_non_working: Iterable[date] = (), extra_working: Iterable[date] = ()) -> None:
        self.extra_non_working = frozenset(extra_non_working)
        self.extra_working = frozenset(extra_working)
        self._index_start: date | None = None
        self._cumulative: list[int] = []

    def is_bank_holiday(self, d: date) -> bool:
        return d in _bank_holidays(d.year)

    def is_working_day(self, d: date) -> bool:
        if d in self.extra_working:
            return True
        if d in self.extra_non_working:
            return False
        return d.weekday() < 5 and not self.is_bank_holiday(d)

    # A cumulative index makes counting O(1) for the span used most.
    def _ensure_index(self, lo: date, hi: date) -> None:
        start = self._index_start
        if start is not None and start <= lo and hi < start + timedelta(days=len(self._cumulative)):
            return
        new_lo = min(lo, start) if start else lo
        new_lo = date(new_lo.year - 1, 1, 1)
        end = max(hi, start + timedelta(days=len(self._cumulative) - 1)) if start else hi
        new_hi = date(end.year + 2, 12, 31)
        cumulative = []
        total = 0
        d = new_lo
        one = timedelta(days=1)
        while d <= new_hi:
            if self.is_working_day(d):
                total += 1
            cumulative.append(total)
            d += one
        self._index_start = new_lo
        self._cumulative = cumulative

    def _ordinal(self, d: date) -> int:
        assert self._index_start is not None
        return self._cumulative[(d - self._index_start).days]

    def count(self, a: date, b: date) -> int:
        """Working days d with a < d <= b; negative when b is before a."""
        if b < a:
            return -self.count(b, a)
        self._ensure_index(a, b)
        return self._ordinal(b) - self._ordinal(a)

    def add(self, d: date, n: int) -> date:
        """The date n working days after d (before d when n is negative).

        ``add(d, 0)`` is d itself when d is a working day, else the next one.
        """
        one = timedelta(days=1)
        if n == 0:
            while not self.is_working_day(d):
                d += one
            return d
        step = one if n > 0 else -one
        remaining = abs(n)
        while remaining:
            d += step
            if self.is_working_day(d):
                remaining -= 1
        return d

    def days(self, a: date, b: date) -> list[tuple[date, bool]]:
        """Every day from a to b inclusive with whether it is a working day."""
        out = []
        d = a
        one = timedelta(days=1)
        while d <= b:
            out.append((d, self.is_working_day(d)))
            d += one
        return out


DEFAULT_CALENDAR = WorkingCalendar()
