"""Subject access requests and a person's audit history.

- ``audit_history``: who did what to a person's record, when (and who viewed it):
  every audit event tied to the person or to any of their journeys. Team leads
  (for people in their lots) and admins. Looking is itself audited.
  ``journey_audit_history`` does the same for one journey (the TUI's Journey screen).
- ``subject_access``: everything held about a person (details, journeys with
  contacts, plan, reviews, measures, onward referrals, follow-ups, who opened
  the record and why, and the audit history) written as JSON plus a readable
  HTML page (every value escaped). Team leads and admins; audited.

This module is ~580 lines: one query per kind of record and the HTML page that shows them all;
splitting them would put the list of what a subject access holds in two places.
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from navigator import __version__
from navigator.domain.errors import AccessDenied, DomainError, NotFound
from navigator.domain.identifiers import clean_text
from navigator.services import access, audit
from navigator.services.casework import merge
from navigator.services.context import Actor, Ctx
from navigator.store.ids import row_id
from navigator.store.models import (
    AccessGrant,
    AuditEvent,
    Client,
    ContactAttempt,
    GoalNote,
    Journey,
    JourneySupportArea,
    Locality,
    Lot,
    Measurement,
    OnwardReferral,
    Partner,
    PartnerChase,
    PartnerUpdateRow,
    PersonalOutcome,
    PlanGoal,
    PlanReview,
    Programme,
    ReferralSource,
    SupportArea,
    Task,
    User,
)


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime  # timezone-aware, UTC
    username: str
    acting_as: str | None
    action: str
    entity: str
    entity_id: int | None
    journey_id: int | None
    changes: tuple[Change, ...]

    @property
    def who(self) -> str:
        return self.username + (f" (by {self.acting_as}, acting as them)" if self.acting_as else "")


@dataclass(frozen=True)
class AuditHistory:
    client_ref: str
    client_name: str
    events: tuple[AuditRow, ...]


@dataclass(frozen=True)
class SarResult:
    client_ref: str
    json_path: Path
    html_path: Path
    journeys: int
    events: int


# ---------------------------------------------------------------- access


def _client_by_ref(s: Session, client_ref: str) -> Client:
    ref = (clean_text(client_ref, "client_ref", max_len=40) or "").strip()
    if not ref:
        raise DomainError("Give the person's reference (e.g. NAV000123).", field="client_ref")
    c = s.exec(select(Client).where(Client.client_ref == ref)).first()
    if c is None:
        c = s.exec(select(Client).where(Client.client_ref == ref.upper())).first()
    if c is None:
        raise NotFound(f"There is no person with the reference {ref}.")
    return merge.resolve(s, c)  # a record merged into another leads to the kept one


def require_lead_for_client(s: Session, actor: Actor, client: Client) -> None:
    """Admins: anyone. Team leads: people with a journey (or living) in their lots. Others: refused."""
    if actor.is_admin:
        return
    if actor.role != "team_lead":
        raise AccessDenied("Only a team lead or an admin can do that.")
    lots = {access.lot_of_locality(s, client.locality_id)}
    lots |= {
        access.lot_of_locality(s, loc)
        for loc in s.exec(select(Journey.locality_id).where(Journey.client_id == client.id)).all()
    }
    if not any(access.in_my_lots(actor, lot) for lot in lots):
        raise AccessDenied("This person is not in your lots; ask their team lead or an admin.")


# ---------------------------------------------------------------- audit history


def _changes(before: str | None, after: str | None) -> tuple[Change, ...]:
    b = json.loads(before) if before else {}
    a = json.loads(after) if after else {}
    if not isinstance(b, dict):
        b = {"value": b}
    if not isinstance(a, dict):
        a = {"value": a}
    keys = list(dict.fromkeys([*a.keys(), *b.keys()]))
    return tuple(Change(k, b.get(k), a.get(k)) for k in keys)


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _events(s: Session, client: Client) -> list[AuditRow]:
    jids = list(s.exec(select(Journey.id).where(Journey.client_id == client.id)).all())
    cond: ColumnElement[bool] = col(AuditEvent.client_id).in_([client.id, *merge.merged_ids(s, row_id(client.id))])
    if jids:
        cond = or_(cond, col(AuditEvent.journey_id).in_(jids))
    rows = s.exec(select(AuditEvent).where(cond).order_by(col(AuditEvent.id))).all()
    return [
        AuditRow(
            row_id(e.id),
            _aware(e.at),
            e.username,
            e.acting_as,
            e.action,
            e.entity,
            e.entity_id,
            e.journey_id,
            _changes(e.before, e.after),
        )
        for e in rows
    ]


def audit_history(ctx: Ctx, client_ref: str) -> AuditHistory:
    """A person's audit history, oldest first. Team leads (their lots) and admins; audited as a view."""
    with ctx.write() as s:
        actor = ctx.actor(s)
        client = _client_by_ref(s, client_ref)
        require_lead_for_client(s, actor, client)
        events = _events(s, client)
        audit.record(s, ctx, "view.audit", "client", client.id, client_id=client.id, after={"events": len(events)})
        return AuditHistory(client.client_ref, f"{client.first_name} {client.last_name}", tuple(events))


