"""The audit log: every write (and every view, search, export, import) leaves an event.

Events are chained: each carries the hash of the previous one, so an edited or
removed event is detected (``verify_chain``). The table itself refuses DELETE,
and refuses UPDATE except retention's redaction (triggers: migrations 0001, 0002).

Two hash versions (``hash_version``):
- 2, every event since migration 0002: ``before_hash``/``after_hash`` are the
  sha256 of the before/after text, and the event's hash covers those hashes, not
  the text. Retention can blank a person's text (``redact_events``: before and
  after become NULL, ``redacted`` = 1) and the chain still proves that nothing
  else changed and nothing was added or removed. While the text is there,
  ``verify_chain`` recomputes its hash, so an edited text is still detected; a
  redacted event counts only when a later ``retention.anonymise`` event covers
  the person it is about (the database checks the same before it allows it).
- 3, every event since migration 0004: version 2's fields, signed with the
  store's audit key (HMAC-SHA256; the key lives outside the database, see
  store/anchor.py), so an edited log cannot be re-hashed and a forged event
  cannot be appended by anyone without the key. Once a signed event exists,
  every later event must be signed; the first one anchors every unsigned event
  before it. Checkpoints of (count, head) outside the database catch deletion
  from the end and truncation (``anchor.compare``). Only a retention event that
  verifies under the key allows a redaction (``redact_events``; doctor too).
- 1, events written before 0002 (migration 0002 rehashes them to version 2 when
  their chain checks; a log that failed its check keeps them as evidence): the
  hash covers the text itself, so they cannot be redacted.

This module is ~540 lines: writing events and verifying the chain must use the very same hash
versions and payloads, so both live here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import CursorResult, bindparam, func, insert, inspect, or_, text, update
from sqlmodel import Session, col, select

from navigator.domain.errors import StoreError
from navigator.store import anchor, pg_setup
from navigator.store.models import AuditEvent, table_of

GENESIS = "0" * 64


def _default(value: Any):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return str(value)


# Built once: json.dumps with options builds a new encoder per call (bulk writes make 100,000s of events).
_VALUE_ENCODER = json.JSONEncoder(default=_default, sort_keys=True, ensure_ascii=False)
_HASH_ENCODER = json.JSONEncoder(ensure_ascii=False)


def to_json(value: Any) -> str | None:
    if value is None:
        return None
    return _VALUE_ENCODER.encode(value)  # == json.dumps(value, default=_default, sort_keys=True, ensure_ascii=False)


def event_hash(
    prev_hash: str,
    at: str,
    username: str,
    acting_as: str | None,
    action: str,
    entity: str,
    entity_id: int | None,
    client_id: int | None,
    journey_id: int | None,
    before: str | None,
    after: str | None,
) -> str:
    """Version 1: the hash covers the before/after text itself."""
    payload = _HASH_ENCODER.encode(  # == json.dumps(..., ensure_ascii=False)
        [prev_hash, at, username, acting_as, action, entity, entity_id, client_id, journey_id, before, after]
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def content_hash(value: str | None) -> str | None:
    """sha256 (hex) of a stored before/after text; None for no text."""
    return None if value is None else hashlib.sha256(value.encode("utf-8")).hexdigest()


def event_hash_v2(
    prev_hash: str,
    at: str,
    username: str,
    acting_as: str | None,
    action: str,
    entity: str,
    entity_id: int | None,
    client_id: int | None,
    journey_id: int | None,
    before_hash: str | None,
    after_hash: str | None,
) -> str:
    """Version 2: the hash covers the hashes of the before/after text, so the text can be blanked later."""
    payload = _HASH_ENCODER.encode(
        [
            "v2",
            prev_hash,
            at,
            username,
            acting_as,
            action,
            entity,
            entity_id,
            client_id,
            journey_id,
            before_hash,
            after_hash,
        ]
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def event_hash_v3(
    key: bytes,
    prev_hash: str,
    at: str,
    username: str,
    acting_as: str | None,
    action: str,
    entity: str,
    entity_id: int | None,
    client_id: int | None,
    journey_id: int | None,
    before_hash: str | None,
    after_hash: str | None,
) -> str:
    """Version 3: version 2's fields, signed with the store's audit key (HMAC-SHA256), so nobody without
    the key can re-hash an edited log or append an event that verifies."""
    payload = _HASH_ENCODER.encode(
        [
            "v3",
            prev_hash,
            at,
            username,
            acting_as,
            action,
            entity,
            entity_id,
            client_id,
            journey_id,
            before_hash,
            after_hash,
        ]
    )
    return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


KEY_MISSING = (
    "The audit key for this store ({path}) is missing, yet the audit log was signed with one. Restore the "
    "key file from where you keep navigator's keys (or a copy beside a backup); nothing was saved."
)


def signing_key(session: Session, *, create: bool = True) -> bytes | None:
    """The key that signs this store's audit events. A store without one gets one (``create``) while
    its log holds no signed event; a missing key for a signed log is refused (StoreError)."""
    path = anchor.key_path_for(session.get_bind())
    if pg_setup.installed(session.get_bind()):
        key = pg_setup.database_key(session)  # held by the database (pg-setup); admins may read it
        if key is not None:
            return key
    key = anchor.load_key(path)
    if key is not None or not create:
        return key
    signed = session.execute(text("SELECT 1 FROM audit_event WHERE hash_version >= 3 LIMIT 1")).first()
    if signed:
        raise StoreError(KEY_MISSING.format(path=path))
    if anchor.location(session.get_bind())[0] is None:
        return None  # PostgreSQL before pg-setup: no key made up on one machine (unsigned, version 2)
    return anchor.create_key(path)


def _at_text(at: datetime) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


def last_hash(session: Session) -> str:
    h = session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    return h or GENESIS


_KEY_EVENT = ("audit.key", "audit_event", None, None, None, None, {"signed_from": "here"})


def encode_events(events: Iterable[tuple]) -> list[tuple]:
    """Events (action, entity, entity_id, client_id, journey_id, before, after) with their before/after as
    stored text and its hashes: (..., before_text, after_text, before_hash, after_hash). Nothing here
    depends on the chain, so a bulk writer can do it before it takes the write lock."""
    out = []
    for action, entity, entity_id, client_id, journey_id, before, after in events:
        b, a = to_json(before), to_json(after)
        out.append((action, entity, entity_id, client_id, journey_id, b, a, content_hash(b), content_hash(a)))
    return out


def sign_events(
    events: Iterable[tuple], prev: str, key: bytes | None, at: datetime, username: str, acting_as: str | None
) -> list[dict]:
    """Encoded events (``encode_events``) as audit rows chained after ``prev``, signed with ``key``
    (version 3; version 2 without one)."""
    at_text = _at_text(at)
    sign = (lambda *f: event_hash_v3(key, *f)) if key else event_hash_v2
    rows = []
    for action, entity, entity_id, client_id, journey_id, b, a, bh, ah in events:
        h = sign(prev, at_text, username, acting_as, action, entity, entity_id, client_id, journey_id, bh, ah)
        rows.append(
            dict(
                at=at,
                username=username,
                acting_as=acting_as,
                action=action,
                entity=entity,
                entity_id=entity_id,
                client_id=client_id,
                journey_id=journey_id,
                before=b,
                after=a,
                prev_hash=prev,
                hash=h,
                before_hash=bh,
                after_hash=ah,
                redacted=False,
                hash_version=3 if key else 2,
            )
        )
        prev = h
    return rows


@dataclass
class AuditWriter:
    """Appends events in one transaction, keeping the chain (used for bulk writes too)."""

    session: Session
    username: str
    acting_as: str | None
    at: datetime
    prev: str | None = None
    key: bytes | None = None

    def add(
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
        self.add_many([(action, entity, entity_id, client_id, journey_id, before, after)])

    def add_many(self, events: Iterable[tuple]) -> None:
        self.add_encoded(encode_events(events))

    def add_encoded(self, events: Iterable[tuple]) -> None:
        """Append events already encoded by ``encode_events`` (the bulk import encodes them before it takes
        the write lock: only the chain, which needs the last event, is computed here)."""
        if pg_setup.installed(self.session.get_bind()):  # PostgreSQL after pg-setup: the database chains
            pg_rows = [(ac, en, eid, cid, jid, b, a) for ac, en, eid, cid, jid, b, a, _, _ in events]
            self.prev = pg_setup.append_events(self.session, self.username, self.acting_as, pg_rows) or self.prev
            return
        if self.prev is None:
            pg_setup.lock(self.session, pg_setup.CHAIN_LOCK)  # PostgreSQL: one appender at a time, to commit
            self.prev = last_hash(self.session)
        if self.key is None:
            existed = anchor.load_key(anchor.key_path_for(self.session.get_bind())) is not None
            self.key = signing_key(self.session) or b""
            if self.key and not existed and self.prev != GENESIS:
                # An older store's first signed event: it anchors every unsigned event before it.
                events = [*encode_events([_KEY_EVENT]), *events]
        rows = sign_events(events, self.prev, self.key, self.at, self.username, self.acting_as)
        if rows:
            self.prev = rows[-1]["hash"]
            self._insert(rows)

    def head_is(self, head: str, key: bytes | None) -> bool:
        """Would events signed beforehand (``sign_events``) on ``head`` with ``key`` continue the chain
        here? (Not on PostgreSQL after pg-setup, where the database chains; not when another event, or
        the first signed event of an older store, came in between.)"""
        if pg_setup.installed(self.session.get_bind()):
            return False
        if self.prev is None:
            pg_setup.lock(self.session, pg_setup.CHAIN_LOCK)
            self.prev = last_hash(self.session)
        if self.key is None:
            if anchor.load_key(anchor.key_path_for(self.session.get_bind())) is None:
                return False  # its first signed event would anchor the unsigned ones: add_encoded does that
            self.key = signing_key(self.session) or b""
        return self.prev == head and self.key == (key or b"")

    def _insert(self, rows: list[dict]) -> None:
        # Core executemany on the table (the ORM bulk path splits rows by which values are None).
        # services/casework/bulk.py overrides this with a driver-level executemany.
        self.session.execute(insert(table_of(AuditEvent)), rows)


def writer(session: Session, ctx) -> AuditWriter:
    return AuditWriter(session, ctx.username, ctx.acting_as, ctx.now())


def record(session: Session, ctx, action: str, entity: str, entity_id: int | None = None, **kw) -> None:
    writer(session, ctx).add(action, entity, entity_id, **kw)


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields that changed, before and after."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


@dataclass(frozen=True)
class ChainProblem:
    event_id: int
    problem: str


RETENTION_ACTION = "retention.anonymise"
CHANGED = "was changed after it was written"
UNLINKED = "does not follow the event before it (an event was removed or added)"
UNAUTHORISED = "had its text removed, but no later retention event covers the person it is about"
UNSIGNED = "is not signed with the store's key, yet follows signed events (written outside navigator)"
NO_KEY = "is signed, but the store's audit key is missing, so the log cannot be checked"

_V1_COLUMNS = (
    "id",
    "at",
    "username",
    "acting_as",
    "action",
    "entity",
    "entity_id",
    "client_id",
    "journey_id",
    "before",
    "after",
    "prev_hash",
    "hash",
)
_V2_COLUMNS = ("before_hash", "after_hash", "redacted", "hash_version")


def _has_v2_columns(session: Session) -> bool:
    """False on a store still at schema 0001 (doctor examines stores without upgrading them)."""
    return "hash_version" in {c["name"] for c in inspect(session.connection()).get_columns("audit_event")}


def _stored_at_text(at) -> str:
    at = at if isinstance(at, str) else _at_text(at)
    at = at.replace(" ", "T")
    return at if "." in at else at + ".000000"


def verify_chain(session: Session, key: bytes | None = None) -> list[ChainProblem]:
    """Recompute every hash; report events whose hash, text or link does not match (in id order).

    Version 3 events are checked with the store's audit key (``key``, else the key file); once one
    appears, every later event must be version 3 too. Only events that verify count as retention
    events that allow a redaction."""
    problems: list[ChainProblem] = []
    v2_columns = _has_v2_columns(session)
    if key is None:
        key = signing_key(session, create=False)
    columns = _V1_COLUMNS + (_V2_COLUMNS if v2_columns else ())
    rows = session.execute(
        text(f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} FROM audit_event ORDER BY id")
    )
    prev = GENESIS
    redacted: list[tuple[int, str, int | None, int | None]] = []  # id, action, client id, journey id
    retention_upto: dict[int, int] = {}  # client id -> id of the latest retention.anonymise event about them
    last_retention = 0
    signed_seen = no_key_reported = False
    for r in rows:
        bad = False
        if r.prev_hash != prev:
            problems.append(ChainProblem(r.id, UNLINKED))
            bad = True
        fields = (
            r.prev_hash,
            _stored_at_text(r.at),
            r.username,
            r.acting_as,
            r.action,
            r.entity,
            r.entity_id,
            r.client_id,
            r.journey_id,
        )
        version = r.hash_version if v2_columns else 1
        if version in (2, 3):
            if version == 3:
                signed_seen = True
                if key is None:
                    if not no_key_reported:
                        problems.append(ChainProblem(r.id, NO_KEY))
                        no_key_reported = True
                    changed = True
                else:
                    changed = not hmac.compare_digest(event_hash_v3(key, *fields, r.before_hash, r.after_hash), r.hash)
            else:
                changed = event_hash_v2(*fields, r.before_hash, r.after_hash) != r.hash
            for value, stored in ((r.before, r.before_hash), (r.after, r.after_hash)):
                if value is not None:
                    changed = changed or content_hash(value) != stored
                elif stored is not None and not r.redacted:
                    changed = True  # text gone without a redaction
            if r.redacted:
                redacted.append((r.id, r.action, r.client_id, r.journey_id))
        elif version == 1:
            changed = event_hash(*fields, r.before, r.after) != r.hash or (v2_columns and bool(r.redacted))
        else:
            changed = True
        if signed_seen and version != 3:
            problems.append(ChainProblem(r.id, UNSIGNED))
            bad = True
        if changed and not (version == 3 and key is None):
            problems.append(ChainProblem(r.id, CHANGED))
        bad = bad or changed
        if r.action == RETENTION_ACTION and not bad:
            last_retention = r.id
            if r.client_id is not None:
                retention_upto[r.client_id] = r.id
        prev = r.hash
    if redacted:
        problems += _unauthorised(session, redacted, retention_upto, last_retention)
        problems.sort(key=lambda p: p.event_id)
    return problems


def genuine_retention(session: Session, client_id: int, after_id: int) -> bool:
    """Is there a retention.anonymise event about ``client_id`` after event ``after_id`` that verifies
    under the store's key (a forged one, inserted behind navigator's back, does not)?"""
    key = signing_key(session, create=False)
    t = table_of(AuditEvent)
    rows = session.execute(
        t.select().where(t.c.action == RETENTION_ACTION, t.c.client_id == client_id, t.c.id > after_id)
    ).all()
    for r in rows:
        if key is None and r.hash_version == 2:  # an unsigned store (PostgreSQL before pg-setup)
            h = event_hash_v2(
                r.prev_hash,
                _stored_at_text(r.at),
                r.username,
                r.acting_as,
                r.action,
                r.entity,
                r.entity_id,
                r.client_id,
                r.journey_id,
                r.before_hash,
                r.after_hash,
            )
            if h == r.hash and content_hash(r.after) == r.after_hash:
                return True
        if r.hash_version == 3 and key is not None:
            fields = (r.prev_hash, _stored_at_text(r.at), r.username, r.acting_as, r.action, r.entity)
            h = event_hash_v3(key, *fields, r.entity_id, r.client_id, r.journey_id, r.before_hash, r.after_hash)
            if hmac.compare_digest(h, r.hash) and content_hash(r.after) == r.after_hash:
                return True
    return False


def _unauthorised(
    session: Session, redacted, retention_upto: dict[int, int], last_retention: int
) -> list[ChainProblem]:
    """Redacted events not covered by a later retention.anonymise event about the same person (for a
    search, which names nobody in particular: by any later retention.anonymise event)."""
    jids = sorted({jid for _, _, _, jid in redacted if jid is not None})
    journey_client: dict[int, int] = {}
    if jids:
        q = text("SELECT id, client_id FROM journey WHERE id IN :ids").bindparams(bindparam("ids", expanding=True))
        journey_client = {j: c for j, c in session.execute(q, {"ids": jids})}
    out = []
    for eid, action, cid, jid in redacted:
        if action == "search" and cid is None and jid is None:
            covered = last_retention > eid
        else:
            people = {cid, journey_client.get(jid)} - {None}
            covered = any(retention_upto.get(p, 0) > eid for p in people)
        if not covered:
            out.append(ChainProblem(eid, UNAUTHORISED))
    return out


def events_about(session: Session, client_id: int, journey_ids: Iterable[int]) -> tuple[list[int], int]:
    """Events about a person that still hold text: (ids of version 2 ones, which retention can redact;
    how many version 1 ones, which it cannot)."""
    t = table_of(AuditEvent)
    jids = list(journey_ids)
    about = or_(t.c.client_id == client_id, t.c.journey_id.in_(jids)) if jids else t.c.client_id == client_id
    has_text = or_(t.c.before.is_not(None), t.c.after.is_not(None))
    ids = list(session.execute(select(t.c.id).where(about, has_text, t.c.hash_version >= 2).order_by(t.c.id)).scalars())
    v1 = session.execute(select(func.count()).select_from(t).where(about, has_text, t.c.hash_version < 2)).scalar_one()
    return ids, v1


def redact_events(session: Session, event_ids: Iterable[int]) -> int:
    """Blank the before/after text of version 2 events (retention only: call it after writing the
    retention.anonymise event about the person, or the database refuses). Returns how many were redacted."""
    t = table_of(AuditEvent)
    ids = sorted(set(event_ids))
    _require_genuine_retention(session, ids)
    n = 0
    for i in range(0, len(ids), 500):
        result = session.execute(
            update(t)
            .where(t.c.id.in_(ids[i : i + 500]), t.c.hash_version >= 2)
            .values(before=None, after=None, redacted=True)
        )
        assert isinstance(result, CursorResult)  # an UPDATE's result
        n += result.rowcount
    return n


def _require_genuine_retention(session: Session, ids: list[int]) -> None:
    """Refuse to redact an event about a person unless a signed retention event about them follows it."""
    t = table_of(AuditEvent)
    people: dict[int, int] = {}  # client id -> the earliest event id to redact about them
    journey_client: dict[int, int | None] = {}
    for i in range(0, len(ids), 500):
        q = (
            select(t.c.id, t.c.client_id, t.c.journey_id, t.c.action)
            .where(t.c.id.in_(ids[i : i + 500]))
            .order_by(t.c.id)
        )
        for eid, cid, jid, _action in session.execute(q).all():
            if cid is None and jid is not None:
                if jid not in journey_client:
                    journey_client[jid] = session.execute(
                        text("SELECT client_id FROM journey WHERE id = :j"), {"j": jid}
                    ).scalar()
                cid = journey_client[jid]
            if cid is None:
                continue  # a search: covered by the retention event about the person it named
            people.setdefault(cid, eid)
    for cid, first in people.items():
        if not genuine_retention(session, cid, first):
            raise StoreError(
                "Only retention may remove text from the audit log, after its signed event about the person; "
                "no such event verifies here. Nothing was changed; run `navigator doctor`."
            )


def redacted_count(session: Session) -> int:
    """How many events had their text removed by retention (0 on a store still at schema 0001)."""
    if not _has_v2_columns(session):
        return 0
    t = table_of(AuditEvent)
    return session.execute(select(func.count()).select_from(t).where(t.c.redacted == True)).scalar_one()  # noqa: E712
