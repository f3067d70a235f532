"""Today's rolling backup, taken by a detached process so that quitting the app never waits for it.

A new day's backup of a large store takes seconds (it copies the whole file and checks the copy). The app
starts it once its first screen shows (``start``) and goes on; quitting leaves it running to the end in its
own process session (no terminal signal reaches it). It is written under a temporary name and renamed only
when whole and checked (backup.take_backup), so a backup interrupted in any way never counts as one (the
next start removes it and takes the day's backup again). Two apps opened at once take one backup: the
second process finds the lock held and leaves.

    python -m navigator.services.operations.daily_backup /path/to/store.db

exits 0 (taken, or already taken today, or another process is taking it) or 1 with the warning on
stderr (the store is untouched then). ``DailyBackupJob`` is what the app polls to show that warning.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from navigator.domain.errors import StoreError


@dataclass
class DailyBackupJob:
    """A daily backup running in its own process: ``poll()`` says whether it has finished."""

    process: subprocess.Popen
    errors: IO[bytes]

    def poll(self) -> bool:
        return self.process.poll() is not None

    def warning(self) -> str | None:
        """The warning to show once finished (None: taken, or nothing to do)."""
        if self.process.poll() in (None, 0):
            return None
        self.errors.seek(0)
        text = self.errors.read().decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else "today's backup was not taken (the backup process failed)"


def taken_today(store_path: Path, now: datetime | None = None) -> bool:
    from navigator.services.operations.backup import list_backups

    day = (now or datetime.now()).strftime("%Y%m%d")
    return any(f"-daily-{day}-" in p.name for p in list_backups(store_path, "daily"))


def start(store_path: Path) -> DailyBackupJob | None:
    """Start today's backup in a detached process, unless it is already taken. Returns at once."""
    if taken_today(store_path):
        return None
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the job: unnamed, ours and the child's only
    process = subprocess.Popen(
        [sys.executable, "-m", __name__, str(store_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=errors,
        start_new_session=True,  # quitting the app, or closing its terminal, leaves it running
        close_fds=True,
    )
    return DailyBackupJob(process, errors)


def run(store_path: Path) -> str | None:
    """Take today's backup here (one process at a time per store). Returns a warning, or None."""
    from navigator.services.operations.backup import ensure_daily_backup
    from navigator.store.engine import open_store

    lock_path = store_path.with_name(store_path.name + ".daily-backup.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # another process is taking it now
        store = open_store(f"sqlite:///{store_path}", create=False)
        try:
            ensure_daily_backup(store)
        finally:
            store.dispose()
    except StoreError as exc:
        return f"today's backup was not taken: {exc}"
    finally:
        os.close(fd)
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m navigator.services.operations.daily_backup STORE", file=sys.stderr)
        return 2
    try:
        warning = run(Path(argv[0]))
    except Exception as exc:  # never a traceback: the app shows this one line
        warning = f"today's backup was not taken ({type(exc).__name__})"
    if warning:
        print(warning, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
