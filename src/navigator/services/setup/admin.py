"""Setting up a service: users, reference data, partners, protocol, measures, calendar.

Every change here is admin-only (``access.require_admin``, checked in the
service, not only hidden in the TUI), is one transaction, and leaves an audit
event with what it was before and after. Reading the configuration is open to
anyone with an account (forms need the lists), except the user list, which is
for team leads and admins.

History keeps its meaning: journeys refer to reference data by id, so a
rename changes only the label; nothing is ever deleted, only retired. Past
returns (``sent_return``) keep the names as they were sent. A protocol change
applies to follow-ups scheduled after it: stored tasks keep their due dates.

Each public function wraps a ``_..._in(session, ctx, ...)`` helper that does
the work inside a transaction; the configuration import reuses the helpers so
that a file goes through exactly the same rules as a person at the keyboard.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, or_
from sqlmodel import Session, select

from navigator.domain import lifecycle as L
from navigator.domain.errors import DomainError, NotFound
from navigator.domain.followups import Protocol
from navigator.domain.identifiers import clean_text
from navigator.domain.workdays import WorkingCalendar
from navigator.services import access, audit
from navigator.services.context import Ctx, get_setting, protocol, put_setting
from navigator.services.setup.admin_text import PROTOCOL_LABELS, WORDING_FORMAT  # noqa: F401 - re-exported
from navigator.store.models import (
    CalendarCorrection,
    Client,
    Journey,
    Locality,
    Lot,
    Partner,
    PersonalOutcome,
    Programme,
    ProgrammeLocality,
    ReferralSource,
    SupportArea,
    User,
    UserLot,
)

ROLES = ("navigator", "team_lead", "admin")
USERNAME_RE = re.compile(r"^[a-z0-9._-]{1,64}$")
CODE_RE = re.compile(r"^[a-z0-9_]{1,40}$")
_UNSET = object()


# ====================================================================== helpers


def _admin(s: Session, ctx: Ctx):
    actor = ctx.actor(s)
    access.require_admin(actor)
    return actor


def _text(value, field: str, *, max_len: int = 200, required: bool = False, multiline: bool = False):
    return clean_text(value, field, max_len=max_len, required=required, multiline=multiline)


def _optional(value, current, field: str, *, max_len: int = 2000, multiline: bool = True):
    """None keeps the current value; an empty string clears it."""
    if value is None:
        return current
    return _text(value, field, max_len=max_len, multiline=multiline)


# ====================================================================== users


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


def _find_user(s: Session, username: str) -> User:
    user = s.exec(select(User).where(User.username == (username or "").strip())).first()
    if user is None:
        raise NotFound(f"There is no user '{username}'. `navigator users list` shows who there is.", field="username")
    return user


def _lots_of(s: Session, user_id: int) -> tuple[str, ...]:
    rows = s.exec(select(Lot.code).join(UserLot, UserLot.lot_id == Lot.id).where(UserLot.user_id == user_id)).all()
    return tuple(sorted(rows))


def _user_row(s: Session, u: User) -> UserRow:
    return UserRow(u.id, u.username, u.name, u.role, bool(u.active), _lots_of(s, u.id))


def _user_state(s: Session, u: User) -> dict:
    return {
        "username": u.username,
        "name": u.name,
        "role": u.role,
        "active": bool(u.active),
        "lots": list(_lots_of(s, u.id)),
    }


def _find_lot(s: Session, value: str) -> Lot:
    key = (value or "").strip().lower()
    lot = (
        s.exec(select(Lot).where(func.lower(Lot.code) == key)).first()
        or s.exec(select(Lot).where(func.lower(Lot.name) == key)).first()
    )
    if lot is None:
        raise NotFound(f"There is no lot '{value}'. `navigator reference list lot` shows the lots.", field="lots")
    return lot


def _resolve_lots(s: Session, lots: Iterable[str], keep_ids: Iterable[int] = ()) -> list[int]:
    keep = set(keep_ids)
    out: list[int] = []
    for code in lots:
        lot = _find_lot(s, code)
        if not lot.active and lot.id not in keep:
            raise DomainError(f"The lot '{lot.code}' is retired.", field="lots")
        if lot.id not in out:
            out.append(lot.id)
    return out


def _active_admins(s: Session, excluding: int | None = None) -> int:
    q = select(func.count()).select_from(User).where(User.role == "admin", User.active == True)  # noqa: E712
    if excluding is not None:
        q = q.where(User.id != excluding)
    return s.exec(q).one()


def _set_lots(s: Session, user: User, lot_ids: list[int]) -> None:
    current = {ul.lot_id: ul for ul in s.exec(select(UserLot).where(UserLot.user_id == user.id)).all()}
    for lot_id, ul in current.items():
        if lot_id not in lot_ids:
            s.delete(ul)
    for lot_id in lot_ids:
        if lot_id not in current:
            s.add(UserLot(user_id=user.id, lot_id=lot_id))
    s.flush()


def list_users(ctx: Ctx, *, include_inactive: bool = True) -> tuple[UserRow, ...]:
    with ctx.read() as s:
        access.require_team_lead(ctx.actor(s))
        users = s.exec(select(User).order_by(User.username)).all()
        return tuple(_user_row(s, u) for u in users if include_inactive or u.active)


def get_user(ctx: Ctx, username: str) -> UserRow:
    with ctx.read() as s:
        access.require_team_lead(ctx.actor(s))
        return _user_row(s, _find_user(s, username))


def _add_user_in(
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
    name_ = _text(name, "name", max_len=200, required=True)
    role = check_role(role)
    if s.exec(select(User.id).where(User.username == username)).first() is not None:
        raise DomainError(
            f"There is already a user '{username}'. Use `navigator users edit` to change them.", field="username"
        )
    lot_ids = _resolve_lots(
        s, lots, keep_ids=[lot.id for lot in s.exec(select(Lot)).all()] if allow_retired_lots else ()
    )
    user = User(username=username, name=name_, role=role, active=bool(active), created_at=ctx.now())
    s.add(user)
    s.flush()
    _set_lots(s, user, lot_ids)
    w.add("user.add", "user", user.id, after=_user_state(s, user))
    return user


def _edit_user_in(
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
    user = _find_user(s, username)
    before = _user_state(s, user)
    if name is not None:
        user.name = _text(name, "name", max_len=200, required=True)
    if role is not None:
        user.role = check_role(role)
    if active is not None:
        user.active = bool(active)
    was_admin = before["role"] == "admin" and before["active"]
    if was_admin and not (user.role == "admin" and user.active) and _active_admins(s, excluding=user.id) == 0:
        raise DomainError(
            f"'{user.username}' is the last active admin: add or reactivate another admin first, "
            "or nobody could configure the service.",
            field="role" if active is None else "active",
        )
    if lots is not None:
        current = [ul.lot_id for ul in s.exec(select(UserLot).where(UserLot.user_id == user.id)).all()]
        _set_lots(s, user, _resolve_lots(s, lots, keep_ids=current))
    s.add(user)
    s.flush()
    b, a = audit.diff(before, _user_state(s, user))
    if not a:
        return False
    w.add(action, "user", user.id, before=b | {"username": user.username}, after=a | {"username": user.username})
    if user.username == ctx.username:
        ctx.forget_actor()
    return True


def add_user(ctx: Ctx, username: str, name: str, role: str = "navigator", lots: Sequence[str] = ()) -> UserRow:
    """A new account. Its lots are the lot codes (or names) the person works in."""
    with ctx.write() as s:
        _admin(s, ctx)
        user = _add_user_in(s, ctx, audit.writer(s, ctx), username, name, role, lots)
        return _user_row(s, user)


def edit_user(
    ctx: Ctx, username: str, *, name: str | None = None, role: str | None = None, lots: Sequence[str] | None = None
) -> UserRow:
    """Change a user's name, role and/or lots (``lots`` replaces the whole list; None keeps it)."""
    with ctx.write() as s:
        _admin(s, ctx)
        _edit_user_in(s, ctx, audit.writer(s, ctx), username, name=name, role=role, lots=lots)
        return _user_row(s, _find_user(s, username))


