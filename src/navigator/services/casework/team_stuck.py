"""Waiting and stuck, for team leads: journeys waiting longest to start, onward referrals a partner has
gone quiet on (with the navigator's chases since, and whether the protocol's chase limit is reached),
started plans past their review period, and journeys at risk whose opt-in period ended (never closed
by the protocol: the lead decides) (``waiting_and_stuck``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, select
from sqlmodel import Session, col

from navigator.domain.errors import DomainError
from navigator.domain.followups import AT_RISK_KEY, TaskKind, escalated
from navigator.services.casework.team_scope import (
    ACCEPTED,
    OPEN_ONWARD,
    OPEN_STATES,
    STARTED,
    cutoff,
    in_scope,
    lead,
    scope_localities,
    with_people,
)
from navigator.services.context import Ctx, as_date, as_day, get_setting, protocol
from navigator.store.models import (
    Client,
    Journey,
    Locality,
    OnwardReferral,
    Partner,
    PartnerChase,
    Programme,
    Task,
    User,
)

DEFAULT_STUCK_PARTNER_DAYS = 10
STUCK_LIMIT = 500  # rows per Waiting-and-stuck section (the totals count every one)


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
    chases: int = 0  # issue 15: the navigator's chases since the partner's latest update
    team_lead_told: bool = False  # issue 15: as many as the protocol's chase_limit, or more


@dataclass(frozen=True)
class AtRiskRow:
    """Issue 15: a journey at risk whose opt-in period has ended: never closed by the protocol, the lead decides."""

    journey_id: int
    client_ref: str
    client_name: str
    navigator: str
    due_date: date  # when the no-response closure fell due
    waiting: int  # working days since


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
    at_risk: tuple[AtRiskRow, ...] = ()  # issue 15
    at_risk_total: int = 0
    chase_limit: int = 3


def stuck_partner_days(s: Session) -> int:
    value = get_setting(s, "stuck_partner_days", DEFAULT_STUCK_PARTNER_DAYS)
    try:
        n = int(value)
    except (TypeError, ValueError):
        return DEFAULT_STUCK_PARTNER_DAYS
    return n if 1 <= n <= 250 else DEFAULT_STUCK_PARTNER_DAYS


_NAME = (col(Client.first_name) + " " + col(Client.last_name)).label("client_name")


def _journeys(s: Session, cond: list, order, limit: int, *extra) -> tuple[int, list]:
    """How many journeys meet ``cond``, and the first ``limit`` of them by ``order``: each journey's id,
    client's reference and name, navigator, locality and the ``extra`` columns."""
    total = s.execute(select(func.count()).select_from(Journey).where(*cond)).scalar_one()
    rows = s.execute(
        with_people(
            select(col(Journey.id), col(Client.client_ref), _NAME, col(User.username), col(Locality.name), *extra),
            locality=True,
        )
        .where(*cond)
        .order_by(order, col(Journey.id))
        .limit(limit)
    ).all()
    return total, list(rows)


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
        actor = lead(s, ctx)
        cal = ctx.calendar(s)
        scope = scope_localities(s, actor)
        days = partner_days if partner_days is not None else stuck_partner_days(s)
        review_every = protocol(s).review_every
        where = [in_scope(Journey.locality_id, scope)]

        # waiting to start
        cond = [Journey.state == ACCEPTED, *where]
        waiting_total, wrows = _journeys(s, cond, col(Journey.decision_date), limit, col(Journey.decision_date))

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
            with_people(
                select(
                    col(OnwardReferral.journey_id),
                    col(OnwardReferral.id),
                    col(Client.client_ref),
                    _NAME,
                    col(User.username),
                    col(Partner.name),
                    col(Programme.name),
                    col(OnwardReferral.referral_date),
                    col(OnwardReferral.status),
                    col(OnwardReferral.last_update_date),
                ),
                OnwardReferral.journey_id,
            )
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
        reviews_total, rrows = _journeys(s, rcond, base, limit, col(Journey.start_date), col(Journey.last_review_date))

        # issue 15: chases of the quiet referrals since the partner's latest update; journeys at risk due for closure
        proto = protocol(s)
        chased: dict[int, int] = {}
        shown_ids = [r[1] for r in orows]
        for oid, chased_on, last in (
            s.execute(
                select(col(PartnerChase.onward_id), col(PartnerChase.on_date), col(OnwardReferral.last_update_date))
                .join(OnwardReferral, col(OnwardReferral.id) == col(PartnerChase.onward_id))
                .where(col(PartnerChase.onward_id).in_(shown_ids))
            ).all()
            if shown_ids
            else []
        ):
            if last is None or as_day(chased_on) > as_day(last):
                chased[oid] = chased.get(oid, 0) + 1
        acond = [
            Task.status == "open",
            Task.kind == TaskKind.NO_RESPONSE_CLOSE.value,
            Task.key == AT_RISK_KEY,
            col(Task.due_date) <= on,
            col(Journey.state).in_(OPEN_STATES),
            *where,
        ]
        at_risk_total = s.execute(
            select(func.count()).select_from(Task).join(Journey, col(Journey.id) == col(Task.journey_id)).where(*acond)
        ).scalar_one()
        arows = s.execute(
            with_people(
                select(
                    col(Journey.id), col(Client.client_ref), _NAME, col(User.username), col(Task.due_date)
                ).select_from(Task),
                Task.journey_id,
            )
            .where(*acond)
            .order_by(col(Task.due_date), col(Journey.id))
            .limit(limit)
        ).all()

    waiting = tuple(
        WaitingRow(jid, ref, nm, nav, loc, as_day(dd), cal.count(as_day(dd), on))
        for jid, ref, nm, nav, loc, dd in wrows
    )
    onward = []
    for jid, oid, ref, nm, nav, partner, prog, rdate, status, last in orows:
        rdate, last = as_day(rdate), as_date(last)
        n = chased.get(oid, 0)
        onward.append(
            StuckOnwardRow(
                jid,
                oid,
                ref,
                nm,
                nav,
                partner,
                prog,
                rdate,
                status,
                last,
                cal.count(last or rdate, on),
                n,
                escalated(n, proto),
            )
        )
    reviews = []
    for jid, ref, nm, nav, loc, start, last in rrows:
        start, last = as_day(start), as_date(last)
        b = max(start, last) if last else start
        since = cal.count(b, on)
        reviews.append(ReviewRow(jid, ref, nm, nav, loc, start, last, since, since - review_every))
    at_risk = tuple(
        AtRiskRow(jid, ref, nm, nav, as_day(due), cal.count(as_day(due), on)) for jid, ref, nm, nav, due in arows
    )
    return StuckView(
        on,
        days,
        review_every,
        waiting,
        waiting_total,
        tuple(onward),
        onward_total,
        tuple(reviews),
        reviews_total,
        at_risk,
        at_risk_total,
        proto.chase_limit,
    )
