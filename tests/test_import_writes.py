"""The tracker import's write: per-row referral-time attributes, 'Not specified' programmes, one way to
create users, and no one waits: short batches that another process's saves slip between, all or
nothing under failure and SIGKILL (taken back by the next import or ``recover``)."""

from __future__ import annotations

import csv
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from conftest import new_referral
from navigator.services import audit
from navigator.services.setup import admin
from navigator.services.tracker_import import importer, writing
from navigator.store.models import AuditEvent, Client, Journey, OnwardReferral, Partner, Programme, Setting
from test_import import HEADER, dump, row, write
from test_roundtrip import HEADER as FULL_HEADER
from test_roundtrip import tracker_rows

CHILD = Path(__file__).parent / "helpers" / "import_child.py"


def _tracker(tmp_path: Path, n: int, name: str = "big.csv") -> Path:
    path = tmp_path / name
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=FULL_HEADER)
        w.writeheader()
        w.writerows(tracker_rows(n))
    return path


# ---------------------------------------------------------------- what is written


def test_each_journey_keeps_its_own_rows_locality_and_decile(ctx, tmp_path):
    body = (
        HEADER
        + ",imd_decile\n"
        + row(ref="M1", loc="Maidstone", received="2026-01-05")
        + ",2\n"
        + row(ref="M1", loc="Dover", received="2026-06-01")
        + ",9\n"
        + row(ref="M1", loc="Dover", received="2026-09-01")
        + ",\n"
    )
    assert importer.import_file(ctx, write(tmp_path, body)).ok
    with ctx.read() as s:
        got = {
            j.received_date: (j.locality_id, j.imd_decile, j.attributes_basis)
            for j in s.exec(select(Journey).order_by(Journey.received_date)).all()
        }
        names = {loc.id: loc.name for loc in admin.list_reference(ctx, "locality")}
    assert {d: (names[loc], imd, basis) for d, (loc, imd, basis) in got.items()} == {
        date(2026, 1, 5): ("Maidstone", 2, "import"),
        date(2026, 6, 1): ("Dover", 9, "import"),
        date(2026, 9, 1): ("Dover", None, "import"),
    }


def test_a_blank_programme_is_not_specified_never_a_guess(ctx, tmp_path):
    head = HEADER + ",onward_partner,onward_programme,onward_referral_date\n"
    started = dict(contact="2026-03-10", decision="accepted", decision_date="2026-03-11", start="2026-03-12")
    body = (
        head
        + row(ref="P1", **started)
        + ",Kent Money Advice,,2026-03-13\n"
        + row(ref="P2", **started)
        + ",New Partner Ltd,,2026-03-13\n"
        + row(ref="P3", **started)
        + ",New Partner Ltd,Walks,2026-03-13\n"
    )
    report = importer.import_file(ctx, write(tmp_path, body))
    assert report.ok, report.errors
    assert report.programmes_created == (
        "Kent Money Advice: Not specified",
        "New Partner Ltd: Not specified",
        "New Partner Ltd: Walks",
    )
    with ctx.read() as s:
        made = {
            c.client_ref: (p.name, g.name)
            for o, g, p, c in s.exec(
                select(OnwardReferral, Programme, Partner, Client)
                .join(Programme, Programme.id == OnwardReferral.programme_id)
                .join(Partner, Partner.id == Programme.partner_id)
                .join(Journey, Journey.id == OnwardReferral.journey_id)
                .join(Client, Client.id == Journey.client_id)
            ).all()
        }
        assert s.exec(select(Programme).where(Programme.name == "General referral")).first() is None
    assert made == {
        "P1": ("Kent Money Advice", "Not specified"),
        "P2": ("New Partner Ltd", "Not specified"),
        "P3": ("New Partner Ltd", "Walks"),
    }
    again = body.replace("P1", "Q1").replace("P2", "Q2").replace("P3", "Q3")
    assert importer.import_file(ctx, write(tmp_path, again, "again.csv")).programmes_created == ()


