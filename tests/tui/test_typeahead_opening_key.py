"""Type-ahead across the key that opens a form or a screen (issue 11): the opening key and every key
after it arrive at once, as a terminal delivers them from a fast typist or a paste, and still land
where they would have had the person waited.

Textual runs a screen's binding (``n``, ``c``) only after the key has passed through the focused
widget's queue; the app runs such bindings at once (``NavigatorApp.run_binding_now``) and holds keys
while a journey opens (``hold_keys``/``release_keys``).
"""

from __future__ import annotations

from conftest import new_referral
from navigator.tui.screens.journey import JourneyScreen
from navigator.tui.screens.today import TodayScreen

from .helpers import REFERRAL_KEYS, YESTERDAY, burst, contacts, make_app, on_journey, until
from .helpers import TYPEAHEAD_SIZE as SIZE
from .helpers import settle_quiet as settle

CONTACT_KEYS = ("tab", "enter", *"Email", "enter", "tab", "enter", *"Voice", "enter", "tab", *"Left a message")
CONTACT_SAVED = [(YESTERDAY, "Contact by email: Voicemail (Left a message)")]


async def test_n_and_the_whole_referral_in_one_burst_from_today(ctx):
    """``n`` then the names, the date of birth and the pickers, all queued at once on Today."""
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        burst(app, "n", *REFERRAL_KEYS)
        await until(lambda: getattr(app.screen, "ready", False) and not app.screen.holding_keys, "the keys to land")
        await settle(pilot)
        values = {f.id: f.value for f in app.screen.query("Input")}
        assert values["f-first_name"] == "Zed" and values["f-last_name"] == "Quillfeather", values
        assert values["f-date_of_birth"] == "01/02/1990", values


async def test_c_and_the_whole_contact_in_one_burst_on_a_journey(ctx):
    jid = new_referral(ctx).journey_id
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await on_journey(pilot, jid)
        burst(app, "c", *"-1", *CONTACT_KEYS, "ctrl+s")
        await until(lambda: isinstance(app.screen, JourneyScreen) and contacts(ctx, jid), "the saved contact")
    assert contacts(ctx, jid) == CONTACT_SAVED


async def test_enter_on_today_then_c_and_the_contact_in_one_burst(ctx):
    """enter opens the highlighted journey; ``c`` typed before its screen is up is still for it."""
    jid = new_referral(ctx).journey_id
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        burst(app, "enter", "c", *"-1", *CONTACT_KEYS, "ctrl+s")
        await until(lambda: contacts(ctx, jid), "the saved contact")
        await until(lambda: isinstance(app.screen, JourneyScreen), "back on the journey")
    assert contacts(ctx, jid) == CONTACT_SAVED


async def test_letters_typed_in_the_caseload_filter_stay_text(ctx):
    """A focused text field takes letters as text: ``n`` there is part of the filter, not a new referral."""
    new_referral(ctx, first="Ann")
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await until(lambda: app.screen.__class__.__name__ == "CaseloadScreen", "the caseload")
        await settle(pilot)
        await pilot.press("slash")
        await settle(pilot)
        burst(app, *"ann")
        await until(lambda: app.screen.query_one("#filter").value == "ann", "the filter text")
        assert app.screen.__class__.__name__ == "CaseloadScreen"
