"""Small shared pieces: date and count formatting, headings, and the base of data screens."""

from __future__ import annotations

import dataclasses
import gc
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.filter import LineFilter
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from navigator.domain.errors import DomainError, StoreError
from navigator.tui.compat import FooterKey, fixed_compact, mark_bindings_ready
from navigator.tui.messages import DataChanged, Failed, Loaded

# ---------------------------------------------------------------- user text is data

# What a person typed is shown exactly as typed, never read as markup (Text/Content, markup=False), and
# control characters already stored (an ANSI escape, a bell, a bidi override) are shown as visible
# stand-ins, one character each (so the offsets of styles over the text stay right): C0 controls as
# their Unicode "control pictures" (ESC as ␛), DEL as ␡, C1 controls and bidi embeddings/overrides as �.
# Newlines and tabs stay (notes may have lines).
_SHOWN = {i: 0x2400 + i for i in range(0x20) if chr(i) not in "\n\t"}
_SHOWN[0x7F] = 0x2421
_SHOWN.update({i: 0xFFFD for i in (*range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A))})
_SHOWN_RE = re.compile("[" + "".join(re.escape(chr(c)) for c in _SHOWN) + "]")
_NEVER_RAW = re.compile("[\x00-\x1f\x7f-\x9f]")  # what must never reach the terminal


def shown(value: object) -> str:
    """``value`` as text safe to show: control characters as visible stand-ins (see ``_SHOWN``)."""
    text = "" if value is None else str(value)
    return text.translate(_SHOWN) if _SHOWN_RE.search(text) else text


def literal(value: object, style: str = "") -> Text:
    """User text as a Rich Text: exactly as typed (no markup), controls visible."""
    return Text(shown(value), style=style)


def literal_text(text: Text) -> Text:
    """A Text (whose styles are ours) with any control characters in it made visible, styles kept."""
    if not _SHOWN_RE.search(text.plain):
        return text
    text = text.copy()
    text.plain = text.plain.translate(_SHOWN)  # one character for one: the spans still fit
    return text


def options(pairs: Iterable[tuple[object, V]]) -> list[tuple[Text, V]]:
    """(label, value) pairs for a Select / SelectionList whose labels may hold user text (a str label
    would be read as markup)."""
    return [(literal(label), value) for label, value in pairs]


V = TypeVar("V")
_SCALARS = frozenset({int, float, bool, type(None), date, datetime, Decimal})
_FIELDS: dict[type, frozenset[str]] = {}  # a dataclass's init fields (an empty set: not a dataclass)


