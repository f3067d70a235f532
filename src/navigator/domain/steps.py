"""The journey step model: every kind of step is a typed value, and ONE pure function applies it.

Each thing a navigator records about a journey is a frozen dataclass below
(``Receive``, ``Contact``, ``Decide``, ``Start``, ``Measure``, ``Goal``,
``GoalUpdate`` (goal edit and progress note), ``Review``, ``Onward``,
``PartnerReport``, ``FollowUp``, ``Chase``, ``Close``). :func:`apply` checks a step against
the journey's facts (``lifecycle.JourneyFacts``) and returns :class:`Changes`:
what to write (journey columns, including ``state`` and the date it counts
from, ``state_since``; the row the step adds; a measurement; a goal's or an
onward referral's columns) and the journey's facts after the step. Or it raises
``DomainError`` whose ``field`` names the step's field at fault (``on``,
``method``, ``reject_reason``, ``end_date``, ``note``...). It reads no store
and no clock: the desk services (services/casework/journeys.py) and the bulk
writer (services/casework/bulk.py, behind the import and the demo) both build
steps and call it, then only write what it returns.

    from navigator.domain import lifecycle as L, steps as S

    f = L.JourneyFacts.unreceived(date_of_birth=date(1980, 5, 1))
    ch = S.apply(f, S.Receive(date(2026, 11, 2), referrer="Dr Who"), today)
    ch = S.apply(ch.facts, S.Contact(date(2026, 11, 3), "phone", "spoke"), today)
    ch.journey   # {"last_contact_date": ..., "first_contact_date": ...}
    ch.record    # {"on_date": ..., "method": "phone", "outcome": "spoke", "note": None}
    ch = S.apply(ch.facts, S.Decide(date(2026, 11, 4), "accepted"), today)
    ch.journey   # {..., "state": "accepted", "state_since": date(2026, 11, 4)}

Goals and onward referrals are referred to by a key into ``facts.goals`` /
``facts.onwards`` (the row id in the services, the index in a bulk replay); a
new one is keyed in the returned facts by the next integer after the largest key.

A new kind of step (amend, reopen, chase, merge...) is a new dataclass here, a
branch of ``_RULES`` and nothing else: ``Changes`` already carries what any step
can write. ``tag`` on every step is the caller's own label (the import puts the
CSV column there); the rules ignore it.

This module is ~570 lines: every kind of step and its rule, by design in one place (the point of
the step model: a rule exists once, beside the others it must agree with).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from navigator.domain import lifecycle as L
from navigator.domain import swemwbs
from navigator.domain.errors import DomainError
from navigator.domain.followups import MessageMethod
from navigator.domain.lifecycle import evolve
from navigator.domain.text import check_text

# A SWEMWBS result: the seven items (1-5 each), or only the raw total (7-35) as a tracker holds it.
Swemwbs = tuple[int | None, ...] | list[int | None] | int | None

NOTE_MAX = 4000
STATEMENT_MAX = 1000
REFERRER_MAX = 200


# ---------------------------------------------------------------- the steps


@dataclass(frozen=True, slots=True)
class Receive:
    received_date: date
    referrer: str | None = None
    reason: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    on: date
    method: str
    outcome: str
    note: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Decide:
    on: date
    decision: str
    reason: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Start:
    on: date
    swemwbs: Swemwbs = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Close:
    on: date
    reason: str
    evidence: str | None = None
    swemwbs: Swemwbs = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Review:
    on: date
    note: str | None = None
    swemwbs: Swemwbs = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Measure:
    point: str
    on: date
    swemwbs: Swemwbs
    tag: str | None = None
    _: KW_ONLY
    kind: str = "swemwbs"  # or "ons4" (four items, no score)


@dataclass(frozen=True, slots=True)
class Goal:
    """A plan goal, in the person's own words."""

    outcome_id: int | None
    statement: str
    target_date: date | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class GoalUpdate:
    """Edit a goal, move its status and/or add a progress note dated ``on``. None leaves a field as it is;
    ``clear_target`` removes the target date (a goal need not have one)."""

    goal: int
    on: date | None
    status: str | None = None
    note: str | None = None
    tag: str | None = None
    _: KW_ONLY
    statement: str | None = None
    target_date: date | None = None
    outcome_id: int | None = None
    clear_target: bool = False


