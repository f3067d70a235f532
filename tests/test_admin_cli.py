"""A new store set up end to end from the CLI alone: users, partners, protocol, wording, letters,
calendar, reference data; refusals for non-admins; export -> import -> export."""

from __future__ import annotations

import os
import stat
from datetime import date

import pytest

from navigator.cli import main
from navigator.services.casework import journeys as J
from navigator.services.casework import letters
from navigator.services.casework import queries as Q
from navigator.services.context import Ctx, os_username
from navigator.services.setup import admin
from navigator.store.engine import open_store

WORDING = (
    "# SWEMWBS wording (licensed)\n"
    + "\n".join(f"Licensed statement {i}" for i in range(1, 8))
    + "\n(c) NHS Health Scotland, University of Warwick and University of Edinburgh, 2008\n"
)


def run(db, *argv) -> int:
    return main(["--db", str(db), *argv])


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.sqlite3"
    assert main(["--db", str(path), "init", "--template", "kent"]) == 0
    return path


def ctx_for(db, username=None):
    store = open_store(f"sqlite:///{db}")
    return Ctx(store, username=username or os_username(), today_fn=lambda: date(2026, 11, 25))


def test_set_up_a_service_from_the_cli(db, tmp_path, capsys):
    me = os_username()
    assert run(db, "init") == 0
    assert (
        run(
            db,
            "users",
            "add",
            "j.smith",
            "--name",
            "Jo Smith",
            "--role",
            "navigator",
            "--lot",
            "Lot 1",
            "--lot",
            "Lot 2",
        )
        == 0
    )
    assert run(db, "users", "add", "t.lead", "--name", "Tee Lead", "--role", "team_lead", "--lot", "Lot 2") == 0
    assert run(db, "users", "add", "a.deputy", "--name", "Ada Deputy", "--role", "admin") == 0
    assert run(db, "users", "edit", "t.lead", "--lot", "Lot 2", "--lot", "Lot 3") == 0
    assert run(db, "partners", "add", "Medway Money", "--contact", "01634 000000") == 0
    assert (
        run(
            db,
            "partners",
            "add-programme",
            "Medway Money",
            "Debt clinic",
            "--locality",
            "Maidstone",
            "--locality",
            "Sevenoaks",
            "--response-days",
            "7",
            "--eligibility",
            "Adults in debt",
        )
        == 0
    )
    assert run(db, "partners", "retire-programme", "Calm Kent: Yoga") == 0
    assert (
        run(
            db,
            "protocol",
            "set",
            "--attempts",
            "3",
            "--gaps",
            "2,3",
            "--methods",
            "phone,text,letter",
            "--opt-in-days",
            "10",
            "--no-notify-referrer",
        )
        == 0
    )
    wording = tmp_path / "wording.txt"
    wording.write_text(WORDING, encoding="utf-8")
    assert run(db, "config", "wording", str(wording)) == 0
    assert run(db, "config", "threshold", "2.5") == 0
    assert run(db, "config", "ons4", "on") == 0
    assert run(db, "config", "service", "--name", "Live Well Kent", "--phone", "0800 000 0000") == 0
    assert run(db, "calendar", "add", "2026-05-08", "--non-working", "--note", "Extra bank holiday") == 0
    assert run(db, "reference", "add", "source", "pharmacy", "Community pharmacy") == 0
    assert run(db, "reference", "add", "locality", "Edenbridge", "--lot", "Lot 2") == 0
    assert run(db, "reference", "rename", "locality", "Maidstone", "Maidstone Town") == 0
    assert run(db, "reference", "retire", "source", "jobcentre") == 0
    template = tmp_path / "opt_in.txt"
    template.write_text("Dear {client_first_name},\n\nPlease call {service_phone} by {opt_in_deadline}.\n")
    assert run(db, "letters", "set", "opt_in_letter", str(template)) == 0
    for listing in (
        ("users", "list"),
        ("partners", "list"),
        ("protocol", "show"),
        ("config", "show"),
        ("calendar", "list"),
        ("reference", "list", "locality"),
        ("letters", "list"),
    ):
        assert run(db, *listing) == 0
    out = capsys.readouterr().out
    assert "Licensed statement 7" in out and "Debt clinic" in out

    ctx = ctx_for(db)
    try:
        users = {u.username: u for u in admin.list_users(ctx)}
        assert set(users) == {me, "j.smith", "t.lead", "a.deputy"}
        assert users[me].role == "admin" and users["t.lead"].lots == ("Lot 2", "Lot 3")
        prog = next(g for p in admin.list_partners(ctx) for g in p.programmes if g.name == "Debt clinic")
        assert (prog.localities, prog.expected_response_days) == (("Maidstone Town", "Sevenoaks"), 7)
        p = admin.get_protocol(ctx)
        assert (p.gaps, p.methods, p.notify_referrer) == ((2, 3), ("phone", "text", "letter"), False)
        m = admin.measure_settings(ctx)
        assert m.wording.statements[6] == "Licensed statement 7" and m.wording.copyright.startswith("(c) NHS")
        assert str(m.threshold) == "2.5" and m.ons4_enabled
        assert not ctx.calendar().is_working_day(date(2026, 5, 8))
        assert letters.get_template(ctx, "opt_in_letter").customised
    finally:
        ctx.store.dispose()


