"""Snapshots of the admins' set-up screen (`A`) at 160x48: the users and the partners tabs.

The fixed caseload and clock of tests/tui/conftest.py, so every row is the same on every run; the
admin guide (docs/guide-admin.md) shows these. Update with
`pytest tests/tui/test_admin_snapshots.py --snapshot-update` and look at the SVGs before committing.
"""

from __future__ import annotations

from .helpers import keys_then_settle, make_app, screen_text, wait_until


def test_setup_users(snap_compare, tui_ctx):
    async def run_before(pilot) -> None:
        await keys_then_settle("A")(pilot)
        # the users' table sizes its columns to its rows on a later refresh: wait until they show whole
        for _ in range(50):
            if "Lot 2" in screen_text(pilot.app):
                return
            await pilot.pause(0.05)
        # Now and then Textual's DataTable keeps cells rendered at the header's widths after it has sized
        # the columns to the rows (a cache the new widths do not clear; seen here about once in eight
        # runs): a resize clears it. Noted in the issue-16 closing note; the app's screen is left as it is.
        await pilot.resize_terminal(161, 48)
        await pilot.resize_terminal(160, 48)
        await wait_until(pilot, lambda: "Lot 2" in screen_text(pilot.app), "the users' lots shown whole", 10)

    assert snap_compare(make_app(tui_ctx), terminal_size=(160, 48), run_before=run_before)


def test_setup_partners(snap_compare, tui_ctx):
    assert snap_compare(make_app(tui_ctx), terminal_size=(160, 48), run_before=keys_then_settle("A", "3"))
