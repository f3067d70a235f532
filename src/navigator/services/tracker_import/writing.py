"""Writing a checked tracker without making anyone wait, all or nothing.

Everything was checked before (read-only). Then:

1. one short transaction creates the navigators, partners and programmes the file names (through the
   admin services, so with their usual audit events) and leaves a *pending import* marker (a setting
   row) saying which process writes which import;
2. the journeys go in batches, each its own short write transaction (about ``BATCH_SECONDS``; another
   user's save waits at most one batch), each recording in the marker, in the same transaction, the
   id ranges of the people and journeys it wrote. A batch is built before its transaction (replayed,
   its rows given ids, its audit events encoded and chained: see ``Batches``), so the transaction only
   inserts; at least ``PAUSE_SECONDS`` pass between two of them, so a waiting save gets in;
3. one last short transaction writes the ``import`` event and removes the marker.

If anything fails on the way, or the process is killed, the marker says exactly what to take back:
``undo`` removes those rows (and what anyone added to them meanwhile), the people it updated and the
users, partners and programmes it created that nothing else uses, and records an ``import.undo``
event. The process that failed does this at once; a killed one's marker is found (its process is
gone) by the next import, by ``recover`` (run by ``navigator import`` and ``doctor``-style callers)
and undone there. Audit events are never deleted: the log keeps what was written and then taken back.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import Session, col, select

from navigator.domain.errors import DomainError
from navigator.services import audit
from navigator.services.casework import bulk
from navigator.services.context import Ctx, get_setting, protocol, put_setting
from navigator.services.setup import partners as partner_admin
from navigator.services.setup import users as user_admin
from navigator.store.ids import row_id
from navigator.store.models import Client, Locality, Lot, Partner, Programme, Setting, User

PENDING = "tracker_import.pending"
BATCH_SECONDS = 0.3  # aim for write transactions this long (another user's save waits at most one)
# At least this long between batches (building the next one usually takes longer), longer than SQLite's busy
# handler sleeps between tries (100 ms at most): else the import could take the lock again before a waiting
# save wakes up, batch after batch.
PAUSE_SECONDS = 0.11
# PostgreSQL: a batch excludes every other save while it runs (it picks row ids: Ctx.write(bulk=True)), so
# batches there are short; and the server queues waiting saves fairly, so no pause is needed between them.
PG_BATCH_SECONDS = 0.05
FIRST_BATCH = 100  # journeys in the first batch; later batches are sized from the time the last one took
MAX_BATCH = 5000


def _alive(marker: dict) -> bool:
    """Is the process that wrote this marker still running (on this machine)?"""
    if marker.get("host") != socket.gethostname():
        return True  # another machine's import: only it can say; never taken back from here
    try:
        os.kill(int(marker["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, ValueError):
        return True
    return True


def _ids_in(conn, table: str, ranges: list[list[int]]) -> list[int]:
    ids: list[int] = []
    for lo, hi in ranges:
        ids.extend(
            r[0]
            for r in conn.execute(text(f"SELECT id FROM {table} WHERE id >= :lo AND id < :hi"), {"lo": lo, "hi": hi})
        )
    return ids


def _delete(conn, sql: str, ids: list[int]) -> int:
    """``sql`` with ``:ids`` run over the ids in chunks (each statement small, whatever the import's size)."""
    n = 0
    stmt = text(sql).bindparams(bindparam("ids", expanding=True))
    for k in range(0, len(ids), 500):
        n += conn.execute(stmt, {"ids": ids[k : k + 500]}).rowcount
    return n


def undo_in(s: Session, ctx: Ctx, marker: dict) -> dict:
    """Take back everything a pending import wrote (in the caller's transaction); what was removed.

    Its people and journeys are the id ranges its batches recorded; whatever anyone added to them
    meanwhile (a contact logged on an imported journey) goes with them."""
    conn = s.connection()
    clients = _ids_in(conn, "client", marker.get("clients", []))
    journeys = set(_ids_in(conn, "journey", marker.get("journeys", [])))
    for k in range(0, len(clients), 500):
        stmt = text("SELECT id FROM journey WHERE client_id IN :ids").bindparams(bindparam("ids", expanding=True))
        journeys.update(r[0] for r in conn.execute(stmt, {"ids": clients[k : k + 500]}))
    jids = sorted(journeys)
    removed: dict = {}
    _delete(conn, "DELETE FROM goal_note WHERE goal_id IN (SELECT id FROM plan_goal WHERE journey_id IN :ids)", jids)
    _delete(
        conn,
        "DELETE FROM partner_update WHERE onward_id IN (SELECT id FROM onward_referral WHERE journey_id IN :ids)",
        jids,
    )
    for table in ("task", "contact_attempt", "plan_review", "measurement", "plan_goal", "journey_support_area"):
        _delete(conn, f"DELETE FROM {table} WHERE journey_id IN :ids", jids)
    removed["onward_referrals"] = _delete(conn, "DELETE FROM onward_referral WHERE journey_id IN :ids", jids)
    removed["journeys"] = _delete(conn, "DELETE FROM journey WHERE id IN :ids", jids)
    _delete(conn, "DELETE FROM access_grant WHERE client_id IN :ids", clients)
    removed["clients"] = _delete(conn, "DELETE FROM client WHERE id IN :ids", clients)
    for cid in marker.get("consent", []):
        c = s.get(Client, int(cid))
        if c is not None and c.consent_to_share:
            c.consent_to_share = False
            c.version += 1
            s.add(c)
    s.flush()
    # what the import created for itself, if nothing else uses it now
    gone_programmes = []
    for pid in marker.get("programmes", []):
        used = conn.execute(text("SELECT 1 FROM onward_referral WHERE programme_id = :p LIMIT 1"), {"p": pid}).first()
        if used is None and s.get(Programme, pid) is not None:
            conn.execute(text("DELETE FROM programme_locality WHERE programme_id = :p"), {"p": pid})
            conn.execute(text("DELETE FROM programme WHERE id = :p"), {"p": pid})
            gone_programmes.append(pid)
    gone_partners = []
    for pid in marker.get("partners", []):
        used = conn.execute(text("SELECT 1 FROM programme WHERE partner_id = :p LIMIT 1"), {"p": pid}).first()
        partner = s.get(Partner, pid)
        if used is None and partner is not None:
            gone_partners.append(partner.name)
            conn.execute(text("DELETE FROM partner WHERE id = :p"), {"p": pid})
    gone_users = []
    for uid in marker.get("users", []):
        used = conn.execute(text("SELECT 1 FROM journey WHERE navigator_id = :u LIMIT 1"), {"u": uid}).first()
        user = s.get(User, uid)
        if used is None and user is not None:
            gone_users.append(user.username)
            conn.execute(text("DELETE FROM user_lot WHERE user_id = :u"), {"u": uid})
            conn.execute(text("DELETE FROM access_grant WHERE user_id = :u"), {"u": uid})
            conn.execute(text('DELETE FROM "user" WHERE id = :u'), {"u": uid})
    s.expire_all()
    removed.update(users=gone_users, partners=gone_partners, programmes=len(gone_programmes))
    row = s.get(Setting, PENDING)
    if row is not None:
        s.delete(row)
        s.flush()
    audit.record(
        s, ctx, "import.undo", "import", None, after={"file": marker.get("file"), "import": marker.get("id")} | removed
    )
    return removed


def recover(ctx: Ctx) -> dict | None:
    """Take back an import whose process is gone (killed, or the machine stopped); what was removed."""
    with ctx.write() as s:
        marker = get_setting(s, PENDING)
        if marker is None or _alive(marker):
            return None
        return undo_in(s, ctx, marker)


@dataclass
class _Built:
    """One batch's rows and audit events, built before the write lock was taken, with the ids that were
    next when it was built (``first``) and after it (``last``)."""

    part: list
    first: dict[str, int]
    last: dict[str, int]
    now: datetime
    rows: dict[str, list[dict]]
    prepared: dict[str, tuple[list[str], list[tuple]]] | None  # SQLite: the rows as the driver takes them
    events: list[tuple]  # audit.encode_events
    signed: bulk.Signed | None  # SQLite: the events chained on the head they will follow, if nobody writes between
    new_clients: list[bulk.ClientSpec]  # people given their id in this batch (their id goes if it is built again)


class Batches:
    """Writes prepared journeys in short transactions, keeping the pending-import marker up to date.

    Each batch is built (replayed, turned into rows with ids, its audit events encoded, chained and
    signed) *before* its write transaction, with the ids and the audit chain's head that will come next
    in the store; the transaction only checks that those are still the next ids and inserts. If another
    user's save took some of the ids meanwhile, the batch is built again inside its transaction (correct,
    only longer); if someone only logged an event, its events are chained again there. Building the next
    batch is when a waiting save gets the lock."""

    def __init__(self, ctx: Ctx, marker: dict) -> None:
        self.ctx = ctx
        self.marker = marker
        self.count = 0
        self.longest = 0.0
        self.rebuilt = 0  # batches built again inside their transaction (someone saved while they were built)
        self.head = audit.GENESIS  # the audit chain's head after the last batch

    def write(self, items: list, prepare: Callable[[object], tuple], progress: Callable[[int, int], None]) -> None:
        """``items``: what ``prepare(item)`` turns into (JourneySpec, Replayed or None)."""
        ctx = self.ctx
        sqlite = ctx.store.is_sqlite
        aim, pause = (BATCH_SECONDS, PAUSE_SECONDS) if sqlite else (PG_BATCH_SECONDS, 0.0)
        size = FIRST_BATCH if sqlite else FIRST_BATCH // 4
        with ctx.read() as s:  # what every batch's rows need (read once; checked again as each is written)
            base = dict(
                actor_id=row_id(ctx.actor(s).id),
                protocol=protocol(s),
                calendar=ctx.calendar(s),
                expected_days=dict(s.execute(select(col(Programme.id), col(Programme.expected_response_days))).all()),
            )
            lot_of = dict(s.execute(select(col(Locality.id), col(Locality.lot_id))).all())
            next_ids = bulk.next_ids_in(s)
            key = audit.signing_key(s, create=False) if sqlite else None
            self.head = audit.last_hash(s)  # the audit chain's head: after each batch, the head it left

        total = len(items)
        progress(0, total)
        done = 0
        released = 0.0  # when the last write transaction ended
        per_row = 0.0  # seconds a journey takes to write (smoothed)
        while done < total:
            built = self._build(items[done : done + size], prepare, base, lot_of, next_ids, sqlite)
            if key:
                built.signed = bulk.Signed.sign(built.events, self.head, key, built.now, ctx.username, ctx.acting_as)
            if pause and released:  # a save waiting on the last batch gets in first (see PAUSE_SECONDS)
                time.sleep(max(0.0, pause - (time.perf_counter() - released)))
            t0 = time.perf_counter()
            next_ids = self._one(built, prepare)
            released = time.perf_counter()
            took = released - t0
            self.longest = max(self.longest, took)
            done += len(built.part)
            progress(done, total)
            # sized from the time a journey took to write in the last two batches (one alone swings)
            per_row = (per_row + took / len(built.part)) / 2 if per_row else took / len(built.part)
            size = max(5 if not sqlite else 20, min(MAX_BATCH, int(aim / max(per_row, 1e-6))))

    def _build(
        self,
        part: list,
        prepare: Callable[[object], tuple],
        base: dict,
        lot_of: dict[int, int],
        next_ids: dict[str, int],
        sqlite: bool,
    ) -> _Built:
        """The batch's rows and events, outside any transaction."""
        now = self.ctx.now()
        b = bulk.RowBuilder(today=self.ctx.today(), now=now, next_ids=next_ids, **base)
        new_clients = []
        for item in part:
            spec, replayed = prepare(item)
            if spec.client.id is None:
                new_clients.append(spec.client)
            b.add_journey(spec, replayed)
        rows, events = b.take()
        prepared = None
        if sqlite:
            for j in rows["journey"]:
                if j.get("lot_id") is None:
                    j["lot_id"] = lot_of.get(j["locality_id"])
            if all(j["lot_id"] is not None for j in rows["journey"]):
                prepared = bulk.prepare_tables(rows)
        return _Built(part, next_ids, b.next_ids, now, rows, prepared, audit.encode_events(events), None, new_clients)

    def _one(self, built: _Built, prepare: Callable[[object], tuple]) -> dict[str, int]:
        """Write one batch (its own transaction); the next ids after it. If its ids were taken meanwhile,
        the batch is built again here."""
        ctx = self.ctx
        with ctx.write(bulk=True) as s:  # it picks row ids: no other save runs beside this batch
            w = bulk.BulkWriter(s, ctx, chunk=10**9, now=built.now)
            first = w.next_ids
            if first == built.first:
                w.skip_ids(built.last)
                w.write_rows(
                    built.rows,
                    built.events,
                    built_elsewhere=True,
                    encoded=True,
                    prepared=built.prepared,
                    signed=built.signed,
                )
            else:  # someone saved while it was built: its ids are taken; built again here
                self.rebuilt += 1
                for client in built.new_clients:
                    client.id = None
                for item in built.part:
                    spec, replayed = prepare(item)
                    w.add_journey(spec, replayed)
                w.flush()
            last = w.next_ids
            for table, key in (("client", "clients"), ("journey", "journeys")):
                if last[table] > first[table]:
                    ranges = self.marker.setdefault(key, [])
                    if ranges and ranges[-1][1] == first[table]:
                        ranges[-1][1] = last[table]  # straight after the last batch's: one range
                    else:
                        ranges.append([first[table], last[table]])
            put_setting(s, PENDING, self.marker, ctx.now())
            self.head = w.audit.prev or self.head
        self.count += 1
        return last


def begin(
    ctx: Ctx,
    file: str,
    new_users: dict[str, set[int]],
    new_partners: list[str],
    new_programmes: list[tuple[str, str]],
    consent: list[int],
) -> tuple[dict, dict[str, int], dict[tuple[str, str], int]]:
    """The first short transaction: a pending marker, and the users, partners and programmes the file needs.

    Returns (marker, user ids by username, programme ids by (partner, programme) in lower case)."""
    with ctx.write() as s:
        old = get_setting(s, PENDING)
        if old is not None:
            if _alive(old):
                raise DomainError(
                    f"Another import ({old.get('file')}) is being written right now: run this one when it has "
                    "finished. Nothing was imported.",
                    field="file",
                )
            undo_in(s, ctx, old)
        user_admin.admin_actor(s, ctx)
        marker: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "file": file,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": ctx.now().isoformat(),
            "users": [],
            "partners": [],
            "programmes": [],
            "consent": [],
        }
        w = audit.writer(s, ctx)
        lot_codes = dict(s.exec(select(Lot.id, Lot.code)).all())
        for username, lot_ids in sorted(new_users.items()):
            if s.exec(select(User.id).where(User.username == username)).first() is not None:
                continue
            u = user_admin.add_user_in(
                s,
                ctx,
                w,
                username,
                username_to_name(username),
                "navigator",
                [lot_codes[i] for i in sorted(lot_ids) if i in lot_codes],
                allow_retired_lots=True,
            )
            marker["users"].append(u.id)
        for name in new_partners:
            if s.exec(select(Partner.id).where(Partner.name == name)).first() is None:
                marker["partners"].append(partner_admin.add_partner_in(s, ctx, w, name).id)
        for partner, programme in new_programmes:
            p = partner_admin.find_partner(s, partner)
            prog = partner_admin.add_programme_in(s, ctx, w, row_id(p.id), programme)
            marker["programmes"].append(prog.id)
        for cid in consent:
            c = s.get(Client, cid)
            if c is not None and not c.consent_to_share:
                c.consent_to_share = True
                c.version += 1
                c.updated_at = ctx.now()
                s.add(c)
                w.add(
                    "client.update",
                    "client",
                    c.id,
                    client_id=c.id,
                    before={"consent_to_share": False},
                    after={"consent_to_share": True},
                )
                marker["consent"].append(c.id)
        s.flush()
        put_setting(s, PENDING, marker, ctx.now())
        users = {u.username: row_id(u.id) for u in s.exec(select(User)).all()}
        programmes = {
            (p.name.lower(), g.name.lower()): row_id(g.id)
            for g, p in s.exec(
                select(Programme, Partner).join(Partner, col(Partner.id) == col(Programme.partner_id))
            ).all()
        }
    return marker, users, programmes


def finish(ctx: Ctx, marker: dict, summary: dict) -> None:
    """The last short transaction: the ``import`` event; the marker goes (the import is complete)."""
    with ctx.write() as s:
        current = get_setting(s, PENDING)
        if current is None or current.get("id") != marker["id"]:
            raise DomainError("The import was taken back while it was being written. Nothing was imported.")
        s.delete(s.get(Setting, PENDING))
        s.flush()
        audit.record(s, ctx, "import", "import", None, after=summary)


def abandon(ctx: Ctx, marker: dict) -> None:
    """Take back a failed import at once (if this fails too, the next import or ``recover`` does it)."""
    try:
        with ctx.write() as s:
            current = get_setting(s, PENDING)
            if current is not None and current.get("id") == marker["id"]:
                undo_in(s, ctx, current)
    except Exception:  # the original failure is what the caller reports
        pass


def username_to_name(username: str) -> str:
    import re

    parts = [p for p in re.split(r"[._\-]+", username) if p]
    return " ".join(p[:1].upper() + p[1:] for p in parts) or username
