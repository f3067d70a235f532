"""Work is never thrown away silently (issue 11): quitting, or going to another screen, with a changed
form open asks (keep editing / discard); with nothing changed it goes at once. Escape on a form is
covered in test_forms.py (test_escape_on_*)."""

from __future__ import annotations

from conftest import new_referral
from navigator.services.casework import queries
from navigator.tui.forms import ContactForm, ReferralForm
from navigator.tui.forms.base import DiscardDialog
from navigator.tui.screens.journey import JourneyScreen
from navigator.tui.screens.today import TodayScreen

from .helpers import TYPEAHEAD_SIZE as SIZE
from .helpers import make_app, on_journey, until
from .helpers import settle_quiet as settle


async def open_referral(pilot, *typed: str) -> ReferralForm:
    app = pilot.app
    await pilot.press("n", *typed)
    await until(lambda: isinstance(app.screen, ReferralForm) and app.screen.ready, "the referral form")
    await settle(pilot)
    return app.screen


async def test_ctrl_q_on_a_changed_form_asks_and_keeps_it_until_discarded(ctx):
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        form = await open_referral(pilot, *"Maya")
        assert form.field("first_name").text == "Maya"
        await pilot.press("ctrl+q")
        await until(lambda: isinstance(app.screen, DiscardDialog), "the question")
        assert app.return_code is None  # still running
        # keep editing: escape, and the form is back with what was typed
        await pilot.press("escape")
        await until(lambda: app.screen is form, "the form again")
        assert form.field("first_name").text == "Maya" and app.return_code is None
        # ctrl+q again, then discard: the app quits
        await pilot.press("ctrl+q")
        await until(lambda: isinstance(app.screen, DiscardDialog), "the question")
        await pilot.press("tab", "enter")
        await until(lambda: app.return_code is not None, "the app to quit")
    assert queries.caseload(ctx).total == 0


async def test_ctrl_q_on_an_unchanged_form_quits_at_once(ctx):
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_referral(pilot)
        await pilot.press("ctrl+q")
        await until(lambda: app.return_code is not None, "the app to quit")
        assert not any(isinstance(s, DiscardDialog) for s in app.screen_stack)


async def test_going_to_another_screen_from_a_changed_form_asks(ctx):
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        form = await open_referral(pilot, *"Maya")
        await app.run_action("caseload")  # as the command palette's "Go to Caseload" does
        await until(lambda: isinstance(app.screen, DiscardDialog), "the question")
        await pilot.press("enter")  # keep editing has the focus
        await until(lambda: app.screen is form, "the form again")
        assert form.field("first_name").text == "Maya"
        await app.run_action("today")
        await until(lambda: isinstance(app.screen, DiscardDialog), "the question")
        await pilot.press("d")  # discard
        await until(lambda: isinstance(app.screen, TodayScreen), "Today")
        assert form not in app.screen_stack


async def test_a_journey_form_left_as_it_opened_closes_at_once(ctx):
    """Defaults the form fills in itself (today's date, the suggested method) are not changes."""
    jid = new_referral(ctx).journey_id
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await on_journey(pilot, jid)
        await pilot.press("c")
        await until(lambda: isinstance(app.screen, ContactForm) and app.screen.ready, "the contact form")
        await settle(pilot)
        assert app.screen.field("date").text == "2026-11-25"
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, JourneyScreen), "the journey")
        # and changed, it asks
        await pilot.press("c", *"-1")
        await until(lambda: isinstance(app.screen, ContactForm) and app.screen.ready, "the contact form")
        await settle(pilot)
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, DiscardDialog), "the question")
