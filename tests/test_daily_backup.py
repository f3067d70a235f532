"""The app's daily backup runs in a detached process: quitting never waits for it (issue 16, quit_s).

The process is the real one (``python -m navigator.services.operations.daily_backup``); the tests wait for
it to end, then check the backup is whole, taken once a day and per store, and that a failure is a warning.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time

import pytest

from conftest import new_referral
from navigator.services.operations import daily_backup
from navigator.services.operations.backup import list_backups

WAIT = 120.0  # seconds; a small store's backup takes well under one


def _finish(job: daily_backup.DailyBackupJob) -> None:
    end = time.monotonic() + WAIT
    while not job.poll():
        assert time.monotonic() < end, "the backup process did not end"
        time.sleep(0.05)


def test_the_backup_process_takes_todays_backup_whole_and_once(ctx, db_path):
    new_referral(ctx)
    job = daily_backup.start(db_path)
    assert job is not None
    assert job.process.poll() is None or job.process.returncode == 0  # started, not waited for
    _finish(job)
    assert job.process.returncode == 0 and job.warning() is None
    (backup,) = list_backups(db_path, "daily")
    con = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM client").fetchone()[0] == 1
    finally:
        con.close()
    assert os.stat(backup).st_mode & 0o077 == 0  # the owner's only
    assert daily_backup.start(db_path) is None  # taken today: nothing to start


def test_a_backup_that_cannot_be_taken_is_a_warning_and_the_store_is_untouched(ctx, db_path):
    new_referral(ctx)
    (db_path.parent / "backups").write_text("a file where the folder should be")
    job = daily_backup.start(db_path)
    assert job is not None
    _finish(job)
    warning = job.warning()
    assert warning is not None and "backup was not taken" in warning
    assert "Traceback" not in warning
    con = sqlite3.connect(db_path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM client").fetchone()[0] == 1
    finally:
        con.close()


def test_two_apps_opened_at_once_take_one_backup(ctx, db_path):
    lock = db_path.with_name(db_path.name + ".daily-backup.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another process is taking it now
        assert daily_backup.run(db_path) is None
        assert list_backups(db_path, "daily") == []
    finally:
        os.close(fd)
    assert daily_backup.run(db_path) is None
    assert len(list_backups(db_path, "daily")) == 1


@pytest.mark.parametrize("argv", [[], ["a", "b"]])
def test_the_process_refuses_a_wrong_command_line(argv, capsys):
    assert daily_backup.main(argv) == 2
    assert "usage" in capsys.readouterr().err


class _Finished:
    def __init__(self, warning: str | None) -> None:
        self._warning = warning

    def poll(self) -> bool:
        return True

    def warning(self) -> str | None:
        return self._warning


async def test_the_app_shows_the_warning_of_a_backup_that_ended_while_it_was_open(ctx):
    from tui.helpers import make_app

    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        app._watch(_Finished("today's backup was not taken: the disk is full"))
        await pilot.pause(1.3)
        assert any("the disk is full" in str(n.message) for n in app._notifications)
        app._watch(_Finished(None))  # a backup that went well says nothing
        await pilot.pause(1.3)
        assert len(app._notifications) == 1
