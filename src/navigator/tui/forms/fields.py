"""Field widgets for the forms: a label, a control, a hint (what was understood) and an error.

Every field validates as you type (``check``) and again on save (``value``). ``value``
returns the parsed value or raises ``DomainError`` naming the field; the form collects
those into one ``ValidationErrors``. Fields never touch the store: pickers are filled by
the form from reference data its worker loaded.

This module is ~940 lines: one class per kind of field (text, date, choice, tick-list, SWEMWBS
answers, ...), each small, sharing the parse-and-explain protocol defined at the top.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from textual import events, on
from textual.actions import parse as parse_action
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import (
    Checkbox,
    Input,
    Label,
    Select,
    SelectionList,
    Static,
    TextArea,
)

from navigator.domain import swemwbs
from navigator.domain.dates import age_on, parse_date
from navigator.domain.errors import DomainError
from navigator.domain.text import text_problem
from navigator.domain.workdays import DEFAULT_CALENDAR, WorkingCalendar
from navigator.services.setup.admin import WORDING_HINT
from navigator.tui.compat import SelectCurrent, SelectWithOverlay, TypeToSearchOverlay, own_bindings, restart_blink


def nice_date(d: date) -> str:
    """Wed 25 Nov 2026."""
    return f"{d:%a} {d.day} {d:%b %Y}"


@dataclass
class Clock:
    """What date fields need: today and the working calendar (the form's worker loads the calendar)."""

    today_fn: Callable[[], date]
    calendar: WorkingCalendar = field(default_factory=lambda: DEFAULT_CALENDAR)

    def today(self) -> date:
        return self.today_fn()


class FormField(Vertical):
    """A labelled field. Subclasses yield the control and implement ``value``/``check``."""

    DEFAULT_CSS = """
    FormField { height: auto; margin: 0; layout: horizontal; }
    FormField .field-label { width: 20; padding: 0 1 0 0; color: $text-muted; }
    FormField.-required .field-label { color: $text; }
    FormField .field-main { width: 1fr; height: auto; }
    FormField .field-hint { color: $text-muted; height: auto; }
    FormField .field-hint.-warning { color: $warning; text-style: bold; }
    FormField .field-error { color: $text-error; text-style: bold; height: auto; }
    FormField.-invalid .field-label { color: $text-error; }
    FormField Input, FormField Select > SelectCurrent, FormField TextArea, FormField SelectionList {
        background: $boost;
    }
    /* the focused field is always plain to see: its label lit, its control on a strong background */
    FormField:focus-within { background: transparent; }  /* (restyles the field's own label on focus) */
    FormField:focus-within > .field-label { color: $text; background: $primary; text-style: bold; }
    FormField Input:focus, FormField TextArea:focus, FormField SelectionList:focus, FormField Checkbox:focus {
        background: $primary 50%;
    }
    FormField Select:focus > SelectCurrent { background: $primary 50%; }
    """

    def __init__(
        self,
        name: str,
        label: str,
        *,
        required: bool = False,
        hint: str = "",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id or f"field-{name}", classes=classes)
        self.field_name = name
        self.label_text = label
        self.required = required
        self.base_hint = hint
        if required:
            self.add_class("-required")

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Label(self.label_text + (" *" if self.required else ""), classes="field-label")
        with Vertical(classes="field-main"):
            yield from self.compose_control()
            self._hint = Static(self.base_hint, classes="field-hint", markup=False)
            self._hint.display = bool(self.base_hint)
            yield self._hint
            self._error = Static("", classes="field-error", markup=False)
            self._error.display = False
            yield self._error

    def compose_control(self) -> ComposeResult:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def control(self) -> Widget:
        """The widget that takes focus for this field."""
        raise NotImplementedError

    def focus_control(self) -> None:
        """Focus the control now (not after the keys already queued), and bring it into view."""
        control = self.control
        try:
            self.screen.set_focus(control)
        except Exception:  # not on a screen yet
            control.focus()
        control.scroll_visible()

    def snapshot(self) -> Any:
        """What the field holds, to tell whether it was changed (not parsed)."""
        return None

    # ------------------------------------------------------------ messages
    def set_error(self, message: str | None) -> None:
        err = self._error
        if str(err.content) != (message or ""):
            err.update(message or "")
        err.display = bool(message)
        self.set_class(bool(message), "-invalid")

    @property
    def error(self) -> str:
        return str(self._error.content)

    def set_hint(self, text: str | None, *, warning: bool = False) -> None:
        hint = self._hint
        text = text if text is not None else self.base_hint
        if str(hint.content) != text:
            hint.update(text)
        hint.display = bool(text)
        hint.set_class(warning, "-warning")

    @property
    def hint(self) -> str:
        return str(self._hint.content)

    # ------------------------------------------------------------ values
    def value(self) -> Any:
        """The parsed value; raises DomainError(field=name) when it cannot be used."""
        raise NotImplementedError

    def is_blank(self) -> bool:
        return False

    def check(self) -> None:
        """Validate as you type: show the reason, or clear it. Blank is not an error while typing."""
        if self.is_blank():
            self.set_error(None)
            self.on_value(None)
            return
        try:
            v = self.value()
        except DomainError as exc:
            self.set_error(exc.message)
            self.on_value(None)
        else:
            self.set_error(None)
            self.on_value(v)

    def on_value(self, value: Any) -> None:
        """Hook: a valid value (or None) is now in the field; e.g. show what was understood."""

    def _required(self) -> DomainError:
        return DomainError("Required.", field=self.field_name)

    def set_enabled(self, enabled: bool) -> None:
        self.control.disabled = not enabled


# ---------------------------------------------------------------- text


# An Input's own bindings that only edit its text or move its cursor (FieldInput).
EDITING_ACTIONS = frozenset(
    {
        "cursor_left",
        "cursor_right",
        "cursor_left_word",
        "cursor_right_word",
        "home",
        "end",
        "delete_left",
        "delete_right",
        "delete_left_word",
        "delete_right_word",
        "delete_left_all",
        "delete_right_all",
    }
)


class FieldInput(Input):
    """A form's one-line input: its editing keys (backspace, delete, arrows, home, end) act when the
    input reaches them in its own queue, in the order typed, like its letters.

    Textual runs an input's bindings only once the key has travelled up to the app, by which time the
    letters typed after it have been inserted: typed fast, ``today``, five backspaces and ``-1`` gave
    ``to``, and ``+3``, left, home, ``x`` gave ``+3x``.
    """

    async def on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for key, binding in own_bindings(self):
                if key != event.key:
                    continue
                _namespace, name, parameters = parse_action(binding.action)
                if name in EDITING_ACTIONS and not binding.priority:
                    event.stop()
                    event.prevent_default()  # neither Input's nor Widget's own handler (base classes')
                    restart_blink(self)
                    getattr(self, f"action_{name}")(*parameters)
                    return


class TextField(FormField):
    """One line of text; ``parse`` may normalise (NHS number, postcode) or refuse it."""

    DEFAULT_CSS = """
    TextField Input { width: 1fr; }
    """

    def __init__(
        self,
        name: str,
        label: str,
        *,
        value: str = "",
        required: bool = False,
        placeholder: str = "",
        max_len: int = 200,
        parse: Callable[[str], Any] | None = None,
        show: Callable[[Any], str] | None = None,
        restrict: str | None = None,
        width: int | None = None,
        hint: str = "",
        **kw,
    ) -> None:
        super().__init__(name, label, required=required, hint=hint, **kw)
        self._initial = value
        self.placeholder = placeholder
        self.max_len = max_len
        self.parse = parse
        self.show = show
        self.restrict = restrict
        self.width = width

    def compose_control(self) -> ComposeResult:
        inp = FieldInput(
            self._initial,
            placeholder=self.placeholder,
            id=f"f-{self.field_name}",
            compact=True,
            restrict=self.restrict,
            max_length=self.max_len + 50,
        )
        if self.width:
            inp.styles.width = self.width
        self._input = inp
        yield inp

    @property
    def control(self) -> Input:
        return self._input

    @property
    def text(self) -> str:
        return self.control.value

    @text.setter
    def text(self, value: str) -> None:
        self.control.value = value

    def is_blank(self) -> bool:
        return not self.text.strip()

    def snapshot(self) -> Any:
        return self.text

    def value(self) -> Any:
        problem = text_problem(self.text)
        if problem is not None:
            raise DomainError(problem, field=self.field_name)
        raw = self.text.strip()
        if not raw:
            if self.required:
                raise self._required()
            return None
        if len(raw) > self.max_len:
            raise DomainError(f"Too long: at most {self.max_len} characters.", field=self.field_name)
        if self.parse is not None:
            try:
                return self.parse(raw)
            except DomainError as exc:
                raise DomainError(exc.message, field=self.field_name) from None
        return raw

    def on_value(self, value: Any) -> None:
        if self.show is not None:
            self.set_hint(self.show(value) if value is not None else None)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self.check()


class DateField(TextField):
    """A date as people type it; shows what it understood ("Wed 25 Nov 2026") as you type."""

    def __init__(
        self,
        name: str,
        label: str,
        clock: Clock,
        *,
        value: date | str | None = "today",
        required: bool = True,
        relative: bool = True,
        not_future: bool = False,
        extra: Callable[[date], tuple[str, bool] | None] | None = None,
        **kw,
    ) -> None:
        if isinstance(value, date):
            initial = value.isoformat()
        elif value == "today":
            initial = clock.today().isoformat()
        else:
            initial = value or ""
        hint = "YYYY-MM-DD, DD/MM/YYYY, today, yesterday, +N/-N working days" if relative else ""
        super().__init__(
            name,
            label,
            value=initial,
            required=required,
            placeholder="e.g. today, -2" if relative else "YYYY-MM-DD",
            max_len=20,
            width=16,
            hint="" if initial else hint,
            **kw,
        )
        self.clock = clock
        self.relative = relative
        self.not_future = not_future
        self.extra = extra
        self.blank_hint = hint

    def compose_control(self) -> ComposeResult:
        with Horizontal(classes="date-row"):
            yield from super().compose_control()
            self._preview = Static("", classes="date-preview", markup=False)
            yield self._preview

    DEFAULT_CSS = """
    DateField .date-row { height: auto; }
    DateField .date-preview { width: 1fr; padding: 0 1; color: $text-success; }
    """

    def value(self) -> date | None:
        problem = text_problem(self.text)
        if problem is not None:
            raise DomainError(problem, field=self.field_name)
        raw = self.text.strip()
        if not raw:
            if self.required:
                raise self._required()
            return None
        try:
            d = parse_date(
                raw,
                today=self.clock.today(),
                calendar=self.clock.calendar,
                field=self.field_name,
                relative=self.relative,
            )
        except DomainError as exc:
            raise DomainError(exc.message, field=self.field_name) from None
        if self.not_future and d is not None and d > self.clock.today():
            raise DomainError("The date cannot be in the future.", field=self.field_name)
        return d

    def on_value(self, value: Any) -> None:
        preview = self._preview
        if value is None:
            if str(preview.content):
                preview.update("")
            self.set_hint(self.blank_hint if self.is_blank() else "")
            return
        today = self.clock.today()
        tag = " (today)" if value == today else ""
        preview.update(nice_date(value) + tag)
        note = self.extra(value) if self.extra else None
        if note:
            self.set_hint(note[0], warning=note[1])
        else:
            self.set_hint("")

    def on_mount(self) -> None:
        self.check()


class NoteField(FormField):
    """Several lines of free text (notes, evidence)."""

    DEFAULT_CSS = """
    NoteField TextArea { height: 4; width: 1fr; }
    """

    def __init__(
        self,
        name: str,
        label: str,
        *,
        value: str = "",
        required: bool = False,
        max_len: int = 4000,
        hint: str = "",
        **kw,
    ) -> None:
        super().__init__(name, label, required=required, hint=hint, **kw)
        self._initial = value
        self.max_len = max_len

    def compose_control(self) -> ComposeResult:
        yield TextArea(
            self._initial,
            id=f"f-{self.field_name}",
            compact=True,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
        )

    @property
    def control(self) -> TextArea:
        return self.query_one(TextArea)

    @property
    def text(self) -> str:
        return self.control.text

    def is_blank(self) -> bool:
        return not self.text.strip()

    def snapshot(self) -> Any:
        return self.text

    def value(self) -> str | None:
        problem = text_problem(self.text, multiline=True)
        if problem is not None:
            raise DomainError(problem, field=self.field_name)
        raw = self.text.strip()
        if not raw:
            if self.required:
                raise self._required()
            return None
        if len(raw) > self.max_len:
            raise DomainError(f"Too long: at most {self.max_len} characters.", field=self.field_name)
        return raw

    @on(TextArea.Changed)
    def _changed(self, event: TextArea.Changed) -> None:
        self.check()


# ---------------------------------------------------------------- choices


def literal_options(options: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """A picker's options with their labels as plain text: names people typed (users, localities,
    partners) are shown as typed, never read as markup (``Root [/bold]`` would crash the picker)."""
    return [(Content(label) if isinstance(label, str) else label, value) for label, value in options]


class SearchOverlay(TypeToSearchOverlay):
    """A drop-down's list whose type-to-search never lands on the placeholder ("Choose…").

    The form sends it the letters typed while it is open (``search_now``) from the app's key
    dispatch, so an enter typed straight after them chooses what they found.
    """

    SEARCH_RESET_S = 0.7  # a pause this long starts a new search

    def search_match(self, query: str) -> int | None:
        select = self.parent
        blank = 0 if isinstance(select, SelectWithOverlay) and select.allows_blank else None
        query = query.lower()
        best: tuple[int, int] | None = None  # (where in the prompt, index)
        for index, option in enumerate(self.options):
            if index == blank:
                continue
            prompt = option.prompt
            text = prompt.plain if hasattr(prompt, "plain") else prompt if isinstance(prompt, str) else None
            if text is None:
                continue
            at = text.lower().find(query)
            if at != -1 and (best is None or at < best[0]):
                best = (at, index)
        return None if best is None else best[1]


class FormSelect(SelectWithOverlay):
    """A Select whose type-to-search skips the placeholder."""

    OVERLAY = SearchOverlay

    # Enter opens the list and enter on the list chooses: done at once from the form's key dispatch,
    # with the focus moved now, so the keys typed straight after (the search, tab) go where they belong.
    # (Select's own way moves the focus after every key already queued.)
    def open_now(self) -> None:
        overlay = self.query_one(SearchOverlay)
        current = self.query_one(SelectCurrent)
        self.set_reactive(Select.expanded, True)
        self.set_class(True, "-expanded")
        self.screen.set_focus(overlay, scroll_visible=False)
        if self.value is Select.NULL:
            overlay.select(None)
            current.has_value = False
            overlay.action_first()
        else:
            index = next((i for i, (_p, v) in enumerate(self.listed_options) if v == self.value), None)
            overlay.select(index)
            current.has_value = True

    def choose_now(self) -> None:
        overlay = self.query_one(SearchOverlay)
        index = overlay.highlighted
        options = self.listed_options
        if index is not None and 0 <= index < len(options):
            value = options[index][1]
            if value != self.value:
                self.value = value
        self.set_reactive(Select.expanded, False)
        self.set_class(False, "-expanded")
        self.screen.set_focus(self)


class SelectField(FormField):
    """Pick one from a list (type to jump to an option)."""

    DEFAULT_CSS = """
    SelectField Select { width: 1fr; max-width: 70; }
    """

    def __init__(
        self,
        name: str,
        label: str,
        options: Iterable[tuple[str, Any]] = (),
        *,
        value: Any = None,
        required: bool = False,
        prompt: str = "Choose…",
        hint: str = "",
        **kw,
    ) -> None:
        super().__init__(name, label, required=required, hint=hint, **kw)
        self._options = literal_options(options)
        self._initial = value
        self.prompt = prompt

    def compose_control(self) -> ComposeResult:
        kwargs = {}
        if self._initial is not None and any(v == self._initial for _, v in self._options):
            kwargs["value"] = self._initial
        yield FormSelect(
            self._options, prompt=self.prompt, allow_blank=True, id=f"f-{self.field_name}", compact=True, **kwargs
        )

    @property
    def control(self) -> Select:
        return self.query_one(Select)

    def set_options(self, options: Sequence[tuple[str, Any]], value: Any = None) -> None:
        sel = self.control
        sel.set_options(literal_options(options))
        if value is not None and any(v == value for _, v in options):
            sel.value = value

    @property
    def selected(self) -> Any:
        v = self.control.value
        return None if v is Select.NULL else v

    @selected.setter
    def selected(self, value: Any) -> None:
        if value is None:
            self.control.clear()
        else:
            self.control.value = value

    def is_blank(self) -> bool:
        return self.selected is None

    def snapshot(self) -> Any:
        return self.selected

    def value(self) -> Any:
        v = self.selected
        if v is None and self.required:
            raise DomainError("Choose one.", field=self.field_name)
        return v

    @on(Select.Changed)
    def _changed(self, event: Select.Changed) -> None:
        self.check()


class CheckField(FormField):
    """Yes or no (space toggles)."""

    DEFAULT_CSS = """
    CheckField Checkbox { width: auto; }
    """

    def __init__(self, name: str, label: str, text: str, *, value: bool = False, hint: str = "", **kw) -> None:
        super().__init__(name, label, hint=hint, **kw)
        self.text = text
        self._initial = value

    def compose_control(self) -> ComposeResult:
        yield Checkbox(self.text, self._initial, id=f"f-{self.field_name}", compact=True)

    @property
    def control(self) -> Checkbox:
        return self.query_one(Checkbox)

    def value(self) -> bool:
        return bool(self.control.value)

    def snapshot(self) -> Any:
        return bool(self.control.value)

    @on(Checkbox.Changed)
    def _changed(self, event: Checkbox.Changed) -> None:
        self.check()


class MultiField(FormField):
    """Pick any number (space toggles the highlighted option)."""

    DEFAULT_CSS = """
    MultiField SelectionList { height: auto; max-height: 9; width: 1fr; }
    """

    def __init__(self, name: str, label: str, options: Iterable[tuple[str, Any]] = (), *, hint: str = "", **kw) -> None:
        super().__init__(name, label, hint=hint or "space ticks; arrows move", **kw)
        self._options = literal_options(options)

    def compose_control(self) -> ComposeResult:
        yield SelectionList(*self._options, id=f"f-{self.field_name}", compact=True)

    @property
    def control(self) -> SelectionList:
        return self.query_one(SelectionList)

    def set_options(self, options: Sequence[tuple[str, Any]], selected: Iterable[Any] = ()) -> None:
        chosen = set(selected)
        sl = self.control
        sl.clear_options()
        sl.add_options([(label, value, value in chosen) for label, value in literal_options(options)])

    def value(self) -> list:
        return list(self.control.selected)

    def snapshot(self) -> Any:
        return tuple(sorted(map(repr, self.control.selected)))


# ---------------------------------------------------------------- measures


class ItemInput(Input):
    """One answer of a measure: a narrow input."""

    DEFAULT_CSS = """
    ItemInput { width: 4; }
    """


class SwemwbsField(FormField):
    """The seven SWEMWBS answers, 1-5 each: typing a digit moves to the next statement.

    ``mode``: "required" (all seven), "optional" (blank means not taken) or "skippable"
    (expected; an explicit "not taken" box skips it).
    """

    DEFAULT_CSS = """
    SwemwbsField .sw-row { height: auto; }
    SwemwbsField .sw-statement { width: 1fr; max-width: 48; }
    SwemwbsField .sw-answer { width: 18; padding: 0 0 0 1; color: $text-muted; }
    SwemwbsField .sw-score { color: $text-success; text-style: bold; }
    SwemwbsField .sw-note { color: $text-muted; }
    SwemwbsField Checkbox { width: auto; }
    """

    def __init__(
        self, name: str, label: str, *, mode: str = "required", skip_text: str = "Not taken", hint: str = "", **kw
    ) -> None:
        super().__init__(name, label, required=mode != "optional", hint=hint, **kw)
        self.mode = mode
        self.skip_text = skip_text
        self.statements = [f"Statement {n}" for n in range(1, swemwbs.ITEMS + 1)]

    def compose_control(self) -> ComposeResult:
        yield Static(
            "Over the last 2 weeks. Type 1-5 for each: 1 None of the time · 2 Rarely · "
            "3 Some of the time · 4 Often · 5 All of the time",
            classes="sw-note",
            markup=False,
        )
        for n in range(1, swemwbs.ITEMS + 1):
            with Horizontal(classes="sw-row"):
                yield Label(self.statements[n - 1], classes="sw-statement", id=f"sw-{self.field_name}-label{n}")
                yield ItemInput(
                    placeholder="1-5",
                    id=f"f-{self.field_name}-{n}",
                    compact=True,
                    restrict=r"[1-5]?",
                    max_length=1,
                    select_on_focus=True,
                )
                yield Static("", classes="sw-answer", id=f"sw-{self.field_name}-answer{n}", markup=False)
        yield Static("", classes="sw-score", markup=False)
        if self.mode == "skippable":
            yield Checkbox(self.skip_text, False, id=f"f-{self.field_name}-skip", compact=True)
        yield Static(WORDING_HINT, classes="sw-note sw-wording", markup=False)

    @property
    def inputs(self) -> list[ItemInput]:
        return list(self.query(ItemInput))

    @property
    def skip_box(self) -> Checkbox | None:
        found = self.query(f"#f-{self.field_name}-skip")
        return found.first() if found else None  # type: ignore[return-value]

    @property
    def control(self) -> Widget:
        """The first unanswered statement (or the 'not taken' box when ticked)."""
        box = self.skip_box
        if box is not None and box.value:
            return box
        inputs = self.inputs
        return next((i for i in inputs if not i.value.strip()), inputs[0])

    def set_wording(self, wording: Any) -> None:
        """Show the service's configured statement texts (``admin.SwemwbsWording``), or say where to set them."""
        note = self.query_one(".sw-wording", Static)
        statements = getattr(wording, "statements", None)
        if statements:
            self.statements = list(statements)
            for n, text in enumerate(self.statements, start=1):
                self.query_one(f"#sw-{self.field_name}-label{n}", Label).update(f"{n}. {text}")
            note.update(getattr(wording, "copyright", None) or "")
        else:
            note.update(WORDING_HINT)

    def set_items(self, items: Sequence[int | None] | None) -> None:
        for inp, v in zip(self.inputs, items or [None] * swemwbs.ITEMS):
            inp.value = "" if v is None else str(v)

    @property
    def skipped(self) -> bool:
        box = self.skip_box
        return bool(box is not None and box.value)

    def answers(self) -> list[int | None]:
        return [int(i.value) if i.value.strip() else None for i in self.inputs]

    def snapshot(self) -> Any:
        return (tuple(self.answers()), self.skipped)

    def answer(self, item: ItemInput, digit: str) -> None:
        """A digit typed on a statement: it becomes that statement's answer, and the focus moves on at once.

        Called from the form's key dispatch (a priority binding), so the next digit of a burst
        already goes to the next statement.
        """
        item.value = digit
        inputs = self.inputs
        i = inputs.index(item)
        if i + 1 < len(inputs):
            self.screen.set_focus(inputs[i + 1])
        else:
            self.screen.focus_next()

    def is_blank(self) -> bool:
        return not self.skipped and all(a is None for a in self.answers())

    def value(self) -> tuple[int, ...] | None:
        if self.skipped:
            return None
        answers = self.answers()
        if all(a is None for a in answers):
            if self.mode == "optional":
                return None
            if self.mode == "skippable":
                raise DomainError(f"Answer all seven statements, or tick '{self.skip_text}'.", field=self.field_name)
            raise DomainError("Answer all seven statements (1 to 5).", field=self.field_name)
        missing = [str(n) for n, a in enumerate(answers, start=1) if a is None]
        if missing:
            raise DomainError(
                f"SWEMWBS counts only when all 7 are answered: statement {', '.join(missing)} still blank.",
                field=self.field_name,
            )
        try:
            return swemwbs.validate_items(answers)
        except DomainError as exc:
            raise DomainError(exc.message, field=self.field_name) from None

    def check(self) -> None:
        answers = self.answers()
        for n, a in enumerate(answers, start=1):
            label = self.query_one(f"#sw-{self.field_name}-answer{n}", Static)
            text = swemwbs.RESPONSE_LABELS.get(a, "") if a else ""
            if str(label.content) != text:
                label.update(text)
        score = self.query_one(".sw-score", Static)
        done = [a for a in answers if a is not None]
        if self.skipped:
            text = f"{self.skip_text}."
        elif len(done) == swemwbs.ITEMS:
            raw, metric = swemwbs.score(answers)
            text = f"Raw {raw} · metric {metric}"
        elif done:
            text = f"{len(done)} of 7 answered (raw so far {sum(done)})"
        else:
            text = ""
        if str(score.content) != text:
            score.update(text)
        score.display = bool(text)
        # While typing, an incomplete set is not an error; clear an error once complete or skipped.
        if self.skipped or len(done) == swemwbs.ITEMS or not done:
            self.set_error(None)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if not isinstance(event.input, ItemInput):
            return
        event.stop()
        self.check()  # typed answers move on in ``answer`` (the form's key dispatch), not here

    @on(Checkbox.Changed)
    def _skip(self, event: Checkbox.Changed) -> None:
        event.stop()
        for inp in self.inputs:
            inp.disabled = event.value
        self.check()

    def set_enabled(self, enabled: bool) -> None:
        for inp in self.inputs:
            inp.disabled = not enabled
        if self.skip_box is not None:
            self.skip_box.disabled = not enabled


class Ons4Field(FormField):
    """The four ONS personal wellbeing answers, 0-10 each."""

    DEFAULT_CSS = """
    Ons4Field .o4-row { height: auto; }
    Ons4Field .o4-question { width: 1fr; max-width: 40; }
    """

    def __init__(self, name: str, label: str, **kw) -> None:
        super().__init__(name, label, required=True, hint="Each 0 (not at all) to 10 (completely)", **kw)

    def compose_control(self) -> ComposeResult:
        for n, q in enumerate(swemwbs.ONS4_QUESTIONS, start=1):
            with Horizontal(classes="o4-row"):
                yield Label(q, classes="o4-question")
                yield ItemInput(
                    placeholder="0-10", id=f"f-{self.field_name}-{n}", compact=True, restrict=r"\d{0,2}", max_length=2
                )

    @property
    def inputs(self) -> list[ItemInput]:
        return list(self.query(ItemInput))

    @property
    def control(self) -> Widget:
        return self.inputs[0]

    def answers(self) -> list[int | None]:
        return [int(i.value) if i.value.strip() else None for i in self.inputs]

    def is_blank(self) -> bool:
        return all(a is None for a in self.answers())

    def snapshot(self) -> Any:
        return tuple(self.answers())

    def value(self) -> tuple[int, ...]:
        try:
            return swemwbs.validate_ons4(self.answers())
        except DomainError as exc:
            raise DomainError(exc.message, field=self.field_name) from None

    def check(self) -> None:
        bad = [swemwbs.ONS4_QUESTIONS[n] for n, a in enumerate(self.answers()) if a is not None and a > 10]
        self.set_error(f"{bad[0]}: answer 0 to 10." if bad else None)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.check()


# ---------------------------------------------------------------- helpers for forms


def age_note(dob: date | None, received: date | None, min_age: int) -> tuple[str, bool] | None:
    """'aged 46 when referred' (and a warning under the minimum age)."""
    if dob is None or received is None or dob > received:
        return None
    age = age_on(dob, received)
    if age < min_age:
        return (
            f"Aged {age} when referred: under {min_age}, so this referral can only be rejected "
            f"(reason 'Under {min_age}').",
            True,
        )
    return (f"Aged {age} when referred.", False)
