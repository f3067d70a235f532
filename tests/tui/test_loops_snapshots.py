"""Snapshots at 80x24 (the smallest terminal) of the screens that close casework's loops (issue 15):
the merge form once the other record is found and checked, Due in my lots, and a programme's
referrals from Partners. They live in a `*_snapshots.py` file because a snapshot belongs to one
Textual release: `.ci/run`'s lowest-versions stage leaves these files out.

Update with `pytest tests/tui/test_loops_snapshots.py --snapshot-update` and look at the SVGs first."""

from __future__ import annotations

from datetime import date

from textual.widgets import DataTable

from navigator.services.casework import journeys as J
from navigator.services.setup.reference import reference
from navigator.services.tracker_import.importer import import_bytes
from navigator.tui.screens.journey import JourneyScreen

from .helpers import keys_then_settle, make_app, press, settle
from .helpers import table_column as column
from .test_merge import TRACKER, found_and_checked


def test_merge_form_snapshot(snap_compare, tui_ctx):
    """The form once the other record is found and checked: both people and what moves."""
    import_bytes(tui_ctx, TRACKER.encode())

    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.push_screen(JourneyScreen(tui_ctx.ids["ann"]))
        await settle(pilot)
        await press(pilot, "D")
        for ch in "TRK001":
            await pilot.press(ch)
        await found_and_checked(pilot)

    assert snap_compare(make_app(tui_ctx), terminal_size=(80, 24), run_before=run_before)


def test_due_in_my_lots_snapshot(snap_compare, tui_ctx):
    assert snap_compare(make_app(tui_ctx), terminal_size=(80, 24), run_before=keys_then_settle("L"))


def test_programme_referrals_snapshot(snap_compare, tui_ctx):
    ref = reference(tui_ctx)
    debt = next(p for p in ref.programmes if p.name == "Debt advice")
    J.make_onward(tui_ctx, tui_ctx.ids["dev"], debt.id, date(2026, 10, 26))

    async def run_before(pilot) -> None:
        await keys_then_settle("P")(pilot)
        programmes = column(pilot.app, "#partners-table", "programme")
        table = pilot.app.screen.query_one("#partners-table", DataTable)
        table.move_cursor(row=programmes.index("Kent Money Advice: Debt advice"))
        await press(pilot, "enter")

    assert snap_compare(make_app(tui_ctx), terminal_size=(80, 24), run_before=run_before)
