"""What the team lead's list screens share (Due in my lots, Programme referrals, Waiting and stuck):
each row names a journey, and enter (or a click) opens it; a table is refilled keeping its cursor, and
redrawn to fit when the window is resized."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from textual.events import Resize
from textual.widgets import DataTable

from navigator.tui.screens.team import Col, set_columns

if TYPE_CHECKING:  # the type checker's view: the mixin goes before a DataScreen
    from navigator.tui.widgets import DataScreen as _Screen
else:
    _Screen = object


def refill(table: DataTable, columns: tuple[Col, ...], rows: Iterable[tuple[Sequence[Any], str]]) -> None:
    """Fill ``table`` afresh with ``rows`` ((cells, key) each), its columns fitted to its width, the
    cursor kept on the same row number (or the last row)."""
    current = table.cursor_row
    set_columns(table, columns)
    for cells, key in rows:
        table.add_row(*cells, key=key)
    if table.row_count:
        table.move_cursor(row=min(max(current, 0), table.row_count - 1), animate=False)


class OpensJourneys(_Screen):
    """A list screen whose rows name journeys: the screen says which row's journey is under the cursor
    (``_current``) and how to draw its view (``_draw``, once ``view`` is loaded)."""

    view: Any

    def _current(self) -> int | None:
        raise NotImplementedError

    def _draw(self) -> None:
        raise NotImplementedError

    def on_resize(self, event: Resize) -> None:
        if self.view is not None:
            self.call_after_refresh(self._draw)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return self._current() is not None or None
        return True

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        jid = self._current()
        if jid is not None:
            self.app.open_journey(jid)