def deactivate_user(ctx: Ctx, username: str) -> UserRow:
    """A leaver: they can no longer open the store. Their open journeys wait for reassignment
    (``open_journeys_of``)."""
    with ctx.write() as s:
        _admin(s, ctx)
        user = _find_user(s, username)
        if not user.active:
            raise DomainError(f"'{user.username}' is already deactivated.", field="username")
        _edit_user_in(s, ctx, audit.writer(s, ctx), username, active=False, action="user.deactivate")
        return _user_row(s, user)


def reactivate_user(ctx: Ctx, username: str) -> UserRow:
    with ctx.write() as s:
        _admin(s, ctx)
        user = _find_user(s, username)
        if user.active:
            raise DomainError(f"'{user.username}' is already active.", field="username")
        _edit_user_in(s, ctx, audit.writer(s, ctx), username, active=True, action="user.reactivate")
        return _user_row(s, user)


def open_journeys_of(ctx: Ctx, username: str) -> tuple[OpenJourneyRow, ...]:
    """The open journeys of a navigator (e.g. one just deactivated), for reassignment.

    For team leads and admins; a team lead sees those in their lots."""
    open_states = tuple(s_.value for s_ in L.OPEN_STATES)
    with ctx.read() as s:
        actor = ctx.actor(s)
        access.require_team_lead(actor)
        user = _find_user(s, username)
        rows = s.exec(
            select(Journey, Client, Locality, Lot)
            .join(Client, Client.id == Journey.client_id)
            .join(Locality, Locality.id == Journey.locality_id)
            .join(Lot, Lot.id == Locality.lot_id)
            .where(Journey.navigator_id == user.id, Journey.state.in_(open_states))
            .order_by(Journey.received_date, Journey.id)
        ).all()
        return tuple(
            OpenJourneyRow(
                j.id,
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
            if actor.is_admin or access.in_my_lots(actor, lot.id)
        )


# ====================================================================== reference data


@dataclass(frozen=True)
class RefRow:
    kind: str
    id: int
    code: str  # a locality's code is its name
    name: str
    active: bool
    lot: str | None = None  # a locality's lot code


KIND_MODELS = {
    "lot": Lot,
    "locality": Locality,
    "source": ReferralSource,
    "area": SupportArea,
    "outcome": PersonalOutcome,
}
KIND_LABELS = {
    "lot": "lot",
    "locality": "locality",
    "source": "referral source",
    "area": "support area",
    "outcome": "personal outcome",
}
_KIND_ALIASES = {
    "lot": "lot",
    "lots": "lot",
    "locality": "locality",
    "localities": "locality",
    "source": "source",
    "sources": "source",
    "referral_source": "source",
    "referral_sources": "source",
    "area": "area",
    "areas": "area",
    "support_area": "area",
    "support_areas": "area",
    "outcome": "outcome",
    "outcomes": "outcome",
    "personal_outcome": "outcome",
    "personal_outcomes": "outcome",
}


def kind_of(kind: str) -> str:
    k = _KIND_ALIASES.get((kind or "").strip().lower().replace("-", "_"))
    if k is None:
        raise DomainError("The kind is one of: lot, locality, source, area, outcome.", field="kind")
    return k


def _ref_row(s: Session, kind: str, row) -> RefRow:
    if kind == "locality":
        lot = s.get(Lot, row.lot_id)
        return RefRow(kind, row.id, row.name, row.name, bool(row.active), lot.code if lot else None)
    return RefRow(kind, row.id, row.code, row.name, bool(row.active))


def _ref_state(s: Session, kind: str, row) -> dict:
    r = _ref_row(s, kind, row)
    d = {"code": r.code, "name": r.name, "active": r.active}
    if kind == "locality":
        d = {"name": r.name, "lot": r.lot, "active": r.active}
    return d


def _find_ref(s: Session, kind: str, code: str):
    model = KIND_MODELS[kind]
    key = (code or "").strip().lower()
    if kind == "locality":
        row = s.exec(select(Locality).where(func.lower(Locality.name) == key)).first()
    else:
        row = s.exec(select(model).where(func.lower(model.code) == key)).first()
        if row is None:
            row = s.exec(select(model).where(func.lower(model.name) == key)).first()
    if row is None:
        raise NotFound(
            f"There is no {KIND_LABELS[kind]} '{code}'. `navigator reference list {kind}` shows them.", field="code"
        )
    return row


def _check_name_free(s: Session, kind: str, name: str, own_id: int | None = None) -> None:
    """A name must not be taken (as a name, or as another entry's code) in the same list."""
    model = KIND_MODELS[kind]
    key = name.lower()
    conds = [func.lower(model.name) == key]
    if kind != "locality":
        conds.append(func.lower(model.code) == key)
    q = select(model.id).where(or_(*conds))
    if own_id is not None:
        q = q.where(model.id != own_id)
    if s.exec(q).first() is not None:
        raise DomainError(f"Another {KIND_LABELS[kind]} is already called '{name}'.", field="name")


def check_code(kind: str, code: str | None) -> str:
    if kind == "locality":
        return _text(code, "name", max_len=100, required=True)
    if kind == "lot":
        return _text(code, "code", max_len=40, required=True)
    value = (code or "").strip()
    if not CODE_RE.match(value):
        raise DomainError(
            "A code is 1 to 40 lowercase letters, digits or underscores (for example 'debt_advice'); "
            "it never changes, so choose it with care.",
            field="code",
        )
    return value


def list_reference(ctx: Ctx, kind: str, *, include_retired: bool = True) -> tuple[RefRow, ...]:
    kind = kind_of(kind)
    model = KIND_MODELS[kind]
    with ctx.read() as s:
        ctx.actor(s)
        order = (Locality.lot_id, Locality.id) if kind == "locality" else (model.id,)
        rows = s.exec(select(model).order_by(*order)).all()
        return tuple(_ref_row(s, kind, r) for r in rows if include_retired or r.active)


def _add_ref_in(
    s: Session,
    ctx: Ctx,
    w: audit.AuditWriter,
    kind: str,
    code: str,
    name: str | None = None,
    lot: str | None = None,
    active: bool = True,
):
    model = KIND_MODELS[kind]
    code = check_code(kind, code)
    if kind == "locality":
        name_ = _text(name or code, "name", max_len=100, required=True)
        if name and name_ != code:
            raise DomainError("A locality is known by its name: give it once (or the same twice).", field="name")
        if not lot:
            raise DomainError("Say which lot the locality belongs to (--lot).", field="lot")
        lot_row = _find_lot(s, lot)
        if not lot_row.active:
            raise DomainError(f"The lot '{lot_row.code}' is retired.", field="lot")
        _check_name_free(s, kind, name_)
        row = Locality(lot_id=lot_row.id, name=name_, active=bool(active))
    else:
        if lot:
            raise DomainError("Only a locality belongs to a lot.", field="lot")
        name_ = _text(name, "name", max_len=200, required=True)
        if s.exec(select(model.id).where(func.lower(model.code) == code.lower())).first() is not None:
            raise DomainError(f"The code '{code}' is already used by another {KIND_LABELS[kind]}.", field="code")
        _check_name_free(s, kind, name_)
        if name_.lower() != code.lower():
            _check_name_free(s, kind, code)
        row = model(code=code, name=name_, active=bool(active))
    s.add(row)
    s.flush()
    w.add("reference.add", model.__tablename__, row.id, after=_ref_state(s, kind, row))
    return row


def _rename_ref_in(s: Session, ctx: Ctx, w: audit.AuditWriter, kind: str, code: str, new_name: str) -> bool:
    model = KIND_MODELS[kind]
    row = _find_ref(s, kind, code)
    name_ = _text(new_name, "name", max_len=100 if kind == "locality" else 200, required=True)
    if name_ == row.name:
        return False
    _check_name_free(s, kind, name_, own_id=row.id)
    before = _ref_state(s, kind, row)
    row.name = name_
    s.add(row)
    s.flush()
    b, a = audit.diff(before, _ref_state(s, kind, row))
    w.add("reference.rename", model.__tablename__, row.id, before=b, after=a)
    return True


def _set_ref_active_in(s: Session, ctx: Ctx, w: audit.AuditWriter, kind: str, code: str, active: bool) -> bool:
    model = KIND_MODELS[kind]
    row = _find_ref(s, kind, code)
    if bool(row.active) == bool(active):
        return False
    if kind == "lot" and not active:
        live = s.exec(select(Locality.name).where(Locality.lot_id == row.id, Locality.active == True)).all()  # noqa: E712
        if live:
            raise DomainError(
                f"The lot '{row.code}' still has active localities ({', '.join(sorted(live))}): retire them first.",
                field="code",
            )
    if kind == "locality" and active:
        lot = s.get(Lot, row.lot_id)
        if lot is not None and not lot.active:
            raise DomainError(f"The lot '{lot.code}' is retired: bring it back first.", field="code")
    before = _ref_state(s, kind, row)
    row.active = bool(active)
    s.add(row)
    s.flush()
    b, a = audit.diff(before, _ref_state(s, kind, row))
    w.add(
        "reference.retire" if not active else "reference.unretire",
        model.__tablename__,
        row.id,
        before=b | {"name": row.name},
        after=a | {"name": row.name},
    )
    return True


def add_reference(ctx: Ctx, kind: str, code: str, name: str | None = None, *, lot: str | None = None) -> RefRow:
    """Add a lot (code, name), a locality (name, lot), or a source/area/outcome (code, name)."""
    kind = kind_of(kind)
    with ctx.write() as s:
        _admin(s, ctx)
        row = _add_ref_in(s, ctx, audit.writer(s, ctx), kind, code, name, lot)
        return _ref_row(s, kind, row)


def rename_reference(ctx: Ctx, kind: str, code: str, new_name: str) -> RefRow:
    """Change the label only: journeys refer by id, past returns keep the name they were sent with."""
    kind = kind_of(kind)
    with ctx.write() as s:
        _admin(s, ctx)
        _rename_ref_in(s, ctx, audit.writer(s, ctx), kind, code, new_name)
        return _ref_row(s, kind, _find_ref(s, kind, new_name if kind == "locality" else code))


def retire_reference(ctx: Ctx, kind: str, code: str) -> RefRow:
    """No longer offered for new records; kept for history."""
    kind = kind_of(kind)
    with ctx.write() as s:
        _admin(s, ctx)
        if not _set_ref_active_in(s, ctx, audit.writer(s, ctx), kind, code, False):
            raise DomainError(f"That {KIND_LABELS[kind]} is already retired.", field="code")
        return _ref_row(s, kind, _find_ref(s, kind, code))


def unretire_reference(ctx: Ctx, kind: str, code: str) -> RefRow:
    kind = kind_of(kind)
    with ctx.write() as s:
        _admin(s, ctx)
        if not _set_ref_active_in(s, ctx, audit.writer(s, ctx), kind, code, True):
            raise DomainError(f"That {KIND_LABELS[kind]} is already in use (not retired).", field="code")
        return _ref_row(s, kind, _find_ref(s, kind, code))


# ====================================================================== partners and programmes


@dataclass(frozen=True)
class ProgrammeRow:
    id: int
    partner_id: int
    partner: str
    name: str
    eligibility_notes: str | None
    expected_response_days: int
    contact: str | None
    active: bool  # this programme's own flag; a retired partner's programmes are not offered either
    localities: tuple[str, ...]  # empty: serves every locality

    @property
    def label(self) -> str:
        return f"{self.partner}: {self.name}"

    @property
    def serves_all(self) -> bool:
        return not self.localities


@dataclass(frozen=True)
class PartnerRow:
    id: int
    name: str
    contact: str | None
    active: bool
    programmes: tuple[ProgrammeRow, ...]


def _prog_localities(s: Session, programme_id: int) -> tuple[str, ...]:
    rows = s.exec(
        select(Locality.name)
        .join(ProgrammeLocality, ProgrammeLocality.locality_id == Locality.id)
        .where(ProgrammeLocality.programme_id == programme_id)
    ).all()
    return tuple(sorted(rows))


def _programme_row(s: Session, p: Programme, partner: Partner | None = None) -> ProgrammeRow:
    partner = partner or s.get(Partner, p.partner_id)
    return ProgrammeRow(
        p.id,
        p.partner_id,
        partner.name,
        p.name,
        p.eligibility_notes,
        p.expected_response_days,
        p.contact,
        bool(p.active),
        _prog_localities(s, p.id),
    )


def _partner_row(s: Session, partner: Partner) -> PartnerRow:
    progs = s.exec(select(Programme).where(Programme.partner_id == partner.id).order_by(Programme.name)).all()
    return PartnerRow(
        partner.id,
        partner.name,
        partner.contact,
        bool(partner.active),
        tuple(_programme_row(s, p, partner) for p in progs),
    )


def _partner_state(p: Partner) -> dict:
    return {"name": p.name, "contact": p.contact, "active": bool(p.active)}


def _programme_state(s: Session, p: Programme) -> dict:
    return {
        "name": p.name,
        "eligibility_notes": p.eligibility_notes,
        "expected_response_days": p.expected_response_days,
        "contact": p.contact,
        "active": bool(p.active),
        "localities": list(_prog_localities(s, p.id)),
    }


def _find_partner(s: Session, partner: str | int) -> Partner:
    if isinstance(partner, int):
        row = s.get(Partner, partner)
    else:
        key = str(partner or "").strip()
        row = s.exec(select(Partner).where(func.lower(Partner.name) == key.lower())).first()
        if row is None and key.isdigit():
            row = s.get(Partner, int(key))
    if row is None:
        raise NotFound(f"There is no partner '{partner}'. `navigator partners list` shows them.", field="partner")
    return row


def _find_programme(s: Session, programme: str | int, partner: str | int | None = None) -> Programme:
    """By id, by 'Partner: Programme', or by name (with the partner when the name is not unique)."""
    row = None
    if isinstance(programme, int):
        row = s.get(Programme, programme)
    else:
        key = str(programme or "").strip()
        if partner is not None:
            p = _find_partner(s, partner)
            row = s.exec(
                select(Programme).where(Programme.partner_id == p.id, func.lower(Programme.name) == key.lower())
            ).first()
        elif key.isdigit():
            row = s.get(Programme, int(key))
        else:
            if ":" in key:
                pname, _, gname = key.partition(":")
                p = s.exec(select(Partner).where(func.lower(Partner.name) == pname.strip().lower())).first()
                if p is not None:
                    row = s.exec(
                        select(Programme).where(
                            Programme.partner_id == p.id, func.lower(Programme.name) == gname.strip().lower()
                        )
                    ).first()
            if row is None:
                rows = s.exec(select(Programme).where(func.lower(Programme.name) == key.lower())).all()
                if len(rows) > 1:
                    raise DomainError(
                        f"Several partners run a programme called '{key}': give its number or 'Partner: Programme'.",
                        field="programme",
                    )
                row = rows[0] if rows else None
    if row is None:
        raise NotFound(
            f"There is no programme '{programme}'. `navigator partners list` shows them with their numbers.",
            field="programme",
        )
    return row


def _check_days(value) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise DomainError(
            "The expected response period is a whole number of working days.", field="expected_response_days"
        ) from None
    if not 1 <= n <= 250:
        raise DomainError("The expected response period is 1 to 250 working days.", field="expected_response_days")
    return n


def _locality_ids(s: Session, names: Iterable[str]) -> list[int]:
    out = []
    for name in names:
        loc = s.exec(select(Locality).where(func.lower(Locality.name) == str(name).strip().lower())).first()
        if loc is None:
            raise NotFound(
                f"There is no locality '{name}'. `navigator reference list locality` shows them.", field="localities"
            )
        if loc.id not in out:
            out.append(loc.id)
    return out


def _set_prog_localities(s: Session, programme: Programme, locality_ids: list[int]) -> None:
    current = {
        pl.locality_id: pl
        for pl in s.exec(select(ProgrammeLocality).where(ProgrammeLocality.programme_id == programme.id)).all()
    }
    for lid, pl in current.items():
        if lid not in locality_ids:
            s.delete(pl)
    for lid in locality_ids:
        if lid not in current:
            s.add(ProgrammeLocality(programme_id=programme.id, locality_id=lid))
    s.flush()


def _add_partner_in(
    s: Session, ctx: Ctx, w: audit.AuditWriter, name: str, contact: str | None = None, active: bool = True
) -> Partner:
    name_ = _text(name, "name", max_len=200, required=True)
    if s.exec(select(Partner.id).where(func.lower(Partner.name) == name_.lower())).first() is not None:
        raise DomainError(f"There is already a partner called '{name_}'.", field="name")
    p = Partner(name=name_, contact=_text(contact, "contact", max_len=2000, multiline=True), active=bool(active))
    s.add(p)
    s.flush()
    w.add("partner.add", "partner", p.id, after=_partner_state(p))
    return p


def _edit_partner_in(
    s: Session,
    ctx: Ctx,
    w: audit.AuditWriter,
    partner: str | int,
    *,
    name=None,
    contact=None,
    active: bool | None = None,
) -> bool:
    p = _find_partner(s, partner)
    before = _partner_state(p)
    if name is not None:
        name_ = _text(name, "name", max_len=200, required=True)
        other = s.exec(select(Partner.id).where(func.lower(Partner.name) == name_.lower(), Partner.id != p.id)).first()
        if other is not None:
            raise DomainError(f"There is already a partner called '{name_}'.", field="name")
        p.name = name_
    p.contact = _optional(contact, p.contact, "contact")
    if active is not None:
        p.active = bool(active)
    b, a = audit.diff(before, _partner_state(p))
    if not a:
        return False
    s.add(p)
    s.flush()
    action = "partner.edit"
    if set(a) == {"active"}:
        action = "partner.retire" if not p.active else "partner.unretire"
    w.add(action, "partner", p.id, before=b | {"name": before["name"]}, after=a | {"name": p.name})
    return True


def _add_programme_in(
    s: Session,
    ctx: Ctx,
    w: audit.AuditWriter,
    partner: str | int,
    name: str,
    *,
    localities: Sequence[str] = (),
    eligibility_notes: str | None = None,
    expected_response_days: int | None = None,
    contact: str | None = None,
    active: bool = True,
) -> Programme:
    p = _find_partner(s, partner)
    name_ = _text(name, "name", max_len=200, required=True)
    if (
        s.exec(
            select(Programme.id).where(Programme.partner_id == p.id, func.lower(Programme.name) == name_.lower())
        ).first()
        is not None
    ):
        raise DomainError(f"{p.name} already has a programme called '{name_}'.", field="name")
    days = _check_days(
        expected_response_days if expected_response_days is not None else protocol(s).partner_response_days or 10
    )
    loc_ids = _locality_ids(s, localities)
    prog = Programme(
        partner_id=p.id,
        name=name_,
        expected_response_days=days,
        active=bool(active),
        eligibility_notes=_text(eligibility_notes, "eligibility_notes", max_len=4000, multiline=True),
        contact=_text(contact, "contact", max_len=2000, multiline=True),
    )
    s.add(prog)
    s.flush()
    _set_prog_localities(s, prog, loc_ids)
    w.add("programme.add", "programme", prog.id, after={"partner": p.name} | _programme_state(s, prog))
    return prog


def _edit_programme_in(
    s: Session,
    ctx: Ctx,
    w: audit.AuditWriter,
    programme: str | int,
    *,
    partner=None,
    name=None,
    localities: Sequence[str] | None = None,
    eligibility_notes=None,
    expected_response_days=None,
    contact=None,
    active: bool | None = None,
) -> bool:
    prog = _find_programme(s, programme, partner)
    before = _programme_state(s, prog)
    if name is not None:
        name_ = _text(name, "name", max_len=200, required=True)
        other = s.exec(
            select(Programme.id).where(
                Programme.partner_id == prog.partner_id,
                Programme.id != prog.id,
                func.lower(Programme.name) == name_.lower(),
            )
        ).first()
        if other is not None:
            raise DomainError(f"This partner already has a programme called '{name_}'.", field="name")
        prog.name = name_
    prog.eligibility_notes = _optional(eligibility_notes, prog.eligibility_notes, "eligibility_notes", max_len=4000)
    prog.contact = _optional(contact, prog.contact, "contact")
    if expected_response_days is not None:
        prog.expected_response_days = _check_days(expected_response_days)
    if active is not None:
        prog.active = bool(active)
    s.add(prog)
    s.flush()
    if localities is not None:
        _set_prog_localities(s, prog, _locality_ids(s, localities))
    b, a = audit.diff(before, _programme_state(s, prog))
    if not a:
        return False
    action = "programme.edit"
    if set(a) == {"active"}:
        action = "programme.retire" if not prog.active else "programme.unretire"
    partner_name = s.get(Partner, prog.partner_id).name
    w.add(
        action,
        "programme",
        prog.id,
        before=b | {"name": before["name"]},
        after=a | {"name": prog.name, "partner": partner_name},
    )
    return True


def list_partners(ctx: Ctx, *, include_retired: bool = True) -> tuple[PartnerRow, ...]:
    with ctx.read() as s:
        ctx.actor(s)
        rows = s.exec(select(Partner).order_by(Partner.name)).all()
        return tuple(_partner_row(s, p) for p in rows if include_retired or p.active)


def get_partner(ctx: Ctx, partner: str | int) -> PartnerRow:
    with ctx.read() as s:
        ctx.actor(s)
        return _partner_row(s, _find_partner(s, partner))


def add_partner(ctx: Ctx, name: str, contact: str | None = None) -> PartnerRow:
    with ctx.write() as s:
        _admin(s, ctx)
        return _partner_row(s, _add_partner_in(s, ctx, audit.writer(s, ctx), name, contact))


def edit_partner(ctx: Ctx, partner: str | int, *, name: str | None = None, contact: str | None = None) -> PartnerRow:
    """None keeps a value; an empty contact clears it."""
    with ctx.write() as s:
        _admin(s, ctx)
        p = _find_partner(s, partner)
        _edit_partner_in(s, ctx, audit.writer(s, ctx), p.id, name=name, contact=contact)
        return _partner_row(s, p)


def retire_partner(ctx: Ctx, partner: str | int, *, retired: bool = True) -> PartnerRow:
    """A retired partner's programmes are no longer offered; past onward referrals keep them."""
    with ctx.write() as s:
        _admin(s, ctx)
        p = _find_partner(s, partner)
        if not _edit_partner_in(s, ctx, audit.writer(s, ctx), p.id, active=not retired):
            raise DomainError(f"{p.name} is already {'retired' if retired else 'in use'}.", field="partner")
        return _partner_row(s, p)


def add_programme(
    ctx: Ctx,
    partner: str | int,
    name: str,
    *,
    localities: Sequence[str] = (),
    eligibility_notes: str | None = None,
    expected_response_days: int | None = None,
    contact: str | None = None,
) -> ProgrammeRow:
    """``localities`` empty: the programme serves every locality. The response period defaults to the
    protocol's partner default."""
    with ctx.write() as s:
        _admin(s, ctx)
        prog = _add_programme_in(
            s,
            ctx,
            audit.writer(s, ctx),
            partner,
            name,
            localities=localities,
            eligibility_notes=eligibility_notes,
            expected_response_days=expected_response_days,
            contact=contact,
        )
        return _programme_row(s, prog)


def edit_programme(
    ctx: Ctx,
    programme: str | int,
    *,
    partner: str | int | None = None,
    name: str | None = None,
    localities: Sequence[str] | None = None,
    eligibility_notes: str | None = None,
    expected_response_days: int | None = None,
    contact: str | None = None,
) -> ProgrammeRow:
    """None keeps a value; an empty text clears it; ``localities`` replaces the list (empty: all).

    A new response period applies to chases scheduled after the change."""
    with ctx.write() as s:
        _admin(s, ctx)
        prog = _find_programme(s, programme, partner)
        _edit_programme_in(
            s,
            ctx,
            audit.writer(s, ctx),
            prog.id,
            name=name,
            localities=localities,
            eligibility_notes=eligibility_notes,
            expected_response_days=expected_response_days,
            contact=contact,
        )
        return _programme_row(s, prog)


def retire_programme(
    ctx: Ctx, programme: str | int, *, partner: str | int | None = None, retired: bool = True
) -> ProgrammeRow:
    with ctx.write() as s:
        _admin(s, ctx)
        prog = _find_programme(s, programme, partner)
        if not _edit_programme_in(s, ctx, audit.writer(s, ctx), prog.id, active=not retired):
            raise DomainError(f"That programme is already {'retired' if retired else 'in use'}.", field="programme")
        return _programme_row(s, prog)


# ====================================================================== no-response protocol


def get_protocol(ctx: Ctx) -> Protocol:
    with ctx.read() as s:
        ctx.actor(s)
        return protocol(s)


def protocol_from(current: Protocol, **changes) -> Protocol:
    """The current protocol with some values changed; the Protocol checks the whole."""
    data = current.to_dict()
    for key, value in changes.items():
        if value is None:
            continue
        if key not in data:
            raise DomainError(f"Unknown protocol setting '{key}'.", field=key)
        if key == "notify_referrer":
            if not isinstance(value, bool):
                raise DomainError("Whether closure notifies the referrer is true or false.", field=key)
        elif key == "methods":
            if isinstance(value, str) or not all(isinstance(m, str) for m in value):
                raise DomainError("Give the methods as a list, one per attempt.", field=key)
        elif key == "gaps":
            if isinstance(value, str) or not all(isinstance(g, int) and not isinstance(g, bool) for g in value):
                raise DomainError("Give the gaps as whole numbers of working days.", field=key)
        elif isinstance(value, bool) or not isinstance(value, int):
            raise DomainError(
                "Give the number of attempts as a whole number."
                if key == "attempts"
                else "Give a whole number of working days.",
                field=key,
            )
        data[key] = value
    try:
        return Protocol.from_dict(data)
    except (TypeError, ValueError):
        raise DomainError("The protocol values are not valid numbers.", field="protocol") from None


def _set_protocol_in(s: Session, ctx: Ctx, w: audit.AuditWriter, new: Protocol) -> bool:
    old = protocol(s)
    if old == new and get_setting(s, "protocol") is not None:
        return False
    put_setting(s, "protocol", new.to_dict(), ctx.now())
    b, a = audit.diff(old.to_dict(), new.to_dict())
    w.add("config.protocol", "setting", None, before=b, after=a)
    return True


def set_protocol(ctx: Ctx, **changes) -> Protocol:
    """Change the no-response protocol (attempts, first_within, gaps, methods, opt_in_days,
    notify_referrer, decide_within, review_every, partner_response_days).

    Applies to follow-ups scheduled after the change: stored tasks keep their due dates."""
    with ctx.write() as s:
        _admin(s, ctx)
        new = protocol_from(protocol(s), **changes)
        _set_protocol_in(s, ctx, audit.writer(s, ctx), new)
        return new


# ====================================================================== measures

SWEMWBS_ITEMS = 7
WORDING_HINT = (
    "The SWEMWBS statement wording is not configured: an admin loads the service's licensed text with "
    "`navigator config wording FILE`."
)


@dataclass(frozen=True)
class SwemwbsWording:
    """The licensed statement texts and copyright line, or None until a service configures them."""

    statements: tuple[str, ...] | None
    copyright: str | None

    @property
    def configured(self) -> bool:
        return self.statements is not None

    def statement(self, i: int) -> str:
        """Statement i (1-7): the configured text, else 'Statement i'."""
        if self.statements:
            return self.statements[i - 1]
        return f"Statement {i}"

    def labels(self) -> tuple[str, ...]:
        return tuple(self.statement(i) for i in range(1, SWEMWBS_ITEMS + 1))


@dataclass(frozen=True)
class MeasureSettings:
    threshold: Decimal
    ons4_enabled: bool
    wording: SwemwbsWording


def _wording_in(s: Session) -> SwemwbsWording:
    data = get_setting(s, "swemwbs_wording")
    if not data or not data.get("statements"):
        return SwemwbsWording(None, None)
    return SwemwbsWording(tuple(data["statements"]), data.get("copyright") or None)


def swemwbs_wording(ctx: Ctx) -> SwemwbsWording:
    """For forms: the statement wording, or None ("Statement 1"...) with WORDING_HINT."""
    with ctx.read() as s:
        return _wording_in(s)


def _threshold_in(s: Session) -> Decimal:
    return Decimal(str(get_setting(s, "swemwbs_threshold", "3")))


def measure_settings(ctx: Ctx) -> MeasureSettings:
    with ctx.read() as s:
        return MeasureSettings(_threshold_in(s), bool(get_setting(s, "ons4_enabled", False)), _wording_in(s))


def parse_wording(text: str) -> tuple[tuple[str, ...], str]:
    """Read the licensed wording file. Two forms are accepted:

    Plain text (UTF-8): the 7 statements, one per line, in the order of the scale, then the
    copyright line. Blank lines and lines starting with '#' are ignored.

    TOML: ``statements = ["...", ... 7 of them]`` and ``copyright = "..."``.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    data = None
    if re.search(r"^\s*statements\s*=", text, flags=re.M):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DomainError(f"The wording file looks like TOML but does not parse: {exc}.", field="wording") from None
    if data is not None:
        statements = data.get("statements")
        copyright_ = data.get("copyright")
        if not isinstance(statements, list) or not all(isinstance(x, str) for x in statements):
            raise DomainError("`statements` must be a list of 7 texts.", field="wording")
        if not isinstance(copyright_, str):
            raise DomainError('Give the copyright line as `copyright = "..."`.', field="wording")
    else:
        lines = [ln.strip() for ln in text.splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("#")]
        if len(lines) != SWEMWBS_ITEMS + 1:
            raise DomainError(
                f"The wording file has {len(lines)} lines of text; it needs exactly 8: the 7 "
                "statements in order, then the copyright line.",
                field="wording",
            )
        statements, copyright_ = lines[:SWEMWBS_ITEMS], lines[SWEMWBS_ITEMS]
    return check_wording(statements, copyright_)


def check_wording(statements: Sequence[str], copyright_: str | None) -> tuple[tuple[str, ...], str]:
    if len(statements) != SWEMWBS_ITEMS:
        raise DomainError(f"SWEMWBS has 7 statements; the file gives {len(statements)}.", field="wording")
    clean = tuple(_text(st, "wording", max_len=300, required=True) for st in statements)
    if len(set(x.lower() for x in clean)) != SWEMWBS_ITEMS:
        raise DomainError("Two statements are the same; check the file.", field="wording")
    c = _text(copyright_, "copyright", max_len=500, required=True)
    return clean, c


def _set_wording_in(
    s: Session, ctx: Ctx, w: audit.AuditWriter, statements: Sequence[str] | None, copyright_: str | None
) -> bool:
    before = get_setting(s, "swemwbs_wording")
    if statements is None:
        if before is None:
            return False
        from navigator.store.models import Setting

        row = s.get(Setting, "swemwbs_wording")
        s.delete(row)
        s.flush()
        w.add("config.wording", "setting", None, before=before, after=None)
        return True
    stmts, c = check_wording(statements, copyright_)
    after = {"statements": list(stmts), "copyright": c}
    if before == after:
        return False
    put_setting(s, "swemwbs_wording", after, ctx.now())
    w.add("config.wording", "setting", None, before=before, after=after)
    return True


def set_wording(ctx: Ctx, statements: Sequence[str] | None, copyright_: str | None) -> SwemwbsWording:
    """Store the licensed wording (None: forget it, forms show 'Statement 1'...)."""
    with ctx.write() as s:
        _admin(s, ctx)
        _set_wording_in(s, ctx, audit.writer(s, ctx), statements, copyright_)
        return _wording_in(s)


def load_wording(ctx: Ctx, text: str) -> SwemwbsWording:
    statements, copyright_ = parse_wording(text)
    return set_wording(ctx, statements, copyright_)


def check_threshold(value) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(
            "The threshold is a number of metric points, for example 3 or 2.5.", field="threshold"
        ) from None
    if not d.is_finite() or not Decimal("0.01") <= d <= Decimal("28"):
        raise DomainError("The threshold is between 0.01 and 28 metric points (commonly 1 to 3).", field="threshold")
    if d.as_tuple().exponent < -2:
        raise DomainError("Give the threshold to at most two decimal places.", field="threshold")
    return d


def threshold_text(d: Decimal) -> str:
    """The stored form: '3', '2.5'."""
    return format(d.normalize(), "f")


def _set_threshold_in(s: Session, ctx: Ctx, w: audit.AuditWriter, value) -> bool:
    text_ = threshold_text(check_threshold(value))
    before = get_setting(s, "swemwbs_threshold")
    if (before or "3") == text_:
        return False
    put_setting(s, "swemwbs_threshold", text_, ctx.now())
    w.add(
        "config.threshold",
        "setting",
        None,
        before={"swemwbs_threshold": before or "3"},
        after={"swemwbs_threshold": text_},
    )
    return True


def set_threshold(ctx: Ctx, value) -> Decimal:
    """The SWEMWBS meaningful-change threshold in metric points (default 3)."""
    with ctx.write() as s:
        _admin(s, ctx)
        _set_threshold_in(s, ctx, audit.writer(s, ctx), value)
        return _threshold_in(s)


def _set_ons4_in(s: Session, ctx: Ctx, w: audit.AuditWriter, enabled: bool) -> bool:
    before = bool(get_setting(s, "ons4_enabled", False))
    if before == bool(enabled):
        return False
    put_setting(s, "ons4_enabled", bool(enabled), ctx.now())
    w.add("config.ons4", "setting", None, before={"ons4_enabled": before}, after={"ons4_enabled": bool(enabled)})
    return True


def set_ons4(ctx: Ctx, enabled: bool) -> bool:
    with ctx.write() as s:
        _admin(s, ctx)
        _set_ons4_in(s, ctx, audit.writer(s, ctx), enabled)
        return bool(enabled)


# ====================================================================== the service's own details (for letters)


@dataclass(frozen=True)
class ServiceDetails:
    name: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None


DEFAULT_SERVICE_NAME = "the community navigation service"
SERVICE_FIELDS = ("name", "phone", "email", "address")


def _service_in(s: Session) -> ServiceDetails:
    data = get_setting(s, "service") or {}
    return ServiceDetails(
        data.get("name") or DEFAULT_SERVICE_NAME, data.get("phone"), data.get("email"), data.get("address")
    )


def service_details(ctx: Ctx) -> ServiceDetails:
    with ctx.read() as s:
        return _service_in(s)


def _set_service_in(s: Session, ctx: Ctx, w: audit.AuditWriter, **values) -> bool:
    before = get_setting(s, "service") or {}
    after = dict(before)
    limits = {"name": 200, "phone": 40, "email": 200, "address": 400}
    for key, value in values.items():
        if key not in SERVICE_FIELDS:
            raise DomainError(f"Unknown service detail '{key}'.", field=key)
        if value is None:
            continue
        v = _text(value, key, max_len=limits[key], multiline=key == "address")
        if key == "email" and v and "@" not in v:
            raise DomainError("An email address has an @.", field="email")
        if v:
            after[key] = v
        else:
            after.pop(key, None)
    if after == before:
        return False
    put_setting(s, "service", after, ctx.now())
    b, a = audit.diff(before, after)
    for k in before:
        if k not in after:
            b[k], a[k] = before[k], None
    w.add("config.service", "setting", None, before=b, after=a)
    return True


def set_service_details(ctx: Ctx, **values) -> ServiceDetails:
    """The service's name, phone, email and address used in letters (None keeps; '' clears)."""
    with ctx.write() as s:
        _admin(s, ctx)
        _set_service_in(s, ctx, audit.writer(s, ctx), **values)
        return _service_in(s)


# ====================================================================== calendar corrections


@dataclass(frozen=True)
class CalendarRow:
    day: date
    is_working_day: bool
    note: str | None


_PLAIN_CALENDAR = WorkingCalendar()


def list_calendar(ctx: Ctx) -> tuple[CalendarRow, ...]:
    with ctx.read() as s:
        ctx.actor(s)
        rows = s.exec(select(CalendarCorrection).order_by(CalendarCorrection.day)).all()
        return tuple(CalendarRow(r.day, bool(r.is_working_day), r.note) for r in rows)


def _set_day_in(s: Session, ctx: Ctx, w: audit.AuditWriter, day: date, working: bool, note: str | None) -> bool:
    if not isinstance(day, date) or not 1900 <= day.year <= 2200:
        raise DomainError("Give a date between 1900 and 2200.", field="day")
    note_ = _text(note, "note", max_len=200)
    row = s.get(CalendarCorrection, day)
    if _PLAIN_CALENDAR.is_working_day(day) == bool(working):
        if row is None:
            kind = "a working day" if working else "not a working day (weekend or bank holiday)"
            raise DomainError(f"{day.isoformat()} is already {kind}: no correction is needed.", field="day")
        # The correction is no longer needed: removing it has the same effect.
        return _remove_day_in(s, ctx, w, day)
    after = {"day": day, "is_working_day": bool(working), "note": note_}
    if row is None:
        s.add(CalendarCorrection(day=day, is_working_day=bool(working), note=note_))
        before = None
    else:
        before = {"day": row.day, "is_working_day": bool(row.is_working_day), "note": row.note}
        if before == after:
            return False
        row.is_working_day = bool(working)
        row.note = note_
        s.add(row)
    s.flush()
    w.add("calendar.set", "calendar_correction", None, before=before, after=after)
    return True


def _remove_day_in(s: Session, ctx: Ctx, w: audit.AuditWriter, day: date) -> bool:
    row = s.get(CalendarCorrection, day)
    if row is None:
        return False
    before = {"day": row.day, "is_working_day": bool(row.is_working_day), "note": row.note}
    s.delete(row)
    s.flush()
    w.add("calendar.remove", "calendar_correction", None, before=before, after=None)
    return True


def set_calendar_day(ctx: Ctx, day: date, *, working: bool, note: str | None = None) -> CalendarRow | None:
    """Mark a day as an extra non-working day (a one-off bank holiday) or as a working day after all.

    Counts of working days (response and waiting times) use it from now on; follow-ups already
    scheduled keep their dates."""
    with ctx.write() as s:
        _admin(s, ctx)
        _set_day_in(s, ctx, audit.writer(s, ctx), day, working, note)
        row = s.get(CalendarCorrection, day)
    ctx.forget_calendar()
    return CalendarRow(row.day, bool(row.is_working_day), row.note) if row is not None else None


def remove_calendar_day(ctx: Ctx, day: date) -> None:
    with ctx.write() as s:
        _admin(s, ctx)
        if not _remove_day_in(s, ctx, audit.writer(s, ctx), day):
            raise NotFound(f"There is no calendar correction on {day.isoformat()}.", field="day")
    ctx.forget_calendar()
