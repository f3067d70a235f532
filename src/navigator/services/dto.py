"""Plain frozen dataclasses the services return (safe to pass between threads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class Option:
    """A choice in a picker: a stable code or id, and what people read."""

    id: int
    code: str
    name: str
    active: bool = True


@dataclass(frozen=True)
class LocalityOption:
    id: int
    name: str
    lot_id: int
    lot_code: str
    lot_name: str
    active: bool = True


@dataclass(frozen=True)
class ProgrammeOption:
    id: int
    partner_id: int
    partner: str
    name: str
    expected_response_days: int
    active: bool = True

    @property
    def label(self) -> str:
        return f"{self.partner}: {self.name}"


@dataclass(frozen=True)
class UserOption:
    id: int
    username: str
    name: str
    role: str
    active: bool
    lots: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReferenceData:
    lots: tuple[Option, ...]
    localities: tuple[LocalityOption, ...]
    sources: tuple[Option, ...]
    support_areas: tuple[Option, ...]
    outcomes: tuple[Option, ...]
    programmes: tuple[ProgrammeOption, ...]
    navigators: tuple[UserOption, ...]


@dataclass(frozen=True)
class ClientSummary:
    id: int
    client_ref: str
    first_name: str
    last_name: str
    date_of_birth: date
    postcode: str | None
    nhs_number: str | None
    locality: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class ClientDetail:
    id: int
    client_ref: str
    first_name: str
    last_name: str
    date_of_birth: date
    postcode: str | None
    nhs_number: str | None
    phone: str | None
    email: str | None
    address: str | None
    preferred_method: str | None
    imd_decile: int | None
    consent_to_share: bool
    locality_id: int
    locality: str
    lot: str
    version: int

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class JourneyRef:
    journey_id: int
    client_id: int
    client_ref: str
    state: str


@dataclass(frozen=True)
class JourneySummary:
    id: int
    received_date: date
    state: str
    state_label: str
    navigator: str
    source: str
    end_date: date | None
    end_reason: str | None


@dataclass(frozen=True)
class TimelineEvent:
    on: date
    at: datetime | None
    kind: str  # contact, decision, start, goal, review, measure, onward, partner, close, reassign, received, note
    text: str
    who: str


@dataclass(frozen=True)
class GoalView:
    id: int
    outcome: str
    statement: str
    target_date: date | None
    status: str
    status_label: str
    notes: tuple[tuple[date, str, str], ...]  # (date, note, who)
    version: int


@dataclass(frozen=True)
class MeasureView:
    id: int
    kind: str
    point: str
    on: date
    items: tuple[int, ...]
    raw: int
    metric: Decimal | None
    change_since_start: Decimal | None
    label: str  # meaningful improvement / deterioration / maintained or improved / declined / ""


@dataclass(frozen=True)
class OnwardView:
    id: int
    programme_id: int
    partner: str
    programme: str
    referral_date: date
    status: str
    start_date: date | None
    end_date: date | None
    last_update_date: date | None
    feedback_pending_since: date | None
    updates: tuple[tuple[date, str, str], ...]  # (date, kind, note)
    version: int
    chases: tuple[tuple[date, str, str], ...] = ()  # issue 15: (date, method, note), oldest first
    unanswered_chases: int = 0  # chases since the partner's last update


@dataclass(frozen=True)
class TaskView:
    id: int
    journey_id: int
    kind: str
    label: str
    due_date: date
    detail: str
    overdue: bool


@dataclass(frozen=True)
class JourneyDetail:
    id: int
    client: ClientDetail
    journeys: tuple[JourneySummary, ...]  # every journey of this person, newest first
    received_date: date
    state: str
    state_label: str
    state_since: date
    navigator_id: int
    navigator: str
    navigator_name: str
    source_code: str
    source: str
    referrer: str | None
    reason: str | None
    support_areas: tuple[str, ...]
    locality: str
    lot: str
    first_contact_date: date | None
    last_contact_date: date | None
    decision: str | None
    decision_date: date | None
    reject_reason: str | None
    start_date: date | None
    end_date: date | None
    end_reason: str | None
    outcome_evidence: str | None
    under_17: bool
    available_actions: frozenset[str]
    end_reasons: tuple[str, ...]  # those that fit the current state
    timeline: tuple[TimelineEvent, ...]
    goals: tuple[GoalView, ...]
    measures: tuple[MeasureView, ...]
    onward: tuple[OnwardView, ...]
    tasks: tuple[TaskView, ...]
    response_working_days: int | None
    wait_working_days: int | None
    version: int
    meaningful_threshold: Decimal = Decimal("3")
    risk_flag: bool = False  # issue 15: in crisis or at risk (domain/risk.py), and where they were signposted
    signposted_to: str | None = None
    referrer_told_date: date | None = None  # issue 15: when and how the referrer was told of the end
    referrer_told_how: str | None = None
    referrer_letter: str | None = None  # the letter that tells the referrer (letters.referrer_letter)


@dataclass(frozen=True)
class CaseloadRow:
    journey_id: int
    client_id: int
    client_ref: str
    client_name: str
    locality: str
    state: str
    state_label: str
    days_in_state: int  # working days
    next_action: str | None
    next_due: date | None
    last_contact: date | None
    navigator: str
    risk_flag: bool = False  # issue 15: the journey is flagged in crisis or at risk


@dataclass(frozen=True)
class CaseloadPage:
    rows: tuple[CaseloadRow, ...]
    total: int
    offset: int


@dataclass(frozen=True)
class TodayItem:
    task_id: int
    journey_id: int
    client_ref: str
    client_name: str
    kind: str
    group: str  # the group label on Today
    what: str  # what to do
    due_date: date
    overdue_days: int  # working days overdue (0 = due today)
    waited_days: int | None = None  # for waiting to start: working days since accepted
    risk_flag: bool = False  # issue 15: the journey is flagged in crisis or at risk
    task_key: str = ""  # issue 15: the follow-up's key (a chase's names its onward referral: followups.onward_of)


@dataclass(frozen=True)
class TodayView:
    on: date
    navigator: str
    items: tuple[TodayItem, ...]
    counts: tuple[tuple[str, int], ...] = field(default_factory=tuple)  # (group, count) in order


@dataclass(frozen=True)
class FindHit:
    client_id: int
    client_ref: str
    name: str
    date_of_birth: date | None  # None, like postcode and NHS number, until a reason is given (not mine)
    postcode: str | None
    nhs_number: str | None
    locality: str
    latest_journey_id: int | None
    latest_state: str | None
    navigator: str | None
    mine: bool  # in my caseload (no reason needed to open)
