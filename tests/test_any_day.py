"""Every day of the year: nothing depends on today being a working day.

Run over the clock fixture (``any_day``: a Wednesday, a Saturday, a Sunday, Christmas, the
substitute bank holiday, New Year's Eve and Day, Easter Sunday, 29 February 2028) and over
Hypothesis properties that draw today from 2020-2035: the demo generator, Today's grouping,
the follow-up scheduler, the lateness wording and typed relative dates.
"""

from __future__ import annotations

import itertools
import shutil
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel, select

from conftest import ANY_DAYS, make_user, new_referral
from navigator.domain import lifecycle as L
from navigator.domain.dates import add_months, add_years, age_on, month_end, parse_date
from navigator.domain.followups import (
    Attempt,
    FollowUpFacts,
    Protocol,
    TaskKind,
    days_overdue,
    desired_tasks,
)
from navigator.domain.workdays import DEFAULT_CALENDAR as CAL
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.context import Ctx
from navigator.services.demo import generator as demo
from navigator.services.setup.reference import open_ready
from navigator.store.engine import open_store
from navigator.store.models import Client, Journey, Task

SETTINGS = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
days_2020_2035 = st.dates(date(2020, 1, 1), date(2035, 12, 31))

# Date columns that may lie after today: a goal's target, a follow-up's due date, a calendar correction.
MAY_BE_FUTURE = {("plan_goal", "target_date"), ("task", "due_date"), ("calendar_correction", "day")}
DATE_COLUMNS = [
    (t.name, c.name)
    for t in SQLModel.metadata.sorted_tables
    for c in t.columns
    if isinstance(c.type, sa.Date) and not isinstance(c.type, sa.DateTime) and (t.name, c.name) not in MAY_BE_FUTURE
]


def _as_date(v) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


def latest_dates(ctx: Ctx) -> dict[tuple[str, str], date]:
    """The latest value of every date column that must never be after today."""
    out = {}
    with ctx.store.engine.connect() as conn:
        for table, col in DATE_COLUMNS:
            v = conn.execute(sa.text(f'SELECT max("{col}") FROM "{table}"')).scalar()
            if v is not None:
                out[(table, col)] = _as_date(v)
    return out


def check_demo_store(ctx: Ctx, day: date) -> None:
    """What must hold of a demo store made on ``day``, whatever day it is."""
    assert len(DATE_COLUMNS) > 15
    late = {k: v for k, v in latest_dates(ctx).items() if v > day}
    assert not late, f"dated after today ({day}): {late}"
    with ctx.read() as s:
        for j, c in s.exec(select(Journey, Client).join(Client, Client.id == Journey.client_id)).all():
            assert j.state == L.state_of(J.facts(j, c)).value, j.id
        dues = s.exec(select(Task.due_date).where(Task.status == "open")).all()
    assert dues and all(CAL.is_working_day(d) for d in dues)
    view = Q.today(ctx)
    assert view.on == day and view.items, "the acting user has work on Today"
    check_today(view, day)
    anchor = CAL.on_or_before(day)
    # the showcase: every kind of follow-up is on Today, and "due today" lands on the last working
    # day (today itself on a working day)
    assert {i.kind for i in view.items} >= SHOWCASE, {i.kind for i in view.items}
    assert {i.kind for i in view.items if i.due_date == anchor} >= {"first_contact", "decide", "plan_review"}
    assert any(i.due_date == day for i in view.items) == CAL.is_working_day(day)


SHOWCASE = {
    "first_contact",
    "contact_attempt",
    "no_response_close",
    "decide",
    "waiting_to_start",
    "plan_review",
    "partner_feedback",
    "chase_partner",
}


def check_today(view, day: date) -> None:
    """Today's grouping: due today is due today; everything earlier is late by at least a day."""
    for i in view.items:
        assert i.due_date <= day
        assert CAL.is_working_day(i.due_date), i
        assert (i.overdue_days == 0) == (i.due_date == day), i
        assert i.overdue_days >= 0
    order = {
        k.value: n
        for n, k in enumerate(
            [TaskKind.FIRST_CONTACT, TaskKind.CONTACT_ATTEMPT, TaskKind.NO_RESPONSE_CLOSE, TaskKind.DECIDE]
        )
    }
    kinds = [order[i.kind] for i in view.items if i.kind in order]
    assert kinds == sorted(kinds)


# ---------------------------------------------------------------- over the clock fixture


