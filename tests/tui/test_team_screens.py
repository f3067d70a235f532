"""Pilot tests of the team leads' screens (Team, Waiting and stuck, Trends, Partners, Return preview),
pressing real keys on the fixed caseload of tests/tui/conftest.py (today Wed 25 Nov 2026).

The admin holds Ann, Bob, Fay, Cara, Eve and Dev; nina (Lot 2) holds Gus.
"""

from __future__ import annotations

from datetime import date

from textual.widgets import DataTable, Select

from conftest import make_user
from navigator.services.casework import queries
from navigator.services.context import Ctx
from navigator.services.returns.export import export_month
from navigator.services.setup import admin as admin_service
from navigator.tui.compat import SelectOverlay
from navigator.tui.screens.caseload import CaseloadScreen
from navigator.tui.screens.journey import JourneyScreen
from navigator.tui.screens.partners import PartnersScreen
from navigator.tui.screens.return_preview import ReturnPreviewScreen
from navigator.tui.screens.stuck import StuckScreen
from navigator.tui.screens.team import TeamScreen
from navigator.tui.screens.today import TodayScreen
from navigator.tui.screens.trends import Chart, TrendsScreen
from tui.conftest import fixed, referral

from .helpers import cell_of, make_app, press, screen_text, settle
from .helpers import table_column as column

SIZE = (80, 24)


async def choose(pilot, select_id: str, label: str) -> None:
    """Focus a picker, open it with enter, type the option's label to jump to it, enter."""
    select = pilot.app.screen.query_one(select_id, Select)
    select.focus()
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    overlay = select.query_one(SelectOverlay)
    labels = [str(overlay.get_option_at_index(i).prompt) for i in range(overlay.option_count)]
    assert label in labels, labels
    for ch in label:
        await pilot.press(ch if ch != " " else "space")
    await pilot.pause()
    assert str(overlay.highlighted_option.prompt) == label
    await press(pilot, "enter")


# ---------------------------------------------------------------- access


async def test_navigators_cannot_open_team_screens(tui_ctx):
    nav = fixed(make_user(tui_ctx, "ned", "navigator", ("Lot 2",)))
    app = make_app(nav)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key in ("T", "W", "R", "P", "M"):
            await press(pilot, key)
            assert isinstance(app.screen, TodayScreen), key
        assert app.check_action("team_screen", ()) is False
        await app.run_action("team_screen('team')")  # e.g. through a stale palette entry
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        from navigator.tui.app import NavigatorCommands

        names = [name for name, _cb, _help in NavigatorCommands(app.screen)._commands()]
        assert not any(n.startswith("Team lead:") for n in names)
        await press(pilot, "question_mark")
        everywhere = dict((d, ok) for _k, d, ok in app.screen.sections()[1][1])
        assert everywhere["Team"] is False and everywhere["Return preview"] is False


