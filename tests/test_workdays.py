"""Working days (domain/workdays.py): Mon-Fri minus England & Wales bank holidays, A < d <= B."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from navigator.domain.workdays import DEFAULT_CALENDAR, WorkingCalendar

CAL = WorkingCalendar()


def brute_count(cal: WorkingCalendar, a: date, b: date) -> int:
    n, d = 0, a
    while d < b:
        d += timedelta(days=1)
        n += cal.is_working_day(d)
    return n


# ---------------------------------------------------------------- count(A, B): A < d <= B


def test_same_day_is_zero():
    for d in (date(2026, 11, 25), date(2026, 11, 28), date(2026, 12, 25)):
        assert CAL.count(d, d) == 0


def test_friday_to_monday_is_one():
    assert CAL.count(date(2026, 11, 20), date(2026, 11, 23)) == 1
    assert CAL.count(date(2026, 11, 20), date(2026, 11, 21)) == 0  # Saturday
    assert CAL.count(date(2026, 11, 23), date(2026, 11, 24)) == 1
    assert CAL.count(date(2026, 11, 23), date(2026, 11, 30)) == 5  # Monday to Monday


def test_count_excludes_start_includes_end():
    mon, tue = date(2026, 11, 23), date(2026, 11, 24)
    assert CAL.count(mon, tue) == 1
    sat, sun = date(2026, 11, 21), date(2026, 11, 22)
    assert CAL.count(sat, sun) == 0
    assert CAL.count(sun, mon) == 1


def test_count_backwards_is_negative():
    assert CAL.count(date(2026, 11, 23), date(2026, 11, 20)) == -1


def test_count_matches_day_by_day_over_years():
    a = date(2025, 6, 1)
    for b in (date(2025, 6, 1), date(2026, 1, 2), date(2026, 12, 31), date(2027, 12, 31), date(2029, 3, 3)):
        assert CAL.count(a, b) == brute_count(CAL, a, b)
    # an index built for a late span still answers an earlier one
    cal = WorkingCalendar()
    assert cal.count(date(2030, 1, 1), date(2030, 2, 1)) == brute_count(cal, date(2030, 1, 1), date(2030, 2, 1))
    assert cal.count(date(2020, 1, 1), date(2020, 2, 1)) == brute_count(cal, date(2020, 1, 1), date(2020, 2, 1))
    assert cal.count(date(2019, 12, 1), date(2033, 2, 1)) == brute_count(cal, date(2019, 12, 1), date(2033, 2, 1))


# ---------------------------------------------------------------- bank holidays (subdiv ENG, substitutes)


def test_easter_2026():
    good_friday, easter_monday = date(2026, 4, 3), date(2026, 4, 6)
    assert good_friday.weekday() == 4 and easter_monday.weekday() == 0
    assert not CAL.is_working_day(good_friday)
    assert not CAL.is_working_day(easter_monday)  # missing without subdiv="ENG"
    assert CAL.is_working_day(date(2026, 4, 2)) and CAL.is_working_day(date(2026, 4, 7))
    # Thursday before Easter to Tuesday after: only the Tuesday counts
    assert CAL.count(date(2026, 4, 2), date(2026, 4, 7)) == 1
    assert CAL.add(date(2026, 4, 2), 1) == date(2026, 4, 7)


def test_christmas_2026_boxing_day_substitute_monday_28():
    assert date(2026, 12, 25).weekday() == 4  # Friday
    for d in (date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 27), date(2026, 12, 28)):
        assert not CAL.is_working_day(d), d
    assert CAL.is_bank_holiday(date(2026, 12, 28))
    assert CAL.is_working_day(date(2026, 12, 24)) and CAL.is_working_day(date(2026, 12, 29))
    assert CAL.count(date(2026, 12, 24), date(2026, 12, 29)) == 1
    assert CAL.add(date(2026, 12, 24), 1) == date(2026, 12, 29)


def test_christmas_2027_both_substitutes():
    assert date(2027, 12, 25).weekday() == 5 and date(2027, 12, 26).weekday() == 6
    assert CAL.is_bank_holiday(date(2027, 12, 27)) and CAL.is_bank_holiday(date(2027, 12, 28))
    assert not CAL.is_working_day(date(2027, 12, 27))
    assert not CAL.is_working_day(date(2027, 12, 28))
    assert CAL.is_working_day(date(2027, 12, 29))
    assert CAL.count(date(2027, 12, 24), date(2027, 12, 29)) == 1
    assert CAL.add(date(2027, 12, 24), 1) == date(2027, 12, 29)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),  # New Year's Day
        date(2026, 5, 4),  # early May
        date(2026, 5, 25),  # Spring
        date(2026, 8, 31),  # Summer (missing without subdiv="ENG")
        date(2027, 1, 1),
        date(2027, 3, 26),
        date(2027, 3, 29),  # Easter 2027
        date(2027, 5, 3),
        date(2027, 5, 31),
        date(2027, 8, 30),
    ],
)
def test_other_bank_holidays_present(day):
    assert day.weekday() < 5
    assert CAL.is_bank_holiday(day)
    assert not CAL.is_working_day(day)


def test_scottish_only_holidays_are_working_days():
    # 2 January and St Andrew's Day are Scottish bank holidays, not English ones
    assert CAL.is_working_day(date(2026, 1, 2))
    assert CAL.is_working_day(date(2026, 11, 30))


def test_bank_holiday_count_2026():
    holidays_2026 = [
        d for d, working in CAL.days(date(2026, 1, 1), date(2026, 12, 31)) if d.weekday() < 5 and not working
    ]
    assert len(holidays_2026) == 8  # 8 England & Wales weekday bank holidays
    assert CAL.count(date(2025, 12, 31), date(2026, 12, 31)) == 261 - 8


# ---------------------------------------------------------------- corrections


def test_extra_non_working_day():
    closure = date(2026, 11, 24)  # a Tuesday the service is closed (e.g. a one-off holiday)
    cal = WorkingCalendar(extra_non_working=[closure])
    assert not cal.is_working_day(closure)
    assert cal.count(date(2026, 11, 23), date(2026, 11, 25)) == 1
    assert CAL.count(date(2026, 11, 23), date(2026, 11, 25)) == 2
    assert cal.add(date(2026, 11, 23), 1) == date(2026, 11, 25)


def test_extra_working_day():
    # a bank holiday moved, or a Saturday opening
    cal = WorkingCalendar(extra_working=[date(2026, 8, 31), date(2026, 11, 28)])
    assert cal.is_working_day(date(2026, 8, 31))
    assert cal.is_working_day(date(2026, 11, 28))
    assert cal.count(date(2026, 8, 28), date(2026, 9, 1)) == 2
    assert CAL.count(date(2026, 8, 28), date(2026, 9, 1)) == 1
    assert cal.add(date(2026, 11, 27), 1) == date(2026, 11, 28)


def test_corrections_do_not_leak_into_the_default_calendar():
    WorkingCalendar(extra_non_working=[date(2026, 11, 24)]).count(date(2026, 11, 1), date(2026, 12, 1))
    assert DEFAULT_CALENDAR.is_working_day(date(2026, 11, 24))
    assert DEFAULT_CALENDAR.count(date(2026, 11, 23), date(2026, 11, 25)) == 2


# ---------------------------------------------------------------- add(d, n)


def test_add_forwards():
    wed = date(2026, 11, 25)
    assert CAL.add(wed, 1) == date(2026, 11, 26)
    assert CAL.add(wed, 2) == date(2026, 11, 27)
    assert CAL.add(wed, 3) == date(2026, 11, 30)  # over the weekend
    assert CAL.add(date(2026, 11, 27), 1) == date(2026, 11, 30)  # Friday + 1 = Monday
    assert CAL.add(date(2026, 11, 28), 1) == date(2026, 11, 30)  # Saturday + 1 = Monday
    assert CAL.add(date(2026, 12, 23), 2) == date(2026, 12, 29)  # over Christmas 2026


def test_add_backwards():
    assert CAL.add(date(2026, 11, 30), -1) == date(2026, 11, 27)
    assert CAL.add(date(2026, 4, 7), -1) == date(2026, 4, 2)  # back over Easter
    assert CAL.add(date(2026, 12, 29), -1) == date(2026, 12, 24)


def test_add_zero_is_today_or_next_working_day():
    assert CAL.add(date(2026, 11, 25), 0) == date(2026, 11, 25)
    assert CAL.add(date(2026, 11, 28), 0) == date(2026, 11, 30)


def test_add_and_count_agree():
    start = date(2026, 3, 20)
    for n in range(0, 60):
        d = CAL.add(start, n)
        if n:
            assert CAL.count(start, d) == n
            assert CAL.is_working_day(d)
        back = CAL.add(d, -n) if n else d
        assert CAL.count(back, d) == n


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    d=st.dates(date(2015, 1, 1), date(2040, 12, 31)),
    n=st.integers(-400, 400),
    off=st.sets(st.dates(date(2020, 1, 1), date(2030, 12, 31)), max_size=20),
    on=st.sets(st.dates(date(2020, 1, 1), date(2030, 12, 31)), max_size=10),
)
def test_add_is_the_day_by_day_walk(d, n, off, on):
    """add() answers from the cumulative index; walk_add() is the definition, one day at a time."""
    cal = WorkingCalendar(extra_non_working=off, extra_working=on)
    assert cal.add(d, n) == cal.walk_add(d, n)


def test_on_or_before():
    assert CAL.on_or_before(date(2026, 12, 2)) == date(2026, 12, 2)  # a working day is itself
    assert CAL.on_or_before(date(2026, 12, 6)) == date(2026, 12, 4)  # Sunday: Friday
    assert CAL.on_or_before(date(2026, 12, 28)) == date(2026, 12, 24)  # over Christmas and its substitute day
    assert CAL.on_or_before(date(2027, 3, 29)) == date(2027, 3, 25)  # Easter Monday: Maundy Thursday
    assert CAL.on_or_before(date(2027, 1, 1)) == date(2026, 12, 31)  # across the year end


def test_days_lists_each_day():
    days = CAL.days(date(2026, 12, 24), date(2026, 12, 29))
    assert [d.day for d, _ in days] == [24, 25, 26, 27, 28, 29]
    assert [w for _, w in days] == [True, False, False, False, False, True]


def test_store_corrections_move_follow_ups(ctx):
    """An admin's corrections in the store are the calendar the services use."""
    from sqlmodel import select

    from conftest import new_referral
    from navigator.store.models import CalendarCorrection, Task

    with ctx.write() as s:
        s.add(CalendarCorrection(day=date(2026, 11, 3), is_working_day=False, note="Service closed"))
        s.add(CalendarCorrection(day=date(2026, 11, 7), is_working_day=True, note="Saturday opening"))
    ctx.forget_calendar()
    cal = ctx.calendar()
    assert not cal.is_working_day(date(2026, 11, 3)) and cal.is_working_day(date(2026, 11, 7))
    jid = new_referral(ctx, received=date(2026, 11, 2)).journey_id  # Monday; +2 working days
    with ctx.read() as s:
        (task,) = s.exec(select(Task).where(Task.journey_id == jid)).all()
    assert task.due_date == date(2026, 11, 5)  # Tue 3 is closed: Wed 4, Thu 5
    jid2 = new_referral(ctx, first="Bea", received=date(2026, 11, 5)).journey_id  # Thu + 2 = Sat 7 (open)
    with ctx.read() as s:
        (task,) = s.exec(select(Task).where(Task.journey_id == jid2)).all()
    assert task.due_date == date(2026, 11, 7)
