"""Casework writes: one function per action a user takes.

Each is one transaction: load (with an access check), ask the domain rules,
apply the changes, keep the follow-ups in step, and record an audit event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_
from sqlmodel import Session, select

from navigator.domain import lifecycle as L
from navigator.domain import referral
from navigator.domain import steps as S
from navigator.domain.errors import (
    ConflictError,
    DomainError,
    DuplicatePerson,
    NotFound,
    ValidationErrors,
)
from navigator.domain.followups import Attempt, FollowUpFacts, OnwardInfo, desired_tasks
from navigator.domain.identifiers import (
    fold_name,
    normalise_nhs_number,
    normalise_postcode,
)
from navigator.domain.text import check_text
from navigator.services import access, audit
from navigator.services.context import Ctx, protocol
from navigator.services.dto import ClientSummary, JourneyRef
from navigator.store.models import (
    AuditEvent,
    Client,
    ContactAttempt,
    GoalNote,
    Journey,
    JourneySupportArea,
    Locality,
    Measurement,
    OnwardReferral,
    PartnerUpdateRow,
    PersonalOutcome,
    PlanGoal,
    PlanReview,
    Programme,
    ReferralSource,
    SupportArea,
    Task,
    User,
)

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


def _date(value) -> date | None:
    return value if isinstance(value, date) or value is None else date.fromisoformat(str(value)[:10])


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
        g.id: L.GoalFacts(L.GoalStatus(g.status), g.statement, g.target_date, g.outcome_id)
        for g in session.exec(select(PlanGoal).where(PlanGoal.journey_id == jid)).all()
    }
    onwards = {
        o.id: L.OnwardFacts(
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
        last_activity_date=max((d for d in map(_date, activity) if d), default=None),
        last_review_date=journey.last_review_date,
        goals=goals,
        onwards=onwards,
    )


def _load(session: Session, ctx: Ctx, journey_id: int, expected_version: int | None = None) -> tuple[Journey, Client]:
    journey = session.get(Journey, journey_id)
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
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    who = last.username if last else "someone else"
    when = last.at.strftime("%Y-%m-%d %H:%M") if last else "an unknown time"
    raise ConflictError(
        f"This record was changed by {who} at {when} since you opened it. "
        "Your entry is kept: reload to see their change, then save again.",
        field="version",
    )


def _apply(ctx: Ctx, journey: Journey, changes: S.Changes) -> None:
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
            select(ContactAttempt.on_date, ContactAttempt.outcome).where(ContactAttempt.journey_id == journey.id)
        ).all()
    )
    onward = tuple(
        OnwardInfo(
            o.id, o.status in L.OPEN_ONWARD, o.last_update_date or o.referral_date, days, o.feedback_pending_since
        )
        for o, days in session.exec(
            select(OnwardReferral, Programme.expected_response_days)
            .join(Programme, Programme.id == OnwardReferral.programme_id)
            .where(OnwardReferral.journey_id == journey.id)
        ).all()
    )
    ff = FollowUpFacts(facts(journey, client), attempts, journey.last_review_date, onward)
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
                journey_id=journey.id,
                kind=t.kind.value,
                key=t.key,
                due_date=t.due,
                detail=t.detail,
                status="open",
                created_at=now,
            )
        )


def _code_id(session: Session, model, code: str | None, what: str, field_: str) -> int:
    if not code:
        raise DomainError(f"Choose the {what}.", field=field_)
    key = str(code).strip().lower()
    row = session.exec(select(model).where(or_(func.lower(model.code) == key, func.lower(model.name) == key))).first()
    if row is None or not row.active:
        raise DomainError(f"Unknown {what} '{code}'.", field=field_)
    return row.id


def _user_id(session: Session, username: str, field_: str = "navigator") -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise DomainError(f"There is no user '{username}'.", field=field_)
    if not user.active:
        raise DomainError(f"{user.name} is deactivated; choose an active navigator.", field=field_)
    return user


def _locality(session: Session, value: int | str | None) -> Locality:
    if value is None or value == "":
        raise DomainError("Choose the locality.", field="locality")
    if isinstance(value, int):
        loc = session.get(Locality, value)
    else:
        loc = session.exec(select(Locality).where(func.lower(Locality.name) == str(value).strip().lower())).first()
    if loc is None or not loc.active:
        raise DomainError(f"'{value}' is not a served locality.", field="locality")
    return loc


# ---------------------------------------------------------------- clients


@dataclass(frozen=True)
class ClientInput:
    first_name: str
    last_name: str
    date_of_birth: date | None
    locality: int | str | None
    postcode: str | None = None
    nhs_number: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    preferred_method: str | None = None
    imd_decile: int | None = None
    consent_to_share: bool = False
    client_ref: str | None = None


def validate_client(session: Session, data: ClientInput, today: date) -> dict:
    """Check and normalise a person's details; ValidationErrors lists every problem at once."""
    errors: dict[str, str] = {}
    out: dict = {}

    def attempt(name, fn):
        try:
            out[name] = fn()
        except DomainError as exc:
            errors[exc.field or name] = exc.message

    attempt("first_name", lambda: check_text(data.first_name, "first_name", max_len=100, required=True))
    attempt("last_name", lambda: check_text(data.last_name, "last_name", max_len=100, required=True))
    if data.date_of_birth is None:
        errors["date_of_birth"] = "Required."
    elif not isinstance(data.date_of_birth, date):
        errors["date_of_birth"] = "Give the date of birth as a date (YYYY-MM-DD or DD/MM/YYYY)."
    elif data.date_of_birth > today:
        errors["date_of_birth"] = "The date of birth cannot be in the future."
    elif data.date_of_birth.year < 1900:
        errors["date_of_birth"] = "Dates before 1900 are not accepted."
    else:
        out["date_of_birth"] = data.date_of_birth
    attempt("postcode", lambda: normalise_postcode(data.postcode))
    attempt("nhs_number", lambda: normalise_nhs_number(data.nhs_number))
    attempt("phone", lambda: check_text(data.phone, "phone", max_len=40))
    attempt("email", lambda: check_text(data.email, "email", max_len=200))
    if out.get("email") and "@" not in out["email"]:
        errors["email"] = "An email address has an @."
    attempt("address", lambda: check_text(data.address, "address", max_len=400))
    if data.preferred_method and data.preferred_method not in L.ContactMethod.__members__.values():
        errors["preferred_method"] = "Choose phone, text, email, letter or visit."
    out["preferred_method"] = data.preferred_method or None
    if data.imd_decile is not None and not (isinstance(data.imd_decile, int) and 1 <= data.imd_decile <= 10):
        errors["imd_decile"] = "The IMD decile is 1 to 10."
    out["imd_decile"] = data.imd_decile
    out["consent_to_share"] = bool(data.consent_to_share)
    try:
        out["locality_id"] = _locality(session, data.locality).id
    except DomainError as exc:
        errors["locality"] = exc.message
    if data.client_ref is not None:
        attempt("client_ref", lambda: check_text(data.client_ref, "client_ref", max_len=40, required=True))
    if errors:
        raise ValidationErrors(errors)
    return out


