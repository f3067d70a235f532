"""What the team leads' reads share: who may ask, which journeys they see, and the small helpers.

Team leads and admins only (``lead``: ``access.require_team_lead``). A team lead sees the journeys of
their lots (``Actor.lot_ids``; a lead with no lots sees every lot, as ``access.in_my_lots`` says); an
admin sees everything (``scope_localities``, ``in_scope``). A journey belongs to its
``journey.locality_id`` (the client's locality when referred), as in the monthly return.

Also: the domain's state groups as plain values for SQL, the first and last day of a date's month
(``month_span``), the date n working days back (``cutoff``) and the joins from a journey to its client
and navigator (``with_people``), used by ``team``, ``team_stuck``,
``team_trends`` and ``team_partners``. (The month of a date and rounding are the domain's:
``dates.month_key``, ``rounding.round_half_away``.)
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, true
from sqlmodel import Session, col

from navigator.domain import lifecycle as L
from navigator.domain.dates import month_end, month_start
from navigator.domain.workdays import WorkingCalendar
from navigator.services import access
from navigator.services.context import Actor, Ctx
from navigator.store.models import Client, Journey, Locality, User

# State groups from the domain (as plain values, for SQL).
OPEN_STATES = tuple(sorted(s.value for s in L.OPEN_STATES))
ACTIVE_STATES = tuple(sorted(s.value for s in L.ACTIVE_STATES))
OPEN_ONWARD = tuple(sorted(s.value for s in L.OPEN_ONWARD))
RECEIVED, ACCEPTED, STARTED = L.State.RECEIVED.value, L.State.ACCEPTED.value, L.State.STARTED.value
COMPLETED = L.EndReason.COMPLETED.value
ONWARD_BEGUN = tuple(
    s.value for s in (L.OnwardStatus.STARTED, L.OnwardStatus.COMPLETED, L.OnwardStatus.WITHDREW)
)  # the person started the programme (a partner may skip reporting the start)


def month_span(d: date) -> tuple[date, date]:
    """The first and last day of the month of ``d``."""
    return month_start(d), month_end(d)


def lead(s: Session, ctx: Ctx) -> Actor:
    """The acting user, who must be a team lead or an admin."""
    actor = ctx.actor(s)
    access.require_team_lead(actor)
    return actor


def scope_localities(s: Session, actor: Actor) -> list[int] | None:
    """The locality ids a lead may see (None: every one)."""
    if actor.is_admin or not actor.lot_ids:
        return None
    return list(s.execute(select(col(Locality.id)).where(col(Locality.lot_id).in_(sorted(actor.lot_ids)))).scalars())


def in_scope(column, localities: list[int] | None):
    """A condition on a locality column: in ``localities`` (None: any)."""
    return true() if localities is None else column.in_(localities or [-1])


def with_people(q, via=None, *, locality: bool = False):
    """``q`` joined to each journey's client and navigator (and with ``locality``, its locality); ``via``:
    the journey-id column to join the journey on, when ``q`` is not over journeys."""
    if via is not None:
        q = q.join(Journey, col(Journey.id) == col(via))
    q = q.join(Client, col(Client.id) == col(Journey.client_id)).join(User, col(User.id) == col(Journey.navigator_id))
    return q.join(Locality, col(Locality.id) == col(Journey.locality_id)) if locality else q


def cutoff(cal: WorkingCalendar, on: date, n: int) -> date:
    """The latest date d with cal.count(d, on) >= n (so 'd <= cutoff' means 'n or more working days ago')."""
    if n <= 0:
        return on
    # n working days back is at most n weeks of weekends and a few holidays away.
    d = on - timedelta(days=n + 2 * (n // 5 + 1) + 14)
    while cal.count(d, on) < n:  # pragma: no cover - only with a very holiday-heavy calendar
        d -= timedelta(days=7)
    lo, hi = d, on  # count(lo, on) >= n; count(on, on) = 0 < n
    while (hi - lo).days > 1:
        mid = lo + timedelta(days=(hi - lo).days // 2)
        if cal.count(mid, on) >= n:
            lo = mid
        else:
            hi = mid
    return lo
