"""What the app does in the background once the first screen shows its data (issue 16): the daily
backup is started first, then the warm-up; quitting never waits for either; a key typed while the
warm-up is importing the form framework is never handed to a module half imported."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path

from navigator.tui import app as tui_app
from navigator.tui import widgets

from .helpers import make_app, settle_quiet, until


def test_a_half_imported_form_framework_is_not_used(monkeypatch):
    half = types.ModuleType("navigator.tui.forms.base")  # what another thread's import has run so far
    monkeypatch.setitem(sys.modules, "navigator.tui.forms.base", half)
    assert tui_app.loaded_forms() is None
    half.IMPORTED = True
    assert tui_app.loaded_forms() is half


def test_the_form_framework_says_it_is_whole_on_its_last_line():
    import navigator.tui.forms.base as base

    assert base.IMPORTED is True
    last = [line for line in Path(base.__file__).read_text(encoding="utf-8").splitlines() if line.strip()][-1]
    assert last.startswith("IMPORTED = True")


async def test_the_backup_starts_before_the_warm_up_and_quitting_waits_for_neither(tui_ctx, monkeypatch):
    warming = threading.Event()
    release = threading.Event()
    calls: list[str] = []

    def slow_warm_up(ctx, *, freeze_gc: bool = False) -> None:
        calls.append("warm-up")
        warming.set()
        release.wait(30)

    monkeypatch.setattr(widgets, "warm_up", slow_warm_up)
    app = make_app(tui_ctx, after_start=lambda: calls.append("after_start") and None)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle_quiet(pilot)
            await until(warming.is_set, "the warm-up")
            assert calls == ["after_start", "warm-up"]
            thread = next(t for t in threading.enumerate() if t.name == "navigator-background")
            assert thread.daemon  # the interpreter does not wait for it at exit
            await pilot.press("q")
        assert thread.is_alive()  # the app has gone; the warm-up was still running
    finally:
        release.set()
