"""Amending a recorded step: the journey's history replayed with one step replaced (issue 15).

A journey's history is its recorded steps (``Recorded``: the step, the caller's key for it,
and for a goal or an onward referral the id other steps refer to it by). ``replay`` sends
them through ``steps.apply`` in the order they happened; ``amend`` replaces one step by
the same kind of step with new values (``Amend``, with the reason for the change) and
replays everything again, so the amended history meets exactly the rules a new entry meets.
It returns both replays (the services write what differs between them) or raises
``DomainError`` whose ``field`` names the amended step's field at fault (its attribute name:
``on``, ``received_date``, ``method``, ``reason``...; ``why`` for the reason of the change).

The order of a replay: the referral first, then by date, with the journey's spine kept in
order (a decision before a start, a start before what needs a started journey, a closure
last). A step whose rule only needs a started journey is placed within the started period
(its own rule checks its date), a contact within the open one: stored rows do not say in
which order they were typed, only their dates, and the rules check dates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

from navigator.domain import lifecycle as L
from navigator.domain import steps as S
from navigator.domain.errors import DomainError
from navigator.domain.text import check_text

WHY_MAX = 1000

# what each kind of step is called in a refusal
WHAT = {
    S.Receive: "referral",
    S.Contact: "contact",
    S.Decide: "decision",
    S.Start: "start",
    S.Close: "closure",
    S.Review: "review",
    S.Measure: "measure",
    S.Goal: "goal",
    S.GoalUpdate: "goal note",
    S.Onward: "onward referral",
    S.PartnerReport: "partner update",
    S.FollowUp: "follow-up",
}

# the rules' field names -> the step's attribute they concern
_FIELD_OF = {
    "date": "on",
    "start_date": "on",
    "end_date": "on",
    "decision_date": "on",
    "referral_date": "on",
    "reject_reason": "reason",
    "end_reason": "reason",
    "programme": "programme_id",
    "date_of_birth": "received_date",
}


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded step. ``ref``: for a goal or an onward referral, the id other steps use for it."""

    key: str
    step: S.Step
    ref: int | None = None


@dataclass(frozen=True, slots=True)
class Amend:
    """Replace the recorded step ``key`` by ``step`` (the same kind), because of ``why``."""

    key: str
    step: S.Step
    why: str


@dataclass(frozen=True)
class Replay:
    """A history after the rules: the facts, and each recorded step's changes by its key."""

    facts: L.JourneyFacts
    changes: Mapping[str, S.Changes]
    onward_keys: Mapping[int, int]  # an onward referral's ref -> its key in ``facts.onwards``
    goal_keys: Mapping[int, int]

    def onward(self, ref: int) -> L.OnwardFacts:
        return self.facts.onwards[self.onward_keys[ref]]


@dataclass(frozen=True)
class Amended:
    before: Replay
    after: Replay
    key: str
    step: S.Step  # the new values
    old: S.Step  # the values recorded before
    why: str
    changed: tuple[str, ...]  # the step's attributes that change
    moved: tuple[str, ...] = ()  # the measures taken with a start or closure, moved with its date


class Refused(DomainError):
    """A rule refused the recorded step ``key`` during a replay."""

    def __init__(self, key: str, step: S.Step, error: DomainError) -> None:
        super().__init__(error.message, field=error.field)
        self.key = key
        self.step = step
        self.error = error


def date_of(step: S.Step) -> date | None:
    """The date a step happened (None: a goal, or a goal's status change)."""
    if isinstance(step, S.Receive):
        return step.received_date
    on = getattr(step, "on", None)
    return on if isinstance(on, date) else None


def date_field(step: S.Step) -> str:
    return "received_date" if isinstance(step, S.Receive) else "on"


def field_of(step: S.Step, rule_field: str | None) -> str | None:
    """A rule's field name as the step's attribute (``end_date`` -> ``on``...)."""
    if rule_field is None:
        return None
    name = _FIELD_OF.get(rule_field, rule_field)
    names = {f.name for f in fields(step)}
    return name if name in names else None


_NEEDS_STARTED = (S.Goal, S.GoalUpdate, S.Review, S.Measure, S.Onward)
_RANK = {
    S.Receive: 0,
    S.Contact: 1,
    S.Decide: 2,
    S.Start: 3,
    S.Goal: 4,
    S.GoalUpdate: 5,
    S.Review: 5,
    S.Measure: 5,
    S.Onward: 5,
    S.PartnerReport: 6,
    S.FollowUp: 7,
    S.Close: 9,
}


