"""Type-ahead: keys typed from the instant a form is asked for land, in order, where they would
have landed had the person waited (issue 11).

Each ``test_*_typed_at_full_speed`` presses the key that opens a form on the desk and types the
whole form straight after it in the same ``pilot.press`` (no pause between), saves with ctrl+s,
and asserts on the saved record in the store. The ``burst`` tests go further: the form is asked
for and every key is queued on the app at once, before the form has even been built, as a
terminal delivers a paste or a very fast typist; nothing is handled before the next key arrives.
"""

from __future__ import annotations

import asyncio
from datetime import date
from time import monotonic

from textual import events
from textual.keys import _character_to_key

from conftest import new_referral
from navigator.domain.dates import parse_date
from navigator.services.casework import journeys as J
from navigator.services.casework import queries
from navigator.services.setup.reference import reference
from navigator.tui.app import NavigatorApp
from navigator.tui.forms import ContactForm, ReferralForm, StartForm
from navigator.tui.forms.base import FormScreen
from navigator.tui.screens.journey import JourneyScreen

from .test_forms import settle

SIZE = (100, 40)
TODAY = date(2026, 11, 25)  # tests/conftest.py: a Wednesday
YESTERDAY = date(2026, 11, 24)


def make_app(ctx) -> NavigatorApp:
    app = NavigatorApp(ctx)
    app.animation_level = "none"
    return app


async def until(condition, what: str, timeout: float = 60.0) -> None:
    """Poll a condition (bounded): a loaded machine only makes this slower, never wrong."""
    deadline = monotonic() + timeout
    while not condition():
        if monotonic() > deadline:  # pragma: no cover - a hang, reported rather than waited on forever
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def burst(app, *names: str) -> None:
    """Queue every key on the app at once, as the terminal driver does (nothing handled in between)."""
    for name in names:
        printable = len(name) == 1 and name.isprintable()
        key = _character_to_key(name) if printable and not name.isalnum() else name
        app.post_message(events.Key(key, name if printable else None))


def form_message(app) -> str:
    found = app.screen.query("#form-message")
    return str(found.first().content) if found else ""


async def on_journey(pilot, journey_id: int) -> JourneyScreen:
    app = pilot.app
    app.open_journey(journey_id)
    await until(lambda: isinstance(app.screen, JourneyScreen) and app.screen.journey_id == journey_id, "the journey")
    await settle(pilot)
    return app.screen


async def typed_and_saved(pilot, back_to: type, *keys: str) -> None:
    """The opening key and everything after it in one go, ctrl+s last; wait for the form to close."""
    app = pilot.app
    await pilot.press(*keys, "ctrl+s")
    await until(
        lambda: (
            isinstance(app.screen, back_to)
            or (isinstance(app.screen, FormScreen) and app.screen.ready and not app.screen.saving and form_message(app))
        ),
        "the save",
    )
    await settle(pilot)
    assert isinstance(app.screen, back_to), (app.screen, form_message(app))


def accepted(ctx, **kw) -> int:
    jid = new_referral(ctx, **kw).journey_id
    J.log_contact(ctx, jid, date(2026, 11, 3), "phone", "spoke")
    J.decide(ctx, jid, "accepted", date(2026, 11, 4))
    return jid


def started(ctx, **kw) -> int:
    jid = accepted(ctx, **kw)
    J.start(ctx, jid, date(2026, 11, 9), [3, 3, 3, 3, 3, 3, 3])
    return jid


def detail(ctx, jid: int):
    return queries.journey_detail(ctx, jid, audit_view=False)


def contacts(ctx, jid: int) -> list[tuple[date, str]]:
    return [(e.on, e.text) for e in detail(ctx, jid).timeline if e.kind == "contact"]


# ---------------------------------------------------------------- the referral form


REFERRAL_KEYS = (
    *"Zed",
    "tab",
    *"Quillfeather",
    "tab",
    *"01/02/1990",
    "tab",  # NHS number
    "tab",  # locality: open, search, choose
    "enter",
    *"Sevenoaks",
    "enter",
    *["tab"] * 7,  # postcode, phone, email, preferred contact, IMD decile, consent, received
    *"-1",
    "tab",  # source
    "enter",
    *"Self",
    "enter",
)


def assert_referral_saved(ctx, received: date = YESTERDAY) -> None:
    rows = queries.caseload(ctx).rows
    assert len(rows) == 1, rows
    d = detail(ctx, rows[0].journey_id)
    assert d.client.name == "Zed Quillfeather"
    assert d.client.date_of_birth == date(1990, 2, 1)
    assert d.locality == "Sevenoaks"
    assert d.received_date == received
    assert d.source_code == "self"


async def test_referral_typed_at_full_speed_after_n_on_any_day(any_day, ctx_on):
    """On every awkward day of the clock (weekend, bank holiday, year end, 29 Feb): "-1" is the
    working day before, never refused as in the future, and every key lands in order."""
    ctx = ctx_on(any_day)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await typed_and_saved(pilot, JourneyScreen, "n", *REFERRAL_KEYS)
    previous_working_day = parse_date("-1", today=any_day, calendar=ctx.calendar())
    assert previous_working_day < any_day
    assert_referral_saved(ctx, previous_working_day)


