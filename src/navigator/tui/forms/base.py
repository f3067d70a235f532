"""The form framework: a modal screen that loads in a worker, validates, and saves in a worker.

A form subclass provides:

- ``compose_fields()``: its fields (see ``fields.py``);
- ``load()`` (runs in a thread: services only, no widgets) and ``apply(data)`` (on the UI
  thread: fill pickers, show the person the form is about);
- ``collect()`` (UI thread: read the fields into a payload; raise ``ValidationErrors``) and
  ``save(payload)`` (thread: call the service; return a non-None result to dismiss with).

Keys: tab / shift+tab move between fields, enter moves on (and saves on the last field),
ctrl+s saves, escape cancels (asking first when something was changed). A save the rules
refuse shows the domain's message next to the field it names and keeps everything typed.

No keystroke is lost or misplaced, however fast the person types:

- from the moment a form is pushed until it is loaded and its first field focused, the app
  holds every key (``hold_key``, called by the app for each key it receives) and then
  replays them, in order, through the normal key dispatch;
- the keys that move the focus (tab, shift+tab, enter in a one-line field, a SWEMWBS answer)
  are priority bindings: they act in the app's own key dispatch, so the very next key
  already goes to the field they moved to (an ordinary binding runs only after the key has
  travelled through the focused widget and its parents, by which time the keys typed after
  it have been sent to the old field).

Work is never thrown away silently: escape on a form with changes, quitting the app, or
going to another screen while a changed form is open asks first (``DiscardDialog``,
``confirm_discard``); a form with no changes closes at once.

This module is ~660 lines: the form base (first frame ready, validation as you type, refused
saves kept, unsaved-change prompts, key holding while opening) is one state machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from textual import events, on, work
from textual.actions import SkipAction
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Static
from textual.worker import get_current_worker

from navigator.domain.errors import (
    AccessDenied,
    ConflictError,
    DomainError,
    NotFound,
    StoreError,
    ValidationErrors,
)
from navigator.services.context import Ctx
from navigator.tui.forms.fields import Clock, FormField, FormSelect, ItemInput, SearchOverlay, SwemwbsField

T = TypeVar("T")

SWEMWBS_DIGITS = frozenset("12345")

# Domain field names that belong to no input: shown in the form's message line.
GENERAL_FIELDS = frozenset({"state", "version", "client", "journeys", "consent", "store"})


def shown(widget: Widget) -> bool:
    """Displayed, and so are all its containers up to the screen."""
    node: Any = widget
    while node is not None and not isinstance(node, ModalScreen):
        if not getattr(node, "display", True):
            return False
        node = node.parent
    return True


# A key the form replays after holding it (``hold_key`` lets it through).
_REPLAYED = "_navigator_replayed"


def hold_key(app: App, event: events.Key) -> bool:
    """Called by the app for every key it receives, before dispatching it. True: the form took it.

    A form not ready yet holds the key, to replay it in order once its first field has the focus.
    A ready form handles at once the keys whose effect the very next key depends on and that
    Textual would only act on later (``FormScreen.route_key``).
    """
    screen = app.screen
    if not isinstance(screen, FormScreen):
        return False
    if screen.holding_keys and not getattr(event, _REPLAYED, False):
        screen.held_keys.append(event)
        return True
    return screen.route_key(event)


class DiscardDialog(ModalScreen[bool]):
    """Keep editing (escape, or the first button) or discard what was typed. Dismisses with True to discard."""

    BINDINGS = [
        Binding("escape", "keep", "Keep editing"),
        Binding("d", "discard", "Discard", show=False),
    ]

    DEFAULT_CSS = """
    DiscardDialog { align: center middle; background: $background 60%; }
    DiscardDialog #discard-box {
        width: 64; height: auto; background: $surface; border: thick $warning; padding: 1 2;
    }
    DiscardDialog #discard-text { height: auto; margin: 0 0 1 0; }
    DiscardDialog Horizontal { height: auto; }
    DiscardDialog Button { margin: 0 2 0 0; }
    DiscardDialog Button:focus { text-style: bold reverse; }
    """

    def __init__(self, text: str = "This form has changes that are not saved.", action: str = "Discard") -> None:
        super().__init__()
        self.text = text
        self.action_label = action

    def compose(self) -> ComposeResult:
        with Vertical(id="discard-box"):
            yield Static(self.text, id="discard-text", markup=False)
            with Horizontal():
                yield Button("Keep editing", id="discard-keep", variant="primary", compact=True)
                yield Button(self.action_label, id="discard-yes", variant="error", compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#discard-keep", Button))

    def action_keep(self) -> None:
        self.dismiss(False)

    def action_discard(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#discard-keep")
    def _keep(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(False)

    @on(Button.Pressed, "#discard-yes")
    def _discard(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(True)


def unsaved_forms(app: App) -> list[FormScreen]:
    """The open forms holding changes that are not saved."""
    return [s for s in app.screen_stack if isinstance(s, FormScreen) and s.is_dirty()]


def confirm_discard(app: App, then: Callable[[], Any], *, leaving: str = "quit") -> bool:
    """Before leaving open forms behind (quitting, going to another screen).

    With no changed form open, returns False and does nothing (go ahead). Otherwise asks
    (keep editing / discard), runs ``then`` once the person chooses to discard, and returns
    True (the caller stops here).
    """
    forms = unsaved_forms(app)
    if not forms:
        return False
    if isinstance(app.screen, DiscardDialog):
        return True  # already asking

    def chosen(discard: bool | None) -> None:
        if discard:
            for form in forms:
                form.discarded = True
            then()

    title = forms[-1].TITLE
    verb = "Quit" if leaving == "quit" else "Discard and leave"
    app.push_screen(
        DiscardDialog(f"{title}: what you typed is not saved. {verb} anyway, losing it?", action=verb), chosen
    )
    return True


def describe_failure(exc: BaseException) -> str:
    """What went wrong, in words a navigator understands (never a traceback)."""
    if isinstance(exc, ConflictError):
        return f"Not saved: {exc.message} (ctrl+r reloads.)"
    if isinstance(exc, AccessDenied):
        return f"Not allowed: {exc.message}"
    if isinstance(exc, NotFound):
        return f"Not found: {exc.message}"
    if isinstance(exc, ValidationErrors):
        n = len(exc.errors)
        return "Not saved: " + ("check the field marked below." if n == 1 else f"check the {n} fields marked below.")
    if isinstance(exc, DomainError):
        return f"Not saved: {exc.message}"
    if isinstance(exc, StoreError):
        return f"The store could not save this: {exc}"
    return f"Not saved: something unexpected went wrong ({type(exc).__name__}). Nothing was changed."


class FormScreen(ModalScreen[T], Generic[T]):
    """A form in a modal screen. Dismisses with the save's result, or None on cancel."""

    TITLE: ClassVar[str] = "Form"
    SAVE_LABEL: ClassVar[str] = "Save"
    # The most rows the form's box takes on a tall terminal (None: all of it).
    FORM_HEIGHT: ClassVar[int | None] = None
    # Domain field name -> this form's field name (e.g. "on" -> "date").
    FIELD_ALIASES: dict[str, str] = {}  # a form may change its own (the measure form does)

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
        # Keys that move the focus act in the app's key dispatch (see the module's docstring).
        Binding("tab", "next_field", show=False, priority=True),
        Binding("shift+tab", "previous_field", show=False, priority=True),
        Binding("enter", "enter", show=False, priority=True),
    ]

    DEFAULT_CSS = """
    FormScreen { align: center middle; background: $background; }
    FormScreen #form-box {
        width: 100%; max-width: 104; height: 100%;
        background: $surface; border: round $primary; padding: 0 1;
    }
    FormScreen.-wide #form-box { margin: 1 2; }
    FormScreen #form-title { text-style: bold; color: $text-primary; height: 1; }
    FormScreen #form-context { color: $text-muted; height: auto; }
    FormScreen #form-body { height: 1fr; padding: 1 1 0 0; }
    FormScreen #form-body Vertical, FormScreen #form-body Horizontal { height: auto; }
    FormScreen #form-message { height: auto; color: $text-error; text-style: bold; }
    FormScreen #form-message.-info { color: $text-muted; text-style: none; }
    FormScreen #form-buttons { height: 1; align-horizontal: left; }
    FormScreen #form-buttons Button { margin: 0 2 0 0; }
    FormScreen Button:focus { text-style: bold reverse; }
    FormScreen #form-keys { width: 1fr; color: $text-muted; text-align: right; }
    FormScreen .section-title { text-style: bold; color: $text-accent; margin: 0 0 1 0; }
    FormScreen .notice { color: $warning; text-style: bold; margin: 0 0 1 0; height: auto; }
    """

    class Loaded(Message):
        def __init__(self, data: Any) -> None:
            super().__init__()
            self.data = data

    class LoadFailed(Message):
        def __init__(self, error: BaseException) -> None:
            super().__init__()
            self.error = error

    class Saved(Message):
        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    class SaveFailed(Message):
        def __init__(self, error: BaseException, extra: Any = None) -> None:
            super().__init__()
            self.error = error
            self.extra = extra

    def __init__(self, ctx: Ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.clock = Clock(ctx.today)
        self.ready = False
        self.saving = False
        self.load_error: BaseException | None = None
        # keys typed before the form was ready, replayed once it is (see hold_key)
        self.holding_keys = True
        self.held_keys: list[events.Key] = []
        self._pristine: Any = None  # what the fields held once loaded
        self._key_targets: dict[Widget, None] = {}  # widgets sent keys since the last save (in order)
        self.discarded = False

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        # the width's class (HORIZONTAL_BREAKPOINTS) before the fields mount: set by the first resize, it
        # would lay the form out a second time after its first frame (the referral form's two columns)
        width = self.app.size.width
        fitting = [name for at, name in sorted(self.HORIZONTAL_BREAKPOINTS or []) if width >= at]
        for _, name in self.HORIZONTAL_BREAKPOINTS or []:
            self.set_class(bool(fitting) and name == fitting[-1], name, update=False)
        with Vertical(id="form-box"):
            yield Static(self.TITLE, id="form-title", markup=False)
            yield Static("", id="form-context", markup=False)
            with VerticalScroll(id="form-body", can_focus=False):
                yield from self.compose_fields()
            yield Static("", id="form-message", markup=False)
            with Horizontal(id="form-buttons"):
                yield Button(self.SAVE_LABEL, id="form-save", variant="primary", compact=True)
                yield Button("Cancel", id="form-cancel", compact=True)
                yield Static("tab next · ctrl+s save · esc cancel", id="form-keys")
        yield Footer()

    def compose_fields(self) -> ComposeResult:  # pragma: no cover - abstract
        yield from ()

    # ------------------------------------------------------------ fields
    def fields(self) -> dict[str, FormField]:
        return {f.field_name: f for f in self.query(FormField)}

    def field(self, name: str) -> FormField:
        return self.query_one(f"#field-{name}", FormField)

    def has_field(self, name: str) -> bool:
        return bool(self.query(f"#field-{name}"))

    def _field_for(self, domain_field: str | None) -> FormField | None:
        if not domain_field or domain_field in GENERAL_FIELDS:
            return None
        name = self.FIELD_ALIASES.get(domain_field, domain_field)
        if (name.startswith("item") and name[4:].isdigit()) or name == "items":
            name = self.FIELD_ALIASES.get("items", "swemwbs")
        if self.has_field(name):
            f = self.field(name)
            if shown(f):
                return f
        return None

    def values(self, *names: str) -> dict[str, Any]:
        """Read fields (all visible ones when no names are given); raise ValidationErrors listing every problem."""
        chosen = [self.field(n) for n in names] if names else [f for f in self.query(FormField) if shown(f)]
        out: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for f in chosen:
            try:
                out[f.field_name] = f.value()
            except DomainError as exc:
                errors[f.field_name] = exc.message
        if errors:
            raise ValidationErrors(errors)
        return out

    def set_message(self, text: str | None, *, info: bool = False) -> None:
        msg = self.query_one("#form-message", Static)
        msg.update(text or "")
        msg.display = bool(text)
        msg.set_class(info, "-info")

    @property
    def message(self) -> str:
        return str(self.query_one("#form-message", Static).content)

    def set_context(self, text: str) -> None:
        ctx_line = self.query_one("#form-context", Static)
        ctx_line.update(text)
        ctx_line.display = bool(text)

    def set_note(self, selector: str, text: str | None) -> None:
        """Update a notice line, hiding it when there is nothing to say."""
        note = self.query_one(selector, Static)
        note.update(text or "")
        note.display = bool(text)

    def clear_errors(self) -> None:
        for f in self.query(FormField):
            f.set_error(None)
        self.set_message(None)

    def show_errors(self, errors: dict[str, str], summary: str | None = None) -> None:
        """Each message next to its field; ones that belong to no field go in the message line."""
        general: list[str] = []
        first: FormField | None = None
        for name, message in errors.items():
            f = self._field_for(name)
            if f is None:
                general.append(message)
                continue
            f.set_error(message)
            first = first or f
        lines = [summary] if summary else []
        lines += [g for g in general if not summary or g not in summary]
        self.set_message("\n".join(lines) if lines else None)
        if first is not None:
            first.focus_control()

    def show_failure(self, exc: BaseException) -> None:
        if isinstance(exc, ValidationErrors):
            self.show_errors(exc.errors, describe_failure(exc))
        elif isinstance(exc, DomainError) and self._field_for(exc.field) is not None:
            self.show_errors({exc.field: exc.message}, describe_failure(exc))  # type: ignore[dict-item]
        else:
            self.set_message(describe_failure(exc))

    # ------------------------------------------------------------ loading
    def on_mount(self) -> None:
        if self.FORM_HEIGHT:
            self.query_one("#form-box").styles.max_height = self.FORM_HEIGHT
        if getattr(self, "_load_started", False):
            return  # a subclass's on_mount called this one (Textual then calls it again itself)
        self._load_started = True
        calendar = self.ctx.known_calendar()
        kept = self.kept_data()
        if kept is not None and calendar is not None:
            # what it needs is on hand: the form is filled and ready on its first frame (no re-layout
            # after it), once every on_mount has set the form up (_fill_from_kept); the load below still
            # runs, and only a different answer is applied
            self.clock.calendar = calendar
            if getattr(self, "_mount_handled", False):  # a subclass's on_mount did not call this one
                self._apply_kept(kept)
        else:
            self.set_message("Loading…", info=True)
        self._load_worker()
        # the cursor is in the first field on the first frame; keys typed meanwhile are held until
        # the form is loaded (what it loads may fill fields), then replayed there
        self.focus_first()

    @work(thread=True, exclusive=True, group="form-load")
    def _load_worker(self) -> None:
        try:
            self.clock.calendar = self.ctx.calendar()
            data = self.load()
        except Exception as exc:
            self.post_message(self.LoadFailed(exc))
            return
        self.post_message(self.Loaded(data))

    def reload(self) -> None:
        self.ready = False
        self.set_message("Loading…", info=True)
        self._load_worker()

    def load(self) -> Any:
        """Runs in a worker thread: read what the form needs through the services."""
        return None

    def preload(self) -> Any:
        """On the UI thread, as the form mounts: what ``load`` would return, if the app holds it already
        (the journey on the screen beneath, the reference data it keeps); ``None`` if it does not."""
        return None

    def same_data(self, kept: Any, loaded: Any) -> bool:
        """Whether what ``load`` returned is what ``preload`` gave (then nothing is applied again)."""
        return kept == loaded

    def remember(self, data: Any) -> None:
        """On the UI thread, after each load: keep what later forms may preload (``keep``)."""

    def keep(self, **data: Any) -> None:
        """Hand the app what later forms may preload: ``reference=``, ``measures=`` (the app's
        ``kept_reference``, ``kept_measures``)."""
        for name, value in data.items():
            if value is not None:
                setattr(self.app, f"kept_{name}", value)

    def apply(self, data: Any) -> None:
        """On the UI thread: fill pickers, show the context."""

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        message.stop()
        kept, self._kept_data = getattr(self, "_kept_data", None), None
        try:
            self.remember(message.data)
        except Exception:
            pass
        if kept is not None and self.ready and self.same_data(kept, message.data):
            return  # the form already shows this
        self._apply_loaded(message.data)

    def kept_data(self) -> Any:
        """What ``preload`` gave, asked once (from compose on: a form may compose what it shows)."""
        if not hasattr(self, "_kept_data"):
            try:
                self._kept_data = self.preload() if self.ctx.known_calendar() is not None else None
            except Exception:
                self._kept_data = None
        return self._kept_data

    @on(events.Mount)
    def _fill_from_kept(self, event: events.Mount) -> None:
        # Textual calls Mount handlers class by class down the hierarchy, a class's decorated ones before
        # its on_mount: this runs after every subclass's on_mount (and the super().on_mount() they
        # call), before the form is first painted
        self._mount_handled = True
        kept = getattr(self, "_kept_data", None)
        if kept is not None:
            self._apply_kept(kept)

    def _apply_kept(self, kept: Any) -> None:
        if self._kept_data is kept and not self.ready:  # the load's answer has not come first
            self._apply_loaded(kept)

    def _apply_loaded(self, data: Any) -> None:
        self.set_message(None)
        self.load_error = None
        try:
            self.apply(data)
        except DomainError as exc:
            self.load_error = exc
            self.set_message(describe_failure(exc).replace("Not saved: ", ""))
            self.set_focus(self.query_one("#form-cancel", Button))
            self.release_keys()
            return
        first = not self.ready and not getattr(self, "_loaded_once", False)
        self._loaded_once = True
        self.ready = True
        for f in self.query(FormField):
            f.check()
        if first:
            self._pristine = self.snapshot()
            self.focus_first()
        self.release_keys()

    @on(LoadFailed)
    def _load_failed(self, message: LoadFailed) -> None:
        message.stop()
        self.load_error = message.error
        text = describe_failure(message.error)
        for prefix in ("Not saved: ",):
            text = text.replace(prefix, "")
        self.set_message(f"Cannot open this form. {text}")
        self.set_focus(self.query_one("#form-cancel", Button))
        self.release_keys()

    # ------------------------------------------------------------ keys typed before the form was ready
    def release_keys(self) -> None:
        """Replay the held keys, in order, through the app's key dispatch; stop holding once none are left.

        The replayed keys go to the end of the app's queue, with a marker after them. A key that
        arrives meanwhile is still held (so it cannot overtake them) and replayed at the marker.
        """
        if not self.holding_keys:
            return
        held, self.held_keys = self.held_keys, []
        if not held:
            self.holding_keys = False
            return
        for event in held:
            replay = events.Key(event.key, event.character)
            setattr(replay, _REPLAYED, True)
            self.app.post_message(replay)
        self.app.call_later(self.release_keys)

    def focus_first(self) -> None:
        for f in self.query(FormField):
            if shown(f) and f.control.focusable:
                f.focus_control()
                return

    # ------------------------------------------------------------ keys that move the focus
    def action_next_field(self) -> None:
        self.focus_next()

    def action_previous_field(self) -> None:
        self.focus_previous()

    def action_enter(self) -> None:
        """Enter in a one-line field: on to the next field (save on the last); on a drop-down: open it,
        or choose the highlighted option; anywhere else its own enter."""
        focused = self.focused
        if isinstance(focused, FormSelect):
            focused.open_now()
            return
        if isinstance(focused, SearchOverlay) and isinstance(focused.parent, FormSelect):
            focused.parent.choose_now()
            self.choice_made(focused.parent)
            return
        if not isinstance(focused, Input) or focused.disabled:
            raise SkipAction()
        if self._is_last_field(focused):
            self.action_save()
        else:
            self.focus_next()

    def choice_made(self, select: FormSelect) -> None:
        """Hook: a drop-down's choice was made by enter; show or hide what depends on it now, before the
        next key (``Select.Changed`` arrives only after the keys already typed)."""

    def route_key(self, event: events.Key) -> bool:
        """In the app's key dispatch, before the key goes to the focused widget. True: handled here.

        A SWEMWBS answer fills its statement and moves on, and a letter typed in an open drop-down
        moves its highlight, at once (not when the widget gets to it, after the keys queued behind:
        a priority binding cannot do this, as Textual drops those for keys an input would take).
        Every other key goes on to the focused widget, which is noted so that a save waits for it.
        """
        focused = self.focused
        character = event.character
        if isinstance(focused, ItemInput) and character in SWEMWBS_DIGITS:
            owner = next((a for a in focused.ancestors if isinstance(a, SwemwbsField)), None)
            if owner is not None:
                owner.answer(focused, character)
                return True
        if isinstance(focused, SearchOverlay) and character is not None and event.is_printable:
            focused.search_now(character)
            return True
        if focused is not None:
            self._key_targets[focused] = None
        return False

    # ------------------------------------------------------------ changes not saved
    def snapshot(self) -> Any:
        """What every field holds now (to tell whether anything was changed)."""
        return tuple((f.field_name, f.snapshot()) for f in self.query(FormField))

    def is_dirty(self) -> bool:
        """Something typed or chosen that is not saved (False once saved, cancelled or discarded);
        keys still on their way to a field count as changes."""
        if self.discarded:
            return False
        if not self.ready:
            return bool(self.held_keys)
        if any(w.is_attached and w.message_queue_size for w in self._key_targets):
            return True
        return self.snapshot() != self._pristine

    # ------------------------------------------------------------ saving
    def action_save(self) -> None:
        """Save, once every key typed before ctrl+s (or enter) has reached its field."""
        if self.saving:
            return
        targets = [w for w in self._key_targets if w.is_attached]
        self._key_targets.clear()
        self._after_keys(targets, self._save_now)

    def _after_keys(self, widgets: list[Widget], then: Callable[[], Any]) -> None:
        """Run ``then`` after each of ``widgets`` has handled the messages (keys) queued on it so far."""
        if not widgets:
            then()
            return
        head, *rest = widgets
        if not head.is_attached:
            self._after_keys(rest, then)
        else:
            head.call_later(self._after_keys, rest, then)

    def _save_now(self) -> None:
        if self.saving or not self.is_attached:
            return
        if self.load_error is not None:
            self.set_message(f"Cannot save. {describe_failure(self.load_error).replace('Not saved: ', '')}")
            return
        if not self.ready:
            self.set_message("Still loading: try again in a moment.", info=True)
            return
        self.clear_errors()
        try:
            payload = self.collect()
        except DomainError as exc:
            self.show_failure(exc)
            return
        self.saving = True
        self.set_message("Saving…", info=True)
        self.query_one("#form-save", Button).disabled = True
        self._save_worker(payload)

    def collect(self) -> Any:
        """On the UI thread: read the fields into what ``save`` needs; raise DomainError to refuse."""
        return self.values()

    def save(self, payload: Any) -> Any:  # pragma: no cover - abstract
        """Runs in a worker thread: call the service. Return a non-None result."""
        raise NotImplementedError

    def on_save_error(self, payload: Any, exc: BaseException) -> Any:
        """Runs in the worker thread after a refused save: extra data for ``after_failure``."""
        return None

    @work(thread=True, exclusive=True, group="form-save")
    def _save_worker(self, payload: Any) -> None:
        worker = get_current_worker()
        try:
            result = self.save(payload)
        except Exception as exc:
            extra = None
            try:
                extra = self.on_save_error(payload, exc)
            except Exception:
                extra = None
            if not worker.is_cancelled:
                self.post_message(self.SaveFailed(exc, extra))
            return
        if not worker.is_cancelled:
            self.post_message(self.Saved(result))

    @on(Saved)
    def _saved(self, message: Saved) -> None:
        message.stop()
        self.saving = False
        self.dismiss(message.result)

    @on(SaveFailed)
    def _save_failed(self, message: SaveFailed) -> None:
        message.stop()
        self.saving = False
        self.query_one("#form-save", Button).disabled = False
        self.set_message(None)
        self.show_failure(message.error)
        self.after_failure(message.error, message.extra)

    def after_failure(self, exc: BaseException, extra: Any) -> None:
        """Hook on the UI thread after a refused save (e.g. show duplicate people)."""

    def action_cancel(self) -> None:
        """Close without saving: at once when nothing was changed, otherwise after asking."""
        if self.saving:
            return
        if not self.is_dirty():
            self.dismiss(None)
            return

        def chosen(discard: bool | None) -> None:
            if discard:
                self.discarded = True
                self.dismiss(None)

        self.app.push_screen(DiscardDialog(f"{self.TITLE}: what you typed is not saved."), chosen)

    # ------------------------------------------------------------ keys
    @on(Button.Pressed, "#form-save")
    def _save_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#form-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter moves to the next field; on the last field it saves."""
        event.stop()
        if self._is_last_field(event.input):
            self.action_save()
        else:
            self.focus_next()

    def _is_last_field(self, widget: Widget) -> bool:
        body = self.query_one("#form-body")
        chain = [w for w in self.focus_chain if body in w.ancestors]
        return bool(chain) and chain[-1] is widget


IMPORTED = True  # the last line: the app uses this module only once it is whole (app.loaded_forms)
