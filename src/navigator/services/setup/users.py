"""Users: accounts, roles, lots; the one way a user is created (``add_user_in``: admin CLI and screen,
configuration import, tracker import, demo data), with one ``user.add`` audit event shape."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from navigator.domain import lifecycle as L
from navigator.domain.errors import DomainError, NotFound
from navigator.services import access, audit
from navigator.services.context import Ctx
from navigator.services.setup.common import admin_actor, checked_text
from navigator.services.setup.reference_data import find_lot
from navigator.store import pg_setup
from navigator.store.ids import row_id
from navigator.store.models import (
    Client,
    Journey,
    Locality,
    Lot,
    User,
    UserLot,
)

ROLES = ("navigator", "team_lead", "admin")
USERNAME_RE = re.compile(r"^[a-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    name: str
    role: str
    active: bool
    lots: tuple[str, ...]  # lot codes


@dataclass(frozen=True)
class OpenJourneyRow:
    """An open journey of a navigator: what a team lead needs to reassign it."""

    journey_id: int
    client_ref: str
    client_name: str
    state: str
    state_label: str
    received_date: date
    locality: str
    lot: str
    navigator: str


def check_username(value: str | None) -> str:
    text_ = (value or "").strip()
    if not USERNAME_RE.match(text_):
        raise DomainError(
            "A username is 1 to 64 lowercase letters, digits, dots, underscores or hyphens "
            "(for example 'j.smith'): the person's login name.",
            field="username",
        )
    return text_


def check_role(value: str | None) -> str:
    role = (value or "").strip().lower().replace("-", "_").replace(" ", "_")
    if role not in ROLES:
        raise DomainError("The role is navigator, team_lead or admin.", field="role")
    return role


def find_user(s: Session, username: str) -> User:
    user = s.exec(select(User).where(User.username == (username or "").strip())).first()
    if user is None:
        raise NotFound(f"There is no user '{username}'. `navigator users list` shows who there is.", field="username")
    return user


def lots_of(s: Session, user_id: int) -> tuple[str, ...]:
    rows = s.exec(
        select(Lot.code).join(UserLot, col(UserLot.lot_id) == col(Lot.id)).where(UserLot.user_id == user_id)
    ).all()
    return tuple(sorted(rows))


def user_row(s: Session, u: User) -> UserRow:
    return UserRow(row_id(u.id), u.username, u.name, u.role, bool(u.active), lots_of(s, row_id(u.id)))


def user_state(s: Session, u: User) -> dict:
    return {
        "username": u.username,
        "name": u.name,
        "role": u.role,
        "active": bool(u.active),
        "lots": list(lots_of(s, row_id(u.id))),
    }


def resolve_lots(s: Session, lots: Iterable[str], keep_ids: Iterable[int] = ()) -> list[int]:
    keep = set(keep_ids)
    out: list[int] = []
    for code in lots:
        lot = find_lot(s, code)
        if not lot.active and lot.id not in keep:
            raise DomainError(f"The lot '{lot.code}' is retired.", field="lots")
        if lot.id not in out:
            out.append(row_id(lot.id))
    return out


def active_admins(s: Session, excluding: int | None = None) -> int:
    q = select(func.count()).select_from(User).where(User.role == "admin", User.active == True)  # noqa: E712
    if excluding is not None:
        q = q.where(User.id != excluding)
    return s.exec(q).one()


def set_lots(s: Session, user: User, lot_ids: list[int]) -> None:
    current = {ul.lot_id: ul for ul in s.exec(select(UserLot).where(UserLot.user_id == user.id)).all()}
    for lot_id, ul in current.items():
        if lot_id not in lot_ids:
            s.delete(ul)
    for lot_id in lot_ids:
        if lot_id not in current:
            s.add(UserLot(user_id=row_id(user.id), lot_id=lot_id))
    s.flush()


def list_users(ctx: Ctx, *, include_inactive: bool = True) -> tuple[UserRow, ...]:
    with ctx.read() as s:
        access.require_team_lead(ctx.actor(s))
        users = s.exec(select(User).order_by(User.username)).all()
        return tuple(user_row(s, u) for u in users if include_inactive or u.active)


def add_user_in(
    s: Session,
    ctx: Ctx,
    w: audit.AuditWriter,
    username: str,
    name: str,
    role: str,
    lots: Sequence[str] = (),
    active: bool = True,
    allow_retired_lots: bool = False,
) -> User:
    username = check_username(username)
    name_ = checked_text(name, "name", max_len=200, required=True)
    role = check_role(role)
    if s.exec(select(User.id).where(User.username == username)).first() is not None:
        raise DomainError(
            f"There is already a user '{username}'. Use `navigator users edit` to change them.", field="username"
        )
    lot_ids = resolve_lots(
        s, lots, keep_ids=[row_id(lot.id) for lot in s.exec(select(Lot)).all()] if allow_retired_lots else ()
    )
    user = User(username=username, name=name_, role=role, active=bool(active), created_at=ctx.now())
    s.add(user)
    s.flush()
    set_lots(s, user, lot_ids)
    w.add("user.add", "user", user.id, after=user_state(s, user))
    pg_setup.sync_login(s, user.username)  # PostgreSQL after pg-setup: their login, in their role's group
    return user


def edit_user_in(
    s: Session,
    ctx: Ctx,
    w: audit.AuditWriter,
    username: str,
    *,
    name=None,
    role=None,
    lots: Sequence[str] | None = None,
    active: bool | None = None,
    action: str = "user.edit",
) -> bool:
    """Change a user; False when nothing changed. Refuses to leave the store without an active admin."""
    user = find_user(s, username)
    before = user_state(s, user)
    if name is not None:
        user.name = checked_text(name, "name", max_len=200, required=True)
    if role is not None:
        user.role = check_role(role)
    if active is not None:
        user.active = bool(active)
    was_admin = before["role"] == "admin" and before["active"]
    if was_admin and not (user.role == "admin" and user.active) and active_admins(s, excluding=user.id) == 0:
        raise DomainError(
            f"'{user.username}' is the last active admin: add or reactivate another admin first, "
            "or nobody could configure the service.",
            field="role" if active is None else "active",
        )
    if lots is not None:
        current = [ul.lot_id for ul in s.exec(select(UserLot).where(UserLot.user_id == user.id)).all()]
        set_lots(s, user, resolve_lots(s, lots, keep_ids=current))
    s.add(user)
    s.flush()
    b, a = audit.diff(before, user_state(s, user))
    if not a:
        return False
    pg_setup.sync_login(s, user.username)  # role moved between groups; deactivated: NOLOGIN
    w.add(action, "user", user.id, before=b | {"username": user.username}, after=a | {"username": user.username})
    if user.username == ctx.username:
        ctx.forget_actor()
    return True


def add_user(ctx: Ctx, username: str, name: str, role: str = "navigator", lots: Sequence[str] = ()) -> UserRow:
    """A new account. Its lots are the lot codes (or names) the person works in."""
    with ctx.write() as s:
        admin_actor(s, ctx)
        user = add_user_in(s, ctx, audit.writer(s, ctx), username, name, role, lots)
        return user_row(s, user)


def edit_user(
    ctx: Ctx, username: str, *, name: str | None = None, role: str | None = None, lots: Sequence[str] | None = None
) -> UserRow:
    """Change a user's name, role and/or lots (``lots`` replaces the whole list; None keeps it)."""
    with ctx.write() as s:
        admin_actor(s, ctx)
        edit_user_in(s, ctx, audit.writer(s, ctx), username, name=name, role=role, lots=lots)
        return user_row(s, find_user(s, username))


