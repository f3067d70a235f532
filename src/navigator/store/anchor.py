"""The audit log's anchors outside the database: the key that signs the chain, and checkpoints.

- The **key** (32 random bytes, hex, mode 0600) signs every event since migration 0004 (HMAC-SHA256,
  ``hash_version`` 3): whoever can edit the database but not read the key cannot re-hash an edited
  log or append an event that verifies. SQLite: a file beside the store, created with it
  (``paths.audit_key_path``); PostgreSQL: a file in the admin's user config folder.
- A **checkpoint** is (event count, id and hash of the newest event), signed with the key, written
  outside the database: a file beside the store (``paths.checkpoint_path``), updated when a store
  that was written to is closed, every ``CHECKPOINT_EVERY`` writes, by each backup and each doctor
  run; and a sidecar beside every backup. Deleting events from the end, deleting every event, or
  rewriting the log then no longer matches the last checkpoint, and ``navigator doctor`` says so.

A checkpoint file is never moved backwards: when the log no longer contains the checkpoint's head
(tampering), it is left as it is, as evidence. Only a restore (an admin's recorded act) resets it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from navigator.domain.errors import StoreError
from navigator.store.paths import audit_key_path, checkpoint_path

CHECKPOINT_EVERY = 100  # writes between checkpoints while a store stays open

# ``q(sql) -> list of row tuples``: plain SQL through sqlite3 or SQLAlchemy.
Reader = Callable[[str], "list[tuple[Any, ...]]"]

_KEYS: dict[str, tuple[tuple[int, int, int], bytes]] = {}


# ---------------------------------------------------------------- the key


def load_key(path: Path) -> bytes | None:
    """The key at ``path``, or None when there is none. StoreError when it cannot be read."""
    try:
        st = os.stat(path)
        tag = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = _KEYS.get(str(path))
        if cached is not None and cached[0] == tag:
            return cached[1]
        with open(path, encoding="ascii") as fh:
            key = bytes.fromhex(fh.read().strip())
    except FileNotFoundError:
        _KEYS.pop(str(path), None)
        return None
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"The audit key {path} cannot be read ({type(exc).__name__}). Check its owner and mode (0600)."
        ) from None
    if len(key) < 16:
        raise StoreError(f"The audit key {path} is damaged. Restore it from where you keep navigator's keys.")
    _KEYS[str(path)] = (tag, key)
    return key


def create_key(path: Path) -> bytes:
    """A new key at ``path`` (mode 0600); if another process made one first, that one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        key = load_key(path)
        assert key is not None
        return key
    except OSError as exc:
        raise StoreError(f"Cannot create the audit key {path}: {exc.strerror}.") from None
    key = secrets.token_bytes(32)
    try:
        os.write(fd, key.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def location(bind) -> tuple[Path | None, str]:
    """(SQLite file or None, URL) of an engine, a connection or a session's bind."""
    engine = getattr(bind, "engine", bind)
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return Path(url.database or "").absolute(), url.render_as_string(hide_password=True)
    return None, url.render_as_string(hide_password=True)


def key_path_for(bind) -> Path:
    return audit_key_path(*location(bind))


# ---------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class Checkpoint:
    events: int
    head_id: int
    head: str
    written_at: str = ""
    since: str = ""  # when this store's checkpoints last started afresh (created, or restored)

    def payload(self) -> dict:
        return {
            "events": self.events,
            "head_id": self.head_id,
            "head": self.head,
            "written_at": self.written_at,
            "since": self.since,
        }


def _mac(key: bytes, payload: dict) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def chain_head(q: Reader) -> Checkpoint:
    """(count, newest id, newest hash) of the audit log now."""
    n = q("SELECT count(*) FROM audit_event")[0][0]
    row = q("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1")
    if not row:
        return Checkpoint(0, 0, "")
    return Checkpoint(int(n), int(row[0][0]), str(row[0][1]))


def compare(q: Reader, cp: Checkpoint) -> str | None:
    """None when the log still holds the checkpoint's head and exactly its count of events up to it;
    else what is wrong (no personal data)."""
    if cp.events == 0:
        return None
    row = q(f"SELECT hash FROM audit_event WHERE id = {int(cp.head_id)}")
    if not row:
        n = q("SELECT count(*) FROM audit_event")[0][0]
        return (
            f"the checkpoint records {cp.events} events up to event {cp.head_id}, which is gone "
            f"({n} events now): events were deleted"
        )
    if row[0][0] != cp.head:
        return f"event {cp.head_id} no longer has the hash the checkpoint recorded: the log was rewritten"
    n = q(f"SELECT count(*) FROM audit_event WHERE id <= {int(cp.head_id)}")[0][0]
    if n != cp.events:
        return (
            f"the checkpoint records {cp.events} events up to event {cp.head_id}, the log holds {n}: "
            "events were removed or inserted"
        )
    return None


def read_checkpoint(path: Path, key: bytes | None) -> Checkpoint | str | None:
    """The checkpoint at ``path``; None when there is none; a message when it fails its signature."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        cp = Checkpoint(
            int(data["events"]),
            int(data["head_id"]),
            str(data["head"]),
            str(data.get("written_at", "")),
            str(data.get("since", "")),
        )
        mac = str(data["mac"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return f"the checkpoint {path.name} cannot be read (damaged or edited)"
    if key is None:
        return f"the checkpoint {path.name} cannot be checked: the audit key is missing"
    if not hmac.compare_digest(mac, _mac(key, cp.payload())):
        return f"the checkpoint {path.name} was edited (its signature does not match)"
    return cp


def write_file(path: Path, key: bytes, cp: Checkpoint) -> None:
    """Write a signed checkpoint atomically (0600, a temporary file in the same folder, then renamed)."""
    data = dict(cp.payload(), mac=_mac(key, cp.payload()))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def update_checkpoint(store_path: Path | None, url: str, q: Reader, *, reset: bool = False) -> bool:
    """Move the store's checkpoint file to the log's head now. Never backwards, and never over
    evidence: when the log no longer matches the last checkpoint, the file is left as it is
    (``reset``, after a restore, starts afresh). Returns whether it was written. No key: nothing."""
    key = load_key(audit_key_path(store_path, url))
    if key is None:
        return False
    path = checkpoint_path(store_path, url)
    old = read_checkpoint(path, key)
    cur = chain_head(q)
    since = _now()
    if not reset and old is not None:
        if isinstance(old, str) or compare(q, old) is not None or cur.events < old.events:
            return False
        if (old.events, old.head_id, old.head) == (cur.events, cur.head_id, cur.head):
            return True
        since = old.since or since
    write_file(path, key, Checkpoint(cur.events, cur.head_id, cur.head, _now(), since))
    return True


def sqlite_reader(con) -> Reader:
    return lambda sql: con.execute(sql).fetchall()


def engine_reader(conn) -> Reader:
    from sqlalchemy import text

    return lambda sql: [tuple(r) for r in conn.execute(text(sql)).all()]


def install_key(path: Path, key: bytes) -> None:
    """Put ``key`` at ``path`` (0600, atomically): a store copied elsewhere keeps verifying. A different
    key already there is kept aside (``.replaced-<time>``), never lost."""
    old = load_key(path)
    if old == key:
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if old is not None:
        os.replace(path, path.with_name(f"{path.name}.replaced-{datetime.now(UTC):%Y%m%d-%H%M%S}"))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key.hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
