"""Bulk writes through the same domain rules: for the demo generator and the tracker import.

One transaction per action (services/casework/journeys.py) is right for a person at a
desk and far too slow for 200,000 people. Here each journey is *replayed* in
memory (replay.py): every step goes through the domain's ``steps.apply``, as
the services' steps do, its follow-ups come from ``domain/followups.desired_tasks``,
and then every row
(and one audit event per created record, shaped like the services' events) is
inserted with ``executemany`` in the caller's ONE write transaction, with ids
assigned here.

Usage::

    with ctx.write(bulk=True) as s:  # PostgreSQL: the writer picks row ids, so no other save runs beside it
        w = BulkWriter(s, ctx)
        w.add_client(client_spec)
        w.add_journey(journey_spec)          # raises StepError if a rule refuses a step
        w.flush()

``replay(spec, ...)`` alone checks a journey without writing anything (the
import uses it to report every bad row before writing any).

This module is ~600 lines: ``RowBuilder.add_journey`` turns each kind of op into its
rows and its audit event (shaped like the services' own, one branch per kind of step)
with ids assigned here, and the writer inserts them at driver level; the two halves
share the id bookkeeping, so they stay together.
"""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import func, insert, select
from sqlmodel import Session, col

from navigator.domain import lifecycle as L
from navigator.domain import referral
from navigator.domain.errors import DomainError, StoreError
from navigator.domain.followups import (
    FollowUpFacts,
    OnwardInfo,
    Protocol,
    chase_facts,
    desired_tasks,
)
from navigator.domain.identifiers import fold_name
from navigator.domain.steps import (
    Chase,
    Close,
    Contact,
    Decide,
    FollowUp,
    Goal,
    GoalUpdate,
    Measure,
    Onward,
    PartnerReport,
    Review,
    Start,
    Swemwbs,
)
from navigator.domain.workdays import WorkingCalendar
from navigator.services import audit
from navigator.services.casework.records import CLIENT_FIELDS, JOURNEY_FIELDS
from navigator.services.casework.replay import (
    ClientSpec,
    JourneySpec,
    Replayed,
    Step,
    StepError,
    measurement,
    replay,
)
from navigator.services.context import Ctx, protocol
from navigator.store import pg_setup
from navigator.store.compat import bind_processor
from navigator.store.models import (
    AuditEvent,
    Client,
    ContactAttempt,
    GoalNote,
    Journey,
    JourneySupportArea,
    Locality,
    Measurement,
    OnwardReferral,
    PartnerChase,
    PartnerUpdateRow,
    PlanGoal,
    PlanReview,
    Programme,
    Task,
    table_of,
)

# The steps are the domain's (re-exported: the import and the demo build ``bulk.Contact(...)``).
__all__ = [
    "BulkWriter",
    "Chase",
    "ClientSpec",
    "Close",
    "Contact",
    "Decide",
    "FollowUp",
    "Goal",
    "GoalUpdate",
    "JourneySpec",
    "Measure",
    "Onward",
    "PartnerReport",
    "Replayed",
    "Review",
    "RowBuilder",
    "Start",
    "Step",
    "StepError",
    "Swemwbs",
    "gc_paused",
    "measurement",
    "replay",
]

# ---------------------------------------------------------------- writing


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector paused for a bulk run: it would re-scan the (acyclic) rows built so far
    again and again as they grow (about 15% of a demo's or an import's time). Reference counting still
    frees everything; the collector resumes afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def prepare_sqlite(table, rows: list[dict], dialect=None) -> tuple[list[str], list[tuple]]:
    """Rows as tuples for a driver-level executemany on SQLite, each value converted by its column type's
    own bind processor (so the stored text is exactly what SQLAlchemy would store)."""
    if dialect is None:
        from sqlalchemy.dialects import sqlite as sqlite_dialect

        dialect = sqlite_dialect.dialect()
    cols = list(rows[0])
    procs: list[tuple[int, Any, dict[Any, Any]]] = []  # (column index, bind processor, its memo)
    for i, c in enumerate(cols):
        proc = bind_processor(table.c[c].type, dialect)
        if proc is not None:
            procs.append((i, proc, {}))
    getter = itemgetter(*cols)
    if not procs:
        return cols, [getter(row) for row in rows]
    data = []
    for row in rows:
        values = list(getter(row))
        for i, proc, memo in procs:
            v = values[i]
            if v is not None:
                out = memo.get(v)
                if out is None:
                    out = memo[v] = proc(v)
                values[i] = out
        data.append(tuple(values))
    return cols, data


