"""Delivery partners and their programmes; the one way either is created (``add_partner_in``,
``add_programme_in``: admin CLI and screen, configuration import, tracker import), each with one audit
event shape (``partner.add``, ``programme.add``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from navigator.domain.errors import DomainError, NotFound
from navigator.services import audit
from navigator.services.context import Ctx, protocol
from navigator.services.setup.common import admin_actor, checked_text, optional_text
from navigator.store.ids import row_id
from navigator.store.models import (
    Locality,
    Partner,
    Programme,
    ProgrammeLocality,
)


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


def programme_localities(s: Session, programme_id: int) -> tuple[str, ...]:
    rows = s.exec(
        select(Locality.name)
        .join(ProgrammeLocality, col(ProgrammeLocality.locality_id) == col(Locality.id))
        .where(ProgrammeLocality.programme_id == programme_id)
    ).all()
    return tuple(sorted(rows))


def programme_row(s: Session, p: Programme, partner: Partner | None = None) -> ProgrammeRow:
    partner = partner or s.get(Partner, p.partner_id)
    assert partner is not None  # the programme's partner (a foreign key)
    return ProgrammeRow(
        row_id(p.id),
        p.partner_id,
        partner.name,
        p.name,
        p.eligibility_notes,
        p.expected_response_days,
        p.contact,
        bool(p.active),
        programme_localities(s, row_id(p.id)),
    )


def partner_row(s: Session, partner: Partner) -> PartnerRow:
    progs = s.exec(select(Programme).where(Programme.partner_id == partner.id).order_by(Programme.name)).all()
    return PartnerRow(
        row_id(partner.id),
        partner.name,
        partner.contact,
        bool(partner.active),
        tuple(programme_row(s, p, partner) for p in progs),
    )


def partner_state(p: Partner) -> dict:
    return {"name": p.name, "contact": p.contact, "active": bool(p.active)}


def programme_state(s: Session, p: Programme) -> dict:
    return {
        "name": p.name,
        "eligibility_notes": p.eligibility_notes,
        "expected_response_days": p.expected_response_days,
        "contact": p.contact,
        "active": bool(p.active),
        "localities": list(programme_localities(s, row_id(p.id))),
    }


def find_partner(s: Session, partner: str | int) -> Partner:
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


def find_programme(s: Session, programme: str | int, partner: str | int | None = None) -> Programme:
    """By id, by 'Partner: Programme', or by name (with the partner when the name is not unique)."""
    row = None
    if isinstance(programme, int):
        row = s.get(Programme, programme)
    else:
        key = str(programme or "").strip()
        if partner is not None:
            p = find_partner(s, partner)
            row = s.exec(
                select(Programme).where(Programme.partner_id == p.id, func.lower(Programme.name) == key.lower())
            ).first()
        elif key.isdigit():
            row = s.get(Programme, int(key))
        else:
            if ":" in key:
                pname, _, gname = key.partition(":")
                named = s.exec(select(Partner).where(func.lower(col(Partner.name)) == pname.strip().lower())).first()
                if named is not None:
                    row = s.exec(
                        select(Programme).where(
                            Programme.partner_id == named.id, func.lower(Programme.name) == gname.strip().lower()
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


def check_days(value) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise DomainError(
            "The expected response period is a whole number of working days.", field="expected_response_days"
        ) from None
    if not 1 <= n <= 250:
        raise DomainError("The expected response period is 1 to 250 working days.", field="expected_response_days")
    return n


def locality_ids(s: Session, names: Iterable[str], *, already: Iterable[int] = ()) -> list[int]:
    """The localities named; a retired one is refused unless the programme already serves it (``already``)."""
    out: list[int] = []
    kept = set(already)
    for name in names:
        loc = s.exec(select(Locality).where(func.lower(Locality.name) == str(name).strip().lower())).first()
        if loc is None:
            raise NotFound(
                f"There is no locality '{name}'. `navigator reference list locality` shows them.", field="localities"
            )
        if not loc.active and loc.id not in kept:
            raise DomainError(
                f"{loc.name} is retired: a programme cannot serve it. Bring it back first "
                "(`navigator reference unretire locality`) or leave it out.",
                field="localities",
            )
        if loc.id not in out:
            out.append(row_id(loc.id))
    return out


def set_programme_localities(s: Session, programme: Programme, locality_ids: list[int]) -> None:
    current = {
        pl.locality_id: pl
        for pl in s.exec(select(ProgrammeLocality).where(ProgrammeLocality.programme_id == programme.id)).all()
    }
    for lid, pl in current.items():
        if lid not in locality_ids:
            s.delete(pl)
    for lid in locality_ids:
        if lid not in current:
            s.add(ProgrammeLocality(programme_id=row_id(programme.id), locality_id=lid))
    s.flush()


def add_partner_in(
    s: Session, ctx: Ctx, w: audit.AuditWriter, name: str, contact: str | None = None, active: bool = True
) -> Partner:
    name_ = checked_text(name, "name", max_len=200, required=True)
    if s.exec(select(Partner.id).where(func.lower(Partner.name) == name_.lower())).first() is not None:
        raise DomainError(f"There is already a partner called '{name_}'.", field="name")
    p = Partner(name=name_, contact=checked_text(contact, "contact", max_len=2000, multiline=True), active=bool(active))
    s.add(p)
    s.flush()
    w.add("partner.add", "partner", p.id, after=partner_state(p))
    return p


def edit_partner_in(
    s: Session,
    ctx: Ctx,
    w: audit.AuditWriter,
    partner: str | int,
    *,
    name=None,
    contact=None,
    active: bool | None = None,
) -> bool:
    p = find_partner(s, partner)
    before = partner_state(p)
    if name is not None:
        name_ = checked_text(name, "name", max_len=200, required=True)
        other = s.exec(select(Partner.id).where(func.lower(Partner.name) == name_.lower(), Partner.id != p.id)).first()
        if other is not None:
            raise DomainError(f"There is already a partner called '{name_}'.", field="name")
        p.name = name_
    p.contact = optional_text(contact, p.contact, "contact")
    if active is not None:
        p.active = bool(active)
    b, a = audit.diff(before, partner_state(p))
    if not a:
        return False
    s.add(p)
    s.flush()
    action = "partner.edit"
    if set(a) == {"active"}:
        action = "partner.retire" if not p.active else "partner.unretire"
    w.add(action, "partner", p.id, before=b | {"name": before["name"]}, after=a | {"name": p.name})
    return True


def add_programme_in(
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
    p = find_partner(s, partner)
    name_ = checked_text(name, "name", max_len=200, required=True)
    if (
        s.exec(
            select(Programme.id).where(Programme.partner_id == p.id, func.lower(Programme.name) == name_.lower())
        ).first()
        is not None
    ):
        raise DomainError(f"{p.name} already has a programme called '{name_}'.", field="name")
    days = check_days(
        expected_response_days if expected_response_days is not None else protocol(s).partner_response_days or 10
    )
    loc_ids = locality_ids(s, localities)
    prog = Programme(
        partner_id=row_id(p.id),
        name=name_,
        expected_response_days=days,
        active=bool(active),
        eligibility_notes=checked_text(eligibility_notes, "eligibility_notes", max_len=4000, multiline=True),
        contact=checked_text(contact, "contact", max_len=2000, multiline=True),
    )
    s.add(prog)
    s.flush()
    set_programme_localities(s, prog, loc_ids)
    w.add("programme.add", "programme", prog.id, after={"partner": p.name} | programme_state(s, prog))
    return prog


def edit_programme_in(
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
    prog = find_programme(s, programme, partner)
    before = programme_state(s, prog)
    if name is not None:
        name_ = checked_text(name, "name", max_len=200, required=True)
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
    prog.eligibility_notes = optional_text(eligibility_notes, prog.eligibility_notes, "eligibility_notes", max_len=4000)
    prog.contact = optional_text(contact, prog.contact, "contact")
    if expected_response_days is not None:
        prog.expected_response_days = check_days(expected_response_days)
    if active is not None:
        prog.active = bool(active)
    s.add(prog)
    s.flush()
    if localities is not None:
        served = s.exec(select(ProgrammeLocality.locality_id).where(ProgrammeLocality.programme_id == prog.id)).all()
        set_programme_localities(s, prog, locality_ids(s, localities, already=served))
    b, a = audit.diff(before, programme_state(s, prog))
    if not a:
        return False
    action = "programme.edit"
    if set(a) == {"active"}:
        action = "programme.retire" if not prog.active else "programme.unretire"
    owner = s.get(Partner, prog.partner_id)
    assert owner is not None  # the programme's partner (a foreign key)
    partner_name = owner.name
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
        return tuple(partner_row(s, p) for p in rows if include_retired or p.active)


def get_partner(ctx: Ctx, partner: str | int) -> PartnerRow:
    with ctx.read() as s:
        ctx.actor(s)
        return partner_row(s, find_partner(s, partner))


def add_partner(ctx: Ctx, name: str, contact: str | None = None) -> PartnerRow:
    with ctx.write() as s:
        admin_actor(s, ctx)
        return partner_row(s, add_partner_in(s, ctx, audit.writer(s, ctx), name, contact))


def edit_partner(ctx: Ctx, partner: str | int, *, name: str | None = None, contact: str | None = None) -> PartnerRow:
    """None keeps a value; an empty contact clears it."""
    with ctx.write() as s:
        admin_actor(s, ctx)
        p = find_partner(s, partner)
        edit_partner_in(s, ctx, audit.writer(s, ctx), row_id(p.id), name=name, contact=contact)
        return partner_row(s, p)


def retire_partner(ctx: Ctx, partner: str | int, *, retired: bool = True) -> PartnerRow:
    """Retiring a partner retires its programmes too (each audited); past onward referrals keep them.
    Bringing a partner back leaves its programmes retired: bring back the ones to offer again."""
    with ctx.write() as s:
        admin_actor(s, ctx)
        p = find_partner(s, partner)
        w = audit.writer(s, ctx)
        if not edit_partner_in(s, ctx, w, row_id(p.id), active=not retired):
            raise DomainError(f"{p.name} is already {'retired' if retired else 'in use'}.", field="partner")
        if retired:
            for prog in s.exec(select(Programme).where(Programme.partner_id == p.id, Programme.active)).all():
                edit_programme_in(s, ctx, w, row_id(prog.id), active=False)
        return partner_row(s, p)


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
        admin_actor(s, ctx)
        prog = add_programme_in(
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
        return programme_row(s, prog)


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
        admin_actor(s, ctx)
        prog = find_programme(s, programme, partner)
        edit_programme_in(
            s,
            ctx,
            audit.writer(s, ctx),
            row_id(prog.id),
            name=name,
            localities=localities,
            eligibility_notes=eligibility_notes,
            expected_response_days=expected_response_days,
            contact=contact,
        )
        return programme_row(s, prog)


def retire_programme(
    ctx: Ctx, programme: str | int, *, partner: str | int | None = None, retired: bool = True
) -> ProgrammeRow:
    with ctx.write() as s:
        admin_actor(s, ctx)
        prog = find_programme(s, programme, partner)
        if not edit_programme_in(s, ctx, audit.writer(s, ctx), row_id(prog.id), active=not retired):
            raise DomainError(f"That programme is already {'retired' if retired else 'in use'}.", field="programme")
        return programme_row(s, prog)
