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
"""

from __future__ import annotations

from collections.abc import Iterator

from textual.binding import Binding
from textual.dom import DOMNode
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["FooterKey", "QuietFatalErrors", "fixed_compact", "mark_bindings_ready", "own_bindings"]


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
