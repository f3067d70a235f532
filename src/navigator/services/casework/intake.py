"""Intake: people (checked, normalised, duplicates caught) and the referrals that open journeys.

The referral goes through the domain's ``steps.Receive`` like every other step. It may carry the
risk (crisis) flag with what the person was signposted to (``domain/risk.py``). One person, one
open journey: a referral for someone whose journey is still open is refused unless the user
confirms a second journey; ``attach_referral`` adds it to the open journey instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from navigator.domain import lifecycle as L
from navigator.domain import referral
from navigator.domain import steps as S
from navigator.domain.errors import (
    DomainError,
    DuplicatePerson,
    NotFound,
    ValidationErrors,
)
from navigator.domain.identifiers import (
    fold_name,
    normalise_nhs_number,
    normalise_phone,
    normalise_postcode,
)
from navigator.domain.text import check_text
from navigator.services import access, audit
from navigator.services.casework.open_journey import OpenJourneyExists, find_open_journey
from navigator.services.casework.records import (
    CLIENT_FIELDS,
    JOURNEY_FIELDS,
    active_user,
    check_referral_details,
    check_version,
    code_id,
    facts,
    locality_named,
    snapshot,
    sync_tasks,
)
from navigator.services.context import Ctx
from navigator.services.dto import ClientSummary, JourneyRef
from navigator.store.ids import row_id
from navigator.store.models import (
    Client,
    Journey,
    JourneySupportArea,
    Locality,
    ReferralSource,
)

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


def validate_client(session: Session, data: ClientInput, today: date, stored: Mapping[str, Any] | None = None) -> dict:
    """Check and normalise a person's details; ValidationErrors lists every problem at once.

    ``stored``: the person's details as saved (an edit). A postcode or phone number saved before
    today's checks is kept as it is while it is not changed, so it never blocks an unrelated edit.
    """
    errors: dict[str, str] = {}
    out: dict = {}

    def attempt(name, fn):
        try:
            out[name] = fn()
        except DomainError as exc:
            errors[exc.field or name] = exc.message

    def kept_or(name: str, typed: str | None, fn):
        saved = (stored or {}).get(name)
        if saved is not None and typed is not None and str(typed).strip() == saved:
            return lambda: saved  # unchanged: as saved, even if it no longer passes today's check
        return lambda: fn(typed)

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
    attempt("postcode", kept_or("postcode", data.postcode, normalise_postcode))
    attempt("nhs_number", lambda: normalise_nhs_number(data.nhs_number))
    attempt("phone", lambda: check_text(data.phone, "phone", max_len=40))
    if "phone" in out:
        attempt("phone", kept_or("phone", out["phone"], normalise_phone))
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
        out["locality_id"] = locality_named(session, data.locality).id
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
    conds: list[ColumnElement[bool]] = []
    if first_name and last_name and dob:
        conds.append(
            (col(Client.first_name_key) == fold_name(first_name))
            & (Client.last_name_key == fold_name(last_name))
            & (Client.date_of_birth == dob)
        )
    if nhs_number:
        conds.append(col(Client.nhs_number) == nhs_number)
    if not conds:
        return []
    q = select(Client, Locality.name).join(Locality, col(Locality.id) == col(Client.locality_id)).where(or_(*conds))
    if exclude_id is not None:
        q = q.where(Client.id != exclude_id)
    return [
        ClientSummary(
            row_id(c.id), c.client_ref, c.first_name, c.last_name, c.date_of_birth, c.postcode, c.nhs_number, loc
        )
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
    from navigator.store import pg_setup

    pg_setup.lock(session, pg_setup.CHAIN_LOCK)  # PostgreSQL: two intakes never count the same number
    ref = pg_setup.next_client_ref(session)  # PostgreSQL after pg-setup: counted over people you cannot see
    if ref is not None:
        return ref
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
        clean = validate_client(s, data, ctx.today(), stored={"postcode": client.postcode, "phone": client.phone})
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
    risk_flag: bool = False  # in crisis or at risk
    signposted_to: str | None = None  # required with the flag
    second_journey: bool = False  # the person has an open journey and the user wants another one anyway


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
        source_id = code_id(s, ReferralSource, data.source, "referral source", "source")
    except DomainError as exc:
        errors["source"] = exc.message
    try:
        navigator = active_user(s, data.navigator or actor.username)
    except DomainError as exc:
        errors["navigator"] = exc.message
    details = check_referral_details(s, data, errors)
    flagged, signposted, area_ids = details.risk_flag, details.signposted_to, details.support_area_ids
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
        if client is not None and not data.second_journey:
            open_one = find_open_journey(s, row_id(client.id))
            if open_one is not None:
                raise OpenJourneyExists(open_one)
    elif data.client is not None:
        try:
            clean = validate_client(s, data.client, today)
        except ValidationErrors as exc:
            errors.update(exc.errors)
    else:
        errors["client"] = "Enter the person, or choose an existing one."
    if errors:
        raise ValidationErrors(errors)
    assert data.received_date is not None  # else an error above
    if client:
        dob = client.date_of_birth
    else:
        assert clean is not None  # the person was entered and checked above
        dob = clean["date_of_birth"]
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
        client_id=row_id(client.id),
        locality_id=client.locality_id,
        # the person's attributes at the time of the referral (domain/referral.py): the return reads these
        lot_id=access.lot_of_locality(s, client.locality_id),
        imd_decile=client.imd_decile,
        age_band=referral.age_band(client.date_of_birth, data.received_date),
        attributes_basis=referral.BASIS_RECEIVED,
        navigator_id=row_id(navigator.id),
        source_id=source_id,
        **received,  # received_date, referrer, reason, state, state_since
        risk_flag=flagged,
        signposted_to=signposted,
        created_at=now,
        updated_at=now,
    )
    s.add(journey)
    s.flush()
    for area_id in dict.fromkeys(area_ids):
        s.add(JourneySupportArea(journey_id=row_id(journey.id), support_area_id=area_id))
    sync_tasks(s, ctx, journey, client)
    after = snapshot(journey, JOURNEY_FIELDS) | {"source_id": source_id, "support_area_ids": area_ids}
    if flagged:
        after |= {"risk_flag": True, "signposted_to": signposted}
    if data.second_journey and data.client_id is not None:
        after["second_open_journey"] = True  # confirmed by the user
    audit.record(
        s, ctx, "journey.receive", "journey", journey.id, client_id=client.id, journey_id=journey.id, after=after
    )
    return JourneyRef(row_id(journey.id), row_id(client.id), client.client_ref, journey.state)
