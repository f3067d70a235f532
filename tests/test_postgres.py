"""PostgreSQL for teams: the same migrations and services on PostgreSQL, and moving a SQLite store there.

Needs NAVIGATOR_TEST_PG_URL (``.ci/run`` starts a throwaway PostgreSQL 15 on loopback); skips without it.
Other modules run on both backends too (``pytest.mark.both_backends``: audit trail, SAR, retention, roles,
concurrency); ``NAVIGATOR_TEST_BACKEND=postgres pytest`` runs every ``ctx`` test on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text
from sqlmodel import Session

from conftest import SWEMWBS_HIGH, SWEMWBS_MID, TODAY, make_user, new_referral
from navigator.cli import main
from navigator.domain.errors import AccessDenied, StoreError
from navigator.services import audit
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.operations.doctor import examine
from navigator.services.operations.migrate_store import migrate_store
from navigator.services.setup.reference import open_ready
from navigator.store.engine import current_revision, head_revision, open_store
from navigator.store.models import CalendarCorrection, metadata

pytestmark = pytest.mark.postgres


def _casework(ctx):
    """A small but complete service: users, every kind of record, a grant, a setting, a calendar fix."""
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    make_user(ctx, "lead", "team_lead", ("Lot 2",))
    other = make_user(ctx, "nav2", "navigator", ("Lot 2",))
    a = new_referral(ctx, first="Ann", navigator="nav", nhs="9434765919")
    J.log_contact(nav, a.journey_id, date(2026, 11, 3), "phone", "spoke", "keen")
    J.decide(nav, a.journey_id, "accepted", date(2026, 11, 4))
    J.start(nav, a.journey_id, date(2026, 11, 5), SWEMWBS_MID)
    g = J.add_goal(nav, a.journey_id, "connect", "I will join a choir")
    J.update_goal(nav, g, status="in_progress", note="first rehearsal")
    J.record_review(nav, a.journey_id, date(2026, 11, 19), "good progress", SWEMWBS_HIGH)
    o = J.make_onward(nav, a.journey_id, 1, date(2026, 11, 20), "emailed")
    J.partner_update(nav, o, "started", date(2026, 11, 23), "attended")
    b = new_referral(ctx, first="Bob", last="Jones", navigator="nav")
    J.decide(nav, b.journey_id, "rejected", date(2026, 11, 6), "out_of_area")
    c = new_referral(ctx, first="Cy", last="Ng", navigator="nav", received=date(2026, 11, 10))
    J.close(nav, c.journey_id, date(2026, 11, 24), "declined")
    Q.open_with_reason(other, a.client_id, "Covering Ann's navigator")
    Q.find(ctx, "Ann")
    with ctx.write() as s:
        s.add(CalendarCorrection(day=date(2026, 12, 29), is_working_day=False, note="office closed"))
        audit.record(s, ctx, "calendar.add", "calendar", None, after={"day": date(2026, 12, 29)})
    return a, b, c


def _utc(value):
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value


def _rows(engine, table):
    with engine.connect() as conn:
        order = list(table.primary_key.columns)
        return [tuple(_utc(v) for v in r) for r in conn.execute(select(table).order_by(*order))]


# ---------------------------------------------------------------- the same migrations and services


def test_migrations_and_append_only_audit_on_postgresql(pg_url):
    store, ctx = open_ready(pg_url, username="admin", today_fn=lambda: TODAY)
    try:
        assert current_revision(store.engine) == head_revision()
        with store.engine.connect() as conn:
            triggers = {
                r[0]
                for r in conn.execute(
                    text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal")
                )
            }
        assert triggers == {"audit_event_no_update", "audit_event_no_delete"}
        reopened = open_store(pg_url)  # already current: opens without migrating again
        reopened.dispose()
    finally:
        store.dispose()


def test_a_journey_from_referral_to_completion(pg_ctx):
    a, b, c = _casework(pg_ctx)
    ref = J.close(pg_ctx, a.journey_id, date(2026, 11, 25), "completed", "sings weekly", SWEMWBS_HIGH)
    assert ref.state == "completed"
    d = Q.journey_detail(pg_ctx, a.journey_id)
    assert d.state == "completed" and [m.raw for m in d.measures] == [21, 28, 28]
    assert d.onward[0].status == "started" and d.goals[0].notes[0][1] == "first rehearsal"
    assert {e.kind for e in d.timeline} >= {"received", "contact", "decision", "start", "goal", "review", "close"}
    with pg_ctx.read() as s:
        assert audit.verify_chain(s) == []


@pytest.mark.parametrize("sort", ["client", "ref", "locality", "state", "days", "next", "last_contact", "received"])
def test_caseload_sorts_and_filters(pg_ctx, sort):
    _casework(pg_ctx)
    from navigator.services.context import Ctx

    nav = Ctx(pg_ctx.store, username="nav", today_fn=pg_ctx.today_fn)
    for descending in (False, True):
        page = Q.caseload(nav, sort=sort, descending=descending, open_only=False)
        assert page.total == 3 and len(page.rows) == 3
    assert Q.caseload(nav, text_filter="ann", open_only=False).total == 1
    assert Q.caseload(nav, states=["rejected"]).total == 1
    assert Q.caseload(nav, locality="maidstone").total == 1  # open only: Ann


def test_today_and_find(pg_ctx):
    a, b, c = _casework(pg_ctx)
    from navigator.services.context import Ctx

    nav = Ctx(pg_ctx.store, username="nav", today_fn=pg_ctx.today_fn)
    assert Q.today(nav).navigator == "nav"
    for query in ("Ann", "ann smi", a.client_ref, "01/01/1980", "943 476 5919"):
        assert a.client_id in {h.client_id for h in Q.find(pg_ctx, query)}, query


def test_import_and_export_on_postgresql(pg_ctx, tmp_path):
    importer = pytest.importorskip("navigator.services.tracker_import.importer")
    export = pytest.importorskip("navigator.services.returns.export")
    csv_file = tmp_path / "tracker.csv"
    csv_file.write_text(
        "client_ref,first_name,last_name,date_of_birth,locality,navigator,referral_source,received_date,"
        "decision,decision_date,start_date\n"
        "T1,Ivy,Imported,1975-05-05,Maidstone,newnav,gp,2026-10-01,accepted,2026-10-03,2026-10-06\n"
        "T2,Jo,Imported,1985-06-06,Dartford,newnav,self,2026-10-02,,,\n",
        encoding="utf-8",
    )
    report = importer.import_file(pg_ctx, csv_file)
    assert report.ok
    result = export.export_month(pg_ctx, "2026-10", tmp_path / "return.sqlite")
    assert result.path.exists() if hasattr(result, "path") else (tmp_path / "return.sqlite").exists()
    with pg_ctx.read() as s:
        actions = {r[0] for r in s.execute(text("SELECT DISTINCT action FROM audit_event"))}
        assert any("export" in a for a in actions)
        assert audit.verify_chain(s) == []


def test_store_errors_are_clear_on_postgresql(pg_url, capsys):
    from sqlalchemy.engine import make_url

    bad = make_url(pg_url).set(database="no_such_database_here").render_as_string(hide_password=False)
    assert main(["--db-url", bad, "init"]) == 4
    err = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in err and "no_such_database_here" in err
    with pytest.raises(StoreError):
        open_store(bad)


# ---------------------------------------------------------------- navigator migrate-store


def test_migrate_store_copies_everything_and_the_chain_still_verifies(ctx, db_path, pg_url, monkeypatch, capsys):
    _casework(ctx)
    monkeypatch.setattr("navigator.services.context.os_username", lambda: "admin")
    assert main(["--db", str(db_path), "migrate-store", "--to", pg_url]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Every table matches" in out and "audit chain verifies" in out
    assert "password" not in out

    target = open_store(pg_url, create=False)
    try:
        for table in metadata.sorted_tables:  # every row, every column, identical (times compared in UTC)
            assert _rows(target.engine, table) == _rows(ctx.store.engine, table), table.name
        with Session(target.engine) as s:
            assert audit.verify_chain(s) == []
            assert (
                s.execute(text("SELECT action FROM audit_event ORDER BY id DESC LIMIT 1")).scalar() == "store.migrate"
            )
        report = examine(pg_url)  # healthy, but for the access set-up a team must still run (pg-setup)
        assert [f.check for f in report.problems] == ["database access"]
        assert report.problems[0].status == "warning" and "pg-setup" in report.problems[0].fix
        # The team carries on in PostgreSQL: new ids follow the copied ones, the chain goes on.
        from navigator.services.context import Ctx

        pg = Ctx(target, username="nav", today_fn=lambda: TODAY)
        ref = new_referral(pg, first="Newcomer", navigator="nav")
        assert ref.client_id == 4 and ref.journey_id == 4
        J.log_contact(pg, ref.journey_id, date(2026, 11, 24), "phone", "spoke")
        assert Q.journey_detail(pg, 1).client.first_name == "Ann"
        with Session(target.engine) as s:
            assert audit.verify_chain(s) == []
    finally:
        target.dispose()


def test_migrate_store_refuses_a_database_in_use(ctx, db_path, pg_ctx, monkeypatch, capsys):
    new_referral(ctx)
    new_referral(pg_ctx, first="Already", last="There")
    from helpers.dump import dump_engine

    before = dump_engine(pg_ctx.store.engine)
    monkeypatch.setattr("navigator.services.context.os_username", lambda: "admin")
    assert main(["--db", str(db_path), "migrate-store", "--to", pg_ctx.store.url]) == 4
    assert "already holds navigator data" in " ".join(capsys.readouterr().err.split())
    assert dump_engine(pg_ctx.store.engine) == before


def test_migrate_store_is_for_admins(ctx, pg_url):
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    with pytest.raises(AccessDenied):
        migrate_store(lead, pg_url)
