"""The no-response protocol and other schedules, turned into due follow-ups.

``desired_tasks`` is a pure function: given what is known of a journey it
returns the follow-ups that should be open now, each with a stable key. The
services keep the stored tasks in step with it: a task that is still wanted
keeps the due date it was given (so a protocol change applies only to
follow-ups scheduled after it), a new one is added, one no longer wanted is
marked done.

Every due date is a working day (``WorkingCalendar.add``): a decision or a partner's report dated
on a weekend or bank holiday makes its follow-up due on the next working day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from navigator.domain.lifecycle import ContactMethod, JourneyFacts, State, state_of
from navigator.domain.workdays import WorkingCalendar


class TaskKind(StrEnum):
    FIRST_CONTACT = "first_contact"
    CONTACT_ATTEMPT = "contact_attempt"
    NO_RESPONSE_CLOSE = "no_response_close"
    DECIDE = "decide"
    WAITING_TO_START = "waiting_to_start"
    PLAN_REVIEW = "plan_review"
    CHASE_PARTNER = "chase_partner"
    PARTNER_FEEDBACK = "partner_feedback"

    @property
    def label(self) -> str:
        return TASK_LABELS[self]


TASK_LABELS = {
    TaskKind.FIRST_CONTACT: "Awaiting first contact",
    TaskKind.CONTACT_ATTEMPT: "Next contact attempt",
    TaskKind.NO_RESPONSE_CLOSE: "Due for no-response closure",
    TaskKind.DECIDE: "Decision to record",
    TaskKind.WAITING_TO_START: "Accepted, waiting to start",
    TaskKind.PLAN_REVIEW: "Plan review due",
    TaskKind.CHASE_PARTNER: "Chase partner for an update",
    TaskKind.PARTNER_FEEDBACK: "Partner feedback to follow up",
}

# The order Today shows its groups in.
TODAY_ORDER = (
    TaskKind.FIRST_CONTACT,
    TaskKind.CONTACT_ATTEMPT,
    TaskKind.NO_RESPONSE_CLOSE,
    TaskKind.DECIDE,
    TaskKind.WAITING_TO_START,
    TaskKind.PLAN_REVIEW,
    TaskKind.PARTNER_FEEDBACK,
    TaskKind.CHASE_PARTNER,
)


@dataclass(frozen=True)
class Protocol:
    """The service's no-response protocol and review schedule (configuration)."""

    attempts: int = 3
    first_within: int = 2  # working days after receipt for attempt 1
    gaps: tuple[int, ...] = (2, 2)  # working days between attempts
    methods: tuple[str, ...] = ("phone", "phone", "letter")  # suggested method per attempt
    opt_in_days: int = 10  # after the last attempt, before closure as no response
    notify_referrer: bool = True
    decide_within: int = 2  # working days after first contact to record a decision
    review_every: int = 30  # working days between plan reviews
    partner_response_days: int = 10  # default expected partner response

    def __post_init__(self) -> None:
        from navigator.domain.errors import DomainError

        if not 1 <= self.attempts <= 10:
            raise DomainError("The protocol needs between 1 and 10 attempts.", field="attempts")
        if len(self.gaps) != self.attempts - 1:
            raise DomainError(f"Give {self.attempts - 1} gaps between {self.attempts} attempts.", field="gaps")
        if len(self.methods) != self.attempts:
            raise DomainError(f"Give a method for each of the {self.attempts} attempts.", field="methods")
        for m in self.methods:
            if m not in ContactMethod.__members__.values():
                raise DomainError(f"Unknown contact method '{m}'.", field="methods")
        for name in ("first_within", "opt_in_days", "decide_within", "review_every", "partner_response_days"):
            if not 0 <= getattr(self, name) <= 250:
                raise DomainError("Use between 0 and 250 working days.", field=name)
        if any(not 0 <= g <= 250 for g in self.gaps):
            raise DomainError("Gaps are between 0 and 250 working days.", field="gaps")

    def to_dict(self) -> dict:
        return {
            "attempts": self.attempts,
            "first_within": self.first_within,
            "gaps": list(self.gaps),
            "methods": list(self.methods),
            "opt_in_days": self.opt_in_days,
            "notify_referrer": self.notify_referrer,
            "decide_within": self.decide_within,
            "review_every": self.review_every,
            "partner_response_days": self.partner_response_days,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Protocol:
        d = dict(data)
        if "gaps" in d:
            d["gaps"] = tuple(int(g) for g in d["gaps"])
        if "methods" in d:
            d["methods"] = tuple(str(m) for m in d["methods"])
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class Attempt:
    on: date
    successful: bool


@dataclass(frozen=True)
class OnwardInfo:
    id: int
    open: bool  # made or started
    last_activity: date  # referral date or latest partner update
    expected_days: int
    feedback_pending_since: date | None = None  # a withdrew/declined/did-not-start not yet followed up


@dataclass(frozen=True)
class DesiredTask:
    kind: TaskKind
    key: str  # stable identity, e.g. "contact_attempt:2" or "chase_partner:17"
    due: date
    detail: str = ""


@dataclass(frozen=True)
class FollowUpFacts:
    journey: JourneyFacts
    attempts: tuple[Attempt, ...] = ()
    last_review: date | None = None
    onward: tuple[OnwardInfo, ...] = field(default_factory=tuple)


def trailing_unsuccessful(attempts: tuple[Attempt, ...]) -> list[Attempt]:
    """Unsuccessful attempts since the last successful contact, in date order."""
    ordered = sorted(attempts, key=lambda a: a.on)
    out: list[Attempt] = []
    for a in ordered:
        if a.successful:
            out = []
        else:
            out.append(a)
    return out


def days_overdue(due: date, on: date, cal: WorkingCalendar) -> int:
    """How late a follow-up is on ``on``, in working days: 0 when it is due that day (or later);
    otherwise the working days from its due date up to the day before, and never less than 1.

    A follow-up due on Friday is 1 day late on Saturday, Sunday and Monday, 2 on Tuesday; nothing
    past its due date is ever "overdue by 0 days", whatever day (weekend, bank holiday) ``on`` is.
    """
    if due >= on:
        return 0
    return max(cal.count(due - timedelta(days=1), on - timedelta(days=1)), 1)


def desired_tasks(facts: FollowUpFacts, protocol: Protocol, cal: WorkingCalendar) -> list[DesiredTask]:
    j = facts.journey
    s = state_of(j)
    if not s.is_open or j.received_date is None:  # None: not yet received (steps.Receive)
        return []
    tasks: list[DesiredTask] = []
    chasing = trailing_unsuccessful(facts.attempts)
    ever_spoke = any(a.successful for a in facts.attempts) or j.first_contact_date is not None
    if s == State.RECEIVED and not ever_spoke and not chasing:
        tasks.append(
            DesiredTask(
                TaskKind.FIRST_CONTACT,
                "contact_attempt:1",
                cal.add(j.received_date, protocol.first_within),
                f"Attempt 1 of {protocol.attempts}: {protocol.methods[0]}",
            )
        )
    elif chasing:
        # Chasing applies before first contact and when an engaged person stops responding.
        n = len(chasing)
        if n < protocol.attempts:
            tasks.append(
                DesiredTask(
                    TaskKind.CONTACT_ATTEMPT,
                    f"contact_attempt:{n + 1}",
                    cal.add(chasing[-1].on, protocol.gaps[n - 1]),
                    f"Attempt {n + 1} of {protocol.attempts}: {protocol.methods[n]}",
                )
            )
        else:
            tasks.append(
                DesiredTask(
                    TaskKind.NO_RESPONSE_CLOSE,
                    "no_response_close",
                    cal.add(chasing[-1].on, protocol.opt_in_days),
                    f"{protocol.attempts} attempts unanswered; opt-in period over",
                )
            )
    if s == State.RECEIVED and ever_spoke and not chasing:
        spoke_on = j.first_contact_date or max(a.on for a in facts.attempts if a.successful)
        tasks.append(
            DesiredTask(
                TaskKind.DECIDE, "decide", cal.add(spoke_on, protocol.decide_within), "Accept or reject the referral"
            )
        )
    if s == State.ACCEPTED:
        assert j.decision_date is not None
        tasks.append(
            DesiredTask(
                TaskKind.WAITING_TO_START,
                "waiting_to_start",
                cal.add(j.decision_date, 0),
                "Arrange the start (sign-up)",
            )
        )
    if s == State.STARTED:
        assert j.start_date is not None
        base = max(j.start_date, facts.last_review) if facts.last_review else j.start_date
        tasks.append(
            DesiredTask(
                TaskKind.PLAN_REVIEW,
                f"plan_review:{base.isoformat()}",
                cal.add(base, protocol.review_every),
                "Review the wellbeing action plan",
            )
        )
        for o in facts.onward:
            if o.feedback_pending_since is not None:
                tasks.append(
                    DesiredTask(
                        TaskKind.PARTNER_FEEDBACK,
                        f"partner_feedback:{o.id}",
                        cal.add(o.feedback_pending_since, 0),
                        "The partner reported the person stopped; follow up",
                    )
                )
            elif o.open:
                tasks.append(
                    DesiredTask(
                        TaskKind.CHASE_PARTNER,
                        f"chase_partner:{o.id}:{o.last_activity.isoformat()}",
                        cal.add(o.last_activity, o.expected_days),
                        "No update from the partner; chase them",
                    )
                )
    return tasks
