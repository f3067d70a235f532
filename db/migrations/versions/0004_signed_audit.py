"""signed audit events (version 3)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Events written from now on are version 3: version 2's fields signed with the
store's audit key (HMAC-SHA256), a key held outside the database (beside a
SQLite store, mode 0600; for PostgreSQL in the admin's user config folder; see
store/anchor.py). Existing events are not rewritten: the first signed event
(an ``audit.key`` event, written by navigator the first time it writes to the
upgraded store, recorded like any other) covers the hash of the last unsigned
one, so it anchors the whole older log, and from then on an unsigned event is
a forgery (``services.audit.verify_chain``).

Retention may redact version 3 events as it did version 2 ones: the update
trigger is replaced (same names) to accept ``hash_version`` 2 or 3, otherwise
exactly as in 0002. Downgrade verifies the signed events with the key and
re-hashes them as version 2 (0002's unsigned form), then puts 0002's trigger
back; it refuses when the key is missing or an event fails its check.
"""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_FIXED = (
    "id",
    "at",
    "username",
    "acting_as",
    "action",
    "entity",
    "entity_id",
    "client_id",
    "journey_id",
    "prev_hash",
    "hash",
    "before_hash",
    "after_hash",
    "hash_version",
)
_REDACT_ONLY = "audit_event is append-only: only retention may blank the text of an event about a person"


def _q(column):
    return f'"{column}"'


def _redaction_allowed(same: str, versions: str) -> str:
    """0002's condition, for the given hash versions (``IN (2, 3)`` here, ``IS 2`` for the downgrade)."""
    unchanged = " AND ".join(f"NEW.{_q(c)} {same} OLD.{_q(c)}" for c in _FIXED)
    return (
        f"OLD.hash_version {versions} AND NEW.redacted {same} {'1' if same == 'IS' else 'TRUE'} "
        f"AND (NEW.{_q('before')} IS NULL OR NEW.{_q('before')} {same} OLD.{_q('before')}) "
        f"AND (NEW.{_q('after')} IS NULL OR NEW.{_q('after')} {same} OLD.{_q('after')}) "
        f"AND {unchanged} "
        "AND (EXISTS (SELECT 1 FROM audit_event AS r WHERE r.action = 'retention.anonymise' AND r.id > OLD.id "
        "AND r.client_id IN (OLD.client_id, (SELECT j.client_id FROM journey AS j WHERE j.id = OLD.journey_id))) "
        f"OR (OLD.action {same} 'search' AND OLD.client_id IS NULL AND OLD.journey_id IS NULL "
        "AND EXISTS (SELECT 1 FROM audit_event AS r WHERE r.action = 'retention.anonymise' AND r.id > OLD.id)))"
    )


def _update_trigger(signed: bool) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
            f"WHEN NOT ({_redaction_allowed('IS', 'IN (2, 3)' if signed else 'IS 2')}) "
            f"BEGIN SELECT RAISE(ABORT, '{_REDACT_ONLY}'); END"
        )
    elif dialect == "postgresql":
        versions = "IN (2, 3)" if signed else "IS NOT DISTINCT FROM 2"
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_event_redact_only() RETURNS trigger AS $$ "
            f"BEGIN IF {_redaction_allowed('IS NOT DISTINCT FROM', versions)} THEN RETURN NEW; END IF; "
            f"RAISE EXCEPTION '{_REDACT_ONLY}'; END; $$ LANGUAGE plpgsql"
        )


def upgrade() -> None:
    _update_trigger(signed=True)


# ---------------------------------------------------------------- downgrade: signed events back to version 2

_ENC = json.JSONEncoder(ensure_ascii=False)
_COLS = (
    "id",
    "at",
    "username",
    "acting_as",
    "action",
    "entity",
    "entity_id",
    "client_id",
    "journey_id",
    "prev_hash",
    "hash",
    "before_hash",
    "after_hash",
    "hash_version",
)


def _at_text(at):
    if isinstance(at, datetime):
        if at.tzinfo is not None:
            at = at.astimezone(UTC)
        return at.replace(tzinfo=None).isoformat(timespec="microseconds")
    at = at.replace(" ", "T")
    return at if "." in at else at + ".000000"


def _payload(tag, prev, r):
    return _ENC.encode(
        [
            tag,
            prev,
            _at_text(r.at),
            r.username,
            r.acting_as,
            r.action,
            r.entity,
            r.entity_id,
            r.client_id,
            r.journey_id,
            r.before_hash,
            r.after_hash,
        ]
    ).encode("utf-8")


def _unsign(conn):
    rows = conn.execute(
        sa.text(
            f"SELECT {', '.join(_q(c) for c in _COLS)} FROM audit_event "
            "WHERE id >= (SELECT min(id) FROM audit_event WHERE hash_version = 3) "
            "ORDER BY id"
        )
    ).all()
    if not rows:
        return
    from navigator.store.anchor import key_path_for, load_key

    key = load_key(key_path_for(conn))
    if key is None:
        raise RuntimeError(
            "Cannot downgrade below 0004: the audit key is missing, so the signed events cannot "
            "be checked; nothing was changed."
        )
    old_prev = new_prev = rows[0].prev_hash
    updates = []
    for r in rows:
        good = (
            r.hash_version == 3
            and r.prev_hash == old_prev
            and hmac.compare_digest(hmac.new(key, _payload("v3", r.prev_hash, r), hashlib.sha256).hexdigest(), r.hash)
        )
        if not good:
            raise RuntimeError(
                f"Cannot downgrade below 0004: audit event {r.id} fails its check "
                "(run `navigator doctor`); nothing was changed."
            )
        h = hashlib.sha256(_payload("v2", new_prev, r)).hexdigest()
        updates.append({"p": new_prev, "h": h, "id": r.id})
        old_prev, new_prev = r.hash, h
    conn.execute(sa.text("UPDATE audit_event SET prev_hash = :p, hash = :h, hash_version = 2 WHERE id = :id"), updates)


def downgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
    else:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update")
    _unsign(conn)
    if dialect != "sqlite":
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update")
    _update_trigger(signed=False)
