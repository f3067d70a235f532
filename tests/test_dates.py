"""Typed dates (domain/dates.py): the forms people type, and clear refusals."""

from __future__ import annotations

from datetime import date

import pytest

from navigator.domain.dates import age_on, fmt, parse_date
from navigator.domain.errors import DomainError
from navigator.domain.workdays import WorkingCalendar

WED = date(2026, 11, 25)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2026-11-02", date(2026, 11, 2)),
        ("2026-1-2", date(2026, 1, 2)),
        ("02/11/2026", date(2026, 11, 2)),  # DD/MM/YYYY, not American
        ("2/1/2026", date(2026, 1, 2)),
        ("  13/11/2026 ", date(2026, 11, 13)),
        ("29/02/2028", date(2028, 2, 29)),
        ("1900-01-01", date(1900, 1, 1)),
    ],
)
def test_absolute_forms(text, expected):
    assert parse_date(text, today=WED) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("today", WED),
        ("TODAY", WED),
        ("t", WED),
        ("yesterday", date(2026, 11, 24)),
        ("y", date(2026, 11, 24)),
        ("+1", date(2026, 11, 26)),
        ("+3", date(2026, 11, 30)),  # Wed + 3 working days is over the weekend: Monday
        ("-2", date(2026, 11, 23)),
        ("-3", date(2026, 11, 20)),  # back over the weekend: Friday
        ("+0", WED),
    ],
)
def test_relative_forms(text, expected):
    assert parse_date(text, today=WED) == expected


def test_relative_over_a_bank_holiday():
    # Christmas 2026: Thu 24 + 1 working day is Tue 29 (25 Fri, 28 Mon substitute)
    assert parse_date("+1", today=date(2026, 12, 24)) == date(2026, 12, 29)
    assert parse_date("-1", today=date(2026, 12, 29)) == date(2026, 12, 24)
    # Easter 2026: Thu 2 April + 1 is Tue 7 April
    assert parse_date("+1", today=date(2026, 4, 2)) == date(2026, 4, 7)


def test_relative_uses_the_given_calendar():
    cal = WorkingCalendar(extra_non_working=[date(2026, 11, 26)])
    assert parse_date("+1", today=WED, calendar=cal) == date(2026, 11, 27)


def test_relative_can_be_turned_off():
    with pytest.raises(DomainError):
        parse_date("today", today=WED, relative=False)
    with pytest.raises(DomainError):
        parse_date("+3", today=WED, relative=False)
    assert parse_date("2026-11-02", today=WED, relative=False) == date(2026, 11, 2)


@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_is_none(text):
    assert parse_date(text, today=WED) is None


def test_impossible_date_is_refused_clearly():
    with pytest.raises(DomainError) as info:
        parse_date("31/02/2026", today=WED, field="received_date")
    assert info.value.field == "received_date"
    assert "no such date" in info.value.message.lower()
    assert "31/02/2026" in info.value.message
    with pytest.raises(DomainError, match="no such date"):
        parse_date("2026-13-01", today=WED)
    with pytest.raises(DomainError, match="no such date"):
        parse_date("29/02/2026", today=WED)


def test_before_1900_refused():
    with pytest.raises(DomainError) as info:
        parse_date("31/12/1899", today=WED, field="date_of_birth")
    assert "1900" in info.value.message and info.value.field == "date_of_birth"
    with pytest.raises(DomainError, match="1900"):
        parse_date("1066-10-14", today=WED)


@pytest.mark.parametrize(
    "text",
    ["tomorrow-ish", "11/2026", "2026/11/02", "02-11-2026", "next week", "+", "31.12.2026", "\x1b[31m2026-11-02"],
)
def test_nonsense_is_refused_with_the_forms_to_use(text):
    with pytest.raises(DomainError) as info:
        parse_date(text, today=WED)
    assert "YYYY-MM-DD" in info.value.message and "DD/MM/YYYY" in info.value.message


def test_age_on():
    assert age_on(date(2009, 11, 2), date(2026, 11, 2)) == 17
    assert age_on(date(2009, 11, 3), date(2026, 11, 2)) == 16
    assert age_on(date(2008, 2, 29), date(2025, 2, 28)) == 16
    assert age_on(date(2008, 2, 29), date(2025, 3, 1)) == 17
    assert age_on(date(2008, 2, 29), date(2028, 2, 28)) == 19  # a leap year: the birthday is the 29th
    assert age_on(date(2008, 2, 29), date(2028, 2, 29)) == 20
    assert age_on(date(2008, 2, 29), date(2008, 2, 29)) == 0


def test_age_on_is_calendar_arithmetic_every_day_of_four_years():
    """The whole-years shortcut (issue 16: it was a quarter of an import's rule checks) agrees with
    calendar arithmetic (relativedelta, with the UK's 1 March birthday for 29 February) on every day."""
    from calendar import isleap
    from datetime import timedelta

    from dateutil.relativedelta import relativedelta

    def by_calendar(dob: date, on: date) -> int:
        years = relativedelta(on, dob).years
        if (dob.month, dob.day) == (2, 29) and (on.month, on.day) == (2, 28) and not isleap(on.year) and on > dob:
            years -= 1
        return years

    for dob in (date(2008, 2, 29), date(2008, 2, 28), date(2008, 3, 1), date(1999, 12, 31), date(2000, 1, 1)):
        for k in range(-400, 4 * 366 + 400):
            on = dob + timedelta(days=17 * 365 + k)
            assert age_on(dob, on) == by_calendar(dob, on), (dob, on)
        for k in range(1, 800):  # before the birth: still calendar arithmetic
            assert age_on(dob, dob - timedelta(days=k)) == by_calendar(dob, dob - timedelta(days=k))


def test_plus_zero_is_today_even_on_a_weekend():
    sunday = date(2026, 12, 6)
    assert parse_date("+0", today=sunday) == sunday  # not Monday: a typed date is never pushed into the future
    assert parse_date("-0", today=sunday) == sunday
    assert parse_date("+1", today=sunday) == date(2026, 12, 7)
    assert parse_date("-1", today=sunday) == date(2026, 12, 4)


def test_fmt():
    assert fmt(date(2026, 1, 2)) == "2026-01-02"
    assert fmt(None) == ""
