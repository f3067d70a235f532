"""The no-response protocol and other schedules, turned into due follow-ups.

``desired_tasks`` is a pure function: given what is known of a journey it
returns the follow-ups that should be open now, each with a stable key. The
services keep the stored tasks in step with it: a task that is still wanted
keeps the due date it was given (so a protocol change applies only to
follow-ups scheduled after it), a new one is added, one no longer wanted is
marked done.

A closed or rejected journey has one follow-up left, telling its referrer (``TELL_REFERRER``, until
``FollowUpFacts.referrer_told``); a chase of a partner schedules the next chase; a journey at risk is
never closed for no response by the protocol (``closes_automatically``).

Every due date is a working day (``WorkingCalendar.add``): a decision or a partner's report dated
on a weekend or bank holiday makes its follow-up due on the next working day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from navigator.domain.lifecycle import ContactMethod, EndReason, JourneyFacts, State, state_of
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
    TELL_REFERRER = "tell_referrer"  # issue 15: a closed or rejected journey's referrer, not yet told

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
    TaskKind.TELL_REFERRER: "Tell the referrer",
}

# The order Today shows its groups in.
TODAY_ORDER = (
    TaskKind.FIRST_CONTACT,
    TaskKind.CONTACT_ATTEMPT,
    TaskKind.NO_RESPONSE_CLOSE,
    TaskKind.TELL_REFERRER,
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
    # issue 15: after this many chases with no reply from the partner, the team lead is told
    chase_limit: int = 3
    # issue 15: close journeys for no response when the opt-in period ends, when navigator runs
    # (False: they wait on Today for "close all due")
    auto_close_no_response: bool = True

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
        if isinstance(self.chase_limit, bool) or not 1 <= self.chase_limit <= 20:
            raise DomainError("Tell the team lead after between 1 and 20 unanswered chases.", field="chase_limit")
        if not isinstance(self.auto_close_no_response, bool):
            raise DomainError("Automatic no-response closure is on or off.", field="auto_close_no_response")

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
            "chase_limit": self.chase_limit,
            "auto_close_no_response": self.auto_close_no_response,
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
    # issue 15: chases recorded since the partner's last update (or since the referral), and the latest
    chases: int = 0
    last_chase: date | None = None


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
    # issue 15: at risk (never closed for no response by the protocol); someone to tell of a closure or
    # rejection (a named referrer, or a source other than self-referral: ``has_referrer``); when they were told
    risk_flag: bool = False
    referrer_to_tell: bool = False
    referrer_told: date | None = None


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
    if j.received_date is None:  # not yet received (steps.Receive)
        return []
    if not s.is_open:  # closed or rejected: the one follow-up left is telling the referrer
        return _tell_referrer(facts, protocol, cal)
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
            tasks.append(_no_response_close(facts, protocol, cal, chasing[-1].on))
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
                tasks.append(_chase_partner(o, protocol, cal))
    return tasks


# ---------------------------------------------------------------- issue 15: the loops a journey closes


AT_RISK_KEY = "no_response_close:at_risk"  # the no-response task of a journey at risk: for the team lead


def _no_response_close(facts: FollowUpFacts, protocol: Protocol, cal: WorkingCalendar, last: date) -> DesiredTask:
    """The opt-in period after the last unanswered attempt. A journey at risk is never closed by the
    protocol (``closes_automatically``): its task says so, under its own key, for the team lead."""
    due = cal.add(last, protocol.opt_in_days)
    if facts.risk_flag:
        detail = "At risk: not closed automatically; team lead to decide"
        return DesiredTask(TaskKind.NO_RESPONSE_CLOSE, AT_RISK_KEY, due, detail)
    detail = f"{protocol.attempts} attempts unanswered; opt-in period over"
    return DesiredTask(TaskKind.NO_RESPONSE_CLOSE, "no_response_close", due, detail)


def closes_automatically(task_key: str) -> bool:
    """May the protocol close this no-response task's journey by itself (never a journey at risk)?"""
    return task_key == "no_response_close"


