"""Help (?): every binding of the screen it was opened from, and the keys that work everywhere."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from navigator.tui.compat import own_bindings


def _line(key: str, description: str, available: bool) -> Content:
    if available:
        return Content.from_markup("  [b $accent]$key[/] $description", key=key.ljust(12), description=description)
    return Content.from_markup(
        "  [b $accent]$key[/] [dim]$description (not available now)[/]", key=key.ljust(12), description=description
    )


def _merge(rows: list[tuple[str, str, str, bool]]) -> list[tuple[str, str, bool]]:
    """Join the keys of bindings with the same action and description ('f, /  Find')."""
    merged: dict[tuple[str, str], list] = {}
    for action, key, description, available in rows:
        entry = merged.setdefault((action, description), [[], description, False])
        if key not in entry[0]:
            entry[0].append(key)
        entry[2] = entry[2] or available
    return [(", ".join(keys), description, available) for keys, description, available in merged.values()]


class HelpScreen(ModalScreen[None]):
    """Lists the keys of ``target`` (its own BINDINGS, availability from its check_action) and the app's."""

    SCREEN_NAME = "Help"
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, target: Screen) -> None:
        super().__init__()
        self.target = target

    def sections(self) -> list[tuple[str, list[tuple[str, str, bool]]]]:
        from navigator.tui.app import screen_bindings, screen_name

        app = self.app
        own: list[tuple[str, str, str, bool]] = []
        for _key, binding in screen_bindings(self.target):
            if binding.description:
                state = self.target.check_action(binding.action, ())
                own.append((binding.action, app.get_key_display(binding), binding.description, state is True))
        everywhere: list[tuple[str, str, str, bool]] = []
        for _key, binding in own_bindings(app):
            if binding.description and not binding.system:
                state = app.check_action(binding.action, ())
                everywhere.append(
                    (binding.action, app.get_key_display(binding), binding.description, state is not False)
                )
        here, anywhere = _merge(own), _merge(everywhere)
        anywhere.append(
            (
                app.get_key_display(Binding(app.COMMAND_PALETTE_BINDING, "command_palette")),
                "Command palette: every screen and action",
                True,
            )
        )
        anywhere.append(("tab", "Next field or panel (shift+tab: previous)", True))
        return [(f"{screen_name(self.target)} screen", here), ("Everywhere", anywhere)]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog"):
            yield Static("Keys", classes="dialog-title")
            with VerticalScroll(id="help-scroll"):
                for title, rows in self.sections():
                    if not rows:
                        continue
                    yield Static(Content.from_markup("[b]$title[/]", title=title), classes="help-section")
                    yield Static(Content("\n").join(_line(*row) for row in rows), classes="help-keys")
            yield Static("escape closes this help", classes="dialog-hint")

    def on_mount(self) -> None:
        self._fit()
        self.query_one("#help-scroll").focus()  # up, down, page up/down, home, end scroll it

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Longer than the screen: the list scrolls inside the dialog (its title and hint stay in view)."""
        self.query_one("#help-scroll").styles.max_height = max(3, self.app.size.height - 10)

    def action_close(self) -> None:
        self.dismiss(None)
