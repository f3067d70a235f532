"""What the TUI tests share: making the app, letting it settle, pressing and typing keys, driving forms,
reading the screen.

Import from here (``from .helpers import make_app, press, settle, screen_text``) rather than copying.

Two ways of waiting, kept apart because the tests written on each rely on it:

- ``settle`` / ``press``: the desk's screens. Pause, then wait for the workers a key started and what
  they posted back (a worker's result may start another worker: a save's dismissal starts a reload).
- ``settle_quiet`` / ``press_quiet`` / ``keys``: forms and type-ahead. Wait on the app's own state
  (message queues, workers, callbacks) rather than on the clock, without forcing a repaint; ``keys``
  sends key events as the terminal driver does, without ``Pilot.press``'s idle wait after each.
"""

from __future__ import annotations

import asyncio
from datetime import date
from time import monotonic

from textual import events
from textual.app import App, ComposeResult
from textual.keys import _character_to_key
from textual.widgets import DataTable, Input, Select, SelectionList, Static, TextArea
from textual.worker import WorkerState

from conftest import new_referral
from navigator.services.casework import journeys as J
from navigator.services.casework import queries
from navigator.tui.app import NavigatorApp
from navigator.tui.compat import SelectOverlay
from navigator.tui.forms.base import hold_key
from navigator.tui.forms.fields import FormField
from navigator.tui.screens.journey import JourneyScreen

SIZE = (80, 24)
TYPEAHEAD_SIZE = (100, 40)  # the type-ahead tests' terminal
YESTERDAY = date(2026, 11, 24)  # the day before tests/conftest.py's TODAY (a Wednesday)


# ---------------------------------------------------------------- the desk


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


def keys_then_settle(*keys: str):
    """A snapshot test's ``run_before``: settle, then press each key and settle after it."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        await press(pilot, *keys)
        await until_painted(pilot)

    return run_before


async def until_painted(pilot, tries: int = 40) -> None:
    """Wait until two paints 50 ms apart show the same text: a table sizes its columns to new rows on a
    later refresh, which a loaded machine may not have reached when the workers are done."""
    before = screen_text(pilot.app)
    for _ in range(tries):
        await pilot.pause(0.05)
        now = screen_text(pilot.app)
        if now == before:
            return
        before = now


def screen_text(app) -> str:
    """The text of the screen as painted now (every line, the footer's and any toast's included)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def shown(pilot) -> str:
    """The text on the screen now (after a repaint)."""
    await pilot.pause()
    return screen_text(pilot.app)


def table_column(app, table_id: str, column: str) -> list[str]:
    """The plain text of one column of a table on the current screen."""
    table = app.screen.query_one(table_id, DataTable)
    return [str(getattr(v, "plain", v)).strip() for v in table.get_column(column)]


def cell_of(app, table_id: str, row_key: str, column_key: str) -> str:
    value = app.screen.query_one(table_id, DataTable).get_cell(row_key, column_key)
    return str(getattr(value, "plain", value)).strip()


# ---------------------------------------------------------------- waiting on the app's state


async def until(condition, what: str = "the app to settle", timeout: float = 60.0, *, every: float = 0.005) -> None:
    """Poll a condition (bounded): a loaded machine only makes this slower, never wrong."""
    deadline = monotonic() + timeout
    while not condition():
        if monotonic() > deadline:  # pragma: no cover - a hang, reported rather than waited on forever
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)


async def wait_until(pilot, condition, what: str = "the app to settle", timeout: float = 60.0) -> None:
    """Wait until ``condition()`` holds. A loaded machine only makes this slower, never wrong."""
    await until(condition, what, timeout, every=0.002)


def _busy(node) -> bool:
    queue = node._message_queue
    return getattr(queue, "_unfinished_tasks", queue.qsize()) > 0 or bool(node._next_callbacks)


def quiet(app) -> bool:
    """No worker pending or running, and every message queued on the screen handled."""
    if any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers):
        return False
    if app.screen._callbacks:  # call_after_refresh callbacks still to run
        return False
    return not any(_busy(node) for node in (app, *app.screen.walk_children(with_self=True)))


async def settle_quiet(pilot) -> None:
    """Let workers finish and every message (and what it sets off) be handled.

    Waits on the app's own state (queues, workers) rather than on the clock or CPU idleness,
    and does not force a repaint: what tests read (values, texts, display flags) needs none.
    """
    for _ in range(2):  # quiet twice over: a handled message may have started more work
        await asyncio.sleep(0)
        await wait_until(pilot, lambda: quiet(pilot.app))


