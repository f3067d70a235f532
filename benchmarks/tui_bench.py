"""The TUI half of benchmarks/run.py: every TUI figure, each measured in fresh child processes.

In-process (benchmarks/tui_probe.py, Textual's pilot at 160x48; keys sent to the driver; an interval
ends at the first frame showing its result):

- start-up: launch -> Today painted with its data (``startup_s``), against a bare one-Static app
  (``startup_bare_s``); ``startup_ratio``; the app's peak RSS;
- interact: Caseload filter keystrokes (``filter_keystroke_p95_s``) and ``enter`` on a row -> the
  Journey screen filled (``open_journey_s`` / ``_p95_s``);
- floors, in the same run: ``enter`` pushing a one-Static screen in a bare app (``open_floor_s`` /
  ``_p95_s``), and the same keys typed into a bare app's only widget, a focused Input
  (``filter_floor_p95_s`` / ``_median_s``); the ratios ``open_journey_ratio`` (medians),
  ``open_journey_p95_ratio`` and ``filter_keystroke_ratio`` (p95s);
- forms: the key that opens a form -> its first field ready (``form_ready_s``, ``form_ready_max_s``,
  ``form_ready_by_form``) and the layout changes after its first frame (``form_relayouts``).

Outside-in (benchmarks/pty_probe.py, the app in a pseudo-terminal): ``pty_*`` figures, and
``quit_s`` / ``quit_first_of_day_s``.

A probe that fails records its error under ``errors`` and the run goes on.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent


def probe(path: Path, today: date, kind: str, reps: int, user: str, opens: int | None = None) -> dict:
    cmd = [
        sys.executable,
        str(HERE / "tui_probe.py"),
        "--db",
        str(path),
        "--today",
        today.isoformat(),
        "--user",
        user,
        "--probe",
        kind,
        "--reps",
        str(reps),
    ]
    if opens is not None:
        cmd += ["--opens", str(opens)]
    launched = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"tui probe {kind} failed: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if "painted_at" in result:
        result["startup_s"] = result.pop("painted_at") - launched
    return result


def wait_for_daily_backup(path: Path, timeout: float = 900.0) -> None:
    """The app may have started today's backup in a detached process (services/operations/daily_backup.py,
    which holds the store's .daily-backup.lock while it copies): wait until no process holds that lock, so
    that no measured run shares the machine with it. (A probe that exits at its first frame may never
    start it: then there is nothing to wait for.)"""
    import fcntl
    import os

    time.sleep(0.5)  # a backup process just started has taken its lock by now
    lock = path.with_name(path.name + ".daily-backup.lock")
    deadline = time.monotonic() + timeout
    while lock.exists() and time.monotonic() < deadline:
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return
        except BlockingIOError:
            time.sleep(0.2)
        finally:
            os.close(fd)


def startup(path: Path, today: date, reps: int, user: str) -> dict:
    app_t, bare_t, rss = [], [], []
    # one unmeasured run of each first: files into the page cache, and today's daily backup taken (the app
    # starts it once a day, after its first screen, in a process of its own: waited for here) - every
    # measured run is then an ordinary start
    probe(path, today, "bare", 1, user)
    rss.append(probe(path, today, "startup", 1, user)["peak_rss_mb"])  # the app's memory counts, though
    wait_for_daily_backup(path)
    for _ in range(reps):
        bare_t.append(probe(path, today, "bare", 1, user)["startup_s"])
        result = probe(path, today, "startup", 1, user)
        app_t.append(result["startup_s"])
        rss.append(result["peak_rss_mb"])
    return {
        "startup_s": statistics.median(app_t),
        "startup_bare_s": statistics.median(bare_t),
        "startup_ratio": statistics.median(app_t) / statistics.median(bare_t),
        "startup_peak_rss_mb": max(rss),
    }


def pty(path: Path, user: str, reps: int, words: int) -> dict:
    cmd = [
        sys.executable,
        str(HERE / "pty_probe.py"),
        "--db",
        str(path),
        "--user",
        user,
        "--reps",
        str(reps),
        "--words",
        str(words),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"pty probe failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ratio(result: dict, key: str, num: str, den: str) -> None:
    if result.get(num) is not None and result.get(den):
        result[key] = result[num] / result[den]


def run(path: Path, today: date, user: str, reps: int, tui_reps: int, log) -> dict:
    """Every TUI figure; errors under ``errors`` (by step)."""
    result: dict = {}
    errors: dict = {}

    def step(name: str, fn) -> None:
        log(f"{name} ...")
        try:
            result.update(fn())
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"[-3000:]
            log(f"  failed: {errors[name][-500:]}")

    step(f"start-up (cold processes, as {user})", lambda: startup(path, today, max(3, reps // 2), user))
    step("caseload filter and open journey (pilot)", lambda: interact(path, today, reps, tui_reps, user))
    step("floors: bare push and bare Input (pilot)", lambda: probe(path, today, "floors", reps, user, tui_reps))
    step("forms (pilot)", lambda: forms(path, today, max(2, tui_reps // 5), user))
    step("outside-in: the app in a pseudo-terminal; quit", lambda: pty_figures(path, user, tui_reps, reps))
    errors.update(result.pop("pty_errors", None) or {})
    ratio(result, "open_journey_ratio", "open_journey_s", "open_floor_s")
    ratio(result, "open_journey_p95_ratio", "open_journey_p95_s", "open_floor_p95_s")
    ratio(result, "filter_keystroke_ratio", "filter_keystroke_p95_s", "filter_floor_p95_s")
    rss = [result[k] for k in ("interact_peak_rss_mb", "startup_peak_rss_mb") if result.get(k) is not None]
    if rss:
        result["peak_rss_mb"] = max(rss)
    result["errors"] = errors
    return result


def interact(path: Path, today: date, reps: int, opens: int, user: str) -> dict:
    found = probe(path, today, "interact", reps, user, opens)
    found["interact_peak_rss_mb"] = found.pop("peak_rss_mb")
    return found


def forms(path: Path, today: date, reps: int, user: str) -> dict:
    found = probe(path, today, "forms", reps, user)
    found.pop("peak_rss_mb", None)
    return found


def pty_figures(path: Path, user: str, reps: int, words: int) -> dict:
    return pty(path, user, reps, words)  # its own failures come back under pty_errors
