"""The outside-in probe: the app in a pseudo-terminal, measured like a person at a keyboard.

    python benchmarks/pty_probe.py --db STORE --user NAVIGATOR [--reps R] [--probe all|quit]

A child process of benchmarks/run.py. Each program under test runs in a pseudo-terminal of a
real size (160x48, TERM=xterm-256color, ``pty.fork``): the app through its ordinary command
line (``navigator.cli.main(["--db", STORE])``, run by the small launcher in this file, which
only makes the OS account read as NAVIGATOR, as benchmarks/tui_probe.py does in-process), and
the floors, bare Textual apps, the same way. Keys are written as bytes to the terminal's master
side; what the program draws is read back from it into a small screen model (``Screen`` below:
cursor addressing, erase and text, which is all Textual's output uses to place characters), and
every interval ends when the characters a person waits for are on that screen. The clock
stops when the bytes that complete them have been read, so each figure includes Textual's
rendering, the terminal write and the read, as a person would see them.

Figures (JSON keys; seconds; medians unless named p95 or max):

- ``pty_startup_s``: fork+exec of the launcher -> Today's title says what is due ("due or
  overdue" / "nothing due", written only once Today's data is in). ``pty_startup_bare_s``: exec
  of a bare Textual app -> its one Static's text on screen. ``pty_startup_ratio``.
- ``pty_open_journey_s`` / ``_p95_s``: ``enter`` on a Caseload row -> the Journey screen's header
  names that row's client reference. ``pty_open_floor_s`` / ``_p95_s``: ``enter`` in a bare app
  -> its pushed one-Static screen's text on screen. ``pty_open_journey_ratio``.
- ``pty_filter_keystroke_p95_s`` / ``_median_s``: a key typed in the Caseload filter -> the
  screen shows what it showed for that filter text when left to settle (a calibration pass
  types the same keys first, waiting for the screen to stop changing after each). The floor
  ``pty_filter_floor_p95_s`` / ``_median_s`` does the same in a bare app whose only widget is a
  focused Input. ``pty_filter_keystroke_ratio``.
- ``pty_form_ready_s`` / ``_max_s``: ``n`` on Today, then a character typed straight after it
  (as a fast typist would) -> the referral form is up and that character is on screen at the
  first field's place (found by the calibration pass, which opens the form, waits, and types).
- ``quit_s`` (``--probe quit``): ``q`` on Today -> the app's process has exited (``waitpid``),
  pressed half a second after Today showed its data (the app may still be warming up in its
  background thread then: quitting waits for that thread), on a store whose daily backup was
  already taken today. ``quit_first_of_day_s``: on a copy of the store in a fresh folder (no
  backups/ beside it), so that today's backup is due: ``q`` once the app has started it (in a
  detached process, services/operations/daily_backup.py, seen by its lock file appearing) and
  while it runs; the probe waits for that backup to finish before it removes the copy.
"""

from __future__ import annotations

import argparse
import codecs
import fcntl
import json
import os
import re
import select
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
COLS, ROWS = 160, 48
ENTER, ESC, BACKSPACE, DOWN, CTRL_Q = b"\r", b"\x1b", b"\x7f", b"\x1b[B", b"\x11"
TODAY_DATA = re.compile(r"due or overdue|nothing due")
CASELOAD_DATA = re.compile(r"\d of [\d,]+ ")
CRASHED = "unexpected error"
# after Today shows, the app imports the other screens and the forms in a background thread; a key typed
# while navigator.tui.forms.base is half-imported crashes the app (AttributeError: partially initialized
# module): the interactive runs wait this long before their first key
WARM_UP = 3.0
SETTLE = 0.4  # a screen unchanged this long has settled (calibration passes only; never inside a timing)


class ProbeTimeout(Exception):
    pass