def find_duplicates(
    session: Session,
    first_name: str,
    last_name: str,
    dob: date | None,
    nhs_number: str | None,
    exclude_id: int | None = None,
) -> list[ClientSummary]:
    """People already in the store with the same name and date of birth, or the same NHS number."""
    conds = []
    if first_name and last_name and dob:
        conds.append(
            (Client.first_name_key == fold_name(first_name))
            & (Client.last_name_key == fold_name(last_name))
            & (Client.date_of_birth == dob)
        )
    if nhs_number:
        conds.append(Client.nhs_number == nhs_number)
    if not conds:
        return []
    q = select(Client, Locality.name).join(Locality, Locality.id == Client.locality_id).where(or_(*conds))
    if exclude_id is not None:
        q = q.where(Client.id != exclude_id)
    return [
        ClientSummary(c.id, c.client_ref, c.first_name, c.last_name, c.date_of_birth, c.postcode, c.nhs_number, loc)
        for c, loc in session.exec(q.limit(20)).all()
    ]


def check_duplicates(ctx: Ctx, data: ClientInput) -> list[ClientSummary]:
    """For forms: the existing people a new entry would duplicate (checked as you type)."""
    with ctx.read() as s:
        try:
            nhs = normalise_nhs_number(data.nhs_number)
        except DomainError:
            nhs = None
        return find_duplicates(s, data.first_name or "", data.last_name or "", data.date_of_birth, nhs)


