"""Snapshots of the new-referral form at 80x24 and 160x48 (and with its messages showing).

Deterministic: the store's today is fixed (2026-11-25) and the cursor does not blink. Update with
`pytest tests/tui/test_form_snapshots.py --snapshot-update` and look at the SVGs in __snapshots__
before committing them.
"""

from __future__ import annotations

from datetime import date

import pytest
from textual.widgets import Input, TextArea

from conftest import new_referral
from navigator.tui.forms import ReferralForm

from .helpers import FormHost, choose, type_into
from .helpers import settle_quiet as settle

SIZES = [(80, 24), (160, 48)]


async def steady(pilot) -> None:
    await settle(pilot)
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    for widget in pilot.app.screen.query(TextArea):
        widget.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_new_referral_form(snap_compare, ctx, size):
    assert snap_compare(FormHost(ReferralForm(ctx)), terminal_size=size, run_before=steady)


def test_new_referral_form_with_messages(snap_compare, ctx):
    """Typed as you go: a duplicate offered, an under-17 warning, a bad NHS number, a parsed date."""
    new_referral(ctx, first="Sam", last="Hill", dob=date(2010, 5, 4), received=date(2026, 11, 2))

    async def run_before(pilot) -> None:
        await steady(pilot)
        await type_into(pilot, "first_name", "Sam")
        await type_into(pilot, "last_name", "Hill")
        await type_into(pilot, "date_of_birth", "04/05/2010")
        await type_into(pilot, "nhs_number", "123 456 7890")
        await type_into(pilot, "received_date", "-1")
        await settle(pilot)
        await choose(pilot, "source", "Self-referral")
        await steady(pilot)

    assert snap_compare(FormHost(ReferralForm(ctx)), terminal_size=(160, 48), run_before=run_before)