async def test_help_lists_the_team_screens_for_a_lead(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        everywhere = {d: (k, ok) for k, d, ok in app.screen.sections()[1][1]}
        assert everywhere["Team"] == ("T", True) and everywhere["Waiting and stuck"] == ("W", True)


async def test_team_lead_palette_lists_the_team_screens(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        from navigator.tui.app import NavigatorCommands

        names = [name for name, _cb, _help in NavigatorCommands(app.screen)._commands()]
        for title in ("Team", "Waiting and stuck", "Trends", "Partners", "Return preview"):
            assert f"Team lead: {title}" in names


# ---------------------------------------------------------------- Team


async def test_team_shows_load_and_opens_a_navigators_caseload(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "T")
        assert isinstance(app.screen, TeamScreen)
        assert column(app, "#team-table", "name") == ["admin (admin)", "Nina"]
        # the admin: Ann, Bob, Fay, Cara, Eve, Dev open; Ann and Eve (and Bob, Fay: no one spoke yet) awaiting
        assert cell_of(app, "#team-table", "admin", "open") == "6"
        assert cell_of(app, "#team-table", "admin", "awaiting") == "4"
        assert cell_of(app, "#team-table", "admin", "longest") == "13 days"  # Cara: accepted Fri 6 Nov
        assert cell_of(app, "#team-table", "admin", "no_resp") == "1"  # Fay
        assert cell_of(app, "#team-table", "nina", "open") == "1"
        await press(pilot, "2")  # localities and lots
        places = column(app, "#team-places-table", "place")
        assert places[0] == "Lot 1" and places[-1] == "Service" and "Maidstone" in places
        assert cell_of(app, "#team-places-table", "service", "open") == "7"
        table = app.screen.query_one("#team-places-table", DataTable)
        table.move_cursor(row=table.get_row_index("loc:Maidstone"))
        await press(pilot, "enter")  # a locality's trends
        assert isinstance(app.screen, TrendsScreen) and app.screen.view.place == "Maidstone"
        await press(pilot, "escape")
        assert isinstance(app.screen, TeamScreen)
        await press(pilot, "1", "down", "enter")  # Nina's caseload
        assert isinstance(app.screen, CaseloadScreen)
        assert app.screen.query_one("#navigator-filter", Select).value == "nina"
        assert [r.client_name for r in app.screen.rows] == ["Gus Grey"]
        await press(pilot, "escape")
        assert isinstance(app.screen, TeamScreen)


async def test_team_reassigns_journeys_from_a_caseload(tui_ctx):
    ids = tui_ctx.ids
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "T", "enter")  # the admin's own caseload
        screen = app.screen
        assert isinstance(screen, CaseloadScreen)
        names = [r.client_name for r in screen.rows]
        table = screen.query_one("#caseload-table", DataTable)
        # mark Ann and Eve, reassign both to nina
        for name in ("Ann Smith", "Eve Brown"):
            table.move_cursor(row=names.index(name))
            await press(pilot, "space")
        await press(pilot, "r")
        await choose(pilot, "#f-navigator", "Nina (nina)")
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, CaseloadScreen)
        assert "Ann Smith" not in [r.client_name for r in app.screen.rows]
        await press(pilot, "escape")
        assert isinstance(app.screen, TeamScreen)
        assert cell_of(app, "#team-table", "nina", "open") == "3"
        assert cell_of(app, "#team-table", "admin", "open") == "4"
    assert queries.journey_detail(tui_ctx, ids["ann"], audit_view=False).navigator == "nina"
    assert queries.journey_detail(tui_ctx, ids["eve"], audit_view=False).navigator == "nina"


async def test_team_reassigns_a_leavers_journeys(tui_ctx):
    """A deactivated navigator who still holds journeys is listed (flagged); r reassigns them all."""
    make_user(tui_ctx, "vic", "navigator", ("Lot 2",))
    vic = fixed(Ctx(tui_ctx.store, username="vic"))
    hal = referral(vic, "Hal", "Ward", date(2026, 11, 16), navigator="vic").journey_id
    ivy = referral(vic, "Ivy", "Ward", date(2026, 11, 17), navigator="vic", locality="Sevenoaks").journey_id
    admin_service.deactivate_user(tui_ctx, "vic")
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "T")
        assert column(app, "#team-table", "name")[-1] == "Vic (deactivated)"
        table = app.screen.query_one("#team-table", DataTable)
        table.move_cursor(row=table.get_row_index("vic"))
        await press(pilot, "enter")  # their caseload still opens
        assert app.screen.query_one("#navigator-filter", Select).value == "vic"
        assert sorted(r.client_name for r in app.screen.rows) == ["Hal Ward", "Ivy Ward"]
        await press(pilot, "escape")
        table = app.screen.query_one("#team-table", DataTable)
        table.move_cursor(row=table.get_row_index("vic"))
        await press(pilot, "r")
        assert "2 journeys selected" in screen_text(app)
        await choose(pilot, "#f-navigator", "Nina (nina)")
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, TeamScreen)
        assert "vic" not in [str(k.value) for k in app.screen.query_one("#team-table", DataTable).rows]
        assert cell_of(app, "#team-table", "nina", "open") == "3"
    for jid in (hal, ivy):
        assert queries.journey_detail(tui_ctx, jid, audit_view=False).navigator == "nina"


# ---------------------------------------------------------------- Waiting and stuck


async def test_waiting_and_stuck_lists_and_opens_journeys(tui_ctx):
    ids = tui_ctx.ids
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "W")
        assert isinstance(app.screen, StuckScreen)
        assert column(app, "#stuck-waiting-table", "client") == ["Cara Patel"]
        assert column(app, "#stuck-waiting-table", "waited") == ["13 d"]
        await press(pilot, "enter")
        assert isinstance(app.screen, JourneyScreen) and app.screen.journey_id == ids["cara"]
        await press(pilot, "escape", "2")
        # Dev's debt advice: started 12 Oct, no update since (32 working days)
        assert column(app, "#stuck-onward-table", "client") == ["Dev Kumar"]
        assert column(app, "#stuck-onward-table", "silent") == ["32 d"]
        assert "10 working days without a partner update" in screen_text(app)
        await press(pilot, "plus", "plus")
        assert "12 working days without a partner update" in screen_text(app)
        await press(pilot, "enter")
        assert isinstance(app.screen, JourneyScreen) and app.screen.journey_id == ids["dev"]
        await press(pilot, "escape", "3")
        # Dev was reviewed on 10 Nov: within the 30 working days
        assert app.screen.query_one("#stuck-reviews-table", DataTable).row_count == 0
        assert "Reviews overdue (0)" in screen_text(app)


