"""Reads behind the screens: Today, Caseload, Journey, Find.

Today and Caseload are plain SQL through ``Ctx.sql`` (on SQLite the ``sqlite3`` module alone):
the app's first screen does not wait for SQLAlchemy, and a caseload page is one statement.
The record views use the ORM, imported when they are first called.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from navigator.domain import lifecycle as L
from navigator.domain import swemwbs
from navigator.domain.errors import AccessDenied, DomainError, NotFound
from navigator.domain.followups import TODAY_ORDER, TaskKind, days_overdue
from navigator.domain.identifiers import clean_text, fold_name
from navigator.domain.text import check_text
from navigator.services.context import Actor, Ctx, SqlReader, as_date, as_day
from navigator.services.dto import (
    CaseloadPage,
    CaseloadRow,
    ClientDetail,
    FindHit,
    GoalView,
    JourneyDetail,
    JourneySummary,
    MeasureView,
    OnwardView,
    TaskView,
    TimelineEvent,
    TodayItem,
    TodayView,
)
from navigator.store.ids import row_id

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy import ColumnElement
    from sqlmodel import Session

    from navigator.store.models import Journey


def _navigator_id(q: SqlReader, actor: Actor, username: str | None) -> int:
    if username is None or username == actor.username:
        return actor.id
    rows = q('SELECT id FROM "user" WHERE username = :u', {"u": username})
    if not rows:
        raise NotFound(f"There is no user '{username}'.")
    if not actor.is_team_lead:
        raise AccessDenied("Only a team lead can see another navigator's caseload.")
    return rows[0][0]


def _lead_lots(actor: Actor, nav_id: int) -> frozenset[int] | None:
    """The lots a team lead may list another navigator's journeys in (None: no restriction)."""
    if nav_id == actor.id or actor.is_admin or not actor.lot_ids:
        return None
    return actor.lot_ids


def _lots_sql(lots: frozenset[int]) -> str:
    return ", ".join(str(int(lot)) for lot in sorted(lots))


# ---------------------------------------------------------------- Today

# From the navigator's journeys (ix_journey_navigator_state) to their tasks (ix_task_journey_status). The
# COALESCE keeps SQLite from starting at ix_task_open_due instead: every open task due by today, of every
# navigator - 17 ms at 200,000 clients, against 2 ms this way.
_TODAY_SQL = """
SELECT t.id, t.journey_id, t.kind, t.due_date, t.detail, c.client_ref, c.first_name, c.last_name,
       j.decision_date
FROM task t
JOIN journey j ON j.id = t.journey_id
JOIN client c ON c.id = j.client_id
WHERE COALESCE(t.status, '') = 'open' AND t.due_date <= :on AND j.navigator_id = :nav{lots}
ORDER BY t.due_date, t.id
"""


def today(ctx: Ctx, navigator: str | None = None, on: date | None = None) -> TodayView:
    """What is due or overdue for a navigator on a date, in one query."""
    on = on or ctx.today()
    with ctx.sql() as q:
        actor = ctx.actor_from(q)
        nav_id = _navigator_id(q, actor, navigator)
        cal = ctx.calendar_from(q)
        lots = _lead_lots(actor, nav_id)
        lots_where = (
            ""
            if lots is None
            else (f" AND j.locality_id IN (SELECT id FROM locality WHERE lot_id IN ({_lots_sql(lots)}))")
        )
        rows = q(_TODAY_SQL.format(lots=lots_where), {"on": on, "nav": nav_id})
        username = navigator or actor.username
    items = []
    for tid, jid, kind, due, detail, ref, first, last, decided in rows:
        due, decided = as_day(due), as_date(decided)  # a task always has a due date
        k = TaskKind(kind)
        # working days waited since the decision, as lateness is counted (a Friday decision has waited 1 on Sunday)
        waited = days_overdue(decided, on, cal) if k == TaskKind.WAITING_TO_START and decided else None
        what = detail or k.label
        if waited is not None:
            what = f"{detail} (waited {waited} working day{'s' if waited != 1 else ''})"
        items.append(
            TodayItem(tid, jid, ref, f"{first} {last}", kind, k.label, what, due, days_overdue(due, on, cal), waited)
        )
    order = {k.value: i for i, k in enumerate(TODAY_ORDER)}
    items.sort(key=lambda i: (order.get(i.kind, 99), i.due_date, i.client_name))
    counts = []
    for k in TODAY_ORDER:
        n = sum(1 for i in items if i.kind == k.value)
        if n:
            counts.append((k.label, n))
    return TodayView(on, username, tuple(items), tuple(counts))