def test_users_partners_and_programmes_are_created_as_the_admin_service_creates_them(ctx, tmp_path):
    admin.add_user(ctx, "desk.made", "Desk Made", "navigator", ["Lot 2"])
    admin.add_partner(ctx, "Desk Partner")
    admin.add_programme(ctx, "Desk Partner", "Desk programme")
    body = (
        HEADER
        + ",onward_partner,onward_programme,onward_referral_date\n"
        + row(
            ref="U1",
            nav="file.made",
            contact="2026-03-10",
            decision="accepted",
            decision_date="2026-03-11",
            start="2026-03-12",
        )
        + ",File Partner,File programme,2026-03-13\n"
    )
    assert importer.import_file(ctx, write(tmp_path, body)).ok
    with ctx.read() as s:
        events = {
            (e.action, json.loads(e.after).get("username") or json.loads(e.after).get("name")): json.loads(e.after)
            for e in s.exec(
                select(AuditEvent).where(AuditEvent.action.in_(("user.add", "partner.add", "programme.add")))
            ).all()
        }
    shapes = {action: set(after) for (action, _), after in events.items()}
    assert set(events[("user.add", "file.made")]) == set(events[("user.add", "desk.made")])
    assert events[("user.add", "file.made")]["lots"] == ["Lot 2"]  # the lot of its rows' locality
    assert set(events[("partner.add", "File Partner")]) == set(events[("partner.add", "Desk Partner")])
    assert set(events[("programme.add", "File programme")]) == set(events[("programme.add", "Desk programme")])
    assert shapes["user.add"] == {"username", "name", "role", "active", "lots"}


# ---------------------------------------------------------------- all or nothing, in short batches


def test_a_failure_half_way_takes_back_every_batch(ctx, tmp_path, monkeypatch):
    new_referral(ctx)  # something already there to keep
    before = dump(ctx, skip=("audit_event",))
    path = _tracker(tmp_path, 120)
    monkeypatch.setattr(writing, "FIRST_BATCH", 10)
    monkeypatch.setattr(writing, "BATCH_SECONDS", 0.0)  # then batches of 20
    real = writing.Batches._one
    calls = []

    def flaky(self, built, prepare):
        calls.append(len(built.part))
        if len(calls) == 4:
            raise RuntimeError("disk on fire")
        return real(self, built, prepare)

    monkeypatch.setattr(writing.Batches, "_one", flaky)
    with pytest.raises(RuntimeError):
        importer.import_file(ctx, path)
    assert len(calls) == 4  # three batches were written (and committed) before the failure
    assert dump(ctx, skip=("audit_event",)) == before
    with ctx.read() as s:
        undo = s.exec(select(AuditEvent).where(AuditEvent.action == "import.undo")).one()
        assert json.loads(undo.after)["journeys"] == sum(calls[:3])  # the three batches written
        assert s.get(Setting, writing.PENDING) is None
        assert audit.verify_chain(s) == []
    monkeypatch.setattr(writing.Batches, "_one", real)
    report = importer.import_file(ctx, path)  # and the same file goes in whole afterwards
    assert report.ok and report.journeys_created == 120 and report.batches > 1


