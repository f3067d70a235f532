"""Issue 14's attacks, each as a test: who you are, a log that cannot be quietly rewritten, backups
that are whole or absent, and the small ones. (SQLite; PostgreSQL's roles and row-level security
come with per-person logins.)"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlmodel import select

from conftest import TODAY, make_user, new_referral
from helpers.tamper import tamper_sqlite
from navigator.cli import main
from navigator.domain.errors import StoreError
from navigator.services import audit
from navigator.services.context import Ctx, os_username
from navigator.services.operations import doctor
from navigator.services.operations.backup import ensure_daily_backup, list_backups, take_backup
from navigator.services.operations.doctor import PROBLEM, examine

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def plenty_of_disk(monkeypatch):
    from collections import namedtuple

    usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda p: usage(10**12, 0, 10**11))


def _finding(url, check):
    return {f.check: f for f in examine(url).findings}[check]


def _many_events(ctx, n):
    with ctx.write() as s:
        audit.writer(s, ctx).add_many(("test.event", "test", i, None, None, None, {"i": i}) for i in range(n))


def _closed(ctx):
    """Close the store the way navigator does at exit (the checkpoint is written then)."""
    ctx.store.dispose()


# ---------------------------------------------------------------- identity


def test_the_user_is_the_os_account_never_an_environment_variable(ctx, db_path, monkeypatch, capsys):
    """`env LOGNAME=admin navigator users add evil1 --role admin`, run by a navigator, is refused."""
    me = os_username()
    make_user(ctx, me, "navigator")
    _closed(ctx)
    con = sqlite3.connect(db_path)
    events_as_admin = con.execute("SELECT count(*) FROM audit_event WHERE username = 'admin'").fetchone()[0]
    con.close()
    for var in ("LOGNAME", "USER", "USERNAME", "LNAME"):
        monkeypatch.setenv(var, "admin")
    assert main(["--db", str(db_path), "users", "add", "evil1", "--name", "Evil", "--role", "admin"]) == 3
    assert "admin" in capsys.readouterr().err.lower()
    con = sqlite3.connect(db_path)
    try:
        assert con.execute("SELECT count(*) FROM user WHERE username = 'evil1'").fetchone()[0] == 0
        # Nothing was recorded under the forged name either.
        assert con.execute("SELECT count(*) FROM audit_event WHERE username = 'admin'").fetchone()[0] == events_as_admin
    finally:
        con.close()


def test_os_username_comes_from_the_uid(monkeypatch):
    import pwd

    monkeypatch.setenv("LOGNAME", "somebody_else")
    monkeypatch.setenv("USER", "somebody_else")
    assert os_username() == pwd.getpwuid(os.geteuid()).pw_name


def test_as_stays_an_audited_admin_feature(ctx, db_path, monkeypatch, capsys):
    new_referral(ctx)
    make_user(ctx, "lead", "team_lead")
    make_user(ctx, os_username(), "admin")
    _closed(ctx)
    monkeypatch.setenv("LOGNAME", "lead")
    assert main(["--db", str(db_path), "--as", "lead", "audit", "--client", "NAV000001"]) == 0
    con = sqlite3.connect(db_path)
    try:
        rows = con.execute("SELECT username, acting_as FROM audit_event WHERE username = 'lead'").fetchall()
    finally:
        con.close()
    assert rows and all(acting == os_username() for _, acting in rows)


# ---------------------------------------------------------------- the audit chain


def test_a_new_store_has_its_key_beside_it_readable_by_its_owner_only(ctx, db_path):
    key = db_path.with_name(db_path.name + ".audit-key")
    assert key.exists() and (key.stat().st_mode & 0o777) == 0o600
    new_referral(ctx)
    with ctx.read() as s:
        versions = {v for (v,) in s.execute(audit.text("SELECT DISTINCT hash_version FROM audit_event"))}
    assert versions == {3}


def test_dropping_the_triggers_and_deleting_the_last_500_events_is_found(ctx, db_path):
    new_referral(ctx)
    _many_events(ctx, 600)
    _closed(ctx)
    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("DROP TRIGGER audit_event_no_delete")
    con.execute("DROP TRIGGER audit_event_no_update")
    con.execute("DELETE FROM audit_event WHERE id > (SELECT max(id) - 500 FROM audit_event)")
    con.close()
    report = examine(f"sqlite:///{db_path}")
    checks = {f.check: f for f in report.findings}
    assert checks["audit chain"].status == "ok"  # what is left still chains...
    assert checks["audit checkpoint"].status == PROBLEM and "deleted" in checks["audit checkpoint"].detail
    assert checks["audit triggers"].status == PROBLEM
    assert main(["--db", str(db_path), "doctor"]) == 1
    # ...and the evidence stays: the checkpoint is not moved back by the next close or doctor run.
    assert _finding(f"sqlite:///{db_path}", "audit checkpoint").status == PROBLEM


def test_deleting_every_event_is_found(ctx, db_path):
    new_referral(ctx)
    _closed(ctx)
    tamper_sqlite(db_path, "DELETE FROM audit_event")
    assert _finding(f"sqlite:///{db_path}", "audit checkpoint").status == PROBLEM


def test_deleting_the_checkpoint_file_too_is_found_by_the_backups_sidecar(ctx, db_path):
    new_referral(ctx)
    take_backup(ctx.store)
    _closed(ctx)
    db_path.with_name(db_path.name + ".audit-checkpoint").unlink()
    tamper_sqlite(db_path, "DELETE FROM audit_event")
    f = _finding(f"sqlite:///{db_path}", "audit checkpoint")
    assert f.status == PROBLEM and "backup" in f.detail


def _v2(prev, r):
    return audit.event_hash_v2(prev, *r[1:9], r[9], r[10])


def test_rehashing_after_an_edit_is_found(ctx, db_path):
    """Edit an event, then recompute every hash from there on (without the key)."""
    new_referral(ctx)
    new_referral(ctx, first="Bob", last="Jones")
    _closed(ctx)
    con = sqlite3.connect(db_path)
    rows = con.execute(
        "SELECT id, at, username, acting_as, action, entity, entity_id, client_id, journey_id, before_hash, "
        "after_hash, after FROM audit_event ORDER BY id"
    ).fetchall()
    con.close()
    target = rows[2][0]
    statements, prev = [], audit.GENESIS
    for r in rows:
        r = list(r)
        r[1] = audit._stored_at_text(r[1])
        if r[0] == target:
            r[2] = "someone_else"
        # The attacker does not have the key: the v3 payload, hashed without it.
        h = hashlib.sha256(json.dumps(["v3", prev, *r[1:11]], ensure_ascii=False).encode()).hexdigest()
        statements.append(
            f"UPDATE audit_event SET username = '{r[2]}', prev_hash = '{prev}', hash = '{h}' WHERE id = {r[0]}"
        )
        prev = h
    tamper_sqlite(db_path, *statements)
    chain = _finding(f"sqlite:///{db_path}", "audit chain")
    assert chain.status == PROBLEM and "changed after it was written" in chain.detail


def test_a_forged_event_appended_as_another_user_is_found(ctx, db_path):
    new_referral(ctx)
    _closed(ctx)
    con = sqlite3.connect(db_path)
    prev = con.execute("SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1").fetchone()[0]
    con.close()
    at = "2026-11-25T10:00:00.000000"
    after = '{"role": "admin", "username": "evil"}'
    ah = audit.content_hash(after)
    for version, h in (
        (2, audit.event_hash_v2(prev, at, "admin", None, "user.add", "user", 99, None, None, None, ah)),
        (3, audit.event_hash_v3(b"k" * 32, prev, at, "admin", None, "user.add", "user", 99, None, None, None, ah)),
    ):
        copy = db_path.with_name(f"forged{version}.sqlite3")
        copy.write_bytes(db_path.read_bytes())
        for suffix in (".audit-key",):
            copy.with_name(copy.name + suffix).write_bytes(db_path.with_name(db_path.name + suffix).read_bytes())
        con = sqlite3.connect(copy)
        con.execute(
            "INSERT INTO audit_event (at, username, action, entity, entity_id, after, prev_hash, hash, after_hash, "
            f"redacted, hash_version) VALUES ('{at}', 'admin', 'user.add', 'user', 99, '{after}', '{prev}', '{h}', "
            f"'{ah}', 0, {version})"
        )
        con.commit()
        con.close()
        chain = _finding(f"sqlite:///{copy}", "audit chain")
        assert chain.status == PROBLEM, version


def test_a_forged_retention_event_does_not_unlock_redaction(ctx, db_path):
    ref = new_referral(ctx)
    with ctx.read() as s:
        about = [e.id for e in s.exec(select(audit.AuditEvent).where(audit.AuditEvent.client_id == ref.client_id))]
        prev = audit.last_hash(s)
    at = "2026-11-25T10:00:00.000000"
    h = audit.event_hash_v3(
        b"x" * 32,
        prev,
        at,
        "admin",
        None,
        audit.RETENTION_ACTION,
        "client",
        ref.client_id,
        ref.client_id,
        None,
        None,
        None,
    )
    with ctx.store.write_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO audit_event (at, username, action, entity, entity_id, client_id, prev_hash, hash, "
            f"redacted, hash_version) VALUES ('{at}', 'admin', '{audit.RETENTION_ACTION}', 'client', "
            f"{ref.client_id}, {ref.client_id}, '{prev}', '{h}', 0, 3)"
        )
    # navigator itself will not redact on the strength of it...
    with pytest.raises(StoreError), ctx.write() as s:
        audit.redact_events(s, about)
    # ...and a redaction done behind its back (the trigger cannot check a signature) is found.
    with ctx.store.write_engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE audit_event SET before = NULL, after = NULL, redacted = 1 WHERE id IN ({','.join(map(str, about))})"
        )
    with ctx.read() as s:
        problems = {(p.event_id, p.problem) for p in audit.verify_chain(s)}
    assert all((eid, audit.UNAUTHORISED) in problems for eid in about)
    assert any(p == audit.CHANGED for _, p in problems)


def test_an_older_stores_first_signed_event_anchors_its_unsigned_log(ctx, db_path):
    new_referral(ctx)
    _closed(ctx)
    key = db_path.with_name(db_path.name + ".audit-key")
    # An older store: unsigned (version 2) events, no key yet.
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT count(*) FROM audit_event WHERE hash_version = 3").fetchone()[0] > 0
    con.close()
    key.unlink()
    chain = _finding(f"sqlite:///{db_path}", "audit chain")
    assert chain.status == PROBLEM and "key is missing" in chain.detail


# ---------------------------------------------------------------- backups whole or absent

_SLOW_BACKUP = textwrap.dedent(
    """
    import sys, time
    from navigator.store import engine
    from navigator.services.operations.backup import take_backup
    def slow(status, remaining, total):
        print("COPYING", flush=True)
        time.sleep(0.2)
    engine._backup_progress = slow
    store = engine.open_store(sys.argv[1], create=False)
    take_backup(store, kind="daily")
    print("DONE", flush=True)
    """
)


def test_a_backup_killed_half_way_never_counts_and_is_removed_next_start(ctx, db_path):
    new_referral(ctx)
    _many_events(ctx, 3000)  # a few hundred pages: the copy takes several steps
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    child = subprocess.Popen(
        [sys.executable, "-c", _SLOW_BACKUP, ctx.store.url], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout.readline().strip() == "COPYING"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    folder = db_path.parent / "backups"
    partial = [p for p in folder.iterdir() if ".partial-" in p.name]
    assert partial and all((p.stat().st_mode & 0o777) == 0o600 for p in partial)
    assert list_backups(db_path) == []  # it does not stand in for today's backup
    result = ensure_daily_backup(ctx.store, keep=7)  # the next start
    assert result is not None and [p.name for p in folder.iterdir() if ".partial-" in p.name] == []
    assert list_backups(db_path) == [result.path]
    assert _finding(ctx.store.url, "backups").status == "ok"


def test_doctor_opens_the_newest_backup_and_checks_it(ctx, db_path):
    new_referral(ctx)
    result = take_backup(ctx.store, kind="daily")
    assert _finding(ctx.store.url, "backups").status == "ok"
    data = result.path.read_bytes()
    result.path.write_bytes(data[: len(data) // 3])  # half a file under a backup's name
    f = _finding(ctx.store.url, "backups")
    assert f.status == PROBLEM and result.path.name in f.detail


# ---------------------------------------------------------------- the small ones


def test_a_fifo_is_refused_as_a_store_without_hanging(tmp_path, capsys):
    fifo = tmp_path / "store.sqlite3"
    os.mkfifo(fifo)
    assert main(["--db", str(fifo), "doctor"]) == 1
    assert "not a regular file" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(StoreError, match="regular file"):
        from navigator.store.engine import open_store

        open_store(f"sqlite:///{fifo}")
    backup = tmp_path / "offered.sqlite3"
    os.mkfifo(backup)
    real = tmp_path / "real.sqlite3"
    assert main(["--db", str(real), "restore", str(backup)]) == 4
    assert "regular file" in " ".join(capsys.readouterr().err.split())


def test_a_reference_cannot_make_sar_write_outside_its_folder(ctx, tmp_path):
    from navigator.services.operations.sar import subject_access

    ref = new_referral(ctx)
    with ctx.store.write_engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE client SET client_ref = '../../x/evil' WHERE id = {ref.client_id}")
    out = tmp_path / "a" / "b" / "sar"
    result = subject_access(ctx, "../../x/evil", out)
    assert result.json_path.parent == out and result.html_path.parent == out
    assert ".." not in result.json_path.name and "/" not in result.json_path.name
    assert not (tmp_path / "a" / "x").exists()
    assert sorted(p.name for p in out.iterdir()) == sorted([result.json_path.name, result.html_path.name])


def test_letters_render_of_an_impossible_id_is_a_clear_message(ctx, db_path, tmp_path, capsys):
    make_user(ctx, os_username(), "admin")
    _closed(ctx)
    with pytest.raises(SystemExit) as stop:
        main(["--db", str(db_path), "letters", "render", "9" * 30, "opt_in_letter", "--out", str(tmp_path / "l.txt")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "there is no record" in err and "unexpected" not in err


def _disk_full(*args, **kwargs):
    import errno

    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_letters_render_on_a_full_disk_is_a_clear_message_and_leaves_no_file(
    ctx, db_path, tmp_path, monkeypatch, capsys
):
    from navigator.cli import letters as letters_cli

    new_referral(ctx)
    make_user(ctx, os_username(), "admin")
    _closed(ctx)
    out = tmp_path / "letters"
    out.mkdir()
    monkeypatch.setattr(letters_cli, "_write_all", _disk_full)
    code = main(["--db", str(db_path), "letters", "render", "1", "opt_in_letter", "--out", str(out / "l.txt")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 4 and "disk" in err and "full" in err and "unexpected" not in err, err
    assert list(out.iterdir()) == []  # no temporary file left behind


def test_export_on_a_full_disk_is_a_clear_message_and_leaves_no_temp_file(ctx, db_path, tmp_path, monkeypatch, capsys):
    from navigator.services.returns import export

    new_referral(ctx)
    make_user(ctx, os_username(), "admin")
    _closed(ctx)
    out = tmp_path / "returns"
    out.mkdir()
    monkeypatch.setattr(export, "_place", _disk_full)
    code = main(["--db", str(db_path), "export", "--publication", "--month", "2026-11", "--out", str(out / "r.sqlite")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 4 and "No space left on device" in err and "unexpected" not in err
    assert list(out.iterdir()) == []


def _nhs(i: int) -> str:
    from navigator.domain.identifiers import nhs_check_digit

    n = 400000000 + (i * 7919) % 500000000
    while True:
        nine = f"{n:09d}"
        check = nhs_check_digit(nine)
        if check is not None:
            return nine + str(check)
        n += 1


def _copies(ctx, client_id: int, n: int) -> list[str]:
    """``n`` copies of a person and their journey (raw SQL, fast), each with its own NHS number."""
    numbers = [_nhs(k) for k in range(n)]
    with ctx.store.write_engine.begin() as conn:
        ccols = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(client)") if r[1] != "id"]
        jcols = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(journey)") if r[1] != "id"]
        top = conn.exec_driver_sql("SELECT max(id) FROM client").scalar()
        jid = conn.exec_driver_sql(f"SELECT id FROM journey WHERE client_id = {client_id}").scalar()
        for k, nhs in enumerate(numbers, start=1):
            new = top + k
            sel = ", ".join({"client_ref": f"'NAVX{k:06d}'", "nhs_number": f"'{nhs}'"}.get(c, f'"{c}"') for c in ccols)
            conn.exec_driver_sql(
                f"INSERT INTO client (id, {', '.join(chr(34) + c + chr(34) for c in ccols)}) "
                f"SELECT {new}, {sel} FROM client WHERE id = {client_id}"
            )
            jsel = ", ".join(str(new) if c == "client_id" else f'"{c}"' for c in jcols)
            conn.exec_driver_sql(
                f"INSERT INTO journey ({', '.join(chr(34) + c + chr(34) for c in jcols)}) "
                f"SELECT {jsel} FROM journey WHERE id = {jid}"
            )
    return numbers


def test_retention_leaves_no_nhs_number_in_the_files_bytes(ctx, db_path):
    """Enough people that the NHS number index has interior pages (which hold copies of keys as
    dividers): after retention not one of their NHS numbers is left in the file or its WAL."""
    from datetime import date

    from navigator.services.casework import journeys as J
    from navigator.services.operations import retention

    person = J.ClientInput("Old", "Person", date(1970, 1, 1), "Maidstone", nhs_number=_nhs(99999))
    ref = J.receive_referral(ctx, J.ReferralInput(date(2015, 3, 2), "gp", client=person))
    J.decide(ctx, ref.journey_id, "rejected", date(2015, 3, 3), "out_of_area")
    numbers = _copies(ctx, ref.client_id, 800)
    report = retention.apply(ctx)
    assert report.anonymised == 801
    ctx.store.dispose()
    data = b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*") if p.is_file())
    assert [n for n in numbers if n.encode() in data] == []


def test_an_interrupted_migrate_store_is_never_adopted_and_can_be_resumed(ctx, tmp_path, capsys):
    from navigator.services.operations.migrate_store import migrate_store
    from navigator.store.engine import open_store

    new_referral(ctx)
    team = tmp_path / "team.sqlite3"
    url = f"sqlite:///{team}"

    def killed(table, n):
        if table == "client":
            raise RuntimeError("killed half-way")

    with pytest.raises(RuntimeError):
        migrate_store(ctx, url, progress=killed)
    # The empty schema is not adopted: whoever opens it next does not become its admin.
    with pytest.raises(StoreError, match="half-way through `navigator migrate-store`"):
        open_store(url)
    assert main(["--db", str(team), "users", "list"]) == 4
    assert "half-way" in " ".join(capsys.readouterr().err.split())
    con = sqlite3.connect(team)
    assert con.execute('SELECT count(*) FROM "user"').fetchone()[0] == 0
    con.close()
    # Running it again finishes the move; the copied log verifies with the source's key.
    result = migrate_store(ctx, url)
    assert result.ok
    store = open_store(url)
    try:
        with Ctx(store, username="admin").read() as s:
            assert audit.verify_chain(s) == []
    finally:
        store.dispose()
    assert examine(url).healthy


def test_a_store_failing_its_integrity_check_is_read_only_until_repaired(ctx, db_path, tmp_path, capsys):
    from navigator.services.operations.backup import restore
    from navigator.store.engine import open_store

    new_referral(ctx)
    good = take_backup(ctx.store, tmp_path / "good.sqlite3").path
    new_referral(ctx, first="Bob", last="Jones")
    _closed(ctx)
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_client_name_dob'").fetchone()[0]
    con.close()
    with open(db_path, "r+b") as fh:  # scribble over the cells at the end of an index page
        fh.seek(root * page_size - 64)
        fh.write(b"\xff" * 64)
    assert main(["--db", str(db_path), "doctor"]) == 1
    assert "read-only until it is repaired" in " ".join(capsys.readouterr().out.split())
    store = open_store(f"sqlite:///{db_path}", create=False)
    try:
        writer = Ctx(store, username="admin", today_fn=lambda: TODAY)
        with pytest.raises(StoreError, match="read-only until it is repaired"):
            new_referral(writer, first="Carol", last="Lost")
        assert writer.actor().username == "admin"  # reading still works
    finally:
        store.dispose()
    restore(db_path, good)  # the repair: writable again
    store = open_store(f"sqlite:///{db_path}", create=False)
    try:
        new_referral(Ctx(store, username="admin", today_fn=lambda: TODAY), first="Carol", last="Saved")
    finally:
        store.dispose()
    assert examine(f"sqlite:///{db_path}").healthy


_SLOW_RETENTION = textwrap.dedent(
    """
    import sys
    from datetime import date
    from navigator.services.context import Ctx
    from navigator.services.operations import retention
    from navigator.store.engine import open_store
    retention.BATCH_SECONDS = 0.03
    retention.PAUSE_SECONDS = 0.15
    store = open_store(sys.argv[1], create=False)
    print("READY", flush=True)
    retention.apply(Ctx(store, username="admin", today_fn=lambda: date(2026, 11, 25)))
    print("DONE", flush=True)
    """
)


def _anonymised(path) -> int:
    con = sqlite3.connect(path, timeout=15)
    try:
        return con.execute("SELECT count(*) FROM client WHERE anonymised").fetchone()[0]
    finally:
        con.close()


def test_retention_in_short_batches_lets_others_save_and_is_whole_per_person_under_sigkill(ctx, db_path):
    import time
    from datetime import date

    from navigator.services.casework import journeys as J
    from navigator.services.operations import retention

    person = J.ClientInput("Old", "Person", date(1970, 1, 1), "Maidstone", nhs_number=_nhs(99999))
    ref = J.receive_referral(ctx, J.ReferralInput(date(2015, 3, 2), "gp", client=person, reason="old reason"))
    J.decide(ctx, ref.journey_id, "rejected", date(2015, 3, 3), "out_of_area")
    _copies(ctx, ref.client_id, 150)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    child = subprocess.Popen(
        [sys.executable, "-c", _SLOW_RETENTION, ctx.store.url], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout.readline().strip() == "READY"
        while _anonymised(db_path) == 0 and child.poll() is None:
            time.sleep(0.02)
        # A navigator's save in the middle of the run: it does not wait for the whole run.
        mine = new_referral(ctx, first="Current", last="Person")
        with ctx.read() as s:
            my_event = s.exec(select(audit.AuditEvent.id).where(audit.AuditEvent.client_id == mine.client_id)).first()
        seen = _anonymised(db_path)
        while _anonymised(db_path) == seen and child.poll() is None:
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    con = sqlite3.connect(db_path)
    later = con.execute(
        "SELECT count(*) FROM audit_event WHERE action = 'retention.anonymise' AND id > ?", (my_event,)
    ).fetchone()[0]
    assert later > 0  # retention went on after the save: the save got in half-way
    people = con.execute(
        "SELECT c.id, c.anonymised, c.first_name, c.nhs_number, j.reason FROM client c JOIN journey j "
        "ON j.client_id = c.id WHERE c.id <> ?",
        (mine.client_id,),
    ).fetchall()
    events = {cid for (cid,) in con.execute("SELECT client_id FROM audit_event WHERE action = 'retention.anonymise'")}
    texts = {
        cid
        for (cid,) in con.execute(
            "SELECT DISTINCT client_id FROM audit_event WHERE client_id IS NOT NULL AND "
            "(before IS NOT NULL OR after IS NOT NULL) AND action <> 'retention.anonymise'"
        )
    }
    con.close()
    done = [p for p in people if p[1]]
    assert 0 < len(done) < len(people)  # killed half-way
    for cid, anonymised, first, nhs, reason in people:  # each person: all or nothing
        if anonymised:
            assert (first, nhs, reason) == ("Anonymised", None, None) and cid in events and cid not in texts
        else:
            assert first != "Anonymised" and nhs is not None and reason == "old reason" and cid not in events
    with ctx.read() as s:
        assert audit.verify_chain(s) == []
    report = retention.apply(ctx)  # the next run finishes the rest
    assert report.anonymised == len(people) - len(done)
    assert _anonymised(db_path) == len(people)


def test_a_process_that_wrote_leaves_a_checkpoint_even_without_closing_its_store(ctx, db_path):
    from navigator.store import anchor

    new_referral(ctx)
    _closed(ctx)
    cp_path = db_path.with_name(db_path.name + ".audit-checkpoint")
    cp_path.unlink(missing_ok=True)
    script = textwrap.dedent(
        """
        import sys
        from datetime import date
        from navigator.services.casework import journeys as J
        from navigator.services.context import Ctx
        from navigator.store.engine import open_store
        ctx = Ctx(open_store(sys.argv[1], create=False), username="admin")
        person = J.ClientInput("Late", "Writer", date(1980, 1, 1), "Maidstone")
        J.receive_referral(ctx, J.ReferralInput(date(2026, 11, 2), "gp", client=person))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    subprocess.run([sys.executable, "-c", script, f"sqlite:///{db_path}"], check=True, env=env)
    key = anchor.load_key(db_path.with_name(db_path.name + ".audit-key"))
    cp = anchor.read_checkpoint(cp_path, key)
    con = sqlite3.connect(db_path)
    try:
        assert isinstance(cp, anchor.Checkpoint) and anchor.chain_head(anchor.sqlite_reader(con)) == anchor.Checkpoint(
            cp.events, cp.head_id, cp.head
        )
    finally:
        con.close()


