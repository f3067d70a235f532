"""Team leads' reads: load per navigator, what is waiting or stuck, trends, partners.

Team leads and admins only (``access.require_team_lead``). A team lead sees the
journeys of their lots (``Actor.lot_ids``; a lead with no lots sees every lot,
as ``access.in_my_lots`` says); an admin sees everything. A journey belongs to
its ``journey.locality_id`` (the client's locality when referred), as in the
monthly return.

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

import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select, true
from sqlmodel import Session, col

from navigator.domain import lifecycle as L
from navigator.domain.dates import add_months, month_end, month_start
from navigator.domain.errors import AccessDenied, DomainError, NotFound
from navigator.domain.workdays import WorkingCalendar
from navigator.services import access
from navigator.services.context import Actor, Ctx, as_date, as_day, get_setting, protocol
from navigator.store.models import (
    Client,
    Journey,
    Locality,
    Lot,
    OnwardReferral,
    Partner,
    Programme,
    Task,
    User,
    UserLot,
)

# State groups from the domain (as plain values, for SQL).
OPEN_STATES = tuple(sorted(s.value for s in L.OPEN_STATES))
ACTIVE_STATES = tuple(sorted(s.value for s in L.ACTIVE_STATES))
OPEN_ONWARD = tuple(sorted(s.value for s in L.OPEN_ONWARD))
RECEIVED, ACCEPTED, STARTED = L.State.RECEIVED.value, L.State.ACCEPTED.value, L.State.STARTED.value
COMPLETED = L.EndReason.COMPLETED.value
ONWARD_BEGUN = tuple(
    s.value for s in (L.OnwardStatus.STARTED, L.OnwardStatus.COMPLETED, L.OnwardStatus.WITHDREW)
)  # the person started the programme (a partner may skip reporting the start)
DEFAULT_STUCK_PARTNER_DAYS = 10
STUCK_LIMIT = 500  # rows per Waiting-and-stuck section (the totals count every one)


# ---------------------------------------------------------------- helpers


def _month_bounds(d: date) -> tuple[date, date]:
    return month_start(d), month_end(d)


def _month_key(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _lead(s: Session, ctx: Ctx) -> Actor:
    actor = ctx.actor(s)
    access.require_team_lead(actor)
    return actor


def _scope_localities(s: Session, actor: Actor) -> list[int] | None:
    """The locality ids a lead may see (None: every one)."""
    if actor.is_admin or not actor.lot_ids:
        return None
    return list(s.execute(select(col(Locality.id)).where(col(Locality.lot_id).in_(sorted(actor.lot_ids)))).scalars())


def _in_scope(column, localities: list[int] | None):
    return true() if localities is None else column.in_(localities or [-1])


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


# ---------------------------------------------------------------- Team


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
    first, last = _month_bounds(on)
    with ctx.read() as s:
        actor = _lead(s, ctx)
        cal = ctx.calendar(s)
        scope = _scope_localities(s, actor)
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
            .where(or_(is_open, completed), _in_scope(Journey.locality_id, scope))
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
            .where(col(Task.status) == "open", col(Task.due_date) <= on, is_open, _in_scope(Journey.locality_id, scope))
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
        _month_key(on),
        tuple(navs),
        tuple(loc_rows),
        tuple(lot_rows),
        PlaceLoad("service", "ALL", "ALL", total.load(cal, on)),
        tuple(lot_names[x] for x in lot_acc) if scope is not None else (),
    )


# ---------------------------------------------------------------- Waiting and stuck


@dataclass(frozen=True)
class WaitingRow:
    journey_id: int
    client_ref: str
    client_name: str
    navigator: str
    locality: str
    decision_date: date
    waited: int  # working days since acceptance


@dataclass(frozen=True)
class StuckOnwardRow:
    journey_id: int
    onward_id: int
    client_ref: str
    client_name: str
    navigator: str
    partner: str
    programme: str
    referral_date: date
    status: str
    last_update: date | None  # the partner's latest update (None: none yet)
    silent: int  # working days since the referral or the partner's latest update


@dataclass(frozen=True)
class ReviewRow:
    journey_id: int
    client_ref: str
    client_name: str
    navigator: str
    locality: str
    start_date: date
    last_review: date | None
    since: int  # working days since the last review (or the start)
    overdue_by: int  # working days past the review period


@dataclass(frozen=True)
class StuckView:
    on: date
    partner_days: int
    review_every: int
    waiting: tuple[WaitingRow, ...]
    waiting_total: int
    onward: tuple[StuckOnwardRow, ...]
    onward_total: int
    reviews: tuple[ReviewRow, ...]
    reviews_total: int


def stuck_partner_days(s: Session) -> int:
    value = get_setting(s, "stuck_partner_days", DEFAULT_STUCK_PARTNER_DAYS)
    try:
        n = int(value)
    except (TypeError, ValueError):
        return DEFAULT_STUCK_PARTNER_DAYS
    return n if 1 <= n <= 250 else DEFAULT_STUCK_PARTNER_DAYS


def waiting_and_stuck(
    ctx: Ctx, on: date | None = None, partner_days: int | None = None, limit: int = STUCK_LIMIT
) -> StuckView:
    """Journeys waiting longest to start; onward referrals with no partner update for
    ``partner_days`` working days (setting ``stuck_partner_days``, default 10); started plans
    with no review within their review period (the protocol's ``review_every`` working days
    since the last review, or the start). Longest first; each row names its journey."""
    on = on or ctx.today()
    if partner_days is not None and (not isinstance(partner_days, int) or not 1 <= partner_days <= 250):
        raise DomainError("Give the number of working days as a whole number from 1 to 250.", field="partner_days")
    limit = max(1, min(int(limit), 5000))
    with ctx.read() as s:
        actor = _lead(s, ctx)
        cal = ctx.calendar(s)
        scope = _scope_localities(s, actor)
        days = partner_days if partner_days is not None else stuck_partner_days(s)
        review_every = protocol(s).review_every
        name = (col(Client.first_name) + " " + col(Client.last_name)).label("client_name")
        where = [_in_scope(Journey.locality_id, scope)]

        # waiting to start
        cond = [Journey.state == ACCEPTED, *where]
        waiting_total = s.execute(select(func.count()).select_from(Journey).where(*cond)).scalar_one()
        wrows = s.execute(
            select(
                col(Journey.id),
                col(Client.client_ref),
                name,
                col(User.username),
                col(Locality.name),
                col(Journey.decision_date),
            )
            .join(Client, col(Client.id) == col(Journey.client_id))
            .join(User, col(User.id) == col(Journey.navigator_id))
            .join(Locality, col(Locality.id) == col(Journey.locality_id))
            .where(*cond)
            .order_by(col(Journey.decision_date), col(Journey.id))
            .limit(limit)
        ).all()

        # onward referrals with no partner update
        last_activity = func.coalesce(OnwardReferral.last_update_date, OnwardReferral.referral_date)
        ocond = [
            col(OnwardReferral.status).in_(OPEN_ONWARD),
            col(Journey.state).in_(OPEN_STATES),
            last_activity <= cutoff(cal, on, days),
            *where,
        ]
        onward_total = s.execute(
            select(func.count())
            .select_from(OnwardReferral)
            .join(Journey, col(Journey.id) == col(OnwardReferral.journey_id))
            .where(*ocond)
        ).scalar_one()
        orows = s.execute(
            select(
                col(OnwardReferral.journey_id),
                col(OnwardReferral.id),
                col(Client.client_ref),
                name,
                col(User.username),
                col(Partner.name),
                col(Programme.name),
                col(OnwardReferral.referral_date),
                col(OnwardReferral.status),
                col(OnwardReferral.last_update_date),
            )
            .join(Journey, col(Journey.id) == col(OnwardReferral.journey_id))
            .join(Client, col(Client.id) == col(Journey.client_id))
            .join(User, col(User.id) == col(Journey.navigator_id))
            .join(Programme, col(Programme.id) == col(OnwardReferral.programme_id))
            .join(Partner, col(Partner.id) == col(Programme.partner_id))
            .where(*ocond)
            .order_by(last_activity, col(OnwardReferral.id))
            .limit(limit)
        ).all()

        # plans with no review in their review period
        base = case(
            (
                and_(
                    col(Journey.last_review_date).is_not(None), col(Journey.last_review_date) > col(Journey.start_date)
                ),
                Journey.last_review_date,
            ),
            else_=Journey.start_date,
        )
        rcond = [
            Journey.state == STARTED,
            col(Journey.start_date).is_not(None),
            base <= cutoff(cal, on, review_every + 1),
            *where,
        ]
        reviews_total = s.execute(select(func.count()).select_from(Journey).where(*rcond)).scalar_one()
        rrows = s.execute(
            select(
                col(Journey.id),
                col(Client.client_ref),
                name,
                col(User.username),
                col(Locality.name),
                col(Journey.start_date),
                col(Journey.last_review_date),
            )
            .join(Client, col(Client.id) == col(Journey.client_id))
            .join(User, col(User.id) == col(Journey.navigator_id))
            .join(Locality, col(Locality.id) == col(Journey.locality_id))
            .where(*rcond)
            .order_by(base, col(Journey.id))
            .limit(limit)
        ).all()

    waiting = tuple(
        WaitingRow(jid, ref, nm, nav, loc, as_day(dd), cal.count(as_day(dd), on))
        for jid, ref, nm, nav, loc, dd in wrows
    )
    onward = []
    for jid, oid, ref, nm, nav, partner, prog, rdate, status, last in orows:
        rdate, last = as_day(rdate), as_date(last)
        onward.append(
            StuckOnwardRow(jid, oid, ref, nm, nav, partner, prog, rdate, status, last, cal.count(last or rdate, on))
        )
    reviews = []
    for jid, ref, nm, nav, loc, start, last in rrows:
        start, last = as_day(start), as_date(last)
        b = max(start, last) if last else start
        since = cal.count(b, on)
        reviews.append(ReviewRow(jid, ref, nm, nav, loc, start, last, since, since - review_every))
    return StuckView(
        on, days, review_every, waiting, waiting_total, tuple(onward), onward_total, tuple(reviews), reviews_total
    )


# ---------------------------------------------------------------- Trends


@dataclass(frozen=True)
class TrendMonth:
    month: str  # YYYY-MM
    received: int
    starts: int
    completions: int
    no_response: int
    mean_wait: Decimal | None  # working days, 1 decimal (None: no starts)
    partial: bool = False  # the month is not over on `on`


@dataclass(frozen=True)
class TrendsView:
    on: date
    level: str  # 'service', 'lot' or 'locality'
    place: str  # 'ALL', a lot code or a locality name
    months: tuple[TrendMonth, ...]


def _round_half_away(total: int, n: int, decimals: int = 1) -> Decimal:
    a = total * 10**decimals
    q = (2 * abs(a) + n) // (2 * n)
    return Decimal(-q if a < 0 else q).scaleb(-decimals)


def trends(
    ctx: Ctx, scope: tuple[str, str | None] = ("service", None), months: int = 12, on: date | None = None
) -> TrendsView:
    """Per month, the last ``months`` months up to and including the month of ``on``:

    referrals received (received date in the month), starts (start date in it), completions
    (ended, reason completed), no-response closures (ended with reason no response, before or
    after a start), and the mean wait in working days from acceptance to start over the month's
    starts (rounded half away from zero to 1 decimal) - the return's definitions, by
    ``journey.locality_id``. Scope: ('service', None), ('lot', code) or ('locality', name); a
    team lead may look at the service as a whole (counts only, as in the return) and at the lots
    and localities of their own lots.
    """
    on = on or ctx.today()
    months = max(1, min(int(months), 60))
    level, place = scope if scope else ("service", None)
    if level not in ("service", "lot", "locality"):
        raise DomainError("Choose the service, a lot or a locality.", field="scope")
    first = month_start(add_months(on, -(months - 1)))
    _, last = _month_bounds(on)
    keys = []
    d = first
    while d <= last:
        keys.append(_month_key(d))
        d = _month_bounds(d)[1] + timedelta(days=1)
    with ctx.read() as s:
        actor = _lead(s, ctx)
        cal = ctx.calendar(s)
        mine = _scope_localities(s, actor)
        if level == "service":
            localities = None
            place_name = "ALL"
        elif level == "lot":
            lot = s.execute(
                select(col(Lot.id), col(Lot.code)).where(func.lower(Lot.code) == str(place or "").lower())
            ).first()
            if lot is None:
                raise NotFound(f"There is no lot '{place}'.")
            if not access.in_my_lots(actor, lot[0]) and not actor.is_admin:
                raise AccessDenied("That lot is not one of yours.")
            localities = list(s.execute(select(col(Locality.id)).where(Locality.lot_id == lot[0])).scalars())
            place_name = lot[1]
        else:
            loc = s.execute(
                select(col(Locality.id), col(Locality.name), col(Locality.lot_id)).where(
                    func.lower(Locality.name) == str(place or "").lower()
                )
            ).first()
            if loc is None:
                raise NotFound(f"There is no locality '{place}'.")
            if mine is not None and loc[0] not in mine:
                raise AccessDenied("That locality is not in your lots.")
            localities = [loc[0]]
            place_name = loc[1]
        where = _in_scope(Journey.locality_id, localities)

        def by_day(column, *cond):
            return s.execute(
                select(column, func.count()).where(column.between(first, last), where, *cond).group_by(column)
            ).all()

        received = by_day(Journey.received_date)
        starts = by_day(Journey.start_date)
        completions = by_day(Journey.end_date, Journey.end_reason == COMPLETED)
        no_response = by_day(Journey.end_date, Journey.end_reason == "no_response")
        waits = s.execute(
            select(col(Journey.start_date), col(Journey.decision_date), func.count())
            .where(col(Journey.start_date).between(first, last), col(Journey.decision_date).is_not(None), where)
            .group_by(col(Journey.start_date), col(Journey.decision_date))
        ).all()

    def bucket(rows) -> dict[str, int]:
        out: dict[str, int] = {}
        for day, n in rows:
            k = _month_key(as_day(day))
            out[k] = out.get(k, 0) + int(n)
        return out

    rec, st, comp, nr = bucket(received), bucket(starts), bucket(completions), bucket(no_response)
    wait_sum: dict[str, int] = {}
    wait_n: dict[str, int] = {}
    for start, decided, n in waits:
        start, decided = as_day(start), as_day(decided)
        k = _month_key(start)
        wait_sum[k] = wait_sum.get(k, 0) + cal.count(decided, start) * int(n)
        wait_n[k] = wait_n.get(k, 0) + int(n)
    current = _month_key(on)
    out = tuple(
        TrendMonth(
            k,
            rec.get(k, 0),
            st.get(k, 0),
            comp.get(k, 0),
            nr.get(k, 0),
            _round_half_away(wait_sum[k], wait_n[k]) if wait_n.get(k) else None,
            partial=(k == current and on < last),
        )
        for k in keys
    )
    return TrendsView(on, level, place_name, out)


# ---------------------------------------------------------------- Partners


@dataclass(frozen=True)
class PartnerStats:
    partner: str
    programme: str
    expected_response_days: int
    made: int
    open: int  # made or started, no outcome yet
    started: int  # the partner reported a start (whatever happened after)
    completed: int
    withdrew: int
    did_not_start: int
    declined: int
    acceptance_rate: Decimal | None  # started / (started + did not start + declined), percent, 1 decimal
    median_first_update: Decimal | None  # working days from referral to the partner's first update
    updated: int  # referrals with a first update (the median's cases)
    waiting_past_expected: int  # open "chase partner" follow-ups past due


@dataclass(frozen=True)
class PartnersView:
    on: date
    since: date | None
    rows: tuple[PartnerStats, ...] = field(default_factory=tuple)


def partners(ctx: Ctx, on: date | None = None, since: date | None = None) -> PartnersView:
    """Per partner and programme, onward referrals made (since ``since``, else ever) from journeys in
    the lead's lots, and what became of them (status), the acceptance rate, the median working days
    to the partner's first update, and how many wait on the partner past the programme's expected
    response (open "chase partner" follow-ups past due)."""
    on = on or ctx.today()
    with ctx.read() as s:
        actor = _lead(s, ctx)
        cal = ctx.calendar(s)
        scope = _scope_localities(s, actor)
        cond = [_in_scope(Journey.locality_id, scope)]
        if since is not None:
            cond.append(OnwardReferral.referral_date >= since)
        st = col(OnwardReferral.status)

        def flag(c):
            return func.sum(case((c, 1), else_=0))

        counts = s.execute(
            select(
                col(OnwardReferral.programme_id),
                func.count(),
                flag(st.in_(OPEN_ONWARD)),
                flag(or_(col(OnwardReferral.start_date).is_not(None), st.in_(ONWARD_BEGUN))),
                flag(st == L.OnwardStatus.COMPLETED.value),
                flag(st == "withdrew"),
                flag(st == "did_not_start"),
                flag(st == "declined"),
            )
            .join(Journey, col(Journey.id) == col(OnwardReferral.journey_id))
            .where(*cond)
            .group_by(col(OnwardReferral.programme_id))
        ).all()
        firsts = s.execute(
            select(
                col(OnwardReferral.programme_id),
                col(OnwardReferral.referral_date),
                col(OnwardReferral.first_update_date),
                func.count(),
            )
            .join(Journey, col(Journey.id) == col(OnwardReferral.journey_id))
            .where(col(OnwardReferral.first_update_date).is_not(None), *cond)
            .group_by(
                col(OnwardReferral.programme_id),
                col(OnwardReferral.referral_date),
                col(OnwardReferral.first_update_date),
            )
        ).all()
        chase_keys = (
            s.execute(
                select(col(Task.key))
                .join(Journey, col(Journey.id) == col(Task.journey_id))
                .where(
                    col(Task.status) == "open",
                    col(Task.kind) == "chase_partner",
                    col(Task.due_date) < on,
                    col(Journey.state).in_(OPEN_STATES),
                    _in_scope(Journey.locality_id, scope),
                )
            )
            .scalars()
            .all()
        )
        onward_ids = sorted(
            {int(k.split(":")[1]) for k in chase_keys if k.count(":") >= 1 and k.split(":")[1].isdigit()}
        )
        programme_of: dict[int, int] = {}
        for i in range(0, len(onward_ids), 500):
            chunk = onward_ids[i : i + 500]
            for oid, pid in s.execute(
                select(col(OnwardReferral.id), col(OnwardReferral.programme_id)).where(
                    col(OnwardReferral.id).in_(chunk)
                )
            ).all():
                programme_of[oid] = pid
        progs: dict[int, tuple[str, str, int]] = {}
        active_progs: set[int] = set()
        for pid, prog, days_, pname, active in s.execute(
            select(
                col(Programme.id),
                col(Programme.name),
                col(Programme.expected_response_days),
                col(Partner.name),
                and_(col(Programme.active), col(Partner.active)),
            ).join(Partner, col(Partner.id) == col(Programme.partner_id))
        ).all():
            progs[pid] = (pname, prog, days_)
            if active:
                active_progs.add(pid)

    waiting: dict[int, int] = {}
    for k in chase_keys:
        parts = k.split(":")
        if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) in programme_of:
            pid = programme_of[int(parts[1])]
            waiting[pid] = waiting.get(pid, 0) + 1
    days: dict[int, list[int]] = {}
    for pid, rdate, fdate, n in firsts:
        days.setdefault(pid, []).extend([cal.count(as_day(rdate), as_day(fdate))] * int(n))
    rows = []
    for pid, made, open_, started, completed, withdrew, dns, declined in counts:
        started, dns, declined = int(started or 0), int(dns or 0), int(declined or 0)
        decided = started + dns + declined
        rate = _round_half_away(100 * started, decided) if decided else None
        ds = days.get(pid, [])
        median = Decimal(str(statistics.median(ds))).quantize(Decimal("0.1")) if ds else None
        pname, prog, expected = progs[pid]
        rows.append(
            PartnerStats(
                pname,
                prog,
                expected,
                int(made),
                int(open_ or 0),
                started,
                int(completed or 0),
                int(withdrew or 0),
                dns,
                declined,
                rate,
                median,
                len(ds),
                waiting.get(pid, 0),
            )
        )
    seen = {r[0] for r in counts}
    # active programmes with nothing made (yet), and past-due chases on referrals made before `since`
    for pid in sorted((active_progs | set(waiting)) - seen):
        pname, prog, expected = progs[pid]
        rows.append(PartnerStats(pname, prog, expected, 0, 0, 0, 0, 0, 0, 0, None, None, 0, waiting.get(pid, 0)))
    rows.sort(key=lambda r: (r.partner.lower(), r.programme.lower()))
    return PartnersView(on, since, tuple(rows))


# ---------------------------------------------------------------- reassigning a navigator's journeys


def open_journey_ids(ctx: Ctx, username: str) -> tuple[int, ...]:
    """The open journeys a navigator holds in the lead's lots (e.g. a leaver's), oldest first, to reassign."""
    with ctx.read() as s:
        actor = _lead(s, ctx)
        user = s.execute(select(col(User.id)).where(col(User.username) == username)).scalar_one_or_none()
        if user is None:
            raise NotFound(f"There is no user '{username}'.")
        scope = _scope_localities(s, actor)
        return tuple(
            s.execute(
                select(col(Journey.id))
                .where(
                    Journey.navigator_id == user,
                    col(Journey.state).in_(OPEN_STATES),
                    _in_scope(Journey.locality_id, scope),
                )
                .order_by(col(Journey.received_date), col(Journey.id))
            ).scalars()
        )