async def test_referral_keys_in_one_burst_before_the_form_exists(ctx):
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_new_referral()  # the form is asked for; nothing of it is built yet
        form = app.screen
        assert isinstance(form, ReferralForm) and not form.ready
        burst(app, *REFERRAL_KEYS, "ctrl+s")
        await until(lambda: isinstance(app.screen, JourneyScreen) or (form.ready and form_message(app)), "the save")
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen), form_message(app)
    assert_referral_saved(ctx)


# ---------------------------------------------------------------- the journey's forms


async def test_contact_typed_at_full_speed(ctx):
    jid = new_referral(ctx).journey_id
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await on_journey(pilot, jid)
        keys = ("c", *"-1", "tab", "enter", *"Text", "enter", "tab", "enter", *"Spoke", "enter", "tab", *"Rang back")
        await typed_and_saved(pilot, JourneyScreen, *keys)
    assert contacts(ctx, jid) == [(YESTERDAY, "Contact by text: Spoke (Rang back)")]


async def test_contact_keys_in_one_burst(ctx):
    jid = new_referral(ctx).journey_id
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await on_journey(pilot, jid)
        app.open_form(ContactForm, jid, journey_id=jid)
        assert isinstance(app.screen, ContactForm)
        burst(
            app, *"-1", "tab", "enter", *"Email", "enter", "tab", "enter", *"Voice", "enter", "tab", *"Left a message"
        )
        burst(app, "ctrl+s")
        await until(lambda: isinstance(app.screen, JourneyScreen), "the save")
    assert contacts(ctx, jid) == [(YESTERDAY, "Contact by email: Voicemail (Left a message)")]


async def test_decision_typed_at_full_speed(ctx):
    jid = new_referral(ctx).journey_id
    J.log_contact(ctx, jid, date(2026, 11, 3), "phone", "spoke")
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await on_journey(pilot, jid)
        # the reason appears as soon as "Rejected" is chosen, so the tab after the date lands on it
        keys = ("d", "enter", *"Rej", "enter", "tab", *"-1", "tab", "enter", *"out of", "enter")
        await typed_and_saved(pilot, JourneyScreen, *keys)
    d = detail(ctx, jid)
    assert d.state == "rejected" and d.decision_date == YESTERDAY and d.reject_reason == "out_of_area"


async def test_start_with_seven_swemwbs_digits_in_a_burst(ctx):
    jid = accepted(ctx)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await on_journey(pilot, jid)
        await typed_and_saved(pilot, JourneyScreen, "s", *"-1", "tab", *"1234512")
    d = detail(ctx, jid)
    assert d.state == "started" and d.start_date == YESTERDAY
    start = [m for m in d.measures if m.kind == "swemwbs" and m.point == "start"]
    assert [m.items for m in start] == [(1, 2, 3, 4, 5, 1, 2)]


async def test_swemwbs_digits_queued_at_once_each_land_on_their_own_statement(ctx):
    jid = accepted(ctx)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await on_journey(pilot, jid)
        app.open_form(StartForm, jid, journey_id=jid)
        form = app.screen
        assert isinstance(form, StartForm)
        burst(app, "tab", *"5432154")
        await until(lambda: form.ready and not form.holding_keys, "the form")
        await settle(pilot)
        assert form.field("swemwbs").answers() == [5, 4, 3, 2, 1, 5, 4]
        # a second burst over the answers (shift+tab back to the first) replaces them in order
        first = form.query_one("#f-swemwbs-1")
        form.set_focus(first)
        burst(app, *"1111111")
        await until(lambda: form.field("swemwbs").answers() == [1] * 7, "the answers")


async def test_goal_typed_at_full_speed(ctx):
    jid = started(ctx)
    outcome = reference(ctx).outcomes[0]
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await on_journey(pilot, jid)
        statement = "I want to sleep better"
        keys = ("g", "enter", *outcome.name[:6], "enter", "tab", *statement, "tab", *"2027-01-29")
        await typed_and_saved(pilot, JourneyScreen, *keys)
    goals = detail(ctx, jid).goals
    assert [(g.outcome, g.statement, g.target_date) for g in goals] == [(outcome.name, statement, date(2027, 1, 29))]


async def test_onward_typed_at_full_speed(ctx):
    jid = started(ctx)
    programme = reference(ctx).programmes[0]
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await on_journey(pilot, jid)
        keys = ("o", "enter", *programme.label[:8], "enter", "tab", *"-1", "tab", *"Keen to go")
        await typed_and_saved(pilot, JourneyScreen, *keys)
    onward = detail(ctx, jid).onward
    assert [(o.programme_id, o.referral_date) for o in onward] == [(programme.id, YESTERDAY)]


async def test_close_completed_with_end_swemwbs_typed_at_full_speed(ctx):
    jid = started(ctx)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await on_journey(pilot, jid)
        keys = ("x", "enter", *"Compl", "enter", "tab", *"-1", "tab", *"Joined a walking group", "tab", *"4444445")
        await typed_and_saved(pilot, JourneyScreen, *keys)
    d = detail(ctx, jid)
    assert d.state == "completed" and d.end_date == YESTERDAY
    end = [m for m in d.measures if m.kind == "swemwbs" and m.point == "end"]
    assert [m.items for m in end] == [(4, 4, 4, 4, 4, 4, 5)]
