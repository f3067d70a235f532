"""Shared fixtures: a file store under tmp_path (never :memory:), a fixed clock (and a clock over
the awkward days of the year: ``any_day``, ``ctx_on``), quick builders."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from datetime import UTC, date
from pathlib import Path

import pytest

from navigator.services.casework import journeys as J
from navigator.services.casework.journeys import ClientInput, ReferralInput
from navigator.services.context import Ctx
from navigator.services.setup.reference import open_ready

TODAY = date(2026, 11, 25)  # a Wednesday

# The clock: days on which anything that depends on the weekday or a bank holiday must still hold.
# Tests of day-sensitive behaviour take ``any_day`` (run once per day below) and ``ctx_on(day)``.
ANY_DAYS = {
    "wed": date(2026, 11, 25),
    "sat": date(2026, 12, 5),
    "sun": date(2026, 12, 6),
    "christmas": date(2026, 12, 25),  # a Friday bank holiday
    "substitute-mon": date(2026, 12, 28),  # Boxing Day's substitute bank holiday
    "new-years-eve": date(2026, 12, 31),
    "new-year": date(2027, 1, 1),  # a Friday bank holiday, the year turned
    "easter-sun": date(2027, 3, 28),  # Good Friday before it, Easter Monday after
    "leap-day": date(2028, 2, 29),  # a Tuesday
}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


@pytest.fixture
def store_url(request, db_path: Path, backend: str) -> str:
    """The store's URL: a file under tmp_path, or a fresh PostgreSQL database (backend "postgres")."""
    if backend == "postgres":
        return request.getfixturevalue("pg_store_url")
    return f"sqlite:///{db_path}"


@pytest.fixture
def ctx(store_url: str):
    """The admin who created the store, on a fixed day."""
    store, ctx = open_ready(store_url, username="admin", today_fn=lambda: TODAY)
    yield ctx
    store.dispose()


@pytest.fixture(params=list(ANY_DAYS.values()), ids=list(ANY_DAYS))
def any_day(request) -> date:
    """Today, for a test run once per day of ANY_DAYS (weekdays, weekends, bank holidays, year and leap days)."""
    return request.param


@pytest.fixture
def ctx_on(store_url: str):
    """``ctx_on(day)``: the admin of the test's store (the one ``ctx`` opens) on whatever day is given."""
    stores = []

    def on(day: date) -> Ctx:
        store, c = open_ready(store_url, username="admin", today_fn=lambda: day)
        stores.append(store)
        return c

    yield on
    for store in stores:
        store.dispose()


def make_user(ctx: Ctx, username: str, role: str = "navigator", lots: tuple[str, ...] = ()) -> Ctx:
    """Add a user directly (the users service may not exist yet) and return a context for them."""
    from datetime import datetime

    from sqlmodel import select

    from navigator.services import audit
    from navigator.store.models import Lot, User, UserLot

    with ctx.write() as s:
        u = User(username=username, name=username.title(), role=role, active=True, created_at=datetime.now(UTC))
        s.add(u)
        s.flush()
        for code in lots:
            lot = s.exec(select(Lot).where(Lot.code == code)).one()
            s.add(UserLot(user_id=u.id, lot_id=lot.id))
        audit.record(s, ctx, "user.add", "user", u.id, after={"username": username, "role": role})
    return Ctx(ctx.store, username=username, today_fn=ctx.today_fn)


def new_referral(
    ctx: Ctx,
    *,
    first="Ann",
    last="Smith",
    dob=date(1980, 1, 1),
    received=date(2026, 11, 2),
    locality="Maidstone",
    consent=True,
    navigator=None,
    nhs=None,
    source="gp",
):
    return J.receive_referral(
        ctx,
        ReferralInput(
            received_date=received,
            source=source,
            navigator=navigator,
            client=ClientInput(first, last, dob, locality, consent_to_share=consent, nhs_number=nhs),
        ),
    )


SWEMWBS_MID = [3, 3, 3, 3, 3, 3, 3]
SWEMWBS_HIGH = [4, 4, 4, 4, 4, 4, 4]


# ---------------------------------------------------------------- PostgreSQL (NAVIGATOR_TEST_PG_URL)
# .ci/run starts a throwaway cluster and exports NAVIGATOR_TEST_PG_URL; without it these skip.
# A module (or test) marked ``pytest.mark.both_backends`` runs each test that uses ``ctx`` twice:
# on a SQLite file and on a fresh PostgreSQL database.

PG_URL = os.environ.get("NAVIGATOR_TEST_PG_URL")


def pytest_configure(config):
    config.addinivalue_line("markers", "both_backends: run tests using ctx on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if {"pg_url", "pg_store_url", "pg_ctx"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.hookimpl(trylast=True)  # after the snapshot plugin has written the new SVGs
def pytest_sessionfinish(session, exitstatus):
    """`pytest --snapshot-update` also refreshes the guides' screenshots (docs/screenshots/update.py)."""
    if not session.config.getoption("--snapshot-update", default=False):
        return
    import importlib.util

    script = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "update.py"
    spec = importlib.util.spec_from_file_location("docs_screenshots_update", script)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()


@pytest.fixture
def backend(request) -> str:
    """sqlite, unless parametrized (both_backends) or NAVIGATOR_TEST_BACKEND=postgres runs everything on PG."""
    return getattr(request, "param", os.environ.get("NAVIGATOR_TEST_BACKEND", "sqlite"))


def _pg_server() -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG_URL).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


@contextmanager
def fresh_pg_database(template: str | None = None):
    """A new PostgreSQL database on the test server (empty, or a copy of ``template``); dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = "navtest_" + uuid.uuid4().hex[:12]
    with psycopg.connect(_pg_server(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_pg_server(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_template():
    """A database migrated and initialised once (admin "admin"); each test's store is a quick copy of it."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need NAVIGATOR_TEST_PG_URL (.ci/run starts a throwaway server)")
    from sqlalchemy.engine import make_url

    with fresh_pg_database() as url:
        store, _ = open_ready(url, username="admin", today_fn=lambda: TODAY)
        store.dispose()
        yield make_url(url).database


@pytest.fixture
def pg_store_url(pg_template):
    with fresh_pg_database(template=pg_template) as url:
        yield url


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database URL (postgresql+psycopg://...) for this test."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need NAVIGATOR_TEST_PG_URL (.ci/run starts a throwaway server)")
    with fresh_pg_database() as url:
        yield url


@pytest.fixture
def pg_ctx(pg_store_url: str):
    """The admin who created a PostgreSQL store, on the same fixed day as ``ctx``."""
    store, ctx = open_ready(pg_store_url, username="admin", today_fn=lambda: TODAY)
    yield ctx
    store.dispose()


def sound(report) -> bool:
    """doctor's report is healthy but for the one warning of a PostgreSQL database where pg-setup was never run
    (the database enforces no access yet: a finding for the team to act on, not damage)."""
    return all(f.ok or (f.check == "database access" and f.status == "warning") for f in report.findings)
