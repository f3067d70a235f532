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
from textual.message import Message
from textual.message_pump import MessagePump
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widgets import Footer, Input, Select, Static

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


def test_a_stopped_message_says_so_in_stop_propagation():
    assert "_stop_propagation" in events.Key.__slots__ or "_stop_propagation" in Message.__slots__
    key = events.Key("a", "a")
    assert compat.propagation_stopped(key) is False
    key.stop()
    assert compat.propagation_stopped(key) is True
    key.stop(False)
    assert compat.propagation_stopped(key) is False


async def test_restart_blink_shows_the_cursor_and_restarts_its_timer():
    assert not inspect.signature(Input._restart_blink).parameters.keys() - {"self"}

    class Probe(App):
        def compose(self):
            yield Input("text")

    async with Probe().run_test() as pilot:
        inp = pilot.app.query_one(Input)
        inp.focus()
        await pilot.pause()
        assert inp._blink_timer is not None, "Input no longer keeps its blink in _blink_timer"
        inp._cursor_visible = False
        compat.restart_blink(inp)
        assert inp._cursor_visible is True


def test_select_current_and_overlay_are_where_they_were():
    from textual.widgets._select import SelectCurrent, SelectOverlay

    assert compat.SelectCurrent is SelectCurrent and compat.SelectOverlay is SelectOverlay
    assert list(inspect.signature(SelectCurrent.__init__).parameters) == ["self", "placeholder"]
    assert list(inspect.signature(SelectOverlay.__init__).parameters) == ["self", "type_to_search"]
    assert "_search_reset_delay" in inspect.getsource(SelectOverlay.on_mount), "the pause is no longer read on mount"
    on_key = inspect.getsource(SelectOverlay._on_key)
    for name in ("_type_to_search", "_search_reset_timer", "_search_query", "_find_search_match"):
        assert name in on_key, f"SelectOverlay's type-to-search no longer uses {name}"


class _Overlay(compat.TypeToSearchOverlay):
    SEARCH_RESET_S = 0.3
    queries: list[str] = []

    def search_match(self, query: str) -> int | None:
        type(self).queries.append(query)
        return super().search_match(query)


class _Select(compat.SelectWithOverlay):
    OVERLAY = _Overlay


def _select_app(**kwargs):
    class Probe(App):
        def compose(self):
            yield Select([("Apple", 1), ("Banana", 2), ("Cherry", 3)], id="stock", **kwargs)
            yield _Select([("Apple", 1), ("Banana", 2), ("Cherry", 3)], id="ours", **kwargs)

    return Probe()


async def test_select_with_overlay_composes_like_the_stock_select_with_our_list():
    async with _select_app().run_test() as pilot:
        stock, ours = pilot.app.query_one("#stock", Select), pilot.app.query_one("#ours", Select)
        assert [type(c) for c in stock.children] == [compat.SelectCurrent, compat.SelectOverlay]
        assert [type(c) for c in ours.children] == [compat.SelectCurrent, _Overlay]
        overlay = ours.query_one(_Overlay)
        assert overlay._search_reset_timer._interval == 0.3  # SEARCH_RESET_S reached the timer
        stock.compact = ours.compact = True
        await pilot.pause()
        assert overlay.compact is True and stock.query_one(compat.SelectOverlay).compact is True


@pytest.mark.parametrize("allow_blank", [True, False])
async def test_select_with_overlay_reads_its_options_and_blank(allow_blank):
    async with _select_app(allow_blank=allow_blank).run_test() as pilot:
        ours = pilot.app.query_one("#ours", compat.SelectWithOverlay)
        assert ours.allows_blank is allow_blank
        values = [v for _p, v in ours.listed_options]
        assert values == ([Select.NULL] if allow_blank else []) + [1, 2, 3]
        overlay = ours.query_one(_Overlay)
        assert overlay.option_count == len(values)  # the list's index is an index into listed_options


async def test_type_to_search_goes_through_search_match_both_ways():
    _Overlay.queries.clear()
    async with _select_app(allow_blank=False).run_test() as pilot:
        ours = pilot.app.query_one("#ours", compat.SelectWithOverlay)
        ours.focus()
        await pilot.press("enter")  # Select's own opening
        await pilot.pause()
        overlay = ours.query_one(_Overlay)
        assert pilot.app.focused is overlay
        await pilot.press("c")  # Textual's own type-to-search calls our match
        await pilot.pause()
        assert _Overlay.queries == ["c"] and overlay.highlighted == 2
        overlay.search_now("h")  # and ours, from outside, goes on with the same query
        assert _Overlay.queries == ["c", "ch"] and overlay.highlighted == 2
        overlay.search_now("x")  # no match: the highlight stays
        assert _Overlay.queries[-1] == "chx" and overlay.highlighted == 2
