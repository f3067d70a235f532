"""Every use of Textual's private API, in one place.

Textual changes its internals between releases. Each workaround here names what it relies on, and
``tests/tui/test_compat.py`` checks each of those names still exists with the expected shape, so an
upgrade that breaks one fails there, loudly, instead of misbehaving somewhere on a screen.

What is here and why:

- ``FooterKey`` (``textual.widgets._footer``) and ``fixed_compact``: the footer's keys are built once,
  with the footer's ``compact`` set as a plain value instead of a data binding (``_reactive_connect``),
  which would restyle every key twice per rebuild (``NavFooter``).
- ``mark_bindings_ready``: a footer that skips the stock ``bindings_changed`` still has to flag
  ``_bindings_ready`` or it composes nothing.
- ``own_bindings``: the (key, Binding) pairs a node declares (``_bindings``), for Help and the
  command palette; ``active_bindings`` would add the focused widgets' and the app's.
- ``QuietFatalErrors``: an unhandled exception ends the app with a short message instead of a
  traceback, which may hold personal data (``_fatal_error``, ``_exception``, ``_exit_renderables``,
  ``_close_messages_no_wait``).
- ``propagation_stopped``: whether a key was stopped on its way up (``_stop_propagation``), so the app
  knows a key typed earlier is still travelling; Textual has ``stop()`` but no public reader.
- ``restart_blink``: an input's cursor shown again at once (``Input._restart_blink``) when a form's input
  runs its editing keys itself, as Input does for the keys it handles (``FieldInput``).
- ``SelectCurrent``, ``SelectOverlay`` (``textual.widgets._select``), ``TypeToSearchOverlay`` and
  ``SelectWithOverlay``: a drop-down whose list is our own class, so that its type-to-search can be
  driven from the form's key dispatch (``_search_query``, ``_search_reset_timer``, ``_type_to_search``,
  ``_search_reset_delay``) and decides what matches (``_find_search_match``), and what Select keeps
  private about its options (``_options``, ``_allow_blank``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.message import Message
from textual.widgets import Footer, Input, Select
from textual.widgets._footer import FooterKey
from textual.widgets._select import SelectCurrent, SelectOverlay

__all__ = [
    "FooterKey",
    "QuietFatalErrors",
    "SelectCurrent",
    "SelectOverlay",
    "SelectWithOverlay",
    "TypeToSearchOverlay",
    "fixed_compact",
    "mark_bindings_ready",
    "own_bindings",
    "propagation_stopped",
    "restart_blink",
]


def fixed_compact(key: FooterKey, compact: bool) -> None:
    """Give a freshly composed footer key ``compact`` as a value, dropping its data binding to the footer.

    The stock footer binds each key's ``compact`` to its own (``data_bind``), which restyles the key when
    it mounts and again when the binding first fires. Our footer's compact never changes.
    """
    if getattr(key, "_reactive_connect", None):
        key.set_reactive(FooterKey.compact, compact)
        key.set_class(compact, "-compact", update=False)
        key._reactive_connect = None


def mark_bindings_ready(footer: Footer) -> None:
    """What the stock ``Footer.bindings_changed`` does first: without it ``compose`` yields nothing."""
    footer._bindings_ready = True


def own_bindings(node: DOMNode) -> Iterator[tuple[str, Binding]]:
    """The (key, Binding) pairs of ``node``'s own BINDINGS (its classes' merged), not its children's."""
    yield from node._bindings


class QuietFatalErrors:
    """Mixin for the App: an unhandled exception exits with ``fatal_error_message`` (if it returns one)
    printed after the app closes, instead of Textual's traceback with locals."""

    def fatal_error_message(self, error_name: str) -> str | None:
        """The line to print; None keeps Textual's traceback (debugging)."""
        return None

    def _fatal_error(self) -> None:
        exception = getattr(self, "_exception", None)
        message = self.fatal_error_message(type(exception).__name__ if exception is not None else "error")
        if message is None:
            return super()._fatal_error()  # type: ignore[misc]
        self.bell()  # type: ignore[attr-defined]
        self._exit_renderables.append(message)  # type: ignore[attr-defined]
        self._close_messages_no_wait()  # type: ignore[attr-defined]


def propagation_stopped(message: Message) -> bool:
    """Has ``message.stop()`` been called on it (``_stop_propagation``)?

    The app's key dispatch notes the keys it lets travel up from the focused widget and runs no binding
    of its own until they have arrived or been stopped on the way; Textual has no public reader for that.
    """
    return bool(message._stop_propagation)


def restart_blink(input: Input) -> None:
    """Show ``input``'s cursor now and start its blink cycle again (``Input._restart_blink``), as Input
    does for each key it handles: for the editing keys a form's input runs ahead of Input's handler."""
    input._restart_blink()


class TypeToSearchOverlay(SelectOverlay):
    """A Select's drop-down list (``SelectOverlay``) whose type-to-search can be driven from outside and
    whose matching is decided by ``search_match``.

    ``search_now`` does what ``SelectOverlay._on_key`` does with a printable key (restart the pause timer,
    add the character to the query, highlight the match) for a key the form's dispatch takes before it
    reaches the list. ``SEARCH_RESET_S`` is the pause that starts a new search (``_search_reset_delay``,
    read when the list mounts).
    """

    SEARCH_RESET_S: ClassVar[float] = 0.7

    def __init__(self, type_to_search: bool = True) -> None:
        super().__init__(type_to_search)
        self._search_reset_delay = self.SEARCH_RESET_S

    def search_now(self, character: str) -> None:
        """Add ``character`` to the search and highlight the option it finds (nothing when it finds none)."""
        if not self._type_to_search:
            return
        self._search_reset_timer.reset()
        self._search_query += character
        index = self._find_search_match(self._search_query)
        if index is not None:
            self.select(index)

    def search_match(self, query: str) -> int | None:
        """The index of the option ``query`` finds, or None. Textual's own: the earliest substring match."""
        return super()._find_search_match(query)

    def _find_search_match(self, query: str) -> int | None:
        return self.search_match(query)


class SelectWithOverlay(Select):
    """A Select composed with ``OVERLAY`` (a ``TypeToSearchOverlay``) as its drop-down list, instead of the
    stock ``SelectOverlay``: ``Select.compose`` as Textual has it (``SelectCurrent``, then the list with
    the Select's ``_type_to_search``, its ``compact`` bound to the Select's).

    Also reads what Select keeps private: ``allows_blank`` (``_allow_blank``) and ``listed_options``
    (``_options``: the (prompt, value) pairs in the list's order, the blank first when allowed).
    """

    OVERLAY: ClassVar[type[TypeToSearchOverlay]] = TypeToSearchOverlay

    def compose(self) -> ComposeResult:
        yield SelectCurrent(self.prompt)
        yield self.OVERLAY(type_to_search=self._type_to_search).data_bind(compact=Select.compact)

    @property
    def allows_blank(self) -> bool:
        """Is the first option the blank one (the prompt, ``Select.NULL``)?"""
        return self._allow_blank

    @property
    def listed_options(self) -> list[tuple[Any, Any]]:
        """(prompt, value) of each option, in the list's order (the blank first when allowed)."""
        return list(self._options)
