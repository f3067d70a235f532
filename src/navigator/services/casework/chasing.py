"""Chasing a delivery partner about an onward referral (issue 15): one desk action, audited.

A chase (``steps.Chase``: the onward referral, the day, how, a note) is a ``partner_chase`` row. It is
the navigator's activity, not the partner's: the referral's status and update dates, and so the
partner's figures, do not move. The follow-ups see it (records.sync_tasks): the chase task it
answers is done and the next is due the programme's expected working days after it; after the
protocol's ``chase_limit`` chases with no partner update the team lead is told (the Waiting and
stuck screen, and the navigator's task says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select

from navigator.domain import steps as S
from navigator.domain.errors import NotFound
from navigator.domain.followups import TaskKind, escalated
from navigator.services import audit
from navigator.services.casework.records import load_journey, step_facts, sync_tasks
from navigator.services.context import Ctx, protocol
from navigator.store.ids import row_id
from navigator.store.models import OnwardReferral, PartnerChase, Task


@dataclass(frozen=True)
class ChaseResult:
    chase_id: int
    onward_id: int
    journey_id: int
    unanswered: int  # chases since the partner's last update, this one included
    next_due: date | None  # the next chase follow-up (None: the journey is closed, no follow-ups)
    team_lead_told: bool  # the protocol's chase limit is reached


def record_chase(ctx: Ctx, onward_id: int, on: date, method: str, note: str | None = None) -> ChaseResult:
    """The navigator chased the partner of an open onward referral ``on`` a day, ``method`` (phone, email...)."""
    with ctx.write() as s:
        o = s.get(OnwardReferral, onward_id)
        if o is None:
            raise NotFound("That onward referral does not exist.", field="onward")
        journey, client = load_journey(s, ctx, o.journey_id)
        ch = S.apply(step_facts(s, journey, client), S.Chase(row_id(o.id), on, method, note), ctx.today())
        assert ch.record is not None  # a chase is always recorded
        row = PartnerChase(onward_id=row_id(o.id), user_id=ctx.actor(s).id, created_at=ctx.now(), **ch.record)
        s.add(row)
        s.flush()
        if ch.facts.state.is_open:
            sync_tasks(s, ctx, journey, client)
        chases = s.exec(select(col(PartnerChase.on_date)).where(PartnerChase.onward_id == o.id)).all()
        unanswered = sum(1 for d in chases if o.last_update_date is None or d > o.last_update_date)
        task = s.exec(
            select(Task).where(
                Task.journey_id == journey.id,
                Task.status == "open",
                Task.kind == TaskKind.CHASE_PARTNER.value,
                col(Task.key).startswith(f"chase_partner:{o.id}:"),
            )
        ).first()
        told = escalated(unanswered, protocol(s))
        r = ch.record
        audit.record(
            s,
            ctx,
            "onward.chase",
            "onward_referral",
            o.id,
            client_id=client.id,
            journey_id=journey.id,
            after={
                "chase": row.id,
                "on": r["on_date"],
                "method": r["method"],
                "note": r["note"],
                "unanswered": unanswered,
                "team_lead_told": told,
            },
        )
        return ChaseResult(
            row_id(row.id),
            row_id(o.id),
            row_id(journey.id),
            unanswered,
            task.due_date if task else None,
            told,
        )
