"""How the CLI writes: Rich consoles that are safe for user text and for pipes, and JSON.

- User text is data: tables hold ``rich.text.Text`` (never markup), and every character that
  could drive a terminal (C0/C1 control characters such as ESC, DEL, and the bidi embedding,
  override and isolate controls) is shown as a visible escape (``\\x1b``, ``\\u202e``) instead of
  being sent to the terminal. This happens once, here, for everything the consoles print.
- When the output is not a terminal (a pipe, a file), nothing is styled (no ANSI) and nothing
  wraps: lines are as long as their content.
- ``--json`` prints one JSON document on stdout (UTF-8, the same escapes for control characters).
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date, datetime
from typing import Any

from rich.console import Console, ConsoleDimensions
from rich.segment import Segment
from rich.text import Text

#: the width of a console that is not a terminal: nothing wraps
NO_WRAP_WIDTH = 1_000_000

# C0 controls except tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: str) -> str:
    """``value`` with every terminal-driving character shown as an escape (``\\x1b``, ``\\u202e``)."""
    return _UNSAFE.sub(_visible, value)


class SafeConsole(Console):
    """A Rich console that never sends a control character from the printed text to the terminal,
    and never wraps when it is not writing to a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self._width is None and not self.is_terminal:
            return ConsoleDimensions(NO_WRAP_WIDTH, size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        vars(Console)["size"].fset(self, new_size)  # Console's own property (super() cannot set one)

    def _render_buffer(self, buffer) -> str:
        return super()._render_buffer(
            Segment(visible(text), style, control)
            if not control and _UNSAFE.search(text)
            else Segment(text, style, control)
            for text, style, control in buffer
        )


def make_console(*, stderr: bool) -> Console:
    return SafeConsole(stderr=stderr, highlight=False, soft_wrap=False)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)  # exactly as computed; a float could change it
    raise TypeError(f"not JSON: {type(value).__name__}")


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def dumps(data: Any) -> str:
    """The JSON text of ``data``: UTF-8, two-space indent, keys in the order given; control
    characters (which JSON already escapes below 0x20), DEL, C1 and bidi controls as ``\\uXXXX``."""
    import json  # here, not at start-up: only --json needs it

    text = json.dumps(data, ensure_ascii=False, indent=2, default=_default)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_json(data: Any) -> None:
    """Write ``data`` as one JSON document on stdout."""
    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()


def add_json_flag(parser, *, nested: bool = False) -> None:
    """``nested``: the parser is a sub-command of one that has --json too (either place works)."""
    parser.add_argument(
        "--json",
        action="store_true",
        help="print JSON on stdout instead of a table (the shape is documented)",
        **({"default": argparse.SUPPRESS} if nested else {}),
    )


def cell(value: object, style: str = "") -> Text:
    """User text for a table cell or a line: literal (never markup), terminal controls visible."""
    return Text(visible("" if value is None else str(value)), style=style)