# ------------------------------------------------------------------------------------------ screen model
class Screen:
    """What a terminal would show: a grid of characters, fed the program's output as text.

    Understands what places characters (printable text, CR/LF/BS/TAB, CSI cursor moves H f A B C
    D E F G d, erase J and K, ECH X) and skips everything else (colours, modes, OSC/DCS strings).
    Styles are dropped: the figures wait for text, never for colour."""

    def __init__(self, cols: int = COLS, rows: int = ROWS) -> None:
        self.cols, self.rows = cols, rows
        self.grid = [[" "] * cols for _ in range(rows)]
        self.x = self.y = 0
        self.state = "text"
        self.seq = ""
        self.version = 0  # bumped by every change of a character

    def _put(self, ch: str) -> None:
        wide = unicodedata.east_asian_width(ch) in ("W", "F")
        if unicodedata.combining(ch):
            return
        if self.x >= self.cols:
            self.x, self.y = 0, min(self.y + 1, self.rows - 1)
        if 0 <= self.y < self.rows:
            if self.grid[self.y][self.x] != ch:
                self.grid[self.y][self.x] = ch
                self.version += 1
            if wide and self.x + 1 < self.cols:
                self.grid[self.y][self.x + 1] = ""
        self.x += 2 if wide else 1

    def _csi(self, seq: str) -> None:
        final, body = seq[-1], seq[:-1]
        if body[:1] in "?>=<" and body:
            return  # private modes and queries
        try:
            args = [int(a) if a else 0 for a in body.split(";")] if body else []
        except ValueError:
            return
        a0 = args[0] if args else 0
        n = a0 or 1
        if final in "Hf":
            self.y = min(max((args[0] if args else 1) or 1, 1), self.rows) - 1
            self.x = min(max((args[1] if len(args) > 1 else 1) or 1, 1), self.cols) - 1
        elif final == "A":
            self.y = max(0, self.y - n)
        elif final == "B":
            self.y = min(self.rows - 1, self.y + n)
        elif final == "C":
            self.x = min(self.cols - 1, self.x + n)
        elif final == "D":
            self.x = max(0, self.x - n)
        elif final == "E":
            self.x, self.y = 0, min(self.rows - 1, self.y + n)
        elif final == "F":
            self.x, self.y = 0, max(0, self.y - n)
        elif final == "G":
            self.x = min(n, self.cols) - 1
        elif final == "d":
            self.y = min(n, self.rows) - 1
        elif final == "J":
            rows = {0: range(self.y + 1, self.rows), 1: range(0, self.y), 2: range(self.rows), 3: range(self.rows)}
            for r in rows.get(a0, ()):
                self.grid[r] = [" "] * self.cols
            if a0 == 0:
                self.grid[self.y][self.x :] = [" "] * (self.cols - self.x)
            elif a0 == 1:
                self.grid[self.y][: self.x + 1] = [" "] * (self.x + 1)
            self.version += 1
        elif final == "K":
            row = self.grid[self.y]
            if a0 == 0:
                row[self.x :] = [" "] * (self.cols - self.x)
            elif a0 == 1:
                row[: self.x + 1] = [" "] * (self.x + 1)
            else:
                row[:] = [" "] * self.cols
            self.version += 1
        elif final == "X":
            end = min(self.cols, self.x + n)
            self.grid[self.y][self.x : end] = [" "] * (end - self.x)
            self.version += 1

    def feed(self, text: str) -> None:
        for ch in text:
            st = self.state
            if st == "text":
                if ch == "\x1b":
                    self.state = "esc"
                elif ch >= " " and ch != "\x7f":
                    self._put(ch)
                elif ch == "\r":
                    self.x = 0
                elif ch == "\n":
                    self.y = min(self.y + 1, self.rows - 1)
                elif ch == "\b":
                    self.x = max(0, self.x - 1)
                elif ch == "\t":
                    self.x = min(self.cols - 1, (self.x // 8 + 1) * 8)
            elif st == "esc":
                if ch == "[":
                    self.state, self.seq = "csi", ""
                elif ch in "]PX^_":
                    self.state = "string"
                elif ch in "()*+#%":
                    self.state = "charset"
                else:
                    self.state = "text"  # ESC 7, ESC 8, ESC =, ...: nothing placed
            elif st == "charset":
                self.state = "text"
            elif st == "csi":
                if "@" <= ch <= "~":
                    self._csi(self.seq + ch)
                    self.state = "text"
                else:
                    self.seq += ch
            elif st == "string":  # OSC / DCS ...: ends at BEL or ESC \
                if ch == "\x07":
                    self.state = "text"
                elif ch == "\x1b":
                    self.state = "string-esc"
            elif st == "string-esc":
                self.state = "text" if ch == "\\" else "string"

    def lines(self) -> list[str]:
        return ["".join(row) for row in self.grid]

    def text(self) -> str:
        return "\n".join(self.lines())


# ------------------------------------------------------------------------------------------ a program in a pty
class Term:
    """One program in a pseudo-terminal of COLS x ROWS."""

    def __init__(self, argv: list[str], env: dict | None = None) -> None:
        self.screen = Screen()
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        environment = dict(os.environ if env is None else env)
        environment.update({"TERM": "xterm-256color", "COLUMNS": str(COLS), "LINES": str(ROWS)})
        environment.pop("TEXTUAL", None)  # no devtools
        self.started = time.perf_counter()
        pid, fd = os.forkpty()
        if pid == 0:  # the child: the terminal's size, then the program
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
                os.execve(argv[0], argv, environment)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.exit_status: int | None = None
        self.exited_at: float | None = None

    def pump(self, timeout: float) -> bool:
        """Read whatever arrives within ``timeout``; False once the program's side is closed."""
        try:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        except InterruptedError:
            return True
        if not ready:
            return True
        try:
            data = os.read(self.fd, 1 << 16)
        except OSError:  # EIO: the program closed the terminal
            return False
        if not data:
            return False
        self.screen.feed(self.decoder.decode(data))
        return True

    def wait_for(self, predicate: Callable[[Screen], bool], timeout: float = 30.0, what: str = "") -> float:
        """Read until ``predicate(screen)`` holds; the time the bytes completing it were read."""
        deadline = time.perf_counter() + timeout
        while True:
            if predicate(self.screen):
                return time.perf_counter()
            left = deadline - time.perf_counter()
            if left <= 0 or not self.pump(min(left, 0.5)):
                if predicate(self.screen):
                    return time.perf_counter()
                tail = "\n".join(line.rstrip() for line in self.screen.lines() if line.strip())[-1500:]
                raise ProbeTimeout(f"waited {timeout:.0f}s for {what or 'the screen'}; screen:\n{tail}")

    def wait_text(self, pattern: str | re.Pattern, timeout: float = 30.0) -> float:
        if isinstance(pattern, str):
            return self.wait_for(lambda s: pattern in s.text(), timeout, repr(pattern))
        return self.wait_for(lambda s: pattern.search(s.text()) is not None, timeout, pattern.pattern)

    def settle(self, quiet: float = SETTLE, timeout: float = 30.0) -> list[str]:
        """Read until the screen's text has not changed for ``quiet`` seconds (a cursor's blink changes
        no character); its lines then."""
        deadline = time.perf_counter() + timeout
        last, since = self.screen.text(), time.perf_counter()
        while time.perf_counter() < deadline:
            self.pump(0.05)
            now_text = self.screen.text()
            if now_text != last:
                last, since = now_text, time.perf_counter()
            elif time.perf_counter() - since >= quiet:
                break
        return self.screen.lines()

    def send(self, data: bytes) -> float:
        t = time.perf_counter()
        os.write(self.fd, data)
        return t

    def wait_exit(self, timeout: float = 30.0) -> float:
        """Read (the program may still be writing) until its process has exited; when it did."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.exit_status, self.exited_at = status, time.perf_counter()
                return self.exited_at
            self.pump(0.002)
        raise ProbeTimeout(f"the program did not exit within {timeout:.0f}s")

    def close(self) -> None:
        if self.exit_status is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(self.pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.perf_counter() + 3
                while time.perf_counter() < deadline:
                    if os.waitpid(self.pid, os.WNOHANG)[0]:
                        self.exit_status = -sig
                        break
                    time.sleep(0.02)
                if self.exit_status is not None:
                    break
        try:
            os.close(self.fd)
        except OSError:
            pass

    def __enter__(self) -> Term:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------------------------------ the programs
def app_argv(db: str, user: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--launch", "app", "--db", db, "--user", user]


def bare_argv(kind: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--launch", kind]


BARE_READY = "bare app ready"
PUSHED = "pushed screen"


def launch_app(db: str, user: str) -> int:
    """The app exactly as `navigator --db DB` runs it, acting as ``user`` (the OS account is who you are)."""
    sys.path.insert(0, str(SRC))
    import navigator.services.context as context

    context.os_username = lambda: user
    from navigator import cli

    return cli.main(["--db", db])


def launch_bare(kind: str) -> int:
    """A bare Textual app: one Static ("hello"; enter pushes a one-Static screen, escape pops it), or
    one focused Input ("input")."""
    from textual.app import App
    from textual.binding import Binding
    from textual.screen import Screen as TScreen
    from textual.widgets import Input, Static

    class Pushed(TScreen):
        BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

        def compose(self):
            yield Static(f"{PUSHED} {self.app.pushes}")

    class Bare(App):
        BINDINGS = [Binding("enter", "push", "Push")]
        pushes = 0

        def compose(self):
            if kind == "input":
                yield Input(id="field")
            else:
                yield Static(BARE_READY)

        def on_mount(self) -> None:
            if kind == "input":
                self.query_one(Input).focus()

        def action_push(self) -> None:
            self.pushes += 1
            self.push_screen(Pushed())

    Bare().run()
    return 0


# ------------------------------------------------------------------------------------------ measurements
def p95(values: list[float]) -> float | None:
    """tui_probe's (imported here, not at the top: the launcher in the pseudo-terminal stays light)."""
    from tui_probe import p95 as shared

    return shared(values)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def quit_term(term: Term, key: bytes = b"q") -> None:
    """q quits the app; ctrl+q a bare Textual app (whose q would be typed into its Input)."""
    term.send(key)
    try:
        term.wait_exit(10)
    except ProbeTimeout:
        pass


def startups(db: str, user: str, reps: int) -> dict:
    app_t, bare_t = [], []
    for i in range(reps + 1):  # the first of each: files into the page cache, not counted
        with Term(bare_argv("hello")) as term:
            t = term.wait_text(BARE_READY) - term.started
            quit_term(term, CTRL_Q)
        if i:
            bare_t.append(t)
        with Term(app_argv(db, user)) as term:
            t = term.wait_text(TODAY_DATA) - term.started
            quit_term(term)
        if i:
            app_t.append(t)
    out = {"pty_startup_s": median(app_t), "pty_startup_bare_s": median(bare_t), "pty_startups": len(app_t)}
    out["pty_startup_ratio"] = out["pty_startup_s"] / out["pty_startup_bare_s"]
    return out


def calibrate_keys(term: Term, keys: list[bytes]) -> list[list[str]]:
    expected = []
    for key in keys:
        term.send(key)
        expected.append(term.settle())
    return expected


def masked(lines: list[str], rows: set[int]) -> list[str]:
    return [line for i, line in enumerate(lines) if i in rows]


def filter_keys(words: list[str]) -> list[bytes]:
    keys: list[bytes] = []
    for word in words:
        keys += [c.encode() for c in word] + [BACKSPACE] * len(word)
    return keys


def filter_figures(term: Term, keys: list[bytes], prefix: str) -> dict:
    """Type ``keys`` twice: once to learn what each should show (settled), once timed."""
    expected = calibrate_keys(term, keys)
    # the rows that differ between the screens: a toast or a clock elsewhere must not hold the figure up
    changing = {i for i in range(ROWS) if len({e[i] for e in expected}) > 1} or set(range(ROWS))
    want = [masked(e, changing) for e in expected]
    out = []
    for key, w in zip(keys, want, strict=True):
        term.settle(0.05, timeout=2)
        t0 = term.send(key)
        out.append(term.wait_for(lambda s, w=w: masked(s.lines(), changing) == w, 10, "the filtered screen") - t0)
    return {f"{prefix}_p95_s": p95(out), f"{prefix}_median_s": median(out), f"{prefix}es": len(out)}


def surname_words(db: str, user: str, n: int) -> list[str]:
    import sqlite3

    con = sqlite3.connect(db)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT c.last_name FROM journey j JOIN client c ON c.id = j.client_id JOIN user u "
                "ON u.id = j.navigator_id WHERE u.username = ? AND j.state IN ('received','accepted','started') "
                "ORDER BY j.id LIMIT 200",
                (user,),
            )
        ]
    finally:
        con.close()
    words: list[str] = []
    for last in names:
        w = last.lower()[:4]
        if len(w) >= 3 and w not in words:
            words.append(w)
    return words[: max(1, n)]