@dataclass(frozen=True, slots=True)
class Onward:
    programme_id: int | None
    on: date
    note: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class PartnerReport:
    onward: int
    kind: str
    on: date
    note: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class FollowUp:
    """The navigator followed the person up after the partner said they stopped."""

    onward: int
    on: date
    note: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Chase:
    """The navigator chased the partner of an open onward referral (issue 15). Recorded beside the
    partner's updates, never as one: the partner's figures and the referral's dates do not move."""

    onward: int
    on: date
    method: str
    note: str | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class Reopen:
    """A team lead reopens a closed or rejected journey (issue 15): back to the state before it ended.

    ``open_elsewhere``: the person has another open journey (the service looks; the rule refuses)."""

    reason: str
    open_elsewhere: bool = False
    tag: str | None = None


Step = (
    Receive
    | Contact
    | Decide
    | Start
    | Close
    | Review
    | Measure
    | Goal
    | GoalUpdate
    | Onward
    | PartnerReport
    | FollowUp
    | Chase
    | Reopen
)


@dataclass(frozen=True)
class Changes:
    """What a step writes. Values are plain (enum values as strings), ready for the store."""

    facts: L.JourneyFacts  # the journey after the step
    journey: Mapping[str, Any] = field(default_factory=dict)  # journey columns (state, state_since when it moves)
    record: Mapping[str, Any] | None = None  # the row the step adds: contact, review, goal note, partner update
    measure: Mapping[str, Any] | None = None  # a measurement row the step adds
    goal: Mapping[str, Any] | None = None  # a new goal's columns, or an edited goal's changed ones
    onward: Mapping[str, Any] | None = None  # a new onward referral's columns, or the changed ones
    key: int | None = None  # the goal or onward referral concerned (a new one's key in ``facts``)

    @property
    def state(self) -> L.State:
        return self.facts.state


# ---------------------------------------------------------------- shared checks


E = TypeVar("E")


def _choice(enum: Callable[[Any], E], value: Any, field_: str, message: str) -> E:
    try:
        return enum(value)
    except ValueError:
        raise DomainError(message, field=field_) from None


def _dated(on: Any, field_: str, what: str, today: date, floor: date | None, floor_what: str) -> date:
    L._not_future(on, today, field_, what)
    L._not_before(on, floor, field_, what, floor_what)
    return on


def _note(value: str | None, field_: str = "note") -> str | None:
    return check_text(value, field_, max_len=NOTE_MAX, multiline=True)


def _later(a: date | None, b: date | None) -> date | None:
    return max(a, b) if a and b else (a or b)


def _next_key(keys: Mapping[int, Any]) -> int:
    return max(keys, default=-1) + 1


def measurement(kind: str, point: str, on: date, value: Swemwbs | Sequence[int | None]) -> dict[str, Any]:
    """A measurement row (no ids): items when given, raw, and the SWEMWBS metric in hundredths."""
    if kind == "ons4":
        if value is None or isinstance(value, int):
            raise DomainError("Give the four ONS4 answers.", field="swemwbs")
        items: list[int | None] = [*swemwbs.validate_ons4(value), None, None, None]
        raw, metric_x100 = None, None
    elif kind == "swemwbs":
        if isinstance(value, bool) or value is None:
            raise DomainError("Give the SWEMWBS answers or the raw total.", field="swemwbs")
        if isinstance(value, int):
            metric: Decimal = swemwbs.metric_for_raw(value)
            raw, items = value, [None] * swemwbs.ITEMS
        else:
            items = list(swemwbs.validate_items(value))
            raw, metric = swemwbs.score(items)
        metric_x100 = int(metric * 100)
    else:
        raise DomainError("Unknown measure.", field="kind")
    row: dict[str, Any] = {"kind": kind, "point": point, "on_date": on, "raw": raw, "metric_x100": metric_x100}
    for i, v in enumerate(items, start=1):
        row[f"item{i}"] = v
    return row


