"""One person, one open journey: finding a person's open journey, and adding a further referral to it.

A referral for someone whose journey is still open (``lifecycle.OPEN_STATES``) is refused by
intake (``OpenJourneyExists``) unless the user confirms a second journey; the new-referral form
offers ``attach_referral`` instead, which records the further referral on the open journey.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from navigator.domain import lifecycle as L
from navigator.domain import steps as S
from navigator.domain.errors import DomainError, NotFound, ValidationErrors
from navigator.domain.text import check_text
from navigator.services import access, audit
from navigator.services.casework.records import check_referral_details, check_version, code_id, sync_tasks
from navigator.services.context import Ctx
from navigator.services.dto import JourneyRef
from navigator.store.ids import row_id
from navigator.store.models import Client, Journey, JourneySupportArea, ReferralSource, User

if TYPE_CHECKING:
    from navigator.services.casework.intake import ReferralInput


@dataclass(frozen=True)
class OpenJourney:
    """A person's journey that is still open (received, accepted or started)."""

    journey_id: int
    client_id: int
    client_ref: str
    name: str
    received_date: date
    state: str
    state_label: str
    state_since: date
    navigator: str  # the navigator's name
    risk_flag: bool

    def describe(self) -> str:
        return (
            f"{self.client_ref} {self.name} already has an open journey: {self.state_label.lower()} since "
            f"{self.state_since.isoformat()} (received {self.received_date.isoformat()}, navigator {self.navigator})"
        )


class OpenJourneyExists(DomainError):
    """A referral for someone whose journey is still open: attach it, or confirm a second journey."""

    def __init__(self, open_journey: OpenJourney) -> None:
        super().__init__(
            open_journey.describe() + ". Add this referral to that journey, or confirm a second journey.",
            field="open_journey",
        )
        self.open_journey = open_journey


def find_open_journey(s: Session, client_id: int) -> OpenJourney | None:
    row = s.exec(
        select(Journey, Client, User.name)
        .join(Client, col(Client.id) == col(Journey.client_id))
        .join(User, col(User.id) == col(Journey.navigator_id))
        .where(Journey.client_id == client_id, col(Journey.state).in_([st.value for st in L.OPEN_STATES]))
        .order_by(col(Journey.received_date).desc(), col(Journey.id).desc())
    ).first()
    if row is None:
        return None
    j, c, nav = row
    state = L.State(j.state)
    return OpenJourney(
        row_id(j.id),
        row_id(c.id),
        c.client_ref,
        f"{c.first_name} {c.last_name}",
        j.received_date,
        state.value,
        L.STATE_LABELS[state],
        j.state_since,
        nav,
        bool(j.risk_flag),
    )


def open_journey_of(ctx: Ctx, client_id: int) -> OpenJourney | None:
    """For the new-referral form: the person's open journey, if they have one (its newest)."""
    with ctx.read() as s:
        return find_open_journey(s, client_id)


def attach_referral(ctx: Ctx, journey_id: int, data: ReferralInput, expected_version: int | None = None) -> JourneyRef:
    """A further referral for someone whose journey is open, added to that journey instead of a second one.

    The journey's reason gains a dated paragraph (who referred, from which source, why); the new
    support areas are added; a risk flag given with it is set on the journey (never cleared here).
    Audited as ``journey.referral_attached``.
    """
    with ctx.write() as s:
        journey = s.get(Journey, journey_id, with_for_update=True)
        if journey is None:
            raise NotFound("That journey does not exist (it may have been removed).")
        client = s.get(Client, journey.client_id)
        assert client is not None
        actor = ctx.actor(s)
        if not actor.is_admin and not (
            journey.navigator_id == actor.id or access.in_my_lots(actor, access.lot_of_locality(s, client.locality_id))
        ):
            raise access.AccessDenied("This person lives outside your lots; ask their team lead to refer them.")
        check_version(s, journey, expected_version, "journey")
        if not L.State(journey.state).is_open:
            raise DomainError("That journey is closed: a new referral opens a new journey.", field="open_journey")
        errors: dict[str, str] = {}
        today = ctx.today()
        if data.received_date is None:
            errors["received_date"] = "Required."
        elif data.received_date > today:
            errors["received_date"] = "A referral cannot be received in the future."
        elif data.received_date < journey.received_date:
            errors["received_date"] = (
                f"The open journey was received on {journey.received_date.isoformat()}: "
                "a further referral cannot be dated before it."
            )
        source = None
        try:
            source = s.get(ReferralSource, code_id(s, ReferralSource, data.source, "referral source", "source"))
        except DomainError as exc:
            errors["source"] = exc.message
        details = check_referral_details(s, data, errors)
        referrer, reason, flagged, signposted = (
            details.referrer,
            details.reason,
            details.risk_flag,
            details.signposted_to,
        )
        area_ids = details.support_area_ids
        if errors:
            raise ValidationErrors(errors)
        assert data.received_date is not None and source is not None
        who = ", ".join(x for x in (source.name, referrer) if x)
        paragraph = f"Further referral received {data.received_date.isoformat()} ({who})" + (
            f": {reason}" if reason else "."
        )
        combined = f"{journey.reason}\n\n{paragraph}" if journey.reason else paragraph
        reason_all = check_text(combined, "reason", max_len=S.NOTE_MAX, multiline=True)
        before: dict[str, Any] = {"reason": journey.reason, "risk_flag": journey.risk_flag}
        journey.reason = reason_all
        if flagged:
            before["signposted_to"] = journey.signposted_to
            journey.risk_flag = True
            old = journey.signposted_to
            journey.signposted_to = (
                f"{old}\n\n{signposted}" if old and signposted and signposted not in old else signposted
            )
        have = set(
            s.exec(select(JourneySupportArea.support_area_id).where(JourneySupportArea.journey_id == journey.id))
        )
        added = [a for a in dict.fromkeys(area_ids) if a not in have]
        for area_id in added:
            s.add(JourneySupportArea(journey_id=row_id(journey.id), support_area_id=area_id))
        journey.version += 1
        journey.updated_at = ctx.now()
        s.add(journey)
        s.flush()
        if flagged:
            sync_tasks(s, ctx, journey, client)  # a journey at risk is followed up differently (followups.py)
        after: dict[str, Any] = {
            "reason": journey.reason,
            "risk_flag": journey.risk_flag,
            "further_referral": {
                "received_date": data.received_date,
                "source_id": source.id,
                "referrer": referrer,
                "support_area_ids": added,
            },
        }
        if flagged:
            after["signposted_to"] = journey.signposted_to
        audit.record(
            s,
            ctx,
            "journey.referral_attached",
            "journey",
            journey.id,
            client_id=client.id,
            journey_id=journey.id,
            before=before,
            after=after,
        )
        return JourneyRef(row_id(journey.id), row_id(client.id), client.client_ref, journey.state)
