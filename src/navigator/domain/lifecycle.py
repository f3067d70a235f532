"""The rules of a journey, in one place.

A journey moves only along the domain's steps:

    received -> (contact attempts) -> accepted | rejected -> started -> completed
    received | accepted -> closed without start (no response, declined, ...)
    started -> ended early (no response, withdrew, moved away, ...)

Every action is a pure function over ``JourneyFacts``: it checks what the step
needs and returns the field changes, or raises ``DomainError`` with a message a
navigator understands. The services, the import, the TUI and the tests all go
through these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TypeVar

from navigator.domain.dates import age_on
from navigator.domain.errors import DomainError

MIN_AGE = 17
_D = TypeVar("_D")


class State(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    STARTED = "started"
    COMPLETED = "completed"
    CLOSED_WITHOUT_START = "closed_without_start"
    ENDED_EARLY = "ended_early"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATES


STATE_LABELS = {
    State.RECEIVED: "Received",
    State.ACCEPTED: "Accepted, waiting to start",
    State.REJECTED: "Rejected",
    State.STARTED: "Started",
    State.COMPLETED: "Completed",
    State.CLOSED_WITHOUT_START: "Closed without start",
    State.ENDED_EARLY: "Ended early",
}
# State groups: every list of states anywhere in the code comes from these.
OPEN_STATES = frozenset({State.RECEIVED, State.ACCEPTED, State.STARTED})
ACTIVE_STATES = frozenset({State.ACCEPTED, State.STARTED})  # accepted and not yet closed
WAITING_STATES = frozenset({State.ACCEPTED})  # accepted, waiting to start
CLOSED_STATES = frozenset({State.COMPLETED, State.CLOSED_WITHOUT_START, State.ENDED_EARLY})
FINISHED_STATES = CLOSED_STATES | {State.REJECTED}  # nothing more happens: closed or rejected


def sql_in(states: Iterable[str]) -> str:
    """A group of states (or statuses) as the inside of an SQL ``IN (...)``: ``'accepted', 'started'``.

    The values are this module's own enum values (never user input), in a stable order.
    """
    return ", ".join(f"'{s}'" for s in sorted(str(s) for s in states))


class Decision(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class RejectReason(StrEnum):
    UNDER_17 = "under_17"
    IN_CRISIS = "in_crisis"
    OUT_OF_AREA = "out_of_area"
    NEEDS_SECONDARY_CARE = "needs_secondary_care"
    DUPLICATE = "duplicate"
    OTHER = "other"


REJECT_LABELS = {
    RejectReason.UNDER_17: "Under 17",
    RejectReason.IN_CRISIS: "In crisis (signposted to crisis support)",
    RejectReason.OUT_OF_AREA: "Out of area",
    RejectReason.NEEDS_SECONDARY_CARE: "Needs secondary care",
    RejectReason.DUPLICATE: "Duplicate referral",
    RejectReason.OTHER: "Other",
}


class EndReason(StrEnum):
    COMPLETED = "completed"
    NO_RESPONSE = "no_response"
    DECLINED = "declined"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    NOT_AWARE_OF_REFERRAL = "not_aware_of_referral"
    WITHDREW = "withdrew"
    MOVED_AWAY = "moved_away"
    ESCALATED_SECONDARY_CARE = "escalated_secondary_care"
    OTHER = "other"


END_LABELS = {
    EndReason.COMPLETED: "Completed",
    EndReason.NO_RESPONSE: "No response",
    EndReason.DECLINED: "Declined",
    EndReason.INSUFFICIENT_INFORMATION: "Insufficient information from referrer",
    EndReason.NOT_AWARE_OF_REFERRAL: "Not aware of the referral",
    EndReason.WITHDREW: "Withdrew",
    EndReason.MOVED_AWAY: "Moved away",
    EndReason.ESCALATED_SECONDARY_CARE: "Escalated to secondary care",
    EndReason.OTHER: "Other",
}

END_REASONS_WITHOUT_START = (
    EndReason.NO_RESPONSE,
    EndReason.DECLINED,
    EndReason.INSUFFICIENT_INFORMATION,
    EndReason.NOT_AWARE_OF_REFERRAL,
    EndReason.MOVED_AWAY,
    EndReason.OTHER,
)
END_REASONS_AFTER_START = (
    EndReason.COMPLETED,
    EndReason.NO_RESPONSE,
    EndReason.WITHDREW,
    EndReason.MOVED_AWAY,
    EndReason.ESCALATED_SECONDARY_CARE,
    EndReason.OTHER,
)


class ContactMethod(StrEnum):
    PHONE = "phone"
    TEXT = "text"
    EMAIL = "email"
    LETTER = "letter"
    VISIT = "visit"


class ContactOutcome(StrEnum):
    SPOKE = "spoke"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong_number"
    SENT = "sent"  # a letter, text or email went out; no reply yet

    @property
    def successful(self) -> bool:
        return self is ContactOutcome.SPOKE


OUTCOME_LABELS = {
    ContactOutcome.SPOKE: "Spoke",
    ContactOutcome.NO_ANSWER: "No answer",
    ContactOutcome.VOICEMAIL: "Voicemail",
    ContactOutcome.WRONG_NUMBER: "Wrong number",
    ContactOutcome.SENT: "Sent (letter, text or email)",
}


class Action(StrEnum):
    CONTACT = "contact"
    DECIDE = "decide"
    START = "start"
    CLOSE = "close"
    PLAN = "plan"
    MEASURE = "measure"
    ONWARD = "onward"
    REASSIGN = "reassign"


@dataclass(frozen=True)
class JourneyFacts:
    """What the rules need to know about one journey.

    ``received_date`` is None only before the ``Receive`` step (``JourneyFacts.unreceived``).
    ``goals`` and ``onwards`` map a key (the row id in the services, the index in a bulk
    replay) to the facts of each goal and onward referral; the steps that need them
    (``steps.GoalUpdate``, ``steps.PartnerReport``, ``steps.FollowUp``) look them up there.
    """

    received_date: date | None
    date_of_birth: date
    decision: Decision | None = None
    decision_date: date | None = None
    reject_reason: RejectReason | None = None
    start_date: date | None = None
    end_date: date | None = None
    end_reason: EndReason | None = None
    first_contact_date: date | None = None
    last_contact_date: date | None = None
    consent_to_share: bool = False
    # The latest onward referral, review or measure (a journey cannot end before it).
    last_activity_date: date | None = None
    last_review_date: date | None = None
    goals: Mapping[int, GoalFacts] = field(default_factory=dict, hash=False)
    onwards: Mapping[int, OnwardFacts] = field(default_factory=dict, hash=False)

    @classmethod
    def unreceived(cls, date_of_birth: date, consent_to_share: bool = False) -> JourneyFacts:
        """A person's journey before its referral is received: only ``steps.Receive`` applies."""
        return cls(received_date=None, date_of_birth=date_of_birth, consent_to_share=consent_to_share)

    @property
    def state(self) -> State:
        return state_of(self)

    def with_changes(self, changes: dict) -> JourneyFacts:
        known = {k: v for k, v in changes.items() if k in self.__dataclass_fields__}
        return evolve(self, **known)