JOURNEY_TITLE = re.compile(r"Journey · (\S+)")


def interact(db: str, user: str, reps: int, words_n: int) -> dict:
    out: dict = {}
    words = surname_words(db, user, words_n)
    keys = filter_keys(words)
    with Term(app_argv(db, user)) as term:
        term.wait_text(TODAY_DATA)
        time.sleep(WARM_UP)
        term.settle()
        # the referral form: calibrate where the first field echoes, then time n + a character
        out.update(form_ready(term, reps))
        # the Caseload: the filter, then opening journeys
        term.send(b"l")
        term.wait_text(CASELOAD_DATA)
        term.settle()
        term.send(b"/")
        term.settle()
        out.update(filter_figures(term, keys, "pty_filter_keystroke"))
        term.send(ENTER)  # to the table
        term.settle()
        opens = []
        for _ in range(reps):
            t0 = term.send(ENTER)
            # the Journey screen's header names the client, in the same frame as its data
            t1 = term.wait_text(JOURNEY_TITLE, 15)
            opens.append(t1 - t0)
            term.settle(0.15)
            term.send(ESC)
            term.wait_for(lambda s: JOURNEY_TITLE.search(s.text()) is None, 10, "the Caseload again")
            term.settle(0.15)
            term.send(DOWN)
            term.settle(0.15)
        out.update({"pty_open_journey_s": median(opens), "pty_open_journey_p95_s": p95(opens), "pty_opens": len(opens)})
        quit_term(term)
    with Term(bare_argv("hello")) as term:
        term.wait_text(BARE_READY)
        term.settle(0.2)
        opens = []
        for i in range(reps):
            t0 = term.send(ENTER)
            opens.append(term.wait_text(f"{PUSHED} {i + 1}", 10) - t0)
            term.settle(0.15)
            term.send(ESC)
            term.wait_text(BARE_READY, 10)
            term.settle(0.15)
        out.update({"pty_open_floor_s": median(opens), "pty_open_floor_p95_s": p95(opens)})
        quit_term(term, CTRL_Q)
    with Term(bare_argv("input")) as term:
        term.settle()
        out.update(filter_figures(term, keys, "pty_filter_floor"))
        quit_term(term, CTRL_Q)
    out["pty_filter_keystrokes"] = out.pop("pty_filter_keystrokees", None)
    out.pop("pty_filter_floores", None)
    if out.get("pty_open_journey_s") and out.get("pty_open_floor_s"):
        out["pty_open_journey_ratio"] = out["pty_open_journey_s"] / out["pty_open_floor_s"]
    if out.get("pty_filter_keystroke_p95_s") and out.get("pty_filter_floor_p95_s"):
        out["pty_filter_keystroke_ratio"] = out["pty_filter_keystroke_p95_s"] / out["pty_filter_floor_p95_s"]
    return out


