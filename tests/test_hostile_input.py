"""Hostile and broken input, at every entry point but the TUI (tested with the TUI).

Control characters and ANSI escapes, 10,000-character fields, right-to-left text and emoji, SQL-looking
strings, impossible/future/pre-1900 dates; a file that is not a database, a truncated database, a read-only
one, a folder where the file should be, a full disk, a database from a newer navigator. Each gives a clear
message (no traceback, no personal data in it) and leaves the stored data exactly as it was.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
import unicodedata
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from conftest import TODAY, new_referral
from helpers.dump import dump_sqlite
from navigator.cli import main
from navigator.domain.dates import parse_date
from navigator.domain.errors import DomainError, StoreError, ValidationErrors
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.setup.reference import open_ready
from navigator.store.engine import open_store

ANSI_FIRST = "\x1b[31mAnn\x1b[0m\x07"
ANSI_LAST = "Sm\x00ith\x1b]0;owned\x07\x1b[2J"
LONG = "x" * 10_000


def _no_controls(value: str) -> bool:
    return not any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\u200d\u200c" for ch in value)


def _all_text_is_clean(db_path: Path) -> None:
    for table, rows in dump_sqlite(db_path).items():
        for row in rows:
            for value in row:
                if isinstance(value, str):
                    assert _no_controls(value), (table, value)


@pytest.fixture
def as_admin(monkeypatch):
    monkeypatch.setattr("navigator.services.context.os_username", lambda: "admin")


@pytest.fixture
def run(capsys):
    """Run the CLI; return (exit code, stdout, stderr) with rich's line wrapping undone; never a traceback."""

    def _run(*argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, " ".join(out.split()), " ".join(err.split())

    return _run


# ---------------------------------------------------------------- services


def test_escape_sequences_and_control_characters_are_never_stored(ctx, db_path):
    """Typed text carrying escapes or controls is refused (domain/text.py), naming every field at once."""
    with pytest.raises(ValidationErrors) as err:
        J.receive_referral(
            ctx,
            J.ReferralInput(
                received_date=date(2026, 11, 2),
                source="gp",
                referrer="Dr \x1b[1mWho\x1b[0m",
                reason="line one\nline two\x1b[5m blink\x00",
                client=J.ClientInput(ANSI_FIRST, ANSI_LAST, date(1980, 1, 1), "Maidstone", address="1 High St\x1b[K"),
            ),
        )
    assert set(err.value.errors) == {"referrer", "reason", "first_name", "last_name", "address"}
    assert all("\x1b" not in m for m in err.value.errors.values())
    ref = new_referral(ctx)
    with pytest.raises(DomainError) as one:
        J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke", "said \x1b[31mhello\x1b[0m\x08\x08")
    assert one.value.field == "note"
    J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke", "line one\nline two ")
    ctx.store.dispose()
    _all_text_is_clean(db_path)


@pytest.mark.parametrize(
    "field", ["first_name", "last_name", "address", "phone", "email", "reason", "referrer", "note", "goal", "evidence"]
)
def test_ten_thousand_characters_are_refused_clearly(ctx, db_path, field):
    ref = new_referral(ctx)
    ctx.store.dispose()
    before = dump_sqlite(db_path)
    client = dict(first_name="Bea", last_name="Long", date_of_birth=date(1980, 1, 1), locality="Maidstone")
    calls = {
        "first_name": lambda: new_referral(ctx, first=LONG),
        "last_name": lambda: new_referral(ctx, last=LONG),
        "address": lambda: J.receive_referral(
            ctx, J.ReferralInput(date(2026, 11, 2), "gp", client=J.ClientInput(**client, address=LONG))
        ),
        "phone": lambda: J.update_client(
            ctx, ref.client_id, J.ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", phone=LONG)
        ),
        "email": lambda: J.update_client(
            ctx, ref.client_id, J.ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", email=LONG + "@x.org")
        ),
        "reason": lambda: J.receive_referral(
            ctx, J.ReferralInput(date(2026, 11, 2), "gp", reason=LONG, client=J.ClientInput(**client))
        ),
        "referrer": lambda: J.receive_referral(
            ctx, J.ReferralInput(date(2026, 11, 2), "gp", referrer=LONG, client=J.ClientInput(**client))
        ),
        "note": lambda: J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke", LONG),
        "goal": lambda: J.add_goal(ctx, ref.journey_id, "connect", "I " + LONG),
        "evidence": lambda: J.close(ctx, ref.journey_id, date(2026, 11, 3), "declined", LONG),
    }
    with pytest.raises(DomainError) as err:
        calls[field]()
    message = str(err.value)
    assert "long" in message.lower() or "start" in message.lower() or "plan" in message.lower(), message
    assert "xxxxxxxxxx" not in message  # the value is not echoed
    ctx.store.dispose()
    assert dump_sqlite(db_path) == before


def test_right_to_left_text_and_emoji_are_kept_intact(ctx):
    first, last = "مريم", "כהן 👩🏽‍⚕️"
    note = "تمام 👍🏾 — שלום עולם 🇬🇧"
    ref = new_referral(ctx, first=first, last=last)
    J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke", note)
    d = Q.journey_detail(ctx, ref.journey_id)
    assert (d.client.first_name, d.client.last_name) == (first, last)
    assert any(note in e.text for e in d.timeline)
    assert [h.client_ref for h in Q.find(ctx, first)] == [ref.client_ref]


def test_bidi_override_characters_are_refused(ctx):
    """U+202E (right-to-left override) can disguise text; it is refused, naming the field."""
    with pytest.raises(ValidationErrors) as err:
        new_referral(ctx, first="Ann\u202eeffoc", last="Smith\u2066")
    assert set(err.value.errors) == {"first_name", "last_name"}
    assert "text-direction" in err.value.errors["first_name"]


SQLISH = ["Robert'); DROP TABLE client;--", "1' OR '1'='1", 'x"; DELETE FROM journey; --', "%_\\'"]


@pytest.mark.parametrize("text_", SQLISH)
def test_sql_looking_strings_are_stored_literally(ctx, db_path, text_):
    ref = new_referral(ctx, first=text_, last="Tables")
    J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke", text_)
    assert Q.journey_detail(ctx, ref.journey_id).client.first_name == text_.strip()
    assert [h.client_id for h in Q.find(ctx, text_)] in ([ref.client_id], [])
    assert Q.caseload(ctx, text_filter=text_).total in (0, 1)
    assert Q.caseload(ctx, text_filter="%").total == (1 if "%" in text_ else 0)
    ctx.store.dispose()
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT count(*) FROM journey").fetchone()[0] == 1
    assert con.execute("SELECT note FROM contact_attempt").fetchone()[0] == text_.strip()
    con.close()


@pytest.mark.parametrize(
    "typed, message",
    [
        ("2026-02-30", "no such date"),
        ("31/02/2026", "no such date"),
        ("2026-13-01", "no such date"),
        ("31/12/1899", "before 1900"),
        ("1066-10-14", "before 1900"),
        ("yesterday-ish", "Not a date"),
        ("'; DROP TABLE journey; --", "Not a date"),
    ],
)
def test_impossible_dates_are_refused_with_a_reason(typed, message):
    with pytest.raises(DomainError, match=message):
        parse_date(typed, today=TODAY)


def test_future_and_pre_1900_dates_are_refused_and_change_nothing(ctx, db_path):
    ref = new_referral(ctx)
    ctx.store.dispose()
    before = dump_sqlite(db_path)
    tomorrow = TODAY + timedelta(days=1)
    attempts = [
        lambda: new_referral(ctx, first="Fay", received=tomorrow),
        lambda: new_referral(ctx, first="Fay", dob=tomorrow),
        lambda: new_referral(ctx, first="Fay", dob=date(1899, 12, 31)),
        lambda: J.log_contact(ctx, ref.journey_id, tomorrow, "phone", "spoke"),
        lambda: J.log_contact(ctx, ref.journey_id, date(1899, 1, 1), "phone", "spoke"),
        lambda: J.decide(ctx, ref.journey_id, "accepted", date(2030, 1, 1)),
        lambda: J.update_client(ctx, ref.client_id, J.ClientInput("Ann", "Smith", date(1850, 1, 1), "Maidstone")),
    ]
    for attempt in attempts:
        with pytest.raises(DomainError) as err:
            attempt()
        assert isinstance(err.value, (DomainError, ValidationErrors)) and str(err.value)
    ctx.store.dispose()
    assert dump_sqlite(db_path) == before


# ---------------------------------------------------------------- broken stores, through the CLI


def test_a_file_that_is_not_a_database(tmp_path, run):
    p = tmp_path / "notes.sqlite3"
    p.write_text("Ann Smith, 1 High Street, ME14 1XX\n" * 50)
    before = p.read_bytes()
    code, _, err = run("--db", str(p), "init")
    assert code == 4 and "not a navigator database" in err
    assert "Ann Smith" not in err and "ME14" not in err  # no personal data in the message
    assert p.read_bytes() == before


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_a_truncated_database(ctx, db_path, tmp_path, run, as_admin, fraction):
    new_referral(ctx, first="Truncated")
    ctx.store.dispose()
    data = db_path.read_bytes()
    cut = tmp_path / "cut.sqlite3"
    cut.write_bytes(data[: int(len(data) * fraction) // 4096 * 4096])
    before = cut.read_bytes()
    code, _, err = run("--db", str(cut), "init")
    assert code == 4 and "damaged" in err and "navigator restore" in err
    assert "Truncated" not in err
    assert cut.read_bytes() == before


def test_a_folder_where_the_file_should_be(tmp_path, run):
    folder = tmp_path / "store.sqlite3"
    folder.mkdir()
    code, _, err = run("--db", str(folder), "init")
    assert code == 4 and "is a folder" in err
    assert list(folder.iterdir()) == []


def test_a_database_from_a_newer_navigator(ctx, db_path, run, as_admin):
    new_referral(ctx)
    ctx.store.dispose()
    con = sqlite3.connect(db_path)
    con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    con.commit()
    con.close()
    before = dump_sqlite(db_path)
    code, _, err = run("--db", str(db_path), "init")
    assert code == 4 and "newer version of navigator" in err
    with pytest.raises(StoreError, match="newer version"):
        open_store(f"sqlite:///{db_path}")
    assert dump_sqlite(db_path) == before


@pytest.fixture
def read_only(db_path):
    """Make the store read-only for real: chmod 0400, and (as root, who ignores modes) the immutable flag."""
    made_immutable = []

    def make(path: Path):
        os.chmod(path, 0o400)
        if os.geteuid() == 0:
            chattr = shutil.which("chattr")
            ok = chattr and subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode == 0
            if not ok:
                pytest.skip("running as root without chattr +i support: a read-only file is writable here")
            made_immutable.append(path)

    yield make
    for p in made_immutable:
        subprocess.run(["chattr", "-i", str(p)], capture_output=True)


def test_a_read_only_database(ctx, db_path, run, as_admin, read_only):
    ref = new_referral(ctx, first="Rhoda")
    ctx.store.dispose()
    before = dump_sqlite(db_path)
    read_only(db_path)
    code, out, err = run("--db", str(db_path), "audit", "--client", ref.client_ref)  # writes a view event
    assert code == 4 and "read-only" in err, err
    assert "Rhoda" not in err
    code, out, _ = run("--db", str(db_path), "doctor")  # reading still works
    assert "integrity" in out
    with pytest.raises(StoreError, match="read-only"):
        _, ro_ctx = open_ready(f"sqlite:///{db_path}", username="admin")
        J.log_contact(ro_ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke")
    assert dump_sqlite(db_path) == before


def test_a_full_disk_leaves_everything_as_it_was(ctx, db_path, tmp_path, run, as_admin):
    ref = new_referral(ctx, first="Dolores")
    ctx.store.dispose()
    before = dump_sqlite(db_path)

    def fail_writes(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise sqlite3.OperationalError("database or disk is full")

    event.listen(Engine, "before_cursor_execute", fail_writes)
    try:
        with pytest.raises(StoreError, match="disk is full") as err:
            J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke", "Dolores was in")
        assert "Dolores" not in str(err.value)
        with pytest.raises(StoreError, match="disk is full"):
            new_referral(ctx, first="Another")
        code, _, err_text = run("--db", str(db_path), "sar", ref.client_ref, "--out", str(tmp_path / "sar"))
        assert code == 4 and "disk is full" in err_text and "Dolores" not in err_text
        assert not (tmp_path / "sar").exists() or not list((tmp_path / "sar").iterdir())
    finally:
        event.remove(Engine, "before_cursor_execute", fail_writes)
    ctx.store.dispose()
    assert dump_sqlite(db_path) == before


# ---------------------------------------------------------------- the CLI's own arguments


def test_hostile_arguments_are_not_echoed_raw(ctx, db_path, run, as_admin):
    new_referral(ctx)
    for argv in (["audit", "--client", "\x1b]0;owned\x07NAV\x1b[2J"], ["sar", "\x1b[31m" + LONG, "--out", "x"]):
        code, out, err = run("--db", str(db_path), *argv)
        assert code == 3
        assert "\x1b" not in out + err and "\x07" not in out + err


# ---------------------------------------------------------------- the tracker import


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def _row(**kw):
    row = {
        "client_ref": "T001",
        "first_name": "Iris",
        "last_name": "Import",
        "date_of_birth": "1980-01-01",
        "locality": "Maidstone",
        "navigator": "admin",
        "referral_source": "gp",
        "received_date": "2026-10-01",
    }
    row.update(kw)
    return row


def test_import_cleans_escapes_and_refuses_huge_fields(ctx, db_path, tmp_path, run, as_admin):
    pytest.importorskip("navigator.services.tracker_import.importer")
    new_referral(ctx)
    ctx.store.dispose()
    before = dump_sqlite(db_path)
    huge = _write_csv(tmp_path / "huge.csv", [_row(first_name=LONG), _row(client_ref="T002", first_name="Ok")])
    code, out, err = run("--db", str(db_path), "import", str(huge))
    assert code == 1 and "xxxxxxxxxxxxxxxxxxxx" not in out + err
    assert dump_sqlite(db_path) == before  # all or nothing
    bad_date = _write_csv(
        tmp_path / "dates.csv", [_row(received_date="2026-02-30"), _row(client_ref="T003", date_of_birth="1850-01-01")]
    )
    code, out, err = run("--db", str(db_path), "import", str(bad_date))
    assert code == 1 and dump_sqlite(db_path) == before
    hostile = _write_csv(
        tmp_path / "ansi.csv",
        [
            _row(first_name=ANSI_FIRST, last_name=ANSI_LAST),
            _row(client_ref="T004", first_name="Robert'); DROP TABLE client;--", last_name="مريم 👩🏽‍⚕️"),
        ],
    )
    code, out, err = run("--db", str(db_path), "import", str(hostile))
    assert "\x1b" not in out + err
    if code == 0:
        con = sqlite3.connect(db_path)
        names = sorted(con.execute("SELECT first_name, last_name FROM client WHERE client_ref IN ('T001','T004')"))
        con.close()
        assert names == [("Ann", "Smith"), ("Robert'); DROP TABLE client;--", "مريم 👩🏽‍⚕️")]
        _all_text_is_clean(db_path)
    else:
        assert dump_sqlite(db_path) == before