def ordered(history: Sequence[Recorded]) -> list[Recorded]:
    """The history in the order it is replayed (see the module's docstring); ties keep the given order."""

    def first(kind: type) -> date | None:
        return next((date_of(r.step) for r in history if isinstance(r.step, kind)), None)

    received = first(S.Receive) or date.min
    decided = max(first(S.Decide) or received, received)
    started = first(S.Start)
    start_pos = max(started, decided) if started else None
    closed = first(S.Close)
    rejected = any(isinstance(r.step, S.Decide) and r.step.decision == L.Decision.REJECTED.value for r in history)
    end_pos = max(d for d in (closed, start_pos, decided) if d) if closed else None
    onward_pos: dict[int, date] = {}

    def clamp(d: date, lo: date | None, hi: date | None) -> date:
        if lo is not None and d < lo:
            d = lo
        if hi is not None and d > hi:
            d = hi
        return d

    def position(r: Recorded) -> date:
        st = r.step
        on = date_of(st)
        if isinstance(st, S.Receive):
            return date.min
        if isinstance(st, S.Decide):
            return decided
        if isinstance(st, S.Start):
            return start_pos or received
        if isinstance(st, S.Close):
            return end_pos or received
        if isinstance(st, S.Contact):
            return clamp(on or received, received, decided if rejected else end_pos)
        if isinstance(st, _NEEDS_STARTED):
            pos = clamp(on or start_pos or received, start_pos, end_pos)
            if isinstance(st, S.Onward) and r.ref is not None:
                onward_pos[r.ref] = pos
            return pos
        if isinstance(st, (S.PartnerReport, S.FollowUp)):
            return max(on or received, onward_pos.get(st.onward, received))
        return on or received

    # onward referrals first, so their updates can be placed after them
    order = sorted(range(len(history)), key=lambda i: not isinstance(history[i].step, S.Onward))
    pos = {i: position(history[i]) for i in order}
    keyed = sorted(range(len(history)), key=lambda i: (pos[i], _RANK.get(type(history[i].step), 8), i))
    return [history[i] for i in keyed]


def replay(base: L.JourneyFacts, history: Sequence[Recorded], today: date) -> Replay:
    """Every recorded step through ``steps.apply``, in order (``ordered``). Raises ``Refused``."""
    f = base
    changes: dict[str, S.Changes] = {}
    onward_keys: dict[int, int] = {}
    goal_keys: dict[int, int] = {}
    for r in ordered(history):
        st: Any = r.step
        try:
            if isinstance(st, S.GoalUpdate):
                st = replace(st, goal=goal_keys[st.goal])
            elif isinstance(st, (S.PartnerReport, S.FollowUp)):
                st = replace(st, onward=onward_keys[st.onward])
        except KeyError:
            raise Refused(r.key, r.step, DomainError("That step refers to a record that is not there.")) from None
        try:
            ch = S.apply(f, st, today)
        except DomainError as exc:
            raise Refused(r.key, r.step, exc) from None
        if r.ref is not None and ch.key is not None:
            if isinstance(st, S.Onward):
                onward_keys[r.ref] = ch.key
            elif isinstance(st, S.Goal):
                goal_keys[r.ref] = ch.key
        changes[r.key] = ch
        f = ch.facts
    return Replay(f, changes, onward_keys, goal_keys)


def changed_fields(old: S.Step, new: S.Step) -> tuple[str, ...]:
    """The attributes that differ (the caller's ``tag`` aside), the date first."""
    names = [f.name for f in fields(old) if f.name != "tag"]
    out = [n for n in names if getattr(old, n) != getattr(new, n)]
    out.sort(key=lambda n: n != date_field(old))
    return tuple(out)


