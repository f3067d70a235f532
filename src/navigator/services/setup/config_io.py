"""The whole configuration as one TOML file: export, and an all-or-nothing import.

What is in it: users (not their journeys), lots, localities, referral sources, support areas,
personal outcomes, partners and their programmes (with the localities they serve), the
no-response protocol, the service's details, the measures settings (threshold, ONS4, the
SWEMWBS wording when configured), calendar corrections and the letter templates.

Import matches by natural key (username; lot code; locality name; source/area/outcome code;
partner name; programme name within its partner) and adds or updates; it never deletes
(retire with ``active = false``). It is idempotent: importing the same file twice changes
nothing the second time (the import itself is still recorded). Everything is checked
before anything is written, then it is applied in one transaction through the same rules as
the admin commands, each change audited, plus a ``config.import`` summary event. A dry run goes through the very same steps and rolls back.

The export is deterministic (sorted by natural key), so export -> import into a fresh store ->
export gives the same text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tomli_w
from sqlmodel import Session, col, select

from navigator.domain.errors import DomainError
from navigator.services import audit
from navigator.services.casework import letters
from navigator.services.context import Ctx, get_setting, protocol
from navigator.services.setup import admin as A
from navigator.services.setup.config_parse import FORMAT, VERSION, parse
from navigator.store.ids import row_id
from navigator.store.models import (
    CalendarCorrection,
    Locality,
    Lot,
    Partner,
    PersonalOutcome,
    Programme,
    ReferralSource,
    SupportArea,
    User,
)

# ---------------------------------------------------------------- export


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def snapshot(s: Session) -> dict[str, Any]:
    """The configuration as plain data (what the TOML file holds)."""
    lots = {lot.id: lot for lot in s.exec(select(Lot)).all()}
    users = []
    for u in sorted(s.exec(select(User)).all(), key=lambda u: u.username):
        users.append(
            {
                "username": u.username,
                "name": u.name,
                "role": u.role,
                "active": bool(u.active),
                "lots": list(A.lots_of(s, row_id(u.id))),
            }
        )

    def coded(model):
        return [
            {"code": r.code, "name": r.name, "active": bool(r.active)}
            for r in sorted(s.exec(select(model)).all(), key=lambda r: r.code)
        ]

    localities = [
        {"name": loc.name, "lot": lots[loc.lot_id].code, "active": bool(loc.active)}
        for loc in sorted(s.exec(select(Locality)).all(), key=lambda r: r.name)
    ]
    partners = []
    for p in sorted(s.exec(select(Partner)).all(), key=lambda r: r.name):
        progs = []
        for g in sorted(s.exec(select(Programme).where(Programme.partner_id == p.id)).all(), key=lambda r: r.name):
            progs.append(
                _drop_none(
                    {
                        "name": g.name,
                        "expected_response_days": g.expected_response_days,
                        "eligibility_notes": g.eligibility_notes,
                        "contact": g.contact,
                        "active": bool(g.active),
                        "localities": list(A.programme_localities(s, row_id(g.id))),
                    }
                )
            )
        partners.append(
            _drop_none({"name": p.name, "contact": p.contact, "active": bool(p.active), "programmes": progs})
        )
    wording = A.wording_in(s)
    measures: dict[str, Any] = {
        "swemwbs_threshold": A.threshold_text(A.threshold_in(s)),
        "ons4_enabled": bool(get_setting(s, "ons4_enabled", False)),
    }
    if wording.configured:
        measures["swemwbs_wording"] = {
            "statements": list(wording.statements or ()),
            "copyright": wording.copyright or "",
        }
    service = get_setting(s, "service") or {}
    calendar = [
        _drop_none({"day": r.day, "working": bool(r.is_working_day), "note": r.note})
        for r in s.exec(select(CalendarCorrection).order_by(col(CalendarCorrection.day))).all()
    ]
    templates = {name: letters._template_in(s, name).text for name in letters.KINDS}
    return {
        "format": FORMAT,
        "version": VERSION,
        "service": {k: service[k] for k in A.SERVICE_FIELDS if service.get(k)},
        "protocol": protocol(s).to_dict(),
        "measures": measures,
        "lots": coded(Lot),
        "localities": localities,
        "sources": coded(ReferralSource),
        "areas": coded(SupportArea),
        "outcomes": coded(PersonalOutcome),
        "partners": partners,
        "users": users,
        "calendar": calendar,
        "letters": templates,
    }


HEADER = (
    "# navigator configuration. Import with `navigator config import FILE [--dry-run]`.\n"
    "# Import adds and updates by name or code and never deletes: retire with active = false.\n"
    "# A programme with an empty `localities` list serves every locality.\n\n"
)


def to_toml(data: dict[str, Any]) -> str:
    return HEADER + tomli_w.dumps(data, multiline_strings=True)


def export_config(ctx: Ctx) -> str:
    """The whole configuration as TOML (admins only: it lists the users). The export is audited."""
    with ctx.write() as s:
        A.admin_actor(s, ctx)
        data = snapshot(s)
        audit.record(
            s,
            ctx,
            "config.export",
            "setting",
            None,
            after={"users": len(data["users"]), "partners": len(data["partners"])},
        )
    return to_toml(data)


# ---------------------------------------------------------------- import: reading and checking


@dataclass(frozen=True)
class ImportReport:
    changes: tuple[str, ...]  # one line per change, in the order applied
    dry_run: bool

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class _DryRun(Exception):
    def __init__(self, changes: list[str]) -> None:
        super().__init__("dry run")
        self.changes = changes


# ---------------------------------------------------------------- import: applying


def _exists(s: Session, model, **where) -> Any:
    from sqlalchemy import func

    q = select(model)
    for name, value in where.items():
        attr = getattr(model, name)
        q = q.where(func.lower(attr) == value.lower()) if isinstance(value, str) else q.where(attr == value)
    return s.exec(q).first()


def _apply(s: Session, ctx: Ctx, plan: dict[str, Any]) -> list[str]:
    """Apply a checked plan through the admin rules; return what changed. Errors name where they are."""
    w = audit.writer(s, ctx)
    changes: list[str] = []

    def step(where: str, fn, *args, **kw):
        try:
            return fn(s, ctx, w, *args, **kw)
        except DomainError as exc:
            raise DomainError(f"{where}: {exc.message} Nothing was imported.", field=where) from None

    if plan["service"] and step("service", A.set_service_in, **plan["service"]):
        changes.append("service details")
    if plan.get("protocol") is not None and step("protocol", A.set_protocol_in, plan["protocol"]):
        changes.append("no-response protocol")
    if plan.get("threshold") is not None and step("measures", A.set_threshold_in, plan["threshold"]):
        changes.append("SWEMWBS threshold")
    if plan.get("ons4") is not None and step("measures", A.set_ons4_in, plan["ons4"]):
        changes.append("ONS4 " + ("on" if plan["ons4"] else "off"))
    if plan.get("wording") is not None and step("measures", A.set_wording_in, *plan["wording"]):
        changes.append("SWEMWBS wording")

    # Reference lists: lots before localities; activation after, so a lot is retired after its localities.
    for key, kind in (("lots", "lot"), ("sources", "source"), ("areas", "area"), ("outcomes", "outcome")):
        model = A.KIND_MODELS[kind]
        for i, r in enumerate(plan[key]):
            where = f"{key}[{i + 1}]"
            row = _exists(s, model, code=r["code"])
            if row is None:
                step(where, A.add_ref_in, kind, r["code"], r["name"], active=True)
                changes.append(f"add {A.KIND_LABELS[kind]} {r['code']}")
            elif step(where, A.rename_ref_in, kind, row.code, r["name"]):
                changes.append(f"rename {A.KIND_LABELS[kind]} {r['code']}")
    for i, r in enumerate(plan["localities"]):
        where = f"localities[{i + 1}]"
        row = _exists(s, Locality, name=r["name"])
        if row is None:
            step(where, A.add_ref_in, "locality", r["name"], None, r["lot"], active=True)
            changes.append(f"add locality {r['name']}")
        else:
            lot = _exists(s, Lot, code=r["lot"])
            if lot is None or lot.id != row.lot_id:
                raise DomainError(
                    f"{where}: '{r['name']}' is in another lot in this store; navigator does not move "
                    "a locality between lots (past returns would change). Nothing was imported.",
                    field=where,
                )
            if row.name != r["name"] and step(where, A.rename_ref_in, "locality", row.name, r["name"]):
                changes.append(f"rename locality {r['name']}")
    # Bring back what the file says is active now (lots before their localities); retiring comes last,
    # after users and programmes that may still name a retired lot or locality.
    acts = [
        (k, kind, r)
        for k, kind in (
            ("lots", "lot"),
            ("localities", "locality"),
            ("sources", "source"),
            ("areas", "area"),
            ("outcomes", "outcome"),
        )
        for r in plan[k]
    ]

    def activation(active: bool) -> None:
        for key, kind, r in acts if active else list(reversed(acts)):
            if r["active"] is not active:
                continue
            code = r["name"] if kind == "locality" else r["code"]
            if step(key, A.set_ref_active_in, kind, code, active):
                changes.append(f"{'bring back' if active else 'retire'} {A.KIND_LABELS[kind]} {code}")

    activation(True)

    for i, p in enumerate(plan["partners"]):
        where = f"partners[{i + 1}]"
        row = _exists(s, Partner, name=p["name"])
        if row is None:
            row = step(where, A.add_partner_in, p["name"], p["contact"], active=p["active"])
            changes.append(f"add partner {p['name']}")
        elif step(where, A.edit_partner_in, row.id, name=p["name"], contact=p["contact"] or "", active=p["active"]):
            changes.append(f"update partner {p['name']}")
        for j, g in enumerate(p["programmes"]):
            gw = f"{where}.programmes[{j + 1}]"
            progs = s.exec(select(Programme).where(Programme.partner_id == row.id)).all()
            prog = next((x for x in progs if x.name.lower() == g["name"].lower()), None)
            if prog is None:
                step(
                    gw,
                    A.add_programme_in,
                    row.id,
                    g["name"],
                    localities=g["localities"],
                    eligibility_notes=g["eligibility_notes"],
                    expected_response_days=g["expected_response_days"],
                    contact=g["contact"],
                    active=g["active"],
                )
                changes.append(f"add programme {p['name']}: {g['name']}")
            elif step(
                gw,
                A.edit_programme_in,
                prog.id,
                name=g["name"],
                localities=g["localities"],
                eligibility_notes=g["eligibility_notes"] or "",
                contact=g["contact"] or "",
                expected_response_days=g["expected_response_days"],
                active=g["active"],
            ):
                changes.append(f"update programme {p['name']}: {g['name']}")

    # Active admins first, so that a file which hands admin over from one person to another never
    # passes through a moment with no active admin.
    users = sorted(enumerate(plan["users"]), key=lambda iu: not (iu[1]["role"] == "admin" and iu[1]["active"]))
    for i, u in users:
        where = f"users[{i + 1}]"
        row = _exists(s, User, username=u["username"])
        if row is None:
            step(
                where,
                A.add_user_in,
                u["username"],
                u["name"],
                u["role"],
                u["lots"],
                active=u["active"],
                allow_retired_lots=True,
            )
            changes.append(f"add user {u['username']}")
        elif step(
            where, A.edit_user_in, row.username, name=u["name"], role=u["role"], lots=u["lots"], active=u["active"]
        ):
            changes.append(f"update user {u['username']}")
    if A.active_admins(s) == 0:
        raise DomainError("users: the file would leave no active admin. Nothing was imported.", field="users")

    activation(False)

    for i, r in enumerate(plan["calendar"]):
        if step(f"calendar[{i + 1}]", A.set_day_in, r["day"], r["working"], r["note"]):
            changes.append(f"calendar {r['day'].isoformat()}")

    for name, text_ in plan["letters"].items():
        if step(f"letters.{name}", letters._set_template_in, name, text_):
            changes.append(f"letter template {name}")

    return changes


def import_config(ctx: Ctx, text: str, *, dry_run: bool = False) -> ImportReport:
    """Check the whole file, then apply it in one transaction (or, with dry_run, only say what would change)."""
    plan = parse(text)
    try:
        with ctx.write() as s:
            A.admin_actor(s, ctx)
            changes = _apply(s, ctx, plan)
            if dry_run:
                raise _DryRun(changes)
            # Every import is recorded, even one that found nothing to change.
            audit.record(s, ctx, "config.import", "setting", None, after={"changes": len(changes)})
    except _DryRun as dr:
        return ImportReport(tuple(dr.changes), True)
    ctx.forget_calendar()
    ctx.forget_actor()
    return ImportReport(tuple(changes), False)