def test_a_killed_exports_temporary_file_is_removed_by_the_next_export(ctx, db_path, tmp_path):
    from navigator.services.returns import export

    new_referral(ctx)
    out = tmp_path / "returns"
    out.mkdir()
    target = out / "r.sqlite"
    stale = out / ".r.sqlite.k1ll3d_x.tmp"  # what a SIGKILLed export leaves (record-level data)
    stale.write_bytes(b"SQLite format 3\x00 half an export")
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    fresh = out / ".r.sqlite.running.tmp"  # another export still writing: left alone
    fresh.write_bytes(b"in progress")
    export._temp_beside(target, ".tmp").unlink()
    assert not stale.exists() and fresh.exists()


def test_find_shows_identifying_details_only_after_a_reason_and_matches_percent_literally(ctx):
    from datetime import date

    from navigator.services.casework import queries as Q

    nina = make_user(ctx, "nina", "navigator", ("Lot 2",))
    omar = make_user(ctx, "omar", "navigator", ("Lot 2",))
    new_referral(nina, first="Ann", last="Smith", nhs=_nhs(7), dob=date(1980, 5, 6))
    (hit,) = Q.find(omar, "smith")
    assert not hit.mine and hit.name == "Ann Smith"
    assert (hit.date_of_birth, hit.postcode, hit.nhs_number) == (None, None, None)  # no reason given yet
    Q.open_with_reason(omar, hit.client_id, "Covering for Nina today")
    (hit,) = Q.find(omar, "smith")
    assert hit.mine and hit.date_of_birth == date(1980, 5, 6) and hit.nhs_number == _nhs(7)
    (own,) = Q.find(nina, "smith")
    assert own.nhs_number == _nhs(7)
    # % and _ are letters, not wildcards
    assert Q.find(ctx, "%%") == [] and Q.find(ctx, "_n") == [] and Q.find(ctx, "s%") == []
    assert [h.name for h in Q.find(ctx, "sm")] == ["Ann Smith"]


