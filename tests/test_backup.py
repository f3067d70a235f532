"""Backups: consistent online copies, rolling daily backups, and a checked, atomic restore."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from conftest import new_referral
from helpers.dump import dump_sqlite
from navigator.cli import main
from navigator.domain.errors import StoreError
from navigator.services import audit
from navigator.services.context import put_setting
from navigator.services.operations.backup import (
    check_backup_file,
    ensure_daily_backup,
    list_backups,
    restore,
    take_backup,
)
from navigator.store.models import AuditEvent, Client


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _count(path: Path, table: str) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def as_admin(monkeypatch):
    """CLI commands run as the OS user 'admin' (the store's first admin in these tests)."""
    monkeypatch.setattr("navigator.services.context.os_username", lambda: "admin")


# ---------------------------------------------------------------- navigator backup


def test_backup_command_writes_a_checked_private_copy_beside_the_store(ctx, db_path, as_admin, capsys):
    new_referral(ctx)
    assert main(["--db", str(db_path), "backup"]) == 0
    out = capsys.readouterr().out
    folder = db_path.parent / "backups"
    manual = list_backups(db_path, "manual")
    assert len(manual) == 1 and manual[0].name.startswith("store-manual-")
    assert _mode(folder) == 0o700 and _mode(manual[0]) == 0o600
    assert "integrity check ok" in out
    con = sqlite3.connect(manual[0])
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT first_name FROM client").fetchall() == [("Ann",)]
    con.close()
    with ctx.read() as s:  # taking a copy of everyone's data is audited
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "store.backup")).one()
        assert manual[0].name in ev.after


def test_backup_out_file_and_never_overwrites(ctx, db_path, tmp_path, as_admin, capsys):
    out = tmp_path / "elsewhere" / "copy.sqlite3"
    out.parent.mkdir()
    assert main(["--db", str(db_path), "backup", "--out", str(out)]) == 0
    assert out.exists() and _mode(out) == 0o600
    before = out.read_bytes()
    assert main(["--db", str(db_path), "backup", "--out", str(out)]) == 4  # exit 4: store problem
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_backup_is_consistent_while_someone_is_writing(ctx, db_path):
    """An uncommitted write in another connection is not in the copy, and does not block it."""
    new_referral(ctx)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE client SET first_name = 'Half-written'")
    try:
        result = take_backup(ctx.store)
    finally:
        other.execute("ROLLBACK")
        other.close()
    con = sqlite3.connect(result.path)
    assert con.execute("SELECT first_name FROM client").fetchall() == [("Ann",)]
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_backup_refused_for_non_admins(ctx, db_path, monkeypatch, capsys):
    from conftest import make_user

    make_user(ctx, "nav", "navigator", ("Lot 2",))
    monkeypatch.setattr("navigator.services.context.os_username", lambda: "nav")
    assert main(["--db", str(db_path), "backup"]) == 3  # exit 3: refused
    assert "admin" in capsys.readouterr().err
    assert list_backups(db_path, "manual") == []


# ---------------------------------------------------------------- rolling daily backups


def test_daily_backup_once_a_day_keeping_the_newest(ctx, db_path):
    day0 = datetime(2026, 11, 1, 9, 0)
    first = ensure_daily_backup(ctx.store, now_fn=lambda: day0)
    assert first is not None and first.kind == "daily"
    assert ensure_daily_backup(ctx.store, now_fn=lambda: day0 + timedelta(hours=5)) is None  # same day
    for n in range(1, 12):
        ensure_daily_backup(ctx.store, now_fn=lambda n=n: day0 + timedelta(days=n))
    daily = list_backups(db_path, "daily")
    assert len(daily) == 7  # the default backup_keep
    assert daily[-1].name.startswith("store-daily-20261112")
    assert daily[0].name.startswith("store-daily-20261106")


def test_backup_keep_setting(ctx, db_path):
    with ctx.write() as s:
        put_setting(s, "backup_keep", 3, ctx.now())
    for n in range(6):
        ensure_daily_backup(ctx.store, now_fn=lambda n=n: datetime(2026, 10, 1 + n, 8, 0))
    assert [p.name[12:20] for p in list_backups(db_path, "daily")] == ["20261004", "20261005", "20261006"]


def test_opening_the_store_from_the_cli_takes_todays_backup(ctx, db_path, as_admin):
    assert list_backups(db_path, "daily") == []
    assert main(["--db", str(db_path), "init"]) == 0
    assert len(list_backups(db_path, "daily")) == 1
    assert main(["--db", str(db_path), "init"]) == 0
    assert len(list_backups(db_path, "daily")) == 1  # once a day


def test_a_failed_daily_backup_warns_but_the_store_opens(ctx, db_path, as_admin, capsys):
    (db_path.parent / "backups").write_text("a file where the folder should be")
    assert main(["--db", str(db_path), "init"]) == 0
    assert "backup was not taken" in capsys.readouterr().err


# ---------------------------------------------------------------- restore


