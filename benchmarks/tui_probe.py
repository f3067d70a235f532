"""A child process of benchmarks/run.py: one TUI measurement, printed as a JSON line.

--probe bare     a minimal Textual app (one Static): launch to first frame painted
--probe startup  `navigator` itself (the CLI path): launch to Today painted with its data
--probe interact pilot: Caseload filter keystrokes and opening journeys; peak RSS
--probe floors   the same two measurements on bare Textual apps: a one-Static screen pushed by enter
                 (open_floor_s), and keys typed into a bare app's only widget, a focused Input
                 (filter_floor_p95_s)
--probe forms    pilot: the key that opens a form -> its first field focused and ready (form_ready_s), and
                 whether its layout changes after its first frame (form_relayouts)

The screens are instrumented here, by wrapping their ``loaded_*`` handlers in this
process only: the product carries no benchmark hooks.

The timed keys are sent to the app's driver directly (``send_key``), as a terminal would send
them: ``Pilot.press`` also waits for the process to go idle (``wait_for_idle``), which would add
the test harness's own sleeps to what is measured. A timed interval (interact, floors, forms)
ends at the first frame that shows the result: ``Frames`` wraps the app's ``_display``, which
every screen refresh hands its rendered update to (headless, the update is rendered, then not
written), and checks the interval's condition after each one. So the app's figures and their
floors stop at the same event, measured the same way in the same run:

- open journey: ``enter`` on a Caseload row -> the first frame of the Journey screen after its
  ``loaded_detail`` ran (the screen filled); floor: ``enter`` in a bare app -> the first frame of
  the pushed one-Static screen;
- filter keystroke: a key in the Caseload filter -> the first frame after ``loaded_page`` took
  the answer for the filter's current text; floor: a key in the bare Input -> the first frame
  after its value changed;
- form ready: the key that opens a form (``n`` on Today; ``c``, ``m``, ``o``, ``x`` on a Journey)
  -> the first frame in which the form is the active screen, loaded (``ready``, no longer
  holding keys) and its first shown field's control has the focus. A character is then typed
  and must land in that field (``form_typed_ok``) when the control is an Input.

``form_relayouts``: from a form's first frame until it has settled (its first field ready, then
0.3 s with the app idle), each frame records the form's layout, every widget's region on the
screen (``visible_widgets`` of its compositor; the Footer's keys and notifications left out), and
a frame whose layout differs from the previous frame's counts once: a field moving, a line
appearing ("Loading…" going away), a drop-down changing size when its options arrive. Layouts
made before the first frame are not counted: nobody saw them. What is typed afterwards is
outside the count (an error line under a field is the answer to a key, not a jump).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the address space, which exec replaces;
    getrusage's ru_maxrss survives exec on Linux, so in a child of the benchmark it would report the
    parent's peak (the import and export steps) rather than the app's."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def emit(data: dict) -> None:
    data["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(data), flush=True)


def bare() -> None:
    from textual.app import App
    from textual.widgets import Static

    class Bare(App):
        painted = 0.0

        def compose(self):
            yield Static("navigator")

        def on_mount(self) -> None:
            self.call_after_refresh(self.done)

        def done(self) -> None:
            self.painted = time.time()
            self.exit()

    app = Bare()
    app.run(headless=True)
    emit({"painted_at": app.painted})


def startup(db: str) -> None:
    from textual.app import App

    from navigator import cli
    from navigator.tui import app as tui_app
    from navigator.tui.screens.today import TodayScreen

    state = {"painted": 0.0}
    original = TodayScreen.loaded_today

    def loaded_today(self, view, seq):
        original(self, view, seq)

        def painted():
            state["painted"] = time.time()
            self.app.exit()

        self.app.call_after_refresh(painted)

    TodayScreen.loaded_today = loaded_today
    tui_app.NavigatorApp.run = lambda self, **kw: App.run(self, headless=True)
    code = cli.main(["--db", db])
    if code:
        raise SystemExit(code)
    emit({"painted_at": state["painted"]})


def send_key(app, key: str) -> None:
    """One key event to the app, as the driver would deliver it (what Pilot.press does, minus its waits)."""
    import unicodedata

    from textual import events
    from textual.keys import (
        REPLACED_KEYS,
        _character_to_key,
        _get_unicode_name_from_key,
    )

    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        char = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
    except KeyError:
        char = key if len(key) == 1 else None
    event = events.Key(key, char)
    event.set_sender(app)
    app._driver.send_message(event)


class Frames:
    """Every frame the app hands to its driver: ``until(condition)`` waits for the first frame after which
    ``condition()`` holds and returns when it was rendered (see the module's docstring)."""

    def __init__(self, app) -> None:
        self.app = app
        self.waiting: list[tuple[object, asyncio.Future]] = []
        self.watchers: list = []  # called with (screen) after every frame
        original = app._display

        def display(screen, renderable) -> None:
            original(screen, renderable)
            if renderable is None or getattr(app, "_batch_count", 0):
                return
            now = time.perf_counter()
            for watcher in self.watchers:
                watcher(screen)
            for entry in list(self.waiting):
                condition, future = entry
                if not future.done() and condition():
                    future.set_result(now)
                    self.waiting.remove(entry)

        app._display = display

    async def until(self, condition, timeout: float = 30.0) -> float:
        """Called straight after a key is sent (the app has not run since), or to wait for a state."""
        if condition():
            return time.perf_counter()
        future = asyncio.get_running_loop().create_future()
        entry = (condition, future)
        self.waiting.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if entry in self.waiting:
                self.waiting.remove(entry)


def filter_words(rows, n: int) -> list[str]:
    """Fragments of surnames in this caseload, typed a key at a time, then erased."""
    words: list[str] = []
    for r in rows[: max(3, n) * 3]:
        last = r.client_name.split()[-1].lower()
        if len(last) >= 3 and last[:4] not in words:
            words.append(last[:4])
    return words[: max(1, n)]


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = 0.95 * (len(ordered) - 1)
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def make_app(db: str, user: str, today: date):
    from navigator.services.context import Ctx
    from navigator.store.engine import open_store
    from navigator.tui.app import NavigatorApp

    store = open_store(f"sqlite:///{db}")
    ctx = Ctx(store, username=user, today_fn=lambda: today)
    try:
        app = NavigatorApp(ctx, freeze_gc=True)  # as run_app makes it: the app alone in its process
    except TypeError:  # an older navigator (measuring "before")
        app = NavigatorApp(ctx)
    return store, app


def wrap_loaded(cls, name: str, flags: dict, key: str) -> None:
    """After ``cls.name`` has taken a result (the first page of it, the current request's), flags[key] is set."""
    original = getattr(cls, name)

    def handler(self, result, seq, *args, **kwargs):
        value = original(self, result, seq, *args, **kwargs)
        if getattr(result, "offset", 0) == 0 and getattr(self, "_seq", seq) == seq:
            flags[key] = True
        return value

    setattr(cls, name, handler)


async def interact(db: str, user: str, today: date, reps: int, opens_n: int) -> None:
    from navigator.tui.screens.caseload import CaseloadScreen
    from navigator.tui.screens.journey import JourneyScreen
    from navigator.tui.screens.today import TodayScreen

    flags = {"today": False, "page": False, "detail": False}
    wrap_loaded(TodayScreen, "loaded_today", flags, "today")
    wrap_loaded(CaseloadScreen, "loaded_page", flags, "page")
    wrap_loaded(JourneyScreen, "loaded_detail", flags, "detail")
    store, app = make_app(db, user, today)

    keystrokes: list[float] = []
    opens: list[float] = []
    frames = Frames(app)
    async with app.run_test(size=(160, 48)) as pilot:
        await frames.until(lambda: flags["today"])
        flags["page"] = False
        await pilot.press("l")
        await frames.until(lambda: flags["page"])
        rows = list(app.screen.rows)
        await pilot.press("slash")
        for word in filter_words(rows, reps):
            for key in [*word, *(["backspace"] * len(word))]:
                await pilot.pause()
                flags["page"] = False
                t0 = time.perf_counter()
                send_key(app, key)
                keystrokes.append(await frames.until(lambda: flags["page"]) - t0)
        await pilot.press("enter")  # to the table
        for _i in range(opens_n if rows else 0):
            await pilot.pause()
            flags["detail"] = False
            t0 = time.perf_counter()
            send_key(app, "enter")
            opens.append(await frames.until(lambda: flags["detail"] and isinstance(app.screen, JourneyScreen)) - t0)
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("down")
    store.dispose()
    if os.environ.get("PROBE_DEBUG"):
        print(
            "keystrokes",
            [round(k * 1000) for k in keystrokes],
            "opens",
            [round(o * 1000) for o in opens],
            file=sys.stderr,
        )
    emit(
        {
            "filter_keystrokes": len(keystrokes),
            "filter_keystroke_median_s": statistics.median(keystrokes) if keystrokes else None,
            "filter_keystroke_p95_s": p95(keystrokes),
            "opens": len(opens),
            "open_journey_s": statistics.median(opens) if opens else None,
            "open_journey_p95_s": p95(opens),
            "open_journey_max_s": max(opens) if opens else None,
        }
    )


async def floors(db: str, user: str, today: date, reps: int, opens_n: int) -> None:
    """The floors, in a bare app run the same way (run_test at 160x48, keys by send_key, stop at the frame)."""
    from textual.app import App
    from textual.binding import Binding
    from textual.screen import Screen
    from textual.widgets import Input, Static

    words = filter_words_from_store(db, user, reps)

    class Pushed(Screen):
        BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

        def compose(self):
            yield Static("pushed screen")

    class Bare(App):
        BINDINGS = [Binding("enter", "push", "Push")]

        def __init__(self, kind: str) -> None:
            super().__init__()
            self.kind = kind

        def compose(self):
            yield Input(id="field") if self.kind == "input" else Static("bare app")

        def on_mount(self) -> None:
            if self.kind == "input":
                self.query_one(Input).focus()

        def action_push(self) -> None:
            self.push_screen(Pushed())

    opens: list[float] = []
    app = Bare("hello")
    async with app.run_test(size=(160, 48)) as pilot:
        frames = Frames(app)
        await pilot.pause()
        for _ in range(opens_n):
            await pilot.pause()
            t0 = time.perf_counter()
            send_key(app, "enter")
            opens.append(await frames.until(lambda: isinstance(app.screen, Pushed)) - t0)
            await pilot.press("escape")
            await pilot.pause()
    keys_t: list[float] = []
    app = Bare("input")
    async with app.run_test(size=(160, 48)) as pilot:
        frames = Frames(app)
        field = app.query_one(Input)
        await pilot.pause()
        for word in words:
            for key in [*word, *(["backspace"] * len(word))]:
                await pilot.pause()
                before = field.value
                t0 = time.perf_counter()
                send_key(app, key)
                keys_t.append(await frames.until(lambda before=before: field.value != before) - t0)
    emit(
        {
            "open_floor_s": statistics.median(opens),
            "open_floor_p95_s": p95(opens),
            "filter_floor_keystrokes": len(keys_t),
            "filter_floor_median_s": statistics.median(keys_t),
            "filter_floor_p95_s": p95(keys_t),
        }
    )


def filter_words_from_store(db: str, user: str, n: int) -> list[str]:
    """The words interact types (the first page of this navigator's caseload, in its default order)."""
    from navigator.services.casework import queries
    from navigator.services.context import Ctx
    from navigator.store.engine import open_store

    store = open_store(f"sqlite:///{db}")
    try:
        page = queries.caseload(Ctx(store, username=user), navigator=user, limit=100)
        return filter_words(list(page.rows), n)
    finally:
        store.dispose()


# the forms a navigator opens most: (name, where, key, the journey screen's action that must be offered)
FORMS = (
    ("referral", "today", "n", None),
    ("contact", "journey", "c", "contact"),
    ("measure", "journey", "m", "measure"),
    ("onward", "journey", "o", "onward"),
    ("close", "journey", "x", "close"),
)
# after Today's first list the app warms up in a thread (imports the other screens and the forms): the
# forms are measured once that is done, as in benchmarks/pty_probe.py
WARM_UP = 3.0
FORM_CHAR = "7"  # a first name, a date: every measured first field that is an Input takes a digit


def layout_of(screen) -> frozenset:
    """Each widget's region on the screen (Footer keys and notifications left out)."""
    from textual.widgets import Footer

    out = []
    for widget, (region, _clip) in screen._compositor.visible_widgets.items():
        if any(isinstance(a, Footer) or type(a).__name__ in ("ToastRack", "Toast") for a in widget.ancestors_with_self):
            continue
        out.append((id(widget), tuple(region)))
    return frozenset(out)


async def forms(db: str, user: str, today: date, reps: int) -> None:
    from textual.widgets import Input

    from navigator.tui.forms.base import DiscardDialog, FormScreen
    from navigator.tui.forms.fields import FormField
    from navigator.tui.screens.journey import JourneyScreen
    from navigator.tui.screens.today import TodayScreen

    try:
        from navigator.tui.forms.base import shown
    except ImportError:  # pragma: no cover

        def shown(widget):
            return widget.display

    flags = {"today": False, "page": False, "detail": False}
    wrap_loaded(TodayScreen, "loaded_today", flags, "today")
    wrap_loaded(JourneyScreen, "loaded_detail", flags, "detail")
    from navigator.tui.screens.caseload import CaseloadScreen

    wrap_loaded(CaseloadScreen, "loaded_page", flags, "page")
    store, app = make_app(db, user, today)
    times: dict[str, list[float]] = {}
    relayouts: dict[str, int] = {}
    first_frames: list[float] = []  # key -> the form's first frame (shown, maybe still loading)
    typed_ok = typed_tries = 0
    skipped: list[str] = []
    track = {"on": False, "last": None, "changes": 0, "first_frame": None}

    def watch(screen) -> None:
        if not track["on"] or not isinstance(screen, FormScreen) or screen is not app.screen:
            return
        layout = layout_of(screen)
        if track["last"] is None:
            track["first_frame"] = time.perf_counter()
        elif layout != track["last"]:
            track["changes"] += 1
            if os.environ.get("PROBE_DEBUG"):
                names = {id(w): f"{type(w).__name__}#{w.id}" for w in screen._compositor.visible_widgets}
                moved = sorted({names.get(i, "?") for i, _ in layout ^ track["last"]})
                print("relayout:", moved[:12], file=sys.stderr)
                old = dict(track["last"])
                for i, region in sorted(layout - track["last"])[:4]:
                    print("   ", names.get(i, "?"), old.get(i), "->", region, file=sys.stderr)
        track["last"] = layout

    def first_control(screen):
        for f in screen.query(FormField):
            if shown(f) and f.control.focusable:
                return f.control
        return None

    def ready(base) -> bool:
        screen = app.screen
        if not isinstance(screen, FormScreen) or screen is base:
            return False
        if not getattr(screen, "ready", True) or getattr(screen, "holding_keys", False):
            return False
        control = first_control(screen)
        return control is not None and app.focused is control

    async def close_form(pilot, base) -> None:
        for _ in range(5):
            if app.screen is base:
                return
            if isinstance(app.screen, DiscardDialog):
                await pilot.press("d")
            else:
                await pilot.press("escape")
            await pilot.pause()

    async def measure(pilot, frames, name: str, key: str) -> None:
        nonlocal typed_ok, typed_tries
        base = app.screen
        await pilot.pause()
        track.update(on=True, last=None, changes=0, first_frame=None)
        t0 = time.perf_counter()
        send_key(app, key)
        times.setdefault(name, []).append(await frames.until(lambda: ready(base), 15) - t0)
        first_frames.append(track["first_frame"] - t0)
        await pilot.pause()
        await asyncio.sleep(0.3)  # settled: what it loaded is shown, nothing moves any more
        await pilot.pause()
        track["on"] = False
        relayouts[name] = relayouts.get(name, 0) + track["changes"]
        focused = app.focused
        if isinstance(focused, Input):
            typed_tries += 1
            send_key(app, FORM_CHAR)
            try:
                await frames.until(lambda: FORM_CHAR in focused.value, 5)
                typed_ok += 1
            except TimeoutError:
                pass
        await close_form(pilot, base)

    frames = Frames(app)
    frames.watchers.append(watch)
    async with app.run_test(size=(160, 48)) as pilot:
        await frames.until(lambda: flags["today"])
        await pilot.pause(WARM_UP)
        for name, where, key, _action in FORMS:
            if where == "today":
                for _ in range(reps):
                    await measure(pilot, frames, name, key)
        # the journey forms: on the first journeys of the caseload that offer each
        flags["page"] = False
        await pilot.press("l")
        await frames.until(lambda: flags["page"])
        pending = {name: reps for name, where, *_ in FORMS if where == "journey"}
        for _row in range(30):
            if not any(pending.values()):
                break
            if not isinstance(app.screen, JourneyScreen):
                flags["detail"] = False
                await pilot.press("enter")
                await frames.until(lambda: flags["detail"] and isinstance(app.screen, JourneyScreen))
            journey = app.screen
            for name, where, key, action in FORMS:
                if where != "journey" or not pending.get(name):
                    continue
                if journey.check_action(action, ()) is not True:
                    continue
                while pending[name]:
                    await measure(pilot, frames, name, key)
                    pending[name] -= 1
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("down")
        skipped = [name for name, left in pending.items() if left]
    store.dispose()
    if os.environ.get("PROBE_DEBUG"):
        print({k: [round(t * 1000) for t in v] for k, v in times.items()}, file=sys.stderr)
    every = [t for values in times.values() for t in values]
    emit(
        {
            "form_ready_s": statistics.median(every) if every else None,
            "form_ready_max_s": max(every) if every else None,
            "form_ready_by_form": {name: statistics.median(v) for name, v in times.items()},
            "form_first_frame_s": statistics.median(first_frames) if first_frames else None,
            "form_relayouts": sum(relayouts.values()),
            "form_relayouts_by_form": relayouts,
            "form_opens": len(every),
            "form_typed_ok": f"{typed_ok}/{typed_tries}",
            "form_not_offered": skipped,
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--today", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--probe", choices=("bare", "startup", "interact", "floors", "forms"), required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--opens", type=int, default=None, help="screens opened (default: --reps)")
    a = ap.parse_args()
    import navigator.services.context as _context  # the CLI acts as the OS account: the probe stands in for a.user

    _context.os_username = lambda: a.user
    if a.probe == "bare":
        bare()
    elif a.probe == "startup":
        startup(a.db)
    else:
        probe = {"interact": interact, "floors": floors, "forms": forms}[a.probe]
        args = (a.db, a.user, date.fromisoformat(a.today), a.reps)
        asyncio.run(probe(*args) if a.probe == "forms" else probe(*args, a.opens or a.reps))


if __name__ == "__main__":
    main()
