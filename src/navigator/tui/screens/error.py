"""Error screens: the store cannot be opened (fatal), or failed while the app runs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Header, Static

from navigator.tui.widgets import NavFooter


def _body(message: str, hint: str) -> Content:
    return Content.from_markup("$message\n\n[dim]$hint[/]", message=message, hint=hint)


class ErrorScreen(Screen):
    """Shown instead of Today when the store could not be opened: the message says what to do."""

    SCREEN_NAME = "Error"
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("enter", "quit", "Quit", show=False)]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="error-box", classes="error-box"):
            yield Static("navigator cannot open the store", classes="error-title")
            yield Static(_body(self.message, "Press q to quit."), id="error-message")
        yield NavFooter()

    def action_quit(self) -> None:
        self.app.exit(return_code=2)  # the store could not be used: not a clean exit


class ErrorDialog(ModalScreen[None]):
    """A store error while working (locked, disk full, ...): nothing half-written was kept."""

    SCREEN_NAME = "Error"
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("enter", "dismiss", "Close", show=False)]

    def __init__(self, message: str, title: str = "The store could not be used") -> None:
        super().__init__()
        self.message = message
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="error-box dialog"):
            yield Static(self.title_text, classes="error-title")
            yield Static(
                _body(self.message, "Nothing half-written was kept. Press escape to go back."), id="error-message"
            )
            yield Button("Close", variant="error", id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)