# ---------------------------------------------------------------- Caseload

SORTS = {
    "client": "client_name",
    "ref": "c.client_ref",
    "locality": "loc.name",
    "state": "j.state",
    "days": "j.state_since",
    "next": "next_due",
    "due": "next_due",
    "last_contact": "j.last_contact_date",
    "received": "j.received_date",
}

_CASELOAD_SQL = """
SELECT j.id, c.id, c.client_ref, c.first_name || ' ' || c.last_name AS client_name, loc.name, j.state,
       j.state_since, nt.kind, nt.due_date AS next_due, j.last_contact_date, u.username
FROM journey j
JOIN client c ON c.id = j.client_id
JOIN locality loc ON loc.id = j.locality_id
JOIN "user" u ON u.id = j.navigator_id
LEFT JOIN task nt ON nt.id = (
    -- the journey's next open task, found through ix_task_journey_status (COALESCE keeps SQLite from
    -- walking ix_task_open_due instead: that made a 20,000-journey caseload take seconds)
    SELECT t.id FROM task t WHERE t.journey_id = j.id AND t.status = 'open'
    ORDER BY COALESCE(t.due_date, t.due_date), t.id LIMIT 1
)
WHERE {where}
"""

# how many journeys match (the filters touch only j, c and loc: no next-task lookup needed)
_CASELOAD_COUNT_SQL = """
SELECT count(*) FROM journey j
JOIN client c ON c.id = j.client_id
JOIN locality loc ON loc.id = j.locality_id
WHERE {where}
"""

_STATE_LABELS = {s.value: s.label for s in L.State}
_TASK_LABELS = {k.value: k.label for k in TaskKind}


