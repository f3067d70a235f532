"""The `navigator` console script as a user or a script runs it (a subprocess each time): the
distribution's name, global options anywhere, exit codes, init templates, no store made by
mistake, confirmations, --json, output in a pipe, hostile values, shell completion."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

NAV = shutil.which("navigator", path=str(Path(sys.executable).parent)) or shutil.which("navigator")
GOOD_CSV = Path(__file__).parent / "data" / "tracker_good.csv"
KENT_WORDS = ("kent", "maidstone", "dartford", "thanet", "dover", "swale", "sevenoaks", "canterbury", "ashford")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    e = {k: v for k, v in os.environ.items() if not k.startswith(("NAVIGATOR_", "COLUMNS", "FORCE_COLOR"))}
    e.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".data"))
    return e


@pytest.fixture
def nav(env, tmp_path):
    def run(*argv, stdin: str | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [NAV, *map(str, argv)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            cwd=tmp_path,
            timeout=300,
            input=stdin if stdin is not None else "",
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    return run


def _rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- the package


def test_the_distribution_has_its_own_name_and_the_command_stays_navigator(nav):
    dist = metadata.distribution("navigator-casework")
    (script,) = [ep for ep in dist.entry_points if ep.group == "console_scripts"]
    assert (script.name, script.value) == ("navigator", "navigator.cli:main")
    assert dist.metadata["License-Expression"] == "MIT"
    import navigator

    assert dist.version == navigator.__version__
    out = nav("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"navigator {navigator.__version__}"


# ---------------------------------------------------------------- options, exit codes, stores


def test_global_options_before_or_after_the_command(nav, tmp_path):
    db = tmp_path / "s.sqlite3"
    assert nav("init", "--template", "blank", "--db", db).returncode == 0
    for argv in (
        ("--db", db, "doctor"),
        ("doctor", "--db", db),
        ("doctor", "--db-url", f"sqlite:///{db}"),
        ("users", "list", "--db", db),
        ("--db", db, "users", "list", "--as", os.environ.get("USER") or _me()),
    ):
        proc = nav(*argv)
        assert proc.returncode == 0, (argv, proc.stderr)
    demo = tmp_path / "demo.sqlite3"  # as the README writes it: the option after the command
    assert nav("demo", "--db", demo, "--clients", "3", "--no-open").returncode == 0 and demo.exists()
    # after the command, a global option wins over one before it
    elsewhere = tmp_path / "elsewhere.sqlite3"
    assert nav("--db", elsewhere, "users", "list", "--db", db).returncode == 0
    assert not elsewhere.exists()


def _me() -> str:
    from navigator.services.context import os_username

    return os_username()


def test_exit_codes_are_distinct_and_documented(nav, tmp_path):
    help_ = nav("--help")
    assert help_.returncode == 0
    for code, words in ((0, "done"), (1, "checks failed"), (2, "usage"), (3, "refused"), (4, "store")):
        assert re.search(rf"^\s+{code}\s+.*{words}", help_.stdout, re.M), (code, help_.stdout)
    assert "Exit codes" in nav("users", "list", "--help").stdout
    db = tmp_path / "s.sqlite3"
    assert nav("--db", db, "init", "--template", "kent").returncode == 0
    usage = nav("--db", db, "users", "list", "--no-such-option")
    assert usage.returncode == 2 and "unrecognized arguments" in usage.stderr
    refused = nav("--db", db, "users", "add", "Not A Username", "--name", "X")
    assert refused.returncode == 3 and "navigator:" in refused.stderr
    assert nav("--db", db, "--as", "nobody", "users", "list").returncode == 3  # permissions
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("not a database at all")
    store = nav("--db", junk, "users", "list")
    assert store.returncode == 4 and "not a navigator database" in " ".join(store.stderr.split())
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("client_ref\nX1\n")
    assert nav("--db", db, "import", bad_csv, "--dry-run").returncode == 1  # rows refused


def test_a_store_that_does_not_exist_is_never_created_by_mistake(nav, tmp_path):
    missing = tmp_path / "typo" / "stroe.sqlite3"
    for argv in (("users", "list"), ("partners", "list"), ("doctor",), ("audit", "--client", "NAV000001"), ()):
        proc = nav("--db", missing, *argv)
        assert proc.returncode in (1, 4), (argv, proc.returncode, proc.stderr)  # doctor: a failed check
        assert "no database" in " ".join((proc.stdout + proc.stderr).split()).lower(), argv
    assert not missing.exists() and not missing.parent.exists()
    # init in a script must be told which template; it then creates nothing either
    proc = nav("--db", missing, "init")
    assert proc.returncode == 2 and "--template blank" in proc.stderr.replace("|", " ") + proc.stderr
    assert not missing.exists()


def test_init_blank_then_the_documented_set_up_gives_a_working_service_with_nothing_of_kent(nav, tmp_path):
    db = tmp_path / "leics.sqlite3"
    assert nav("init", "--template", "blank", "--db", db).returncode == 0
    for argv in (
        ("reference", "add", "lot", "Lot 1", "North"),
        ("reference", "add", "locality", "Northtown", "--lot", "Lot 1"),
        ("users", "add", "asha.patel", "--name", "Asha Patel", "--role", "navigator", "--lot", "Lot 1"),
        ("partners", "add", "Money Advice North"),
        ("partners", "add-programme", "Money Advice North", "Debt advice", "--locality", "Northtown"),
    ):
        proc = nav("--db", db, *argv)
        assert proc.returncode == 0, (argv, proc.stderr)
    tables = ("lot", "locality", "partner", "programme", "referral_source", "support_area", "personal_outcome")
    for table in tables:
        for row in _rows(db, f"SELECT * FROM {table}"):
            text = " ".join(str(v) for v in row).lower()
            assert not any(w in text for w in KENT_WORDS), (table, row)
    assert _rows(db, "SELECT code FROM lot") == [("Lot 1",)]
    again = nav("--db", db, "init", "--template", "kent")  # a template only ever seeds a new store
    assert again.returncode == 0 and "already set up" in again.stdout
    assert _rows(db, "SELECT code FROM lot") == [("Lot 1",)]
    # a working service: the new navigator takes a referral in the new locality
    from datetime import date

    from navigator.services.casework import journeys as J
    from navigator.services.context import Ctx
    from navigator.store.engine import open_store

    store = open_store(f"sqlite:///{db}", create=False)
    try:
        ctx = Ctx(store, username="asha.patel", today_fn=lambda: date(2026, 11, 25))
        ref = J.receive_referral(
            ctx,
            J.ReferralInput(
                received_date=date(2026, 11, 24),
                source="gp",
                client=J.ClientInput("Ann", "Smith", date(1980, 1, 1), "Northtown"),
            ),
        )
        assert ref.client_ref
    finally:
        store.dispose()


def test_retiring_a_partner_asks_then_retires_its_programmes(nav, tmp_path):
    db = tmp_path / "s.sqlite3"
    assert nav("--db", db, "init", "--template", "kent").returncode == 0
    refused = nav("--db", db, "partners", "retire", "Calm Kent")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    done = nav("--db", db, "partners", "retire", "Calm Kent", "--yes")
    assert done.returncode == 0 and "Yoga" in done.stdout and "1 programme" in done.stdout
    listed = json.loads(nav("--db", db, "partners", "list", "--json").stdout)
    calm = next(p for p in listed["partners"] if p["name"] == "Calm Kent")
    assert calm["active"] is False and [g["active"] for g in calm["programmes"]] == [False]
    assert nav("--db", db, "reference", "retire", "locality", "Dover").returncode == 0
    serving = nav("--db", db, "partners", "add-programme", "Kent Works", "Coastal jobs", "--locality", "Dover")
    assert serving.returncode == 3 and "retired" in serving.stderr


def test_irreversible_commands_refuse_in_a_script_without_yes(nav, tmp_path):
    db = tmp_path / "s.sqlite3"
    assert nav("--db", db, "init", "--template", "kent").returncode == 0
    assert nav("--db", db, "users", "add", "nav1", "--name", "Nav One", "--lot", "Lot 2").returncode == 0
    backup = tmp_path / "b.sqlite3"
    assert nav("--db", db, "backup", "--out", backup).returncode == 0
    for argv in (("users", "deactivate", "nav1"), ("restore", backup)):
        proc = nav("--db", db, *argv)
        assert proc.returncode == 2 and "Add --yes" in proc.stderr, argv
    users = json.loads(nav("--db", db, "users", "list", "--json").stdout)["users"]
    assert next(u for u in users if u["username"] == "nav1")["active"] is True
    assert nav("--db", db, "users", "deactivate", "nav1", "--yes").returncode == 0
    assert nav("--db", db, "restore", backup, "--yes").returncode == 0


def _at_terminal(argv: list, env: dict, question: bytes, answer: str) -> tuple[int, str]:
    """Run the command on a real terminal (a pty), answer its question, return (exit code, output)."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen([NAV, *map(str, argv)], stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    seen = b""
    try:
        while question not in seen:
            chunk = os.read(leader, 1024)
            assert chunk, seen
            seen += chunk
        os.write(leader, answer.encode() + b"\r")
        while chunk := os.read(leader, 1024):
            seen += chunk
    except OSError:  # the terminal closes when the process ends
        pass
    finally:
        os.close(leader)
    return proc.wait(timeout=120), seen.decode(errors="replace")


