"""Trends, for team leads: per month, referrals received, starts, completions, no-response closures and
the mean wait from acceptance to start, for the service, a lot or a locality (``trends``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import col

from navigator.domain.dates import add_months, month_key, month_start
from navigator.domain.errors import AccessDenied, DomainError, NotFound
from navigator.domain.rounding import round_half_away
from navigator.services import access
from navigator.services.casework.team_scope import (
    COMPLETED,
    in_scope,
    lead,
    month_span,
    scope_localities,
)
from navigator.services.context import Ctx, as_day
from navigator.store.models import Journey, Locality, Lot


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
    _, last = month_span(on)
    keys = []
    d = first
    while d <= last:
        keys.append(month_key(d))
        d = month_span(d)[1] + timedelta(days=1)
    with ctx.read() as s:
        actor = lead(s, ctx)
        cal = ctx.calendar(s)
        mine = scope_localities(s, actor)
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
        where = in_scope(Journey.locality_id, localities)

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
            k = month_key(as_day(day))
            out[k] = out.get(k, 0) + int(n)
        return out

    rec, st, comp, nr = bucket(received), bucket(starts), bucket(completions), bucket(no_response)
    wait_sum: dict[str, int] = {}
    wait_n: dict[str, int] = {}
    for start, decided, n in waits:
        start, decided = as_day(start), as_day(decided)
        k = month_key(start)
        wait_sum[k] = wait_sum.get(k, 0) + cal.count(decided, start) * int(n)
        wait_n[k] = wait_n.get(k, 0) + int(n)
    current = month_key(on)
    out = tuple(
        TrendMonth(
            k,
            rec.get(k, 0),
            st.get(k, 0),
            comp.get(k, 0),
            nr.get(k, 0),
            round_half_away(wait_sum[k], wait_n[k]) if wait_n.get(k) else None,
            partial=(k == current and on < last),
        )
        for k in keys
    )
    return TrendsView(on, level, place_name, out)
