"""Opening the store: SQLite (default) or PostgreSQL, migrated, with clear refusals.

SQLite runs with WAL, synchronous=FULL, foreign keys on and a busy timeout.
Writes go through a second engine whose transactions begin IMMEDIATE, so two
processes never meet "database is locked" half-way through a write.

SQLAlchemy and Alembic are imported only when needed: opening a SQLite store whose
schema is current reads its version with the ``sqlite3`` module and finds the head
revision from the migration files' text, so the app's first screen does not wait for
them (see ``head_revision``). The engines are made on first use.

This module is ~670 lines: opening, checking, migrating and guarding a store (SQLite file checks,
half-migrated and read-only states, the fast start-up path) are one sequence of decisions.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from navigator.domain.errors import StoreError
from navigator.store.paths import db_dir, default_db_path, is_network_filesystem

if TYPE_CHECKING:  # pragma: no cover
    from alembic.config import Config
    from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 15000
# A setting written (and committed) into a migrate-store target before its copy starts, and removed in
# the copy's own transaction: while it is there the target is half-migrated and nobody may adopt it.
MIGRATING_KEY = "migrate_store.in_progress"
HALF_MIGRATED = (
    "This database is half-way through `navigator migrate-store` (the copy was interrupted). Run the same "
    "`navigator migrate-store --to ...` again to finish it, or drop the database and start again. "
    "Nothing was changed."
)
SQLITE_HEADER = b"SQLite format 3\x00"


def resolve_url(db_path: str | os.PathLike | None = None, db_url: str | None = None) -> str:
    """--db-url / NAVIGATOR_DATABASE_URL, else --db / NAVIGATOR_DB, else the user data directory."""
    url = db_url or os.environ.get("NAVIGATOR_DATABASE_URL")
    if url:
        return url
    path = db_path or os.environ.get("NAVIGATOR_DB") or default_db_path()
    return "sqlite:///" + str(Path(path).expanduser().absolute())


def describe(url: str) -> str:
    """The URL without any password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "the configured database"


def _sqlite_database(url: str) -> tuple[bool, str | None]:
    """(is it SQLite, its database) for a URL; plain ``sqlite:///path`` URLs without SQLAlchemy."""
    m = _PLAIN_SQLITE_URL.match(url)
    if m is not None and not any(ch in url for ch in "?%#") and (m["rest"] == "" or m["rest"].startswith("/")):
        return True, m["rest"][1:] or None
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return True, parsed.database
    return False, None


_PLAIN_SQLITE_URL = re.compile(r"^sqlite(\+pysqlite)?://(?P<rest>.*)$", re.S)


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(db_dir() / "migrations"))
    return cfg


# Module-level ``revision = '...'`` / ``down_revision = ...`` lines of a migration file (an
# annotation, as newer Alembic templates write, is allowed).
_ASSIGNMENT = re.compile(r"^(revision|down_revision)[ \t]*(?::[^=\n]*)?=[ \t]*(.+?)[ \t]*(?:#.*)?$", re.M)
_QUOTED = re.compile(r"""^(['"])([^'"\\]+)\1$""")


def _scan_revisions() -> dict[str, str | None] | None:
    """{revision: down_revision} read from the migration files' text, without importing Alembic.

    None when any file is not in the plain one-parent form (a merge, a computed value, ...):
    the callers then ask Alembic itself.
    """
    graph: dict[str, str | None] = {}
    try:
        files = sorted((db_dir() / "migrations" / "versions").glob("*.py"))
        for f in files:
            if f.name.startswith("__"):
                continue
            found: dict[str, list[str]] = {}
            for m in _ASSIGNMENT.finditer(f.read_text(encoding="utf-8")):
                found.setdefault(m[1], []).append(m[2])
            if len(found.get("revision", ())) != 1 or len(found.get("down_revision", ())) != 1:
                return None
            rev = _QUOTED.match(found["revision"][0])
            down = found["down_revision"][0]
            down_m = _QUOTED.match(down)
            if rev is None or (down != "None" and down_m is None) or rev[2] in graph:
                return None
            graph[rev[2]] = down_m[2] if down_m else None
    except (OSError, UnicodeDecodeError):
        return None
    if (
        not graph
        or sum(1 for d in graph.values() if d is None) != 1
        or any(d is not None and d not in graph for d in graph.values())
    ):
        return None
    return graph


