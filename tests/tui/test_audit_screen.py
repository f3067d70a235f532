"""Team leads see a journey's audit history in the app (H on the Journey screen); navigators don't."""

from __future__ import annotations

from navigator.services.context import Ctx
from navigator.tui.screens.audit import AuditHistoryScreen
from navigator.tui.screens.journey import JourneyScreen

from .helpers import make_app, press, screen_text, settle, table_column


async def test_team_lead_sees_the_journey_audit_history(tui_ctx):
    app = make_app(tui_ctx)  # the store's admin
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, JourneyScreen)
        await press(pilot, "H")
        await settle(pilot)
        assert isinstance(app.screen, AuditHistoryScreen)
        text = screen_text(app)
        assert "Audit history: Ann Smith" in text
        what = table_column(app, "#audit-table", "what")
        assert "Referral received" in what and "Person added" in what  # in words, not action codes
        changes = "\n".join(table_column(app, "#audit-table", "changes"))
        assert "navigator: " in changes and "navigator_id" not in changes and "{" not in changes
        assert all(who.endswith("(admin)") for who in table_column(app, "#audit-table", "who"))
        await press(pilot, "escape")
        assert isinstance(app.screen, JourneyScreen)


async def test_navigator_cannot_open_the_audit_history(tui_ctx):
    nina = Ctx(tui_ctx.store, username="nina", today_fn=tui_ctx.today_fn, now_fn=tui_ctx.now_fn)
    app = make_app(nina)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.push_screen(JourneyScreen(tui_ctx.ids["gus"]))  # her own journey
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen) and "Gus Grey" in screen_text(app)
        await press(pilot, "H")
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen)  # the key does nothing for a navigator
        assert not any(isinstance(s, AuditHistoryScreen) for s in app.screen_stack)