def execute_sqlite(conn, table_name: str, cols: list[str], data: list[tuple]) -> None:
    """executemany straight to the driver of this transaction's connection (several times faster than Core)."""
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in cols)
    marks = ", ".join("?" * len(cols))
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.executemany(f"INSERT INTO {quote(table_name)} ({names}) VALUES ({marks})", data)
    except sqlite3.IntegrityError:
        raise DomainError(
            "The bulk write would break a rule of the store (a duplicate or a missing reference); nothing was saved."
        ) from None
    except sqlite3.Error as exc:
        raise StoreError(f"The database refused the bulk write ({type(exc).__name__}); nothing was saved.") from None
    finally:
        cursor.close()


def _fast_insert(conn, table, rows: list[dict]) -> None:
    cols, data = prepare_sqlite(table, rows, conn.dialect)
    execute_sqlite(conn, table.name, cols, data)


@dataclass
class Signed:
    """A batch's audit events chained on ``head`` and signed with ``key`` before the write transaction
    (``audit.sign_events``), and (SQLite) as the driver takes them."""

    head: str
    key: bytes | None
    rows: list[dict]
    prepared: tuple[list[str], list[tuple]] | None = None

    @property
    def last(self) -> str:
        return self.rows[-1]["hash"] if self.rows else self.head

    @classmethod
    def sign(
        cls, events: list[tuple], head: str, key: bytes | None, at: datetime, username: str, acting_as: str | None
    ) -> Signed:
        rows = audit.sign_events(events, head, key, at, username, acting_as)
        return cls(head, key, rows, prepare_sqlite(table_of(AuditEvent), rows) if rows else None)


def prepare_tables(rows: dict[str, list[dict]]) -> dict[str, tuple[list[str], list[tuple]]]:
    """SQLite: each table's rows (as RowBuilder.take() gives them, journeys' lots filled) as the driver
    takes them (``prepare_sqlite``), for ``BulkWriter.write_rows(prepared=...)``."""
    out = {}
    for model in _TABLES:
        table = table_of(model)
        if rows[table.name]:
            out[table.name] = prepare_sqlite(table, rows[table.name])
    return out


BULK_CACHE_KIB = 65536

_TABLES = (
    Client,
    Journey,
    JourneySupportArea,
    ContactAttempt,
    PlanGoal,
    GoalNote,
    PlanReview,
    Measurement,
    OnwardReferral,
    PartnerUpdateRow,
    PartnerChase,
    Task,
)
_WITH_IDS = (
    Client,
    Journey,
    ContactAttempt,
    PlanGoal,
    GoalNote,
    PlanReview,
    Measurement,
    OnwardReferral,
    PartnerUpdateRow,
    PartnerChase,
    Task,
)


class _FastAuditWriter(audit.AuditWriter):
    """The audit writer (same events, same chain), inserting with a driver-level executemany."""

    def _insert(self, rows: list[dict]) -> None:
        conn = self.session.connection()
        if conn.dialect.name == "sqlite":
            _fast_insert(conn, table_of(AuditEvent), rows)
        else:
            super()._insert(rows)


