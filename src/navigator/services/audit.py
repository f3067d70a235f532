"""The audit log: every write (and every view, search, export, import) leaves an event.

Events are chained: each carries the hash of the previous one, so an edited or
removed event is detected (``verify_chain``). The table itself refuses UPDATE
and DELETE (triggers created by the first migration).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any, Iterable

from sqlalchemy import insert, text
from sqlmodel import Session, select

from navigator.store.models import AuditEvent

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


def event_hash(prev_hash: str, at: str, username: str, acting_as: str | None, action: str, entity: str,
               entity_id: int | None, client_id: int | None, journey_id: int | None,
               before: str | None, after: str | None) -> str:
    payload = _HASH_ENCODER.encode(  # == json.dumps(..., ensure_ascii=False)
        [prev_hash, at, username, acting_as, action, entity, entity_id, client_id, journey_id, before, after]
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _at_text(at: datetime) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc)
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


def last_hash(session: Session) -> str:
    h = session.exec(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    return h or GENESIS


@dataclass
class AuditWriter:
    """Appends events in one transaction, keeping the chain (used for bulk writes too)."""

    session: Session
    username: str
    acting_as: str | None
    at: datetime
    prev: str | None = None

    def add(self, action: str, entity: str, entity_id: int | None = None, *, client_id: int | None = None,
            journey_id: int | None = None, before: Any = None, after: Any = None) -> None:
        self.add_many([(action, entity, entity_id, client_id, journey_id, before, after)])

    def add_many(self, events: Iterable[tuple]) -> None:
        if self.prev is None:
            self.prev = last_hash(self.session)
        at_text = _at_text(self.at)
        rows = []
        for action, entity, entity_id, client_id, journey_id, before, after in events:
            b, a = to_json(before), to_json(after)
            h = event_hash(self.prev, at_text, self.username, self.acting_as, action, entity, entity_id,
                           client_id, journey_id, b, a)
            rows.append(dict(at=self.at, username=self.username, acting_as=self.acting_as, action=action,
                             entity=entity, entity_id=entity_id, client_id=client_id, journey_id=journey_id,
                             before=b, after=a, prev_hash=self.prev, hash=h))
            self.prev = h
        if rows:
            self._insert(rows)

    def _insert(self, rows: list[dict]) -> None:
        # Core executemany on the table (the ORM bulk path splits rows by which values are None).
        # services/bulk.py overrides this with a driver-level executemany.
        self.session.execute(insert(AuditEvent.__table__), rows)


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


def verify_chain(session: Session) -> list[ChainProblem]:
    """Recompute every hash; report events whose hash or link does not match."""
    problems: list[ChainProblem] = []
    prev = GENESIS
    rows = session.execute(text(
        "SELECT id, at, username, acting_as, action, entity, entity_id, client_id, journey_id, before, after, "
        "prev_hash, hash FROM audit_event ORDER BY id"
    ))
    for r in rows:
        at = r.at if isinstance(r.at, str) else _at_text(r.at)
        at = at.replace(" ", "T")
        if "." not in at:
            at += ".000000"
        if r.prev_hash != prev:
            problems.append(ChainProblem(r.id, "does not follow the event before it (an event was removed or added)"))
        expected = event_hash(r.prev_hash, at, r.username, r.acting_as, r.action, r.entity, r.entity_id,
                              r.client_id, r.journey_id, r.before, r.after)
        if expected != r.hash:
            problems.append(ChainProblem(r.id, "was changed after it was written"))
        prev = r.hash
    return problems