def next_client_ref(session: Session) -> str:
    n = session.exec(select(func.count()).select_from(Client)).one() + 1
    while True:
        ref = f"NAV{n:06d}"
        if session.exec(select(Client.id).where(Client.client_ref == ref)).first() is None:
            return ref
        n += 1


def update_client(ctx: Ctx, client_id: int, data: ClientInput, expected_version: int | None = None) -> int:
    """Edit a person's details. Returns the new version."""
    with ctx.write() as s:
        client = s.get(Client, client_id)
        if client is None:
            raise NotFound("That person does not exist.")
        actor = ctx.actor(s)
        journeys = s.exec(select(Journey).where(Journey.client_id == client_id)).all()
        if not actor.is_admin and not any(
            access.can_see_journey(
                s, actor, navigator_id=j.navigator_id, locality_id=j.locality_id, client_id=client_id
            )
            for j in journeys
        ):
            raise access.AccessDenied("This person is not in your caseload.")
        check_version(s, client, expected_version, "client")
        clean = validate_client(s, data, ctx.today())
        dups = find_duplicates(
            s,
            clean["first_name"],
            clean["last_name"],
            clean["date_of_birth"],
            clean.get("nhs_number"),
            exclude_id=client_id,
        )
        if dups:
            raise DuplicatePerson(
                "Another person already has these details (same name and date of birth, or the same NHS number).",
                [d.id for d in dups],
            )
        before = snapshot(client, CLIENT_FIELDS)
        for k, v in clean.items():
            setattr(client, k, v)
        client.first_name_key = fold_name(client.first_name)
        client.last_name_key = fold_name(client.last_name)
        b, a = audit.diff(before, snapshot(client, CLIENT_FIELDS))
        if not a:
            return client.version
        client.version += 1
        client.updated_at = ctx.now()
        s.add(client)
        s.flush()
        audit.record(s, ctx, "client.update", "client", client.id, client_id=client.id, before=b, after=a)
        if "consent_to_share" in a:
            for j in journeys:
                if L.state_of(facts(j, client)).is_open:
                    sync_tasks(s, ctx, j, client)
        return client.version


# ---------------------------------------------------------------- referral


@dataclass(frozen=True)
class ReferralInput:
    received_date: date | None
    source: str | None  # code or name
    client: ClientInput | None = None  # a new person...
    client_id: int | None = None  # ...or an existing one
    navigator: str | None = None  # username; default: the acting user
    referrer: str | None = None
    reason: str | None = None
    support_areas: Sequence[str] = field(default_factory=tuple)  # codes
    allow_duplicate: bool = False  # the user looked at the matches and this is someone else


def receive_referral(ctx: Ctx, data: ReferralInput) -> JourneyRef:
    with ctx.write() as s:
        ref = _receive(s, ctx, data)
        return ref


