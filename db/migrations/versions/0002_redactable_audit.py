"""redactable audit events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Retention must remove a person's name, contact details and free text from the
audit log too (audit_event.before / after), yet the log is append-only and each
event's hash covered that text: blanking it would break the chain.

Version 2 events (``hash_version`` 2) store the sha256 of ``before`` and of
``after`` (``before_hash``, ``after_hash``) and chain *those* hashes. Retention
can then blank the text (``redacted`` = 1) and the chain still proves that
nothing else in the event changed and that no event was added or removed; while
the text is there, its hash is recomputed, so an edited text is still detected.

Existing events are rehashed to version 2 here, in id order, inside this
migration's transaction, before the new triggers go in. Rewriting hashes of an
append-only log is legitimate only because:

- it is a schema migration run by navigator itself, and navigator takes a
  backup of the store just before migrating (store.engine.migrate): the backup
  keeps the version 1 chain exactly as it was;
- the version 1 chain is verified first, and only a log in which every event
  checks is rewritten. A log that fails its check is left exactly as it was
  (version 1 events, which cannot be redacted), so the evidence stays and
  ``navigator doctor`` keeps reporting it; retention then says how many of
  those older events about a person still hold personal data;
- an ``audit.rehash`` event is appended, recording how many events were
  rehashed and the last hash of the old chain, so the backup can be matched
  against the rehashed log.

The append-only triggers are replaced (same names). DELETE is always refused.
UPDATE is refused unless it only blanks ``before``/``after`` of a version 2
event and sets ``redacted`` = 1, every other column unchanged, and a *later*
``retention.anonymise`` event exists about the person the event is about (its
client_id, or its journey's person); retention writes that event first, then
redacts. A search (no client_id: the query may hold a name or an NHS number)
can be redacted after any later retention.anonymise event.

Downgrade verifies the version 2 chain and rehashes every event back to
version 1; it refuses when any event was redacted (version 1 cannot hold an
event whose text is gone) or when the log fails its check.
"""
import hashlib
import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
BATCH = 2000
_HASH_ENCODER = json.JSONEncoder(ensure_ascii=False)

# Columns a redaction must leave exactly as they were (everything but before, after and redacted).
_FIXED = ("id", "at", "username", "acting_as", "action", "entity", "entity_id", "client_id", "journey_id",
          "prev_hash", "hash", "before_hash", "after_hash", "hash_version")

_APPEND_ONLY = "audit_event is append-only"
_REDACT_ONLY = "audit_event is append-only: only retention may blank the text of an event about a person"


# ---------------------------------------------------------------- hashes (a frozen copy of services/audit.py's)

def _sha(text):
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def _hash_v1(prev, at, username, acting_as, action, entity, entity_id, client_id, journey_id, before, after):
    payload = _HASH_ENCODER.encode(
        [prev, at, username, acting_as, action, entity, entity_id, client_id, journey_id, before, after])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _hash_v2(prev, at, username, acting_as, action, entity, entity_id, client_id, journey_id, before_hash,
             after_hash):
    payload = _HASH_ENCODER.encode(
        ["v2", prev, at, username, acting_as, action, entity, entity_id, client_id, journey_id, before_hash,
         after_hash])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _at_text(at):
    if isinstance(at, datetime):
        if at.tzinfo is not None:
            at = at.astimezone(timezone.utc)
        return at.replace(tzinfo=None).isoformat(timespec="microseconds")
    at = at.replace(" ", "T")
    return at if "." in at else at + ".000000"


def _rows(conn, columns):
    """Every event in id order, a batch at a time."""
    last = 0
    sql = sa.text(f"SELECT {', '.join(_q(c) for c in columns)} FROM audit_event WHERE id > :last "
                  f"ORDER BY id LIMIT {BATCH}")
    while True:
        batch = conn.execute(sql, {"last": last}).all()
        if not batch:
            return
        yield from batch
        last = batch[-1].id


def _q(column):
    return f'"{column}"'


