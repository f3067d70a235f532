"""Partners, for team leads: per partner and programme, onward referrals made and what became of them,
the acceptance rate, the median time to the partner's first update, who waits on the partner, the
referrals with no reply at all and the chases made (``partners``)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import col

from navigator.domain import lifecycle as L
from navigator.domain.rounding import round_half_away
from navigator.services.casework.team_scope import (
    ONWARD_BEGUN,
    OPEN_ONWARD,
    OPEN_STATES,
    in_scope,
    lead,
    scope_localities,
)
from navigator.services.context import Ctx, as_day
from navigator.store.models import (
    Journey,
    OnwardReferral,
    Partner,
    PartnerChase,
    Programme,
    Task,
)


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
    no_reply: int = 0  # issue 15: referrals the partner never updated at all
    chases: int = 0  # issue 15: the navigators' chases of the partner about these referrals


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
        actor = lead(s, ctx)
        cal = ctx.calendar(s)
        scope = scope_localities(s, actor)
        cond = [in_scope(Journey.locality_id, scope)]
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
                flag(col(OnwardReferral.first_update_date).is_(None)),  # issue 15: no reply at all
            )
            .join(Journey, col(Journey.id) == col(OnwardReferral.journey_id))
            .where(*cond)
            .group_by(col(OnwardReferral.programme_id))
        ).all()
        chases = dict(  # issue 15: chases made (the partner's own figures above do not count them)
            s.execute(
                select(col(OnwardReferral.programme_id), func.count())
                .select_from(PartnerChase)
                .join(OnwardReferral, col(OnwardReferral.id) == col(PartnerChase.onward_id))
                .join(Journey, col(Journey.id) == col(OnwardReferral.journey_id))
                .where(*cond)
                .group_by(col(OnwardReferral.programme_id))
            ).all()
        )
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
                    in_scope(Journey.locality_id, scope),
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
    for pid, made, open_, started, completed, withdrew, dns, declined, no_reply in counts:
        started, dns, declined = int(started or 0), int(dns or 0), int(declined or 0)
        decided = started + dns + declined
        rate = round_half_away(100 * started, decided) if decided else None
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
                int(no_reply or 0),
                int(chases.get(pid, 0)),
            )
        )
    seen = {r[0] for r in counts}
    # active programmes with nothing made (yet), and past-due chases on referrals made before `since`
    for pid in sorted((active_progs | set(waiting)) - seen):
        pname, prog, expected = progs[pid]
        rows.append(PartnerStats(pname, prog, expected, 0, 0, 0, 0, 0, 0, 0, None, None, 0, waiting.get(pid, 0)))
    rows.sort(key=lambda r: (r.partner.lower(), r.programme.lower()))
    return PartnersView(on, since, tuple(rows))
