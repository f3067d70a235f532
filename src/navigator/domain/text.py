"""Free text a person typed: the one check every path uses.

Names, notes, reasons, referrers, partner and programme names... reach the
store only through :func:`check_text`. It refuses (never silently strips)
anything that could act on a terminal or hide what the text says:

* ESC and so every ANSI escape sequence (``\\x1b[31m``, OSC titles, links);
* the other C0 controls (``\\x00``-``\\x1f``), DEL and the C1 controls
  (``\\x80``-``\\x9f``, where ``\\x9b`` is a one-byte CSI) -- except a new
  line and a tab in multi-line text (notes), where a Windows line ending
  ``\\r\\n`` (or a lone ``\\r``) counts as a new line;
* bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069), which
  make text display in a different order from the one stored, lone
  surrogates, and line/paragraph separators in one-line text.

It trims surrounding white space (and, in one-line text, runs of spaces),
enforces a length, and returns ``None`` for empty text. A refusal is a
:class:`~navigator.domain.errors.DomainError` whose ``field`` is the field
given, with a message that says what was found (by code point, never the
text itself) and what to do, so forms can show it next to the field as the
person types::

    from navigator.domain.text import check_text

    note = check_text(raw, "note", max_len=2000, multiline=True)
    name = check_text(raw, "first_name", max_len=100, required=True)
"""

from __future__ import annotations

import re
import unicodedata

from navigator.domain.errors import DomainError

__all__ = ["check_text", "text_problem"]

_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_SEPARATORS = frozenset("\u2028\u2029\x85")
_SPACES = re.compile(r" {2,}")
# Any character text_problem looks at (Cc: C0, DEL, C1; Cs: surrogates; bidi; separators): a quick
# search finds none in almost all text, so only suspicious text is looked at character by character.
_SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def _describe(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    if ch == "\x1b":
        return f"an escape character ({code}), as in terminal colour codes"
    if ch in ("\n", "\r"):
        return f"a line break ({code})"
    if ch == "\t":
        return f"a tab ({code})"
    if ch in _BIDI:
        return f"a text-direction control ({code})"
    return f"a control character ({code})"


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """What is wrong with ``value`` as typed text, or ``None`` if nothing.

    For validate-as-you-type: the same words :func:`check_text` raises, without
    the length and required checks.
    """
    if _SUSPECT.search(value) is None:
        return None
    for ch in value:
        if ch in ("\n", "\t", "\r") and multiline:
            continue
        cat = unicodedata.category(ch)
        if cat == "Cc" or cat == "Cs" or ch in _BIDI or (ch in _LINE_SEPARATORS and not multiline):
            if ch in ("\n", "\r"):
                return "Keep this to one line: remove the line break."
            return (
                f"Contains {_describe(ch)}, which cannot be stored: "
                "retype the text rather than pasting it, or remove the hidden character."
            )
    return None


def check_text(
    value: object, field: str, *, max_len: int = 200, required: bool = False, multiline: bool = False
) -> str | None:
    """Check and trim free text typed for ``field``; ``None`` if empty.

    ``multiline`` allows new lines and tabs (notes). Raises ``DomainError``
    (``field`` set) for control characters or escape sequences, for empty text
    when ``required``, and for text longer than ``max_len`` characters.
    """
    if value is None:
        if required:
            raise DomainError("Required.", field=field)
        return None
    text = str(value)
    problem = text_problem(text, multiline=multiline)
    if problem is not None:
        raise DomainError(problem, field=field)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x85", "\n")
        text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    else:
        text = _SPACES.sub(" ", text.strip())
    if not text:
        if required:
            raise DomainError("Required.", field=field)
        return None
    if len(text) > max_len:
        raise DomainError(f"Too long: at most {max_len} characters (this is {len(text)}).", field=field)
    return text