def _journey(before: L.JourneyFacts, after: L.JourneyFacts, cols: dict[str, Any]) -> dict[str, Any]:
    """Journey columns to write: the rule's own, plus the state and its date when the state moves."""
    out = {k: (v.value if isinstance(v, L.StrEnum) else v) for k, v in cols.items()}
    s = after.state
    if before.received_date is None or s != before.state:
        out["state"] = s.value
        out["state_since"] = L.state_since(after)
    return out


def _journey_step(f: L.JourneyFacts, cols: dict[str, Any], **extra: Any) -> Changes:
    after = f.with_changes(cols)
    return Changes(after, _journey(f, after, cols), **extra)


# ---------------------------------------------------------------- the rules, one per kind of step


def _receive(f: L.JourneyFacts, st: Receive, today: date) -> Changes:
    if f.received_date is not None:
        raise DomainError("This referral has already been received.", field="state")
    # the typed text first, as a form lists it before the dates
    referrer = check_text(st.referrer, "referrer", max_len=REFERRER_MAX)
    reason = _note(st.reason, "reason")
    if not isinstance(st.received_date, date):
        raise DomainError("Required.", field="received_date")
    L.check_receive(st.received_date, f.date_of_birth, today)
    after = evolve(f, received_date=st.received_date)
    cols = {"received_date": st.received_date, "referrer": referrer, "reason": reason}
    return Changes(after, _journey(f, after, cols))


def _contact(f: L.JourneyFacts, st: Contact, today: date) -> Changes:
    method = _choice(L.ContactMethod, st.method, "method", "Choose how you made contact (phone, text, ...).")
    outcome = _choice(L.ContactOutcome, st.outcome, "outcome", "Choose the outcome of the contact.")
    cols = L.log_contact(f, st.on, method, outcome, today)
    note = _note(st.note)
    record = {"on_date": st.on, "method": method.value, "outcome": outcome.value, "note": note}
    return _journey_step(f, cols, record=record)


def _decide(f: L.JourneyFacts, st: Decide, today: date) -> Changes:
    decision = _choice(L.Decision, st.decision, "decision", "Choose accepted or rejected.")
    reason = None
    if st.reason:
        reason = _choice(L.RejectReason, st.reason, "reject_reason", "Choose a reason for the rejection.")
    return _journey_step(f, L.decide(f, decision, st.on, today, reason))


def _start(f: L.JourneyFacts, st: Start, today: date) -> Changes:
    cols = L.start(f, st.on, today)
    m = measurement("swemwbs", "start", st.on, st.swemwbs) if st.swemwbs is not None else None
    ch = _journey_step(f, cols, measure=m)
    if m is not None:
        ch = evolve(ch, facts=evolve(ch.facts, last_activity_date=_later(ch.facts.last_activity_date, st.on)))
    return ch


def _close(f: L.JourneyFacts, st: Close, today: date) -> Changes:
    reason = _choice(L.EndReason, st.reason, "end_reason", "Choose a reason for closing.")
    evidence = _note(st.evidence, "evidence")
    cols = L.close(f, st.on, reason, today, evidence)
    m = None
    if st.swemwbs is not None:
        if f.start_date is None:
            raise DomainError("An end SWEMWBS needs a journey that started.", field="swemwbs")
        m = measurement("swemwbs", "end", st.on, st.swemwbs)
    return _journey_step(f, {**cols, "outcome_evidence": evidence}, measure=m)


def _review(f: L.JourneyFacts, st: Review, today: date) -> Changes:
    L.check_plan_change(f)
    on = _dated(st.on, "on", "review", today, f.start_date, "start")
    note = _note(st.note)
    m = measurement("swemwbs", "review", on, st.swemwbs) if st.swemwbs is not None else None
    ch = _journey_step(f, {"last_review_date": _later(f.last_review_date, on)}, record={"on_date": on, "note": note})
    facts = evolve(
        ch.facts, last_review_date=_later(f.last_review_date, on), last_activity_date=_later(f.last_activity_date, on)
    )
    return evolve(ch, facts=facts, measure=m)


def _measure(f: L.JourneyFacts, st: Measure, today: date) -> Changes:
    L.check_measure(f, st.point, st.on, today)
    m = measurement(st.kind, st.point, st.on, st.swemwbs)
    return Changes(evolve(f, last_activity_date=_later(f.last_activity_date, st.on)), measure=m)