def test_restore_swaps_in_a_backup_after_keeping_the_current_store(ctx, db_path, as_admin, capsys):
    new_referral(ctx, first="Ann")
    backup = take_backup(ctx.store).path
    new_referral(ctx, first="Bob", last="Jones")
    ctx.store.dispose()
    assert _count(db_path, "client") == 2

    assert main(["--db", str(db_path), "restore", str(backup), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Restored" in out and "pre-restore" in out
    con = sqlite3.connect(db_path)
    assert [r[0] for r in con.execute("SELECT first_name FROM client")] == ["Ann"]
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    safety = list_backups(db_path, "pre-restore")
    assert len(safety) == 1 and _count(safety[0], "client") == 2  # nothing lost
    assert _mode(db_path) == 0o600
    # The restore is in the restored store's audit log, and the chain still verifies.
    from navigator.store.engine import open_store

    store = open_store(f"sqlite:///{db_path}", create=False)
    from sqlmodel import Session

    with Session(store.engine) as s:
        assert s.exec(select(AuditEvent.action).order_by(AuditEvent.id.desc())).first() == "store.restore"
        assert audit.verify_chain(s) == []
    store.dispose()
    assert not list(db_path.parent.glob(".store.sqlite3.restore-*"))


def test_restore_refuses_a_file_that_is_not_a_database(ctx, db_path, tmp_path, as_admin, capsys):
    new_referral(ctx)
    ctx.store.dispose()
    before = dump_sqlite(db_path)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    assert main(["--db", str(db_path), "restore", str(junk)]) == 4
    assert "not an SQLite database" in capsys.readouterr().err
    assert dump_sqlite(db_path) == before
    assert list_backups(db_path, "pre-restore") == []


def test_restore_refuses_a_damaged_backup(ctx, db_path, tmp_path, as_admin, capsys):
    for i in range(30):
        new_referral(ctx, first=f"Person{i}", last="Long" * 10)
    backup = take_backup(ctx.store).path
    ctx.store.dispose()
    before = dump_sqlite(db_path)
    damaged = tmp_path / "damaged.sqlite3"
    data = bytearray(backup.read_bytes())
    for off in range(4096 * 3, len(data) - 4096, 4096):  # scribble over interior pages, keep the header
        data[off + 100 : off + 300] = os.urandom(200)
    damaged.write_bytes(bytes(data))
    assert main(["--db", str(db_path), "restore", str(damaged)]) == 4
    err = capsys.readouterr().err
    assert "damaged" in err or "cannot be read" in err
    assert dump_sqlite(db_path) == before


def test_restore_refuses_an_sqlite_file_that_is_not_navigators(ctx, db_path, tmp_path, as_admin, capsys):
    ctx.store.dispose()
    before = dump_sqlite(db_path)
    other = tmp_path / "other.sqlite3"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    assert main(["--db", str(db_path), "restore", str(other)]) == 4
    assert "not a navigator database" in capsys.readouterr().err
    assert dump_sqlite(db_path) == before


def test_restore_refuses_a_backup_from_a_newer_navigator(ctx, db_path, as_admin, capsys):
    backup = take_backup(ctx.store).path
    ctx.store.dispose()
    con = sqlite3.connect(backup)
    con.execute("UPDATE alembic_version SET version_num = '9999_future'")
    con.commit()
    con.close()
    before = dump_sqlite(db_path)
    assert main(["--db", str(db_path), "restore", str(backup), "--yes"]) == 4
    assert "newer version" in capsys.readouterr().err
    assert dump_sqlite(db_path) == before


def test_restore_refuses_while_the_store_is_open_elsewhere(ctx, db_path):
    backup = take_backup(ctx.store).path
    new_referral(ctx)
    ctx.store.dispose()
    before = dump_sqlite(db_path)
    other = sqlite3.connect(db_path)  # another navigator has it open
    other.execute("SELECT count(*) FROM client").fetchone()
    try:
        with pytest.raises(StoreError, match="open in navigator"):
            restore(db_path, backup)
    finally:
        other.close()
    assert dump_sqlite(db_path) == before
    assert list_backups(db_path, "pre-restore") == []


def test_restore_over_a_damaged_store_keeps_its_bytes(ctx, db_path, as_admin, capsys):
    new_referral(ctx)
    backup = take_backup(ctx.store).path
    ctx.store.dispose()
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    db_path.write_bytes(b"garbage" * 1000)
    assert main(["--db", str(db_path), "restore", str(backup), "--yes"]) == 0
    assert _count(db_path, "client") == 1
    damaged = list_backups(db_path, "damaged")
    assert len(damaged) == 1 and damaged[0].read_bytes() == b"garbage" * 1000


def test_restore_refused_for_non_admins(ctx, db_path, monkeypatch, capsys):
    from conftest import make_user

    make_user(ctx, "lead", "team_lead", ("Lot 2",))
    backup = take_backup(ctx.store).path
    new_referral(ctx)
    ctx.store.dispose()
    before = dump_sqlite(db_path)
    monkeypatch.setattr("navigator.services.context.os_username", lambda: "lead")
    assert main(["--db", str(db_path), "restore", str(backup)]) == 3
    assert "admin" in capsys.readouterr().err
    assert dump_sqlite(db_path) == before


def test_check_backup_file_reports_counts(ctx):
    new_referral(ctx)
    check = check_backup_file(take_backup(ctx.store).path)
    assert (check.clients, check.journeys) == (1, 1) and check.revision is not None
    with ctx.read() as s:
        assert s.exec(select(Client)).one().first_name == "Ann"


@pytest.mark.postgres
def test_no_file_backups_for_postgresql(pg_ctx):
    assert ensure_daily_backup(pg_ctx.store) is None
    with pytest.raises(StoreError, match="pg_dump"):
        take_backup(pg_ctx.store)


def test_backup_keep_and_list_commands(ctx, db_path, as_admin, capsys):
    assert main(["--db", str(db_path), "backup", "--keep", "3"]) == 0
    from navigator.services.operations.backup import backup_keep

    assert backup_keep(ctx.store) == 3
    with ctx.read() as s:
        assert s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first().action == "config.backup_keep"
    assert main(["--db", str(db_path), "backup", "--keep", "0"]) == 3
    assert "between 1 and 365" in capsys.readouterr().err
    assert main(["--db", str(db_path), "backup", "--list"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "store-daily-" in out and "daily backups kept: 3" in out