def evolve(obj: _D, **changes: object) -> _D:
    """``dataclasses.replace`` for this module's frozen dataclasses (no slots, no ``__post_init__``),
    several times faster: a bulk replay makes one per step."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    new.__dict__.update(changes)
    return new


def state_of(f: JourneyFacts) -> State:
    if f.decision == Decision.REJECTED:
        return State.REJECTED
    if f.end_date is not None:
        if f.start_date is None:
            return State.CLOSED_WITHOUT_START
        return State.COMPLETED if f.end_reason == EndReason.COMPLETED else State.ENDED_EARLY
    if f.start_date is not None:
        return State.STARTED
    if f.decision == Decision.ACCEPTED:
        return State.ACCEPTED
    return State.RECEIVED


def state_since(f: JourneyFacts) -> date | None:
    """The date the journey's current state counts from (stored as ``journey.state_since``)."""
    s = state_of(f)
    if s in CLOSED_STATES:
        return f.end_date
    if s == State.STARTED:
        return f.start_date
    if s in (State.ACCEPTED, State.REJECTED):
        return f.decision_date
    return f.received_date


def available_actions(f: JourneyFacts) -> frozenset[Action]:
    s = state_of(f)
    if s == State.RECEIVED:
        return frozenset({Action.CONTACT, Action.DECIDE, Action.CLOSE, Action.REASSIGN})
    if s == State.ACCEPTED:
        return frozenset({Action.CONTACT, Action.START, Action.CLOSE, Action.REASSIGN})
    if s == State.STARTED:
        acts = {Action.CONTACT, Action.CLOSE, Action.PLAN, Action.MEASURE, Action.REASSIGN}
        if f.consent_to_share:
            acts.add(Action.ONWARD)
        return frozenset(acts)
    return frozenset()