def test_the_days_are_the_awkward_ones():
    days = ANY_DAYS
    assert days["sat"].weekday() == 5 and days["sun"].weekday() == 6 and days["leap-day"].weekday() == 1
    for name in ("christmas", "substitute-mon", "new-year"):
        assert CAL.is_bank_holiday(days[name]), name
    assert CAL.is_bank_holiday(days["easter-sun"] - timedelta(days=2))  # Good Friday
    assert CAL.is_bank_holiday(days["easter-sun"] + timedelta(days=1))  # Easter Monday


def test_demo_on_any_day(ctx_on, any_day):
    ctx = ctx_on(any_day)
    summary = demo.generate(ctx, clients=40, seed=4)
    assert summary.clients == 40 and summary.my_items > 0
    assert (summary.tasks_due_today > 0) == CAL.is_working_day(any_day)
    check_demo_store(ctx, any_day)


def test_demo_received_dates_on_any_day(ctx_on, any_day):
    """Thousands of draws (the Saturday failure needed a few thousand people): never after today,
    always a working day, and the most recent ones on the last working day itself."""
    import random

    ctx = ctx_on(any_day)
    with ctx.read() as s:
        ref = demo._Reference.load(s, ctx)
    gen = demo._Gen(ref, random.Random(3), any_day)
    drawn = [gen.received_date() for _ in range(6000)]
    assert max(drawn) == CAL.on_or_before(any_day) <= any_day
    assert all(CAL.is_working_day(d) for d in drawn)


def test_working_day_arithmetic_on_any_day(any_day):
    last = CAL.on_or_before(any_day)
    assert last <= any_day and CAL.is_working_day(last)
    assert all(not CAL.is_working_day(last + timedelta(days=k)) for k in range(1, (any_day - last).days + 1))
    for n in (-20, -3, -1, 0, 1, 3, 20):
        got = CAL.add(any_day, n)
        assert got == CAL.walk_add(any_day, n) and CAL.is_working_day(got)
        if n > 0:
            assert got > any_day and CAL.count(any_day, got) == n
        elif n < 0:  # the |n|-th working day before today: |n| - 1 working days between, and today if it is one
            assert got < any_day and CAL.count(got, any_day) == -n - 1 + CAL.is_working_day(any_day)
        else:
            assert got == (any_day if CAL.is_working_day(any_day) else CAL.add(any_day, 1))


def test_typed_relative_dates_on_any_day(any_day):
    assert parse_date("today", today=any_day) == any_day
    assert parse_date("+0", today=any_day) == any_day  # never a day in the future
    assert parse_date("yesterday", today=any_day) == any_day - timedelta(days=1)
    plus3 = parse_date("+3", today=any_day)
    assert CAL.is_working_day(plus3) and CAL.count(any_day, plus3) == 3
    minus2 = parse_date("-2", today=any_day)
    assert CAL.is_working_day(minus2) and minus2 < any_day
    # two working days back: the last working day before today, and the one before that
    assert minus2 == CAL.add(CAL.add(any_day, -1), -1)


def test_lateness_on_any_day(any_day):
    assert days_overdue(any_day, any_day, CAL) == 0
    assert days_overdue(any_day + timedelta(days=3), any_day, CAL) == 0
    for back in range(1, 12):
        due = any_day - timedelta(days=back)
        late = days_overdue(due, any_day, CAL)
        assert late >= 1  # never "overdue by 0 days"
        assert late <= days_overdue(due, any_day + timedelta(days=1), CAL)  # never less late tomorrow


def test_lateness_over_a_weekend():
    fri = date(2026, 12, 4)
    assert [days_overdue(fri, fri + timedelta(days=k), CAL) for k in range(5)] == [0, 1, 1, 1, 2]
    # Christmas: due Thursday 24th; 25 (Fri), 26-27, 28 (Mon) are not working days
    eve = date(2026, 12, 24)
    assert [days_overdue(eve, eve + timedelta(days=k), CAL) for k in range(6)] == [0, 1, 1, 1, 1, 1]


