"""The team lead's tools (issue 15), reads for team leads and admins within their lots:

- ``lot_today``: every navigator's Today in one list (what is due or overdue on a date, for every
  journey in the lead's lots), optionally one navigator's;
- ``programme_referrals``: one programme's onward referrals from the lead's lots, the ones the partner
  never replied to first;
- ``reassign_choices``: who to reassign journeys to, the navigators of the journeys' lots first, and
  which navigators would take the work across lots; ``reassign_summary`` says what moved.

Access: ``team_scope.lead`` (team leads and admins), journeys by ``journey.locality_id`` in the lead's
lots (``team_scope.scope_localities``), as on the other team screens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlmodel import col

from navigator.domain import lifecycle as L
from navigator.domain.errors import DomainError, NotFound
from navigator.domain.followups import TODAY_ORDER, TaskKind, days_overdue
from navigator.services.casework.team_scope import in_scope, lead, scope_localities, with_people
from navigator.services.context import Ctx, as_date, as_day
from navigator.services.dto import JourneyRef
from navigator.store.models import (
    Client,
    Journey,
    Locality,
    Lot,
    OnwardReferral,
    Partner,
    PartnerChase,
    Programme,
    Task,
    User,
    UserLot,
)

# ---------------------------------------------------------------- the lot's Today


@dataclass(frozen=True)
class LotTodayItem:
    task_id: int
    journey_id: int
    client_ref: str
    client_name: str
    navigator: str  # username
    navigator_name: str
    kind: str
    group: str  # the group label, as on Today
    what: str
    due_date: date
    overdue_days: int  # working days overdue (0: due today)
    risk_flag: bool = False  # the journey is flagged in crisis or at risk


@dataclass(frozen=True)
class LotToday:
    on: date
    scope: tuple[str, ...]  # the lots' names (empty: every lot)
    navigator: str | None  # the navigator filtered on (None: everyone)
    navigators: tuple[tuple[str, str], ...]  # (username, name) of everyone with something due, by name
    items: tuple[LotTodayItem, ...]
    counts: tuple[tuple[str, int], ...]  # (group, count) in Today's order


def lot_today(ctx: Ctx, navigator: str | None = None, on: date | None = None) -> LotToday:
    """What is due or overdue on ``on`` for every journey in the lead's lots (open journeys' open
    follow-ups due by then), Today's groups in Today's order; ``navigator``: only theirs."""
    on = on or ctx.today()
    with ctx.read() as s:
        actor = lead(s, ctx)
        cal = ctx.calendar(s)
        scope = scope_localities(s, actor)
        lots = tuple(
            s.execute(select(col(Lot.name)).where(col(Lot.id).in_(sorted(actor.lot_ids))).order_by(col(Lot.name)))
            .scalars()
            .all()
            if scope is not None
            else ()
        )
        q = with_people(
            select(
                col(Task.id),
                col(Task.journey_id),
                col(Task.kind),
                col(Task.due_date),
                col(Task.detail),
                col(Client.client_ref),
                col(Client.first_name),
                col(Client.last_name),
                col(User.username),
                col(User.name),
                col(Journey.risk_flag),
            ),
            Task.journey_id,
        ).where(
            col(Task.status) == "open",
            col(Task.due_date) <= on,
            col(Journey.state).in_(sorted(s_.value for s_ in L.OPEN_STATES)),
            in_scope(Journey.locality_id, scope),
        )
        rows = s.execute(q).all()
    everyone = sorted({(u, n) for *_, u, n, _flag in rows}, key=lambda x: (x[1].casefold(), x[0]))
    order = {k.value: i for i, k in enumerate(TODAY_ORDER)}
    items = []
    for tid, jid, kind, due, detail, ref, first, last, username, name, flagged in rows:
        if navigator is not None and username != navigator:
            continue
        due = as_day(due)
        try:
            k = TaskKind(kind)
            label, group = k.label, k.label
        except ValueError:  # a kind this version does not know: shown as stored
            label = group = str(kind).replace("_", " ")
        items.append(
            LotTodayItem(
                tid,
                jid,
                ref,
                f"{first} {last}",
                username,
                name,
                kind,
                group,
                detail or label,
                due,
                days_overdue(due, on, cal),
                bool(flagged),
            )
        )
    items.sort(key=lambda i: (order.get(i.kind, 99), i.due_date, i.navigator_name.casefold(), i.client_name))
    counts = []
    for group in dict.fromkeys(i.group for i in items):
        counts.append((group, sum(1 for i in items if i.group == group)))
    return LotToday(on, lots, navigator, tuple(everyone), tuple(items), tuple(counts))


# ---------------------------------------------------------------- a programme's referrals


@dataclass(frozen=True)
class ProgrammeReferral:
    onward_id: int
    journey_id: int
    client_ref: str
    client_name: str
    navigator: str
    referral_date: date
    status: str
    status_label: str
    last_update_date: date | None
    no_reply: bool  # the partner never sent an update
    working_days: int  # since the referral (no reply) or since the last update
    chases: int = 0  # how often the navigator chased the partner about it


@dataclass(frozen=True)
class ProgrammeReferrals:
    partner: str
    programme: str
    expected_response_days: int
    since: date | None
    rows: tuple[ProgrammeReferral, ...]

    @property
    def no_reply(self) -> int:
        return sum(1 for r in self.rows if r.no_reply)


_ONWARD_LABELS = {s.value: s.value.replace("_", " ").capitalize() for s in L.OnwardStatus}


def programme_referrals(
    ctx: Ctx, partner: str, programme: str, since: date | None = None, on: date | None = None
) -> ProgrammeReferrals:
    """One programme's onward referrals from journeys in the lead's lots (made since ``since``, else
    ever): those with no reply from the partner first (longest waiting first), then the rest, newest
    first. Team leads and admins."""
    on = on or ctx.today()
    with ctx.read() as s:
        actor = lead(s, ctx)
        cal = ctx.calendar(s)
        found = s.execute(
            select(col(Programme.id), col(Programme.expected_response_days))
            .join(Partner, col(Partner.id) == col(Programme.partner_id))
            .where(col(Partner.name) == partner, col(Programme.name) == programme)
        ).first()
        if found is None:
            raise NotFound(f"There is no programme {programme} of {partner}.")
        pid, expected = found
        cond = [col(OnwardReferral.programme_id) == pid, in_scope(Journey.locality_id, scope_localities(s, actor))]
        if since is not None:
            cond.append(col(OnwardReferral.referral_date) >= since)
        rows = s.execute(
            with_people(
                select(
                    col(OnwardReferral.id),
                    col(OnwardReferral.journey_id),
                    col(Client.client_ref),
                    col(Client.first_name),
                    col(Client.last_name),
                    col(User.username),
                    col(OnwardReferral.referral_date),
                    col(OnwardReferral.status),
                    col(OnwardReferral.last_update_date),
                    col(OnwardReferral.first_update_date),
                ),
                OnwardReferral.journey_id,
            ).where(*cond)
        ).all()
        chased: dict[int, int] = {}
        ids = [r[0] for r in rows]
        for i in range(0, len(ids), 500):
            for oid, n in s.execute(
                select(col(PartnerChase.onward_id), func.count())
                .where(col(PartnerChase.onward_id).in_(ids[i : i + 500]))
                .group_by(col(PartnerChase.onward_id))
            ).all():
                chased[oid] = int(n)
    out = []
    for oid, jid, ref, first, last, username, made, status, last_update, first_update in rows:
        made, last_update = as_day(made), as_date(last_update)
        no_reply = as_date(first_update) is None  # the partner never updated it (as Partners counts it)
        since_ = made if last_update is None else last_update
        out.append(
            ProgrammeReferral(
                oid,
                jid,
                ref,
                f"{first} {last}",
                username,
                made,
                status,
                _ONWARD_LABELS.get(status, status),
                last_update,
                no_reply,
                cal.count(since_, on) if since_ <= on else 0,
                chased.get(oid, 0),
            )
        )
    out.sort(key=lambda r: (not r.no_reply, (1 if r.no_reply else -1) * r.referral_date.toordinal(), r.onward_id))
    return ProgrammeReferrals(partner, programme, expected, since, tuple(out))


# ---------------------------------------------------------------- reassigning


@dataclass(frozen=True)
class NavigatorChoice:
    username: str
    name: str
    role: str
    lots: tuple[str, ...]
    in_lot: bool  # works in every lot of the journeys being moved


@dataclass(frozen=True)
class ReassignChoices:
    journeys: int
    follow_ups: int  # open follow-ups that move with them
    lots: tuple[str, ...]  # the journeys' lots
    choices: tuple[NavigatorChoice, ...]  # those in the journeys' lots first, then the others (by name)

    def across_lots(self, username: str) -> str | None:
        """The warning to show before moving the work to ``username`` (None: same lots)."""
        c = next((c for c in self.choices if c.username == username), None)
        if c is None or c.in_lot:
            return None
        theirs = ", ".join(c.lots) or "no lot"
        return (
            f"Across lots: these journeys are in {', '.join(self.lots)}; {c.name} works in {theirs}. "
            f"The journeys stay in {', '.join(self.lots)}, with its team lead."
        )


def reassign_choices(ctx: Ctx, journey_ids: Sequence[int]) -> ReassignChoices:
    """Who may take these journeys: active users, those working in the journeys' lots first."""
    with ctx.read() as s:
        ctx.actor(s)
        ids = list(journey_ids)
        lot_rows = (
            s.execute(
                select(col(Lot.id), col(Lot.name))
                .join(Locality, col(Locality.lot_id) == col(Lot.id))
                .join(Journey, col(Journey.locality_id) == col(Locality.id))
                .where(col(Journey.id).in_(ids or [-1]))
                .distinct()
            ).all()
            if ids
            else []
        )
        lot_ids = {i for i, _ in lot_rows}
        tasks = s.execute(
            select(func.count()).where(col(Task.journey_id).in_(ids or [-1]), col(Task.status) == "open")
        ).scalar_one()
        lot_names = {i: n for i, n in s.execute(select(col(Lot.id), col(Lot.name))).all()}
        users = s.execute(
            select(col(User.id), col(User.username), col(User.name), col(User.role)).where(col(User.active))
        ).all()
        user_lots: dict[int, set[int]] = {}
        for uid, lid in s.execute(select(col(UserLot.user_id), col(UserLot.lot_id))).all():
            user_lots.setdefault(uid, set()).add(lid)
    choices = []
    for uid, username, name, role in users:
        theirs = user_lots.get(uid, set())
        in_lot = not theirs or lot_ids <= theirs  # no lots: every lot (access.in_my_lots)
        choices.append(NavigatorChoice(username, name, role, tuple(sorted(lot_names[i] for i in theirs)), in_lot))
    choices.sort(key=lambda c: (not c.in_lot, c.role != "navigator", c.name.casefold()))
    return ReassignChoices(len(ids), tasks, tuple(sorted(n for _, n in lot_rows)), tuple(choices))


def reassign_summary(refs: Sequence[JourneyRef], to_name: str, follow_ups: int) -> str:
    """What a reassignment moved, in words."""
    if not refs:
        raise DomainError("Nothing was reassigned.", field="journeys")
    people = ", ".join(sorted({r.client_ref for r in refs})[:5]) + (
        "…" if len({r.client_ref for r in refs}) > 5 else ""
    )
    n = len(refs)
    return (
        f"Moved {n} journey{'s' if n != 1 else ''} ({people}) and {follow_ups} open follow-up"
        f"{'s' if follow_ups != 1 else ''} to {to_name}."
    )
