"""The audit trail: views, searches, exports and SARs are recorded; the database refuses edits; tampering shows.

Runs on SQLite and (with NAVIGATOR_TEST_PG_URL) on PostgreSQL.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from conftest import make_user, new_referral
from helpers.tamper import tamper_engine, tamper_sqlite
from navigator.cli import main
from navigator.domain.errors import AccessDenied
from navigator.services import audit
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.operations.sar import audit_history, subject_access
from navigator.store.models import AuditEvent

pytestmark = pytest.mark.both_backends


def _events(ctx, action=None):
    with ctx.read() as s:
        q = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            q = q.where(AuditEvent.action == action)
        return s.exec(q).all()


def _last(ctx):
    return _events(ctx)[-1]


# ---------------------------------------------------------------- what is recorded


def test_viewing_a_record_is_audited(ctx):
    ref = new_referral(ctx)
    n = len(_events(ctx))
    Q.journey_detail(ctx, ref.journey_id)
    ev = _last(ctx)
    assert len(_events(ctx)) == n + 1
    assert (ev.action, ev.client_id, ev.journey_id, ev.username) == (
        "view.journey",
        ref.client_id,
        ref.journey_id,
        "admin",
    )


def test_every_search_is_audited_with_what_was_asked(ctx):
    new_referral(ctx)
    Q.find(ctx, "Smith")
    Q.find(ctx, "nobody-by-that-name")
    searches = _events(ctx, "search")
    assert [json.loads(e.after) for e in searches] == [
        {"query": "Smith", "results": 1},
        {"query": "nobody-by-that-name", "results": 0},
    ]


def test_opening_outside_the_caseload_is_audited_with_the_reason(ctx):
    ref = new_referral(ctx)
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    Q.open_with_reason(nav, ref.client_id, "Covering for a colleague on leave")
    ev = _last(ctx)
    assert (ev.action, ev.username, ev.client_id) == ("access.grant", "nav", ref.client_id)
    assert "Covering" in ev.after


def test_subject_access_and_audit_history_are_audited(ctx, tmp_path):
    ref = new_referral(ctx)
    subject_access(ctx, ref.client_ref, tmp_path / "sar")
    assert _last(ctx).action == "sar.export" and _last(ctx).client_id == ref.client_id
    audit_history(ctx, ref.client_ref)
    assert _last(ctx).action == "view.audit" and _last(ctx).client_id == ref.client_id


def test_export_is_audited(ctx, tmp_path):
    export = pytest.importorskip("navigator.services.returns.export")
    new_referral(ctx)
    n = len(_events(ctx))
    export.export_month(ctx, "2026-11", tmp_path / "return.sqlite")
    new = _events(ctx)[n:]
    assert any("export" in e.action for e in new)


def test_import_is_audited_and_attributed(ctx, tmp_path):
    importer = pytest.importorskip("navigator.services.tracker_import.importer")
    make_user(ctx, "lead", "navigator", ("Lot 2",))
    admin2 = make_user(ctx, "admin2", "admin")
    n = len(_events(ctx))
    tracker = tmp_path / "tracker.csv"
    tracker.write_text(
        "client_ref,first_name,last_name,date_of_birth,locality,navigator,referral_source,"
        "received_date\nT1,Ivy,Imported,1975-05-05,Maidstone,lead,gp,2026-10-01\n",
        encoding="utf-8",
    )
    assert importer.import_file(admin2, tracker).ok
    new = _events(ctx)[n:]
    assert new[-1].action == "import" and {e.username for e in new} == {"admin2"}
    assert {"client.create", "journey.receive"} <= {e.action for e in new}
    with ctx.read() as s:
        assert audit.verify_chain(s) == []


def test_every_write_leaves_an_event_in_the_same_transaction(ctx):
    """A run through a journey: each step adds exactly the events it should, chained."""
    ref = new_referral(ctx)
    jid = ref.journey_id
    steps = [
        (lambda: J.log_contact(ctx, jid, date(2026, 11, 3), "phone", "spoke", "first call"), "journey.contact"),
        (lambda: J.decide(ctx, jid, "accepted", date(2026, 11, 4)), "journey.decide"),
        (lambda: J.start(ctx, jid, date(2026, 11, 5), [3] * 7), "journey.start"),
        (lambda: J.add_goal(ctx, jid, "connect", "I will join a walking group"), "goal.add"),
        (lambda: J.record_review(ctx, jid, date(2026, 11, 20), "going well"), "journey.review"),
        (lambda: J.record_measure(ctx, jid, "review", date(2026, 11, 20), [4] * 7), "measure.record"),
        (lambda: J.close(ctx, jid, date(2026, 11, 24), "completed", "joined the group", [4] * 7), "journey.close"),
    ]
    for step, action in steps:
        before = len(_events(ctx))
        step()
        new = _events(ctx)[before:]
        assert [e.action for e in new] == [action]
        assert new[0].journey_id == jid and new[0].client_id == ref.client_id
    with ctx.read() as s:
        assert audit.verify_chain(s) == []


# ---------------------------------------------------------------- append-only in the database


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET username = 'mallory'",
        "DELETE FROM audit_event",
        # Blanking text is retention's redaction, refused without a retention event (tests/test_audit_redaction.py).
        "UPDATE audit_event SET before = NULL, after = NULL, redacted = (1 = 1)",
    ],
)
def test_the_database_refuses_changes_to_the_audit_log(ctx, statement):
    new_referral(ctx)
    before = [(e.id, e.hash) for e in _events(ctx)]
    with pytest.raises(DBAPIError, match="append-only"), ctx.store.write_engine.begin() as conn:
        conn.execute(text(statement))
    assert [(e.id, e.hash) for e in _events(ctx)] == before


def test_raw_sqlite_cannot_edit_the_log_either(ctx, db_path, backend):
    if backend != "sqlite":
        pytest.skip("SQLite file only")
    new_referral(ctx)
    con = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM audit_event WHERE id = 1")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE audit_event SET after = NULL")
    finally:
        con.close()


def test_new_events_chain_the_hash_of_their_text(ctx, backend):
    """Version 3 (2, signed): the hash covers sha256(before/after), so retention can blank the text later."""
    ref = new_referral(ctx)
    J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke", "first call")
    ev = _events(ctx, "journey.contact")[0]
    assert ev.hash_version == (3 if backend == "sqlite" else 2) and not ev.redacted  # PostgreSQL: signed after pg-setup
    assert (ev.before_hash, ev.after_hash) == (audit.content_hash(ev.before), audit.content_hash(ev.after))
    assert "first call" in ev.after and ev.after_hash is not None


def test_tampering_is_detected(ctx, db_path, backend):
    ref = new_referral(ctx)
    J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke", "first call")
    target = _events(ctx, "journey.contact")[0].id
    edit = f"UPDATE audit_event SET after = REPLACE(after, 'first call', 'no call') WHERE id = {target}"
    if backend == "sqlite":
        ctx.store.dispose()
        tamper_sqlite(db_path, edit)
    else:
        tamper_engine(ctx.store.engine, edit)
    with ctx.read() as s:
        problems = audit.verify_chain(s)
    assert [p.event_id for p in problems] == [target]
    url_args = ["--db", str(db_path)] if backend == "sqlite" else ["--db-url", ctx.store.url]
    assert main(url_args + ["doctor"]) == 1


# ---------------------------------------------------------------- navigator audit --client


@pytest.fixture
def as_user(monkeypatch):
    def set_(name):
        monkeypatch.setattr("navigator.services.context.os_username", lambda: name)

    return set_


def _cli_db(ctx, db_path, backend):
    return ["--db", str(db_path)] if backend == "sqlite" else ["--db-url", ctx.store.url]


def test_audit_command_prints_who_when_what(ctx, db_path, backend, as_user, capsys):
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    ref = new_referral(ctx, first="[bold]Ann[/bold]")
    J.update_client(lead, ref.client_id, J.ClientInput("Anna", "Smith", date(1980, 1, 1), "Maidstone"))
    as_user("lead")
    assert main(_cli_db(ctx, db_path, backend) + ["audit", "--client", ref.client_ref]) == 0
    out = capsys.readouterr().out
    assert "client.create" in out and "journey.receive" in out and "client.update" in out
    assert "lead" in out and "admin" in out
    assert "first name: [bold]Ann[/bold]" in out  # markup in data is printed literally, never interpreted
    assert "Anna" in out
    assert _last(ctx).action == "view.audit" and _last(ctx).username == "lead"


def test_journey_audit_history_for_the_journey_screen(ctx):
    from navigator.services.operations.sar import journey_audit_history

    first = new_referral(ctx, received=date(2026, 10, 1))
    J.decide(ctx, first.journey_id, "rejected", date(2026, 10, 2), "out_of_area")
    second = J.receive_referral(ctx, J.ReferralInput(date(2026, 11, 2), "gp", client_id=first.client_id))
    J.log_contact(ctx, second.journey_id, date(2026, 11, 3), "phone", "spoke")
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    history = journey_audit_history(lead, second.journey_id)
    actions = [e.action for e in history.events]
    assert actions == ["client.create", "journey.receive", "journey.contact"]  # not the other journey's decision
    assert _last(ctx).action == "view.audit" and _last(ctx).journey_id == second.journey_id
    with pytest.raises(AccessDenied):
        journey_audit_history(make_user(ctx, "nav", "navigator", ("Lot 2",)), second.journey_id)


def test_audit_history_is_for_team_leads_of_the_lot_and_admins(ctx):
    ref = new_referral(ctx)  # Maidstone: Lot 2
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    other_lead = make_user(ctx, "lead1", "team_lead", ("Lot 1",))
    lead = make_user(ctx, "lead2", "team_lead", ("Lot 2",))
    for who in (nav, other_lead):
        with pytest.raises(AccessDenied):
            audit_history(who, ref.client_ref)
    assert audit_history(lead, ref.client_ref).events
    assert audit_history(ctx, ref.client_ref).events