def test_follow_ups_on_any_day(ctx_on, any_day):
    ctx = ctx_on(any_day)
    nav = make_user(ctx, "nina", "navigator", ("Lot 2",))
    p = Protocol()
    # a referral received today (a weekend or a bank holiday too): first contact due on a working day
    fresh = new_referral(nav, first="Dora", received=any_day).journey_id
    # one received a week ago, tried once today without an answer: the next attempt after today
    week_ago = any_day - timedelta(days=7)
    chased = new_referral(nav, first="Olly", received=week_ago).journey_id
    J.log_contact(nav, chased, any_day, "phone", "no_answer")
    # one accepted today: waiting to start from the next working day at the latest
    waiting = new_referral(nav, first="Will", received=week_ago).journey_id
    J.log_contact(nav, waiting, week_ago, "phone", "spoke")
    J.decide(nav, waiting, "accepted", any_day)
    with ctx.read() as s:
        due = {
            (t.journey_id, t.kind): t.due_date
            for t in s.exec(select(Task).where(Task.status == "open", Task.journey_id.in_([fresh, chased, waiting])))
        }
    assert all(CAL.is_working_day(d) for d in due.values()), due
    first = due[(fresh, "first_contact")]
    assert first > any_day and CAL.count(any_day, first) == p.first_within
    nxt = due[(chased, "contact_attempt")]
    assert nxt > any_day and CAL.count(any_day, nxt) == p.gaps[0]
    assert due[(waiting, "waiting_to_start")] == CAL.add(any_day, 0) >= any_day
    # Today on the day: the referral received a week ago is past its first-contact date, so late
    check_today(Q.today(nav), any_day)
    later = CAL.add(any_day, 10)
    check_today(Q.today(nav, on=later), later)
    assert {i.journey_id for i in Q.today(nav, on=later).items} == {fresh, chased, waiting}
    # waiting to start: the days waited since the decision are counted as lateness is, never "waited 0" when late
    (wait,) = [i for i in Q.today(nav, on=later).items if i.kind == "waiting_to_start"]
    assert wait.waited_days == wait.overdue_days >= 9 and f"waited {wait.waited_days} working days" in wait.what


def test_month_and_year_arithmetic():
    assert add_months(date(2027, 3, 31), -1) == date(2027, 2, 28)
    assert add_months(date(2028, 3, 31), -1) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 6), 1) == date(2027, 1, 6)
    assert add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)
    assert month_end(date(2026, 12, 6)) == date(2026, 12, 31) and month_end(date(2028, 2, 1)) == date(2028, 2, 29)
    assert add_years(date(2028, 2, 29), -6) == date(2022, 2, 28)
    # a leap-day birthday: a year older on 1 March in a common year, on 29 February in a leap year
    dob = date(2008, 2, 29)
    assert [age_on(dob, d) for d in (date(2025, 2, 28), date(2025, 3, 1), date(2028, 2, 28), date(2028, 2, 29))] == [
        16,
        17,
        19,
        20,
    ]


# ---------------------------------------------------------------- Hypothesis: today drawn from 2020-2035


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory):
    """A set-up store with no people, copied for each example."""
    path = tmp_path_factory.mktemp("anyday-template") / "template.sqlite3"
    store, ctx = open_ready(f"sqlite:///{path}", username="admin", today_fn=lambda: date(2026, 11, 25))
    make_user(ctx, "nina", "navigator", ("Lot 2",))
    store.dispose()
    return path


_copies = itertools.count()


def _copy(empty_store, tmp_path_factory, day: date) -> tuple:
    dest = tmp_path_factory.mktemp("anyday") / f"s{next(_copies)}.sqlite3"
    shutil.copyfile(empty_store, dest)
    for side in empty_store.parent.glob(empty_store.name + ".*"):  # files kept beside a store (its audit key)
        shutil.copyfile(side, dest.with_name(dest.name + side.name[len(empty_store.name) :]))
    store = open_store(f"sqlite:///{dest}")
    return store, Ctx(store, username="admin", today_fn=lambda: day)


@SETTINGS
@given(day=days_2020_2035, seed=st.integers(1, 1000))
def test_property_demo_any_day(empty_store, tmp_path_factory, day, seed):
    store, ctx = _copy(empty_store, tmp_path_factory, day)
    try:
        summary = demo.generate(ctx, clients=30, seed=seed)
        assert summary.clients == 30
        check_demo_store(ctx, day)
    finally:
        store.dispose()


