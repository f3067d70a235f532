"""Audit history of a journey (team leads and admins): who did what, when, before and after, in names and
labels (services/operations/audit_words.py), with the records merged into the person."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from navigator.services.operations import audit_words
from navigator.services.operations.audit_words import WordedEvent, WordedHistory
from navigator.tui.widgets import PlainTable, describe_error, displayable, literal

if TYPE_CHECKING:
    from textual import getters

    from navigator.tui.app import NavigatorApp


def _value(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "…"


def change_text(row: WordedEvent) -> str:
    """What changed, one "field: before → after" a line."""
    return "\n".join(_value(line) for line in row.lines)


class AuditHistoryScreen(ModalScreen[None]):
    """Every audit event of one journey (and its person), newest first. Viewing it is itself audited."""

    if TYPE_CHECKING:
        app = getters.app(NavigatorApp)

    SCREEN_NAME = "Audit history"
    BINDINGS = [Binding("escape", "close", "Close"), Binding("q", "close", "Close", show=False)]
    DEFAULT_CSS = """
    AuditHistoryScreen { align: center middle; }
    AuditHistoryScreen > Vertical { width: 95%; height: 90%; border: round $accent; background: $surface; }
    AuditHistoryScreen #audit-title { padding: 0 1; text-style: bold; }
    AuditHistoryScreen DataTable { height: 1fr; }
    """

    def __init__(self, journey_id: int) -> None:
        super().__init__()
        self.journey_id = journey_id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Audit history: loading…", id="audit-title", markup=False)
            yield PlainTable(id="audit-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in (("When (UTC)", "when"), ("Who", "who"), ("What", "what"), ("What changed", "changes")):
            table.add_column(label, key=key)
        self.run_worker(self._load, thread=True, exclusive=True, exit_on_error=False)

    def _load(self) -> None:
        worker = get_current_worker()
        try:
            history = displayable(audit_words.journey_history(self.app.ctx, self.journey_id))
        except Exception as exc:
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, exc)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, history)

    def _failed(self, exc: BaseException) -> None:
        self.query_one("#audit-title", Static).update(literal(describe_error(exc)))

    def _show(self, history: WordedHistory) -> None:
        self.query_one("#audit-title", Static).update(
            literal(f"Audit history: {history.client_name} ({history.client_ref}), {len(history.events)} events")
        )
        table = self.query_one(DataTable)
        table.clear()
        for row in reversed(history.events):
            changes = change_text(row)
            table.add_row(
                row.at.strftime("%Y-%m-%d %H:%M"),
                row.who,
                row.action,
                changes,
                height=max(1, min(8, changes.count("\n") + 1)),
            )
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