def caseload(
    ctx: Ctx,
    navigator: str | None = None,
    *,
    states: list[str] | None = None,
    locality: str | None = None,
    text_filter: str | None = None,
    open_only: bool = True,
    sort: str = "next",
    descending: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> CaseloadPage:
    """One page of a navigator's journeys, filtered and sorted in the database: one statement, and a
    count only when the page is full (a short page says the total itself)."""
    with ctx.sql() as q:
        actor = ctx.actor_from(q)
        nav_id = _navigator_id(q, actor, navigator)
        params: dict = {"nav": nav_id}
        where = ["j.navigator_id = :nav"]
        lots = _lead_lots(actor, nav_id)
        if lots is not None:
            where.append(f"loc.lot_id IN ({_lots_sql(lots)})")
        if states:
            keys = [f"st{i}" for i in range(len(states))]
            where.append(f"j.state IN ({', '.join(':' + k for k in keys)})")
            params.update(dict(zip(keys, states)))
        elif open_only:
            where.append(f"j.state IN ({L.sql_in(L.OPEN_STATES)})")
        if locality:
            where.append("lower(loc.name) = :loc")
            params["loc"] = locality.strip().lower()
        if text_filter and text_filter.strip():
            words = text_filter.strip().split()
            for i, word in enumerate(words[:5]):
                key = f"q{i}"
                params[key] = "%" + word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                where.append(
                    f"(c.first_name_key LIKE :{key} ESCAPE '\\' OR c.last_name_key LIKE :{key} ESCAPE '\\' "
                    f"OR lower(c.client_ref) LIKE :{key} ESCAPE '\\' OR lower(loc.name) LIKE :{key} ESCAPE '\\')"
                )
                params[key] = "%" + fold_name(word).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        order_col = SORTS.get(sort, "next_due")
        direction = "DESC" if descending else "ASC"
        nulls = (
            "" if not order_col.endswith("next_due") else "(nt.due_date IS NULL), "
        )  # PostgreSQL: no alias in expressions
        where_sql = " AND ".join(where)
        limit, offset = max(1, min(limit, 1000)), max(0, offset)
        rows = q(
            f"{_CASELOAD_SQL.format(where=where_sql)} ORDER BY {nulls}{order_col} {direction}, j.id "
            "LIMIT :limit OFFSET :offset",
            params | {"limit": limit, "offset": offset},
        )
        if rows and len(rows) < limit:
            total = offset + len(rows)
        elif rows or offset:  # a full page, or past the end
            total = q(_CASELOAD_COUNT_SQL.format(where=where_sql), params)[0][0]
        else:
            total = 0
        cal = ctx.calendar_from(q)
    on = ctx.today()
    state_labels, kinds = _STATE_LABELS, _TASK_LABELS
    days: dict = {None: 0}  # working days in state, per distinct start (counted once each)

    def days_since(value) -> int:
        if value not in days:
            days[value] = cal.count(as_day(value), on)  # None is in days already
        return days[value]

    out = _frozen_rows(
        CaseloadRow,
        (
            (
                jid,
                cid,
                ref,
                name,
                loc,
                state,
                state_labels[state],
                days_since(since),
                kinds[kind] if kind else None,
                as_date(due),
                as_date(last_contact),
                username,
            )
            for jid, cid, ref, name, loc, state, since, kind, due, last_contact, username in rows
        ),
    )
    return CaseloadPage(out, total, offset)


def _frozen_rows(cls, rows) -> tuple:
    """Instances of a frozen dataclass, one per tuple of its fields' values, in order.

    The same objects its ``__init__`` makes (equal, hashable, immutable), set through their ``__dict__``
    rather than one guarded ``object.__setattr__`` per field: half the cost, which is most of a caseload
    page's time in Python. Only for plain frozen dataclasses (no ``__post_init__``, no slots).
    """
    names = _FIELD_NAMES.get(cls)
    if names is None:
        import dataclasses

        plain = not hasattr(cls, "__post_init__") and "__slots__" not in cls.__dict__
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls)) if plain else ()
    if not names:
        return tuple(cls(*values) for values in rows)
    new = object.__new__
    out = []
    for values in rows:
        obj = new(cls)
        obj.__dict__.update(zip(names, values))
        out.append(obj)
    return tuple(out)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


# ---------------------------------------------------------------- Journey