def _receive(s: Session, ctx: Ctx, data: ReferralInput) -> JourneyRef:
    actor = ctx.actor(s)
    today = ctx.today()
    errors: dict[str, str] = {}
    if data.received_date is None:
        errors["received_date"] = "Required."
    try:
        source_id = _code_id(s, ReferralSource, data.source, "referral source", "source")
    except DomainError as exc:
        errors["source"] = exc.message
    try:
        navigator = _user_id(s, data.navigator or actor.username)
    except DomainError as exc:
        errors["navigator"] = exc.message
    try:
        check_text(data.referrer, "referrer", max_len=S.REFERRER_MAX)
    except DomainError as exc:
        errors["referrer"] = exc.message
    try:
        check_text(data.reason, "reason", max_len=S.NOTE_MAX, multiline=True)
    except DomainError as exc:
        errors["reason"] = exc.message
    area_ids = []
    for code in data.support_areas:
        try:
            area_ids.append(_code_id(s, SupportArea, code, "support area", "support_areas"))
        except DomainError as exc:
            errors["support_areas"] = exc.message
    client: Client | None = None
    clean: dict | None = None
    if data.client_id is not None:
        client = s.get(Client, data.client_id)
        if client is None:
            errors["client"] = "That person does not exist."
        elif not actor.is_admin:
            # A new referral for a known person: only within the user's lots (or their own person).
            lot_id = access.lot_of_locality(s, client.locality_id)
            own = s.exec(
                select(Journey.id).where(Journey.client_id == client.id, Journey.navigator_id == actor.id)
            ).first()
            if own is None and not access.in_my_lots(actor, lot_id):
                raise access.AccessDenied("This person lives outside your lots; ask their team lead to refer them.")
    elif data.client is not None:
        try:
            clean = validate_client(s, data.client, today)
        except ValidationErrors as exc:
            errors.update(exc.errors)
    else:
        errors["client"] = "Enter the person, or choose an existing one."
    if errors:
        raise ValidationErrors(errors)
    dob = client.date_of_birth if client else clean["date_of_birth"]
    received = S.apply(
        L.JourneyFacts.unreceived(dob), S.Receive(data.received_date, data.referrer, data.reason), today
    ).journey
    if clean is not None:
        dups = find_duplicates(
            s, clean["first_name"], clean["last_name"], clean["date_of_birth"], clean.get("nhs_number")
        )
        if dups and not data.allow_duplicate:
            raise DuplicatePerson(
                "This person may already be known: "
                + "; ".join(f"{d.client_ref} {d.name}, born {d.date_of_birth.isoformat()}" for d in dups[:3])
                + ". Open the existing person, or confirm this is someone else.",
                [d.id for d in dups],
            )
        if any(d.nhs_number and d.nhs_number == clean.get("nhs_number") for d in dups):
            raise DomainError("Another person already has this NHS number.", field="nhs_number")
        ref = clean.pop("client_ref", None) or next_client_ref(s)
        if s.exec(select(Client.id).where(Client.client_ref == ref)).first() is not None:
            raise DomainError(f"The reference {ref} is already used by another person.", field="client_ref")
        now = ctx.now()
        client = Client(
            client_ref=ref,
            first_name_key=fold_name(clean["first_name"]),
            last_name_key=fold_name(clean["last_name"]),
            created_at=now,
            updated_at=now,
            **clean,
        )
        s.add(client)
        s.flush()
        audit.record(
            s, ctx, "client.create", "client", client.id, client_id=client.id, after=snapshot(client, CLIENT_FIELDS)
        )
    assert client is not None
    if s.exec(
        select(Journey.id).where(Journey.client_id == client.id, Journey.received_date == data.received_date)
    ).first():
        raise DomainError("This person already has a referral received on that date.", field="received_date")
    now = ctx.now()
    journey = Journey(
        client_id=client.id,
        locality_id=client.locality_id,
        # the person's attributes at the time of the referral (domain/referral.py): the return reads these
        lot_id=access.lot_of_locality(s, client.locality_id),
        imd_decile=client.imd_decile,
        age_band=referral.age_band(client.date_of_birth, data.received_date),
        attributes_basis=referral.BASIS_RECEIVED,
        navigator_id=navigator.id,
        source_id=source_id,
        **received,  # received_date, referrer, reason, state, state_since
        created_at=now,
        updated_at=now,
    )
    s.add(journey)
    s.flush()
    for area_id in dict.fromkeys(area_ids):
        s.add(JourneySupportArea(journey_id=journey.id, support_area_id=area_id))
    sync_tasks(s, ctx, journey, client)
    after = snapshot(journey, JOURNEY_FIELDS) | {"source_id": source_id, "support_area_ids": area_ids}
    audit.record(
        s, ctx, "journey.receive", "journey", journey.id, client_id=client.id, journey_id=journey.id, after=after
    )
    return JourneyRef(journey.id, client.id, client.client_ref, journey.state)


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
        journey, client = _load(s, ctx, journey_id, expected_version)
        before = snapshot(journey, JOURNEY_FIELDS)
        ch = S.apply(step_facts(s, journey, client), step, ctx.today())
        extra = write(s, journey, ch) if write is not None else None
        _apply(ctx, journey, ch)
        s.add(journey)
        s.flush()
        sync_tasks(s, ctx, journey, client)
        b, a = audit.diff(before, snapshot(journey, JOURNEY_FIELDS))
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
        return JourneyRef(journey.id, client.id, client.client_ref, journey.state)