FORM_CHAR = "7"  # a first name, a date: every first field of the measured forms takes a digit


def form_ready(term: Term, reps: int) -> dict:
    """``n`` then a character straight after it -> that character drawn at the first field's place."""
    before = term.settle()
    term.send(b"n")
    term.wait_for(lambda s: s.lines() != before, 15, "the referral form")
    opened = term.settle()
    title_row = next((r for r in range(ROWS) if opened[r] != before[r] and "new referral" in opened[r].lower()), None)
    if title_row is None:
        close_form(term, before)
        raise ProbeTimeout("no 'New referral' title appeared after n (calibration)")
    title = opened[title_row].strip()
    term.send(FORM_CHAR.encode())
    typed = term.settle()
    spots = [(r, c) for r in range(ROWS) for c in range(COLS) if typed[r][c] == FORM_CHAR != opened[r][c]]
    close_form(term, before)
    if not spots:
        raise ProbeTimeout("the referral form showed no typed character (calibration)")
    row, col = spots[0]
    times = []
    for _ in range(reps):
        t0 = term.send(b"n" + FORM_CHAR.encode())
        t1 = term.wait_for(
            lambda s: s.grid[row][col] == FORM_CHAR and title in "".join(s.grid[title_row]),
            15,
            "the referral form with the typed character",
        )
        times.append(t1 - t0)
        close_form(term, before)
    return {"pty_form_ready_s": median(times), "pty_form_ready_max_s": max(times), "pty_form_opens": len(times)}