@SETTINGS
@given(
    day=days_2020_2035,
    received_back=st.lists(st.integers(0, 40), min_size=1, max_size=6),
    tried=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_property_today_grouping_any_day(empty_store, tmp_path_factory, day, received_back, tried):
    store, ctx = _copy(empty_store, tmp_path_factory, day)
    try:
        nav = Ctx(store, username="nina", today_fn=lambda: day)
        ids = []
        for k, back in enumerate(received_back):
            received = day - timedelta(days=back)
            jid = new_referral(nav, first=f"P{k}", received=received).journey_id
            if tried[k]:
                J.log_contact(nav, jid, received, "phone", "no_answer")
            ids.append(jid)
        for on in (day, day + timedelta(days=1), CAL.add(day, 5)):
            view = Q.today(nav, on=on)
            check_today(view, on)
            expected = set()
            with ctx.read() as s:
                for t in s.exec(select(Task).where(Task.status == "open")).all():
                    if t.due_date <= on:
                        expected.add(t.id)
            assert {i.task_id for i in view.items} == expected
    finally:
        store.dispose()


def after(start: date, due: date, n: int) -> bool:
    """``due`` is n working days after ``start`` (for 0: the first working day on or after it)."""
    if n:
        return CAL.count(start, due) == n and CAL.is_working_day(due)
    return due >= start and CAL.count(start - timedelta(days=1), due) == 1 and CAL.is_working_day(due)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    received=days_2020_2035,
    gaps=st.lists(st.integers(0, 12), min_size=0, max_size=4),
    first_within=st.integers(0, 10),
    opt_in=st.integers(0, 20),
    steps=st.lists(st.integers(0, 9), min_size=0, max_size=5),
    spoke_at=st.one_of(st.none(), st.integers(0, 4)),
)
def test_property_follow_up_scheduler(received, gaps, first_within, opt_in, steps, spoke_at):
    attempts_n = len(gaps) + 1
    p = Protocol(
        attempts=attempts_n,
        first_within=first_within,
        gaps=tuple(gaps),
        methods=("phone",) * attempts_n,
        opt_in_days=opt_in,
    )
    on = received
    attempts = []
    for k, gap in enumerate(steps):
        on = on + timedelta(days=gap)
        attempts.append(Attempt(on, spoke_at == k))
    facts = L.JourneyFacts(received_date=received, date_of_birth=date(1980, 1, 1))
    if attempts and any(a.successful for a in attempts):
        facts = facts.with_changes({"first_contact_date": next(a.on for a in attempts if a.successful)})
    tasks = desired_tasks(FollowUpFacts(facts, tuple(attempts)), p, CAL)
    chasing = []
    for a in attempts:
        chasing = [] if a.successful else [*chasing, a]
    for t in tasks:
        assert CAL.is_working_day(t.due), t  # every follow-up lands on a working day
        assert t.due >= received
        if t.kind == TaskKind.FIRST_CONTACT:
            assert after(received, t.due, first_within)
        if t.kind == TaskKind.CONTACT_ATTEMPT:
            last = chasing[-1].on
            assert t.due >= last  # never before the last attempt
            assert after(last, t.due, p.gaps[len(chasing) - 1])
            assert t.key == f"contact_attempt:{len(chasing) + 1}"
        if t.kind == TaskKind.NO_RESPONSE_CLOSE:
            last = chasing[-1].on
            assert len(chasing) >= p.attempts
            assert t.due >= last and after(last, t.due, opt_in)  # the opt-in period, in working days
    kinds = {t.kind for t in tasks}
    if chasing:
        assert kinds & {TaskKind.CONTACT_ATTEMPT, TaskKind.NO_RESPONSE_CLOSE}
    elif not attempts:
        assert kinds == {TaskKind.FIRST_CONTACT}


def test_due_and_overdue_wording_on_any_day(any_day):
    """What Today and the journey say: "today" only for what is due today, never "0 days" late."""
    from rich.console import Console

    from navigator.services.dto import TodayItem
    from navigator.tui.screens.today import item_prompt

    console = Console(width=120, record=True, color_system=None)
    dues = sorted({CAL.on_or_before(any_day - timedelta(days=k)) for k in range(10)} | {any_day})
    for due in dues:
        late = days_overdue(due, any_day, CAL)
        item = TodayItem(1, 1, "NAV000001", "Ann Smith", "first_contact", "Awaiting first contact", "Call", due, late)
        console.print(item_prompt(item, any_day))
        line = console.export_text()
        words = line.split()
        assert ("today" in words) == (due == any_day), line
        assert "0 days" not in line and "0 day" not in line
        assert (late == 0) == (due == any_day)