def displayable(value: Any) -> Any:
    """A service's result with every string in it passed through ``shown`` (frozen dataclasses, tuples,
    lists and dicts are rebuilt only where something changed). Screens show what they get from here, so
    a control character stored in any field reaches the screen visible, never raw. (About a millisecond
    for a Caseload page of 100 rows, in the worker thread.)"""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is str:
        return value.translate(_SHOWN) if _SHOWN_RE.search(value) else value
    if isinstance(value, (tuple, list)):
        items = [displayable(v) for v in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        if isinstance(value, list):
            return items
        return kind(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, dict):
        changed = {k: displayable(v) for k, v in value.items()}
        return value if all(changed[k] is v for k, v in value.items()) else changed
    names = _FIELDS.get(kind)
    if names is None:
        is_instance = dataclasses.is_dataclass(value) and not isinstance(value, type)
        names = _FIELDS[kind] = (
            frozenset(f.name for f in dataclasses.fields(value) if f.init) if is_instance else frozenset()
        )
    if not names:
        return value
    own = getattr(value, "__dict__", None)
    pairs = own.items() if own is not None else ((name, getattr(value, name)) for name in names)
    changes = {}
    for name, old in pairs:
        if name in names:
            new = displayable(old)
            if new is not old:
                changes[name] = new
    return dataclasses.replace(value, **changes) if changes else value


class NeverRawControls(LineFilter):
    """The last guard (the app's line filter): a control character that got past ``shown`` somewhere is
    dropped from the line (they take no cell, so the layout is unchanged) rather than written raw."""

    def apply(self, segments: list, background) -> list:
        if not any(_NEVER_RAW.search(segment.text) for segment in segments if not segment.control):
            return segments
        return [
            segment
            if segment.control or not _NEVER_RAW.search(segment.text)
            else segment._replace(text=_NEVER_RAW.sub("", segment.text))
            for segment in segments
        ]


# ---------------------------------------------------------------- formatting


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def fmt_date(d: date | None, today: date | None = None, *, short: bool = False) -> str:
    """'25 Nov 2026'; short: '25 Nov' within half a year of today, '25 Nov 25' otherwise. '' for None."""
    if d is None:
        return ""
    if short:
        if today is not None and abs((d - today).days) < 183:  # within half a year: the year is plain
            return f"{d.day:2d} {d:%b}"
        return f"{d.day:2d} {d:%b %y}"
    return f"{d.day} {d:%b %Y}"


def fmt_metric(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def fmt_change(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{'+' if value > 0 else ''}{value:.2f}"


def alert(app) -> str:
    """The Rich style for overdue things in tables: red, or (NO_COLOR) bold alone, since the
    monochrome filter would turn red into a faint grey."""
    return "bold" if getattr(app, "no_color", False) else "bold red"


def heading(text: str, count: int | None = None) -> Content:
    if count is None:
        return Content.from_markup("[b $accent]$text[/]", text=text)
    return Content.from_markup("[b $accent]$text[/] [dim]($count)[/]", text=text, count=str(count))


def kv_table(pairs: list[tuple[str, str | None]], width: int = 13) -> Table:
    """Label / value rows; long values wrap under themselves. Empty values show as a dash."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(width=width, style="dim", no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    for label, value in pairs:
        grid.add_row(Text(label), literal(value) if value not in (None, "") else Text("-"))
    return grid


class Section(Vertical):
    """A titled block: a heading (with an optional count) over a body."""

    DEFAULT_CSS = """
    Section { height: auto; margin-bottom: 1; }
    Section > .section-body { height: auto; }
    """

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title

    def compose(self):
        yield Static(heading(self.title), classes="section-title")
        yield Static("", classes="section-body")

    def set(self, body, count: int | None = None) -> None:
        self.query_one(".section-title", Static).update(heading(self.title, count))
        self.query_one(".section-body", Static).update(body)


class PlainTable(DataTable):
    """A DataTable whose cells are data: a str cell is shown as typed (the stock table reads it as markup),
    and control characters in any cell are shown visible (``shown``)."""

    @staticmethod
    def _plain(cell: Any) -> Any:
        if isinstance(cell, str):
            return literal(cell)
        if isinstance(cell, Text):
            return literal_text(cell)
        return cell

    def add_row(self, *cells: Any, **kwargs: Any):
        return super().add_row(*(self._plain(c) for c in cells), **kwargs)

    def add_rows(self, rows: Iterable[Iterable[Any]]):
        return super().add_rows([[self._plain(c) for c in row] for row in rows])

    def update_cell(self, row_key, column_key, value: Any, *, update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, self._plain(value), update_width=update_width)

    def update_cell_at(self, coordinate, value: Any, *, update_width: bool = False) -> None:
        super().update_cell_at(coordinate, self._plain(value), update_width=update_width)


class RowTable(PlainTable):
    """A row-cursor table: home/end go to the first/last row; says when it scrolls near its end."""

    BINDINGS = [
        Binding("home", "first_row", "First row", show=False),
        Binding("end", "last_row", "Last row", show=False),
    ]

    class NearEnd(Message):
        """The view reached the last screenful of rows (time to fetch more, if there are more)."""

        def __init__(self, table: RowTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        super().__init__(**kwargs)

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value > old_value and new_value >= self.max_scroll_y - self.size.height:
            self.post_message(self.NearEnd(self))


class NavFooter(Footer):
    """The footer, rebuilt only when the keys it shows change (the stock one rebuilds on every focus change,
    which made opening a Journey noticeably slow). A screen whose keys depend on data not loaded yet sets
    ``footer_hold`` until it has it, so the footer is built once, not twice."""

    _signature: tuple | None = None
    _pending = False

    def compose(self):
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                # The stock keys start compact and are then bound to the footer's (never changing) compact:
                # two restyles per key per rebuild. Set the value once instead, with no binding.
                fixed_compact(widget, self.compact)
            yield widget

    def bindings_changed(self, screen) -> None:
        if getattr(screen, "footer_hold", False):
            return
        mark_bindings_ready(self)
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._pending = False
        if not self.is_attached:
            return
        signature = tuple(
            (key, active.binding.description, active.enabled, active.binding.show)
            for key, active in self.screen.active_bindings.items()
        )
        if signature == self._signature:
            return
        self._signature = signature
        await self.recompose()


class Title(Static):
    """The one-line title under the header: what this screen shows."""

    DEFAULT_CLASSES = "screen-title"


# ---------------------------------------------------------------- data screens


def describe_error(exc: BaseException) -> BaseException:
    """Keep domain and store errors (their messages are written for users); hide anything else.

    Unexpected exceptions may carry personal data in their text, so only their type is kept.
    """
    if isinstance(exc, (DomainError, StoreError, UnexpectedError)):
        return exc
    return UnexpectedError(
        f"An unexpected error ({type(exc).__name__}). Nothing was changed by it. "
        "Run `navigator doctor`, and tell your admin if it happens again."
    )


class UnexpectedError(Exception):
    pass


def warm_up(ctx, *, freeze_gc: bool = False) -> None:
    """Import and set up, in a background thread after the first frame, what the next screens need
    (the ORM, the Journey screen), so the first Caseload or Journey does not wait for it. Best effort.

    ``freeze_gc`` (a process running only the app): then move everything loaded so far (modules, the
    ORM's mappings, Textual's CSS: some 200,000 objects, all living as long as the app) out of the
    cyclic collector's sight, so a full collection no longer pauses a screen for a tenth of a second.
    """
    try:
        from sqlalchemy.orm import configure_mappers

        import navigator.services.casework.journeys
        import navigator.services.setup.reference
        import navigator.tui.screens.caseload
        import navigator.tui.screens.journey  # noqa: F401

        configure_mappers()
        ctx.store.engine  # noqa: B018 - made on first use
        ctx.store.write_engine  # noqa: B018
    except Exception:
        pass
    if freeze_gc:
        gc.freeze()


if TYPE_CHECKING:
    from textual import getters

    from navigator.tui.app import NavigatorApp


class DataScreen(Screen):
    """A screen showing store data.

    Service calls run in thread workers (``call_service``); their results come back as
    ``Loaded``/``Failed`` messages handled on the UI thread by ``loaded_<key>``/``failed_<key>``.
    The screen reloads (``reload``) when mounted, on ``DataChanged``, and when it is shown
    again after data changed while it was hidden.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._seen_generation: int | None = None  # None until mounted

    if TYPE_CHECKING:
        app = getters.app(NavigatorApp)  # the type checker's view: screens run inside the navigator's app

    @property
    def ctx(self):
        return self.app.ctx

    # -- lifecycle
    def on_mount(self) -> None:
        self._seen_generation = getattr(self.app, "data_generation", 0)
        self.reload()

    def on_screen_resume(self) -> None:
        generation = getattr(self.app, "data_generation", 0)
        if self._seen_generation is not None and generation != self._seen_generation:
            self._seen_generation = generation
            self.reload()

    def on_data_changed(self, message: DataChanged) -> None:
        message.stop()
        self._seen_generation = getattr(self.app, "data_generation", 0)
        self.data_changed(message.journey_id)

    def reload(self) -> None:
        """Fetch this screen's data (subclasses)."""

    def data_changed(self, journey_id: int | None) -> None:
        self.reload()

    # -- workers
    def call_service(
        self, key: str, fn: Callable[..., Any], *args, seq: int = 0, group: str | None = None, **kwargs
    ) -> None:
        """Run ``fn(*args, **kwargs)`` in a thread; the result arrives as ``loaded_<key>(result, seq)``."""
        self.run_worker(
            partial(self._service_call, key, fn, args, kwargs, seq),
            thread=True,
            group=group or key,
            exclusive=True,
            exit_on_error=False,
            name=key,
        )

    def _service_call(self, key: str, fn: Callable[..., Any], args: tuple, kwargs: dict, seq: int) -> None:
        worker = get_current_worker()
        try:
            result = displayable(fn(*args, **kwargs))  # what a person typed reaches the screen visible, never raw
        except BaseException as exc:
            if not worker.is_cancelled:
                self.post_message(Failed(key, describe_error(exc), seq))
            return
        if not worker.is_cancelled:
            self.post_message(Loaded(key, result, seq))

    def on_loaded(self, message: Loaded) -> None:
        handler = getattr(self, f"loaded_{message.key}", None)
        if handler is not None:
            handler(message.result, message.seq)
        shown = getattr(self.app, "first_data_shown", None)
        if shown is not None and not getattr(self.app, "background_started", True):
            self.call_after_refresh(shown)  # the first data is on screen: the app may do what waited

    def on_failed(self, message: Failed) -> None:
        handler = getattr(self, f"failed_{message.key}", None)
        if handler is None or handler(message.error, message.seq) is not True:
            self.app.show_error(message.error)
