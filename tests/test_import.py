"""Tracker import (docs/tracker-import.md): all or nothing, every bad row reported with line,
column and reason, idempotent, duplicates reported, users and partners created, audit attribution."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from conftest import make_user, new_referral
from navigator.domain import lifecycle as L
from navigator.domain.errors import AccessDenied
from navigator.services import audit
from navigator.services.casework import journeys as J
from navigator.services.tracker_import import importer
from navigator.store.models import (
    AuditEvent,
    Client,
    Journey,
    OnwardReferral,
    Partner,
    Programme,
    Task,
    User,
)

DATA = Path(__file__).parent / "data"
GOOD = DATA / "tracker_good.csv"
HEADER = (
    "client_ref,first_name,last_name,date_of_birth,locality,navigator,referral_source,received_date,"
    "first_contact_date,contact_attempts,decision,decision_date,reject_reason,start_date,end_date,end_reason"
)


def dump(ctx, skip: tuple[str, ...] = ()) -> dict:
    with ctx.store.engine.connect() as conn:
        return {
            t: sorted((tuple(r) for r in conn.execute(text(f'SELECT * FROM "{t}"'))), key=repr)
            for t in sorted(inspect(conn).get_table_names())
            if t not in skip
        }


def write(tmp_path: Path, body: str | bytes, name: str = "t.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    return p


def row(
    ref="X1",
    first="Al",
    last="Bee",
    dob="1980-01-01",
    loc="Maidstone",
    nav="asha.patel",
    src="gp",
    received="2026-03-10",
    contact="",
    attempts="",
    decision="",
    decision_date="",
    reject="",
    start="",
    end="",
    end_reason="",
) -> str:
    return ",".join(
        [
            ref,
            first,
            last,
            dob,
            loc,
            nav,
            src,
            received,
            contact,
            attempts,
            decision,
            decision_date,
            reject,
            start,
            end,
            end_reason,
        ]
    )


# ---------------------------------------------------------------- a good file


@pytest.mark.parametrize("keep", [True, False], ids=["replays kept", "big-file mode: replayed again"])
def test_good_file_imports_with_the_right_counts(ctx, monkeypatch, keep):
    if not keep:
        monkeypatch.setattr(importer, "KEEP_REPLAYS", 0)
    report = importer.import_file(ctx, GOOD)
    assert report.ok, report.errors
    assert report.written and report.rows == 8
    assert (report.clients_created, report.journeys_created, report.onward_created) == (7, 8, 2)
    assert report.users_created == ("asha.patel", "ben.khan", "chris.ward")
    assert report.partners_created == ("Sunrise Cafe Club",)
    assert report.programmes_created == ("Sunrise Cafe Club: Coffee mornings",)
    assert report.skipped_existing == 0 and report.duplicates == ()
    with ctx.read() as s:
        states = {
            (c.client_ref, j.received_date): j
            for j, c in s.exec(select(Journey, Client).join(Client, Client.id == Journey.client_id)).all()
        }
        assert {k: j.state for k, j in states.items()} == {
            ("C001", date(2026, 1, 5)): "completed",
            ("C001", date(2026, 6, 1)): "received",
            ("C002", date(2026, 2, 2)): "closed_without_start",
            ("C003", date(2026, 2, 1)): "rejected",
            ("C004", date(2026, 3, 2)): "rejected",
            ("C005", date(2026, 8, 3)): "started",
            ("C006", date(2026, 11, 10)): "accepted",
            ("C007", date(2026, 4, 1)): "closed_without_start",
        }
        done = states[("C001", date(2026, 1, 5))]
        assert done.outcome_evidence == importer.PROVENANCE
        assert done.first_contact_date == date(2026, 1, 7) and done.last_contact_date == date(2026, 1, 7)
        for j, c in s.exec(select(Journey, Client).join(Client, Client.id == Journey.client_id)).all():
            assert j.state == L.state_of(J.facts(j, c)).value
        ann = s.exec(select(Client).where(Client.client_ref == "C001")).one()
        assert ann.postcode == "ME14 1XX" and ann.nhs_number == "9434765919" and ann.consent_to_share
        eve = s.exec(select(Client).where(Client.client_ref == "C005")).one()
        withdrew = s.exec(
            select(OnwardReferral)
            .join(Journey, Journey.id == OnwardReferral.journey_id)
            .where(Journey.client_id == eve.id)
        ).one()
        assert withdrew.status == "withdrew" and withdrew.feedback_pending_since == date(2026, 10, 1)
        kinds = {t.kind for t in s.exec(select(Task).where(Task.status == "open")).all()}
        assert {"first_contact", "plan_review", "partner_feedback", "waiting_to_start"} <= kinds
        asha = s.exec(select(User).where(User.username == "asha.patel")).one()
        assert asha.role == "navigator" and asha.name == "Asha Patel"
        assert (
            s.exec(select(Programme).join(Partner).where(Partner.name == "Sunrise Cafe Club")).one().name
            == "Coffee mornings"
        )
        # every record attributed to the importing user; one 'import' event; the chain holds
        assert set(s.exec(select(AuditEvent.username)).all()) == {"admin"}
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "import")).all()) == 1
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "journey.receive")).all()) == 8
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "client.create")).all()) == 7
        assert audit.verify_chain(s) == []


def test_reimport_changes_nothing(ctx):
    assert importer.import_file(ctx, GOOD).ok
    before = dump(ctx, skip=("audit_event",))
    again = importer.import_file(ctx, GOOD)
    assert again.ok and again.skipped_existing == 8
    assert (again.clients_created, again.journeys_created, again.onward_created) == (0, 0, 0)
    assert again.users_created == () and again.partners_created == ()
    assert dump(ctx, skip=("audit_event",)) == before
    with ctx.read() as s:
        assert audit.verify_chain(s) == []


def test_new_rows_for_known_people_join_them(ctx, tmp_path):
    assert importer.import_file(ctx, GOOD).ok
    more = write(
        tmp_path,
        HEADER
        + "\n"
        + row(
            ref="C002",
            first="Bob",
            last="Jones",
            dob="1975-05-05",
            loc="Dartford",
            nav="ben.khan",
            src="self",
            received="2026-09-01",
        )
        + "\n",
    )
    report = importer.import_file(ctx, more)
    assert report.ok and report.clients_created == 0 and report.journeys_created == 1
    with ctx.read() as s:
        bob = s.exec(select(Client).where(Client.client_ref == "C002")).one()
        assert len(s.exec(select(Journey).where(Journey.client_id == bob.id)).all()) == 2


def test_dry_run_writes_nothing(ctx):
    before = dump(ctx)
    report = importer.import_file(ctx, GOOD, dry_run=True)
    assert report.ok and not report.written and report.dry_run
    assert (report.clients_created, report.journeys_created, report.onward_created) == (7, 8, 2)
    assert report.users_created == ("asha.patel", "ben.khan", "chris.ward")
    assert dump(ctx) == before


@pytest.mark.both_backends
def test_imports_on_each_backend(ctx):
    report = importer.import_file(ctx, GOOD)
    assert report.ok and report.journeys_created == 8
    with ctx.read() as s:
        assert audit.verify_chain(s) == []
    ref = new_referral(ctx, first="New", last="Person", locality="Dover")  # services still work after it
    assert ref.state == "received"


def test_header_matching_bom_and_blank_lines(ctx, tmp_path):
    body = (
        "\ufeff Received_Date ,CLIENT_REF,first_name,last_name,date_of_birth,locality,navigator,referral_source,\n"
        "10/03/2026,X1,Al,Bee,01/01/1980,maidstone,asha.patel,GP / primary care,\n\n"
        '2026-03-11,X2,"Cy, Jr",Dee,1990-02-02,Dover,asha.patel,SELF,\n'
    )
    report = importer.import_file(ctx, write(tmp_path, body))
    assert report.ok, report.errors
    assert report.journeys_created == 2


def test_likely_duplicates_are_reported_not_refused(ctx, tmp_path):
    new_referral(ctx, first="Ann", last="Smith", dob=date(1980, 1, 1), nhs="9434765919")
    body = (
        HEADER
        + ",nhs_number\n"
        + row(ref="T1", first="ann", last="SMITH", dob="1980-01-01")
        + ",\n"
        + row(ref="T2", first="Zoe", last="Ray", dob="1991-01-01")
        + ",943 476 5919\n"
        + row(ref="T3", first="Zoe", last="Ray", dob="1991-01-01", received="2026-04-01")
        + ",\n"
    )
    report = importer.import_file(ctx, write(tmp_path, body))
    # the same NHS number is another person's: refused, as the desk refuses it
    assert report.errors == ((3, "nhs_number", "Another person (NAV000001) already has this NHS number."),)
    body = body.replace(",943 476 5919\n", ",\n")
    report = importer.import_file(ctx, write(tmp_path, body))
    assert report.ok, report.errors
    reasons = {(line, ref): why for line, ref, why in report.duplicates}
    assert "Same name and date of birth as NAV000001" in reasons[(2, "T1")]
    assert "Same name and date of birth as T2 (line 3)" in reasons[(4, "T3")]
    assert report.clients_created == 3


def test_existing_client_ref_must_be_the_same_person(ctx, tmp_path):
    assert importer.import_file(ctx, GOOD).ok
    before = dump(ctx)
    body = HEADER + "\n" + row(ref="C001", first="Ann", last="Smythe", received="2026-09-01") + "\n"
    report = importer.import_file(ctx, write(tmp_path, body))
    assert not report.ok and not report.written
    assert (2, "last_name") in {(line, col) for line, col, _ in report.errors}
    assert dump(ctx) == before


def test_deactivated_navigator_cannot_hold_an_open_journey(ctx, tmp_path):
    make_user(ctx, "old.hand")
    with ctx.write() as s:
        u = s.exec(select(User).where(User.username == "old.hand")).one()
        u.active = False
        s.add(u)
    closed = row(ref="D1", nav="old.hand", contact="2026-03-11", end="2026-03-12", end_reason="declined")
    open_ = row(ref="D2", nav="old.hand", received="2026-03-12")
    report = importer.import_file(ctx, write(tmp_path, HEADER + "\n" + closed + "\n" + open_ + "\n"))
    assert [(line, col) for line, col, _ in report.errors] == [(3, "navigator")]


def test_only_an_admin_imports(ctx, tmp_path):
    nav = make_user(ctx, "nav.one", lots=("Lot 2",))
    with pytest.raises(AccessDenied):
        importer.import_file(nav, GOOD)


# ---------------------------------------------------------------- bad files: a clear report, the store untouched

BAD_CASES = {
    "bad date 31/02/2026": (HEADER + "\n" + row(received="31/02/2026") + "\n", [(2, "received_date", "no such date")]),
    "not a date": (HEADER + "\n" + row(dob="1st Jan 1980") + "\n", [(2, "date_of_birth", "YYYY-MM-DD or DD/MM/YYYY")]),
    "unknown column": (HEADER + ",recieved_by\n" + row() + ",x\n", [(1, "recieved_by", "Unknown column")]),
    "data in a column with no name": (HEADER + ",\n" + row() + ",x\n", [(2, "column 17", "no name")]),
    "missing required column": ("client_ref,first_name\nX1,Al\n", [(1, "last_name", "required column")]),
    "wrong date order": (
        HEADER
        + "\n"
        + row(contact="2026-03-12", decision="accepted", decision_date="2026-03-11")
        + "\n"
        + row(ref="X2", received="2026-03-10", decision="accepted", decision_date="2026-03-11", start="2026-03-09")
        + "\n",
        [(2, "decision_date", "before the first contact"), (3, "start_date", "before the decision")],
    ),
    "under-17 accepted": (
        HEADER
        + "\n"
        + row(dob="2010-06-01", contact="2026-03-10", decision="accepted", decision_date="2026-03-11")
        + "\n",
        [(2, "decision", "under 17")],
    ),
    "non-UTF-8 bytes": ((HEADER + "\n" + row(last="B\xe9e") + "\n").encode("latin-1"), [(2, "", "not UTF-8")]),
    "empty file": (b"", [(0, "", "empty")]),
    "header only": (HEADER + "\n", [(1, "", "header but no rows")]),
    "mismatched name for the same client_ref": (
        HEADER + "\n" + row() + "\n" + row(first="Alan", received="2026-04-01") + "\n",
        [(3, "first_name", "same client_ref must be the same person")],
    ),
    "end reason not fitting": (
        HEADER
        + "\n"
        + row(
            contact="2026-03-10",
            decision="accepted",
            decision_date="2026-03-11",
            end="2026-03-20",
            end_reason="completed",
        )
        + "\n"
        + row(
            ref="X2",
            contact="2026-03-10",
            decision="accepted",
            decision_date="2026-03-11",
            start="2026-03-12",
            end="2026-03-20",
            end_reason="declined",
        )
        + "\n",
        [
            (2, "end_reason", "never started cannot close as 'completed'"),
            (3, "end_reason", "started journey cannot end as 'declined'"),
        ],
    ),
    "date in the future": (
        HEADER + "\n" + row(received="2026-11-26") + "\n",
        [(2, "received_date", "cannot be in the future")],
    ),
    "rejected with a start": (
        HEADER + "\n" + row(decision="rejected", decision_date="2026-03-10", reject="other", start="2026-03-11") + "\n",
        [(2, "start_date", "Cannot start: this journey is rejected")],
    ),
    "under_17 for an adult": (
        HEADER + "\n" + row(decision="rejected", decision_date="2026-03-10", reject="under_17") + "\n",
        [(2, "reject_reason", "not under 17")],
    ),
    "unknown locality and source": (
        HEADER + "\n" + row(loc="Maidstown", src="doctor") + "\n",
        [(2, "locality", "Did you mean 'Maidstone'"), (2, "referral_source", "not a configured referral source")],
    ),
    "bad NHS number and decile": (
        HEADER + ",nhs_number,imd_decile\n" + row() + ",943 476 5918,11\n",
        [(2, "nhs_number", "check digit"), (2, "imd_decile", "1 to 10")],
    ),
    "same journey twice": (
        HEADER + "\n" + row() + "\n" + row(nav="ben.khan") + "\n",
        [(3, "received_date", "same client_ref")],
    ),
    "duplicate rows": (HEADER + "\n" + row() + "\n" + row() + "\n", [(3, "", "repeats line 2 exactly")]),
    "UTF-16 (Unicode text)": ((HEADER + "\n" + row() + "\n").encode("utf-16"), [(0, "", "UTF-16")]),
    "semicolon delimiter": (
        HEADER.replace(",", ";") + "\n" + row().replace(",", ";") + "\n",
        [(1, "", "separated by semicolons")],
    ),
    "tab delimiter": (
        HEADER.replace(",", "\t") + "\n" + row().replace(",", "\t") + "\n",
        [(1, "", "separated by tabs")],
    ),
    "a huge field (an unclosed quote)": (
        HEADER + "\n" + row(first='"Al') + "\n" + "x" * 140_000 + "\n",
        [(3, "", "longer than 131,072 characters")],
    ),
    "formula-looking cells": (
        HEADER + "\n" + row(first='=HYPERLINK("http://x")') + "\n" + row(ref="@SUM(A1)", received="2026-03-11") + "\n",
        [(2, "first_name", "spreadsheet formula"), (3, "client_ref", "spreadsheet formula")],
    ),
    "NUL bytes": ((HEADER + "\n" + row() + "\n").encode() + b"\x00\x00", [(0, "", "NUL bytes")]),
    "BOM and header only": ("\ufeff" + HEADER + "\n", [(1, "", "header but no rows")]),
    "a second person with the same NHS number": (
        HEADER
        + ",nhs_number\n"
        + row(ref="N1")
        + ",943 476 5919\n"
        + row(ref="N2", first="Di", received="2026-03-11")
        + ",9434765919\n",
        [(3, "nhs_number", "Another person in this file (client_ref N1, line 2)")],
    ),
    "a row with too few cells": (HEADER + "\n" + row() + "\nX2,Al\n", [(3, "", "cells")]),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_file_is_reported_and_the_store_untouched(ctx, tmp_path, case):
    body, expected = BAD_CASES[case]
    assert importer.import_file(ctx, GOOD).ok  # something already there to leave alone
    before = dump(ctx)
    path = write(tmp_path, body)
    report = importer.import_file(ctx, path)
    assert not report.ok and not report.written
    for line, column, words in expected:
        assert any(l_ == line and c == column and words.lower() in r.lower() for l_, c, r in report.errors), (
            case,
            report.errors,
        )
    assert dump(ctx) == before
    dry = importer.import_file(ctx, path, dry_run=True)
    assert dry.errors == report.errors


def test_a_date_of_birth_is_not_echoed_in_the_report(ctx, tmp_path):
    report = importer.import_file(ctx, write(tmp_path, HEADER + "\n" + row(dob="31/02/1980") + "\n"))
    assert report.errors == ((2, "date_of_birth", "Not a date of birth that exists: use YYYY-MM-DD or DD/MM/YYYY."),)


def test_every_bad_row_is_reported_not_just_the_first(ctx, tmp_path):
    rows = [row(ref=f"R{i}", received="31/02/2026" if i % 2 else "2026-03-10") for i in range(10)]
    report = importer.import_file(ctx, write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n"))
    assert [line for line, _, _ in report.errors] == [3, 5, 7, 9, 11]
    assert report.journeys_created == 0


# ---------------------------------------------------------------- the command


def test_cli_import_exit_codes_and_summaries(tmp_path, capsys):
    from navigator.cli import main

    def output() -> tuple[str, str]:
        got = capsys.readouterr()
        return " ".join(got.out.split()), " ".join(got.err.split())  # rich wraps long lines

    db = tmp_path / "cli.sqlite3"
    assert main(["--db", str(db), "init", "--template", "kent"]) == 0
    output()
    assert main(["--db", str(db), "import", str(GOOD), "--dry-run"]) == 0
    out, _ = output()
    assert "dry run: nothing written" in out and "People to create" in out
    assert main(["--db", str(db), "import", str(GOOD)]) == 0
    out, _ = output()
    assert "8 rows imported" in out and "asha.patel, ben.khan, chris.ward" in out
    assert "Sunrise Cafe Club" in out
    assert main(["--db", str(db), "import", str(GOOD)]) == 0
    assert "Already in the store (skipped)" in output()[0]
    bad = write(tmp_path, HEADER + "\n" + row(received="31/02/2026") + "\n", "bad.csv")
    assert main(["--db", str(db), "import", str(bad)]) == 1
    out, _ = output()
    assert "There is no such date (31/02/2026)" in out and "Nothing was imported" in out
    empty = write(tmp_path, b"", "empty.csv")
    assert main(["--db", str(db), "import", str(empty)]) == 1
    assert "The file is empty" in output()[0]
    assert main(["--db", str(db), "import", str(tmp_path / "missing.csv")]) == 2
    assert "There is no file" in output()[1]


# ---------------------------------------------------------------- the domain's refusals, on the right column

ONWARD_HEADER = (
    HEADER + ",swemwbs_end,onward_partner,onward_referral_date,onward_start_date,onward_end_date,onward_outcome\n"
)
_STARTED = dict(contact="2026-03-10", decision="accepted", decision_date="2026-03-11", start="2026-03-12")
DOMAIN_CASES = {
    "partner outcome that does not follow": (
        row(**_STARTED) + ",,Kent Money Advice,2026-03-13,,2026-03-20,completed",
        ("onward_outcome", "After 'made' the partner can report"),
    ),
    "onward referral before the start": (
        row(**_STARTED) + ",,Kent Money Advice,2026-03-11,,,",
        ("onward_referral_date", "cannot be before the start"),
    ),
    "onward referral of a rejected referral": (
        row(decision="rejected", decision_date="2026-03-10", reject="other") + ",,Kent Money Advice,2026-03-13,,,",
        ("onward_partner", "this journey is rejected"),
    ),
    "end SWEMWBS of a journey that never started": (
        row(contact="2026-03-10", end="2026-03-12", end_reason="declined") + ",20,,,,,",
        ("swemwbs_end", "needs a journey that started"),
    ),
    "end before the last contact": (
        row(contact="2026-03-12", end="2026-03-11", end_reason="declined") + ",,,,,,",
        ("end_date", "cannot be before the journey's last step"),
    ),
    "partner's end before its start": (
        row(**_STARTED) + ",,Kent Money Advice,2026-03-13,2026-03-16,2026-03-15,completed",
        ("onward_end_date", "cannot be before the programme start"),
    ),
    "attempt before the referral": (
        row(attempts="2026-03-01") + ",,,,,,",
        ("contact_attempts", "cannot be before the referral date"),
    ),
    "accepted with a reject reason": (
        row(decision="accepted", decision_date="2026-03-11", reject="other") + ",,,,,,",
        ("reject_reason", "no rejection reason"),
    ),
}


@pytest.mark.parametrize("case", list(DOMAIN_CASES))
def test_a_step_the_domain_refuses_is_reported_on_its_column(ctx, tmp_path, case):
    body, (column, words) = DOMAIN_CASES[case]
    before = dump(ctx)
    report = importer.import_file(ctx, write(tmp_path, ONWARD_HEADER + body + "\n"))
    assert [(line, col) for line, col, _ in report.errors] == [(2, column)], report.errors
    assert words in report.errors[0][2]
    assert dump(ctx) == before