def journey_detail(ctx: Ctx, journey_id: int, *, audit_view: bool = True) -> JourneyDetail:
    """Everything on the Journey screen. Viewing a person's record is audited."""
    from sqlmodel import col, select

    from navigator.services import access, audit
    from navigator.services.casework.records import facts
    from navigator.services.setup.reference import meaningful_threshold
    from navigator.store.models import (
        Client,
        GoalNote,
        Journey,
        JourneySupportArea,
        Locality,
        Lot,
        Measurement,
        OnwardReferral,
        Partner,
        PartnerUpdateRow,
        PersonalOutcome,
        PlanGoal,
        Programme,
        ReferralSource,
        SupportArea,
        Task,
        User,
    )

    with ctx.write() if audit_view else ctx.read() as s:
        j = s.get(Journey, journey_id)
        if j is None:
            raise NotFound("That journey does not exist.")
        actor = ctx.actor(s)
        access.require_journey(s, actor, j)
        # the journey's rows point at these (foreign keys): the asserts say so to the type checker
        c = s.get(Client, j.client_id)
        assert c is not None
        loc = s.get(Locality, c.locality_id)
        jloc = s.get(Locality, j.locality_id)
        assert loc is not None and jloc is not None
        lot = s.get(Lot, jloc.lot_id)
        nav = s.get(User, j.navigator_id)
        src = s.get(ReferralSource, j.source_id)
        client_lot = s.get(Lot, loc.lot_id)
        assert lot is not None and nav is not None and src is not None and client_lot is not None
        users = {row_id(u.id): u.username for u in s.exec(select(User)).all()}
        cal = ctx.calendar(s)
        threshold = meaningful_threshold(s)

        client = ClientDetail(
            row_id(c.id),
            c.client_ref,
            c.first_name,
            c.last_name,
            c.date_of_birth,
            c.postcode,
            c.nhs_number,
            c.phone,
            c.email,
            c.address,
            c.preferred_method,
            c.imd_decile,
            c.consent_to_share,
            c.locality_id,
            loc.name,
            client_lot.code,
            c.version,
        )
        journeys = tuple(
            JourneySummary(
                row_id(o.id),
                o.received_date,
                o.state,
                L.State(o.state).label,
                users.get(o.navigator_id, "?"),
                src_name,
                o.end_date,
                o.end_reason,
            )
            for o, src_name in s.exec(
                select(Journey, ReferralSource.name)
                .join(ReferralSource, col(ReferralSource.id) == col(Journey.source_id))
                .where(Journey.client_id == c.id)
                .order_by(col(Journey.received_date).desc())
            ).all()
        )
        areas = tuple(
            s.exec(
                select(SupportArea.name)
                .join(JourneySupportArea, col(JourneySupportArea.support_area_id) == col(SupportArea.id))
                .where(JourneySupportArea.journey_id == j.id)
            ).all()
        )
        # plan
        outcomes = {o.id: o.name for o in s.exec(select(PersonalOutcome)).all()}
        goals = []
        for g in s.exec(select(PlanGoal).where(PlanGoal.journey_id == j.id).order_by(col(PlanGoal.id))).all():
            notes = tuple(
                (n.on_date, n.note, users.get(n.user_id, "?"))
                for n in s.exec(
                    select(GoalNote).where(GoalNote.goal_id == g.id).order_by(col(GoalNote.on_date), col(GoalNote.id))
                ).all()
            )
            goals.append(
                GoalView(
                    row_id(g.id),
                    outcomes.get(g.outcome_id, "?"),
                    g.statement,
                    g.target_date,
                    g.status,
                    L.GOAL_LABELS[L.GoalStatus(g.status)],
                    notes,
                    g.version,
                )
            )
        # measures
        measures = []
        start_metric: Decimal | None = None
        for m in s.exec(
            select(Measurement)
            .where(Measurement.journey_id == j.id)
            .order_by(col(Measurement.on_date), col(Measurement.id))
        ).all():
            items = tuple(v for v in (m.item1, m.item2, m.item3, m.item4, m.item5, m.item6, m.item7) if v is not None)
            metric = Decimal(m.metric_x100) / 100 if m.metric_x100 is not None else None
            change = None
            label = ""
            if m.kind == "swemwbs" and metric is not None:
                if m.point == "start" and start_metric is None:
                    start_metric = metric
                elif start_metric is not None:
                    change = metric - start_metric
                    label = swemwbs.change_label(start_metric, metric, threshold)
            measures.append(
                MeasureView(row_id(m.id), m.kind, m.point, m.on_date, items, m.raw or sum(items), metric, change, label)
            )
        # onward
        onward = []
        for o, prog, partner in s.exec(
            select(OnwardReferral, Programme, Partner)
            .join(Programme, col(Programme.id) == col(OnwardReferral.programme_id))
            .join(Partner, col(Partner.id) == col(Programme.partner_id))
            .where(OnwardReferral.journey_id == j.id)
            .order_by(col(OnwardReferral.referral_date), col(OnwardReferral.id))
        ).all():
            ups = tuple(
                (u.on_date, u.kind, u.note or "")
                for u in s.exec(
                    select(PartnerUpdateRow)
                    .where(PartnerUpdateRow.onward_id == o.id)
                    .order_by(col(PartnerUpdateRow.on_date), col(PartnerUpdateRow.id))
                ).all()
            )
            onward.append(
                OnwardView(
                    row_id(o.id),
                    row_id(prog.id),
                    partner.name,
                    prog.name,
                    o.referral_date,
                    o.status,
                    o.start_date,
                    o.end_date,
                    o.last_update_date,
                    o.feedback_pending_since,
                    ups,
                    o.version,
                )
            )
        tasks = tuple(
            TaskView(
                row_id(t.id),
                t.journey_id,
                t.kind,
                TaskKind(t.kind).label,
                t.due_date,
                t.detail or "",
                t.due_date < ctx.today(),
            )
            for t in s.exec(
                select(Task).where(Task.journey_id == j.id, Task.status == "open").order_by(col(Task.due_date))
            ).all()
        )
        timeline = _timeline(s, j, users)
        f = facts(j, c)
        state = L.state_of(f)
        if audit_view:
            audit.record(s, ctx, "view.journey", "journey", j.id, client_id=c.id, journey_id=j.id)
        return JourneyDetail(
            id=row_id(j.id),
            client=client,
            journeys=journeys,
            received_date=j.received_date,
            state=j.state,
            state_label=state.label,
            state_since=j.state_since,
            navigator_id=j.navigator_id,
            navigator=nav.username,
            navigator_name=nav.name,
            source_code=src.code,
            source=src.name,
            referrer=j.referrer,
            reason=j.reason,
            support_areas=areas,
            locality=jloc.name,
            lot=lot.code,
            first_contact_date=j.first_contact_date,
            last_contact_date=j.last_contact_date,
            decision=j.decision,
            decision_date=j.decision_date,
            reject_reason=j.reject_reason,
            start_date=j.start_date,
            end_date=j.end_date,
            end_reason=j.end_reason,
            outcome_evidence=j.outcome_evidence,
            under_17=L.is_under_age(f),
            available_actions=frozenset(a.value for a in L.available_actions(f)),
            end_reasons=tuple(
                r.value
                for r in (
                    L.END_REASONS_AFTER_START
                    if state == L.State.STARTED
                    else L.END_REASONS_WITHOUT_START
                    if state.is_open
                    else ()
                )
            ),
            timeline=timeline,
            goals=tuple(goals),
            measures=tuple(measures),
            onward=tuple(onward),
            tasks=tasks,
            response_working_days=cal.count(j.received_date, j.first_contact_date) if j.first_contact_date else None,
            wait_working_days=cal.count(j.decision_date, j.start_date) if j.start_date and j.decision_date else None,
            version=j.version,
            meaningful_threshold=threshold,
        )