def test_at_a_terminal_irreversible_commands_ask(env, tmp_path):
    """A real terminal: "n" keeps the user, "y" deactivates them."""
    db = tmp_path / "s.sqlite3"
    subprocess.run([NAV, "--db", db, "init", "--template", "kent"], env=env, capture_output=True, check=True)
    subprocess.run([NAV, "--db", db, "users", "add", "nav1", "--name", "N"], env=env, capture_output=True, check=True)
    argv = ["--db", db, "users", "deactivate", "nav1"]
    code, text = _at_terminal(argv, env, b"Go ahead", "n")
    assert code == 1 and "Cancelled" in text
    code, text = _at_terminal(argv, env, b"Go ahead", "y")
    assert code == 0 and "Deactivated nav1" in text


def test_at_a_terminal_init_asks_which_template(env, tmp_path):
    db = tmp_path / "new.sqlite3"
    code, text = _at_terminal(["--db", db, "init"], env, b"[blank/kent]", "blank")
    assert code == 0 and "blank service" in text
    assert _rows(db, "SELECT count(*) FROM lot") == [(0,)] and _rows(db, "SELECT count(*) FROM partner") == [(0,)]


def test_every_error_has_one_exit_code_and_no_traceback(monkeypatch, capsys):
    import sqlite3 as sqlite

    from navigator import cli
    from navigator.domain.errors import AccessDenied, DomainError, NotFound, StoreError

    cases = [
        (cli.CommandError("x"), 2),
        (cli.CommandError("x", code=cli.EXIT_FAILED), 1),
        (DomainError("x"), 3),
        (AccessDenied("x"), 3),
        (NotFound("x"), 3),
        (StoreError("x"), 4),
        (PermissionError(13, "Permission denied"), 4),
        (sqlite.OperationalError("disk I/O error near 'Ann Smith'"), 4),
        (KeyboardInterrupt(), 130),
        (RuntimeError("a bug"), 70),
    ]
    for exc, code in cases:
        assert cli.exit_code(exc) == code, exc

        def boom(args, exc=exc):
            raise exc

        monkeypatch.setattr(cli, "parse_args", lambda argv, boom=boom: __import__("argparse").Namespace(handler=boom))
        assert cli.main([]) == code, exc
        err = capsys.readouterr().err
        assert "Traceback" not in err and "Ann Smith" not in err, err  # a database error's text is not shown


