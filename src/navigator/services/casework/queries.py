"""Reads behind the desk's screens: Today and Caseload here; Journey and Find beside it, importable from here.

Today and Caseload are plain SQL through ``Ctx.sql`` (on SQLite the ``sqlite3`` module alone):
the app's first screen does not wait for SQLAlchemy, and a caseload page is one statement.
The record views use the ORM, imported when they are first called: the Journey screen's read in
``journey_view`` (``journey_detail``, ``journey_id_for``), Find in ``find`` (``find``,
``open_with_reason``).
"""

from __future__ import annotations

from datetime import date

from navigator.domain import lifecycle as L
from navigator.domain.errors import AccessDenied, NotFound
from navigator.domain.followups import TODAY_ORDER, TaskKind, days_overdue
from navigator.domain.identifiers import fold_name
from navigator.services.casework.find import find, open_with_reason
from navigator.services.casework.journey_view import journey_detail, journey_id_for
from navigator.services.context import Actor, Ctx, SqlReader, as_date, as_day
from navigator.services.dto import CaseloadPage, CaseloadRow, TodayItem, TodayView

__all__ = ["SORTS", "caseload", "find", "journey_detail", "journey_id_for", "open_with_reason", "today"]


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
       j.decision_date, j.risk_flag, t.key
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
    for tid, jid, kind, due, detail, ref, first, last, decided, flagged, key in rows:
        due, decided = as_day(due), as_date(decided)  # a task always has a due date
        k = TaskKind(kind)
        # working days waited since the decision, as lateness is counted (a Friday decision has waited 1 on Sunday)
        waited = days_overdue(decided, on, cal) if k == TaskKind.WAITING_TO_START and decided else None
        what = detail or k.label
        if waited is not None:
            what = f"{detail} (waited {waited} working day{'s' if waited != 1 else ''})"
        items.append(
            TodayItem(
                tid,
                jid,
                ref,
                f"{first} {last}",
                kind,
                k.label,
                what,
                due,
                days_overdue(due, on, cal),
                waited,
                bool(flagged),
                key,
            )
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
       j.state_since, nt.kind, nt.due_date AS next_due, j.last_contact_date, u.username, j.risk_flag
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
                bool(flagged),
            )
            for jid, cid, ref, name, loc, state, since, kind, due, last_contact, username, flagged in rows
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
