"""Snapshots of the team leads' Team, Trends and Return preview screens at 80x24 and 160x48.

The fixed caseload (tests/tui/conftest.py) with a fixed today and clock, so every figure, date and
chart is the same on every run. Update with `pytest tests/tui/test_team_snapshots.py --snapshot-update`
and look at the SVGs in __snapshots__ before committing them.
"""

from __future__ import annotations

from datetime import date

import pytest

from navigator.services.returns.export import export_month
from tui.conftest import referral

from .helpers import keys_then_settle, make_app

SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_team(snap_compare, tui_ctx, size):
    assert snap_compare(make_app(tui_ctx), terminal_size=size, run_before=keys_then_settle("T"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_trends(snap_compare, tui_ctx, size):
    assert snap_compare(make_app(tui_ctx), terminal_size=size, run_before=keys_then_settle("R"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_return_preview(snap_compare, tui_ctx, tmp_path, size):
    """October as sent, then moved by a referral dated 15 Oct entered afterwards: the banner says so."""
    export_month(tui_ctx, "2026-10", tmp_path / "october.sqlite", final=True)
    referral(tui_ctx, "Kim", "Lee", date(2026, 10, 15))
    assert snap_compare(make_app(tui_ctx), terminal_size=size, run_before=keys_then_settle("M"))
