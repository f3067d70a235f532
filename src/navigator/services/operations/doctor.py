"""`navigator doctor`: is the store healthy? Each finding says what to do.

Checks (SQLite-only ones are skipped on PostgreSQL):
- the file: exists, is an SQLite database, owner-only permissions (0600), not on
  a network filesystem, enough free disk beside it;
- the database: ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``;
- the schema version: current, older (will be upgraded), or newer (upgrade navigator);
- the audit log: every event's hash chain (``services.audit.verify_chain``), so
  an edited or removed event is found (text removed by retention is allowed, and
  counted);
- the audit log against its anchors outside the database: its checkpoint file
  and the newest backup's signed sidecar (events deleted from the end, an
  emptied or rewritten log), and that its protective triggers exist;
- backups: when the newest one was taken; it is opened and checked (whole,
  navigator's tables, its log matching its sidecar).

A store failing its integrity check is marked read-only until it checks again
(``store.paths.damaged_marker_path``); a checkpoint that still matches is moved
on to the log's head (files beside the store only, never the database).

The store is opened read-only-minded: doctor never migrates, never writes to the database.

This module is ~590 lines: one small check function per finding (file, schema, chain, backups,
access), each independent; they share only the report types here.
"""

from __future__ import annotations

import shutil
import sqlite3
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from navigator.store.engine import (
    SQLITE_HEADER,
    alembic_config,
    describe,
    head_revision,
)
from navigator.store.paths import filesystem_type, is_network_filesystem

OK, WARN, PROBLEM = "ok", "warning", "problem"
MIN_FREE_BYTES = 500 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    check: str
    status: str  # ok, warning, problem
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK


@dataclass(frozen=True)
class Report:
    where: str
    findings: tuple[Finding, ...]

    @property
    def healthy(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.ok)


