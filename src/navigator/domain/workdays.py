"""Working days: Monday-Friday, excluding England & Wales bank holidays.

The count from A to B is the number of working days d with A < d <= B (same
day is 0; Friday to the next Monday is 1). An admin can correct the calendar
with extra non-working days or days that are working after all.
"""

from __future__ import annotations

from bisect import bisect_left
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
        self._index: tuple[int, list[int]] | None = None  # (first day's ordinal, running totals)

    def is_bank_holiday(self, d: date) -> bool:
        return d in _bank_holidays(d.year)

    def is_working_day(self, d: date) -> bool:
        if d in self.extra_working:
            return True
        if d in self.extra_non_working:
            return False
        return d.weekday() < 5 and not self.is_bank_holiday(d)

    # A cumulative index (working days from its first day up to each day, by ordinal) makes counting
    # O(1) and adding a bisection. It is one tuple, replaced whole, so a reader never sees half an update.
    def _ensure_index(self, lo: date, hi: date) -> tuple[int, list[int]]:
        index = self._index
        if index is not None:
            start, cumulative = index
            if start <= lo.toordinal() and hi.toordinal() < start + len(cumulative):
                return index
            lo = min(lo, date.fromordinal(start))
            hi = max(hi, date.fromordinal(start + len(cumulative) - 1))
        new_lo, new_hi = date(lo.year - 1, 1, 1), date(hi.year + 2, 12, 31)
        cumulative = []
        total = 0
        d = new_lo
        one = timedelta(days=1)
        while d <= new_hi:
            if self.is_working_day(d):
                total += 1
            cumulative.append(total)
            d += one
        self._index = (new_lo.toordinal(), cumulative)
        return self._index

    def count(self, a: date, b: date) -> int:
        """Working days d with a < d <= b; negative when b is before a."""
        if b < a:
            return -self.count(b, a)
        start, cumulative = self._ensure_index(a, b)
        return cumulative[b.toordinal() - start] - cumulative[a.toordinal() - start]

    def add(self, d: date, n: int) -> date:
        """The date n working days after d (before d when n is negative).

        ``add(d, 0)`` is d itself when d is a working day, else the next one. For n > 0 it is the
        first day w with ``count(d, w) == n`` (from a Saturday, +1 is Monday); for n < 0 the
        |n|-th working day before d (from a Sunday, -1 is Friday). Same answers as ``walk_add``.
        """
        span = abs(n) * 2 + 31
        while True:
            index = self._index
            if index is not None:
                start, cumulative = index
                i = d.toordinal() - start
                if 0 < i < len(cumulative):
                    here, before = cumulative[i], cumulative[i - 1]  # before: working days before d
                    if n >= 0:
                        # the first day on or after d whose running total reaches the target
                        target = here + n if n else (here if here > before else here + 1)
                        j = bisect_left(cumulative, target, i)
                        if j < len(cumulative):
                            return date.fromordinal(start + j)
                    elif before + n + 1 >= 1:  # the working day whose running total is before + n + 1
                        return date.fromordinal(start + bisect_left(cumulative, before + n + 1, 0, i))
            # not answerable from the index as it is: widen it and try again
            lo, hi = (d - timedelta(days=span), d) if n < 0 else (d - timedelta(days=1), d + timedelta(days=span))
            self._ensure_index(lo, hi)
            span *= 2

    def walk_add(self, d: date, n: int) -> date:
        """``add`` by walking day by day (the definition; the tests compare the two)."""
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

    def on_or_before(self, d: date) -> date:
        """The last working day on or before d (d itself on a working day; Friday for a weekend)."""
        return d if self.is_working_day(d) else self.add(d, -1)

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