async def press_quiet(pilot, *names: str) -> None:
    """Pilot.press, one key at a time, each handled (and what it set off) before the next."""
    for name in names:
        await pilot.press(name)
        await settle_quiet(pilot)


async def press_and_load(pilot, key: str) -> None:
    """A key that may open or close a screen, then let it load."""
    await pilot.press(key)
    await settle_quiet(pilot)
    await settle_quiet(pilot)


def key_event(name: str) -> events.Key:
    """The key event the terminal driver posts for a key name or a typed character."""
    printable = len(name) == 1 and name.isprintable()
    key = _character_to_key(name) if printable and not name.isalnum() else name
    return events.Key(key, name if printable else None)


async def keys(pilot, *names: str, one_by_one: bool = False) -> None:
    """Send key events as the terminal driver does, without Pilot.press's idle wait after each one.

    Printable characters go to the focused widget in one batch (typing into one field). A key
    bound to an action (end, backspace, down, enter...) runs that action later, so it is sent
    alone and waited for; so is every key when ``one_by_one`` (keys that may move the focus).
    """
    batch = 0
    for name in names:
        printable = len(name) == 1 and name.isprintable()
        pilot.app.post_message(key_event(name))
        batch += 1
        if not printable or one_by_one:
            await settle_quiet(pilot)
            batch = 0
    if batch:
        await settle_quiet(pilot)


def burst(app, *names: str) -> None:
    """Queue every key on the app at once, as the terminal driver does (nothing handled in between)."""
    for name in names:
        app.post_message(key_event(name))


# ---------------------------------------------------------------- forms


class FormHost(App):
    """A bare app that pushes one form and keeps what it dismissed with (holding keys typed while the
    form opens, as the desk does)."""

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded and hold_key(self, event):
            return
        await super().on_event(event)

    def __init__(self, form) -> None:
        super().__init__()
        self.form = form
        self.results: list = []

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(self.form, self.results.append)


def field(pilot, name: str) -> FormField:
    return pilot.app.screen.query_one(f"#field-{name}", FormField)


def error_of(pilot, name: str) -> str:
    f = field(pilot, name)
    err = f.query_one(".field-error", Static)
    return str(err.content) if err.display else ""


def hint_of(pilot, name: str) -> str:
    f = field(pilot, name)
    hint = f.query_one(".field-hint", Static)
    return str(hint.content) if hint.display else ""


def preview_of(pilot, name: str) -> str:
    return str(field(pilot, name).query_one(".date-preview", Static).content)


def message_of(pilot) -> str:
    """The form's message line, if shown."""
    msg = pilot.app.screen.query_one("#form-message", Static)
    return str(msg.content) if msg.display else ""


def form_message(app) -> str:
    """The form's message line, if the screen has one (whether shown or not)."""
    found = app.screen.query("#form-message")
    return str(found.first().content) if found else ""


async def focus(pilot, selector: str, *, pause: bool = True):
    """Move the focus to a widget (as tab would), at once."""
    widget = pilot.app.screen.query_one(selector)
    pilot.app.screen.set_focus(widget)
    if pause:
        await settle_quiet(pilot)
    return widget


async def type_into(pilot, name: str, text: str) -> None:
    """Focus a text field, select what is there, and type over it (real key events)."""
    widget = pilot.app.screen.query_one(f"#f-{name}")
    if isinstance(widget, Input):
        if pilot.app.focused is widget:
            await keys(pilot, "ctrl+shift+a")
        else:
            await focus(pilot, f"#f-{name}", pause=False)  # focusing an input selects all it holds
        if not text and widget.value:
            await keys(pilot, "backspace")
        await keys(pilot, *text)
        assert widget.value == text, (name, widget.value, text)
        return
    elif isinstance(widget, TextArea):
        await focus(pilot, f"#f-{name}")
        if widget.text:
            await keys(pilot, "f7", "backspace")
    else:  # pragma: no cover
        raise AssertionError(f"{name} is not a text field")
    await keys(pilot, *text)