_V1_COLUMNS = ("id", "at", "username", "acting_as", "action", "entity", "entity_id", "client_id", "journey_id",
               "before", "after", "prev_hash", "hash")
_V2_COLUMNS = _V1_COLUMNS + ("before_hash", "after_hash", "redacted", "hash_version")


def _fields(r):
    return (_at_text(r.at), r.username, r.acting_as, r.action, r.entity, r.entity_id, r.client_id, r.journey_id)


def _v1_chain_checks(conn):
    """Every event written before this migration checks as version 1 (same rules as verify_chain)."""
    prev = GENESIS
    for r in _rows(conn, _V1_COLUMNS):
        if r.prev_hash != prev or _hash_v1(r.prev_hash, *_fields(r), r.before, r.after) != r.hash:
            return False
        prev = r.hash
    return True


def _append_event(conn, prev, hash_fn, after, **extra):
    """The migration's own audit event, chained like any other."""
    at = datetime.now(timezone.utc)
    after_text = json.dumps(after, sort_keys=True, ensure_ascii=False)
    fields = (_at_text(at), "navigator", None, "audit.rehash", "audit_event", None, None, None)
    if hash_fn is _hash_v2:
        h = _hash_v2(prev, *fields, None, _sha(after_text))
        extra.update(before_hash=None, after_hash=_sha(after_text), redacted=False, hash_version=2)
    else:
        h = _hash_v1(prev, *fields, None, after_text)
    columns = [sa.column("at", sa.DateTime(timezone=True)), sa.column("username"), sa.column("action"),
               sa.column("entity"), sa.column("after"), sa.column("prev_hash"), sa.column("hash")]
    columns += [sa.column(k, sa.Boolean() if k == "redacted" else None) for k in extra]
    table = sa.table("audit_event", *columns)
    conn.execute(table.insert().values(at=at, username="navigator", action="audit.rehash", entity="audit_event",
                                       after=after_text, prev_hash=prev, hash=h, **extra))


def _rehash_to_v2(conn):
    if not _v1_chain_checks(conn):
        return  # leave the evidence as it is: version 1, reported by doctor
    prev = GENESIS
    old_last = GENESIS
    n = 0
    updates = []
    update = sa.text("UPDATE audit_event SET before_hash = :bh, after_hash = :ah, prev_hash = :p, hash = :h, "
                     "hash_version = 2 WHERE id = :id")
    for r in _rows(conn, _V1_COLUMNS):
        bh, ah = _sha(r.before), _sha(r.after)
        h = _hash_v2(prev, *_fields(r), bh, ah)
        updates.append({"bh": bh, "ah": ah, "p": prev, "h": h, "id": r.id})
        prev, old_last = h, r.hash
        n += 1
        if len(updates) >= BATCH:
            conn.execute(update, updates)
            updates = []
    if updates:
        conn.execute(update, updates)
    if n:
        _append_event(conn, prev, _hash_v2, {"events": n, "hash_version": 2, "schema": "0002",
                                             "v1_last_hash": old_last})


def _rehash_to_v1(conn):
    """Back to version 1 hashes: only for a log that checks and holds no redacted event."""
    prev = GENESIS
    for r in _rows(conn, _V2_COLUMNS):
        if r.redacted:
            raise RuntimeError("Cannot downgrade below 0002: retention has removed personal data from audit "
                               f"event {r.id}, and schema 0001 cannot hold a redacted event.")
        ok = r.prev_hash == prev
        if r.hash_version == 2:
            ok = ok and _sha(r.before) == r.before_hash and _sha(r.after) == r.after_hash and \
                _hash_v2(r.prev_hash, *_fields(r), r.before_hash, r.after_hash) == r.hash
        else:
            ok = ok and _hash_v1(r.prev_hash, *_fields(r), r.before, r.after) == r.hash
        if not ok:
            raise RuntimeError(f"Cannot downgrade below 0002: audit event {r.id} fails its hash check "
                               "(run `navigator doctor`); nothing was changed.")
        prev = r.hash
    prev = GENESIS
    old_last = GENESIS
    n = 0
    updates = []
    update = sa.text("UPDATE audit_event SET prev_hash = :p, hash = :h, before_hash = NULL, after_hash = NULL, "
                     "hash_version = 1 WHERE id = :id")
    for r in _rows(conn, _V1_COLUMNS):
        h = _hash_v1(prev, *_fields(r), r.before, r.after)
        updates.append({"p": prev, "h": h, "id": r.id})
        prev, old_last = h, r.hash
        n += 1
        if len(updates) >= BATCH:
            conn.execute(update, updates)
            updates = []
    if updates:
        conn.execute(update, updates)
    if n:
        _append_event(conn, prev, _hash_v1, {"events": n, "hash_version": 1, "schema": "0001",
                                             "v2_last_hash": old_last})