def _not_future(d: date, today: date, field: str, what: str) -> None:
    if not isinstance(d, date):
        raise DomainError(f"Give the {what} date.", field=field)
    if d > today:
        raise DomainError(f"The {what} date cannot be in the future.", field=field)


def _not_before(d: date, floor: date | None, field: str, what: str, floor_what: str) -> None:
    if floor is not None and d < floor:
        raise DomainError(f"The {what} date cannot be before the {floor_what} ({floor.isoformat()}).", field=field)


def _require(f: JourneyFacts, states: Iterable[State], doing: str) -> State:
    s = state_of(f)
    if s not in states:
        raise DomainError(f"Cannot {doing}: this journey is {s.label.lower()}.", field="state")
    return s


def check_receive(received: date, dob: date, today: date) -> None:
    _not_future(received, today, "received_date", "received")
    if dob > received:
        raise DomainError("The date of birth is after the referral was received.", field="date_of_birth")
    if dob.year < 1900:
        raise DomainError("Dates before 1900 are not accepted.", field="date_of_birth")


def is_under_age(f: JourneyFacts) -> bool:
    assert f.received_date is not None
    return age_on(f.date_of_birth, f.received_date) < MIN_AGE


def log_contact(f: JourneyFacts, on: date, method: ContactMethod, outcome: ContactOutcome, today: date) -> dict:
    _require(f, OPEN_STATES, "log a contact")
    ContactMethod(method)
    outcome = ContactOutcome(outcome)
    _not_future(on, today, "date", "contact")
    _not_before(on, f.received_date, "date", "contact", "referral date")
    changes: dict = {}
    if f.last_contact_date is None or on > f.last_contact_date:
        changes["last_contact_date"] = on
    if outcome.successful and (f.first_contact_date is None or on < f.first_contact_date):
        changes["first_contact_date"] = on
    return changes


def decide(f: JourneyFacts, decision: Decision, on: date, today: date, reason: RejectReason | None = None) -> dict:
    _require(f, {State.RECEIVED}, "record a decision")
    decision = Decision(decision)
    _not_future(on, today, "decision_date", "decision")
    _not_before(on, f.received_date, "decision_date", "decision", "referral date")
    _not_before(on, f.first_contact_date, "decision_date", "decision", "first contact")
    under = is_under_age(f)
    if decision == Decision.ACCEPTED:
        if reason is not None:
            raise DomainError("An accepted referral has no rejection reason.", field="reject_reason")
        if under:
            raise DomainError(
                f"Cannot accept: the person was under {MIN_AGE} when the referral was received. "
                "Reject it with reason 'under 17'.",
                field="decision",
            )
        return {"decision": decision, "decision_date": on, "reject_reason": None}
    if reason is None:
        raise DomainError("Give the reason for rejecting the referral.", field="reject_reason")
    reason = RejectReason(reason)
    if reason == RejectReason.UNDER_17 and not under:
        raise DomainError(
            f"The person was {age_on(f.date_of_birth, f.received_date)} when referred, not under 17.",  # type: ignore[arg-type]
            field="reject_reason",
        )
    return {"decision": decision, "decision_date": on, "reject_reason": reason}


