"""Snapshots of Today, Caseload and Journey at 80x24 and 160x48 on the fixed caseload.

The store's clock is fixed (tests/tui/conftest.py), so every date on screen, the timeline's included,
is the same on every run. Update with `pytest tests/tui/test_snapshots.py --snapshot-update`
and look at the SVGs in __snapshots__ before committing them.
"""

from __future__ import annotations

import pytest

from .helpers import make_app, settle

SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_today(snap_compare, tui_ctx, size):
    assert snap_compare(make_app(tui_ctx), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_caseload(snap_compare, tui_ctx, size):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)

    assert snap_compare(make_app(tui_ctx), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_journey(snap_compare, tui_ctx, size):
    """Dev Kumar: a started journey with a plan, two SWEMWBS, onward referrals and an earlier journey."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.open_journey(tui_ctx.ids["dev"])
        await settle(pilot)

    assert snap_compare(make_app(tui_ctx), terminal_size=size, run_before=run_before)


def test_journey_wellbeing_tab(snap_compare, tui_ctx):
    """The SWEMWBS history: raw, metric, change since start, the meaningful flag and the chart."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.open_journey(tui_ctx.ids["dev"])
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)

    assert snap_compare(make_app(tui_ctx), terminal_size=(80, 24), run_before=run_before)
