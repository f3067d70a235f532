"""What the TUI tests share: making the app, letting it settle, pressing keys, reading the screen.

Import from here (``from tui.helpers import make_app, press, settle, screen_text``) rather than copying.
"""

from __future__ import annotations

from textual.widgets import DataTable

from navigator.tui.app import NavigatorApp

SIZE = (80, 24)


def make_app(ctx, **kwargs) -> NavigatorApp:
    """The desk on ``ctx``, without animations to wait for (tab underlines, scrolling)."""
    app = NavigatorApp(ctx, **kwargs)
    app.animation_level = "none"
    return app


async def settle(pilot, delay: float = 0.0) -> None:
    """Let key handlers run, then the workers they started, then what those posted back (a worker's
    result may start another worker: a save's dismissal starts a reload)."""
    await pilot.pause(delay)
    for _ in range(6):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if all(w.is_finished for w in pilot.app.workers):
            break


async def press(pilot, *keys: str) -> None:
    """Each key, letting the app settle after it (a key may open a screen that loads its data)."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


def screen_text(app) -> str:
    """The text of the screen as painted now (every line, the footer's and any toast's included)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def table_column(app, table_id: str, column: str) -> list[str]:
    """The plain text of one column of a table on the current screen."""
    table = app.screen.query_one(table_id, DataTable)
    return [str(getattr(v, "plain", v)).strip() for v in table.get_column(column)]


def cell_of(app, table_id: str, row_key: str, column_key: str) -> str:
    value = app.screen.query_one(table_id, DataTable).get_cell(row_key, column_key)
    return str(getattr(value, "plain", value)).strip()