def test_non_admins_are_refused_and_store_unchanged(db, capsys):
    assert run(db, "users", "add", "nav", "--name", "Nav", "--lot", "Lot 2") == 0
    assert run(db, "users", "add", "lead", "--name", "Lead", "--role", "team_lead", "--lot", "Lot 2") == 0
    export = db.parent / "before.toml"
    assert run(db, "config", "export", str(export)) == 0
    capsys.readouterr()
    for who in ("nav", "lead"):
        for argv in (
            ("users", "add", "x", "--name", "X"),
            ("protocol", "set", "--opt-in-days", "3"),
            ("config", "threshold", "2"),
            ("config", "ons4", "on"),
            ("partners", "add", "P"),
            ("reference", "retire", "source", "gp"),
            ("calendar", "add", "2026-05-08", "--non-working"),
            ("config", "export", "-"),
            ("letters", "reset", "opt_in_letter"),
            ("config", "import", str(export)),
        ):
            assert run(db, "--as", who, *argv) == 3, argv  # refused by permissions
    err = capsys.readouterr().err
    assert "Only an admin" in err and "Traceback" not in err
    again = db.parent / "after.toml"
    assert run(db, "config", "export", str(again)) == 0
    assert again.read_text() == export.read_text()


def test_deactivate_lists_open_journeys(db, capsys):
    assert run(db, "users", "add", "nav", "--name", "Nav One", "--lot", "Lot 2") == 0
    nav = ctx_for(db, "nav")
    try:
        ref = J.receive_referral(
            nav,
            J.ReferralInput(
                received_date=date(2026, 11, 2),
                source="gp",
                client=J.ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone"),
            ),
        )
    finally:
        nav.store.dispose()
    capsys.readouterr()
    assert run(db, "users", "deactivate", "nav") == 2  # not at a terminal: needs --yes
    assert "--yes" in capsys.readouterr().err
    assert run(db, "users", "deactivate", "nav", "--yes") == 0
    out = capsys.readouterr().out
    assert "Deactivated nav" in out and "Ann Smith" in out and ref.client_ref in out
    assert run(db, "--as", "nav", "users", "list") == 3
    assert run(db, "users", "deactivate", os_username(), "--yes") == 3  # the last active admin
    assert "last active admin" in capsys.readouterr().err


def test_export_import_export_same_toml(db, tmp_path):
    assert run(db, "users", "add", "j.smith", "--name", "Jo Smith", "--lot", "Lot 1") == 0
    assert run(db, "partners", "add", "Medway Money") == 0
    assert run(db, "partners", "add-programme", "Medway Money", "Debt clinic", "--locality", "Dover") == 0
    assert run(db, "protocol", "set", "--opt-in-days", "15") == 0
    assert run(db, "calendar", "add", "2026-12-28", "--working") == 0
    first, second = tmp_path / "first.toml", tmp_path / "second.toml"
    assert run(db, "config", "export", str(first)) == 0
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o600
    assert run(db, "config", "export", str(first)) == 2  # never overwritten without --force
    fresh = tmp_path / "fresh.sqlite3"
    assert run(fresh, "config", "import", str(first), "--dry-run") == 4  # no store there: init first
    assert not fresh.exists()
    assert run(fresh, "init", "--template", "blank") == 0
    assert run(fresh, "config", "import", str(first), "--dry-run") == 0
    assert run(fresh, "config", "import", str(first)) == 0
    assert run(fresh, "config", "export", str(second)) == 0
    assert second.read_text() == first.read_text()


def test_bad_inputs_give_messages_not_tracebacks(db, tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("only\nthree\nlines\n")
    assert run(db, "config", "wording", str(bad)) == 3  # refused by the rules
    assert run(db, "config", "wording", str(tmp_path / "missing.txt")) == 2  # usage: no such file
    bad.write_bytes(b"\xff\xfe\x00bad")
    assert run(db, "config", "wording", str(bad)) == 2
    assert run(db, "config", "import", str(bad)) == 2
    assert run(db, "users", "add", "Bad Name", "--name", "X") == 3
    assert run(db, "protocol", "set", "--attempts", "2") == 2
    assert run(db, "protocol", "set") == 2
    assert run(db, "calendar", "add", "2026-02-30", "--non-working") == 3
    assert run(db, "reference", "list", "colours") == 3
    bad.write_text("Dear {client_nhs_number}\n")
    assert run(db, "letters", "set", "partner_summary", str(bad)) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and "8" in err and "UTF-8" in err


def test_render_a_letter(db, tmp_path, capsys):
    assert run(db, "users", "add", "nav", "--name", "Nav One", "--lot", "Lot 2") == 0
    assert run(db, "config", "service", "--name", "Live Well Kent", "--phone", "0800 000 0000") == 0
    nav = ctx_for(db, "nav")
    try:
        ref = J.receive_referral(
            nav,
            J.ReferralInput(
                received_date=date(2026, 11, 2),
                source="gp",
                client=J.ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", address="2 Low Road"),
            ),
        )
    finally:
        nav.store.dispose()
    out = tmp_path / "letter.html"
    assert (
        run(db, "--as", "nav", "letters", "render", str(ref.journey_id), "opt_in_letter", "--out", str(out), "--html")
        == 0
    )
    html = out.read_text()
    assert "Dear Ann," in html and "2 Low Road" in html and html.startswith("<!DOCTYPE html>")
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert (
        run(db, "--as", "nav", "letters", "render", str(ref.journey_id), "opt_in_letter", "--out", str(out)) == 2
    )  # exists
    txt = tmp_path / "letter.txt"
    assert run(db, "letters", "render", str(ref.journey_id), "opt_in_letter", "--out", str(txt)) == 0
    ctx = ctx_for(db)
    try:
        timeline = Q.journey_detail(ctx, ref.journey_id).timeline
        assert [e.who for e in timeline if e.kind == "letter"] == ["nav (as by " + os_username() + ")", os_username()]
    finally:
        ctx.store.dispose()