_ACTION_TEXT = {
    "journey.receive": ("received", "Referral received"),
    "journey.contact": ("contact", None),
    "journey.decide": ("decision", None),
    "journey.start": ("start", "Started (signed up)"),
    "journey.close": ("close", None),
    "journey.reassign": ("reassign", "Reassigned"),
    "journey.review": ("review", "Plan reviewed"),
    "goal.add": ("goal", None),
    "goal.update": ("goal", None),
    "measure.record": ("measure", None),
    "onward.make": ("onward", None),
    "onward.update": ("partner", None),
    "onward.followed_up": ("partner", "Followed up the partner's feedback"),
    "letter.render": ("letter", None),
}


def _timeline(s: Session, j: Journey, users: dict[int, str]) -> tuple[TimelineEvent, ...]:
    """Every event of the journey, from the audit log (who and when) and the records (what)."""
    import json

    from sqlmodel import col, select

    from navigator.store.models import AuditEvent, Programme

    events: list[TimelineEvent] = []
    for e in s.exec(select(AuditEvent).where(AuditEvent.journey_id == j.id).order_by(col(AuditEvent.id))).all():
        if e.action not in _ACTION_TEXT:
            continue
        kind, fixed = _ACTION_TEXT[e.action]
        after = json.loads(e.after) if e.after else {}
        on = e.at.date()
        txt = fixed or e.action
        if e.action == "journey.receive":
            on = date.fromisoformat(after.get("received_date", on.isoformat()))
        elif e.action == "journey.contact":
            c = after.get("contact", {})
            on = date.fromisoformat(c.get("on", on.isoformat()))
            txt = (
                f"Contact by {c.get('method')}: {L.OUTCOME_LABELS.get(L.ContactOutcome(c.get('outcome', 'spoke')), '')}"
            )
            if c.get("note"):
                txt += f" ({c['note']})"
        elif e.action == "journey.decide":
            on = date.fromisoformat(after.get("decision_date", on.isoformat()))
            if after.get("decision") == "rejected":
                reason = after.get("reject_reason")
                txt = f"Rejected: {L.REJECT_LABELS.get(L.RejectReason(reason), reason) if reason else ''}"
            else:
                txt = "Accepted"
        elif e.action == "journey.start":
            on = date.fromisoformat(after.get("start_date", on.isoformat()))
            if after.get("measure"):
                txt += f"; SWEMWBS raw {after['measure']['raw']}"
        elif e.action == "journey.close":
            on = date.fromisoformat(after.get("end_date", on.isoformat()))
            reason = after.get("end_reason")
            txt = f"Closed: {L.END_LABELS.get(L.EndReason(reason), reason) if reason else ''}"
        elif e.action == "journey.review":
            r = after.get("review", {})
            on = date.fromisoformat(r.get("on", on.isoformat()))
            if r.get("note"):
                txt += f": {r['note']}"
        elif e.action == "journey.reassign":
            txt = f"Reassigned to {users.get(after.get('navigator_id', -1), '?')}"
        elif e.action == "goal.add":
            txt = f"Goal added: {after.get('statement', '')}"
        elif e.action == "goal.update":
            parts = []
            if "status" in after:
                parts.append(f"status {after['status'].replace('_', ' ')}")
            if "statement" in after:
                parts.append("wording changed")
            if "note" in after:
                parts.append(f"note: {after['note']}")
            txt = "Goal updated: " + ", ".join(parts)
        elif e.action == "measure.record":
            on = date.fromisoformat(after.get("on", on.isoformat()))
            txt = f"{after.get('kind', '').upper()} at {after.get('point')}" + (
                f": raw {after['raw']}" if after.get("raw") is not None else ""
            )
        elif e.action == "onward.make":
            on = date.fromisoformat(after.get("referral_date", on.isoformat()))
            prog = s.get(Programme, after.get("programme_id"))
            txt = f"Onward referral to {prog.name if prog else '?'}"
        elif e.action == "onward.update":
            on = date.fromisoformat(after.get("on", on.isoformat()))
            txt = f"Partner update: {after.get('kind', '').replace('_', ' ')}"
            if after.get("note"):
                txt += f" ({after['note']})"
        elif e.action == "letter.render":
            txt = f"Letter produced: {after.get('template', '')}"
        who = e.username + (f" (as by {e.acting_as})" if e.acting_as else "")
        events.append(TimelineEvent(on, e.at, kind, txt, who))
    events.sort(key=lambda ev: (ev.on, ev.at or 0))
    return tuple(events)


