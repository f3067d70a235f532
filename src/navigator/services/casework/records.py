"""A journey's rows as the casework services load and write them.

Loading a journey with its access check and version check, its facts for the domain's
rules (``facts``; ``step_facts`` adds its latest activity, goals and onward referrals),
writing a step's journey columns (``write_step``; and its measurement, ``with_measure``, and onward referral's,
``write_onward``, ``add_partner_report``), keeping follow-ups in step with the protocol, the
look-ups of reference data by code or name, and the checks of a referral's details
(``check_referral_details``: a new referral and a further one). Shared by journeys.py, closing.py,
intake.py and open_journey.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from navigator.domain import lifecycle as L
from navigator.domain import risk
from navigator.domain import steps as S
from navigator.domain.errors import (
    ConflictError,
    DomainError,
    NotFound,
)
from navigator.domain.followups import (
    Attempt,
    FollowUpFacts,
    OnwardInfo,
    chase_facts,
    desired_tasks,
    has_referrer,
)
from navigator.domain.text import check_text
from navigator.services import access, audit
from navigator.services.context import Ctx, as_date, protocol
from navigator.store.ids import row_id
from navigator.store.models import (
    AuditEvent,
    Client,
    ContactAttempt,
    Journey,
    Locality,
    Measurement,
    OnwardReferral,
    PartnerChase,
    PartnerUpdateRow,
    PlanGoal,
    PlanReview,
    Programme,
    ReferralSource,
    SupportArea,
    Task,
    User,
)

if TYPE_CHECKING:
    from navigator.services.casework.intake import ReferralInput

JOURNEY_FIELDS = (
    "received_date",
    "decision",
    "decision_date",
    "reject_reason",
    "start_date",
    "end_date",
    "end_reason",
    "first_contact_date",
    "last_contact_date",
    "state",
    "navigator_id",
    "outcome_evidence",
    "last_review_date",
)
CLIENT_FIELDS = (
    "client_ref",
    "first_name",
    "last_name",
    "date_of_birth",
    "postcode",
    "nhs_number",
    "phone",
    "email",
    "address",
    "preferred_method",
    "imd_decile",
    "consent_to_share",
    "locality_id",
)


# ---------------------------------------------------------------- helpers


def snapshot(obj, fields: Iterable[str]) -> dict:
    return {f: getattr(obj, f) for f in fields}


def facts(journey: Journey, client: Client) -> L.JourneyFacts:
    return L.JourneyFacts(
        received_date=journey.received_date,
        date_of_birth=client.date_of_birth,
        decision=L.Decision(journey.decision) if journey.decision else None,
        decision_date=journey.decision_date,
        reject_reason=L.RejectReason(journey.reject_reason) if journey.reject_reason else None,
        start_date=journey.start_date,
        end_date=journey.end_date,
        end_reason=L.EndReason(journey.end_reason) if journey.end_reason else None,
        first_contact_date=journey.first_contact_date,
        last_contact_date=journey.last_contact_date,
        consent_to_share=client.consent_to_share,
    )


def step_facts(session: Session, journey: Journey, client: Client) -> L.JourneyFacts:
    """Everything the step rules may ask about a journey: ``facts`` plus its latest activity,
    last review, goals and onward referrals (keyed by row id)."""
    jid = journey.id
    activity = [
        session.exec(select(func.max(OnwardReferral.referral_date)).where(OnwardReferral.journey_id == jid)).one(),
        session.exec(select(func.max(PlanReview.on_date)).where(PlanReview.journey_id == jid)).one(),
        session.exec(select(func.max(Measurement.on_date)).where(Measurement.journey_id == jid)).one(),
    ]
    goals = {
        row_id(g.id): L.GoalFacts(L.GoalStatus(g.status), g.statement, g.target_date, g.outcome_id)
        for g in session.exec(select(PlanGoal).where(PlanGoal.journey_id == jid)).all()
    }
    onwards = {
        row_id(o.id): L.OnwardFacts(
            L.OnwardStatus(o.status),
            o.referral_date,
            o.start_date,
            o.end_date,
            o.last_update_date,
            o.first_update_date,
            o.feedback_pending_since,
            o.programme_id,
        )
        for o in session.exec(select(OnwardReferral).where(OnwardReferral.journey_id == jid)).all()
    }
    return replace(
        facts(journey, client),
        last_activity_date=max((d for d in map(as_date, activity) if d), default=None),
        last_review_date=journey.last_review_date,
        goals=goals,
        onwards=onwards,
    )


def load_journey(
    session: Session, ctx: Ctx, journey_id: int, expected_version: int | None = None
) -> tuple[Journey, Client]:
    # FOR UPDATE (PostgreSQL; nothing on SQLite, whose writes are serial): two saves on one journey
    # take turns, so the second sees the first's change (and its version) instead of overwriting it.
    journey = session.get(Journey, journey_id, with_for_update=True)
    if journey is None:
        raise NotFound("That journey does not exist (it may have been removed).")
    access.require_journey(session, ctx.actor(session), journey)
    check_version(session, journey, expected_version, "journey")
    client = session.get(Client, journey.client_id)
    assert client is not None
    return journey, client


def check_version(session: Session, row, expected: int | None, entity: str) -> None:
    if expected is None or row.version == expected:
        return
    last = session.exec(
        select(AuditEvent)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == row.id)
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    ).first()
    who = last.username if last else "someone else"
    when = last.at.strftime("%Y-%m-%d %H:%M") if last else "an unknown time"
    raise ConflictError(
        f"This record was changed by {who} at {when} since you opened it. "
        "Your entry is kept: reload to see their change, then save again.",
        field="version",
    )


def apply_changes(ctx: Ctx, journey: Journey, changes: S.Changes) -> None:
    """Write a step's journey columns (the domain gives the state and the date it counts from)."""
    for k, v in changes.journey.items():
        setattr(journey, k, v)
    journey.version += 1
    journey.updated_at = ctx.now()


