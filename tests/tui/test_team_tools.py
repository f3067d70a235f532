"""Pilot tests of the team lead's tools (issue 15) on the fixed caseload of tests/tui/conftest.py
(today Wed 25 Nov 2026; the admin holds Ann, Bob, Fay, Cara, Eve and Dev; nina holds Gus): Team sorted
by any column, Partners' enter listing a programme's referrals (no reply first), Due in my lots with
its navigator filter, and reassigning across lots with a warning and a message of what moved."""

from __future__ import annotations

from datetime import date

from textual.widgets import DataTable

from conftest import make_user
from navigator.services.casework import journeys as J
from navigator.services.casework import queries
from navigator.services.setup.reference import reference
from navigator.tui.forms import ReassignForm
from navigator.tui.screens.lot_today import LotTodayScreen
from navigator.tui.screens.partners import PartnersScreen
from navigator.tui.screens.programme_referrals import ProgrammeReferralsScreen
from navigator.tui.screens.team import TeamScreen

from .helpers import make_app, press, screen_text, settle
from .helpers import table_column as column
from .test_team_screens import choose

SIZE = (100, 30)


async def test_team_sorts_by_any_column(tui_ctx):
    make_user(tui_ctx, "zed", "navigator", ("Lot 2",))  # no journeys
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "T")
        assert isinstance(app.screen, TeamScreen)
        assert column(app, "#team-table", "name") == ["admin (admin)", "Nina", "Zed"]  # by name, A to Z
        await press(pilot, "s")  # the next column: open journeys, highest first
        assert column(app, "#team-table", "name") == ["admin (admin)", "Nina", "Zed"]
        assert [c for c in column(app, "#team-table", "open")] == ["6", "1", "·"]
        await press(pilot, "S")  # reversed
        assert column(app, "#team-table", "name") == ["Zed", "Nina", "admin (admin)"]
        for _ in range(4):  # active, awaiting, waiting, longest wait
            await press(pilot, "s")
        assert app.screen.sort_column == "longest" and app.screen.sort_descending
        assert column(app, "#team-table", "name")[0] == "admin (admin)"  # Cara waits; blanks last
        assert column(app, "#team-table", "name")[-1] in ("Nina", "Zed")
        assert "▼" in screen_text(app)
        await press(pilot, "enter")  # the cursor's navigator, whatever the order
        assert app.screen.__class__.__name__ == "CaseloadScreen"


async def test_partners_enter_lists_the_programmes_referrals_with_no_reply_first(tui_ctx):
    ref = reference(tui_ctx)
    debt = next(p for p in ref.programmes if p.name == "Debt advice")
    J.make_onward(tui_ctx, tui_ctx.ids["dev"], debt.id, date(2026, 10, 26))  # no reply from the partner
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "P")
        assert isinstance(app.screen, PartnersScreen)
        programmes = column(app, "#partners-table", "programme")
        table = app.screen.query_one("#partners-table", DataTable)
        table.move_cursor(row=programmes.index("Kent Money Advice: Debt advice"))
        await press(pilot, "enter")
        assert isinstance(app.screen, ProgrammeReferralsScreen)
        assert column(app, "#programme-table", "reply") == ["no reply", "12 Oct 2026"]
        assert column(app, "#programme-table", "referred") == ["26 Oct 2026", "5 Oct 2026"]
        assert column(app, "#programme-table", "days") == ["22", "32"]
        assert "2 onward referrals" in screen_text(app) and "1 with no reply" in screen_text(app)
        await press(pilot, "enter")  # the journey of the first one
        assert app.screen.__class__.__name__ == "JourneyScreen" and "Dev Kumar" in screen_text(app)
        await press(pilot, "escape")
        assert isinstance(app.screen, ProgrammeReferralsScreen)
        await press(pilot, "escape")
        assert isinstance(app.screen, PartnersScreen)


async def test_due_in_my_lots_lists_every_navigators_today_and_filters(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "L")
        assert isinstance(app.screen, LotTodayScreen)
        navs = column(app, "#lot-today-table", "navigator")
        assert set(navs) == {"admin", "Nina"}  # everyone's: the admin's and Nina's (Gus)
        people = column(app, "#lot-today-table", "client")
        assert any("Gus Grey" in p for p in people) and any("Ann Smith" in p for p in people)
        admins_today = {i.client_name for i in queries.today(tui_ctx).items}
        assert {p.rsplit(" ", 1)[0] for p, n in zip(people, navs) if n == "admin"} == admins_today
        await press(pilot, "v")  # the first navigator by name: admin
        assert set(column(app, "#lot-today-table", "navigator")) == {"admin"}
        await press(pilot, "v")  # Nina
        assert column(app, "#lot-today-table", "navigator") == ["Nina"] and "Nina:" in screen_text(app)
        await press(pilot, "v")  # everyone again
        assert set(column(app, "#lot-today-table", "navigator")) == {"admin", "Nina"}


async def test_reassign_warns_across_lots_and_says_what_moved(tui_ctx):
    make_user(tui_ctx, "dan", "navigator", ("Lot 1",))
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app.open_form(ReassignForm, [tui_ctx.ids["ann"]])
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ReassignForm)
        labels = [label for label, _ in form.field("navigator").control._options if label]
        named = [str(x) for x in labels]
        assert named.index("Nina (nina)") < next(i for i, n in enumerate(named) if n.startswith("Dan (dan)"))
        await choose(pilot, "#f-navigator", next(n for n in named if n.startswith("Dan (dan)")))
        assert "Across lots" in screen_text(app)
        await choose(pilot, "#f-navigator", "Nina (nina)")
        assert "Across lots" not in screen_text(app)
        await press(pilot, "ctrl+s")
        await settle(pilot, 0.2)
        assert not isinstance(app.screen, ReassignForm)
        assert "Moved 1 journey" in screen_text(app) and "to Nina" in screen_text(app)
    assert queries.journey_detail(tui_ctx, tui_ctx.ids["ann"], audit_view=False).navigator == "nina"


async def test_a_click_on_a_team_column_header_sorts_by_it(tui_ctx):
    make_user(tui_ctx, "zed", "navigator", ("Lot 2",))
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "T")
        table = app.screen.query_one("#team-table", DataTable)
        columns = list(table.columns.values())
        x = sum(c.get_render_width(table) for c in columns[:1]) + 2  # into the "Open" header
        await pilot.click("#team-table", offset=(x, 0))
        await settle(pilot)
        assert app.screen.sort_column == "open" and app.screen.sort_descending
        assert column(app, "#team-table", "open") == ["6", "1", "·"]
        await pilot.click("#team-table", offset=(x, 0))  # again: the other way round
        await settle(pilot)
        assert column(app, "#team-table", "open") == ["·", "1", "6"]