def _measurement(s: Session, ctx: Ctx, journey_id: int, row: Mapping) -> Measurement:
    m = Measurement(journey_id=journey_id, user_id=ctx.actor(s).id, created_at=ctx.now(), **row)
    s.add(m)
    s.flush()
    return m


def _with_measure(s: Session, ctx: Ctx, journey: Journey, ch: S.Changes) -> dict:
    if ch.measure is None:
        return {}
    m = _measurement(s, ctx, journey.id, ch.measure)
    return {"measure": {"id": m.id, "point": m.point, "raw": m.raw}}


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
    return _step(
        ctx, journey_id, "journey.start", step, lambda s, j, ch: _with_measure(s, ctx, j, ch), expected_version
    )


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
    return _step(
        ctx, journey_id, "journey.close", step, lambda s, j, ch: _with_measure(s, ctx, j, ch), expected_version
    )


def reassign(ctx: Ctx, journey_ids: Sequence[int], to_username: str) -> list[JourneyRef]:
    """Move one or many open journeys to another navigator (their follow-ups follow)."""
    if not journey_ids:
        raise DomainError("Choose at least one journey to reassign.", field="journeys")
    with ctx.write() as s:
        actor = ctx.actor(s)
        target = _user_id(s, to_username, "navigator")
        if target.role not in ("navigator", "team_lead", "admin"):
            raise DomainError("Journeys can only go to a navigator.", field="navigator")
        out = []
        for jid in journey_ids:
            journey, client = _load(s, ctx, jid)
            if not actor.is_team_lead and journey.navigator_id != actor.id:
                raise access.AccessDenied("Only a team lead can reassign someone else's journey.")
            L.check_reassign(facts(journey, client))
            if journey.navigator_id == target.id:
                out.append(JourneyRef(journey.id, client.id, client.client_ref, journey.state))
                continue
            before = {"navigator_id": journey.navigator_id}
            journey.navigator_id = target.id
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
            out.append(JourneyRef(journey.id, client.id, client.client_ref, journey.state))
        return out


# ---------------------------------------------------------------- plan