@pytest.mark.slow
def test_a_desk_save_during_a_long_import_succeeds(ctx, db_path, tmp_path):
    """Another process imports a few thousand rows; saves here go in between its batches."""
    path = _tracker(tmp_path, 3000)
    ctx.store.dispose()
    child = subprocess.Popen(
        [sys.executable, str(CHILD), f"sqlite:///{db_path}", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "READY", child.stderr.read()
        assert child.stdout.readline().strip() == "WRITING", child.stderr.read()
        saved = []
        while child.poll() is None and len(saved) < 20:
            ref = new_referral(ctx, first=f"Desk{len(saved)}", last="Save")  # raises on "locked"
            saved.append(ref.journey_id)
        out, err = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert out.strip() == "DONE 3000"
    assert len(saved) >= 1
    with ctx.read() as s:
        assert len(s.exec(select(Journey).where(Journey.id.in_(saved))).all()) == len(saved)
        assert len(s.exec(select(Journey)).all()) == 3000 + len(saved)
        events = s.exec(select(AuditEvent.action)).all()
        assert events.count("import") == 1
        assert audit.verify_chain(s) == []


def _consistent(db: Path) -> tuple[int, bool]:
    """(tracker journeys in the store, a pending marker left); the store's own checks pass."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        n = con.execute(
            "SELECT count(*) FROM journey j JOIN client c ON c.id = j.client_id WHERE c.client_ref LIKE 'T%'"
        ).fetchone()[0]
        pending = con.execute("SELECT 1 FROM setting WHERE key = ?", (writing.PENDING,)).fetchone() is not None
        # no journey without its audit event, no person without theirs
        assert (
            con.execute(
                "SELECT count(*) FROM journey WHERE id NOT IN "
                "(SELECT journey_id FROM audit_event WHERE action = 'journey.receive')"
            ).fetchone()[0]
            == 0
        )
        assert (
            con.execute(
                "SELECT count(*) FROM client WHERE id NOT IN (SELECT entity_id FROM audit_event WHERE action = 'client.create')"
            ).fetchone()[0]
            == 0
        )
    finally:
        con.close()
    return n, pending


@pytest.mark.slow
def test_sigkill_during_an_import_leaves_all_or_nothing(ctx, db_path, tmp_path):
    rows = 600
    path = _tracker(tmp_path, rows)
    ctx.store.dispose()
    rng = random.Random(20261206)
    outcomes = set()
    for _run in range(6):
        child = subprocess.Popen(
            [sys.executable, str(CHILD), f"sqlite:///{db_path}", str(path), "20"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout.readline().strip() == "READY", child.stderr.read()
            assert child.stdout.readline().strip() in ("WRITING", "DONE 0"), child.stderr.read()
            time.sleep(rng.uniform(0.0, 0.4))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        child.stdout.close()
        child.stderr.close()
        n, pending = _consistent(db_path)
        if pending:  # killed mid-write: what it wrote is visible until taken back, then none of it is
            removed = importer.recover(ctx)
            assert removed is not None and removed["journeys"] == n
            assert _consistent(db_path) == (0, False)
            outcomes.add("taken back")
        else:
            assert n in (0, rows)
            outcomes.add("whole" if n else "not started")
        ctx.store.dispose()
        with ctx.read() as s:
            assert audit.verify_chain(s) == []
        ctx.store.dispose()
        if n == rows and not pending:
            break
    assert "taken back" in outcomes


def test_one_import_at_a_time_and_a_dead_ones_marker_is_taken_back(ctx, tmp_path):
    import os
    import socket

    from navigator.domain.errors import DomainError
    from navigator.services.context import put_setting

    path = write(tmp_path, HEADER + "\n" + row() + "\n")
    alive = {"id": "x", "file": "other.csv", "pid": os.getpid(), "host": socket.gethostname(), "journeys": []}
    with ctx.write() as s:
        put_setting(s, writing.PENDING, alive, ctx.now())
    with pytest.raises(DomainError, match=r"Another import \(other.csv\) is being written"):
        importer.import_file(ctx, path)
    assert importer.recover(ctx) is None  # its process is running: not taken back
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with ctx.write() as s:
        put_setting(s, writing.PENDING, alive | {"pid": int(gone.stdout)}, ctx.now())
    report = importer.import_file(ctx, path)  # the dead one's marker is taken back first
    assert report.ok and report.journeys_created == 1
    with ctx.read() as s:
        assert s.get(Setting, writing.PENDING) is None
        assert [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()][-1] == "import"
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "import.undo")).all()) == 1


def test_the_import_command_takes_back_an_interrupted_import_first(tmp_path, capsys):
    from navigator.cli import main
    from navigator.services.context import Ctx, put_setting
    from navigator.store.engine import open_store

    db = tmp_path / "cli.sqlite3"
    assert main(["--db", str(db), "init", "--template", "kent"]) == 0
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store = open_store(f"sqlite:///{db}", create=False)
    ctx = Ctx(store)
    with ctx.write() as s:
        marker = {"id": "x", "file": "old.csv", "pid": int(gone.stdout), "host": __import__("socket").gethostname()}
        put_setting(s, writing.PENDING, marker, ctx.now())
    store.dispose()
    capsys.readouterr()
    assert main(["--db", str(db), "import", str(Path(__file__).parent / "data" / "tracker_good.csv")]) == 0
    out, err = capsys.readouterr()
    assert "An earlier import was interrupted" in " ".join(err.split())
    assert "8 rows imported" in " ".join(out.split())


def test_what_someone_added_to_an_imported_journey_meanwhile_goes_with_it(ctx, tmp_path, monkeypatch):
    from navigator.services.casework import journeys as J

    before = dump(ctx, skip=("audit_event",))
    path = _tracker(tmp_path, 80)
    monkeypatch.setattr(writing, "FIRST_BATCH", 40)
    monkeypatch.setattr(writing, "PAUSE_SECONDS", 0.0)
    real = writing.Batches._one
    calls = []

    def desk_then_fail(self, part, prepare):
        calls.append(1)
        if len(calls) == 2:
            with ctx.read() as s:
                jid = s.exec(select(Journey.id).where(Journey.state.in_(("received", "accepted", "started")))).first()
            J.log_contact(ctx, jid, date(2026, 11, 24), "phone", "spoke", "called about the import")
            raise RuntimeError("disk on fire")
        return real(self, part, prepare)

    monkeypatch.setattr(writing.Batches, "_one", desk_then_fail)
    with pytest.raises(RuntimeError):
        importer.import_file(ctx, path)
    assert dump(ctx, skip=("audit_event",)) == before


# ---------------------------------------------------------------- checked before the write lock (issue 16)


def _hold_write_lock(db: Path) -> sqlite3.Connection:
    """Another user's write transaction, open (the store's write lock taken) until it commits."""
    con = sqlite3.connect(db, isolation_level=None, timeout=0)
    con.execute("BEGIN IMMEDIATE")
    return con


def test_a_file_whose_last_row_is_bad_is_checked_without_the_write_lock(ctx, db_path, tmp_path, monkeypatch, backend):
    """Someone else holds the write lock for the whole import (SQLite): every row is still checked and the
    last one's fault reported, and the import never begins a write transaction (it would wait, then fail)."""
    rows = tracker_rows(300)
    rows[-1]["start_date"] = "2026-13-40"
    path = tmp_path / "bad_last.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=FULL_HEADER)
        w.writeheader()
        w.writerows(rows)
    before = dump(ctx)
    writes = []
    real_write = type(ctx).write

    def spy(self, **kw):
        writes.append(kw)
        return real_write(self, **kw)

    monkeypatch.setattr(type(ctx), "write", spy)
    other = _hold_write_lock(db_path) if backend == "sqlite" else None
    try:
        report = importer.import_file(ctx, path)
    finally:
        if other is not None:
            other.execute("ROLLBACK")
            other.close()
    assert not report.ok
    assert [(line, column) for line, column, _ in report.errors] == [(301, "start_date")]
    assert writes == []  # not one write transaction: nothing was even begun
    assert dump(ctx) == before


def test_a_good_file_is_checked_while_another_user_holds_the_write_lock(ctx, db_path, tmp_path, backend):
    """Every check (parsing, the rules, matching people, the duplicates) runs while another user's write
    transaction stays open; the import needs the lock only once it writes."""
    if backend != "sqlite":
        pytest.skip("SQLite's write lock, taken from another connection")
    path = _tracker(tmp_path, 400)
    other = _hold_write_lock(db_path)
    phases_while_held: list[str] = []

    def progress(phase: str, done: int, total: int) -> None:
        if other.in_transaction:
            if phase == "Writing":
                other.execute("COMMIT")  # the other user's save is done: the import writes now
            else:
                phases_while_held.append(phase)

    try:
        report = importer.import_file(ctx, path, progress=progress)
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
    assert report.ok and report.journeys_created == 400
    assert {"Checking", "Checking rules"} <= set(phases_while_held)


def test_a_save_while_a_batch_is_built_keeps_its_ids_and_the_batch_is_built_again(ctx, tmp_path, monkeypatch):
    """A batch is built (ids and all) before its write transaction; a desk save in between takes those
    ids, so it is built again inside its transaction. Both are kept, the chain holds, and the import's own
    id ranges (what an undo removes) never include the desk's records."""
    path = _tracker(tmp_path, 120)
    monkeypatch.setattr(writing, "FIRST_BATCH", 20)
    monkeypatch.setattr(writing, "BATCH_SECONDS", 0.0)
    real_one = writing.Batches._one
    desk: list[int] = []
    rebuilt: list[int] = []

    def desk_save_before_the_second(self, built, prepare):
        if len(rebuilt) == 1:
            desk.append(new_referral(ctx, first="Desk", last="Save", received=date(2026, 11, 20)).journey_id)
        out = real_one(self, built, prepare)
        rebuilt.append(self.rebuilt)
        return out

    monkeypatch.setattr(writing.Batches, "_one", desk_save_before_the_second)
    markers = []
    real_put = writing.put_setting
    monkeypatch.setattr(
        writing,
        "put_setting",
        lambda s, key, value, now: (markers.append(json.dumps(value)), real_put(s, key, value, now)),
    )
    report = importer.import_file(ctx, path)
    assert report.ok and report.journeys_created == 120
    assert rebuilt[:3] == [0, 1, 1]  # the second batch, its ids taken, was built again; the third on the next ids
    with ctx.read() as s:
        assert audit.verify_chain(s) == []
        journeys = s.exec(select(Journey)).all()
        assert len(journeys) == 121
        desk_journey = s.get(Journey, desk[0])
        desk_client = s.get(Client, desk_journey.client_id)
        assert desk_client.first_name == "Desk"
        assert {c.client_ref for c in s.exec(select(Client)).all()} - {desk_client.client_ref} == {
            f"T{i:04d}" for i in range(120)
        }
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "journey.receive")).all()
        assert sorted(e.entity_id for e in events) == sorted(j.id for j in journeys)
    last = json.loads(markers[-1])
    for key, record in (("journeys", desk_journey.id), ("clients", desk_client.id)):
        assert not any(lo <= record < hi for lo, hi in last[key])  # an undo would never take the desk's


def test_an_event_logged_between_batches_is_chained_in_order(ctx, tmp_path, monkeypatch):
    """Each batch's audit events are chained and signed before its write transaction, on the head the
    batch before leaves; an event someone logs in between (a view, a search: no new rows) moves the head,
    so the batch's events are chained again on it, and the chain verifies."""
    path = _tracker(tmp_path, 100)
    monkeypatch.setattr(writing, "FIRST_BATCH", 20)
    monkeypatch.setattr(writing, "BATCH_SECONDS", 0.0)
    real_one = writing.Batches._one
    calls: list[int] = []

    def view_before_some(self, built, prepare):
        calls.append(1)
        if len(calls) in (2, 4):
            with ctx.write() as s:
                audit.record(s, ctx, "search", "client", None, after={"query": "between batches"})
        return real_one(self, built, prepare)

    monkeypatch.setattr(writing.Batches, "_one", view_before_some)
    report = importer.import_file(ctx, path)
    assert report.ok and report.journeys_created == 100
    with ctx.read() as s:
        assert audit.verify_chain(s) == []
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "search")).all()) == 2
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "journey.receive")).all()) == 100
