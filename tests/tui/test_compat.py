"""Each use of Textual's private API (navigator.tui.compat, and the tests' screen reader) still finds what it
relies on. A failure here after upgrading Textual names the workaround to revisit; nothing else should break
silently."""

from __future__ import annotations

import inspect

import pytest
from textual import events
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.message_pump import MessagePump
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widgets import Footer, Static

from navigator.tui import compat
from navigator.tui.app import NavigatorApp
from navigator.tui.widgets import NavFooter

from .helpers import screen_text


def test_footer_key_is_where_it_was_with_a_compact_reactive():
    from textual.widgets._footer import FooterKey

    assert compat.FooterKey is FooterKey
    assert isinstance(FooterKey.compact, Reactive)


async def test_data_bind_still_records_its_bindings_in_reactive_connect():
    from textual._context import active_message_pump

    class Probe(App):
        def compose(self):
            yield Footer()

    async with Probe().run_test() as pilot:
        footer = pilot.app.query_one(Footer)
        token = active_message_pump.set(footer)  # as while the footer composes
        try:
            key = compat.FooterKey("q", "q", "Quit", "quit").data_bind(compact=Footer.compact)
        finally:
            active_message_pump.reset(token)
        assert key._reactive_connect, "data_bind no longer stores its bindings in _reactive_connect"
        compat.fixed_compact(key, True)
        assert key._reactive_connect is None
        assert key.compact is True and key.has_class("-compact")


def test_footer_composes_only_once_its_bindings_are_ready():
    assert isinstance(Footer.__dict__["_bindings_ready"], Reactive)
    source = inspect.getsource(Footer.compose)
    assert "_bindings_ready" in source, "Footer.compose no longer waits for _bindings_ready"
    footer = NavFooter()
    compat.mark_bindings_ready(footer)
    assert footer._bindings_ready is True


def test_own_bindings_are_key_binding_pairs_of_the_node():
    class Probe(Screen):
        BINDINGS = [Binding("x", "probe", "Probe"), Binding("y,z", "other", "Other")]

    pairs = list(compat.own_bindings(Probe()))
    assert all(isinstance(k, str) and isinstance(b, Binding) for k, b in pairs)
    assert {(k, b.action) for k, b in pairs} >= {("x", "probe"), ("y", "other"), ("z", "other")}
    assert hasattr(DOMNode, "_merge_bindings")  # what fills _bindings from the classes' BINDINGS


def test_fatal_error_machinery_is_still_there():
    assert callable(App.__dict__["_fatal_error"])
    assert not inspect.signature(App._fatal_error).parameters.keys() - {"self"}
    assert callable(MessagePump.__dict__["_close_messages_no_wait"])
    assert callable(App.__dict__["_print_error_renderables"])  # what the test of the message uses
    app = App()
    assert isinstance(app._exit_renderables, list)
    assert hasattr(app, "_exception")
    assert NavigatorApp._fatal_error is compat.QuietFatalErrors._fatal_error


async def test_an_unhandled_error_ends_the_app_with_a_short_line_not_a_traceback(monkeypatch):
    monkeypatch.delenv("NAVIGATOR_DEBUG", raising=False)

    class Boom(Static):
        def on_mount(self) -> None:
            raise RuntimeError("Ann Smith, 12 High Street")  # personal data in the message

    printed: list = []

    class Probe(compat.QuietFatalErrors, App):
        def fatal_error_message(self, error_name: str) -> str | None:
            return f"probe: {error_name}"

        def _print_error_renderables(self) -> None:  # what Textual prints once the app has closed
            printed.extend(self._exit_renderables)

        def compose(self):
            yield Boom()

    app = Probe()
    with pytest.raises(RuntimeError):  # run_test hands the app's exception back to the test
        async with app.run_test() as pilot:
            await pilot.pause()
    assert printed == ["probe: RuntimeError"]
    assert app.return_code == 1


def test_screen_resume_still_lets_a_screen_skip_its_restyle():
    """JourneyScreen's first resume handler sets refresh_styles=False; Screen's own handler reads it after."""
    assert events.ScreenResume().refresh_styles is True
    assert "refresh_styles" in inspect.getsource(Screen._on_screen_resume)


async def test_the_tests_screen_reader_still_reads_the_compositor():
    class Hello(App):
        def compose(self):
            yield Static("hello there")

    async with Hello().run_test(size=(30, 3)) as pilot:
        await pilot.pause()
        assert "hello there" in screen_text(pilot.app)
