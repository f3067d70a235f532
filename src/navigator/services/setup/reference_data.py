"""Reference lists: lots, localities, referral sources, support areas, personal outcomes.

History keeps its meaning: journeys refer to reference data by id, so a rename changes only the label;
nothing is ever deleted, only retired. Past returns (``sent_return``) keep the names as they were sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, select

from navigator.domain.errors import DomainError, NotFound
from navigator.services import audit
from navigator.services.context import Ctx
from navigator.services.setup.common import admin_actor, checked_text
from navigator.store.ids import row_id
from navigator.store.models import (
    Locality,
    Lot,
    PersonalOutcome,
    ReferralSource,
    SupportArea,
)

CODE_RE = re.compile(r"^[a-z0-9_]{1,40}$")


@dataclass(frozen=True)
class RefRow:
    kind: str
    id: int
    code: str  # a locality's code is its name
    name: str
    active: bool
    lot: str | None = None  # a locality's lot code


KIND_MODELS: dict[str, type[Any]] = {  # dispatched by kind (a locality has no code)
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


def ref_row(s: Session, kind: str, row) -> RefRow:
    if kind == "locality":
        lot = s.get(Lot, row.lot_id)
        return RefRow(kind, row.id, row.name, row.name, bool(row.active), lot.code if lot else None)
    return RefRow(kind, row.id, row.code, row.name, bool(row.active))


def ref_state(s: Session, kind: str, row) -> dict:
    r = ref_row(s, kind, row)
    d = {"code": r.code, "name": r.name, "active": r.active}
    if kind == "locality":
        d = {"name": r.name, "lot": r.lot, "active": r.active}
    return d


def find_ref(s: Session, kind: str, code: str):
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


def check_name_free(s: Session, kind: str, name: str, own_id: int | None = None) -> None:
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


def find_lot(s: Session, value: str) -> Lot:
    key = (value or "").strip().lower()
    lot = (
        s.exec(select(Lot).where(func.lower(Lot.code) == key)).first()
        or s.exec(select(Lot).where(func.lower(Lot.name) == key)).first()
    )
    if lot is None:
        raise NotFound(f"There is no lot '{value}'. `navigator reference list lot` shows the lots.", field="lots")
    return lot


def check_code(kind: str, code: str | None) -> str:
    if kind == "locality":
        return checked_text(code, "name", max_len=100, required=True)
    if kind == "lot":
        return checked_text(code, "code", max_len=40, required=True)
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
        return tuple(ref_row(s, kind, r) for r in rows if include_retired or r.active)


def add_ref_in(
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
        name_ = checked_text(name or code, "name", max_len=100, required=True)
        if name and name_ != code:
            raise DomainError("A locality is known by its name: give it once (or the same twice).", field="name")
        if not lot:
            raise DomainError("Say which lot the locality belongs to (--lot).", field="lot")
        lot_row = find_lot(s, lot)
        if not lot_row.active:
            raise DomainError(f"The lot '{lot_row.code}' is retired.", field="lot")
        check_name_free(s, kind, name_)
        row = Locality(lot_id=row_id(lot_row.id), name=name_, active=bool(active))
    else:
        if lot:
            raise DomainError("Only a locality belongs to a lot.", field="lot")
        name_ = checked_text(name, "name", max_len=200, required=True)
        if s.exec(select(model.id).where(func.lower(model.code) == code.lower())).first() is not None:
            raise DomainError(f"The code '{code}' is already used by another {KIND_LABELS[kind]}.", field="code")
        check_name_free(s, kind, name_)
        if name_.lower() != code.lower():
            check_name_free(s, kind, code)
        row = model(code=code, name=name_, active=bool(active))
    s.add(row)
    s.flush()
    w.add("reference.add", model.__tablename__, row.id, after=ref_state(s, kind, row))
    return row


def rename_ref_in(s: Session, ctx: Ctx, w: audit.AuditWriter, kind: str, code: str, new_name: str) -> bool:
    model = KIND_MODELS[kind]
    row = find_ref(s, kind, code)
    name_ = checked_text(new_name, "name", max_len=100 if kind == "locality" else 200, required=True)
    if name_ == row.name:
        return False
    check_name_free(s, kind, name_, own_id=row.id)
    before = ref_state(s, kind, row)
    row.name = name_
    s.add(row)
    s.flush()
    b, a = audit.diff(before, ref_state(s, kind, row))
    w.add("reference.rename", model.__tablename__, row.id, before=b, after=a)
    return True


def set_ref_active_in(s: Session, ctx: Ctx, w: audit.AuditWriter, kind: str, code: str, active: bool) -> bool:
    model = KIND_MODELS[kind]
    row = find_ref(s, kind, code)
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
    before = ref_state(s, kind, row)
    row.active = bool(active)
    s.add(row)
    s.flush()
    b, a = audit.diff(before, ref_state(s, kind, row))
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
        admin_actor(s, ctx)
        row = add_ref_in(s, ctx, audit.writer(s, ctx), kind, code, name, lot)
        return ref_row(s, kind, row)


def rename_reference(ctx: Ctx, kind: str, code: str, new_name: str) -> RefRow:
    """Change the label only: journeys refer by id, past returns keep the name they were sent with."""
    kind = kind_of(kind)
    with ctx.write() as s:
        admin_actor(s, ctx)
        rename_ref_in(s, ctx, audit.writer(s, ctx), kind, code, new_name)
        return ref_row(s, kind, find_ref(s, kind, new_name if kind == "locality" else code))


def retire_reference(ctx: Ctx, kind: str, code: str) -> RefRow:
    """No longer offered for new records; kept for history."""
    kind = kind_of(kind)
    with ctx.write() as s:
        admin_actor(s, ctx)
        if not set_ref_active_in(s, ctx, audit.writer(s, ctx), kind, code, False):
            raise DomainError(f"That {KIND_LABELS[kind]} is already retired.", field="code")
        return ref_row(s, kind, find_ref(s, kind, code))


def unretire_reference(ctx: Ctx, kind: str, code: str) -> RefRow:
    kind = kind_of(kind)
    with ctx.write() as s:
        admin_actor(s, ctx)
        if not set_ref_active_in(s, ctx, audit.writer(s, ctx), kind, code, True):
            raise DomainError(f"That {KIND_LABELS[kind]} is already in use (not retired).", field="code")
        return ref_row(s, kind, find_ref(s, kind, code))