def head_revision() -> str:
    """The newest migration's revision: from the files' text when they are plain, else from Alembic."""
    graph = _scan_revisions()
    if graph is not None:
        heads = set(graph) - set(graph.values())
        if len(heads) == 1:
            return heads.pop()
    from alembic.script import ScriptDirectory

    script_heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(script_heads) != 1:  # pragma: no cover - a packaging mistake
        raise StoreError("navigator's migrations have more than one head; reinstall navigator.")
    return script_heads[0]


def _known_revision(revision: str) -> bool:
    graph = _scan_revisions()
    if graph is not None and revision in graph:
        return True
    from alembic.script import ScriptDirectory

    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except Exception:
        return False
    return True


class Store:
    """An open store. ``engine`` (reads, deferred transactions) and ``write_engine`` (writes, BEGIN
    IMMEDIATE on SQLite) are SQLAlchemy engines, made on first use for SQLite; ``path`` is the
    SQLite file (None for PostgreSQL). ``sqlite_read()`` is a plain ``sqlite3`` read transaction
    for the reads behind the first screens (no SQLAlchemy needed)."""

    def __init__(
        self,
        url: str,
        engine: Engine | None = None,
        write_engine: Engine | None = None,
        path: Path | None = None,
        backup_taken: Path | None = None,
    ) -> None:
        self.url = url
        self._engine = engine
        self._write_engine = write_engine
        self.path = path
        self.backup_taken = backup_taken
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._disposed = False
        self._writes = 0  # committed write transactions since the last checkpoint
        self._exit_hook = False

    def __repr__(self) -> str:
        return f"Store({describe(self.url) if self.path is None else str(self.path)!r})"

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None

    @property
    def engine(self) -> Engine:
        if self._engine is None and self.path is not None:
            with self._lock:
                if self._engine is None:
                    self._engine = _sqlite_engine(self.url, immediate=False)
        return self._engine  # type: ignore[return-value]

    @property
    def write_engine(self) -> Engine:
        if self._write_engine is None and self.path is not None:
            with self._lock:
                if self._write_engine is None:
                    self._write_engine = _sqlite_engine(self.url, immediate=True)
        return self._write_engine  # type: ignore[return-value]

    @contextmanager
    def sqlite_read(self) -> Iterator[sqlite3.Connection]:
        """A plain ``sqlite3`` connection inside one read transaction (a consistent snapshot).

        Read-only (``query_only``); connections are kept for reuse. SQLite stores only.
        """
        if self.path is None:
            raise StoreError("A plain SQLite read needs a SQLite store.")
        with self._lock:
            con = self._idle.pop() if self._idle else None
        if con is None:
            con = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            con.execute("PRAGMA query_only=ON")
        reuse = False
        try:
            con.execute("BEGIN")
            yield con
            reuse = True
        finally:
            try:
                if con.in_transaction:
                    con.execute("ROLLBACK")
            except sqlite3.Error:
                reuse = False
            with self._lock:
                if reuse and not self._disposed and len(self._idle) < 4:
                    self._idle.append(con)
                    con = None
            if con is not None:
                con.close()

    def refuse_writes_if_damaged(self) -> None:
        """A SQLite store that failed its integrity check is read-only until it is repaired."""
        if self.path is None:
            return
        from navigator.store.paths import damaged_marker_path

        if damaged_marker_path(self.path).exists():
            raise StoreError(
                f"The store at {self.path} failed its integrity check, so it is read-only until it is repaired: "
                "nothing was saved. Restore the latest backup with `navigator restore FILE` (see backups/ beside "
                "it), then run `navigator doctor`."
            )

    def mark_damaged(self, why: str) -> None:
        """Make the store read-only until repaired (``navigator doctor`` clears it once it checks)."""
        if self.path is None:
            return
        from navigator.store.paths import damaged_marker_path

        try:
            damaged_marker_path(self.path).write_text(why[:200] + "\n", encoding="utf-8")
        except OSError:
            pass

    def note_write(self) -> None:
        """A write transaction committed: every ``CHECKPOINT_EVERY`` of them, move the audit checkpoint."""
        from navigator.store.anchor import CHECKPOINT_EVERY

        self._writes += 1
        if not self._exit_hook:
            import atexit
            import weakref

            ref = weakref.ref(self)
            atexit.register(lambda: (store := ref()) is not None and store._writes and store.checkpoint())
            self._exit_hook = True  # a command that never disposes its store still leaves a checkpoint
        if self._writes >= CHECKPOINT_EVERY:
            self.checkpoint()

    def checkpoint(self, *, reset: bool = False) -> bool:
        """Write the audit log's checkpoint (count, head) outside the database; best effort, never
        over evidence of tampering (see store/anchor.py). Returns whether it was written."""
        from navigator.store import anchor

        self._writes = 0
        try:
            if self.path is not None:
                con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
                try:
                    return anchor.update_checkpoint(self.path, self.url, anchor.sqlite_reader(con), reset=reset)
                finally:
                    con.close()
            with self.engine.connect() as conn:
                return anchor.update_checkpoint(None, self.url, anchor.engine_reader(conn), reset=reset)
        except (StoreError, OSError, sqlite3.Error):
            return False
        except Exception:  # a server gone away: the next close or backup tries again
            return False

    def dispose(self) -> None:
        if self._writes and not self._disposed:
            self.checkpoint()
        with self._lock:
            self._disposed = True  # connections still out are closed when they come back
            idle, self._idle = self._idle, []
        for con in idle:
            con.close()
        if self._engine is not None:
            self._engine.dispose()
        if self._write_engine is not None and self._write_engine is not self._engine:
            self._write_engine.dispose()


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    from sqlalchemy import create_engine, event

    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised by every test
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _check_sqlite_path(path: Path, *, create: bool) -> None:
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a database file. Give the path of a file with --db.")
    parent = path.parent
    if is_network_filesystem(parent if parent.exists() else Path(os.path.dirname(os.path.abspath(parent)))):
        raise StoreError(
            f"{path} is on a network filesystem. SQLite is not safe there: keep the file on a local "
            "disk, or move the team to PostgreSQL (see the README)."
        )
    if path.exists():
        if not path.is_file():  # a FIFO would hang the first read; a device is nobody's store
            raise StoreError(f"{path} is not a regular file (a pipe, device or socket); give a database file.")
        if not os.access(path, os.R_OK):
            raise StoreError(f"{path} cannot be read (permission denied). Check the file's owner and mode.")
        size = path.stat().st_size
        if size > 0:
            with open(path, "rb") as fh:
                header = fh.read(16)
            if header != SQLITE_HEADER:
                raise StoreError(
                    f"{path} is not a navigator database (it is not an SQLite file). "
                    "Check the path, or restore from a backup with `navigator restore`."
                )
        return
    if not create:
        raise StoreError(f"There is no database at {path}. Run `navigator demo` or `navigator init` to create one.")
    try:
        parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created readable by its owner only, before SQLite ever opens it.
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    except OSError as exc:
        raise StoreError(
            f"Cannot create the database at {path}: {exc.strerror}. Check the folder exists and is writable."
        ) from None
    from navigator.store.anchor import create_key
    from navigator.store.paths import audit_key_path, checkpoint_path

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for left in (audit_key_path(path), checkpoint_path(path)):
        if left.exists():  # left by an earlier store of that name: kept aside, never used for this one
            os.replace(left, left.with_name(f"{left.name}.old-{stamp}"))
    create_key(audit_key_path(path))  # the audit key is created with the store (mode 0600)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _has_tables(engine: Engine) -> bool:
    from sqlalchemy import inspect

    with engine.connect() as conn:
        # An empty alembic_version (a store downgraded to base) holds nothing: treat it as new.
        return bool(set(inspect(conn).get_table_names()) - {"alembic_version"})


