"""Type-ahead: keys typed from the instant a form is asked for land, in order, where they would
have landed had the person waited (issue 11).

Each ``test_*_typed_at_full_speed`` presses the key that opens a form on the desk and types the
whole form straight after it in the same ``pilot.press`` (no pause between), saves with ctrl+s,
and asserts on the saved record in the store. The ``burst`` tests go further: the form is asked
for and every key is queued on the app at once, before the form has even been built, as a
terminal delivers a paste or a very fast typist; nothing is handled before the next key arrives.
"""

from __future__ import annotations

from datetime import date

from conftest import new_referral
from navigator.domain.dates import parse_date
from navigator.services.casework import journeys as J
from navigator.services.setup.reference import reference
from navigator.tui.forms import ContactForm, ReferralForm, StartForm
from navigator.tui.forms.base import FormScreen
from navigator.tui.screens.journey import JourneyScreen

from .helpers import (
    REFERRAL_KEYS,
    YESTERDAY,
    assert_referral_saved,
    burst,
    contacts,
    detail,
    form_message,
    make_app,
    on_journey,
    until,
)
from .helpers import TYPEAHEAD_SIZE as SIZE
from .helpers import accepted_id as accepted
from .helpers import settle_quiet as settle

TODAY = date(2026, 11, 25)  # tests/conftest.py: a Wednesday


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


def started(ctx, **kw) -> int:
    jid = accepted(ctx, **kw)
    J.start(ctx, jid, date(2026, 11, 9), [3, 3, 3, 3, 3, 3, 3])
    return jid


# ---------------------------------------------------------------- the referral form


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