def journey_audit_history(ctx: Ctx, journey_id: int) -> AuditHistory:
    """One journey's audit history (and the person-level events of its person), for the Journey screen.

    Team leads (journeys in their lots) and admins; audited as a view.
    """
    with ctx.write() as s:
        actor = ctx.actor(s)
        journey = s.get(Journey, journey_id)
        if journey is None:
            raise NotFound("That journey does not exist.")
        access.require_team_lead(actor)
        access.require_journey(s, actor, journey)
        client = s.get(Client, journey.client_id)
        assert client is not None  # the journey's person (a foreign key)
        rows = s.exec(
            select(AuditEvent)
            .where(
                or_(
                    col(AuditEvent.journey_id) == journey.id,
                    col(AuditEvent.client_id).in_([client.id, *merge.merged_ids(s, row_id(client.id))])
                    & col(AuditEvent.journey_id).is_(None),
                )
            )
            .order_by(col(AuditEvent.id))
        ).all()
        events = [
            AuditRow(
                row_id(e.id),
                _aware(e.at),
                e.username,
                e.acting_as,
                e.action,
                e.entity,
                e.entity_id,
                e.journey_id,
                _changes(e.before, e.after),
            )
            for e in rows
        ]
        audit.record(
            s,
            ctx,
            "view.audit",
            "journey",
            journey.id,
            client_id=client.id,
            journey_id=journey.id,
            after={"events": len(events)},
        )
        return AuditHistory(client.client_ref, f"{client.first_name} {client.last_name}", tuple(events))