PARTIAL = ".partial-"  # a backup still being written: ``.<name>.partial-<pid>`` in the destination folder


def partial_name(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}{PARTIAL}{os.getpid()}")


def _backup_progress(status: int, remaining: int, total: int) -> None:
    """Called by SQLite's backup between steps (tests slow it down to kill a backup half-way)."""


def backup_sqlite_file(path: Path, dest: Path, check=None) -> Path:
    """A consistent copy through SQLite's backup API, readable by its owner only, whole or absent.

    Written under a temporary name in ``dest``'s folder (mode 0600), integrity-checked, then
    ``check(tmp_path)`` (raise StoreError to refuse), flushed to disk, and only then renamed to
    ``dest``: an interrupted backup never stands as one (``remove_partials`` clears it later).
    """
    if dest.exists():
        raise StoreError(f"{dest} already exists; backups never overwrite.")
    tmp = partial_name(dest)
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    except FileExistsError:
        os.unlink(tmp)  # left by an earlier run of this very process id
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    try:
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst, pages=256, progress=_backup_progress)
                dst.execute("PRAGMA journal_mode=DELETE")
                ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                dst.close()
        finally:
            src.close()
        if ok != "ok":
            raise StoreError(f"The backup at {dest} failed its integrity check; the store was not changed.")
        if check is not None:
            check(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if dest.exists():
            raise StoreError(f"{dest} already exists; backups never overwrite.")
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except BaseException:
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            try:
                leftover.unlink()
            except OSError:
                pass
        raise
    return dest


def remove_partials(folder: Path, prefix: str = ".") -> int:
    """Remove backups left half-written in ``folder`` (names starting ``prefix``) by a process that is
    gone. Returns how many."""
    n = 0
    try:
        entries = list(folder.iterdir())
    except OSError:
        return 0
    for p in entries:
        m = _PARTIAL_NAME.match(p.name)
        if m is None or not p.name.startswith(prefix):
            continue
        pid = int(m["pid"])
        if pid != os.getpid() and _alive(pid):
            continue  # another process is writing it now
        try:
            p.unlink()
            n += 1
        except OSError:
            pass
    return n


_PARTIAL_NAME = re.compile(r"^\..+\.partial-(?P<pid>\d+)(-journal)?$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (best effort where the OS refuses)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _refuse_unknown(current: str | None, has_tables: bool) -> None:
    """Refuse a database written by a newer navigator, or one that is not navigator's at all."""
    if current is not None:
        if not _known_revision(current):
            raise StoreError(
                "This database was written by a newer version of navigator (schema "
                f"{current}). Upgrade navigator to open it; nothing was changed."
            )
    elif has_tables:
        raise StoreError("This database has tables but no navigator schema version: it is not a navigator database.")


_NEW = object()  # _precheck_sqlite_file: a new (absent or empty) file


def _precheck_sqlite_file(url: str, path: Path, allow_half_migrated: bool = False):
    """Refuse a foreign or newer SQLite file before connecting for real; return its schema revision
    (None: no version; ``_NEW``: a new, empty file).

    Our connections switch the file to WAL mode, which rewrites its header: a file we
    refuse must be read only through a read-only connection, so it is left untouched.
    """
    if not path.exists() or path.stat().st_size == 0:
        return _NEW
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            current = None
            if "alembic_version" in names:
                row = con.execute("SELECT version_num FROM alembic_version").fetchone()
                current = row[0] if row else None
            half = (
                "setting" in names and con.execute("SELECT 1 FROM setting WHERE key = ?", (MIGRATING_KEY,)).fetchone()
            )
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise StoreError(db_error_message(Store(url, None, None, path), exc)) from None
    _refuse_unknown(current, bool(names - {"alembic_version"}))
    if half and not allow_half_migrated:
        raise StoreError(HALF_MIGRATED)
    return current


def migrate(store: Store) -> None:
    """Bring the schema to head: refuse a newer database, back up an older one first."""
    from alembic import command
    from sqlalchemy.exc import DatabaseError, OperationalError

    head = head_revision()
    try:
        current = current_revision(store.engine)
        has_tables = _has_tables(store.engine)
    except (DatabaseError, OperationalError) as exc:
        raise StoreError(db_error_message(store, exc)) from None
    if current == head:
        return
    _refuse_unknown(current, has_tables)
    if current is not None and store.path is not None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        dest = store.path.with_name(f"{store.path.name}.pre-{head}-{stamp}.bak")
        store.backup_taken = backup_sqlite_file(store.path, dest)
    cfg = alembic_config()
    with store.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    if current is not None:
        # A migration may re-hash the log (0002 did; a downgrade's rehash comes back this way): navigator's
        # own act, after the backup above, so the audit checkpoint starts afresh from the upgraded log.
        store.checkpoint(reset=True)


def db_error_message(store: Store, exc: Exception) -> str:
    text_ = str(getattr(exc, "orig", exc)).lower()
    where = store.path or describe(store.url)
    if "locked" in text_ or "busy" in text_:
        return f"The database at {where} is locked by another program. Close it, or wait, and try again."
    if "not a database" in text_ or "malformed" in text_ or "file is encrypted" in text_:
        store.mark_damaged("the database reported: disk image malformed")
        return (
            f"The database at {where} is damaged or not a navigator database. "
            "Restore the latest backup with `navigator restore`."
        )
    if "readonly" in text_ or "read-only" in text_:
        return f"The database at {where} is read-only. Check its permissions (it must be writable by you)."
    if "unable to open" in text_:
        return f"The database at {where} cannot be opened. Check the path and its folder's permissions."
    if "disk" in text_ and "full" in text_:
        return "The disk is full: free some space and try again. Nothing was written."
    return f"The database at {where} could not be used ({type(exc).__name__}). Run `navigator doctor`."


def open_store(url: str, *, create: bool = True, upgrade: bool = True, allow_half_migrated: bool = False) -> Store:
    """Open (and create, and migrate) the store at ``url``; StoreError says what is wrong.

    A SQLite store whose schema is already current is opened without SQLAlchemy or Alembic
    (its engines are made on first use).
    """
    is_sqlite, database = _sqlite_database(url)
    current = _NEW
    if is_sqlite:
        if not database or database == ":memory:":
            raise StoreError("navigator needs a database file, not an in-memory database.")
        path = Path(database)
        _check_sqlite_path(path, create=create)
        current = _precheck_sqlite_file(url, path, allow_half_migrated)
        store = Store(url, None, None, path)  # engines made on first use
    else:
        from sqlalchemy import create_engine

        try:
            engine = create_engine(url, pool_pre_ping=True)
        except Exception as exc:
            raise StoreError(
                f"Cannot use {describe(url)}: {exc}. Install navigator[postgres] for PostgreSQL."
            ) from None
        store = Store(url, engine, engine, None)
    if current is not _NEW and current is not None and current == head_revision():
        _owner_only(store)
        return store  # current: nothing to migrate or check further
    from sqlalchemy.exc import DatabaseError, OperationalError

    try:
        if not is_sqlite and not create and current_revision(store.engine) is None:
            # an empty database: only the commands that make a store (init, demo, pg-setup,
            # migrate-store's target) lay the schema there, never an everyday command
            raise StoreError(
                f"There is no navigator store in {describe(url)}. Create one with `navigator init --db-url URL` "
                "(a team: `navigator pg-setup --db-url URL` as the database administrator), or check the URL."
            )
        if upgrade:
            migrate(store)
        else:
            current = current_revision(store.engine)
            if current != head_revision():
                raise StoreError("The database schema is not current; open it with navigator to upgrade it.")
    except StoreError:
        store.dispose()
        raise
    except (DatabaseError, OperationalError) as exc:
        store.dispose()
        raise StoreError(db_error_message(store, exc)) from None
    if not is_sqlite and not allow_half_migrated and _half_migrated(store):
        store.dispose()
        raise StoreError(HALF_MIGRATED)
    _owner_only(store)
    return store


def _half_migrated(store: Store) -> bool:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return conn.execute(text("SELECT 1 FROM setting WHERE key = :k"), {"k": MIGRATING_KEY}).first() is not None


def _owner_only(store: Store) -> None:
    if store.path is not None:
        try:  # owner only; never *add* write permission to a file someone made read-only
            os.chmod(store.path, stat.S_IMODE(os.stat(store.path).st_mode) & 0o600)
        except OSError:
            pass