def sync_tasks(session: Session, ctx: Ctx, journey: Journey, client: Client) -> None:
    """Keep the stored follow-ups in step with what the protocol says is due."""
    attempts = tuple(
        Attempt(on, outcome == L.ContactOutcome.SPOKE.value)
        for on, outcome in session.exec(
            select(col(ContactAttempt.on_date), col(ContactAttempt.outcome)).where(
                ContactAttempt.journey_id == journey.id
            )
        ).all()
    )
    # issue 15: the chases of each onward referral (they schedule the next chase; not the partner's activity)
    chased: dict[int, list[date]] = {}
    for onward_id, on in session.exec(
        select(col(PartnerChase.onward_id), col(PartnerChase.on_date))
        .join(OnwardReferral, col(OnwardReferral.id) == col(PartnerChase.onward_id))
        .where(OnwardReferral.journey_id == journey.id)
    ).all():
        chased.setdefault(onward_id, []).append(on)
    onward = tuple(
        OnwardInfo(
            row_id(o.id),
            o.status in L.OPEN_ONWARD,
            o.last_update_date or o.referral_date,
            days,
            o.feedback_pending_since,
            *chase_facts(chased.get(row_id(o.id), []), o.last_update_date),
        )
        for o, days in session.exec(
            select(OnwardReferral, Programme.expected_response_days)
            .join(Programme, col(Programme.id) == col(OnwardReferral.programme_id))
            .where(OnwardReferral.journey_id == journey.id)
        ).all()
    )
    source = session.get(ReferralSource, journey.source_id)
    ff = FollowUpFacts(
        facts(journey, client),
        attempts,
        journey.last_review_date,
        onward,
        risk_flag=bool(journey.risk_flag),
        referrer_to_tell=has_referrer(journey.referrer, source.code if source else None),
        referrer_told=journey.referrer_told_date,
    )
    wanted = {t.key: t for t in desired_tasks(ff, protocol(session), ctx.calendar(session))}
    existing = session.exec(select(Task).where(Task.journey_id == journey.id, Task.status == "open")).all()
    now = ctx.now()
    for task in existing:
        if task.key in wanted:
            wanted.pop(task.key)  # still due: it keeps the date it was given
        else:
            task.status = "done"
            task.closed_at = now
            session.add(task)
    for t in wanted.values():
        session.add(
            Task(
                journey_id=row_id(journey.id),
                kind=t.kind.value,
                key=t.key,
                due_date=t.due,
                detail=t.detail,
                status="open",
                created_at=now,
            )
        )


def write_step(
    session: Session,
    ctx: Ctx,
    journey: Journey,
    client: Client,
    changes: S.Changes,
    fields: Iterable[str] = JOURNEY_FIELDS,
) -> tuple[dict, dict]:
    """Write a step's journey columns and keep its follow-ups in step (in the caller's transaction);
    returns what changed of ``fields`` (``audit.diff``: before, after) for the journey's audit event."""
    fields = tuple(fields)
    before = snapshot(journey, fields)
    apply_changes(ctx, journey, changes)
    session.add(journey)
    session.flush()
    sync_tasks(session, ctx, journey, client)
    return audit.diff(before, snapshot(journey, fields))