def _chase_partner(o: OnwardInfo, protocol: Protocol, cal: WorkingCalendar) -> DesiredTask:
    """Chase a partner the programme's expected working days after its last update, or after the latest
    chase: a chase schedules the next one, but is not the partner's activity (their figures ignore it)."""
    since = max(o.last_activity, o.last_chase) if o.last_chase else o.last_activity
    if o.chases >= protocol.chase_limit:
        detail = f"{o.chases} chases unanswered (team lead told); chase again"
    elif o.chases:
        detail = f"Chased {o.chases} time{'s' if o.chases != 1 else ''}, no reply; chase again"
    else:
        detail = "No update from the partner; chase them"
    return DesiredTask(
        TaskKind.CHASE_PARTNER, f"chase_partner:{o.id}:{since.isoformat()}", cal.add(since, o.expected_days), detail
    )


def onward_of(task_key: str) -> int | None:
    """The onward referral a chase or partner-feedback task is about (its key names it), else None."""
    parts = task_key.split(":")
    if parts[0] in (TaskKind.CHASE_PARTNER.value, TaskKind.PARTNER_FEEDBACK.value) and len(parts) > 1:
        return int(parts[1]) if parts[1].isdigit() else None
    return None


def chase_facts(chased_on: list[date] | tuple[date, ...], last_update: date | None) -> tuple[int, date | None]:
    """An onward referral's chases as ``OnwardInfo`` takes them: how many since the partner's last update
    (unanswered), and the latest."""
    return sum(1 for d in chased_on if last_update is None or d > last_update), max(chased_on, default=None)


def escalated(chases: int, protocol: Protocol) -> bool:
    """Has a partner left this many chases unanswered that the team lead is told?"""
    return chases >= protocol.chase_limit


SELF_REFERRAL = "self"  # the referral source with nobody else to tell


def has_referrer(referrer: str | None, source_code: str | None) -> bool:
    """Is there someone to tell of a closure or rejection: a named referrer, or a source other than self?"""
    return bool(referrer and referrer.strip()) or (source_code or "").lower() != SELF_REFERRAL


def _tell_referrer(facts: FollowUpFacts, protocol: Protocol, cal: WorkingCalendar) -> list[DesiredTask]:
    j = facts.journey
    if not protocol.notify_referrer or not facts.referrer_to_tell or facts.referrer_told is not None:
        return []
    s = state_of(j)
    on = j.decision_date if s == State.REJECTED else j.end_date
    if on is None:
        return []
    what = {State.REJECTED: "rejection letter"}.get(s, "closure letter")
    if s != State.REJECTED and j.end_reason == EndReason.NO_RESPONSE:
        what = "no-response letter"
    return [DesiredTask(TaskKind.TELL_REFERRER, "tell_referrer", cal.add(on, 0), f"Tell the referrer ({what})")]


class MessageMethod(StrEnum):
    """How a partner was chased, or a referrer told."""

    LETTER = "letter"
    PHONE = "phone"
    EMAIL = "email"
    SECURE_EMAIL = "secure_email"
    IN_PERSON = "in_person"

    @property
    def label(self) -> str:
        return MESSAGE_METHOD_LABELS[self]


MESSAGE_METHOD_LABELS = {
    MessageMethod.LETTER: "Letter",
    MessageMethod.PHONE: "Phone",
    MessageMethod.EMAIL: "Email",
    MessageMethod.SECURE_EMAIL: "Secure email",
    MessageMethod.IN_PERSON: "In person",
}


def check_referrer_told(j: JourneyFacts, on: date, how: str, today: date) -> MessageMethod:
    """The referrer of a closed or rejected journey was told ``on`` a day, ``how``: the method, or DomainError."""
    from navigator.domain.errors import DomainError

    s = state_of(j)
    if s.is_open or j.received_date is None:
        raise DomainError("The referrer is told once the journey is closed or the referral rejected.", field="state")
    try:
        method = MessageMethod(how)
    except ValueError:
        raise DomainError("Choose how the referrer was told (letter, phone, email...).", field="how") from None
    if not isinstance(on, date):
        raise DomainError("Give the date the referrer was told.", field="on")
    if on > today:
        raise DomainError("The date the referrer was told cannot be in the future.", field="on")
    since = j.decision_date if s == State.REJECTED else j.end_date
    if since is not None and on < since:
        what = "rejection" if s == State.REJECTED else "closure"
        raise DomainError(f"The referrer cannot be told before the {what} ({since.isoformat()}).", field="on")
    return method
