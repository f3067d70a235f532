"""Concurrency: two processes (a navigator and a team lead) writing to one store never meet "database is
locked"; two edits of the same record from stale copies never silently overwrite each other.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from conftest import make_user, new_referral
from navigator.domain.errors import ConflictError
from navigator.services import audit
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.store.models import AuditEvent, Client, Journey

pytestmark = pytest.mark.both_backends

CHILD = Path(__file__).parent / "helpers" / "writer_child.py"
COUNT = 25


def test_sqlite_connections_are_set_up_for_sharing(ctx, backend):
    if backend != "sqlite":
        pytest.skip("SQLite settings")
    with ctx.store.write_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    # Writes take the write lock when they begin (BEGIN IMMEDIATE), so a read-then-write transaction can
    # wait for another writer instead of failing half-way with "database is locked".
    with ctx.write() as s:
        assert s.connection().exec_driver_sql("PRAGMA main.locking_mode").scalar() == "normal"
        import sqlite3

        other = sqlite3.connect(ctx.store.path, timeout=0)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_two_processes_writing_at_once_never_see_locked(ctx, tmp_path):
    make_user(ctx, "nav", "navigator", ("Lot 2",))
    make_user(ctx, "lead", "team_lead", ("Lot 2",))
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(CHILD), ctx.store.url, user, role, str(COUNT), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for user, role in (("nav", "navigator"), ("lead", "team_lead"))
    ]
    go.touch()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        outputs.append((p.returncode, out, err))
    for rc, out, err in outputs:
        assert "locked" not in (out + err).lower()
        assert rc == 0 and out.strip() == f"DONE {COUNT}", out + err
    with ctx.read() as s:
        assert len(s.exec(select(Journey)).all()) == 2 * COUNT
        actions = [e.action for e in s.exec(select(AuditEvent)).all()]
        assert actions.count("journey.receive") == 2 * COUNT
        assert actions.count("journey.contact") == COUNT and actions.count("journey.decide") == COUNT
        assert actions.count("view.journey") == COUNT and actions.count("search") == COUNT
        assert audit.verify_chain(s) == []  # both writers kept one unbroken chain


# ---------------------------------------------------------------- stale copies


def test_stale_client_edit_is_refused_with_who_and_when(ctx):
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    ref = new_referral(ctx, navigator="nav")
    opened_by_nav = Q.journey_detail(nav, ref.journey_id).client.version
    opened_by_lead = Q.journey_detail(lead, ref.journey_id).client.version
    assert opened_by_nav == opened_by_lead == 1

    J.update_client(
        nav,
        ref.client_id,
        J.ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", phone="07700 900001", consent_to_share=True),
        expected_version=opened_by_nav,
    )
    with pytest.raises(ConflictError) as err:
        J.update_client(
            lead,
            ref.client_id,
            J.ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", phone="07700 900999", consent_to_share=True),
            expected_version=opened_by_lead,
        )
    message = str(err.value)
    assert "changed by nav at 2026-" in message and "reload" in message
    with ctx.read() as s:
        client = s.get(Client, ref.client_id)
        assert client.phone == "07700 900001" and client.version == 2  # the first save stands
    # Reloaded, the lead's edit goes through.
    J.update_client(
        lead,
        ref.client_id,
        J.ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", phone="07700 900999", consent_to_share=True),
        expected_version=2,
    )


def test_stale_journey_step_is_refused_with_who_and_when(ctx):
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    ref = new_referral(ctx, navigator="nav")
    seen_by_nav = Q.journey_detail(nav, ref.journey_id).version
    seen_by_lead = Q.journey_detail(lead, ref.journey_id).version
    J.decide(lead, ref.journey_id, "accepted", date(2026, 11, 4), expected_version=seen_by_lead)
    with pytest.raises(ConflictError, match="changed by lead at 2026-"):
        J.decide(nav, ref.journey_id, "rejected", date(2026, 11, 5), "out_of_area", expected_version=seen_by_nav)
    with ctx.read() as s:
        j = s.get(Journey, ref.journey_id)
        assert (j.state, j.decision, j.decision_date) == ("accepted", "accepted", date(2026, 11, 4))
        assert [
            e.action
            for e in s.exec(select(AuditEvent).where(AuditEvent.journey_id == j.id).order_by(AuditEvent.id)).all()
        ].count("journey.decide") == 1