def deactivate_user(ctx: Ctx, username: str) -> UserRow:
    """A leaver: they can no longer open the store. Their open journeys wait for reassignment
    (``open_journeys_of``)."""
    with ctx.write() as s:
        admin_actor(s, ctx)
        user = find_user(s, username)
        if not user.active:
            raise DomainError(f"'{user.username}' is already deactivated.", field="username")
        edit_user_in(s, ctx, audit.writer(s, ctx), username, active=False, action="user.deactivate")
        return user_row(s, user)


def reactivate_user(ctx: Ctx, username: str) -> UserRow:
    with ctx.write() as s:
        admin_actor(s, ctx)
        user = find_user(s, username)
        if user.active:
            raise DomainError(f"'{user.username}' is already active.", field="username")
        edit_user_in(s, ctx, audit.writer(s, ctx), username, active=True, action="user.reactivate")
        return user_row(s, user)


def open_journeys_of(ctx: Ctx, username: str) -> tuple[OpenJourneyRow, ...]:
    """The open journeys of a navigator (e.g. one just deactivated), for reassignment.

    For team leads and admins; a team lead sees those in their lots."""
    open_states = tuple(s_.value for s_ in L.OPEN_STATES)
    with ctx.read() as s:
        actor = ctx.actor(s)
        access.require_team_lead(actor)
        user = find_user(s, username)
        rows = s.exec(
            select(Journey, Client, Locality, Lot)
            .join(Client, col(Client.id) == col(Journey.client_id))
            .join(Locality, col(Locality.id) == col(Journey.locality_id))
            .join(Lot, col(Lot.id) == col(Locality.lot_id))
            .where(Journey.navigator_id == user.id, col(Journey.state).in_(open_states))
            .order_by(col(Journey.received_date), col(Journey.id))
        ).all()
        return tuple(
            OpenJourneyRow(
                row_id(j.id),
                c.client_ref,
                f"{c.first_name} {c.last_name}",
                j.state,
                L.State(j.state).label,
                j.received_date,
                loc.name,
                lot.code,
                user.username,
            )
            for j, c, loc, lot in rows
            if actor.is_admin or access.in_my_lots(actor, row_id(lot.id))
        )
