"""What every admin service shares: the admin check and text cleaning.

Every change in ``services/setup`` is admin-only (checked in the service, not only hidden in the TUI), is
one transaction, and leaves an audit event with what it was before and after. Each public function wraps
an ``..._in(session, ctx, writer, ...)`` function that does the work inside the caller's transaction; the
configuration import, the tracker import and the demo generator call those, so that a file goes through
exactly the same rules (and leaves the same audit events) as a person at the keyboard.
"""

from __future__ import annotations

from sqlmodel import Session

from navigator.domain.text import check_text
from navigator.services import access
from navigator.services.context import Ctx


def admin_actor(s: Session, ctx: Ctx):
    actor = ctx.actor(s)
    access.require_admin(actor)
    return actor


def checked_text(value, field: str, *, max_len: int = 200, required: bool = False, multiline: bool = False):
    """The one check of typed text (``domain.text.check_text``): escape sequences and control characters
    are refused with the reason, never cut out silently."""
    return check_text(value, field, max_len=max_len, required=required, multiline=multiline)


def optional_text(value, current, field: str, *, max_len: int = 2000, multiline: bool = True):
    """None keeps the current value; an empty string clears it."""
    if value is None:
        return current
    return checked_text(value, field, max_len=max_len, multiline=multiline)