def start(f: JourneyFacts, on: date, today: date) -> dict:
    _require(f, {State.ACCEPTED}, "start")
    _not_future(on, today, "start_date", "start")
    _not_before(on, f.decision_date, "start_date", "start", "decision")
    return {"start_date": on}


def close(f: JourneyFacts, on: date, reason: EndReason, today: date, evidence: str | None = None) -> dict:
    s = _require(f, OPEN_STATES, "close")
    reason = EndReason(reason)
    allowed = END_REASONS_AFTER_START if s == State.STARTED else END_REASONS_WITHOUT_START
    if reason not in allowed:
        if s == State.STARTED:
            msg = f"A started journey cannot end as '{END_LABELS[reason].lower()}'."
        else:
            msg = f"A journey that never started cannot close as '{END_LABELS[reason].lower()}'."
        raise DomainError(msg, field="end_reason")
    _not_future(on, today, "end_date", "end")
    floor = max(
        d
        for d in (
            f.received_date,
            f.decision_date,
            f.start_date,
            f.first_contact_date,
            f.last_contact_date,
            f.last_activity_date,
        )
        if d
    )
    _not_before(on, floor, "end_date", "end", "journey's last step")
    if reason == EndReason.COMPLETED and not (evidence and evidence.strip()):
        raise DomainError("Completion needs evidence of the outcomes achieved.", field="evidence")
    return {"end_date": on, "end_reason": reason}


def check_plan_change(f: JourneyFacts) -> None:
    _require(f, {State.STARTED}, "change the action plan")


def check_measure(f: JourneyFacts, point: str, on: date, today: date) -> None:
    if point not in ("start", "review", "end"):
        raise DomainError("A measure is taken at start, review or end.", field="point")
    _require(f, {State.STARTED}, "record a measure")
    _not_future(on, today, "date", "measure")
    _not_before(on, f.received_date, "date", "measure", "referral date")


def check_onward(f: JourneyFacts, on: date, today: date) -> None:
    _require(f, {State.STARTED}, "make an onward referral")
    if not f.consent_to_share:
        raise DomainError(
            "The person has not consented to share their details: record consent before referring on.",
            field="consent",
        )
    _not_future(on, today, "referral_date", "onward referral")
    _not_before(on, f.start_date, "referral_date", "onward referral", "start")


def check_reassign(f: JourneyFacts) -> None:
    _require(f, OPEN_STATES, "reassign")


# ---------------------------------------------------------------- onward referrals


class OnwardStatus(StrEnum):
    MADE = "made"
    STARTED = "started"
    COMPLETED = "completed"
    WITHDREW = "withdrew"
    DID_NOT_START = "did_not_start"
    DECLINED = "declined"


OPEN_ONWARD = frozenset({OnwardStatus.MADE, OnwardStatus.STARTED})  # the partner has more to report


class PartnerUpdate(StrEnum):
    STARTED = "started"
    ATTENDANCE = "attendance"
    COMPLETED = "completed"
    WITHDREW = "withdrew"
    DID_NOT_START = "did_not_start"
    DECLINED = "declined"


PARTNER_UPDATE_LABELS = {
    PartnerUpdate.STARTED: "Started",
    PartnerUpdate.ATTENDANCE: "Attendance",
    PartnerUpdate.COMPLETED: "Completed",
    PartnerUpdate.WITHDREW: "Withdrew / no longer wishes to attend",
    PartnerUpdate.DID_NOT_START: "Did not start",
    PartnerUpdate.DECLINED: "Declined",
}

