"""Who may see and change what. Enforced here, in the services, not only hidden in the TUI.

- navigator: their own caseload, plus journeys of a person in their lots that
  they opened through Find with a stated reason (an audited access grant);
- team_lead: every journey in their lots;
- admin: everything, plus users, reference data and configuration.
"""

from __future__ import annotations

from sqlmodel import Session, select

from navigator.domain.errors import AccessDenied
from navigator.services.context import Actor
from navigator.store.models import AccessGrant, Locality


def lot_of_locality(session: Session, locality_id: int) -> int:
    return session.exec(select(Locality.lot_id).where(Locality.id == locality_id)).one()


def in_my_lots(actor: Actor, lot_id: int) -> bool:
    return not actor.lot_ids or lot_id in actor.lot_ids


def has_grant(session: Session, actor: Actor, client_id: int) -> bool:
    return (
        session.exec(
            select(AccessGrant.id).where(AccessGrant.user_id == actor.id, AccessGrant.client_id == client_id)
        ).first()
        is not None
    )


def can_see_journey(session: Session, actor: Actor, *, navigator_id: int, locality_id: int, client_id: int) -> bool:
    if actor.is_admin:
        return True
    lot_id = lot_of_locality(session, locality_id)
    if actor.role == "team_lead":
        return in_my_lots(actor, lot_id)
    if navigator_id == actor.id:
        return True
    return in_my_lots(actor, lot_id) and has_grant(session, actor, client_id)


def require_journey(session: Session, actor: Actor, journey) -> None:
    if not can_see_journey(
        session, actor, navigator_id=journey.navigator_id, locality_id=journey.locality_id, client_id=journey.client_id
    ):
        raise AccessDenied(
            "This journey is not in your caseload. Open it through Find and give a reason, or ask a team lead."
        )


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise AccessDenied("Only an admin can change the service's configuration.")


def require_team_lead(actor: Actor) -> None:
    if not actor.is_team_lead:
        raise AccessDenied("Only a team lead or an admin can do that.")