def test_an_older_unsigned_store_gets_its_key_and_its_first_signed_event_anchors_the_log(ctx, db_path):
    from alembic import command

    from navigator.store import engine as E

    new_referral(ctx)
    cfg = E.alembic_config()
    with ctx.store.write_engine.begin() as conn:  # back to 0003: signed events become version 2 again
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    _closed(ctx)
    key = db_path.with_name(db_path.name + ".audit-key")
    key.unlink()  # as a store from before keys
    db_path.with_name(db_path.name + ".audit-checkpoint").unlink(missing_ok=True)
    store = E.open_store(f"sqlite:///{db_path}")  # upgraded to 0004
    try:
        later = Ctx(store, username="admin", today_fn=lambda: TODAY)
        new_referral(later, first="Bob", last="Jones")
        with later.read() as s:
            rows = s.execute(audit.text("SELECT action, hash_version FROM audit_event ORDER BY id")).all()
            assert audit.verify_chain(s) == []
    finally:
        store.dispose()
    versions = [v for _, v in rows]
    first_signed = versions.index(3)
    assert set(versions[:first_signed]) == {2} and set(versions[first_signed:]) == {3}
    assert rows[first_signed][0] == "audit.key"  # recorded
    assert key.exists() and (key.stat().st_mode & 0o777) == 0o600
    assert examine(f"sqlite:///{db_path}").healthy
