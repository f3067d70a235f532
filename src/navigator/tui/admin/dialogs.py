"""Small modal dialogs for the admin screens: a generic edit form, a confirmation, an information list.

``EditDialog`` builds its inputs from ``Field`` descriptions, runs the save (a service call) in a
thread worker, and on a refusal shows the domain's message and keeps everything typed. It dismisses
with the save's result (or None when cancelled).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    Select,
    SelectionList,
    Static,
    TextArea,
)

from navigator.domain.errors import (
    AccessDenied,
    DomainError,
    StoreError,
    ValidationErrors,
)
from navigator.tui.widgets import options


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text, int, select, multi, bool, textarea
    value: Any = None
    options: Sequence[tuple[str, Any]] = ()
    help: str = ""
    placeholder: str = ""
    extra: dict = field(default_factory=dict)


def failure_text(exc: BaseException) -> str:
    """What went wrong, for the dialog's message line. Unexpected errors show only their type
    (their text may carry personal data)."""
    if isinstance(exc, ValidationErrors):
        return "Not saved: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
    if isinstance(exc, AccessDenied):
        return f"Not allowed: {exc.message}"
    if isinstance(exc, DomainError):
        return f"Not saved: {exc.message}"
    if isinstance(exc, StoreError):
        return f"The store could not save this: {exc}"
    return f"Not saved: something unexpected went wrong ({type(exc).__name__}). Nothing was changed."


class EditDialog(ModalScreen[Any]):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    DEFAULT_CSS = """
    EditDialog { align: center middle; background: $background 70%; }
    EditDialog #dlg-box { width: 90%; max-width: 96; height: auto; max-height: 95%;
                          background: $surface; border: round $primary; padding: 0 1; }
    EditDialog #dlg-title { text-style: bold; color: $text-primary; height: 1; }
    EditDialog #dlg-intro { color: $text-muted; height: auto; margin-bottom: 1; }
    EditDialog #dlg-body { height: auto; max-height: 40; }
    EditDialog .dlg-label { margin-top: 1; text-style: bold; }
    EditDialog .dlg-help { color: $text-muted; height: auto; }
    EditDialog SelectionList { height: auto; max-height: 10; }
    EditDialog TextArea { height: 14; }
    EditDialog #dlg-message { height: auto; color: $text-error; text-style: bold; margin-top: 1; }
    EditDialog #dlg-buttons { height: 3; margin-top: 1; }
    EditDialog #dlg-buttons Button { margin-right: 2; }
    """

    def __init__(
        self,
        title: str,
        fields: Sequence[Field],
        save: Callable[[dict], Any],
        *,
        intro: str = "",
        save_label: str = "Save",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.fields = list(fields)
        self.save_fn = save
        self.intro = intro
        self.save_label = save_label
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dlg-box"):
            yield Static(self.title_text, id="dlg-title", markup=False)
            if self.intro:
                yield Static(self.intro, id="dlg-intro", markup=False)
            with VerticalScroll(id="dlg-body"):
                for f in self.fields:
                    if f.kind != "bool":
                        yield Label(f.label, classes="dlg-label", markup=False)
                    yield self._widget(f)
                    if f.help:
                        yield Static(f.help, classes="dlg-help", markup=False)
            yield Static("", id="dlg-message", markup=False)
            with Horizontal(id="dlg-buttons"):
                yield Button(f"{self.save_label} (ctrl+s)", id="dlg-save", variant="primary")
                yield Button("Cancel (esc)", id="dlg-cancel")

    def _widget(self, f: Field):
        wid = f"f-{f.name}"
        if f.kind == "select":
            return Select(
                options(f.options),
                value=f.value if f.value is not None else Select.NULL,
                allow_blank=f.value is None,
                id=wid,
            )
        if f.kind == "multi":
            chosen = set(f.value or ())
            return SelectionList[str](*[(label, value, value in chosen) for label, value in options(f.options)], id=wid)
        if f.kind == "bool":
            return Checkbox(f.label, value=bool(f.value), id=wid)
        if f.kind == "textarea":
            return TextArea(str(f.value or ""), id=wid, soft_wrap=True)
        value = "" if f.value is None else str(f.value)
        return Input(value=value, placeholder=f.placeholder, id=wid, type="integer" if f.kind == "int" else "text")

    def on_mount(self) -> None:
        first = next((w for w in self.query("#dlg-body > *") if w.can_focus), None)
        if first is None:
            first = self.query_one("#dlg-save", Button)
        if first is not None:
            first.focus()

    def values(self) -> dict:
        out: dict = {}
        for f in self.fields:
            w: Any = self.query_one(f"#f-{f.name}")  # the kind of widget follows from f.kind
            if f.kind == "select":
                out[f.name] = None if w.value is Select.NULL else w.value
            elif f.kind == "multi":
                out[f.name] = list(w.selected)
            elif f.kind == "bool":
                out[f.name] = bool(w.value)
            elif f.kind == "textarea":
                out[f.name] = w.text
            elif f.kind == "int":
                text = w.value.strip()
                try:
                    out[f.name] = int(text) if text else None
                except ValueError:
                    raise DomainError(f"{f.label}: give a whole number.", field=f.name) from None
            else:
                out[f.name] = w.value
        return out

    def message(self, text: str) -> None:
        self.query_one("#dlg-message", Static).update(text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "dlg-save":
            self.action_save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        if not self.saving:
            self.dismiss(None)

    def action_save(self) -> None:
        if self.saving:
            return
        try:
            values = self.values()
        except DomainError as exc:
            self.message(failure_text(exc))
            return
        self.saving = True
        self.message("Saving…")
        self.run_worker(
            lambda: self._save(values), thread=True, exclusive=True, exit_on_error=False, group="admin-save"
        )

    def _save(self, values: dict) -> None:
        try:
            result = self.save_fn(values)
        except BaseException as exc:
            self.app.call_from_thread(self._failed, exc)
            return
        self.app.call_from_thread(self._saved, result)

    def _failed(self, exc: BaseException) -> None:
        self.saving = False
        self.message(failure_text(exc))
        name = getattr(exc, "field", None)
        if name:
            try:
                self.query_one(f"#f-{name}").focus()
            except Exception:
                pass

    def _saved(self, result: Any) -> None:
        self.saving = False
        self.dismiss(result if result is not None else True)


class InfoDialog(ModalScreen[None]):
    """A title and lines of text; any of escape / enter closes it."""

    BINDINGS = [Binding("escape", "close", "Close"), Binding("enter", "close", "Close", show=False)]

    DEFAULT_CSS = """
    InfoDialog { align: center middle; background: $background 70%; }
    InfoDialog #info-box { width: 90%; max-width: 100; height: auto; max-height: 90%;
                           background: $surface; border: round $primary; padding: 0 1; }
    InfoDialog #info-title { text-style: bold; color: $text-primary; }
    InfoDialog #info-body { height: auto; max-height: 30; }
    InfoDialog #info-keys { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, title: str, lines: Sequence[str]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = list(lines)

    def compose(self) -> ComposeResult:
        with Vertical(id="info-box"):
            yield Static(self.title_text, id="info-title", markup=False)
            with VerticalScroll(id="info-body"):
                yield Static("\n".join(self.lines), markup=False, id="info-text")
            yield Static("enter or esc to close", id="info-keys")

    def action_close(self) -> None:
        self.dismiss(None)
