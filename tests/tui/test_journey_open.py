"""Opening a journey (app.open_journey): the detail is read first and the screen pushed with it; a slow read
shows the screen first; either way the view is audited once."""

from __future__ import annotations

import time

from sqlalchemy import text

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