def add_goal(ctx: Ctx, journey_id: int, outcome: str, statement: str, target_date: date | None = None) -> int:
    with ctx.write() as s:
        journey, client = _load(s, ctx, journey_id)
        f = step_facts(s, journey, client)
        L.check_plan_change(f)  # the journey's state first, then the outcome named
        outcome_id = _code_id(s, PersonalOutcome, outcome, "personal outcome", "outcome")
        ch = S.apply(f, S.Goal(outcome_id, statement, target_date), ctx.today())
        now = ctx.now()
        goal = PlanGoal(journey_id=journey.id, created_at=now, updated_at=now, **ch.goal)
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
        return goal.id


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
) -> int:
    """Edit a goal, move its status, and/or add a progress note. Returns the new version."""
    with ctx.write() as s:
        goal = s.get(PlanGoal, goal_id)
        if goal is None:
            raise NotFound("That goal does not exist.")
        journey, client = _load(s, ctx, goal.journey_id)
        f = step_facts(s, journey, client)
        L.check_plan_change(f)
        check_version(s, goal, expected_version, "plan_goal")
        outcome_id = _code_id(s, PersonalOutcome, outcome, "personal outcome", "outcome") if outcome else None
        step = S.GoalUpdate(
            goal.id,
            on or ctx.today(),
            status,
            note,
            statement=statement,
            target_date=target_date,
            outcome_id=outcome_id,
        )
        ch = S.apply(f, step, ctx.today())
        before = snapshot(goal, GOAL_FIELDS)
        for k, v in (ch.goal or {}).items():
            setattr(goal, k, v)
        b, a = audit.diff(before, snapshot(goal, GOAL_FIELDS))
        if ch.record is not None:
            s.add(GoalNote(goal_id=goal.id, user_id=ctx.actor(s).id, created_at=ctx.now(), **ch.record))
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
        measure = _with_measure(s, ctx, journey, ch)
        return extra | measure

    step = S.Review(on, note, tuple(swemwbs_items) if swemwbs_items is not None else None)
    return _step(ctx, journey_id, "journey.review", step, write)


def record_measure(
    ctx: Ctx, journey_id: int, point: str, on: date, items: Sequence[int | None], kind: str = "swemwbs"
) -> int:
    with ctx.write() as s:
        journey, client = _load(s, ctx, journey_id)
        step = S.Measure(point, on, tuple(items) if items is not None else None, kind=kind)
        ch = S.apply(step_facts(s, journey, client), step, ctx.today())
        m = _measurement(s, ctx, journey.id, ch.measure or {})
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
        return m.id


# ---------------------------------------------------------------- onward referrals


def make_onward(ctx: Ctx, journey_id: int, programme_id: int, on: date, note: str | None = None) -> int:
    with ctx.write() as s:
        journey, client = _load(s, ctx, journey_id)
        prog = s.get(Programme, programme_id) if programme_id is not None else None
        active = prog.id if prog is not None and prog.active else None
        ch = S.apply(step_facts(s, journey, client), S.Onward(active, on, note), ctx.today())
        now = ctx.now()
        o = OnwardReferral(journey_id=journey.id, created_at=now, updated_at=now, **ch.onward)
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
        return o.id


def _load_onward(s: Session, ctx: Ctx, onward_id: int) -> tuple[OnwardReferral, Journey, Client]:
    o = s.get(OnwardReferral, onward_id)
    if o is None:
        raise NotFound("That onward referral does not exist.")
    journey, client = _load(s, ctx, o.journey_id)
    return o, journey, client


def _write_onward(s: Session, ctx: Ctx, o: OnwardReferral, journey: Journey, client: Client, ch: S.Changes) -> None:
    for key, value in (ch.onward or {}).items():
        setattr(o, key, value)
    o.version += 1
    o.updated_at = ctx.now()
    s.add(o)
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
        ch = S.apply(step_facts(s, journey, client), S.PartnerReport(o.id, kind, on, note), ctx.today())
        before = {"status": o.status, "start_date": o.start_date, "end_date": o.end_date}
        s.add(PartnerUpdateRow(onward_id=o.id, user_id=ctx.actor(s).id, created_at=ctx.now(), **ch.record))
        _write_onward(s, ctx, o, journey, client, ch)
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
        ch = S.apply(step_facts(s, journey, client), S.FollowUp(o.id, ctx.today(), note), ctx.today())
        _write_onward(s, ctx, o, journey, client, ch)
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
