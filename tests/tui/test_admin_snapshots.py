"""Snapshots of the admins' set-up screen (`A`) at 160x48: the users and the partners tabs.

The fixed caseload and clock of tests/tui/conftest.py, so every row is the same on every run; the
admin guide (docs/guide-admin.md) shows these. Update with
`pytest tests/tui/test_admin_snapshots.py --snapshot-update` and look at the SVGs before committing.
"""

from __future__ import annotations

from .helpers import keys_then_settle, make_app


def test_setup_users(snap_compare, tui_ctx):
    assert snap_compare(make_app(tui_ctx), terminal_size=(160, 48), run_before=keys_then_settle("A"))


def test_setup_partners(snap_compare, tui_ctx):
    assert snap_compare(make_app(tui_ctx), terminal_size=(160, 48), run_before=keys_then_settle("A", "3"))