# ---------------------------------------------------------------- --json on every list


@pytest.fixture(scope="module")
def demo_db(env, tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    proc = subprocess.run(
        [NAV, "--db", db, "demo", "--clients", "30", "--no-open"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return db


def test_every_list_command_takes_json(nav, demo_db, tmp_path):
    def as_json(*argv, code: int = 0):
        proc = nav("--db", demo_db, *argv, "--json")
        assert proc.returncode == code, (argv, proc.stderr)
        assert "\x1b" not in proc.stdout
        return json.loads(proc.stdout)

    users = as_json("users", "list")["users"]
    assert {"username", "name", "role", "lots", "active"} <= set(users[0])
    partners = as_json("partners", "list")["partners"]
    assert partners and {"id", "name", "contact", "active", "programmes"} <= set(partners[0])
    assert {"id", "name", "expected_response_days", "localities", "active", "offered"} <= set(
        partners[0]["programmes"][0]
    )
    localities = as_json("reference", "list", "locality")
    assert localities["kind"] == "locality" and {"code", "name", "lot", "active"} <= set(localities["entries"][0])
    ref = _rows(demo_db, "SELECT client_ref FROM client ORDER BY id LIMIT 1")[0][0]
    history = as_json("audit", "--client", ref)
    assert history["client_ref"] == ref and {"at", "who", "action", "entity", "entity_id", "changes"} <= set(
        history["events"][0]
    )
    doctor = as_json("doctor")
    assert doctor["healthy"] is True and {"check", "status", "detail", "fix"} <= set(doctor["findings"][0])
    retention = as_json("retention", "list")
    assert {"cutoff", "years", "candidates"} <= set(retention)
    report = as_json("import", GOOD_CSV, "--dry-run")
    assert report["dry_run"] is True and report["ok"] is True and report["rows"] > 0
    assert {"errors", "created", "skipped_existing", "duplicates"} <= set(report)
    assert as_json("returns") == {"returns": []}
    month = "2026-10"
    out = tmp_path / "r.sqlite"
    assert nav("--db", demo_db, "export", "--publication", "--month", month, "--out", out, "--final").returncode == 0
    sent = as_json("returns")["returns"]
    assert [(r["month"], r["suppress_under"]) for r in sent] == [(month, None)]
    drift = as_json("returns", "show", month, "--all")
    assert drift["return"]["id"] == sent[0]["id"] and drift["figures_moved"] == 0
    assert drift["figures"] and {"measure", "lot", "locality", "sent", "today", "moved", "journeys"} <= set(
        drift["figures"][0]
    )


def test_in_a_pipe_there_is_no_colour_and_no_wrapping(nav, tmp_path):
    db = tmp_path / "s.sqlite3"
    assert nav("--db", db, "init", "--template", "kent").returncode == 0
    long_name = "Anne-Marie " + "Longname " * 20  # 191 characters (names are at most 200)
    assert nav("--db", db, "users", "add", "long.one", "--name", long_name.strip()).returncode == 0
    out = nav("--db", db, "users", "list").stdout
    assert "\x1b" not in out
    (line,) = [ln for ln in out.splitlines() if "long.one" in ln]
    assert long_name.strip() in line  # the whole name on one line


# ---------------------------------------------------------------- hostile values


HOSTILE = {
    "markup": "Test[/bold] [link=x]a[/link] [red]r",
    "emoji": "Zoë 👩‍👩‍👧 ✅",
    "rtl": "مريم العربية",
    "long": "L" * 190,  # names are at most 200 characters; a 500-character contact is below
}
LONG_CONTACT = "C" * 500


def test_list_commands_print_hostile_values_literally(nav, tmp_path):
    db = tmp_path / "s.sqlite3"
    assert nav("--db", db, "init", "--template", "kent").returncode == 0
    short = {k: v[:90] for k, v in HOSTILE.items()}  # reference names are at most 100 characters
    from navigator.services.context import Ctx, os_username
    from navigator.services.setup import admin
    from navigator.store.engine import open_store

    store = open_store(f"sqlite:///{db}", create=False)
    try:  # set up through the services (quicker than a process per value); listed by the CLI below
        ctx = Ctx(store, username=os_username())
        for i, (key, value) in enumerate(HOSTILE.items()):
            admin.add_user(ctx, f"user{i}", value, "navigator")
            partner = f"{value[:180]} P{i}"
            admin.add_partner(ctx, partner, LONG_CONTACT if key == "long" else value)
            admin.add_programme(ctx, partner, value)
            admin.add_reference(ctx, "locality", f"{short[key]} {i}", lot="Lot 2")
            admin.add_reference(ctx, "source", f"s{i}", short[key])
        from datetime import date

        from navigator.services.casework import journeys as J

        person = J.ClientInput(HOSTILE["markup"], HOSTILE["rtl"], date(1980, 1, 1), "Maidstone")
        ref = J.receive_referral(ctx, J.ReferralInput(received_date=date(2026, 11, 24), source="gp", client=person))
    finally:
        store.dispose()
    # Control characters cannot be typed in (the domain refuses them); older data or a file may
    # still hold them: written straight into the store here.
    escape = "Esc\x1b[31mRED\x1b]0;title\x07 \u202eevil"
    shown = "Esc\\x1b[31mRED\\x1b]0;title\\x07 \\u202eevil"  # visible, not obeyed
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE user SET name = ? WHERE username = 'user0'", (escape,))
        con.execute("UPDATE referral_source SET name = ? WHERE code = 's0'", (escape,))
    con.close()
    expected = {
        ("users", "list"): [escape, *list(HOSTILE.values())[1:]],
        ("partners", "list"): [*HOSTILE.values(), LONG_CONTACT],
        ("reference", "list", "locality"): list(short.values()),
        ("reference", "list", "source"): [escape, *list(short.values())[1:]],
        ("audit", "--client", ref.client_ref): [HOSTILE["markup"], HOSTILE["rtl"]],
        ("users", "journeys", os_username()): [f"{HOSTILE['markup']} {HOSTILE['rtl']}"],
    }
    for argv, values in expected.items():
        proc = nav("--db", db, *argv)
        assert proc.returncode == 0, (argv, proc.stderr)
        out = proc.stdout
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out, argv
        for value in values:
            assert (shown if value == escape else value) in out, (argv, value)
        data = "\n".join(_strings(json.loads(nav("--db", db, *argv, "--json").stdout)))
        for value in values:
            assert value in data, (argv, value)  # JSON holds the exact value


def _strings(data) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        data = list(data.values())
    return [s for item in data for s in _strings(item)] if isinstance(data, list) else []


# ---------------------------------------------------------------- completion


def test_completion_scripts_for_bash_zsh_and_fish(nav, env):
    scripts = {}
    for shell in ("bash", "zsh", "fish"):
        proc = nav("completion", shell)
        assert proc.returncode == 0 and "users" in proc.stdout and "--template" in proc.stdout, shell
        scripts[shell] = proc.stdout
    assert "_files" in scripts["zsh"] and "complete -c navigator" in scripts["fish"]
    # bash: the script loads, and completes commands, actions and options
    script = Path(env["HOME"]) / "navigator.bash"
    script.write_text(scripts["bash"])
    probe = (
        f"source {script}; "
        'COMP_WORDS=(navigator us); COMP_CWORD=1; _shtab_navigator; echo "${COMPREPLY[@]}"; '
        'COMP_WORDS=(navigator users l); COMP_CWORD=2; _shtab_navigator; echo "${COMPREPLY[@]}"; '
        'COMP_WORDS=(navigator init --template ""); COMP_CWORD=3; _shtab_navigator; echo "${COMPREPLY[@]}"'
    )
    lines = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60).stdout.splitlines()
    assert lines[0].split() == ["users"] and lines[1].split() == ["list"]
    assert sorted(lines[2].split()) == ["blank", "kent"]


def test_shtab_stays_off_the_start_up_path():
    code = (
        "import sys, navigator.cli as c; c.build_parser(); c.parse_args(['--db', 'x']); "
        "assert 'shtab' not in sys.modules and 'json' not in sys.modules, sorted(sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
