"""Backups and restore of a SQLite store.

- ``take_backup``: a consistent online copy through SQLite's backup API (other
  users may keep working), written under a temporary name in the destination
  folder (0600), checked (integrity, navigator's tables, the audit log up to the
  store's checkpoint), then renamed: whole or absent. Its audit key and a signed
  checkpoint of its log (the sidecar) go beside it. A copy a killed process left
  half-written is removed at the next start (``remove_interrupted``) and never
  counts as a backup. By default into ``backups/`` beside the store
  (a folder only its owner may open), named with a timestamp.
- ``ensure_daily_backup``: called whenever navigator opens a store: if no
  backup was taken today, take one, and keep the newest ``backup_keep``
  (a setting, default 7) daily backups.
- ``check_backup_file`` / ``restore``: a file is restored only if it is an
  SQLite database that passes its integrity check and carries a navigator
  schema this version knows; the current store is backed up first, then the
  file is swapped in atomically (``os.replace``) while nothing has it open.

Migrations take their own backup beside the store (``store.engine.migrate``).
PostgreSQL stores are backed up with the server's tools (``pg_dump``), not here.

This module is ~530 lines: taking, checking, listing, pruning and restoring backups share the
whole-or-absent file protocol (temporary names, checks, renames, companions), kept in one place.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from navigator.domain.errors import StoreError
from navigator.store import anchor
from navigator.store.engine import (
    SQLITE_HEADER,
    Store,
    alembic_config,
    backup_sqlite_file,
    fsync_dir,
    remove_partials,
)
from navigator.store.paths import audit_key_path, checkpoint_path

DEFAULT_KEEP = 7
BACKUP_DIR = "backups"
_STAMP = "%Y%m%d-%H%M%S"
_NAME = re.compile(r"^(?P<stem>.+)-(?P<kind>daily|manual|pre-restore|damaged)-(?P<stamp>\d{8}-\d{6})(-\d+)?\.sqlite3$")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    kind: str


@dataclass(frozen=True)
class FileCheck:
    """What ``check_backup_file`` found in a file offered for restore."""

    path: Path
    revision: str | None
    clients: int
    journeys: int
    events: int


def backup_dir(store_path: Path) -> Path:
    """``backups/`` beside the store, created (and kept) mode 0700."""
    folder = store_path.parent / BACKUP_DIR
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    except OSError as exc:
        raise StoreError(
            f"Cannot use the backup folder {folder}: {exc.strerror}. Check the folder's permissions."
        ) from None
    return folder


def _require_sqlite(store: Store) -> Path:
    if store.path is None:
        raise StoreError(
            "Backups here are for SQLite stores. Back up a PostgreSQL database with pg_dump "
            "(or your database service's backups)."
        )
    return store.path


def _unique(folder: Path, stem: str, kind: str, now: datetime) -> Path:
    base = f"{stem}-{kind}-{now.strftime(_STAMP)}"
    dest = folder / f"{base}.sqlite3"
    n = 1
    while dest.exists():
        n += 1
        dest = folder / f"{base}-{n}.sqlite3"
    return dest


def take_backup(
    store: Store, out: Path | str | None = None, *, kind: str = "manual", now: datetime | None = None
) -> BackupResult:
    """A consistent copy of the store, integrity-checked, mode 0600. Refuses to overwrite a file."""
    path = _require_sqlite(store)
    now = now or datetime.now()
    if out is None:
        dest = _unique(backup_dir(path), path.stem, kind, now)
    else:
        dest = Path(out).expanduser().absolute()
        if dest.is_dir():
            dest = _unique(dest, path.stem, kind, now)
        if dest.exists():
            raise StoreError(f"{dest} already exists; choose another file name (backups never overwrite).")
        if not dest.parent.is_dir():
            raise StoreError(f"The folder {dest.parent} does not exist; create it or choose another place.")
        if dest.resolve() == path.resolve():
            raise StoreError("The backup cannot be written over the store itself; choose another file name.")
    store.checkpoint()  # the store's own checkpoint first: the copy is checked against it
    try:
        backup_sqlite_file(path, dest, check=lambda tmp: _check_and_anchor(path, store.url, tmp, dest))
    except StoreError:
        _remove_companions(dest)
        raise
    except sqlite3.Error as exc:
        _remove_companions(dest)
        raise StoreError(_sqlite_message(exc, f"The backup to {dest} failed")) from None
    except OSError as exc:
        _remove_companions(dest)
        raise StoreError(f"The backup to {dest} failed: {exc.strerror}. Check the folder and free space.") from None
    return BackupResult(dest, dest.stat().st_size, kind)


def _check_and_anchor(store_path: Path, url: str, tmp: Path, dest: Path) -> None:
    """Before a copy becomes a backup: it holds navigator's schema and the audit log up to the store's
    checkpoint; then its key and checkpoint (the sidecar) go beside it (mode 0600)."""
    con = sqlite3.connect(f"file:{tmp}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"alembic_version", "audit_event", "client", "user"} <= tables:
            raise StoreError(f"The backup to {dest} is missing navigator's tables; it was not kept.")
        if con.execute("SELECT version_num FROM alembic_version").fetchone() is None:
            raise StoreError(f"The backup to {dest} has no schema version; it was not kept.")
        q = anchor.sqlite_reader(con)
        head = anchor.chain_head(q)
        key = anchor.load_key(audit_key_path(store_path))
        if key is not None:
            cp = anchor.read_checkpoint(checkpoint_path(store_path), key)
            if isinstance(cp, anchor.Checkpoint):
                problem = anchor.compare(q, cp)
                if problem is not None:
                    raise StoreError(f"The backup to {dest} does not hold the audit log up to its checkpoint.")
    finally:
        con.close()
    if key is not None:
        _write_0600(audit_key_path(dest), key.hex() + "\n")
        anchor.write_file(checkpoint_path(dest), key, anchor.Checkpoint(head.events, head.head_id, head.head))


def _write_0600(path: Path, text: str) -> None:
    _remove_quietly(path)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _remove_companions(dest: Path) -> None:
    for p in (audit_key_path(dest), checkpoint_path(dest)):
        if not dest.exists():
            _remove_quietly(p)


def _sqlite_message(exc: Exception, what: str) -> str:
    t = str(exc).lower()
    if "full" in t:
        return f"{what}: the disk is full. Free some space and try again."
    if "locked" in t or "busy" in t:
        return f"{what}: the store is busy. Try again in a moment."
    if "not a database" in t or "malformed" in t:
        return f"{what}: the store is damaged. Run `navigator doctor`."
    return f"{what} ({type(exc).__name__}). Run `navigator doctor`."


def _remove_quietly(p: Path) -> None:
    try:
        p.unlink()
    except OSError:
        pass


def list_backups(store_path: Path, kind: str | None = None) -> list[Path]:
    """Backups of this store in its backups/ folder, oldest first."""
    folder = store_path.parent / BACKUP_DIR
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = _NAME.match(p.name)
        if m and m["stem"] == store_path.stem and (kind is None or m["kind"] == kind):
            found.append((m["stamp"], p.name, p))
    return [p for _, _, p in sorted(found)]


def backup_keep(store: Store) -> int:
    """The ``backup_keep`` setting (how many daily backups to keep), default 7."""
    from sqlmodel import Session

    from navigator.services.context import get_setting

    with Session(store.engine) as s:
        value = get_setting(s, "backup_keep", DEFAULT_KEEP)
    try:
        keep = int(value)
    except (TypeError, ValueError):
        return DEFAULT_KEEP
    return max(1, keep)


def set_backup_keep(ctx, keep: int) -> int:
    """Admins: how many daily backups to keep (setting ``backup_keep``, 1 to 365). Audited."""
    from navigator.domain.errors import DomainError
    from navigator.services import access, audit
    from navigator.services.context import get_setting, put_setting

    if not isinstance(keep, int) or isinstance(keep, bool) or not 1 <= keep <= 365:
        raise DomainError("Keep between 1 and 365 daily backups.", field="backup_keep")
    with ctx.write() as s:
        access.require_admin(ctx.actor(s))
        before = get_setting(s, "backup_keep", DEFAULT_KEEP)
        put_setting(s, "backup_keep", keep, ctx.now())
        audit.record(
            s, ctx, "config.backup_keep", "setting", None, before={"backup_keep": before}, after={"backup_keep": keep}
        )
    return keep


def ensure_daily_backup(
    store: Store, *, now_fn: Callable[[], datetime] = datetime.now, keep: int | None = None
) -> BackupResult | None:
    """Take today's rolling backup if there is none yet; keep the newest ``backup_keep``.

    Returns the new backup, or None (already taken today, or not a SQLite store).
    Raises StoreError if the backup cannot be taken (the caller warns; the store is untouched).
    """
    if store.path is None:
        return None
    now = now_fn()
    today = now.strftime("%Y%m%d")
    remove_interrupted(store.path)
    daily = list_backups(store.path, "daily")
    result = None
    stamps = [m["stamp"] for p in daily if (m := _NAME.match(p.name))]  # list_backups lists only matching names
    if not any(stamp.startswith(today) for stamp in stamps):
        result = take_backup(store, kind="daily", now=now)
        daily = list_backups(store.path, "daily")
    keep = keep if keep is not None else backup_keep(store)
    for old in daily[:-keep] if len(daily) > keep else []:
        _remove_quietly(old)
        _remove_companions(old)
    return result


def remove_interrupted(store_path: Path) -> int:
    """Remove backups a killed process left half-written (in backups/, and upgrade backups beside the
    store): they never count as a backup. Returns how many were removed."""
    n = 0
    folder = store_path.parent / BACKUP_DIR
    if folder.is_dir():
        n += remove_partials(folder)
    return n + remove_partials(store_path.parent, prefix=f".{store_path.name}")


# ---------------------------------------------------------------- restore


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def check_backup_file(path: Path | str) -> FileCheck:
    """Is this a navigator database we can restore? StoreError says why not."""
    p = Path(path).expanduser().absolute()
    if not p.exists():
        raise StoreError(f"There is no file at {p}.")
    if p.is_dir():
        raise StoreError(f"{p} is a folder; give the backup file itself.")
    if not p.is_file():
        raise StoreError(f"{p} is not a regular file (a pipe, device or socket); give the backup file itself.")
    try:
        with open(p, "rb") as fh:
            header = fh.read(16)
    except OSError as exc:
        raise StoreError(f"{p} cannot be read: {exc.strerror}.") from None
    if header != SQLITE_HEADER:
        raise StoreError(f"{p} is not a navigator backup (it is not an SQLite database file). Nothing was changed.")
    # Check a private copy: never open the offered file for writing, and never leave -wal/-shm beside it.
    with tempfile.TemporaryDirectory(prefix="navigator-check-") as tmp:
        copy = Path(tmp) / "check.sqlite3"
        shutil.copyfile(p, copy)
        return _check_copy(copy, p)


def _check_copy(copy: Path, shown: Path) -> FileCheck:
    try:
        con = sqlite3.connect(copy)
        try:
            ok = con.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                raise StoreError(f"{shown} is damaged (it fails SQLite's integrity check). Choose another backup.")
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "alembic_version" not in tables or "audit_event" not in tables:
                raise StoreError(f"{shown} is an SQLite file but not a navigator database. Nothing was changed.")
            rev = con.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = rev[0] if rev else None
            if revision is not None and revision not in _known_revisions():
                raise StoreError(
                    f"{shown} was written by a newer version of navigator (schema {revision}). "
                    "Upgrade navigator before restoring it. Nothing was changed."
                )
            counts = [
                con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] if t in tables else 0
                for t in ("client", "journey", "audit_event")
            ]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{shown} cannot be read as a database ({exc}). Choose another backup.") from None
    return FileCheck(shown, revision, *counts)


@dataclass(frozen=True)
class RestoreResult:
    restored_from: Path
    store_path: Path
    safety_backup: Path | None  # None when the store restored over was not there to keep
    check: FileCheck


def _exclusive_checkpoint(path: Path) -> None:
    """Fold the WAL into the file and leave WAL mode: only possible when nobody else has the store open."""
    try:
        con = sqlite3.connect(path, timeout=2)
    except sqlite3.Error as exc:
        raise StoreError(_sqlite_message(exc, "The store cannot be opened to restore over it")) from None
    try:
        mode = con.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc).lower() or "busy" in str(exc).lower():
            raise StoreError(
                "The store is open in navigator (or another program). Close it everywhere, "
                "then restore again. Nothing was changed."
            ) from None
        raise StoreError(_sqlite_message(exc, "The store could not be prepared for the restore")) from None
    finally:
        con.close()
    if str(mode).lower() != "delete":
        raise StoreError(
            "The store is open in navigator (or another program). Close it everywhere, "
            "then restore again. Nothing was changed."
        )


def restore(store_path: Path, source: Path | str, *, now: datetime | None = None) -> RestoreResult:
    """Swap a checked backup in for the store at ``store_path``, after backing up the current one.

    The caller must have closed every connection to the store (dispose it first).
    """
    now = now or datetime.now()
    store_path = Path(store_path).absolute()
    src = Path(source).expanduser().absolute()
    if src.exists() and store_path.exists() and src.resolve() == store_path.resolve():
        raise StoreError("That file is the store itself; choose a backup to restore.")
    try:
        store_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # restoring onto a new machine
    except OSError as exc:
        raise StoreError(f"Cannot create {store_path.parent}: {exc.strerror}.") from None
    folder = backup_dir(store_path)
    # 1. A private, checked copy beside the store (same filesystem, so the swap is atomic).
    fd, tmp_name = tempfile.mkstemp(prefix=f".{store_path.name}.restore-", dir=store_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o600)
        _copy_consistent(src, tmp)
        check = _check_copy(tmp, src)
        # 2. Keep what is there now.
        if store_path.exists():
            safety = _safety_copy(store_path, folder, now)
            # 3. Nobody else may have it open; fold its WAL so nothing of it lingers beside the new file.
            if _is_sqlite(store_path):
                try:
                    _exclusive_checkpoint(store_path)
                except StoreError:
                    _remove_quietly(safety)  # nothing happened: leave no trace
                    raise
        else:
            safety = None
        # 4. The swap (the backup's audit key comes with it; the old checkpoint is kept aside).
        _set_wal(tmp)
        _swap_anchors(src, store_path, now)
        os.replace(tmp, store_path)
        for suffix in ("-wal", "-shm", "-journal", ".damaged"):  # .damaged: the restored file is a new one
            stale = store_path.with_name(store_path.name + suffix)
            _remove_quietly(stale)
        fsync_dir(store_path.parent)
    except BaseException:
        _remove_quietly(tmp)
        raise
    return RestoreResult(src, store_path, safety, check)


def _swap_anchors(src: Path, store_path: Path, now: datetime) -> None:
    """The restored file's key (beside the backup) becomes the store's; the store's checkpoint, which
    described the file being replaced, is kept aside (``record_restore`` starts a new one)."""
    stamp = now.strftime(_STAMP)
    key = anchor.load_key(audit_key_path(src))
    mine = audit_key_path(store_path)
    if key is not None and anchor.load_key(mine) != key:
        if mine.exists():
            os.replace(mine, mine.with_name(f"{mine.name}.pre-restore-{stamp}"))
        _write_0600(mine, key.hex() + "\n")
        anchor.load_key(mine)
    cp = checkpoint_path(store_path)
    if cp.exists():
        os.replace(cp, cp.with_name(f"{cp.name}.pre-restore-{stamp}"))


def _is_sqlite(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == SQLITE_HEADER
    except OSError:
        return False


def _copy_consistent(src: Path, dest: Path) -> None:
    """Copy an offered file: through the backup API if it is readable as SQLite (takes its WAL too)."""
    if not src.exists():
        raise StoreError(f"There is no file at {src}.")
    if src.is_dir():
        raise StoreError(f"{src} is a folder; give the backup file itself.")
    if not src.is_file():
        raise StoreError(f"{src} is not a regular file (a pipe, device or socket); give the backup file itself.")
    if not _is_sqlite(src):
        raise StoreError(f"{src} is not a navigator backup (it is not an SQLite database file). Nothing was changed.")
    shutil.copyfile(src, dest)
    wal = src.with_name(src.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        # The backup was copied while in use: read it through SQLite (read-only) so its WAL is included.
        _remove_quietly(dest)
        try:
            s = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
            try:
                d = sqlite3.connect(dest)
                try:
                    s.backup(d)
                finally:
                    d.close()
            finally:
                s.close()
        except sqlite3.Error as exc:
            raise StoreError(f"{src} cannot be read as a database ({exc}). Choose another backup.") from None
        os.chmod(dest, 0o600)


def _safety_copy(store_path: Path, folder: Path, now: datetime) -> Path:
    dest = _unique(folder, store_path.stem, "pre-restore", now)
    if _is_sqlite(store_path):
        try:
            return backup_sqlite_file(store_path, dest)
        except (StoreError, sqlite3.Error):
            _remove_quietly(dest)
    # Damaged or unreadable as SQLite: keep its bytes as they are.
    dest = _unique(folder, store_path.stem, "damaged", now)
    fd = os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    shutil.copyfile(store_path, dest)
    return dest


def _set_wal(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()


def record_restore(store: Store, username: str, result: RestoreResult, acting_as: str | None = None) -> None:
    """Write the restore into the restored store's audit log (chained like every event)."""
    from sqlmodel import Session

    from navigator.services import audit

    with Session(store.write_engine) as s, s.begin():
        w = audit.AuditWriter(s, username, acting_as, datetime.now(UTC))
        w.add(
            "store.restore",
            "store",
            None,
            after={
                "from": result.restored_from.name,
                "safety_backup": result.safety_backup.name if result.safety_backup else None,
                "schema": result.check.revision,
            },
        )
    store.checkpoint(reset=True)  # checkpoints start afresh from the restored log


__all__ = [
    "BackupResult",
    "FileCheck",
    "RestoreResult",
    "backup_dir",
    "backup_keep",
    "check_backup_file",
    "ensure_daily_backup",
    "list_backups",
    "record_restore",
    "restore",
    "set_backup_keep",
    "take_backup",
]