def examine(url: str, *, min_free_bytes: int = MIN_FREE_BYTES) -> Report:
    """Run every check that applies to the store at ``url``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        return Report(str(path), tuple(_sqlite_checks(url, path, min_free_bytes)))
    return Report(describe(url), tuple(_server_checks(url)))


# ---------------------------------------------------------------- SQLite


def _sqlite_checks(url: str, path: Path, min_free_bytes: int):
    if not path.exists():
        yield Finding(
            "file",
            PROBLEM,
            f"There is no database at {path}.",
            "Check --db / NAVIGATOR_DB, or restore a backup with `navigator restore FILE`.",
        )
        return
    if path.is_dir():
        yield Finding(
            "file", PROBLEM, f"{path} is a folder, not a database file.", "Point --db at the database file itself."
        )
        return
    if not path.is_file():  # a FIFO, a device, a socket: never opened (reading a FIFO would hang)
        yield Finding(
            "file",
            PROBLEM,
            f"{path} is not a regular file (a pipe, device or socket), so it is not a database.",
            "Point --db at the database file itself.",
        )
        return
    try:
        with open(path, "rb") as fh:
            header = fh.read(16)
    except OSError as exc:
        yield Finding(
            "file", PROBLEM, f"{path} cannot be read ({exc.strerror}).", "Check the file's owner and permissions."
        )
        return
    if header != SQLITE_HEADER:
        yield Finding(
            "file",
            PROBLEM,
            "The file is not an SQLite database (damaged or the wrong file).",
            "Restore the latest backup with `navigator restore FILE` (see backups/ beside the store).",
        )
        return
    yield Finding("file", OK, f"{path} ({path.stat().st_size // 1024} KB)")
    yield _permissions(path)
    yield _network(path)
    yield _disk(path, min_free_bytes)

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=15)
    except sqlite3.Error as exc:
        yield Finding(
            "integrity",
            PROBLEM,
            f"The database cannot be opened ({exc}).",
            "Restore the latest backup with `navigator restore FILE`.",
        )
        return
    try:
        for finding in _sqlite_db_checks(con):
            if finding.check == "integrity":
                _mark(path, finding)
            yield finding
    finally:
        con.close()
    yield from _schema_and_chain(url, path)
    yield _backups(path)


def _mark(path: Path, integrity: Finding) -> None:
    """A store failing its integrity check becomes read-only until it is repaired (store/paths.py's marker);
    once it checks again, it is writable again."""
    from navigator.store.paths import damaged_marker_path

    marker = damaged_marker_path(path)
    try:
        if integrity.ok:
            marker.unlink(missing_ok=True)
        else:
            marker.write_text(f"{datetime.now():%Y-%m-%d %H:%M} {integrity.detail[:150]}\n", encoding="utf-8")
    except OSError:
        pass


def _permissions(path: Path) -> Finding:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return Finding(
            "permissions",
            WARN,
            f"The database file is mode {mode:04o}: other users can read it.",
            f"Run: chmod 600 {path}",
        )
    return Finding("permissions", OK, f"mode {mode:04o} (only its owner can read it)")


def _network(path: Path) -> Finding:
    if is_network_filesystem(path.parent):
        return Finding(
            "filesystem",
            WARN,
            f"The store is on a network filesystem ({filesystem_type(path.parent)}): SQLite can corrupt there.",
            "Move the file to a local disk, or move the team to PostgreSQL (`navigator migrate-store`).",
        )
    return Finding("filesystem", OK, f"local ({filesystem_type(path.parent) or 'unknown type'})")


def _disk(path: Path, min_free_bytes: int) -> Finding:
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return Finding("disk", WARN, "Free disk space could not be read.", "Check the disk holding the store.")
    mb = free // (1024 * 1024)
    if free < min_free_bytes:
        return Finding(
            "disk",
            WARN,
            f"Only {mb} MB free beside the store (backups need room too).",
            f"Free some space on the disk holding {path.parent} (at least {min_free_bytes // 2**20} MB).",
        )
    return Finding("disk", OK, f"{mb} MB free")


def _sqlite_db_checks(con: sqlite3.Connection):
    try:
        rows = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        yield Finding(
            "integrity",
            PROBLEM,
            f"The integrity check could not run ({exc}).",
            "The store is read-only until it is repaired. Restore the latest backup with `navigator restore FILE`.",
        )
        return
    if rows == ["ok"]:
        yield Finding("integrity", OK, "PRAGMA integrity_check: ok")
    else:
        yield Finding(
            "integrity",
            PROBLEM,
            f"The database is damaged ({len(rows)} problem(s), first: {rows[0]}).",
            "The store is read-only until it is repaired. Restore the latest backup with `navigator restore FILE`; "
            "keep the damaged file for support.",
        )
    try:
        fk = con.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.DatabaseError as exc:
        yield Finding(
            "foreign keys",
            PROBLEM,
            f"The foreign key check could not run ({exc}).",
            "Restore the latest backup with `navigator restore FILE`.",
        )
        return
    if fk:
        tables = sorted({r[0] for r in fk})
        yield Finding(
            "foreign keys",
            PROBLEM,
            f"{len(fk)} row(s) refer to missing records (in {', '.join(tables)}).",
            "Restore the latest backup with `navigator restore FILE`, or ask support to repair.",
        )
    else:
        yield Finding("foreign keys", OK, "PRAGMA foreign_key_check: no broken references")


def _backups(path: Path) -> Finding:
    """When the newest backup was taken, and whether it is whole: it is opened and checked (integrity,
    schema, its audit log against its own checkpoint sidecar)."""
    from navigator.services.operations.backup import list_backups

    # A damaged store's bytes kept by restore are evidence, not a backup.
    found = [p for p in list_backups(path) if "-damaged-" not in p.name]
    if not found:
        return Finding(
            "backups", OK, "none yet (navigator takes one each day it is opened; `navigator backup` takes one now)"
        )
    newest = found[-1]
    when = datetime.fromtimestamp(newest.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    problem = check_backup_whole(newest)
    if problem:
        return Finding(
            "backups",
            PROBLEM,
            f"The newest backup {newest.name} ({when}) is not usable: {problem}.",
            "Take a new one now with `navigator backup`, then remove the bad file from backups/.",
        )
    return Finding("backups", OK, f"{len(found)} in {newest.parent}; newest {newest.name} ({when}) checks")


def check_backup_whole(backup: Path) -> str | None:
    """None when ``backup`` is a whole navigator database matching its sidecar; else what is wrong."""
    from navigator.store import anchor
    from navigator.store.paths import audit_key_path, checkpoint_path

    if not backup.is_file():
        return "it is not a regular file"
    try:
        with open(backup, "rb") as fh:
            if fh.read(16) != SQLITE_HEADER:
                return "it is not an SQLite database"
        con = sqlite3.connect(f"file:{backup}?mode=ro&immutable=1", uri=True)
        try:
            if con.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                return "it fails SQLite's integrity check"
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not {"alembic_version", "audit_event", "client"} <= tables:
                return "it has no navigator tables (a half-written copy)"
            key = anchor.load_key(audit_key_path(backup))
            cp = anchor.read_checkpoint(checkpoint_path(backup), key)
            if cp is None:
                return None  # a backup from before checkpoints: whole, nothing more to compare
            if isinstance(cp, str):
                return cp
            q = anchor.sqlite_reader(con)
            if anchor.chain_head(q) != anchor.Checkpoint(cp.events, cp.head_id, cp.head):
                return "its audit log does not match the checkpoint written with it"
        finally:
            con.close()
    except (sqlite3.Error, OSError) as exc:
        return f"it cannot be read ({type(exc).__name__})"
    return None


# ---------------------------------------------------------------- both


def _schema_and_chain(url: str, path: Path | None = None):
    try:
        engine = create_engine(url)
    except Exception as exc:
        yield Finding(
            "connection",
            PROBLEM,
            f"Cannot connect ({type(exc).__name__}).",
            "Install navigator[postgres] and check the URL.",
        )
        return
    try:
        try:
            with engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
                current = None
                if "alembic_version" in tables:
                    current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception as exc:
            yield Finding(
                "schema",
                PROBLEM,
                f"The schema cannot be read ({type(exc).__name__}).",
                "Restore the latest backup with `navigator restore FILE`.",
            )
            return
        yield _schema(current, tables)
        if "audit_event" in tables:
            yield _chain(engine)
            yield _triggers(engine)
            yield _checkpoint(engine, url, path)
    finally:
        engine.dispose()


def _schema(current: str | None, tables: set[str]) -> Finding:
    from alembic.script import ScriptDirectory

    head = head_revision()
    if current == head:
        return Finding("schema", OK, f"version {current} (current)")
    if current is None:
        if tables:
            return Finding(
                "schema",
                PROBLEM,
                "Tables but no navigator schema version: not a navigator database.",
                "Check --db / --db-url points at navigator's database.",
            )
        return Finding("schema", PROBLEM, "The database is empty.", "Run `navigator init` to create the store.")
    known = {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current not in known:
        return Finding(
            "schema",
            PROBLEM,
            f"version {current} is newer than this navigator (head {head}).",
            "Upgrade navigator on this machine before using the store.",
        )
    return Finding(
        "schema",
        WARN,
        f"version {current} is older than head {head}.",
        "Open the store with navigator (e.g. `navigator init`): it backs up, then upgrades it.",
    )


def _chain(engine) -> Finding:
    from navigator.services.audit import redacted_count, verify_chain

    try:
        with Session(engine) as s:
            n = s.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
            problems = verify_chain(s)
            redacted = redacted_count(s)
    except Exception as exc:
        return Finding(
            "audit chain",
            PROBLEM,
            f"The audit log cannot be read ({type(exc).__name__}).",
            "Restore the latest backup with `navigator restore FILE`.",
        )
    if not problems:
        return Finding(
            "audit chain",
            OK,
            f"{n} events, every hash checks"
            + (f" ({redacted} with personal data removed by retention)" if redacted else ""),
        )
    ids = ", ".join(str(p.event_id) for p in problems[:5]) + (" ..." if len(problems) > 5 else "")
    first = problems[0]
    return Finding(
        "audit chain",
        PROBLEM,
        f"{len(problems)} audit event(s) fail the hash chain (events {ids}); event {first.event_id} {first.problem}.",
        "The audit log was edited outside navigator. Keep this store as evidence, tell your data "
        "protection lead, and compare with a backup taken before those events (`navigator restore`).",
    )


PROTECTIVE_TRIGGERS = ("audit_event_no_delete", "audit_event_no_update")


def _triggers(engine) -> Finding:
    """The triggers that make the audit log append-only must exist (and, on PostgreSQL, be enabled)."""
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                found = {
                    r[0]
                    for r in conn.execute(
                        text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")
                    )
                }
            else:
                found = {
                    r[0]
                    for r in conn.execute(
                        text(
                            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass "
                            "AND NOT tgisinternal AND tgenabled <> 'D'"
                        )
                    )
                }
    except Exception as exc:
        return Finding("audit triggers", PROBLEM, f"The triggers cannot be read ({type(exc).__name__}).")
    missing = [t for t in PROTECTIVE_TRIGGERS if t not in found]
    if missing:
        return Finding(
            "audit triggers",
            PROBLEM,
            f"The audit log's protective trigger(s) {', '.join(missing)} are missing or disabled: "
            "the log can be edited.",
            "Someone changed the database outside navigator. Keep this store as evidence, tell your data "
            "protection lead, and restore the latest backup that passes `navigator doctor`.",
        )
    return Finding("audit triggers", OK, "the append-only triggers are in place")


def _checkpoint(engine, url: str, path: Path | None) -> Finding:
    """The log against its checkpoints outside the database: the checkpoint file and the newest
    backup's sidecar (taken since the last restore). A log that matches moves the checkpoint on."""
    from navigator.store import anchor
    from navigator.store.paths import audit_key_path, checkpoint_path

    fix = (
        "Events were removed from (or rewritten in) the audit log outside navigator. Keep this store as "
        "evidence, tell your data protection lead, and compare with the newest backup."
    )
    try:
        key = anchor.load_key(audit_key_path(path, url))
        if key is None and path is None:
            from navigator.store import pg_setup

            key = pg_setup.adopt_database_key(engine, url)  # after pg-setup the database holds it (admins)
        with engine.connect() as conn:
            q = anchor.engine_reader(conn)
            cp = anchor.read_checkpoint(checkpoint_path(path, url), key)
            anchors = [("the checkpoint file", cp)] if cp is not None else []
            if path is not None:
                anchors += _backup_anchor(path, cp)
            for where, c in anchors:
                if isinstance(c, str):
                    return Finding("audit checkpoint", PROBLEM, c[:1].upper() + c[1:] + ".", fix)
                problem = anchor.compare(q, c)
                if problem:
                    return Finding("audit checkpoint", PROBLEM, f"Against {where}: {problem}.", fix)
            head = anchor.chain_head(q)
    except Exception as exc:
        return Finding("audit checkpoint", PROBLEM, f"The checkpoint cannot be checked ({type(exc).__name__}).")
    if key is None and path is None:
        return Finding(
            "audit checkpoint",
            OK,
            "the log is not signed yet (PostgreSQL: `navigator pg-setup` gives the database its key), "
            "so there is no checkpoint",
        )
    if key is None:
        return Finding(
            "audit checkpoint",
            WARN,
            "There is no audit key yet (it is made with the first signed event), so no checkpoint.",
            "Open the store with navigator once (any action), then run doctor again.",
        )
    if path is not None:
        from navigator.store.engine import Store

        Store(url, None, None, path).checkpoint()
    else:
        with engine.connect() as conn:
            anchor.update_checkpoint(None, url, anchor.engine_reader(conn))
    what = f"{len(anchors)} checkpoint(s) outside the database" if anchors else "no checkpoint yet (one is written now)"
    return Finding("audit checkpoint", OK, f"{head.events} events; the log holds {what}")


def _backup_anchor(path: Path, cp):
    """The newest backup's sidecar, when that backup was taken since the checkpoints last started afresh."""
    from navigator.services.operations.backup import list_backups
    from navigator.store import anchor
    from navigator.store.paths import audit_key_path, checkpoint_path

    found = list_backups(path)
    if not found:
        return []
    newest = found[-1]
    side = anchor.read_checkpoint(checkpoint_path(newest), anchor.load_key(audit_key_path(newest)))
    if side is None:
        return []
    since = getattr(cp, "since", "") if isinstance(cp, anchor.Checkpoint) else ""
    if since:
        from datetime import UTC

        taken = datetime.fromtimestamp(newest.stat().st_mtime, UTC).isoformat(timespec="seconds")
        if taken <= since:
            return []
    return [(f"the newest backup's checkpoint ({newest.name})", side)]


# ---------------------------------------------------------------- PostgreSQL


def _server_checks(url: str):
    try:
        engine = create_engine(url, pool_pre_ping=True)
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    except Exception as exc:
        yield Finding(
            "connection",
            PROBLEM,
            f"Cannot connect to {describe(url)} ({type(exc).__name__}).",
            "Check the server is running, the URL (NAVIGATOR_DATABASE_URL / --db-url) and credentials.",
        )
        return
    yield Finding("connection", OK, f"PostgreSQL {version}")
    yield Finding(
        "file checks",
        OK,
        "integrity, permissions, disk and filesystem are the server's business on PostgreSQL (skipped)",
    )
    yield from _schema_and_chain(url)
    yield _database_access(url)


def _database_access(url: str) -> Finding:
    """Roles, grants, row-level policies and the audit function of ``navigator pg-setup``."""
    from navigator.store import pg_setup

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not pg_setup.set_up_here(conn):  # one shared login, as before pg-setup: not tampering, but open
                return Finding(
                    "database access",
                    WARN,
                    "Not set up: the database does not enforce who may see and change what (one shared login "
                    "can read and change every person, and write the audit log, with plain SQL).",
                    "Run `navigator pg-setup --db-url URL` as the database administrator: a login per person, "
                    "row-level security by lot and caseload, audit events only through the database (README).",
                )
            problems = pg_setup.check(conn)
    except Exception as exc:
        return Finding("database access", PROBLEM, f"The access set-up cannot be read ({type(exc).__name__}).")
    finally:
        engine.dispose()
    if problems:
        return Finding(
            "database access",
            PROBLEM,
            "The database does not enforce who may see and change what: " + "; ".join(problems) + ".",
            "Run `navigator pg-setup --db-url URL` as the database administrator (see the README).",
        )
    return Finding("database access", OK, "roles, grants, row-level policies and the audit function are in place")


def exit_code(report: Report) -> int:
    return 0 if report.healthy else 1


__all__ = ["MIN_FREE_BYTES", "OK", "PROBLEM", "WARN", "Finding", "Report", "examine", "exit_code"]
