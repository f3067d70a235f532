"""Who is acting, on which store, on what day; and the transaction helpers.

SQLAlchemy, SQLModel and the models are imported when a session is first opened, not
with this module: the app's first screen reads through ``Ctx.sql`` (plain SQL; on SQLite
the ``sqlite3`` module alone), so it does not wait for them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from navigator.domain.errors import AccessDenied, DomainError, StoreError
from navigator.domain.followups import Protocol
from navigator.domain.workdays import WorkingCalendar
from navigator.store.engine import Store, db_error_message

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.exc import IntegrityError
    from sqlmodel import Session

# Reads plain SQL with named parameters (``:name``): ``q(sql, params) -> list of row tuples``.
SqlReader = Callable[..., "list[tuple[Any, ...]]"]


def os_username() -> str:
    """The operating-system account running this process: its effective uid, looked up with ``pwd``.

    Never an environment variable (``LOGNAME``/``USER``/``USERNAME`` are whatever the caller sets).
    An account with no name on this computer is ``uid-N``.
    """
    import pwd

    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid-{uid}"


def identity(store: Store) -> str:
    """Who is running navigator on ``store``: the one place the acting user's name comes from.

    SQLite: the operating-system account (``os_username``); the file's permissions are what
    protect a single-file store. PostgreSQL: the database's ``session_user`` when it is a user of
    the store (each person logs in as their own role); after ``navigator pg-setup`` always
    ``session_user``; before it, else the operating-system account (a shared login: the database
    cannot tell people apart).
    """
    if store.is_sqlite:
        return os_username()
    from sqlalchemy import text

    login = None
    try:
        with store.engine.connect() as conn:
            login = conn.execute(text("SELECT session_user")).scalar()
            known = conn.execute(text('SELECT 1 FROM "user" WHERE username = :u AND active'), {"u": login}).first()
    except Exception:
        known = None
    if known:
        return str(login)
    from navigator.store import pg_setup

    # After pg-setup the database decides who you are: a login that is not a user is nobody here.
    try:
        strict = login is not None and pg_setup.installed(store.engine)
    except Exception:
        strict = False
    return str(login) if strict else os_username()


@dataclass(frozen=True)
class Actor:
    id: int
    username: str
    name: str
    role: str
    lot_ids: frozenset[int]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_team_lead(self) -> bool:
        return self.role in ("team_lead", "admin")


@dataclass
class Ctx:
    """A service context: the store, the acting user, and a clock (injectable for tests)."""

    store: Store
    username: str = field(default_factory=lambda: os_username())
    acting_as: str | None = None  # set when an admin acts as another user: the real admin's name
    today_fn: Callable[[], date] = date.today
    now_fn: Callable[[], datetime] = lambda: datetime.now(UTC)
    _actor: Actor | None = field(default=None, repr=False)
    _calendar: WorkingCalendar | None = field(default=None, repr=False)

    def today(self) -> date:
        return self.today_fn()

    def now(self) -> datetime:
        return self.now_fn()

    # ---------------------------------------------------------------- transactions
    @contextmanager
    def write(self, *, bulk: bool = False) -> Iterator[Session]:
        """One write transaction (BEGIN IMMEDIATE on SQLite); database errors become StoreError.

        PostgreSQL: ordinary saves run side by side (a journey's row is locked while it is changed; the
        audit chain is ordered at the moment events are appended); ``bulk`` (a writer that picks row ids
        itself: import, demo) excludes them for its transaction (store/pg_setup.py BULK_LOCK)."""
        from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
        from sqlmodel import Session

        from navigator.store import pg_setup

        self.store.refuse_writes_if_damaged()
        try:
            with Session(self.store.write_engine, expire_on_commit=False) as session, session.begin():
                if not self.store.is_sqlite:
                    pg_setup.lock(session, pg_setup.BULK_LOCK, shared=not bulk)
                yield session
            self.store.note_write()
        except (DomainError, StoreError):
            raise
        except IntegrityError as exc:
            raise DomainError(_integrity_message(exc)) from None
        except DBAPIError as exc:
            raise StoreError(db_error_message(self.store, exc)) from None
        except SQLAlchemyError as exc:
            raise StoreError(f"The database refused the change ({type(exc).__name__}); nothing was saved.") from None

    @contextmanager
    def read(self) -> Iterator[Session]:
        from sqlalchemy.exc import DBAPIError
        from sqlmodel import Session

        try:
            with Session(self.store.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except (DomainError, StoreError):
            raise
        except DBAPIError as exc:
            raise StoreError(db_error_message(self.store, exc)) from None

    @contextmanager
    def sql(self) -> Iterator[SqlReader]:
        """One read transaction for plain SQL, without the ORM: yields ``q(sql, params=None)``
        returning row tuples. On SQLite it is the ``sqlite3`` module alone (dates come back as
        ISO text); elsewhere SQLAlchemy Core. Database errors become StoreError."""
        if not self.store.is_sqlite:
            with self.read() as s:
                yield session_reader(s)
            return
        try:
            with self.store.sqlite_read() as con:
                yield lambda sql, params=None: con.execute(sql, _sqlite_params(params)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(db_error_message(self.store, exc)) from None

    # ---------------------------------------------------------------- who
    def actor(self, session: Session | None = None) -> Actor:
        if self._actor is None:
            if session is None:
                with self.sql() as q:
                    return self.actor_from(q)
            return self.actor_from(session_reader(session))
        return self._actor

    def actor_from(self, q: SqlReader) -> Actor:
        """The acting user, read (once) through a plain SQL reader."""
        if self._actor is None:
            rows = q('SELECT id, username, name, role, active FROM "user" WHERE username = :u', {"u": self.username})
            if not rows:
                raise AccessDenied(
                    f"The user '{self.username}' has no account in this store. Ask an admin to add you "
                    "(`navigator users add`)."
                )
            uid, username, name, role, active = rows[0]
            if not active:
                raise AccessDenied(f"The account '{self.username}' is deactivated. Ask an admin if this is wrong.")
            lots = q("SELECT lot_id FROM user_lot WHERE user_id = :id", {"id": uid})
            self._actor = Actor(uid, username, name, role, frozenset(r[0] for r in lots))
        return self._actor

    def forget_actor(self) -> None:
        self._actor = None

    # ---------------------------------------------------------------- configuration
    def calendar(self, session: Session | None = None) -> WorkingCalendar:
        if self._calendar is None:
            if session is None:
                with self.sql() as q:
                    return self.calendar_from(q)
            return self.calendar_from(session_reader(session))
        return self._calendar

    def calendar_from(self, q: SqlReader) -> WorkingCalendar:
        """The working calendar (bank holidays and the admin's corrections), read once."""
        if self._calendar is None:
            _load_uk_holidays_alone()
            rows = [
                (d, bool(working))
                for day, working in q("SELECT day, is_working_day FROM calendar_correction")
                if (d := as_date(day)) is not None  # always: day is NOT NULL
            ]
            self._calendar = WorkingCalendar(
                extra_non_working=[day for day, working in rows if not working],
                extra_working=[day for day, working in rows if working],
            )
        return self._calendar

    def known_calendar(self) -> WorkingCalendar | None:
        """The working calendar if it has been read already (no reading here), else None."""
        return self._calendar

    def forget_calendar(self) -> None:
        self._calendar = None


_UK_HOLIDAYS_LOADED = False


def _load_uk_holidays_alone() -> None:
    """Import the ``holidays`` package's UK module by itself, before the calendar first needs it.

    ``holidays.country_holidays("GB", ...)`` (domain.workdays) imports ``holidays.countries``, whose
    ``__init__`` imports all of its ~280 countries' modules: 70 ms of the app's start-up, for one country.
    With the UK module already loaded (through a stand-in for its package, removed again at once),
    the same call finds it and imports nothing more. The holidays are exactly the same; a later import
    of ``holidays.countries`` still works (and reuses this module). Best effort: any surprise, and the
    ordinary import happens as before.
    """
    global _UK_HOLIDAYS_LOADED
    if _UK_HOLIDAYS_LOADED:
        return
    _UK_HOLIDAYS_LOADED = True
    name, package = "holidays.countries.united_kingdom", "holidays.countries"
    if name in sys.modules or package in sys.modules:
        return
    try:
        import importlib
        import types

        import holidays

        stand_in = types.ModuleType(package)
        stand_in.__path__ = [os.path.join(os.path.dirname(holidays.__file__), "countries")]
        sys.modules[package] = stand_in
        try:
            importlib.import_module(name)
        finally:
            if sys.modules.get(package) is stand_in:
                del sys.modules[package]
    except Exception:
        sys.modules.pop(name, None)


def _sqlite_params(params: dict | None) -> dict:
    """Dates as ISO text, as the store keeps them in SQLite."""
    if not params:
        return {}
    return {k: v.isoformat() if isinstance(v, date) and not isinstance(v, datetime) else v for k, v in params.items()}


def session_reader(session: Session) -> SqlReader:
    """A plain SQL reader on an open session (its transaction)."""
    from sqlalchemy import text

    return lambda sql, params=None: [tuple(r) for r in session.execute(text(sql), params or {}).all()]


def as_date(value) -> date | None:
    """A date from the database, the one conversion every read uses: None stays None, a date is itself,
    a datetime gives its day, and text (SQLite through ``sqlite3``, or a column read raw) is ISO
    ``YYYY-MM-DD`` followed by anything (a time)."""
    cls = value.__class__
    if cls is str:  # the plain-SQL path on SQLite: the common case first
        return date.fromisoformat(value[:10])
    if cls is date or value is None:
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def as_day(value) -> date:
    """``as_date`` of a value the query guarantees is there (a NOT NULL column, or one filtered on)."""
    day = as_date(value)
    assert day is not None, "a date the query guarantees is missing"
    return day


def get_setting(session: Session, key: str, default=None):
    from navigator.store.models import Setting

    row = session.get(Setting, key)
    if row is None:
        return default
    return json.loads(row.value)


def put_setting(session: Session, key: str, value, now: datetime) -> None:
    from navigator.store.models import Setting

    row = session.get(Setting, key)
    text_ = json.dumps(value, sort_keys=True)
    if row is None:
        session.add(Setting(key=key, value=text_, updated_at=now))
    else:
        row.value = text_
        row.updated_at = now
        session.add(row)


def protocol(session: Session) -> Protocol:
    data = get_setting(session, "protocol")
    return Protocol.from_dict(data) if data else Protocol()


def _integrity_message(exc: IntegrityError) -> str:
    text_ = str(exc.orig).lower()
    if "unique" in text_ or "duplicate" in text_:
        return "That already exists (it would duplicate a record)."
    if "foreign key" in text_:
        return "That refers to something that does not exist."
    if "check" in text_:
        return "A value is outside what is allowed."
    return "The change breaks a rule of the store; nothing was saved."