def _statement(value: str | None) -> str:
    return L.check_goal_statement(check_text(value, "statement", max_len=STATEMENT_MAX, required=True) or "")


def _target(f: L.JourneyFacts, target: date | None) -> date | None:
    if target is not None:
        if not isinstance(target, date):
            raise DomainError("Give the target date as a date.", field="target_date")
        if f.start_date and target < f.start_date:
            raise DomainError("The target date cannot be before the start.", field="target_date")
    return target


def _goal(f: L.JourneyFacts, st: Goal, today: date) -> Changes:
    L.check_plan_change(f)
    if st.outcome_id is None:
        raise DomainError("Choose the personal outcome.", field="outcome")
    statement = _statement(st.statement)
    target = _target(f, st.target_date)
    status = L.GoalStatus.NOT_STARTED
    key = _next_key(f.goals)
    goals = {**f.goals, key: L.GoalFacts(status, statement, target, st.outcome_id)}
    cols = {"outcome_id": st.outcome_id, "statement": statement, "target_date": target, "status": status.value}
    return Changes(evolve(f, goals=goals), goal=cols, key=key)


def _goal_update(f: L.JourneyFacts, st: GoalUpdate, today: date) -> Changes:
    goal = f.goals.get(st.goal)
    if goal is None:
        raise DomainError("That goal does not exist.", field="goal")
    L.check_plan_change(f)
    new = goal
    if st.status is not None:
        new = evolve(new, status=_choice(L.GoalStatus, st.status, "status", "Choose a goal status."))
    if st.statement is not None:
        new = evolve(new, statement=_statement(st.statement))
    if st.target_date is not None:
        if st.clear_target:
            raise DomainError("Give a target date or clear it, not both.", field="target_date")
        new = evolve(new, target_date=_target(f, st.target_date))
    elif st.clear_target:
        new = evolve(new, target_date=None)
    if st.outcome_id is not None:
        new = evolve(new, outcome_id=st.outcome_id)
    cols = {
        k: (v.value if isinstance(v, L.StrEnum) else v)
        for k in ("status", "statement", "target_date", "outcome_id")
        if (v := getattr(new, k)) != getattr(goal, k)
    }
    note = _note(st.note)
    record = None
    if note:
        if not isinstance(st.on, date):
            raise DomainError("Give the note's date.", field="on")
        if st.on > today:
            raise DomainError("A progress note cannot be dated in the future.", field="on")
        if f.start_date and st.on < f.start_date:
            raise DomainError("A progress note cannot be dated before the start.", field="on")
        record = {"on_date": st.on, "note": note}
    return Changes(evolve(f, goals={**f.goals, st.goal: new}), goal=cols, record=record, key=st.goal)


def _onward(f: L.JourneyFacts, st: Onward, today: date) -> Changes:
    L.check_onward(f, st.on, today)
    if st.programme_id is None:
        raise DomainError("Choose an active partner programme.", field="programme")
    note = _note(st.note)
    key = _next_key(f.onwards)
    o = L.OnwardFacts(L.OnwardStatus.MADE, st.on, programme_id=st.programme_id)
    cols = {
        "programme_id": st.programme_id,
        "referral_date": st.on,
        "status": o.status.value,
        "start_date": None,
        "end_date": None,
        "last_update_date": None,
        "first_update_date": None,
        "feedback_pending_since": None,
        "note": note,
    }
    facts = evolve(f, onwards={**f.onwards, key: o}, last_activity_date=_later(f.last_activity_date, st.on))
    return Changes(facts, onward=cols, key=key)


def _onward_of(f: L.JourneyFacts, key: int) -> L.OnwardFacts:
    o = f.onwards.get(key)
    if o is None:
        raise DomainError("That onward referral does not exist.", field="onward")
    return o


