"""Crash safety: a process doing service writes is killed with SIGKILL at random moments, many times.

After every kill: ``PRAGMA integrity_check`` is ok, every write the child reported as committed is there
with all of its parts (person, journey, support area, follow-up tasks, contact, audit events), nothing is
half-written (no journey without its audit event, no contact without its event, ...), and the audit chain
still verifies.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session

from navigator.services import audit
from navigator.services.setup.reference import open_ready

CHILD = Path(__file__).parent / "helpers" / "crash_child.py"
KILLS = 15

pytestmark = pytest.mark.slow


def _check(db: Path, journeys: dict[int, tuple[str, int]], contacts: dict[int, tuple[str, int]]) -> int:
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        # Everything reported as committed is there, complete.
        for jid, (name, client_id) in journeys.items():
            row = con.execute(
                "SELECT j.client_id, c.first_name, j.reason FROM journey j JOIN client c "
                "ON c.id = j.client_id WHERE j.id = ?",
                (jid,),
            ).fetchone()
            assert row == (client_id, name, f"reason of {name}"), (jid, row)
            assert (
                con.execute("SELECT count(*) FROM journey_support_area WHERE journey_id = ?", (jid,)).fetchone()[0] == 1
            )
            assert con.execute("SELECT count(*) FROM task WHERE journey_id = ?", (jid,)).fetchone()[0] >= 1
        for cid, (name, jid) in contacts.items():
            row = con.execute("SELECT journey_id, note FROM contact_attempt WHERE id = ?", (cid,)).fetchone()
            assert row == (jid, f"note of {name}"), (cid, row)
        # Nothing half-written: every record has the audit event of the transaction that wrote it.
        events = con.execute("SELECT action, entity_id, journey_id, after FROM audit_event").fetchall()
        created = {e[1] for e in events if e[0] == "client.create"}
        received = {e[2] for e in events if e[0] == "journey.receive"}
        contacted = {json.loads(e[3])["contact"]["id"] for e in events if e[0] == "journey.contact"}
        clients = {r[0] for r in con.execute("SELECT id FROM client")}
        all_journeys = {r[0] for r in con.execute("SELECT id FROM journey")}
        all_contacts = {r[0] for r in con.execute("SELECT id FROM contact_attempt")}
        assert clients == created
        assert all_journeys == received
        assert all_contacts == contacted
        no_task = con.execute(
            "SELECT count(*) FROM journey j WHERE NOT EXISTS (SELECT 1 FROM task t WHERE t.journey_id = j.id)"
        ).fetchone()[0]
        assert no_task == 0
        n = len(all_journeys)
    finally:
        con.close()
    engine = create_engine(f"sqlite:///{db}")
    try:
        with Session(engine) as s:
            assert audit.verify_chain(s) == []
    finally:
        engine.dispose()
    return n


def test_sigkill_never_loses_or_half_writes(tmp_path):
    db = tmp_path / "crash.sqlite3"
    url = f"sqlite:///{db}"
    store, _ = open_ready(url, username="admin")
    store.dispose()
    rng = random.Random(20261125)
    journeys: dict[int, tuple[str, int]] = {}
    contacts: dict[int, tuple[str, int]] = {}
    for run in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, str(CHILD), url, str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert child.stdout.readline().strip() == "READY", child.stderr.read()
            time.sleep(rng.uniform(0.05, 0.6))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == -signal.SIGKILL, child.stderr.read()  # killed mid-loop, not crashed
        for line in child.stdout.read().splitlines():
            kind, name, jid, other = line.split()
            if kind == "J":
                journeys[int(jid)] = (name, int(other))
            else:
                contacts[int(other)] = (name, int(jid))
        child.stdout.close()
        child.stderr.close()
        stored = _check(db, journeys, contacts)
        assert stored >= len(journeys)
    assert len(journeys) >= 5  # the children did real work between kills
