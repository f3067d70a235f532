"""Opening a journey (app.open_journey): the detail is read first and the screen pushed with it; a slow read
shows the screen first; either way the view is audited once."""

from __future__ import annotations

import time

from sqlalchemy import text
from textual.color import Color

from navigator.services.casework import queries
from navigator.tui.app import NavigatorApp
from navigator.tui.screens.journey import JourneyScreen

from .helpers import settle


def views(ctx, journey_id: int) -> int:
    with ctx.read() as s:
        return s.execute(
            text("SELECT count(*) FROM audit_event WHERE action = 'view.journey' AND journey_id = :j"),
            {"j": journey_id},
        ).scalar_one()


async def test_the_journey_screen_arrives_with_its_detail(tui_ctx):
    jid = tui_ctx.ids["dev"]
    before = views(tui_ctx, jid)
    app = NavigatorApp(tui_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_journey(jid)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, JourneyScreen) and screen.detail is not None and screen.detail.id == jid
        assert views(tui_ctx, jid) == before + 1  # audited once: the screen did not read it again


async def test_a_slow_read_shows_the_screen_first(tui_ctx, monkeypatch):
    jid = tui_ctx.ids["dev"]
    before = views(tui_ctx, jid)
    real = queries.journey_detail

    def slow(*args, **kwargs):
        time.sleep(0.8)  # another program holding the store, say
        return real(*args, **kwargs)

    monkeypatch.setattr(queries, "journey_detail", slow)
    app = NavigatorApp(tui_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_journey(jid)
        await pilot.pause(0.5)
        screen = app.screen
        assert isinstance(screen, JourneyScreen) and screen.detail is None  # "Loading…" meanwhile
        await settle(pilot)
        assert app.screen is screen and screen.detail is not None and screen.detail.id == jid
        assert views(tui_ctx, jid) == before + 1


async def test_the_latest_open_wins(tui_ctx):
    app = NavigatorApp(tui_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_journey(tui_ctx.ids["ann"])
        app.open_journey(tui_ctx.ids["dev"])
        await settle(pilot)
        assert [s.journey_id for s in app.screen_stack if isinstance(s, JourneyScreen)] == [tui_ctx.ids["dev"]]


def shown_text(screen: JourneyScreen) -> str:
    from textual.widgets import Static

    return str(screen.query_one("#journey-head", Static).render())


async def test_a_journey_opened_after_another_is_shown_as_new(tui_ctx):
    """The app keeps one Journey screen mounted and refills it: the next journey must look as if on a new
    screen (its person, the summary tab, tables on their first rows, nothing of the last one), and its view
    is audited once."""
    from textual.widgets import DataTable, TabbedContent

    dev, ann = tui_ctx.ids["dev"], tui_ctx.ids["ann"]
    before = views(tui_ctx, ann)
    app = NavigatorApp(tui_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_journey(dev)
        await settle(pilot)
        first = app.screen
        assert isinstance(first, JourneyScreen) and "Dev" in shown_text(first)
        await pilot.press("3")  # the Plan tab, and the second goal
        await settle(pilot)
        first.query_one("#goals", DataTable).move_cursor(row=1)
        await pilot.press("escape")
        await settle(pilot)
        app.open_journey(ann)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, JourneyScreen) and screen.journey_id == ann and screen.detail.id == ann
        head = shown_text(screen)
        assert "Ann" in head and "Dev" not in head
        assert screen.query_one("#journey-tabs", TabbedContent).active == "tab-summary"
        assert screen.query_one("#goals", DataTable).row_count == len(screen.detail.goals)
        assert screen.sub_title.endswith(screen.detail.client.client_ref)
        assert views(tui_ctx, ann) == before + 1
        await pilot.press("3")
        await settle(pilot)
        assert screen.query_one("#goals", DataTable).row_count == len(screen.detail.goals)
        await pilot.press("escape")
        await settle(pilot)
        app.open_journey(dev)  # and back: its goals again, the cursor on the first
        await settle(pilot)
        assert app.screen.detail.id == dev and "Dev" in shown_text(app.screen)
        await pilot.press("3")
        await settle(pilot)
        goals = app.screen.query_one("#goals", DataTable)
        assert goals.row_count == 2 and goals.cursor_row == 0


async def test_a_journey_opened_from_a_journey_gets_a_screen_of_its_own(tui_ctx):
    """Journey, then Find, then another journey: two Journey screens on the stack, each with its own."""
    dev, ann = tui_ctx.ids["dev"], tui_ctx.ids["ann"]
    app = NavigatorApp(tui_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_journey(dev)
        await settle(pilot)
        app.open_journey(ann)
        await settle(pilot)
        stacked = [s for s in app.screen_stack if isinstance(s, JourneyScreen)]
        assert [s.journey_id for s in stacked] == [dev, ann] and stacked[0] is not stacked[1]
        assert "Dev" in shown_text(stacked[0]) and "Ann" in shown_text(stacked[1])
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is stacked[0] and "Dev" in shown_text(app.screen)


async def test_a_theme_changed_while_the_journey_was_away_reaches_it(tui_ctx):
    dev, ann = tui_ctx.ids["dev"], tui_ctx.ids["ann"]
    app = NavigatorApp(tui_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_journey(dev)
        await settle(pilot)
        head = app.screen.query_one("#journey-head")
        await pilot.press("escape")
        await settle(pilot)
        other = next(name for name in app.available_themes if name != app.theme)
        app.theme = other
        await settle(pilot)
        app.open_journey(ann)
        await settle(pilot)
        assert app.screen.query_one("#journey-head") is head  # the kept screen, shown again
        assert app.screen.styles.background == Color.parse(app.theme_variables["background"])
