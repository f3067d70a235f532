"""Closing a journey that still has open goals or open onward referrals: what happened to each, then the close.

The close form lists the plan's goals still being worked on (``lifecycle.OPEN_GOALS``) and the
onward referrals the partner has not ended (``lifecycle.OPEN_ONWARD``) and asks, for each, what
happened: a goal's status (achieved, not achieved, or left as it is), an onward referral's end as
the partner would report it (``lifecycle.ending_updates``) or "not known" (left open). Every item
must be answered. The answers are steps like any other (``GoalUpdate``, ``PartnerReport``, dated
the end date), applied by ``steps.apply`` in order and then the ``Close`` step, all in one
transaction: either everything is saved or nothing is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import col, select

from navigator.domain import lifecycle as L
from navigator.domain import steps as S
from navigator.domain.errors import DomainError, ValidationErrors
from navigator.services import audit
from navigator.services.casework.records import (
    add_partner_report,
    load_journey,
    step_facts,
    with_measure,
    write_step,
)
from navigator.services.context import Ctx
from navigator.services.dto import JourneyRef
from navigator.store.ids import row_id
from navigator.store.models import (
    OnwardReferral,
    PlanGoal,
)

UNKNOWN = "unknown"  # an onward referral's outcome is not known: it stays open, and that was said


@dataclass(frozen=True)
class LooseEnd:
    """One open goal or onward referral, and the answers the close form offers for it."""

    field: str  # goal_<id> / onward_<id>: the form's field, and the key of its answer
    kind: str  # "goal" or "onward"
    id: int
    label: str  # the goal's statement / "Partner: programme"
    status: str
    status_label: str
    choices: tuple[tuple[str, str], ...]  # (label, value)


def goal_choices(status: str) -> tuple[tuple[str, str], ...]:
    keep = f"Still {L.GOAL_LABELS[L.GoalStatus(status)].lower()} (leave as it is)"
    return (
        (L.GOAL_LABELS[L.GoalStatus.ACHIEVED], L.GoalStatus.ACHIEVED.value),
        (L.GOAL_LABELS[L.GoalStatus.NOT_ACHIEVED], L.GoalStatus.NOT_ACHIEVED.value),
        (keep, status),
    )


def onward_choices(status: str) -> tuple[tuple[str, str], ...]:
    ends = tuple(
        (f"Ended: {L.PARTNER_UPDATE_LABELS[k].lower()}", k.value) for k in L.ending_updates(L.OnwardStatus(status))
    )
    return (*ends, ("Not known (left open)", UNKNOWN))


def loose_ends(goals: Sequence[Any], onwards: Sequence[Any]) -> tuple[LooseEnd, ...]:
    """The open goals and onward referrals of a journey (its GoalView and OnwardView rows), in order."""
    out = [
        LooseEnd(f"goal_{g.id}", "goal", g.id, g.statement, g.status, g.status_label, goal_choices(g.status))
        for g in goals
        if g.status in L.OPEN_GOALS
    ]
    out += [
        LooseEnd(
            f"onward_{o.id}",
            "onward",
            o.id,
            f"{o.partner}: {o.programme}",
            o.status,
            o.status.replace("_", " "),
            onward_choices(o.status),
        )
        for o in onwards
        if o.status in L.OPEN_ONWARD
    ]
    return tuple(out)


def close_with_loose_ends(
    ctx: Ctx,
    journey_id: int,
    on: date,
    reason: str,
    *,
    evidence: str | None = None,
    swemwbs_end: Sequence[int | None] | None = None,
    goals: Mapping[int, str] | None = None,
    onwards: Mapping[int, str] | None = None,
    expected_version: int | None = None,
) -> JourneyRef:
    """Close a journey, first applying what happened to each open goal (a status) and each open onward
    referral (an ending partner report, or ``UNKNOWN``). Every open one must be answered."""
    goals, onwards = dict(goals or {}), dict(onwards or {})
    with ctx.write() as s:
        journey, client = load_journey(s, ctx, journey_id, expected_version)
        actor = ctx.actor(s)
        today = ctx.today()
        f = step_facts(s, journey, client)
        open_goals = {k for k, g in f.goals.items() if g.status in L.OPEN_GOALS}
        open_onwards = {k for k, o in f.onwards.items() if o.status in L.OPEN_ONWARD}
        missing = {f"goal_{k}": "Say what happened to this goal." for k in sorted(open_goals - goals.keys())}
        missing |= {
            f"onward_{k}": "Say what happened to this onward referral." for k in sorted(open_onwards - onwards.keys())
        }
        if missing:
            raise ValidationErrors(missing)
        goal_rows = {g.id: g for g in s.exec(select(PlanGoal).where(col(PlanGoal.id).in_(open_goals))).all()}
        onward_rows = {
            o.id: o for o in s.exec(select(OnwardReferral).where(col(OnwardReferral.id).in_(open_onwards))).all()
        }
        errors: dict[str, str] = {}
        for key in sorted(open_goals):
            status = goals[key]
            if status == f.goals[key].status.value:
                continue  # left as it is: answered, nothing to write
            try:
                ch = S.apply(f, S.GoalUpdate(key, on, status=status), today)
            except DomainError as exc:
                errors[f"goal_{key}"] = exc.message
                continue
            f = ch.facts
            goal = goal_rows[key]
            before: dict[str, Any] = {"status": goal.status}
            for k, v in (ch.goal or {}).items():
                setattr(goal, k, v)
            goal.version += 1
            goal.updated_at = ctx.now()
            s.add(goal)
            audit.record(
                s,
                ctx,
                "goal.update",
                "plan_goal",
                goal.id,
                client_id=client.id,
                journey_id=journey.id,
                before=before,
                after={"status": goal.status, "at_close": True},
            )
        for key in sorted(open_onwards):
            kind = onwards[key]
            if kind == UNKNOWN:
                continue
            try:
                ch = S.apply(f, S.PartnerReport(key, kind, on), today)
            except DomainError as exc:
                errors[f"onward_{key}"] = exc.message
                continue
            f = ch.facts
            o = onward_rows[key]
            before = {"status": o.status, "end_date": o.end_date}
            add_partner_report(s, ctx, o, ch, actor.id)
            audit.record(
                s,
                ctx,
                "onward.update",
                "onward_referral",
                o.id,
                client_id=client.id,
                journey_id=journey.id,
                before=before,
                after={"status": o.status, "end_date": o.end_date, "kind": kind, "on": on, "at_close": True},
            )
        if errors:
            raise ValidationErrors(errors)
        swemwbs = tuple(swemwbs_end) if swemwbs_end is not None else None
        ch = S.apply(f, S.Close(on, reason, evidence, swemwbs), today)
        extra = with_measure(s, ctx, journey, ch)
        b, a = write_step(s, ctx, journey, client, ch)
        answered = {f"goal_{k}": v for k, v in goals.items() if k in open_goals}
        answered |= {f"onward_{k}": v for k, v in onwards.items() if k in open_onwards}
        if answered:
            extra["loose_ends"] = answered
        audit.record(
            s,
            ctx,
            "journey.close",
            "journey",
            journey.id,
            client_id=client.id,
            journey_id=journey.id,
            before=b,
            after=a | extra,
        )
        return JourneyRef(row_id(journey.id), row_id(client.id), client.client_ref, journey.state)
