"""``navigator pg-setup``: access the PostgreSQL database enforces (store/pg_setup.py), and the first admin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from navigator.domain.errors import StoreError
from navigator.store import pg_setup as pg


@dataclass(frozen=True)
class PgSetupResult:
    created_roles: tuple[str, ...]
    moved_tables: int
    first_admin: str | None  # set when this run initialised the store
    problems: tuple[str, ...]  # what `doctor` would still find (empty: all in place)


def set_up(
    url: str,
    *,
    admin: str | None = None,
    admin_name: str | None = None,
    template: str = "kent",
    progress: Callable[[str], None] = lambda _msg: None,
) -> PgSetupResult:
    """Roles, schema, migrations, grants, policies and the audit function (idempotent); then, on a store
    with no users, ``admin`` becomes its first admin (their login made in the admins' group); on one with
    users, each user's login is created or brought in step with their account."""
    from sqlalchemy.engine import make_url

    if make_url(url).get_backend_name() != "postgresql":
        raise StoreError("pg-setup is for a PostgreSQL database (--db-url postgresql+psycopg://...).")
    result = pg.setup(url, progress=progress)
    first = None
    from navigator.services.context import Ctx
    from navigator.services.setup.reference import initialise
    from navigator.store.engine import open_store

    store = open_store(url, create=False)
    try:
        with store.engine.connect() as conn:
            from sqlalchemy import text

            has_users = conn.execute(text('SELECT 1 FROM "user" LIMIT 1')).first() is not None
        if not has_users:
            if not admin:
                raise StoreError(
                    "The store has no users yet: give its first admin with --admin LOGIN (their database login "
                    "is created in the admins' group)."
                )
            progress("first admin")
            ctx = Ctx(store, username=admin)
            if initialise(ctx, admin_name=admin_name, template=template):
                first = admin
            with ctx.write() as s:
                pg.sync_login(s, admin)
        else:  # people already in the store (e.g. copied by migrate-store): each gets their login
            progress("logins")
            with store.engine.begin() as conn:
                from sqlalchemy import text

                for (username,) in conn.execute(text('SELECT username FROM "user" ORDER BY id')).all():
                    conn.execute(text("SELECT navigator.sync_login(:u)"), {"u": username})
        with store.engine.connect() as conn:
            problems = tuple(pg.check(conn))
    finally:
        store.dispose()
    return PgSetupResult(result.created_roles, result.moved_tables, first, problems)


def check(url: str) -> list[str]:
    """The access set-up's problems (doctor)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return pg.check(conn)
    finally:
        engine.dispose()
