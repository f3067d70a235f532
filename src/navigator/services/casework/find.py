"""Find: any person by name, ref, date of birth, postcode or NHS number among those the user may see
(``find``, audited), and opening a person outside one's caseload with a stated reason
(``open_with_reason``, audited)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from navigator.domain.errors import AccessDenied, DomainError, NotFound
from navigator.domain.identifiers import clean_text, fold_name
from navigator.domain.text import check_text
from navigator.services.context import Ctx
from navigator.services.dto import FindHit
from navigator.store.ids import row_id

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy import ColumnElement


def find(ctx: Ctx, query: str, limit: int = 50) -> list[FindHit]:
    """Any person by name, ref, date of birth, postcode or NHS number, among those I may see."""
    from sqlalchemy import and_, func, or_
    from sqlmodel import col, select

    from navigator.domain.dates import parse_date
    from navigator.services import access, audit
    from navigator.store.models import Client, Journey, Locality, User

    q = (clean_text(query, "query", max_len=200) or "").strip()
    if len(q) < 2:
        return []
    with ctx.write() as s:
        actor = ctx.actor(s)
        conds: list[ColumnElement[bool]] = []
        digits = q.replace(" ", "")
        if digits.isdigit() and len(digits) == 10:
            conds.append(col(Client.nhs_number) == digits)
        try:
            d = parse_date(q, today=ctx.today(), relative=False)
        except DomainError:
            d = None
        if d is not None:
            conds.append(col(Client.date_of_birth) == d)
        compact = q.replace(" ", "").upper()
        if 5 <= len(compact) <= 7 and any(ch.isdigit() for ch in compact):
            conds.append(func.replace(col(Client.postcode), " ", "") == compact)
        conds.append(func.lower(col(Client.client_ref)) == q.lower())
        into = s.exec(  # a record merged into another: its reference finds the kept person (casework/merge.py)
            select(Client.merged_into_id).where(
                func.lower(col(Client.client_ref)) == q.lower(), col(Client.merged_into_id).is_not(None)
            )
        ).first()
        if into is not None:
            conds.append(col(Client.id) == into)
        words = [fold_name(w) for w in q.split()]
        if words and d is None:
            # % and _ typed by the user are letters, not wildcards (escaped; the prefix % is ours)
            esc = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for w in words]
            name_conds = [
                or_(
                    col(Client.first_name_key).like(w, escape="\\"),
                    col(Client.last_name_key).like(w, escape="\\"),
                )
                for w in esc
            ]
            conds.append(and_(*name_conds))
        latest = (
            select(Journey.client_id, func.max(Journey.id).label("jid")).group_by(col(Journey.client_id)).subquery()
        )
        stmt = (
            select(Client, Locality, Journey)
            .join(Locality, col(Locality.id) == col(Client.locality_id))
            .join(latest, latest.c.client_id == Client.id, isouter=True)
            .join(Journey, col(Journey.id) == latest.c.jid, isouter=True)
            .where(or_(*conds), col(Client.merged_into_id).is_(None))
            .order_by(Client.last_name_key, Client.first_name_key)
            .limit(limit * 4)
        )
        users = {u.id: u.username for u in s.exec(select(User)).all()}
        hits = []
        for c, loc, j in s.exec(stmt).all():
            mine = False
            if actor.is_admin:
                mine = True
            elif actor.role == "team_lead":
                if not access.in_my_lots(actor, loc.lot_id):
                    continue
                mine = True
            else:
                own = s.exec(
                    select(Journey.id).where(Journey.client_id == c.id, Journey.navigator_id == actor.id)
                ).first()
                if own is not None:
                    mine = True
                elif not access.in_my_lots(actor, loc.lot_id):
                    continue
                else:
                    mine = access.has_grant(s, actor, row_id(c.id))
            hits.append(
                FindHit(  # identifying details only for people I may open without giving a reason
                    row_id(c.id),
                    c.client_ref,
                    f"{c.first_name} {c.last_name}",
                    c.date_of_birth if mine else None,
                    c.postcode if mine else None,
                    c.nhs_number if mine else None,
                    loc.name,
                    j.id if j else None,
                    j.state if j else None,
                    users.get(j.navigator_id) if j else None,
                    mine,
                )
            )
            if len(hits) >= limit:
                break
        audit.record(s, ctx, "search", "client", None, after={"query": q, "results": len(hits)})
        return hits


def open_with_reason(ctx: Ctx, client_id: int, reason: str) -> None:
    """A navigator opens a person outside their caseload (within their lots) with a stated reason."""
    from navigator.services import access, audit
    from navigator.store.models import AccessGrant, Client

    text_ = check_text(reason, "reason", max_len=400, required=True)
    if len(text_ or "") < 5:
        raise DomainError("Say why you need to open this record.", field="reason")
    assert text_ is not None  # five characters or more
    with ctx.write() as s:
        actor = ctx.actor(s)
        c = s.get(Client, client_id)
        if c is None:
            raise NotFound("That person does not exist.")
        lot_id = access.lot_of_locality(s, c.locality_id)
        if actor.role == "navigator" and not access.in_my_lots(actor, lot_id):
            raise AccessDenied("This person is outside your lots; ask their team lead.")
        s.add(AccessGrant(user_id=actor.id, client_id=row_id(c.id), reason=text_, granted_at=ctx.now()))
        audit.record(s, ctx, "access.grant", "client", c.id, client_id=c.id, after={"reason": text_})
