"""Who is acting, on which store, on what day; and the transaction helpers."""

from __future__ import annotations

import getpass
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Callable, Iterator

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from navigator.domain.errors import AccessDenied, DomainError, StoreError
from navigator.domain.followups import Protocol
from navigator.domain.workdays import WorkingCalendar
from navigator.store.engine import Store, _db_error_message
from navigator.store.models import CalendarCorrection, Setting, User, UserLot


def os_username() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "navigator"


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
    username: str = field(default_factory=os_username)
    acting_as: str | None = None  # set when an admin acts as another user: the real admin's name
    today_fn: Callable[[], date] = date.today
    now_fn: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    _actor: Actor | None = field(default=None, repr=False)
    _calendar: WorkingCalendar | None = field(default=None, repr=False)

    def today(self) -> date:
        return self.today_fn()

    def now(self) -> datetime:
        return self.now_fn()

    # ---------------------------------------------------------------- transactions
    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction (BEGIN IMMEDIATE on SQLite); database errors become StoreError."""
        try:
            with Session(self.store.write_engine, expire_on_commit=False) as session:
                with session.begin():
                    if not self.store.is_sqlite:
                        from sqlalchemy import text

                        session.execute(text("SELECT pg_advisory_xact_lock(4242)"))
                    yield session
        except (DomainError, StoreError):
            raise
        except IntegrityError as exc:
            raise DomainError(_integrity_message(exc)) from None
        except DBAPIError as exc:
            raise StoreError(_db_error_message(self.store, exc)) from None
        except SQLAlchemyError as exc:
            raise StoreError(f"The database refused the change ({type(exc).__name__}); nothing was saved.") from None

    @contextmanager
    def read(self) -> Iterator[Session]:
        try:
            with Session(self.store.engine, expire_on_commit=False) as session:
                with session.begin():
                    yield session
        except (DomainError, StoreError):
            raise
        except DBAPIError as exc:
            raise StoreError(_db_error_message(self.store, exc)) from None

    # ---------------------------------------------------------------- who
    def actor(self, session: Session | None = None) -> Actor:
        if self._actor is None:
            if session is None:
                with self.read() as s:
                    return self.actor(s)
            user = session.exec(select(User).where(User.username == self.username)).first()
            if user is None:
                raise AccessDenied(
                    f"The user '{self.username}' has no account in this store. Ask an admin to add you "
                    "(`navigator users add`)."
                )
            if not user.active:
                raise AccessDenied(f"The account '{self.username}' is deactivated. Ask an admin if this is wrong.")
            lots = session.exec(select(UserLot.lot_id).where(UserLot.user_id == user.id)).all()
            self._actor = Actor(user.id, user.username, user.name, user.role, frozenset(lots))
        return self._actor

    def forget_actor(self) -> None:
        self._actor = None

    # ---------------------------------------------------------------- configuration
    def calendar(self, session: Session | None = None) -> WorkingCalendar:
        if self._calendar is None:
            if session is None:
                with self.read() as s:
                    return self.calendar(s)
            rows = session.exec(select(CalendarCorrection)).all()
            self._calendar = WorkingCalendar(
                extra_non_working=[r.day for r in rows if not r.is_working_day],
                extra_working=[r.day for r in rows if r.is_working_day],
            )
        return self._calendar

    def forget_calendar(self) -> None:
        self._calendar = None


def get_setting(session: Session, key: str, default=None):
    row = session.get(Setting, key)
    if row is None:
        return default
    return json.loads(row.value)


def put_setting(session: Session, key: str, value, now: datetime) -> None:
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
