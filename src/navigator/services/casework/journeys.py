"""Casework writes: one function per action a user takes on a journey.

Each is one transaction: load (with an access check), build the step and have the
domain apply it (``domain/steps.apply``), write the changes it returns, keep the
follow-ups in step, and record an audit event. People and referrals are in intake.py,
loading and writing a journey's rows in records.py; both are re-exported here, so
``journeys.receive_referral(...)`` and ``journeys.facts(...)`` keep working.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from sqlmodel import Session

from navigator.domain import lifecycle as L
from navigator.domain import steps as S
from navigator.domain.errors import (
    DomainError,
    NotFound,
)
from navigator.services import access, audit
from navigator.services.casework.intake import (  # re-exported: J.receive_referral(...) etc.
    ClientInput,
    ReferralInput,
    check_duplicates,
    find_duplicates,
    next_client_ref,
    receive_referral,
    update_client,
    validate_client,
)
from navigator.services.casework.records import (  # re-exported for callers of J.facts etc.
    CLIENT_FIELDS,
    JOURNEY_FIELDS,
    active_user,
    add_measurement,
    add_partner_report,
    check_version,
    code_id,
    facts,
    load_journey,
    snapshot,
    step_facts,
    sync_tasks,
    with_measure,
    write_onward,
    write_step,
)
from navigator.services.context import Ctx
from navigator.services.dto import JourneyRef
from navigator.store.ids import row_id
from navigator.store.models import (
    Client,
    ContactAttempt,
    GoalNote,
    Journey,
    Measurement,
    OnwardReferral,
    PersonalOutcome,
    PlanGoal,
    PlanReview,
    Programme,
)

__all__ = [
    "CLIENT_FIELDS",
    "JOURNEY_FIELDS",
    "ClientInput",
    "ReferralInput",
    "add_goal",
    "check_duplicates",
    "check_version",
    "close",
    "decide",
    "facts",
    "find_duplicates",
    "follow_up_feedback",
    "log_contact",
    "make_onward",
    "metric",
    "next_client_ref",
    "partner_update",
    "reassign",
    "receive_referral",
    "record_measure",
    "record_review",
    "snapshot",
    "start",
    "step_facts",
    "sync_tasks",
    "update_client",
    "update_goal",
    "validate_client",
]

# ---------------------------------------------------------------- steps
#
# Every action below builds a step (domain/steps.py), has ``steps.apply`` check it against the
# journey's facts, and writes what it returns: the journey's columns, the row the step adds, a
# measurement, a goal's or an onward referral's columns. No rule is decided here.


def _step(
    ctx: Ctx,
    journey_id: int,
    action: str,
    step: S.Step,
    write: Callable[[Session, Journey, S.Changes], dict | None] | None = None,
    expected_version: int | None = None,
) -> JourneyRef:
    """A journey step: load, ``steps.apply``, write its changes (``write`` adds its rows), follow-ups, audit."""
    with ctx.write() as s:
        journey, client = load_journey(s, ctx, journey_id, expected_version)
        ch = S.apply(step_facts(s, journey, client), step, ctx.today())
        extra = write(s, journey, ch) if write is not None else None
        b, a = write_step(s, ctx, journey, client, ch)
        audit.record(
            s,
            ctx,
            action,
            "journey",
            journey.id,
            client_id=client.id,
            journey_id=journey.id,
            before=b,
            after=a | (extra or {}),
        )
        return JourneyRef(row_id(journey.id), row_id(client.id), client.client_ref, journey.state)


def log_contact(ctx: Ctx, journey_id: int, on: date, method: str, outcome: str, note: str | None = None) -> JourneyRef:
    def write(s, journey, ch):
        row = ContactAttempt(journey_id=journey.id, user_id=ctx.actor(s).id, created_at=ctx.now(), **ch.record)
        s.add(row)
        s.flush()
        r = ch.record
        return {
            "contact": {
                "id": row.id,
                "on": r["on_date"],
                "method": r["method"],
                "outcome": r["outcome"],
                "note": r["note"],
            }
        }

    return _step(ctx, journey_id, "journey.contact", S.Contact(on, method, outcome, note), write)


def decide(
    ctx: Ctx, journey_id: int, decision: str, on: date, reason: str | None = None, expected_version: int | None = None
) -> JourneyRef:
    return _step(ctx, journey_id, "journey.decide", S.Decide(on, decision, reason), None, expected_version)


def start(
    ctx: Ctx,
    journey_id: int,
    on: date,
    swemwbs_items: Sequence[int | None] | None = None,
    expected_version: int | None = None,
) -> JourneyRef:
    """The person signs up: the journey starts, and the first SWEMWBS is taken (if given)."""
    step = S.Start(on, tuple(swemwbs_items) if swemwbs_items is not None else None)
    return _step(ctx, journey_id, "journey.start", step, lambda s, j, ch: with_measure(s, ctx, j, ch), expected_version)


def close(
    ctx: Ctx,
    journey_id: int,
    on: date,
    reason: str,
    evidence: str | None = None,
    swemwbs_end: Sequence[int | None] | None = None,
    expected_version: int | None = None,
) -> JourneyRef:
    """Close a journey: completed (with evidence, end SWEMWBS), closed without start, or ended early."""
    step = S.Close(on, reason, evidence, tuple(swemwbs_end) if swemwbs_end is not None else None)
    return _step(ctx, journey_id, "journey.close", step, lambda s, j, ch: with_measure(s, ctx, j, ch), expected_version)


def reassign(ctx: Ctx, journey_ids: Sequence[int], to_username: str) -> list[JourneyRef]:
    """Move one or many open journeys to another navigator (their follow-ups follow)."""
    if not journey_ids:
        raise DomainError("Choose at least one journey to reassign.", field="journeys")
    with ctx.write() as s:
        actor = ctx.actor(s)
        target = active_user(s, to_username, "navigator")
        if target.role not in ("navigator", "team_lead", "admin"):
            raise DomainError("Journeys can only go to a navigator.", field="navigator")
        out = []
        for jid in journey_ids:
            journey, client = load_journey(s, ctx, jid)
            if not actor.is_team_lead and journey.navigator_id != actor.id:
                raise access.AccessDenied("Only a team lead can reassign someone else's journey.")
            L.check_reassign(facts(journey, client))
            if journey.navigator_id == target.id:
                out.append(JourneyRef(row_id(journey.id), row_id(client.id), client.client_ref, journey.state))
                continue
            before = {"navigator_id": journey.navigator_id}
            journey.navigator_id = row_id(target.id)
            journey.version += 1
            journey.updated_at = ctx.now()
            s.add(journey)
            audit.record(
                s,
                ctx,
                "journey.reassign",
                "journey",
                journey.id,
                client_id=client.id,
                journey_id=journey.id,
                before=before,
                after={"navigator_id": target.id},
            )
            out.append(JourneyRef(row_id(journey.id), row_id(client.id), client.client_ref, journey.state))
        return out


# ---------------------------------------------------------------- plan


def add_goal(ctx: Ctx, journey_id: int, outcome: str, statement: str, target_date: date | None = None) -> int:
    with ctx.write() as s:
        journey, client = load_journey(s, ctx, journey_id)
        f = step_facts(s, journey, client)
        L.check_plan_change(f)  # the journey's state first, then the outcome named
        outcome_id = code_id(s, PersonalOutcome, outcome, "personal outcome", "outcome")
        ch = S.apply(f, S.Goal(outcome_id, statement, target_date), ctx.today())
        now = ctx.now()
        assert ch.goal is not None  # a Goal step gives the goal's values
        goal = PlanGoal(journey_id=row_id(journey.id), created_at=now, updated_at=now, **ch.goal)
        s.add(goal)
        s.flush()
        audit.record(
            s,
            ctx,
            "goal.add",
            "plan_goal",
            goal.id,
            client_id=client.id,
            journey_id=journey.id,
            after={"outcome_id": goal.outcome_id, "statement": goal.statement, "target_date": goal.target_date},
        )
        return row_id(goal.id)


GOAL_FIELDS = ("status", "statement", "target_date", "outcome_id")


def update_goal(
    ctx: Ctx,
    goal_id: int,
    *,
    status: str | None = None,
    statement: str | None = None,
    target_date: date | None = None,
    outcome: str | None = None,
    note: str | None = None,
    on: date | None = None,
    expected_version: int | None = None,
    clear_target: bool = False,
) -> int:
    """Edit a goal, move its status, and/or add a progress note (``clear_target``: remove its target date).
    Returns the new version."""
    with ctx.write() as s:
        goal = s.get(PlanGoal, goal_id)
        if goal is None:
            raise NotFound("That goal does not exist.")
        journey, client = load_journey(s, ctx, goal.journey_id)
        f = step_facts(s, journey, client)
        L.check_plan_change(f)
        check_version(s, goal, expected_version, "plan_goal")
        outcome_id = code_id(s, PersonalOutcome, outcome, "personal outcome", "outcome") if outcome else None
        step = S.GoalUpdate(
            row_id(goal.id),
            on or ctx.today(),
            status,
            note,
            statement=statement,
            target_date=target_date,
            outcome_id=outcome_id,
            clear_target=clear_target,
        )
        ch = S.apply(f, step, ctx.today())
        before = snapshot(goal, GOAL_FIELDS)
        for k, v in (ch.goal or {}).items():
            setattr(goal, k, v)
        b, a = audit.diff(before, snapshot(goal, GOAL_FIELDS))
        if ch.record is not None:
            s.add(GoalNote(goal_id=row_id(goal.id), user_id=ctx.actor(s).id, created_at=ctx.now(), **ch.record))
            a["note"] = ch.record["note"]
        if not a:
            return goal.version
        goal.version += 1
        goal.updated_at = ctx.now()
        s.add(goal)
        audit.record(
            s, ctx, "goal.update", "plan_goal", goal.id, client_id=client.id, journey_id=journey.id, before=b, after=a
        )
        return goal.version


def record_review(
    ctx: Ctx, journey_id: int, on: date, note: str | None = None, swemwbs_items: Sequence[int | None] | None = None
) -> JourneyRef:
    """A plan review (optionally with a SWEMWBS): the next review is scheduled from it."""

    def write(s, journey, ch):
        s.add(PlanReview(journey_id=journey.id, user_id=ctx.actor(s).id, created_at=ctx.now(), **ch.record))
        extra = {"review": {"on": ch.record["on_date"], "note": ch.record["note"]}}
        measure = with_measure(s, ctx, journey, ch)
        return extra | measure

    step = S.Review(on, note, tuple(swemwbs_items) if swemwbs_items is not None else None)
    return _step(ctx, journey_id, "journey.review", step, write)


def record_measure(
    ctx: Ctx, journey_id: int, point: str, on: date, items: Sequence[int | None], kind: str = "swemwbs"
) -> int:
    with ctx.write() as s:
        journey, client = load_journey(s, ctx, journey_id)
        step = S.Measure(point, on, tuple(items) if items is not None else None, kind=kind)
        ch = S.apply(step_facts(s, journey, client), step, ctx.today())
        m = add_measurement(s, ctx, row_id(journey.id), ch.measure or {})
        audit.record(
            s,
            ctx,
            "measure.record",
            "measurement",
            m.id,
            client_id=client.id,
            journey_id=journey.id,
            after={"kind": m.kind, "point": m.point, "on": m.on_date, "raw": m.raw, "metric_x100": m.metric_x100},
        )
        return row_id(m.id)


# ---------------------------------------------------------------- onward referrals


def make_onward(ctx: Ctx, journey_id: int, programme_id: int, on: date, note: str | None = None) -> int:
    with ctx.write() as s:
        journey, client = load_journey(s, ctx, journey_id)
        prog = s.get(Programme, programme_id) if programme_id is not None else None
        active = prog.id if prog is not None and prog.active else None
        ch = S.apply(step_facts(s, journey, client), S.Onward(active, on, note), ctx.today())
        now = ctx.now()
        assert ch.onward is not None  # an Onward step gives the referral's values
        o = OnwardReferral(journey_id=row_id(journey.id), created_at=now, updated_at=now, **ch.onward)
        s.add(o)
        s.flush()
        sync_tasks(s, ctx, journey, client)
        audit.record(
            s,
            ctx,
            "onward.make",
            "onward_referral",
            o.id,
            client_id=client.id,
            journey_id=journey.id,
            after={"programme_id": o.programme_id, "referral_date": o.referral_date, "note": o.note},
        )
        return row_id(o.id)


def _load_onward(s: Session, ctx: Ctx, onward_id: int) -> tuple[OnwardReferral, Journey, Client]:
    o = s.get(OnwardReferral, onward_id)
    if o is None:
        raise NotFound("That onward referral does not exist.")
    journey, client = load_journey(s, ctx, o.journey_id)
    return o, journey, client


def _onward_written(s: Session, ctx: Ctx, journey: Journey, client: Client, ch: S.Changes) -> None:
    """After an onward referral's step is written: its journey's follow-ups (while the journey is open)."""
    s.flush()
    if ch.facts.state.is_open:
        sync_tasks(s, ctx, journey, client)


def partner_update(
    ctx: Ctx, onward_id: int, kind: str, on: date, note: str | None = None, expected_version: int | None = None
) -> str:
    """The partner reports back. Returns the onward referral's new status."""
    with ctx.write() as s:
        o, journey, client = _load_onward(s, ctx, onward_id)
        check_version(s, o, expected_version, "onward_referral")
        ch = S.apply(step_facts(s, journey, client), S.PartnerReport(row_id(o.id), kind, on, note), ctx.today())
        before = {"status": o.status, "start_date": o.start_date, "end_date": o.end_date}
        add_partner_report(s, ctx, o, ch, ctx.actor(s).id)
        _onward_written(s, ctx, journey, client, ch)
        r = ch.record or {}
        audit.record(
            s,
            ctx,
            "onward.update",
            "onward_referral",
            o.id,
            client_id=client.id,
            journey_id=journey.id,
            before=before,
            after={
                "status": o.status,
                "start_date": o.start_date,
                "end_date": o.end_date,
                "kind": r["kind"],
                "on": r["on_date"],
                "note": r["note"],
            },
        )
        return o.status


def follow_up_feedback(ctx: Ctx, onward_id: int, note: str | None = None) -> None:
    """The navigator followed the person up after a partner said they stopped."""
    with ctx.write() as s:
        o, journey, client = _load_onward(s, ctx, onward_id)
        ch = S.apply(step_facts(s, journey, client), S.FollowUp(row_id(o.id), ctx.today(), note), ctx.today())
        write_onward(s, ctx, o, ch)
        _onward_written(s, ctx, journey, client, ch)
        audit.record(
            s,
            ctx,
            "onward.followed_up",
            "onward_referral",
            o.id,
            client_id=client.id,
            journey_id=journey.id,
            after={"note": (ch.record or {}).get("note")},
        )


def metric(m: Measurement) -> Decimal | None:
    return Decimal(m.metric_x100) / 100 if m.metric_x100 is not None else None