# ---------------------------------------------------------------- triggers

def _redaction_allowed(same: str) -> str:
    """SQL that is true exactly when an UPDATE is a retention redaction (``same`` is SQLite's IS, or
    PostgreSQL's IS NOT DISTINCT FROM)."""
    unchanged = " AND ".join(f"NEW.{_q(c)} {same} OLD.{_q(c)}" for c in _FIXED)
    return (
        f"OLD.hash_version {same} 2 AND NEW.redacted {same} {'1' if same == 'IS' else 'TRUE'} "
        f"AND (NEW.{_q('before')} IS NULL OR NEW.{_q('before')} {same} OLD.{_q('before')}) "
        f"AND (NEW.{_q('after')} IS NULL OR NEW.{_q('after')} {same} OLD.{_q('after')}) "
        f"AND {unchanged} "
        "AND (EXISTS (SELECT 1 FROM audit_event AS r WHERE r.action = 'retention.anonymise' AND r.id > OLD.id "
        "AND r.client_id IN (OLD.client_id, (SELECT j.client_id FROM journey AS j WHERE j.id = OLD.journey_id))) "
        f"OR (OLD.action {same} 'search' AND OLD.client_id IS NULL AND OLD.journey_id IS NULL "
        "AND EXISTS (SELECT 1 FROM audit_event AS r WHERE r.action = 'retention.anonymise' AND r.id > OLD.id)))"
    )


def _drop_triggers(dialect):
    for verb in ("update", "delete"):
        on = " ON audit_event" if dialect == "postgresql" else ""
        op.execute(f"DROP TRIGGER IF EXISTS audit_event_no_{verb}{on}")


def _redactable_triggers(dialect):
    if dialect == "sqlite":
        op.execute(f"CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
                   f"WHEN NOT ({_redaction_allowed('IS')}) "
                   f"BEGIN SELECT RAISE(ABORT, '{_REDACT_ONLY}'); END")
        op.execute("CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
                   f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END")
    elif dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_event_redact_only() RETURNS trigger AS $$ "
            f"BEGIN IF {_redaction_allowed('IS NOT DISTINCT FROM')} THEN RETURN NEW; END IF; "
            f"RAISE EXCEPTION '{_REDACT_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute("CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_redact_only()")
        op.execute("CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")


def _append_only_triggers(dialect):
    """Exactly the triggers of 0001."""
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_event_redact_only()")
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
            )


# ---------------------------------------------------------------- upgrade / downgrade

def upgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    _drop_triggers(dialect)  # SQLite's batch mode may recreate the table, which drops them anyway
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('before_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('after_hash', sa.String(length=64), nullable=True))
        # A plain '0' (not sa.false()): SQLite then adds the column in place instead of copying the table.
        batch_op.add_column(sa.Column('redacted', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('hash_version', sa.Integer(), server_default='1', nullable=False))
    _rehash_to_v2(conn)
    _redactable_triggers(dialect)


def downgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    _drop_triggers(dialect)
    _rehash_to_v1(conn)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('hash_version')
        batch_op.drop_column('redacted')
        batch_op.drop_column('after_hash')
        batch_op.drop_column('before_hash')
    _append_only_triggers(dialect)