def amend(base: L.JourneyFacts, history: Sequence[Recorded], amendment: Amend, today: date) -> Amended:
    """Replay the history with the recorded step ``amendment.key`` replaced; both replays, or ``DomainError``.

    A refusal of the amended step names its own field; a refusal of another step says which step
    no longer fits and names the amended field that moved it (the date when it changed).
    """
    old = next((r for r in history if r.key == amendment.key), None)
    if old is None:
        raise DomainError("That record is no longer there: reload the journey.", field="state")
    new = amendment.step
    if type(new) is not type(old.step):
        raise DomainError(f"An amended {WHAT.get(type(old.step), 'step')} stays one.", field="state")
    changed = changed_fields(old.step, new)
    if not changed:
        raise DomainError("Nothing is changed: change a value, or cancel.", field=date_field(new))
    why = check_text(amendment.why, "why", max_len=WHY_MAX, multiline=True, required=True) or ""
    try:
        before = replay(base, history, today)
    except Refused as exc:
        what = WHAT.get(type(exc.step), "step")
        raise DomainError(
            f"This journey's record does not replay as it stands (its {what}: {exc.message}); "
            "ask an admin to look at it.",
            field="state",
        ) from None
    amended = [Recorded(r.key, new, r.ref) if r.key == old.key else r for r in history]
    amended, moved = _move_measures_taken_with(amended, old.step, new)
    try:
        after = replay(base, amended, today)
    except Refused as exc:
        if exc.key == old.key:
            raise DomainError(exc.message, field=field_of(new, exc.field) or changed[0]) from None
        what = WHAT.get(type(exc.step), "step")
        on = date_of(exc.step)
        at = f" of {on.isoformat()}" if on else ""
        raise DomainError(f"The {what}{at} would no longer fit: {exc.message}", field=changed[0]) from None
    return Amended(before, after, old.key, new, old.step, why, changed, moved)


def _move_measures_taken_with(
    history: list[Recorded], old: S.Step, new: S.Step
) -> tuple[list[Recorded], tuple[str, ...]]:
    """A start's or a closure's date corrected: the measures taken with it (SWEMWBS at the start, or at
    the end, dated the day it was recorded for) were taken that day too, and move with it."""
    if not isinstance(old, (S.Start, S.Close)) or not isinstance(new, (S.Start, S.Close)) or old.on == new.on:
        return history, ()
    point = "start" if isinstance(old, S.Start) else "end"
    out: list[Recorded] = []
    moved: list[str] = []
    for r in history:
        st = r.step
        if isinstance(st, S.Measure) and st.point == point and st.on == old.on:
            out.append(Recorded(r.key, replace(st, on=new.on), r.ref))
            moved.append(r.key)
        else:
            out.append(r)
    return out, tuple(moved)


def journey_columns(f: L.JourneyFacts) -> dict[str, Any]:
    """The journey's stored columns that follow from its facts (enum values as strings)."""
    cols = {
        "received_date": f.received_date,
        "decision": f.decision,
        "decision_date": f.decision_date,
        "reject_reason": f.reject_reason,
        "start_date": f.start_date,
        "end_date": f.end_date,
        "end_reason": f.end_reason,
        "first_contact_date": f.first_contact_date,
        "last_contact_date": f.last_contact_date,
        "last_review_date": f.last_review_date,
        "state": f.state,
        "state_since": L.state_since(f),
    }
    return {k: (v.value if isinstance(v, L.StrEnum) else v) for k, v in cols.items()}


def journey_delta(a: Amended) -> dict[str, Any]:
    """The journey columns the amendment changes: those that follow from the facts, and the
    amended step's own (a referral's referrer and reason, a closure's evidence)."""
    old, new = journey_columns(a.before.facts), journey_columns(a.after.facts)
    out = {k: v for k, v in new.items() if old[k] != v}
    own_before = a.before.changes[a.key].journey
    for k, v in a.after.changes[a.key].journey.items():
        if k not in new and own_before.get(k) != v:
            out[k] = v
    return out


ONWARD_COLUMNS = (
    "status",
    "referral_date",
    "start_date",
    "end_date",
    "last_update_date",
    "first_update_date",
    "feedback_pending_since",
    "programme_id",
)


def onward_delta(a: Amended) -> dict[int, dict[str, Any]]:
    """For each onward referral (by ref) the columns the amendment changes."""
    out: dict[int, dict[str, Any]] = {}
    for ref in a.after.onward_keys:
        if ref not in a.before.onward_keys:
            continue
        old, new = a.before.onward(ref), a.after.onward(ref)
        cols = {}
        for k in ONWARD_COLUMNS:
            v = getattr(new, k)
            if getattr(old, k) != v:
                cols[k] = v.value if isinstance(v, L.StrEnum) else v
        if cols:
            out[ref] = cols
    return out