def close_form(term: Term, before: list[str]) -> None:
    """escape (a form with a change asks first: d discards) until Today shows again."""
    for _ in range(6):
        text = "\n".join(term.settle(0.3))
        if TODAY_DATA.search(text) and "Save referral" not in text:
            return
        term.send(b"d" if "Discard" in text else ESC)
    term.wait_text(TODAY_DATA, 10)


def copy_store(db: Path, folder: Path) -> Path:
    """The store and its companions (its write-ahead log, which an app left open may still hold its latest
    writes; the audit log's key and checkpoint), with no backups beside it."""
    dest = folder / db.name
    shutil.copy2(db, dest)
    for suffix in ("-wal", ".audit-key", ".audit-checkpoint"):
        companion = Path(str(db) + suffix)
        if companion.exists():
            shutil.copy2(companion, str(dest) + suffix)
    return dest


def daily_backup_done(db: Path, timeout: float = 600.0, grace: float = 3.0) -> bool:
    """Wait until no process holds the store's daily-backup lock (daily_backup.py takes it while copying).
    False if none took it within ``grace`` seconds (no backup was started) or it is still held at ``timeout``."""
    lock = db.with_name(db.name + ".daily-backup.lock")
    started = time.perf_counter()
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if not lock.exists() and time.perf_counter() - started > grace:
            return False
        if lock.exists():
            fd = os.open(lock, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
                return True
            except BlockingIOError:
                pass
            finally:
                os.close(fd)
        time.sleep(0.1)
    return False


QUIT_AFTER = 0.5  # a look at Today, then q


class AppCrashed(Exception):
    pass


def one_quit(db: str, user: str, backup_lock: Path | None = None) -> float:
    """``backup_lock``: q once the app has started today's backup (its process holds that lock), not before."""
    with Term(app_argv(db, user)) as term:
        term.wait_text(TODAY_DATA)
        time.sleep(QUIT_AFTER)
        if backup_lock is not None:
            term.wait_for(lambda s: backup_lock.exists(), 60, "the daily backup to start")
            time.sleep(0.05)
        term.pump(0)
        t0 = term.send(b"q")
        seconds = term.wait_exit(30) - t0
        if CRASHED in term.screen.text() or term.exit_status:
            raise AppCrashed(crash_text(term))
        return seconds


def crash_text(term: Term) -> str:
    lines = [line.strip() for line in term.screen.lines() if line.strip()]
    return " / ".join(line for line in lines if CRASHED in line or "Error" in line)[-500:] or "exit status"


def quits(db: str, user: str, reps: int) -> dict:
    """A run whose app crashed (it can, on a key typed while its warm-up imports the forms) is counted in
    ``quit_crashes`` and its time left out."""
    out: dict = {"quit_crashes": 0}
    first: list[float] = []
    ordinary: list[float] = []
    crashes: list[str] = []

    def attempt(into: list[float], db: str, lock: Path | None = None) -> None:
        try:
            into.append(one_quit(db, user, lock))
        except AppCrashed as exc:
            crashes.append(str(exc))

    for _ in range(max(1, reps // 3)):
        with tempfile.TemporaryDirectory(prefix="navigator-quit-") as tmp:
            copy = copy_store(Path(db), Path(tmp))
            attempt(first, str(copy), copy.with_name(copy.name + ".daily-backup.lock"))
            backups = Path(tmp) / "backups"
            done = daily_backup_done(copy)
            out["quit_first_of_day_backup_taken"] = done and any(backups.glob("*daily*"))
    for _ in range(reps):
        attempt(ordinary, db)
    out["quit_crashes"] = len(crashes)
    if crashes:
        out["quit_crash_example"] = crashes[0]
    if not first or not ordinary:
        raise AppCrashed(f"every quit run crashed: {crashes[:1]}")
    out.update(
        {
            "quit_first_of_day_s": max(first),
            "quit_first_of_day_runs": len(first),
            "quit_s": median(ordinary),
            "quit_max_s": max(ordinary),
        }
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--launch", choices=("app", "hello", "input"), help=argparse.SUPPRESS)
    ap.add_argument("--db")
    ap.add_argument("--user")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--words", type=int, default=7, help="filter words typed (each 3-4 keys, then erased)")
    ap.add_argument("--probe", choices=("all", "startup", "interact", "quit"), default="all")
    a = ap.parse_args(argv)
    if a.launch == "app":
        return launch_app(a.db, a.user)
    if a.launch:
        return launch_bare(a.launch)
    result: dict = {}
    errors: dict = {}
    steps = {
        "startup": lambda: startups(a.db, a.user, max(3, a.reps // 4)),
        "interact": lambda: interact(a.db, a.user, a.reps, a.words),
        "quit": lambda: quits(a.db, a.user, max(3, a.reps // 4)),
    }
    for name, step in steps.items():
        if a.probe not in ("all", name):
            continue
        try:
            result.update(step())
        except Exception as exc:  # one probe's failure is recorded; the others still run
            errors[f"pty_{name}"] = f"{type(exc).__name__}: {exc}"[-3000:]
    result["pty_errors"] = errors
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