async def choose(pilot, name: str, label: str) -> None:
    """Open a picker with enter, move to the option with the arrow keys, choose it with enter."""
    sel = await focus(pilot, f"#f-{name}", pause=False)
    assert isinstance(sel, Select)
    await keys(pilot, "enter")
    await wait_until(pilot, lambda: sel.expanded, f"the {name} picker to open")
    overlay = sel.query_one(SelectOverlay)
    labels = [str(overlay.get_option_at_index(i).prompt) for i in range(overlay.option_count)]
    assert label in labels, f"no option {label!r} in {name}: {labels}"
    target = labels.index(label)
    if overlay.highlighted is None:
        await keys(pilot, "down")
    while overlay.highlighted != target:
        await keys(pilot, "down" if (overlay.highlighted or 0) < target else "up")
    await keys(pilot, "enter")
    await wait_until(pilot, lambda: not sel.expanded and sel.value is not Select.NULL, f"{label!r} chosen")
    await settle_quiet(pilot)


async def tick(pilot, selector: str) -> None:
    await focus(pilot, selector, pause=False)
    await keys(pilot, "space")


async def tick_option(pilot, name: str, label: str) -> None:
    """In a multi-choice list, move to an option with the arrow keys and tick it with space."""
    sl = await focus(pilot, f"#f-{name}")
    assert isinstance(sl, SelectionList)
    if sl.highlighted is None:
        await keys(pilot, "down")
    labels = [str(sl.get_option_at_index(i).prompt) for i in range(sl.option_count)]
    moves = labels.index(label) - (sl.highlighted or 0)
    await keys(pilot, *(["down"] * moves if moves >= 0 else ["up"] * -moves), "space")


async def type_swemwbs(pilot, name: str, digits: str) -> None:
    """Type the answers into statement 1: each digit moves on to the next statement."""
    await focus(pilot, f"#f-{name}-1")
    await keys(pilot, *digits, one_by_one=True)


async def save(pilot) -> None:
    """ctrl+s, and wait for the save to end (the form closes, or says why it did not)."""
    form = pilot.app.screen
    await keys(pilot, "ctrl+s")
    await wait_until(pilot, lambda: pilot.app.screen is not form or not form.saving, "the save to end")
    await settle_quiet(pilot)


# ---------------------------------------------------------------- journeys and the type-ahead tests


async def on_journey(pilot, journey_id: int) -> JourneyScreen:
    """Open a journey on the desk and wait for its screen."""
    app = pilot.app
    app.open_journey(journey_id)
    await until(lambda: isinstance(app.screen, JourneyScreen) and app.screen.journey_id == journey_id, "the journey")
    await settle_quiet(pilot)
    return app.screen


def accepted_id(ctx, **kw) -> int:
    """A new referral, contacted on 3 November and accepted on the 4th: its journey id."""
    jid = new_referral(ctx, **kw).journey_id
    J.log_contact(ctx, jid, date(2026, 11, 3), "phone", "spoke")
    J.decide(ctx, jid, "accepted", date(2026, 11, 4))
    return jid


def detail(ctx, journey_id: int):
    """The journey as its screen reads it (without auditing the view)."""
    return queries.journey_detail(ctx, journey_id, audit_view=False)


def contacts(ctx, jid: int) -> list[tuple[date, str]]:
    """The journey's contacts on its timeline: (date, text)."""
    return [(e.on, e.text) for e in detail(ctx, jid).timeline if e.kind == "contact"]


# The whole referral form, typed after n: Zed Quillfeather, born 1 February 1990, in Sevenoaks, received
# the working day before, a self-referral.
REFERRAL_KEYS = (
    *"Zed",
    "tab",
    *"Quillfeather",
    "tab",
    *"01/02/1990",
    "tab",  # NHS number
    "tab",  # locality: open, search, choose
    "enter",
    *"Sevenoaks",
    "enter",
    *["tab"] * 8,  # postcode, phone, address, email, preferred contact, IMD decile, consent, received
    *"-1",
    "tab",  # source
    "enter",
    *"Self",
    "enter",
)


def assert_referral_saved(ctx, received: date = YESTERDAY) -> None:
    """REFERRAL_KEYS reached the store: the one journey on the caseload is Zed's, as typed."""
    rows = queries.caseload(ctx).rows
    assert len(rows) == 1, rows
    d = detail(ctx, rows[0].journey_id)
    assert d.client.name == "Zed Quillfeather"
    assert d.client.date_of_birth == date(1990, 2, 1)
    assert d.locality == "Sevenoaks"
    assert d.received_date == received
    assert d.source_code == "self"
