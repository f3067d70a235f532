"""Creating a store: seed reference data, make the creating user its first admin; reference lists."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from navigator.services import audit
from navigator.services.context import Ctx, get_setting, put_setting
from navigator.services.dto import (
    LocalityOption,
    Option,
    ProgrammeOption,
    ReferenceData,
    UserOption,
)
from navigator.store import seed
from navigator.store.engine import Store, open_store
from navigator.store.ids import row_id
from navigator.store.models import (
    Locality,
    Lot,
    Partner,
    PersonalOutcome,
    Programme,
    ReferralSource,
    SupportArea,
    User,
    UserLot,
)


def is_initialised(session: Session) -> bool:
    return session.exec(select(func.count()).select_from(User)).one() > 0


def initialise(ctx: Ctx, *, admin_name: str | None = None, template: str = "kent") -> bool:
    """Seed a new store (``template``: a key of ``seed.TEMPLATES``) and make ctx.username its first
    admin. Returns False if already set up."""
    data = seed.TEMPLATES[template]
    with ctx.write() as s:
        if is_initialised(s):
            return False
        now = ctx.now()
        admin = User(username=ctx.username, name=admin_name or ctx.username, role="admin", active=True, created_at=now)
        s.add(admin)
        w = audit.writer(s, ctx)
        s.flush()
        w.add("store.initialise", "user", admin.id, after={"username": admin.username, "role": "admin"})
        for code, name, localities in data["lots"]:
            lot = Lot(code=code, name=name)
            s.add(lot)
            s.flush()
            for loc in localities:
                s.add(Locality(lot_id=row_id(lot.id), name=loc))
        for model, rows in (
            (ReferralSource, seed.REFERRAL_SOURCES),
            (SupportArea, seed.SUPPORT_AREAS),
            (PersonalOutcome, seed.PERSONAL_OUTCOMES),
        ):
            for code, name in rows:
                s.add(model(code=code, name=name))
        for partner, programme, days in data["partners"]:
            p = Partner(name=partner)
            s.add(p)
            s.flush()
            s.add(Programme(partner_id=row_id(p.id), name=programme, expected_response_days=days))
        put_setting(s, "pseudonym_secret", secrets.token_hex(32), now)
        w.add(
            "store.seed",
            "reference",
            None,
            after={"template": template, "lots": len(data["lots"]), "sources": len(seed.REFERRAL_SOURCES)},
        )
        return True


def open_ready(url: str, username: str | None = None, **ctx_kw) -> tuple[Store, Ctx]:
    """Open (creating and migrating as needed) and initialise the store; return it with a context."""
    store = open_store(url)
    who: dict[str, Any] = {"username": username} if username else {}
    ctx = Ctx(store, **who, **ctx_kw)
    initialise(ctx)
    return store, ctx


def reference(ctx: Ctx, *, include_retired: bool = False) -> ReferenceData:
    with ctx.read() as s:
        return reference_in(s, include_retired=include_retired)


def reference_in(s: Session, *, include_retired: bool = False) -> ReferenceData:
    def opts(model):
        q = select(model).order_by(model.id)
        return tuple(Option(r.id, r.code, r.name, r.active) for r in s.exec(q).all() if include_retired or r.active)

    lots = {lot.id: lot for lot in s.exec(select(Lot)).all()}
    localities = tuple(
        LocalityOption(row_id(loc.id), loc.name, loc.lot_id, lots[loc.lot_id].code, lots[loc.lot_id].name, loc.active)
        for loc in s.exec(select(Locality).order_by(col(Locality.lot_id), col(Locality.id))).all()
        if include_retired or loc.active
    )
    programmes = tuple(
        ProgrammeOption(
            row_id(p.id), p.partner_id, partner.name, p.name, p.expected_response_days, p.active and partner.active
        )
        for p, partner in s.exec(
            select(Programme, Partner)
            .join(Partner, col(Partner.id) == col(Programme.partner_id))
            .order_by(Partner.name, Programme.name)
        ).all()
        if include_retired or (p.active and partner.active)
    )
    user_lots: dict[int, list[str]] = {}
    for ul in s.exec(select(UserLot)).all():
        user_lots.setdefault(ul.user_id, []).append(lots[ul.lot_id].code)
    navigators = tuple(
        UserOption(row_id(u.id), u.username, u.name, u.role, u.active, tuple(sorted(user_lots.get(row_id(u.id), []))))
        for u in s.exec(select(User).order_by(User.name)).all()
        if include_retired or u.active
    )
    return ReferenceData(
        lots=tuple(
            Option(row_id(lot.id), lot.code, lot.name, lot.active)
            for lot in lots.values()
            if include_retired or lot.active
        ),
        localities=localities,
        sources=opts(ReferralSource),
        support_areas=opts(SupportArea),
        outcomes=opts(PersonalOutcome),
        programmes=programmes,
        navigators=navigators,
    )


def meaningful_threshold(s: Session):
    from decimal import Decimal

    return Decimal(str(get_setting(s, "swemwbs_threshold", "3")))