# ---------------------------------------------------------------- subject access request


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return _aware(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _row(obj, skip: tuple[str, ...] = ()) -> dict:
    return {k: getattr(obj, k) for k in obj.__class__.model_fields if k not in skip}


def collect(s: Session, client: Client) -> dict:
    """Everything held about one person, as plain data."""
    users = {u.id: {"username": u.username, "name": u.name} for u in s.exec(select(User)).all()}

    def who(uid):
        u = users.get(uid)
        return f"{u['name']} ({u['username']})" if u else None

    names: dict[str, dict[Any, Any]] = {
        "locality": {r.id: r.name for r in s.exec(select(Locality)).all()},
        "lot_of_locality": {r.id: r.lot_id for r in s.exec(select(Locality)).all()},
        "lot": {r.id: r.code for r in s.exec(select(Lot)).all()},
        "source": {r.id: r.name for r in s.exec(select(ReferralSource)).all()},
        "area": {r.id: r.name for r in s.exec(select(SupportArea)).all()},
        "outcome": {r.id: r.name for r in s.exec(select(PersonalOutcome)).all()},
    }
    programmes = {
        p.id: (partner.name, p.name)
        for p, partner in s.exec(
            select(Programme, Partner).join(Partner, col(Partner.id) == col(Programme.partner_id))
        ).all()
    }

    person = _row(client, skip=("first_name_key", "last_name_key"))
    person["locality"] = names["locality"].get(client.locality_id)
    person["lot"] = names["lot"].get(names["lot_of_locality"].get(client.locality_id))

    journeys = []
    for j in s.exec(select(Journey).where(Journey.client_id == client.id).order_by(col(Journey.received_date))).all():
        jd = _row(j)
        jd["navigator"] = who(j.navigator_id)
        jd["source"] = names["source"].get(j.source_id)
        jd["locality"] = names["locality"].get(j.locality_id)
        jd["support_areas"] = [
            names["area"].get(a)
            for a in s.exec(
                select(JourneySupportArea.support_area_id).where(JourneySupportArea.journey_id == j.id)
            ).all()
        ]
        jd["contacts"] = [
            {
                "on": c.on_date,
                "method": c.method,
                "outcome": c.outcome,
                "note": c.note,
                "by": who(c.user_id),
                "recorded_at": c.created_at,
            }
            for c in s.exec(
                select(ContactAttempt)
                .where(ContactAttempt.journey_id == j.id)
                .order_by(col(ContactAttempt.on_date), col(ContactAttempt.id))
            ).all()
        ]
        goals = []
        for g in s.exec(select(PlanGoal).where(PlanGoal.journey_id == j.id).order_by(col(PlanGoal.id))).all():
            goals.append(
                {
                    "outcome": names["outcome"].get(g.outcome_id),
                    "statement": g.statement,
                    "target_date": g.target_date,
                    "status": g.status,
                    "created_at": g.created_at,
                    "notes": [
                        {"on": n.on_date, "note": n.note, "by": who(n.user_id)}
                        for n in s.exec(
                            select(GoalNote)
                            .where(GoalNote.goal_id == g.id)
                            .order_by(col(GoalNote.on_date), col(GoalNote.id))
                        ).all()
                    ],
                }
            )
        jd["plan_goals"] = goals
        jd["plan_reviews"] = [
            {"on": r.on_date, "note": r.note, "by": who(r.user_id)}
            for r in s.exec(
                select(PlanReview).where(PlanReview.journey_id == j.id).order_by(col(PlanReview.on_date))
            ).all()
        ]
        jd["measurements"] = [
            {
                "kind": m.kind,
                "point": m.point,
                "on": m.on_date,
                "items": [v for v in (m.item1, m.item2, m.item3, m.item4, m.item5, m.item6, m.item7) if v is not None],
                "raw": m.raw,
                "metric": (m.metric_x100 / 100 if m.metric_x100 is not None else None),
                "by": who(m.user_id),
            }
            for m in s.exec(
                select(Measurement)
                .where(Measurement.journey_id == j.id)
                .order_by(col(Measurement.on_date), col(Measurement.id))
            ).all()
        ]
        onward = []
        for o in s.exec(
            select(OnwardReferral).where(OnwardReferral.journey_id == j.id).order_by(col(OnwardReferral.referral_date))
        ).all():
            partner, programme = programmes.get(o.programme_id, (None, None))
            od = _row(o, skip=("journey_id",))
            od.update(
                partner=partner,
                programme=programme,
                updates=[
                    {"on": u.on_date, "kind": u.kind, "note": u.note, "by": who(u.user_id)}
                    for u in s.exec(
                        select(PartnerUpdateRow)
                        .where(PartnerUpdateRow.onward_id == o.id)
                        .order_by(col(PartnerUpdateRow.on_date), col(PartnerUpdateRow.id))
                    ).all()
                ],
                chases=[  # issue 15: the navigators' chases of the partner about this referral
                    {"on": c.on_date, "method": c.method, "note": c.note, "by": who(c.user_id)}
                    for c in s.exec(
                        select(PartnerChase)
                        .where(PartnerChase.onward_id == o.id)
                        .order_by(col(PartnerChase.on_date), col(PartnerChase.id))
                    ).all()
                ],
            )
            onward.append(od)
        jd["onward_referrals"] = onward
        jd["follow_ups"] = [
            {"kind": t.kind, "due": t.due_date, "status": t.status, "detail": t.detail}
            for t in s.exec(
                select(Task).where(Task.journey_id == j.id).order_by(col(Task.due_date), col(Task.id))
            ).all()
        ]
        journeys.append(jd)

    grants = [
        {"user": who(g.user_id), "reason": g.reason, "at": g.granted_at}
        for g in s.exec(
            select(AccessGrant).where(AccessGrant.client_id == client.id).order_by(col(AccessGrant.id))
        ).all()
    ]
    events = [
        {
            "at": e.at,
            "who": e.username,
            "acting_for": e.acting_as,
            "action": e.action,
            "entity": e.entity,
            "changes": [asdict(c) for c in e.changes],
        }
        for e in _events(s, client)
    ]
    return {"person": person, "journeys": journeys, "record_opened_with_reason": grants, "audit_history": events}


def subject_access(ctx: Ctx, client_ref: str, out_dir: Path | str) -> SarResult:
    """Write everything held about a person to ``out_dir`` as JSON and HTML (owner-only files)."""
    out = Path(out_dir).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise DomainError(f"{out} is a file; give a folder for the subject access files.", field="out")
    written: list[Path] = []
    try:
        with ctx.write() as s:
            actor = ctx.actor(s)
            client = _client_by_ref(s, client_ref)
            require_lead_for_client(s, actor, client)
            stamp = ctx.now().strftime("%Y%m%d-%H%M%S")
            base = f"{safe_file_part(client.client_ref)}-subject-access-{stamp}"
            json_path, html_path = out / f"{base}.json", out / f"{base}.html"
            if json_path.parent != out or html_path.parent != out:  # pragma: no cover - safe_file_part's promise
                raise DomainError("The person's reference cannot be used in a file name.", field="client_ref")
            audit.record(
                s,
                ctx,
                "sar.export",
                "client",
                client.id,
                client_id=client.id,
                after={"files": [json_path.name, html_path.name]},
            )
            s.flush()
            data = collect(s, client)
            data = {
                "subject_access_request": {
                    "client_ref": client.client_ref,
                    "generated_at": ctx.now(),
                    "generated_by": actor.username,
                    "acting_for": ctx.acting_as,
                    "navigator_version": __version__,
                    "contents": "Everything this navigator store holds about the person: their details, every "
                    "journey with its contacts, plan, reviews, measures, onward referrals and "
                    "follow-ups, who opened the record outside their caseload and why, and every "
                    "audit event (who viewed or changed what, and when).",
                }
            } | data
            data = _jsonable(data)
            out.mkdir(parents=True, exist_ok=True, mode=0o700)
            _write_private(json_path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False), written)
            _write_private(html_path, render_html(data), written)
            return SarResult(client.client_ref, json_path, html_path, len(data["journeys"]), len(data["audit_history"]))
    except BaseException:
        for p in written:
            try:
                p.unlink()
            except OSError:
                pass
        raise


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def safe_file_part(value: str, fallback: str = "person") -> str:
    """``value`` made safe as part of a file name: letters, digits, ``_`` and ``-`` only (anything else,
    including ``/``, ``.`` and ``..``, becomes ``_``), at most 60 characters; never empty."""
    part = _UNSAFE.sub("_", value or "").strip("_")[:60]
    return part or fallback


