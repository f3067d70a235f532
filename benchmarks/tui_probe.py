"""A child process of benchmarks/run.py: one TUI measurement, printed as a JSON line.

--probe bare     a minimal Textual app (one Static): launch to first frame painted
--probe startup  `navigator` itself (the CLI path): launch to Today painted with its data
--probe interact pilot: Caseload filter keystrokes and opening journeys; peak RSS

The screens are instrumented here, by wrapping their ``loaded_*`` handlers in this
process only: the product carries no benchmark hooks.

The timed keys are sent to the app's driver directly (``send_key``), as a terminal would send
them: ``Pilot.press`` also waits for the process to go idle (``wait_for_idle``), which would add
the test harness's own sleeps to what is measured. A timed interval ends when the screen has
handled the result and refreshed (``call_after_refresh``).
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


async def interact(db: str, user: str, today: date, reps: int) -> None:
    from navigator.services.context import Ctx
    from navigator.store.engine import open_store
    from navigator.tui.app import NavigatorApp
    from navigator.tui.screens.caseload import CaseloadScreen
    from navigator.tui.screens.journey import JourneyScreen
    from navigator.tui.screens.today import TodayScreen

    events: dict[str, asyncio.Event] = {k: asyncio.Event() for k in ("today", "page", "detail")}

    def wrap(cls, name: str, key: str):
        original = getattr(cls, name)

        def handler(self, result, seq):
            original(self, result, seq)
            if getattr(result, "offset", 0) == 0:
                self.app.call_after_refresh(events[key].set)

        setattr(cls, name, handler)

    wrap(TodayScreen, "loaded_today", "today")
    wrap(CaseloadScreen, "loaded_page", "page")
    wrap(JourneyScreen, "loaded_detail", "detail")

    store = open_store(f"sqlite:///{db}")
    ctx = Ctx(store, username=user, today_fn=lambda: today)
    try:
        app = NavigatorApp(ctx, freeze_gc=True)  # as run_app makes it: the app alone in its process
    except TypeError:  # an older navigator (measuring "before")
        app = NavigatorApp(ctx)

    async def wait(key: str, timeout: float = 30.0) -> None:
        await asyncio.wait_for(events[key].wait(), timeout)
        events[key].clear()

    keystrokes: list[float] = []
    opens: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        await wait("today")
        await pilot.press("l")
        await wait("page")
        screen = app.screen
        rows = list(screen.rows)
        # filter terms: fragments of surnames in this caseload, typed a key at a time, then erased
        words = []
        for r in rows[: max(3, reps)]:
            last = r.client_name.split()[-1].lower()
            if len(last) >= 3 and last[:3] not in words:
                words.append(last[:4])
        await pilot.press("slash")
        for word in words[:reps]:
            for key in [*word, *(["backspace"] * len(word))]:
                events["page"].clear()
                await pilot.pause()
                t0 = time.perf_counter()
                send_key(app, key)
                await wait("page")
                keystrokes.append(time.perf_counter() - t0)
        await pilot.press("enter")  # to the table
        for _i in range(reps if rows else 0):
            events["detail"].clear()
            await pilot.pause()
            t0 = time.perf_counter()
            send_key(app, "enter")
            await wait("detail")
            opens.append(time.perf_counter() - t0)
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
    keystrokes.sort()
    k95 = keystrokes[min(len(keystrokes) - 1, round(0.95 * (len(keystrokes) - 1)))] if keystrokes else None
    emit(
        {
            "filter_keystrokes": len(keystrokes),
            "filter_keystroke_median_s": statistics.median(keystrokes) if keystrokes else None,
            "filter_keystroke_p95_s": k95,
            "open_journey_s": statistics.median(opens) if opens else None,
            "open_journey_max_s": max(opens) if opens else None,
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--today", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--probe", choices=("bare", "startup", "interact"), required=True)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    import navigator.services.context as _context  # the CLI acts as the OS account: the probe stands in for a.user

    _context.os_username = lambda: a.user
    if a.probe == "bare":
        bare()
    elif a.probe == "startup":
        startup(a.db)
    else:
        asyncio.run(interact(a.db, a.user, date.fromisoformat(a.today), a.reps))


if __name__ == "__main__":
    main()