def add_measurement(session: Session, ctx: Ctx, journey_id: int, row: Mapping) -> Measurement:
    """Add a step's measurement row (``Changes.measure``) to a journey, by the acting user."""
    m = Measurement(journey_id=journey_id, user_id=ctx.actor(session).id, created_at=ctx.now(), **row)
    session.add(m)
    session.flush()
    return m


def with_measure(session: Session, ctx: Ctx, journey: Journey, changes: S.Changes) -> dict:
    """Add the step's measurement, if it has one; what the journey's audit event says of it."""
    if changes.measure is None:
        return {}
    m = add_measurement(session, ctx, row_id(journey.id), changes.measure)
    return {"measure": {"id": m.id, "point": m.point, "raw": m.raw}}


def write_onward(session: Session, ctx: Ctx, o: OnwardReferral, changes: S.Changes) -> None:
    """Write a step's changes to an onward referral's columns (a new version)."""
    for key, value in (changes.onward or {}).items():
        setattr(o, key, value)
    o.version += 1
    o.updated_at = ctx.now()
    session.add(o)


def add_partner_report(session: Session, ctx: Ctx, o: OnwardReferral, changes: S.Changes, user_id: int) -> None:
    """Record a partner's report (``steps.PartnerReport``) on an onward referral and write its changes."""
    assert changes.record is not None  # a partner report is always recorded
    session.add(PartnerUpdateRow(onward_id=row_id(o.id), user_id=user_id, created_at=ctx.now(), **changes.record))
    write_onward(session, ctx, o, changes)


def code_id(session: Session, model, code: str | None, what: str, field_: str) -> int:
    if not code:
        raise DomainError(f"Choose the {what}.", field=field_)
    key = str(code).strip().lower()
    row = session.exec(select(model).where(or_(func.lower(model.code) == key, func.lower(model.name) == key))).first()
    if row is None or not row.active:
        raise DomainError(f"Unknown {what} '{code}'.", field=field_)
    return row.id


def active_user(session: Session, username: str, field_: str = "navigator") -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise DomainError(f"There is no user '{username}'.", field=field_)
    if not user.active:
        raise DomainError(f"{user.name} is deactivated; choose an active navigator.", field=field_)
    return user


def locality_named(session: Session, value: int | str | None) -> Locality:
    if value is None or value == "":
        raise DomainError("Choose the locality.", field="locality")
    if isinstance(value, int):
        loc = session.get(Locality, value)
    else:
        loc = session.exec(select(Locality).where(func.lower(Locality.name) == str(value).strip().lower())).first()
    if loc is None or not loc.active:
        raise DomainError(f"'{value}' is not a served locality.", field="locality")
    return loc


@dataclass(frozen=True)
class ReferralDetails:
    """A referral's details, checked: the referrer and reason as cleaned, the risk flag and where the
    person was signposted, and the support areas' ids."""

    referrer: str | None
    reason: str | None
    risk_flag: bool
    signposted_to: str | None
    support_area_ids: list[int]


def check_referral_details(session: Session, data: ReferralInput, errors: dict[str, str]) -> ReferralDetails:
    """Check a referral's referrer, reason, risk flag and support areas, adding each refusal to
    ``errors`` by field (what is refused is left empty)."""
    referrer = reason = None
    try:
        referrer = check_text(data.referrer, "referrer", max_len=S.REFERRER_MAX)
    except DomainError as exc:
        errors["referrer"] = exc.message
    try:
        reason = check_text(data.reason, "reason", max_len=S.NOTE_MAX, multiline=True)
    except DomainError as exc:
        errors["reason"] = exc.message
    flagged, signposted = False, None
    try:
        flagged, signposted = risk.check_risk(data.risk_flag, data.signposted_to)
    except DomainError as exc:
        errors[exc.field or "signposted_to"] = exc.message
    area_ids = []
    for code in data.support_areas:
        try:
            area_ids.append(code_id(session, SupportArea, code, "support area", "support_areas"))
        except DomainError as exc:
            errors["support_areas"] = exc.message
    return ReferralDetails(referrer, reason, flagged, signposted, area_ids)