def _write_private(path: Path, content: str, written: list[Path]) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    written.append(path)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(content)


# ---------------------------------------------------------------- HTML

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; line-height: 1.4; color: #111; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #333; margin-top: 2em; } h3 { margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1em; }
th, td { border: 1px solid #bbb; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #eee; } .muted { color: #555; } pre { white-space: pre-wrap; margin: 0; }
"""


def _e(value: Any) -> str:
    if value is None or value == "":
        return '<span class="muted">—</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, dict)):
        return f"<pre>{html.escape(json.dumps(value, ensure_ascii=False, indent=1))}</pre>"
    text_ = html.escape(str(value))
    return text_.replace("\n", "<br>")


def _label(key: str) -> str:
    return html.escape(key.replace("_", " ").capitalize())


def _kv(d: dict, skip: tuple[str, ...] = ()) -> str:
    rows = "".join(
        f"<tr><th>{_label(k)}</th><td>{_e(v)}</td></tr>"
        for k, v in d.items()
        if k not in skip and not isinstance(v, list)
    )
    return f"<table>{rows}</table>"


def _table(rows: list[dict], empty: str = "None.") -> str:
    if not rows:
        return f'<p class="muted">{html.escape(empty)}</p>'
    cols = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{_label(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_e(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(data: dict) -> str:
    meta = data["subject_access_request"]
    person = data["person"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Subject access: {html.escape(meta['client_ref'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Subject access request: {html.escape(meta['client_ref'])}</h1>",
        f"<p>{html.escape(meta['contents'])}</p>",
        f'<p class="muted">Generated {html.escape(meta["generated_at"])} by {html.escape(meta["generated_by"])}'
        + (f" (acting for {html.escape(meta['acting_for'])})" if meta.get("acting_for") else "")
        + f" with navigator {html.escape(meta['navigator_version'])}.</p>",
        "<h2>Personal details</h2>",
        _kv(person),
    ]
    for n, j in enumerate(data["journeys"], 1):
        parts.append(f"<h2>Journey {n}: referral received {_e(j.get('received_date'))}</h2>")
        parts.append(_kv(j))
        parts.append("<h3>Support areas</h3>" + _table([{"area": a} for a in j["support_areas"]]))
        parts.append("<h3>Contacts</h3>" + _table(j["contacts"]))
        parts.append("<h3>Wellbeing action plan</h3>")
        for g in j["plan_goals"]:
            parts.append(_kv(g))
            parts.append(_table(g["notes"], "No progress notes."))
        if not j["plan_goals"]:
            parts.append('<p class="muted">No goals.</p>')
        parts.append("<h3>Plan reviews</h3>" + _table(j["plan_reviews"]))
        parts.append("<h3>Wellbeing measures</h3>" + _table(j["measurements"]))
        parts.append("<h3>Onward referrals</h3>")
        for o in j["onward_referrals"]:
            parts.append(_kv(o))
            parts.append(_table(o["updates"], "No partner updates."))
        if not j["onward_referrals"]:
            parts.append('<p class="muted">None.</p>')
        parts.append("<h3>Follow-ups</h3>" + _table(j["follow_ups"]))
    parts.append(
        "<h2>Record opened outside the caseload</h2>"
        + _table(data["record_opened_with_reason"], "Nobody opened this record outside their caseload.")
    )
    parts.append("<h2>Who viewed and changed this record</h2>")
    parts.append(
        _table(
            [
                {
                    "when (UTC)": e["at"],
                    "who": e["who"],
                    "acting for": e["acting_for"],
                    "action": e["action"],
                    "what": e["entity"],
                    "changes": "; ".join(
                        f"{c['field']}: {c['before']!r} → {c['after']!r}"
                        if c["before"] is not None
                        else f"{c['field']}: {c['after']!r}"
                        for c in e["changes"]
                    ),
                }
                for e in data["audit_history"]
            ]
        )
    )
    parts.append("</body></html>")
    return "\n".join(parts)