# ---------------------------------------------------------------- Find


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
            .where(or_(*conds))
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


def journey_id_for(
    ctx: Ctx, *, goal_id: int | None = None, onward_id: int | None = None, client_id: int | None = None
) -> int:
    """The journey a goal or an onward referral belongs to, or a person's latest journey (the latest
    one the acting user may see, if any).

    For forms opened on those ids: they then read ``journey_detail`` (which checks access).
    """
    from sqlmodel import col, select

    from navigator.services import access
    from navigator.store.models import Journey, OnwardReferral, PlanGoal

    with ctx.read() as s:
        if goal_id is not None:
            jid = s.exec(select(PlanGoal.journey_id).where(PlanGoal.id == goal_id)).first()
            what = "goal"
        elif onward_id is not None:
            jid = s.exec(select(OnwardReferral.journey_id).where(OnwardReferral.id == onward_id)).first()
            what = "onward referral"
        elif client_id is not None:
            rows = s.exec(
                select(Journey)
                .where(Journey.client_id == client_id)
                .order_by(col(Journey.received_date).desc(), col(Journey.id).desc())
            ).all()
            actor = ctx.actor(s)
            visible = [
                j
                for j in rows
                if access.can_see_journey(
                    s, actor, navigator_id=j.navigator_id, locality_id=j.locality_id, client_id=j.client_id
                )
            ]
            jid = (visible or rows)[0].id if rows else None
            what = "person"
        else:
            raise DomainError("Say which goal, onward referral or person.")
    if jid is None:
        raise NotFound(f"That {what} does not exist (it may have been removed).")
    return jid