def _partner_report(f: L.JourneyFacts, st: PartnerReport, today: date) -> Changes:
    o = _onward_of(f, st.onward)
    kind = _choice(L.PartnerUpdate, st.kind, "kind", "Choose what the partner reported.")
    cols = L.partner_update(o, kind, st.on, today)
    note = _note(st.note)
    if o.first_update_date is None or st.on < o.first_update_date:
        cols["first_update_date"] = st.on
    if kind in L.NEEDS_FOLLOW_UP and f.state == L.State.STARTED:
        cols["feedback_pending_since"] = st.on
    new = evolve(o, **cols)
    out = {k: (v.value if isinstance(v, L.StrEnum) else v) for k, v in cols.items()}
    record = {"on_date": st.on, "kind": kind.value, "note": note}
    return Changes(evolve(f, onwards={**f.onwards, st.onward: new}), onward=out, record=record, key=st.onward)


def _follow_up(f: L.JourneyFacts, st: FollowUp, today: date) -> Changes:
    o = _onward_of(f, st.onward)
    if f.state in L.FINISHED_STATES:  # the follow-up belongs to the work with the person, which has ended
        raise DomainError("This journey has ended: there is no partner feedback left to follow up.", field="state")
    if o.feedback_pending_since is None:
        raise DomainError("There is no partner feedback waiting to be followed up.", field="onward")
    L._not_future(st.on, today, "on", "follow-up")
    note = _note(st.note)
    new = evolve(o, feedback_pending_since=None)
    return Changes(
        evolve(f, onwards={**f.onwards, st.onward: new}),
        onward={"feedback_pending_since": None},
        record={"on_date": st.on, "note": note},
        key=st.onward,
    )


def _chase(f: L.JourneyFacts, st: Chase, today: date) -> Changes:
    o = _onward_of(f, st.onward)
    if o.status not in L.OPEN_ONWARD:
        raise DomainError(
            f"This onward referral is {o.status.value.replace('_', ' ')}: there is no reply to chase.", field="onward"
        )
    method = _choice(MessageMethod, st.method, "method", "Choose how you chased the partner (phone, email...).")
    on = _dated(st.on, "on", "chase", today, o.referral_date, "onward referral")
    note = _note(st.note)
    return Changes(f, record={"on_date": on, "method": method.value, "note": note}, key=st.onward)


# ---------------------------------------------------------------- reopen (issue 15)

REOPEN_REASON_MAX = 1000


def _reopen(f: L.JourneyFacts, st: Reopen, today: date) -> Changes:
    """Back to the state before it ended: started if it had started, else accepted or received.

    A rejection is undone (received again); a closure loses its end date, reason and evidence."""
    s = f.state
    if s not in L.FINISHED_STATES:
        raise DomainError(
            f"Only a closed or rejected journey can be reopened: this one is {s.label.lower()}.", field="state"
        )
    if st.open_elsewhere:
        raise DomainError(
            "This person has another open journey: work on that one (or close it) instead of reopening this.",
            field="state",
        )
    check_text(st.reason, "reason", max_len=REOPEN_REASON_MAX, multiline=True, required=True)
    if s == L.State.REJECTED:
        cols: dict[str, Any] = {"decision": None, "decision_date": None, "reject_reason": None}
    else:
        cols = {"end_date": None, "end_reason": None, "outcome_evidence": None}
    # the referrer was told of an ending that no longer stands: the next ending is theirs to hear of again
    cols |= {"referrer_told_date": None, "referrer_told_how": None}
    return _journey_step(f, cols)


_RULES: dict[type, Callable[[L.JourneyFacts, Any, date], Changes]] = {
    Receive: _receive,
    Contact: _contact,
    Decide: _decide,
    Start: _start,
    Close: _close,
    Review: _review,
    Measure: _measure,
    Goal: _goal,
    GoalUpdate: _goal_update,
    Onward: _onward,
    PartnerReport: _partner_report,
    FollowUp: _follow_up,
    Chase: _chase,
    Reopen: _reopen,
}


def apply(facts: L.JourneyFacts, step: Step, today: date) -> Changes:
    """Check ``step`` against the journey's ``facts``; the changes it makes, or ``DomainError`` naming the field."""
    rule = _RULES.get(type(step))
    if rule is None:
        raise TypeError(f"not a journey step: {type(step).__name__}")
    if facts.received_date is None and not isinstance(step, Receive):
        raise DomainError("Receive the referral first.", field="state")
    return rule(facts, step, today)