# ---------------------------------------------------------------- Trends


async def test_trends_charts_and_scope_change(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "R")
        screen = app.screen
        assert isinstance(screen, TrendsScreen)
        assert screen.view is not None and screen.view.level == "service"
        assert screen.query_one("#trends-activity-chart", Chart).display
        assert "Per month" in screen_text(app)
        await press(pilot, "2")
        assert "Mean wait to start" in screen_text(app)
        await press(pilot, "3")
        # November: Ann, Bob, Cara, Eve and Gus received; October: Dev started (waited 5 working days)
        assert cell_of(app, "#trends-table", "2026-11", "received") == "5"
        assert cell_of(app, "#trends-table", "2026-10", "starts") == "1"
        assert cell_of(app, "#trends-table", "2026-10", "wait") == "5.0"
        await choose(pilot, "#trends-scope", "Tonbridge & Malling (Lot 2)")
        assert screen.view.level == "locality" and screen.view.place == "Tonbridge & Malling"
        assert cell_of(app, "#trends-table", "2026-11", "received") == "1"  # Bob
        assert "Tonbridge & Malling" in screen_text(app)
        await choose(pilot, "#trends-scope", "Lot 1 · Dartford, Gravesham, Swanley & Swale")
        assert screen.view.level == "lot" and cell_of(app, "#trends-table", "2026-11", "received") == "0"


# ---------------------------------------------------------------- Partners


async def test_partners_table_and_period(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "P")
        assert isinstance(app.screen, PartnersScreen)
        programmes = column(app, "#partners-table", "programme")
        assert len(programmes) == 8
        debt = programmes.index("Kent Money Advice: Debt advice")
        table = app.screen.query_one("#partners-table", DataTable)
        row = [str(getattr(v, "plain", v)).strip() for v in table.get_row_at(debt)]
        # made 1, open 1, started 1, ..., accepted 100%, first update after 5 working days, chase overdue
        assert row[1:4] == ["1", "1", "1"] and row[8] == "100.0%" and row[9] == "5.0" and row[10] == "1"
        assert "2 onward referrals · 1 waiting past due" in screen_text(app)
        await choose(pilot, "#partners-period", "Last 3 months")
        assert "since 25 Aug 2026" in screen_text(app)


# ---------------------------------------------------------------- Return preview


async def test_return_preview_months_and_moved_flag(tui_ctx, tmp_path):
    export_month(tui_ctx, "2026-10", tmp_path / "october.sqlite", final=True)
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "M")
        screen = app.screen
        assert isinstance(screen, ReturnPreviewScreen)
        assert screen.month == "2026-10"  # the previous month
        text = screen_text(app)
        assert "Return October 2026" in text and "Oct 2026" in text and "Sep 2026" in text and "Oct 2025" in text
        assert cell_of(app, "#return-table", "starts", "current") == "1"  # Dev, 1 Oct
        assert cell_of(app, "#return-table", "referrals_accepted", "previous") == "1"  # Dev, 24 Sep
        assert cell_of(app, "#return-table", "referrals_accepted", "d_prev") == "-1"
        assert "Sent 25 Nov 2026 by admin; no figure has moved since." in screen_text(app)
        await press(pilot, "left_square_bracket")
        assert screen.month == "2026-09" and "Return September 2026" in screen_text(app)
        assert not screen.query_one("#return-banner").display  # September was never sent
        await press(pilot, "right_square_bracket", "right_square_bracket")
        assert screen.month == "2026-11"
        await press(pilot, "right_square_bracket")  # no further than this month
        assert screen.month == "2026-11"
        # a later edit to October: a referral received on 15 Oct moves the service, Lot 2 and Maidstone counts
        referral(tui_ctx, "Kim", "Lee", date(2026, 10, 15))
        await press(pilot, "left_square_bracket")
        assert screen.month == "2026-10"
        text = " ".join(screen_text(app).split())
        assert "3 figures have moved since" in text and "navigator returns show 2026-10" in text
        assert cell_of(app, "#return-table", "referrals_received", "current") == "2"
        await choose(pilot, "#return-place", "Maidstone (Lot 2)")
        assert cell_of(app, "#return-table", "referrals_received", "current") == "1"
        assert "Maidstone (Lot 2)" in screen_text(app)
