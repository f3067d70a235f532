"""Team leads' reads: the Team view (load per navigator, per locality, per lot and for the service),
and a navigator's open journeys to reassign.

The other team reads live beside it and are importable from here too: what is waiting or stuck
(``team_stuck``), trends per month (``team_trends``), partners' figures (``team_partners``); who may
read them and which journeys they see is in ``team_scope``.

Every figure comes from a few grouped queries (no query per row), so the screens
stay quick at tens of thousands of journeys; working days are counted with the
service calendar (``ctx.calendar()``) on the few dates the queries return.

Definitions used here (the Team screen shows them in its legend):

- open: state received, accepted or started; active: accepted or started;
- awaiting first contact: received, with no successful contact yet;
- waiting to start: accepted, not started; the longest wait is the working days
  from the earliest such acceptance to ``on``;
- overdue follow-ups: open follow-ups (tasks) due before ``on``;
- due for no-response closure: open ``no_response_close`` follow-ups due on or before ``on``;
- completions this month: journeys ended with reason completed, end date in the month of ``on``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session, col

from navigator.domain.dates import month_key
from navigator.domain.errors import NotFound
from navigator.domain.workdays import WorkingCalendar
from navigator.services.casework.team_partners import PartnerStats, PartnersView, partners
from navigator.services.casework.team_scope import (
    ACCEPTED,
    ACTIVE_STATES,
    COMPLETED,
    OPEN_STATES,
    RECEIVED,
    cutoff,
    in_scope,
    lead,
    month_span,
    scope_localities,
)
from navigator.services.casework.team_stuck import (
    DEFAULT_STUCK_PARTNER_DAYS,
    STUCK_LIMIT,
    ReviewRow,
    StuckOnwardRow,
    StuckView,
    WaitingRow,
    stuck_partner_days,
    waiting_and_stuck,
)
from navigator.services.casework.team_trends import TrendMonth, TrendsView, trends
from navigator.services.context import Ctx, as_date
from navigator.store.models import (
    Journey,
    Locality,
    Lot,
    Task,
    User,
    UserLot,
)

__all__ = [
    "DEFAULT_STUCK_PARTNER_DAYS",
    "STUCK_LIMIT",
    "Load",
    "NavigatorLoad",
    "PartnerStats",
    "PartnersView",
    "PlaceLoad",
    "ReviewRow",
    "StuckOnwardRow",
    "StuckView",
    "TeamView",
    "TrendMonth",
    "TrendsView",
    "WaitingRow",
    "cutoff",
    "open_journey_ids",
    "partners",
    "stuck_partner_days",
    "team",
    "trends",
    "waiting_and_stuck",
]


# ---------------------------------------------------------------- Team


def _places(s: Session, localities: list[int] | None) -> list[tuple[int, str, int, str, bool]]:
    """(locality id, name, lot id, lot code, active) in report order."""
    q = (
        select(
            col(Locality.id),
            col(Locality.name),
            col(Lot.id),
            col(Lot.code),
            and_(col(Locality.active), col(Lot.active)),
        )
        .join(Lot, col(Lot.id) == col(Locality.lot_id))
        .order_by(col(Lot.id), col(Locality.id))
    )
    if localities is not None:
        q = q.where(col(Locality.id).in_(localities or [-1]))
    return [(a, b, c, d, bool(e)) for a, b, c, d, e in s.execute(q).all()]


@dataclass(frozen=True)
class Load:
    """The caseload figures of a navigator, a locality, a lot or the service."""

    open: int = 0
    active: int = 0
    awaiting_contact: int = 0
    waiting_to_start: int = 0
    longest_wait: int | None = None  # working days since the earliest acceptance still waiting
    overdue: int = 0
    due_no_response: int = 0
    completions: int = 0


@dataclass(frozen=True)
class NavigatorLoad:
    user_id: int
    username: str
    name: str
    role: str
    active: bool  # False: a deactivated account that still holds open journeys (reassign them)
    lots: tuple[str, ...]
    load: Load


@dataclass(frozen=True)
class PlaceLoad:
    level: str  # 'locality', 'lot' or 'service'
    lot: str
    locality: str  # 'ALL' for a lot or the service
    load: Load


@dataclass(frozen=True)
class TeamView:
    on: date
    month: str  # the month of `on` (completions)
    navigators: tuple[NavigatorLoad, ...]
    localities: tuple[PlaceLoad, ...]
    lots: tuple[PlaceLoad, ...]
    total: PlaceLoad
    scope: tuple[str, ...]  # the lots this view is limited to (empty: every lot)


class _Acc:
    __slots__ = ("active", "awaiting", "completions", "earliest", "no_resp", "open", "overdue", "waiting")

    def __init__(self) -> None:
        self.open = self.active = self.awaiting = self.waiting = 0
        self.overdue = self.no_resp = self.completions = 0
        self.earliest: date | None = None

    def add_journeys(self, open_, active, awaiting, waiting, earliest, completions) -> None:
        self.open += int(open_ or 0)
        self.active += int(active or 0)
        self.awaiting += int(awaiting or 0)
        self.waiting += int(waiting or 0)
        self.completions += int(completions or 0)
        if earliest is not None and (self.earliest is None or earliest < self.earliest):
            self.earliest = earliest

    def add_tasks(self, overdue, no_resp) -> None:
        self.overdue += int(overdue or 0)
        self.no_resp += int(no_resp or 0)

    def merge(self, other: _Acc) -> None:
        self.add_journeys(other.open, other.active, other.awaiting, other.waiting, other.earliest, other.completions)
        self.add_tasks(other.overdue, other.no_resp)

    @property
    def any(self) -> bool:
        return bool(self.open or self.completions or self.overdue or self.no_resp)

    def load(self, cal: WorkingCalendar, on: date) -> Load:
        wait = cal.count(self.earliest, on) if self.earliest is not None and self.waiting else None
        return Load(
            self.open, self.active, self.awaiting, self.waiting, wait, self.overdue, self.no_resp, self.completions
        )


def team(ctx: Ctx, on: date | None = None) -> TeamView:
    """One row per navigator, and totals per locality, per lot and for the service.

    Rows: every active navigator who works in the lead's lots (even with nothing open, so
    journeys can be given to them), and every user (any role, deactivated ones flagged)
    who holds open journeys, or completed one this month, in those lots.
    """
    on = on or ctx.today()
    first, last = month_span(on)
    with ctx.read() as s:
        actor = lead(s, ctx)
        cal = ctx.calendar(s)
        scope = scope_localities(s, actor)
        is_open = col(Journey.state).in_(OPEN_STATES)
        completed = and_(col(Journey.end_reason) == COMPLETED, col(Journey.end_date).between(first, last))

        def flag(cond):
            return func.sum(case((cond, 1), else_=0))

        jrows = s.execute(
            select(
                col(Journey.navigator_id),
                col(Journey.locality_id),
                flag(is_open),
                flag(col(Journey.state).in_(ACTIVE_STATES)),
                flag(and_(col(Journey.state) == RECEIVED, col(Journey.first_contact_date).is_(None))),
                flag(col(Journey.state) == ACCEPTED),
                func.min(case((col(Journey.state) == ACCEPTED, col(Journey.decision_date)), else_=None)),
                flag(completed),
            )
            .where(or_(is_open, completed), in_scope(Journey.locality_id, scope))
            .group_by(col(Journey.navigator_id), col(Journey.locality_id))
        ).all()
        trows = s.execute(
            select(
                col(Journey.navigator_id),
                col(Journey.locality_id),
                flag(col(Task.due_date) < on),
                flag(col(Task.kind) == "no_response_close"),
            )
            .join(Journey, col(Journey.id) == col(Task.journey_id))
            .where(col(Task.status) == "open", col(Task.due_date) <= on, is_open, in_scope(Journey.locality_id, scope))
            .group_by(col(Journey.navigator_id), col(Journey.locality_id))
        ).all()
        places = _places(s, scope)
        users = {u.id: u for u in s.execute(select(User)).scalars()}
        user_lots: dict[int, set[int]] = {}
        for uid, lot_id in s.execute(select(col(UserLot.user_id), col(UserLot.lot_id))).all():
            user_lots.setdefault(uid, set()).add(lot_id)
        lot_codes = {lid: code for lid, code in s.execute(select(col(Lot.id), col(Lot.code))).all()}

    by_nav: dict[int, _Acc] = {}
    by_loc: dict[int, _Acc] = {}
    for nav, loc, open_, active, awaiting, waiting, earliest, completions in jrows:
        args = (open_, active, awaiting, waiting, as_date(earliest), completions)
        by_nav.setdefault(nav, _Acc()).add_journeys(*args)
        by_loc.setdefault(loc, _Acc()).add_journeys(*args)
    for nav, loc, overdue, no_resp in trows:
        by_nav.setdefault(nav, _Acc()).add_tasks(overdue, no_resp)
        by_loc.setdefault(loc, _Acc()).add_tasks(overdue, no_resp)

    scope_lots = {lot_id for _l, _n, lot_id, _c, _a in places}
    wanted = {uid for uid, acc in by_nav.items() if acc.any}
    for uid, u in users.items():
        if u.active and u.role == "navigator":
            lots = user_lots.get(uid, set())
            if scope is None or lots & scope_lots:
                wanted.add(uid)
    navs = []
    for uid in wanted:
        u = users[uid]
        navs.append(
            NavigatorLoad(
                uid,
                u.username,
                u.name,
                u.role,
                bool(u.active),
                tuple(sorted(lot_codes[x] for x in user_lots.get(uid, ()))),
                by_nav.get(uid, _Acc()).load(cal, on),
            )
        )
    navs.sort(key=lambda n: (not n.active, n.name.lower(), n.username))

    loc_rows, lot_rows = [], []
    lot_acc: dict[int, _Acc] = {}
    lot_names: dict[int, str] = {}
    total = _Acc()
    for loc_id, name, lot_id, code, active in places:
        acc = by_loc.get(loc_id, _Acc())
        lot_names[lot_id] = code
        lot_acc.setdefault(lot_id, _Acc()).merge(acc)
        total.merge(acc)
        if active or acc.any:
            loc_rows.append(PlaceLoad("locality", code, name, acc.load(cal, on)))
    for lot_id, acc in lot_acc.items():
        lot_rows.append(PlaceLoad("lot", lot_names[lot_id], "ALL", acc.load(cal, on)))
    return TeamView(
        on,
        month_key(on),
        tuple(navs),
        tuple(loc_rows),
        tuple(lot_rows),
        PlaceLoad("service", "ALL", "ALL", total.load(cal, on)),
        tuple(lot_names[x] for x in lot_acc) if scope is not None else (),
    )


# ---------------------------------------------------------------- reassigning a navigator's journeys


def open_journey_ids(ctx: Ctx, username: str) -> tuple[int, ...]:
    """The open journeys a navigator holds in the lead's lots (e.g. a leaver's), oldest first, to reassign."""
    with ctx.read() as s:
        actor = lead(s, ctx)
        user = s.execute(select(col(User.id)).where(col(User.username) == username)).scalar_one_or_none()
        if user is None:
            raise NotFound(f"There is no user '{username}'.")
        scope = scope_localities(s, actor)
        return tuple(
            s.execute(
                select(col(Journey.id))
                .where(
                    Journey.navigator_id == user,
                    col(Journey.state).in_(OPEN_STATES),
                    in_scope(Journey.locality_id, scope),
                )
                .order_by(col(Journey.received_date), col(Journey.id))
            ).scalars()
        )