class RowBuilder:
    """Turns journeys into rows and audit events, with ids, without touching a database.

    BulkWriter is a RowBuilder that also writes; a worker process can build with a plain RowBuilder
    (ids from the writer's ``next_ids``) while the writer writes what it already built.
    """

    def __init__(
        self,
        *,
        today: date,
        now: datetime,
        actor_id: int,
        protocol: Protocol,
        calendar: WorkingCalendar,
        next_ids: dict[str, int],
        expected_days: dict[int, int],
    ) -> None:
        self.today = today
        self.now = now
        self.actor_id = actor_id
        self.protocol = protocol
        self.calendar = calendar
        self._next = dict(next_ids)
        self._expected_days = dict(expected_days)
        self._rows: dict[str, list[dict]] = {table_of(m).name: [] for m in _TABLES}
        self._events: list[tuple] = []
        self._pending = 0
        self.created: dict[str, int] = {table_of(m).name: 0 for m in _TABLES}

    @property
    def next_ids(self) -> dict[str, int]:
        return dict(self._next)

    @property
    def pending(self) -> int:
        """Journeys built since the last take()/flush()."""
        return self._pending

    def take(self) -> tuple[dict[str, list[dict]], list[tuple]]:
        """Everything built so far (rows by table, audit events), handed over and forgotten here."""
        rows, events = self._rows, self._events
        self._rows = {table_of(m).name: [] for m in _TABLES}
        self._events = []
        self._pending = 0
        return rows, events

    def _id(self, table: str) -> int:
        n = self._next[table]
        self._next[table] = n + 1
        return n

    def _row(self, table: str, row: dict) -> None:
        self._rows[table].append(row)
        self.created[table] += 1

    def event(
        self,
        action: str,
        entity: str,
        entity_id: int | None = None,
        *,
        client_id: int | None = None,
        journey_id: int | None = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """An audit event in this writer's chain (use this, not audit.record, while the writer is in use)."""
        self._events.append((action, entity, entity_id, client_id, journey_id, before, after))

    # ------------------------------------------------------------ clients
    def add_client(self, spec: ClientSpec) -> int:
        if spec.id is not None:
            return spec.id
        cid = self._id("client")
        spec.id = cid
        row = {
            "id": cid,
            "client_ref": spec.client_ref,
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "first_name_key": fold_name(spec.first_name),
            "last_name_key": fold_name(spec.last_name),
            "date_of_birth": spec.date_of_birth,
            "postcode": spec.postcode,
            "nhs_number": spec.nhs_number,
            "phone": spec.phone,
            "email": spec.email,
            "address": spec.address,
            "preferred_method": spec.preferred_method,
            "imd_decile": spec.imd_decile,
            "consent_to_share": bool(spec.consent_to_share),
            "locality_id": spec.locality_id,
            "anonymised": False,
            "version": 1,
            "created_at": self.now,
            "updated_at": self.now,
        }
        self._row("client", row)
        self.event("client.create", "client", cid, client_id=cid, after={k: row[k] for k in CLIENT_FIELDS})
        return cid

    # ------------------------------------------------------------ journeys
    def add_journey(self, spec: JourneySpec, replayed: Replayed | None = None) -> int:
        """Replay (unless given already replayed) and buffer one journey with all its records."""
        if spec.client.id is None:
            self.add_client(spec.client)
        r = replayed if replayed is not None else replay(spec, self.today)
        cid = spec.client.id
        jid = self._id("journey")
        spec.id = jid
        now = self.now
        by = spec.recorded_by or self.actor_id
        j = r.journey
        jrow = {k: j[k] for k in JOURNEY_FIELDS}
        jrow.update(
            id=jid,
            client_id=cid,
            locality_id=spec.locality_id or spec.client.locality_id,
            lot_id=None,  # the lot of that locality, filled by the writer (write_rows)
            imd_decile=spec.client.imd_decile if spec.imd_decile is ... else spec.imd_decile,
            age_band=referral.age_band(spec.client.date_of_birth, spec.received_date),
            attributes_basis=spec.attributes_basis,
            source_id=spec.source_id,
            referrer=j["referrer"],
            reason=j["reason"],
            state_since=j["state_since"],
            version=j["version"],
            created_at=now,
            updated_at=now,
        )
        self._row("journey", jrow)
        areas = list(dict.fromkeys(spec.support_area_ids))
        for area_id in areas:
            self._row("journey_support_area", {"journey_id": jid, "support_area_id": area_id})
        received: dict[str, Any] = {k: None for k in JOURNEY_FIELDS}
        received.update(received_date=spec.received_date, state=L.State.RECEIVED.value, navigator_id=spec.navigator_id)
        ev = self.event
        ev(
            "journey.receive",
            "journey",
            jid,
            client_id=cid,
            journey_id=jid,
            after=received | {"source_id": spec.source_id, "support_area_ids": areas},
        )

        goal_ids: list[int] = []
        onward_ids: list[int] = []
        for _ in r.onwards:
            onward_ids.append(self._id("onward_referral"))
        for op in r.ops:
            kind = op[0]
            if kind == "contact":
                _, row, b, a = op
                rid = self._id("contact_attempt")
                self._row("contact_attempt", row | {"id": rid, "journey_id": jid, "user_id": by, "created_at": now})
                ev(
                    "journey.contact",
                    "journey",
                    jid,
                    client_id=cid,
                    journey_id=jid,
                    before=b,
                    after=a
                    | {
                        "contact": {
                            "id": rid,
                            "on": row["on_date"],
                            "method": row["method"],
                            "outcome": row["outcome"],
                            "note": row["note"],
                        }
                    },
                )
            elif kind == "decide":
                _, b, a = op
                ev("journey.decide", "journey", jid, client_id=cid, journey_id=jid, before=b, after=a)
            elif kind in ("start", "close"):
                _, m_row, b, a = op
                if m_row is not None:
                    mid = self._measure(m_row, jid, by)
                    a = a | {"measure": {"id": mid, "point": m_row["point"], "raw": m_row["raw"]}}
                ev(f"journey.{kind}", "journey", jid, client_id=cid, journey_id=jid, before=b, after=a)
            elif kind == "review":
                _, rv, m_row, b, a = op
                self._row(
                    "plan_review",
                    rv | {"id": self._id("plan_review"), "journey_id": jid, "user_id": by, "created_at": now},
                )
                a = a | {"review": {"on": rv["on_date"], "note": rv["note"]}}
                if m_row is not None:
                    mid = self._measure(m_row, jid, by)
                    a["measure"] = {"id": mid, "point": "review", "raw": m_row["raw"]}
                ev("journey.review", "journey", jid, client_id=cid, journey_id=jid, before=b, after=a)
            elif kind == "measure":
                m_row = op[1]
                mid = self._measure(m_row, jid, by)
                ev(
                    "measure.record",
                    "measurement",
                    mid,
                    client_id=cid,
                    journey_id=jid,
                    after={
                        "kind": m_row["kind"],
                        "point": m_row["point"],
                        "on": m_row["on_date"],
                        "raw": m_row["raw"],
                        "metric_x100": m_row["metric_x100"],
                    },
                )
            elif kind == "goal":
                _, index, g = op
                gid = self._id("plan_goal")
                goal_ids.append(gid)
                ev(
                    "goal.add",
                    "plan_goal",
                    gid,
                    client_id=cid,
                    journey_id=jid,
                    after={"outcome_id": g["outcome_id"], "statement": g["statement"], "target_date": g["target_date"]},
                )
            elif kind == "goal_update":
                _, index, b, a, note = op
                gid = goal_ids[index]
                if note is not None:
                    self._row(
                        "goal_note",
                        note | {"id": self._id("goal_note"), "goal_id": gid, "user_id": by, "created_at": now},
                    )
                ev("goal.update", "plan_goal", gid, client_id=cid, journey_id=jid, before=b, after=a)
            elif kind == "onward":
                index = op[1]
                o = r.onwards[index]
                ev(
                    "onward.make",
                    "onward_referral",
                    onward_ids[index],
                    client_id=cid,
                    journey_id=jid,
                    after={"programme_id": o["programme_id"], "referral_date": o["referral_date"], "note": o["note"]},
                )
            elif kind == "partner_update":
                _, index, up, b, a = op
                oid = onward_ids[index]
                self._row(
                    "partner_update",
                    up | {"id": self._id("partner_update"), "onward_id": oid, "user_id": by, "created_at": now},
                )
                ev("onward.update", "onward_referral", oid, client_id=cid, journey_id=jid, before=b, after=a)
            elif kind == "followed_up":
                _, index, note = op
                ev(
                    "onward.followed_up",
                    "onward_referral",
                    onward_ids[index],
                    client_id=cid,
                    journey_id=jid,
                    after={"note": note},
                )
            elif kind == "chase":  # issue 15
                _, index, row = op
                oid, chase_id = onward_ids[index], self._id("partner_chase")
                self._row("partner_chase", row | {"id": chase_id, "onward_id": oid, "user_id": by, "created_at": now})
                ev(
                    "onward.chase",
                    "onward_referral",
                    oid,
                    client_id=cid,
                    journey_id=jid,
                    after={"chase": chase_id, "on": row["on_date"], "method": row["method"], "note": row["note"]},
                )
        # goals and onward referrals as they stand at the end of the replay
        for gid, g in zip(goal_ids, r.goals):
            self._row("plan_goal", g | {"id": gid, "journey_id": jid, "created_at": now, "updated_at": now})
        for oid, o in zip(onward_ids, r.onwards):
            self._row("onward_referral", o | {"id": oid, "journey_id": jid, "created_at": now, "updated_at": now})
        # follow-ups, exactly as services.journeys.sync_tasks would leave them open
        f = r.facts
        if L.state_of(f).is_open:
            chased: dict[int, list] = {}  # issue 15: each onward referral's chase dates
            for op in r.ops:
                if op[0] == "chase":
                    chased.setdefault(op[1], []).append(op[2]["on_date"])
            onward = tuple(
                OnwardInfo(
                    oid,
                    o["status"] in L.OPEN_ONWARD,
                    o["last_update_date"] or o["referral_date"],
                    self._expected_days.get(o["programme_id"], 10),
                    o["feedback_pending_since"],
                    *chase_facts(chased.get(index, []), o["last_update_date"]),
                )
                for index, (oid, o) in enumerate(zip(onward_ids, r.onwards))
            )
            ff = FollowUpFacts(f, tuple(r.attempts), j["last_review_date"], onward)
            for t in desired_tasks(ff, self.protocol, self.calendar):
                self._row(
                    "task",
                    {
                        "id": self._id("task"),
                        "journey_id": jid,
                        "kind": t.kind.value,
                        "key": t.key,
                        "due_date": t.due,
                        "detail": t.detail,
                        "status": "open",
                        "created_at": now,
                        "closed_at": None,
                    },
                )
        self._pending += 1
        return jid

    def _measure(self, m_row: dict, jid: int, by: int) -> int:
        mid = self._id("measurement")
        self._row("measurement", m_row | {"id": mid, "journey_id": jid, "user_id": by, "created_at": self.now})
        return mid


def next_ids_in(session: Session) -> dict[str, int]:
    """The next free id of each table the bulk writer gives ids in (one past the highest)."""
    next_ids = {}
    for model in _WITH_IDS:
        table = table_of(model)
        top = session.execute(select(func.max(table.c.id))).scalar()
        next_ids[table.name] = (top or 0) + 1
    return next_ids


class BulkWriter(RowBuilder):
    """Buffers rows and audit events for one write transaction; ``flush()`` inserts them."""

    def __init__(self, session: Session, ctx: Ctx, *, chunk: int = 5000, now: datetime | None = None) -> None:
        """``now``: the time on its rows and events (default: now); the import gives the time it built a
        batch's rows at, before it took the write lock."""
        self.session = session
        self.ctx = ctx
        self.chunk = chunk
        # PostgreSQL: ids are picked below from MAX(id), so no ordinary save may run beside this
        # transaction (a no-op when the caller opened it with ctx.write(bulk=True), as it should).
        pg_setup.lock(session, pg_setup.BULK_LOCK)
        now = now or ctx.now()
        next_ids = next_ids_in(session)
        super().__init__(
            today=ctx.today(),
            now=now,
            actor_id=ctx.actor(session).id,
            protocol=protocol(session),
            calendar=ctx.calendar(session),
            next_ids=next_ids,
            expected_days={},
        )
        self.audit = _FastAuditWriter(session, ctx.username, ctx.acting_as, now)
        self.refresh_programmes()
        conn = session.connection()
        if conn.dialect.name == "sqlite":
            # a bulk transaction touches many index pages: a bigger page cache for this connection
            # (SQLite's default is 2 MB) keeps them from being written and re-read half-way
            conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")

    def refresh_programmes(self) -> None:
        """Re-read programmes' expected response days (after creating programmes in this transaction)."""
        self._expected_days = dict(
            self.session.execute(select(col(Programme.id), col(Programme.expected_response_days))).all()
        )

    @property
    def expected_days(self) -> dict[int, int]:
        return dict(self._expected_days)

    def add_journey(self, spec: JourneySpec, replayed: Replayed | None = None) -> int:
        jid = super().add_journey(spec, replayed)
        if self._pending >= self.chunk:
            self.flush()
        return jid

    def flush(self) -> None:
        """Insert everything buffered (parents first), then the audit events, in this transaction."""
        self.write_rows(*self.take())

    def write_rows(
        self,
        rows: dict[str, list[dict]],
        events: list[tuple],
        *,
        built_elsewhere: bool = False,
        encoded: bool = False,
        prepared: dict[str, tuple[list[str], list[tuple]]] | None = None,
        signed: Signed | None = None,
    ) -> None:
        """Insert rows by table (as RowBuilder.take() gives them; parents first), then the audit events.

        ``built_elsewhere``: the rows came from another RowBuilder (a worker process, or built before
        the write lock was taken, with ids from this writer's ``next_ids``): they count in ``created``
        here too. ``encoded``: the events are ``audit.encode_events``'s. ``prepared`` (SQLite): the tables'
        rows already as ``prepare_sqlite`` tuples (their journeys' lots filled), inserted as they are.
        ``signed``: the same events already chained and signed (``audit.sign_events``), used if the chain's
        head is still the one they were chained on (else they are chained again here).
        """
        if built_elsewhere:
            for name, batch in rows.items():
                self.created[name] += len(batch)
        conn = self.session.connection()
        if rows["journey"] and prepared is None:
            self._fill_lots(rows["journey"])
        for model in _TABLES:
            table = table_of(model)
            batch = rows[table.name]
            if batch:
                if prepared is not None and table.name in prepared and conn.dialect.name == "sqlite":
                    execute_sqlite(conn, table.name, *prepared[table.name])
                elif conn.dialect.name == "sqlite":
                    _fast_insert(conn, table, batch)
                else:
                    conn.execute(insert(table), batch)
                    if conn.dialect.name == "postgresql" and "id" in table.c:
                        # ids were given here: move the table's sequence past them
                        conn.exec_driver_sql(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT MAX(id) FROM {table.name}))"
                        )
        if signed is not None and events and self.audit.head_is(signed.head, signed.key):
            if signed.prepared is not None and conn.dialect.name == "sqlite":
                execute_sqlite(conn, table_of(AuditEvent).name, *signed.prepared)
            else:
                self.audit._insert(signed.rows)
            self.audit.prev = signed.last
        elif events:
            if encoded:
                self.audit.add_encoded(events)
            else:
                self.audit.add_many(events)

    def _fill_lots(self, journeys: list[dict]) -> None:
        """Each journey's lot_id: the lot of its locality now, as it is received (localities read once)."""
        lots = getattr(self, "_lot_of", None)
        if lots is None or any(j["locality_id"] not in lots for j in journeys):
            lots = self._lot_of = dict(self.session.execute(select(col(Locality.id), col(Locality.lot_id))).all())
        for j in journeys:
            if j.get("lot_id") is None:
                j["lot_id"] = lots[j["locality_id"]]

    def skip_ids(self, next_ids: dict[str, int]) -> None:
        """After a worker built with ids from ``next_ids``: continue after the ids it used."""
        for name, n in next_ids.items():
            self._next[name] = max(self._next[name], n)