# Updates after which the navigator must follow the person up.
NEEDS_FOLLOW_UP = frozenset({PartnerUpdate.WITHDREW, PartnerUpdate.DID_NOT_START, PartnerUpdate.DECLINED})

_ONWARD_NEXT = {
    OnwardStatus.MADE: {PartnerUpdate.STARTED, PartnerUpdate.DID_NOT_START, PartnerUpdate.DECLINED},
    OnwardStatus.STARTED: {PartnerUpdate.ATTENDANCE, PartnerUpdate.COMPLETED, PartnerUpdate.WITHDREW},
}


@dataclass(frozen=True)
class OnwardFacts:
    status: OnwardStatus
    referral_date: date
    start_date: date | None = None
    end_date: date | None = None
    last_update_date: date | None = None
    first_update_date: date | None = None
    feedback_pending_since: date | None = None  # a partner said the person stopped: follow them up
    programme_id: int | None = None


def partner_update(o: OnwardFacts, kind: PartnerUpdate, on: date, today: date) -> dict:
    kind = PartnerUpdate(kind)
    allowed = _ONWARD_NEXT.get(o.status, set())
    if kind not in allowed:
        if not allowed:
            raise DomainError(f"This onward referral is already {o.status.value.replace('_', ' ')}.", field="kind")
        names = ", ".join(sorted(PARTNER_UPDATE_LABELS[a].split(" /")[0].lower() for a in allowed))
        raise DomainError(f"After '{o.status.value.replace('_', ' ')}' the partner can report: {names}.", field="kind")
    _not_future(on, today, "date", "update")
    _not_before(on, o.referral_date, "date", "update", "onward referral")
    _not_before(on, o.start_date, "date", "update", "programme start")
    changes: dict = {"last_update_date": max(on, o.last_update_date) if o.last_update_date else on}
    if kind == PartnerUpdate.STARTED:
        changes.update(status=OnwardStatus.STARTED, start_date=on)
    elif kind in (PartnerUpdate.COMPLETED, PartnerUpdate.WITHDREW, PartnerUpdate.DID_NOT_START, PartnerUpdate.DECLINED):
        changes.update(status=OnwardStatus(kind.value), end_date=on)
    return changes


# ---------------------------------------------------------------- plan goals


class GoalStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    ACHIEVED = "achieved"
    NOT_ACHIEVED = "not_achieved"


GOAL_LABELS = {
    GoalStatus.NOT_STARTED: "Not started",
    GoalStatus.IN_PROGRESS: "In progress",
    GoalStatus.ACHIEVED: "Achieved",
    GoalStatus.NOT_ACHIEVED: "Not achieved",
}
OPEN_GOALS = frozenset({GoalStatus.NOT_STARTED, GoalStatus.IN_PROGRESS})  # still being worked on


def ending_updates(status: OnwardStatus) -> tuple[PartnerUpdate, ...]:
    """The partner reports that end an onward referral in ``status`` (none once it has ended)."""
    ending = (PartnerUpdate.COMPLETED, PartnerUpdate.WITHDREW, PartnerUpdate.DID_NOT_START, PartnerUpdate.DECLINED)
    return tuple(k for k in ending if k in _ONWARD_NEXT.get(OnwardStatus(status), set()))


@dataclass(frozen=True)
class GoalFacts:
    status: GoalStatus
    statement: str
    target_date: date | None = None
    outcome_id: int | None = None


def check_goal_statement(statement: str) -> str:
    s = statement.strip()
    if not s:
        raise DomainError("Write the goal as the person's own 'I' statement.", field="statement")
    first = s.split()[0].lower().strip(",.'\u2019")
    if first not in ("i", "i'd", "i'll", "i'm", "i've", "i\u2019d", "i\u2019ll", "i\u2019m", "i\u2019ve", "my"):
        raise DomainError(
            "Write the goal in the person's own words, starting with 'I' (e.g. 'I want to...').", field="statement"
        )
    return s
