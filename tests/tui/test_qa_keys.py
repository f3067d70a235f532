"""QA of issue 11 from a real terminal: a form's editing keys typed fast keep their order.

Found with tmux send-keys: in a date field holding ``today``, five backspaces then ``-1`` typed in
one go left ``to``: Textual inserts letters when the input's own queue reaches them, but runs the
input's bindings (backspace, arrows, home, end) only after the key has travelled up to the app.
``burst`` queues every key on the app at once, as a terminal delivers them.
"""

from __future__ import annotations

from conftest import new_referral

from .helpers import TYPEAHEAD_SIZE as SIZE
from .helpers import burst, make_app, on_journey, until
from .helpers import settle_quiet as settle


async def _date_field_after_burst(ctx, *keys: str) -> str:
    from textual.widgets import Input

    from navigator.tui.forms import ContactForm

    jid = new_referral(ctx).journey_id
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await on_journey(pilot, jid)
        app.open_form(ContactForm, jid, journey_id=jid)
        form = app.screen
        await until(lambda: form.ready and not form.holding_keys, "the form")
        await settle(pilot)
        field = form.focused
        assert isinstance(field, Input)
        burst(app, *keys)
        await settle(pilot)
        return field.value


async def test_backspace_typed_in_a_burst_deletes_in_order(ctx):
    """An input's own keys (backspace, arrows) are bindings Textual runs only after the key has
    travelled up to the app: typed fast, the letters after them were inserted first."""
    assert await _date_field_after_burst(ctx, *"today", *["backspace"] * 5, *"-1") == "-1"


async def test_arrows_typed_in_a_burst_move_the_cursor_in_order(ctx):
    assert await _date_field_after_burst(ctx, *"+3", "left", "home", "x", "end", "backspace", "2") == "x+2"
