"""QA of issue 11 from a real terminal: the key that opens a form and everything typed after it
arrive in one read (tmux send-keys, a paste, a fast typist on a loaded machine).

A terminal delivers them all to the app before any is handled. Textual runs an ordinary binding
(``n`` on Today, ``c`` on a journey) only once the key has travelled through the focused widget and
its parents, so without care the keys behind it are sent to the old screen's table and lost. These
tests queue the opening key together with the rest (``burst``), unlike ``pilot.press``, which waits
for each key to be handled.
"""

from __future__ import annotations

from conftest import new_referral
from navigator.tui.screens.journey import JourneyScreen

from .helpers import (
    REFERRAL_KEYS,
    YESTERDAY,
    assert_referral_saved,
    burst,
    contacts,
    detail,
    make_app,
    on_journey,
    until,
)
from .helpers import TYPEAHEAD_SIZE as SIZE
from .helpers import accepted_id as accepted
from .helpers import settle_quiet as settle


async def test_n_and_the_whole_referral_in_one_burst_from_today(ctx):
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "n", *REFERRAL_KEYS, "ctrl+s")
        await until(lambda: isinstance(app.screen, JourneyScreen), "the saved referral's journey")
        await settle(pilot)
    assert_referral_saved(ctx)


async def test_c_and_the_whole_contact_in_one_burst_from_the_journey(ctx):
    jid = new_referral(ctx).journey_id
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        journey = await on_journey(pilot, jid)
        burst(app, "c", *"-1", "tab", "enter", *"Text", "enter", "tab", "enter", *"Spoke", "enter", "tab", *"Rang back")
        burst(app, "ctrl+s")
        await until(lambda: app.screen is journey and contacts(ctx, jid), "the save")
    assert contacts(ctx, jid) == [(YESTERDAY, "Contact by text: Spoke (Rang back)")]


async def test_s_and_seven_swemwbs_digits_in_one_burst_from_the_journey(ctx):
    jid = accepted(ctx)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        journey = await on_journey(pilot, jid)
        burst(app, "s", *"-1", "tab", *"1234512", "ctrl+s")
        await until(lambda: app.screen is journey and detail(ctx, jid).state == "started", "the save")
    start = [m.items for m in detail(ctx, jid).measures if m.kind == "swemwbs" and m.point == "start"]
    assert start == [(1, 2, 3, 4, 5, 1, 2)]


async def test_down_then_enter_in_one_burst_on_today_opens_the_second_row(ctx):
    """Keys keep their order: enter must not overtake the down typed before it (which the list
    handles in its own queue), or the journey opened is the row the person moved away from."""
    from textual.widgets import OptionList

    first = new_referral(ctx, first="Ann", last="First").journey_id
    second = new_referral(ctx, first="Bea", last="Second").journey_id
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        listed = app.screen.query_one("#today-list", OptionList)
        rows = [o.id for o in listed.options if not o.disabled]
        assert len(rows) >= 2
        highlighted = listed.highlighted
        assert highlighted is not None
        after_down = next(o for o in listed.options[highlighted + 1 :] if not o.disabled).id
        expected = app.screen._items[after_down].journey_id
        assert {expected} < {first, second}
        burst(app, "down", "enter")
        await until(lambda: isinstance(app.screen, JourneyScreen), "a journey")
        await settle(pilot)
        assert app.screen.journey_id == expected
