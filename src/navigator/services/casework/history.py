"""A journey's stored rows as its history of steps: the one place rows become steps (issue 15).

``history`` reads a journey's columns and rows and returns the person's facts before the
referral (``JourneyFacts.unreceived``) and the recorded steps (``domain/amend.Recorded``),
each keyed by what it was stored as: ``journey:receive``, ``journey:decide``,
``journey:start``, ``journey:close`` (the journey's own columns), ``contact:<id>``,
``review:<id>``, ``measure:<id>``, ``goal:<id>`` and ``goal_status:<id>``, ``goal_note:<id>``,
``onward:<id>``, ``partner_update:<id>``. ``domain/amend.replay`` sends them back through
the rules; corrections.py amends one of them. ``row_of`` finds the row behind a key.

Measurements are steps of their own (``Measure``), also the one taken with a start or a
closure: amending a start date does not move the SWEMWBS taken that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from navigator.domain import lifecycle as L
from navigator.domain import steps as S
from navigator.domain.amend import Recorded
from navigator.store.ids import row_id
from navigator.store.models import (
    Client,
    ContactAttempt,
    GoalNote,
    Journey,
    Measurement,
    OnwardReferral,
    PartnerUpdateRow,
    PlanGoal,
    PlanReview,
)

# the tables behind the keys of the rows a navigator may amend
ROW_MODELS: dict[str, Any] = {
    "contact": ContactAttempt,
    "review": PlanReview,
    "measure": Measurement,
    "onward": OnwardReferral,
    "partner_update": PartnerUpdateRow,
}
JOURNEY_KEYS = ("journey:receive", "journey:decide", "journey:start", "journey:close")


@dataclass(frozen=True)
class History:
    base: L.JourneyFacts
    steps: tuple[Recorded, ...]
    recorded_by: dict[str, int]  # key -> the user who recorded the row (rows only)

    def get(self, key: str) -> Recorded | None:
        return next((r for r in self.steps if r.key == key), None)


def _measure_value(m: Measurement) -> S.Swemwbs:
    if m.kind == "ons4":
        return (m.item1, m.item2, m.item3, m.item4)
    items = (m.item1, m.item2, m.item3, m.item4, m.item5, m.item6, m.item7)
    if all(i is None for i in items):
        return m.raw
    return items


def history(s: Session, journey: Journey, client: Client) -> History:
    """The journey's recorded steps, in date order (ties: the order they were stored)."""
    jid = journey.id
    out: list[Recorded] = []
    by: dict[str, int] = {}
    onwards = s.exec(
        select(OnwardReferral).where(OnwardReferral.journey_id == jid).order_by(col(OnwardReferral.id))
    ).all()
    # an onward referral was made with the person's consent (its rule checked it then)
    base = L.JourneyFacts.unreceived(client.date_of_birth, client.consent_to_share or bool(onwards))
    out.append(Recorded("journey:receive", S.Receive(journey.received_date, journey.referrer, journey.reason)))
    for c in s.exec(
        select(ContactAttempt)
        .where(ContactAttempt.journey_id == jid)
        .order_by(col(ContactAttempt.on_date), col(ContactAttempt.id))
    ).all():
        key = f"contact:{c.id}"
        out.append(Recorded(key, S.Contact(c.on_date, c.method, c.outcome, c.note)))
        by[key] = c.user_id
    if journey.decision:
        out.append(Recorded("journey:decide", S.Decide(journey.decision_date, journey.decision, journey.reject_reason)))  # type: ignore[arg-type]
    if journey.start_date:
        out.append(Recorded("journey:start", S.Start(journey.start_date)))
    goals = s.exec(select(PlanGoal).where(PlanGoal.journey_id == jid).order_by(col(PlanGoal.id))).all()
    for g in goals:
        gid = row_id(g.id)
        out.append(Recorded(f"goal:{gid}", S.Goal(g.outcome_id, g.statement, g.target_date), ref=gid))
        if g.status != L.GoalStatus.NOT_STARTED.value:
            out.append(Recorded(f"goal_status:{gid}", S.GoalUpdate(gid, None, g.status)))
    if goals:
        for n in s.exec(
            select(GoalNote)
            .where(col(GoalNote.goal_id).in_([g.id for g in goals]))
            .order_by(col(GoalNote.on_date), col(GoalNote.id))
        ).all():
            out.append(Recorded(f"goal_note:{n.id}", S.GoalUpdate(n.goal_id, n.on_date, note=n.note)))
    for r in s.exec(
        select(PlanReview).where(PlanReview.journey_id == jid).order_by(col(PlanReview.on_date), col(PlanReview.id))
    ).all():
        key = f"review:{r.id}"
        out.append(Recorded(key, S.Review(r.on_date, r.note)))
        by[key] = r.user_id
    for m in s.exec(
        select(Measurement).where(Measurement.journey_id == jid).order_by(col(Measurement.on_date), col(Measurement.id))
    ).all():
        key = f"measure:{m.id}"
        out.append(Recorded(key, S.Measure(m.point, m.on_date, _measure_value(m), kind=m.kind)))
        by[key] = m.user_id
    for o in onwards:
        oid = row_id(o.id)
        out.append(Recorded(f"onward:{oid}", S.Onward(o.programme_id, o.referral_date, o.note), ref=oid))
    if onwards:
        for u in s.exec(
            select(PartnerUpdateRow)
            .where(col(PartnerUpdateRow.onward_id).in_([o.id for o in onwards]))
            .order_by(col(PartnerUpdateRow.on_date), col(PartnerUpdateRow.id))
        ).all():
            key = f"partner_update:{u.id}"
            out.append(Recorded(key, S.PartnerReport(u.onward_id, u.kind, u.on_date, u.note)))
            by[key] = u.user_id
    if journey.end_date:
        out.append(
            Recorded("journey:close", S.Close(journey.end_date, journey.end_reason or "", journey.outcome_evidence))
        )
    return History(base, tuple(out), by)


def row_of(s: Session, key: str) -> Any:
    """The stored row behind a recorded step's key (None for the journey's own steps)."""
    kind, _, ident = key.partition(":")
    model = ROW_MODELS.get(kind)
    if model is None or not ident.isdigit():
        return None
    return s.get(model, int(ident))
