"""`navigator export`: the standalone file, its views, privacy, determinism, suppression and the CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import stat
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from navigator.cli import EXIT_REFUSED
from navigator.domain.errors import AccessDenied, DomainError
from navigator.services.casework import journeys as J
from navigator.services.context import os_username
from navigator.services.returns import export as E
from navigator.services.returns import figures as R
from navigator.services.setup.reference import open_ready
from navigator.store.models import AuditEvent, Locality, Lot, SentReturn
from test_return_measures import (
    EXPECTED,
    HIGH,
    MEASURES,
    MID,
    MID_PLUS,
    MONTH,
    TODAY,
    build_may_caseload,
)

REQUIRED_TABLES = {"monthly_return", "onward_by_partner", "referrals", "onward_referrals", "calendar", "meta"}
PUBLICATION_TABLES = {"monthly_return", "onward_by_partner", "measure_definition", "meta"}


@pytest.fixture(scope="module")
def may(tmp_path_factory):
    path: Path = tmp_path_factory.mktemp("export") / "store.sqlite3"
    store, ctx = open_ready(f"sqlite:///{path}", username="admin", today_fn=lambda: TODAY)
    cl = build_may_caseload(ctx)
    yield cl
    store.dispose()


@pytest.fixture(scope="module")
def exported(may, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    res = E.export_month(may.ctx, MONTH, out / "may.sqlite", csv_path=out / "may.csv", product=E.ANALYSIS)
    return res


def tables(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {n: conn.execute(f'SELECT * FROM "{n}"').fetchall() for n in names}
    finally:
        conn.close()


def test_the_file_has_every_table_and_meta(exported):
    got = tables(exported.path)
    assert set(got) >= REQUIRED_TABLES
    meta = dict(got["meta"])
    assert meta["month"] == MONTH
    assert meta["definitions_version"] == "2"
    assert meta["product"] == "analysis" and "data-sharing agreement" in meta["about"]
    assert "never suppressed" in meta["about"] and meta["suppress_under"] == "" and meta["round_to"] == ""
    assert meta["linkage"].startswith("none")
    assert meta["quasi_identifiers"] == (
        "lot,locality,imd_group,received_month,first_contact_month,decision_month,start_month,end_month,"
        "referrer_to_tell,referrer_told_month"
    )
    # an event's month is M itself or only before/after it: nothing in the file dates an event outside M
    months = {
        v
        for (row,) in sqlite3.connect(exported.path).execute(
            "SELECT received_month || ',' || coalesce(first_contact_month, '') || ',' || coalesce(decision_month, '')"
            " || ',' || coalesce(start_month, '') || ',' || coalesce(end_month, '')"
            " || ',' || coalesce(referrer_told_month, '') FROM referrals"
        )
        for v in row.split(",")
        if v
    }
    # journeys as they stood at the end of M: nothing after M
    assert months and months <= {MONTH, "before"}, months
    onward_months = {
        v
        for row in sqlite3.connect(exported.path).execute(
            "SELECT referral_month, start_month, end_month FROM onward_referrals"
        )
        for v in row
        if v
    }
    assert onward_months <= {MONTH, "before", "after"}, onward_months
    assert int(meta["k_min"]) >= 1 and 0 <= float(meta["unique_share"]) <= 1
    assert meta["app_version"]
    assert meta["generated_at"].startswith("20")
    conn = sqlite3.connect(exported.path)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(monthly_return)")]
    assert cols == ["month", "lot", "locality", "measure", "value", "suppressed"]
    cols = [r[1] for r in conn.execute("PRAGMA table_info(onward_by_partner)")]
    assert cols == ["month", "partner", "programme", "made", "started", "completed", "withdrew"]
    views = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert {f"measure_{m}" for m in MEASURES} <= views
    assert {"monthly_return_derived", "onward_by_partner_derived", "measure_cases", "period"} <= views
    conn.close()
    # 13 journeys touch May or are open in it (J14, all before May, and J15, in June, do not)
    assert len(got["referrals"]) == 13 == exported.referrals
    assert len(got["onward_referrals"]) == 2
    days = [r[0] for r in got["calendar"]]
    assert days[0] == "2026-05-01" and days[-1] == "2026-05-31"  # the month's days (the file holds no dates)
    assert dict(got["calendar"])["2026-05-25"] == 0 and dict(got["calendar"])["2026-05-26"] == 1


def test_the_file_holds_the_figures(exported):
    rows = {(r[1], r[2], r[3]): r for r in tables(exported.path)["monthly_return"]}
    assert len(rows) == len(MEASURES) * 19
    for (lot, locality), figures in EXPECTED.items():
        for measure, want in figures.items():
            month, _lot, _loc, _m, value, suppressed = rows[(lot, locality, measure)]
            assert month == MONTH and suppressed == 0
            assert value == (None if want is None else float(want)), (lot, locality, measure)


def test_the_views_re_derive_every_figure_from_the_file_alone(exported):
    conn = sqlite3.connect(exported.path)
    table = conn.execute("SELECT month, lot, locality, measure, value, suppressed FROM monthly_return").fetchall()
    derived = conn.execute("SELECT month, lot, locality, measure, value, 0 FROM monthly_return_derived").fetchall()
    assert derived == table
    partners = conn.execute("SELECT * FROM onward_by_partner").fetchall()
    assert conn.execute("SELECT * FROM onward_by_partner_derived").fetchall() == partners
    # each measure's own view: e.g. the service's starts and their mean wait
    assert conn.execute("SELECT COUNT(*) FROM measure_starts").fetchone()[0] == 4
    assert conn.execute("SELECT SUM(x) FROM measure_mean_wait_working_days").fetchone()[0] == 21
    # the definitions travel with the file
    sql = dict(conn.execute("SELECT measure, sql FROM measure_definition").fetchall())
    assert "CREATE VIEW measure_completions" in sql["completions"]
    conn.close()


def _all_text(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    out = []
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')]
        out += [name] + cols
        for row in conn.execute(f'SELECT * FROM "{name}"'):
            out += ["" if v is None else str(v) for v in row]
    conn.close()
    return out


def test_no_direct_identifiers_or_free_text_anywhere_in_the_file(may, exported):
    cells = _all_text(exported.path)
    raw = exported.path.read_bytes().lower()
    csv_text = exported.csv_path.read_text(encoding="utf-8-sig").lower()
    assert len(may.pii) > 100
    for secret in may.pii:
        s = secret.lower()
        assert not any(s in c.lower() for c in cells), secret
        assert s.encode("utf-8") not in raw, secret
        assert s not in csv_text, secret
    forbidden_columns = {
        "name",
        "first_name",
        "last_name",
        "date_of_birth",
        "dob",
        "postcode",
        "nhs_number",
        "phone",
        "email",
        "address",
        "referrer",
        "reason",
        "note",
        "notes",
        "outcome_evidence",
        "statement",
        "client_ref",
        "client_id",
        "journey_id",
    }
    conn = sqlite3.connect(exported.path)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        cols = {r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')}
        assert not cols & forbidden_columns, (name, cols & forbidden_columns)
    # only what the measures need: no dates, no decile, no age band, no source or reject reason
    cols = {r[1] for r in conn.execute("PRAGMA table_info(referrals)")}
    assert not cols & {"age_band", "imd_decile", "source", "reject_reason", "received_date", "end_date"}
    assert {r[0] for r in conn.execute("SELECT imd_group FROM referrals")} <= {"1-4", "5-10", "unknown"}
    assert {r[0] for r in conn.execute("SELECT end_reason FROM referrals")} <= {
        None,
        "completed",
        "no_response",
        "other",
    }
    import re

    for table in ("referrals", "onward_referrals"):
        for row in conn.execute(f"SELECT * FROM {table}"):
            assert not any(isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in row), row
    conn.close()


def _people(path):
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT person FROM referrals")]
    finally:
        conn.close()


def test_pseudonyms_differ_from_file_to_file_unless_linkable(may, exported, tmp_path):
    people = _people(exported.path)
    assert len(set(people)) == len(people) and all(len(p) == 64 for p in people)
    # another month's file: nobody can be linked across the two
    april = E.export_month(may.ctx, "2026-04", tmp_path / "april.sqlite", product=E.ANALYSIS)
    assert _people(april.path) and not set(_people(april.path)) & set(people)
    # --linkable: the same person has the same pseudonym in both, and the files and the audit say so
    a = E.export_month(may.ctx, "2026-04", tmp_path / "a-link.sqlite", product=E.ANALYSIS, linkable=True)
    b = E.export_month(may.ctx, MONTH, tmp_path / "m-link.sqlite", product=E.ANALYSIS, linkable=True)
    assert set(_people(a.path)) & set(_people(b.path))
    assert dict(tables(b.path)["meta"])["linkage"].startswith("linkable")
    with may.ctx.read() as s:
        ev = s.exec(
            select(AuditEvent).where(AuditEvent.action == "return.export").order_by(AuditEvent.id.desc())
        ).first()
    assert json.loads(ev.after)["linkable"] is True
    with pytest.raises(DomainError, match="linkable"):
        E.export_month(may.ctx, MONTH, tmp_path / "p-link.sqlite", linkable=True)


def test_exporting_twice_gives_identical_tables(may, exported, tmp_path):
    again = E.export_month(
        may.ctx, MONTH, tmp_path / "again.sqlite", csv_path=tmp_path / "again.csv", product=E.ANALYSIS
    )
    a, b = tables(exported.path), tables(again.path)
    meta_a = {k: v for k, v in a.pop("meta") if k != "generated_at"}
    meta_b = {k: v for k, v in b.pop("meta") if k != "generated_at"}
    assert meta_a == meta_b
    assert a == b
    assert exported.csv_path.read_bytes() == again.csv_path.read_bytes()
    p1 = E.export_month(may.ctx, MONTH, tmp_path / "p1.sqlite", options=R.ReturnOptions(5, 5))
    p2 = E.export_month(may.ctx, MONTH, tmp_path / "p2.sqlite", options=R.ReturnOptions(5, 5))
    a, b = tables(p1.path), tables(p2.path)
    assert [r for r in a.pop("meta") if r[0] != "generated_at"] == [r for r in b.pop("meta") if r[0] != "generated_at"]
    assert a == b


def test_the_publication_holds_aggregates_only(may, tmp_path):
    res = E.export_month(may.ctx, MONTH, tmp_path / "pub.sqlite", options=R.ReturnOptions(5, 5))
    conn = sqlite3.connect(res.path)
    names = {r[0]: r[1] for r in conn.execute("SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")}
    assert set(names) == PUBLICATION_TABLES and set(names.values()) == {"table"}  # no view, no record-level row
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert meta["product"] == "publication" and (meta["suppress_under"], meta["round_to"]) == ("5", "5")
    assert "k_min" not in meta and "linkage" not in meta
    conn.close()
    raw = res.path.read_bytes()
    for secret in may.pii:
        assert secret.lower().encode() not in raw.lower()


def test_a_record_level_file_is_never_called_suppressed(may, tmp_path):
    for options in (R.ReturnOptions(5), R.ReturnOptions(round_to=5), R.ReturnOptions(5, 5)):
        with pytest.raises(DomainError, match="never suppressed"):
            E.export_month(may.ctx, MONTH, tmp_path / "a.sqlite", product=E.ANALYSIS, options=options)
    assert not (tmp_path / "a.sqlite").exists()


def test_the_file_is_new_private_and_complete(may, exported, tmp_path):
    assert stat.S_IMODE(os.stat(exported.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(exported.csv_path).st_mode) == 0o600
    assert not [p for p in exported.path.parent.iterdir() if p.name.startswith(".")]  # no temp files left
    before = exported.path.read_bytes()
    with pytest.raises(DomainError, match="already exists"):
        E.export_month(may.ctx, MONTH, exported.path)
    with pytest.raises(DomainError, match="already exists"):
        E.export_month(may.ctx, MONTH, tmp_path / "new.sqlite", csv_path=exported.csv_path)
    assert exported.path.read_bytes() == before
    assert not (tmp_path / "new.sqlite").exists()
    target = tmp_path / "forced.sqlite"
    target.write_text("old")
    E.export_month(may.ctx, MONTH, target, force=True)
    assert dict(tables(target)["meta"])["month"] == MONTH


def test_every_export_is_audited_without_personal_data(may, tmp_path):
    E.export_month(may.ctx, MONTH, tmp_path / "a.sqlite", options=R.ReturnOptions(5, 5))
    with may.ctx.read() as s:
        ev = s.exec(
            select(AuditEvent).where(AuditEvent.action == "return.export").order_by(AuditEvent.id.desc())
        ).first()
    assert ev.username == "admin"
    after = json.loads(ev.after)
    assert after["month"] == MONTH
    assert after["options"] == {"suppress_under": 5, "round_to": 5}
    assert after["final"] is False
    for secret in may.pii:
        assert secret.lower() not in ev.after.lower()


def test_only_team_leads_and_admins_export(may, tmp_path):
    from conftest import make_user

    nav = make_user(may.ctx, "nav_export", "navigator")
    with pytest.raises(AccessDenied):
        E.export_month(nav, MONTH, tmp_path / "x.sqlite")
    assert not (tmp_path / "x.sqlite").exists()


# ---------------------------------------------------------------- suppression and rounding


def test_suppression_and_rounding_on_the_may_caseload(may, tmp_path):
    """--suppress-under 3 --round-to 5, worked out by hand from EXPECTED."""
    res = E.export_month(may.ctx, MONTH, tmp_path / "s.sqlite", options=R.ReturnOptions(3, 5))
    from suppression_check import check_file

    assert check_file(res.path) == []
    conn = sqlite3.connect(res.path)
    got = {
        (r[0], r[1], r[2]): (r[3], r[4])
        for r in conn.execute("SELECT lot, locality, measure, value, suppressed FROM monthly_return")
    }
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert (meta["suppress_under"], meta["round_to"]) == ("3", "5")
    B = (None, 1)  # blanked

    def check(measure, expect):
        for (lot, locality), want in expect.items():
            assert got[(lot, locality, measure)] == want, (measure, lot, locality)

    # received: Maidstone 4, Sevenoaks 2 (<3), Dartford 2 (<3); Lot 1 = 2 and Lot 2 = 6; the service 8.
    # Shown, rounded: service 10 (so 8..12), Lot 2 5 (3..7), Maidstone 5 (3..7). Sevenoaks = Lot 2 -
    # Maidstone lies in 1..4 and Lot 1 = service - Lot 2 in 1..9: the rounding hides them, and
    # nothing further is blanked (the old rule blanked Maidstone and Lot 2 as well).
    check(
        "referrals_received",
        {
            ("ALL", "ALL"): (10.0, 0),
            ("Lot 1", "ALL"): B,
            ("Lot 2", "ALL"): (5.0, 0),
            ("Lot 3", "ALL"): (0.0, 0),
            ("Lot 2", "Maidstone"): (5.0, 0),
            ("Lot 2", "Sevenoaks"): B,
            ("Lot 1", "Dartford"): B,
            ("Lot 2", "Tonbridge & Malling"): (0.0, 0),
            ("Lot 1", "Gravesham"): (0.0, 0),
        },
    )
    # accepted: Maidstone 3, Sevenoaks 1, Dartford 1; Lot 2 = 4, Lot 1 = 1, service 5, all shown as 5
    # (3..7): Sevenoaks and Lot 1 each lie in 1..4.
    check(
        "referrals_accepted",
        {
            ("ALL", "ALL"): (5.0, 0),
            ("Lot 1", "ALL"): B,
            ("Lot 2", "ALL"): (5.0, 0),
            ("Lot 2", "Maidstone"): (5.0, 0),
            ("Lot 2", "Sevenoaks"): B,
            ("Lot 1", "Dartford"): B,
        },
    )
    # active at the end: Maidstone 2, Sevenoaks 1 (both blank: no secondary needed), Dartford 0;
    # Lot 2 = 3 is shown, rounded to 5; the service's 3 rounds to 5.
    check(
        "active_caseload_end",
        {
            ("ALL", "ALL"): (5.0, 0),
            ("Lot 2", "ALL"): (5.0, 0),
            ("Lot 1", "ALL"): (0.0, 0),
            ("Lot 2", "Maidstone"): B,
            ("Lot 2", "Sevenoaks"): B,
            ("Lot 1", "Dartford"): (0.0, 0),
        },
    )
    # rejected: Maidstone 1, Dartford 1; no non-zero locality left to blank beside them; every total < 3.
    check(
        "referrals_rejected",
        {
            ("ALL", "ALL"): B,
            ("Lot 1", "ALL"): B,
            ("Lot 2", "ALL"): B,
            ("Lot 2", "Maidstone"): B,
            ("Lot 2", "Sevenoaks"): (0.0, 0),
            ("Lot 1", "Dartford"): B,
        },
    )
    # means and percentages: blank when over 1 or 2 cases, never rounded.
    check(
        "mean_response_working_days",
        {
            ("ALL", "ALL"): (1.3, 0),
            ("Lot 2", "ALL"): (1.6, 0),
            ("Lot 1", "ALL"): B,
            ("Lot 2", "Maidstone"): (1.3, 0),
            ("Lot 2", "Sevenoaks"): B,
            ("Lot 1", "Dartford"): B,
            ("Lot 3", "ALL"): (None, 0),
        },
    )
    check(
        "swemwbs_maintained_or_improved_pct",
        {
            ("ALL", "ALL"): (66.7, 0),
            ("Lot 2", "ALL"): B,
            ("Lot 1", "ALL"): B,
            ("Lot 2", "Maidstone"): B,
        },
    )
    check("swemwbs_mean_change", {("ALL", "ALL"): (0.24, 0), ("Lot 2", "ALL"): B})
    check("mean_wait_working_days", {("ALL", "ALL"): (5.3, 0), ("Lot 2", "ALL"): (6.3, 0), ("Lot 1", "ALL"): B})
    # every figure: a blank is NULL; zero is never blanked; shown counts are multiples of 5
    kinds = {m.measure: m.kind for m in R.definitions().measures}
    for (_lot, _locality, measure), (value, suppressed) in got.items():
        if suppressed:
            assert value is None
        elif kinds[measure] == "count":
            assert value % 5 == 0
    assert sum(s for _v, s in got.values()) == res.result.suppressed_count
    partners = conn.execute(
        "SELECT partner, made, started, completed, withdrew FROM onward_by_partner ORDER BY partner"
    ).fetchall()
    assert partners == [("Kent Active Wellbeing", None, None, None, 0), ("Peer Connect", None, None, 0, None)]
    # no view or record-level table to recompute a blank from
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'view'").fetchone()[0] == 0
    conn.close()


def _row(measure, lot, locality, v, kind="count", cases=None):
    value = None if v is None else Decimal(v)
    return R.ReturnRow(
        "2026-05",
        lot,
        locality,
        measure,
        value,
        False,
        value,
        cases if cases is not None else (int(v) if v is not None and kind == "count" else 0),
        kind,
    )


def _suppress(rows, options):
    return R.apply_suppression(rows, [], options)[0]


def test_secondary_suppression_blanks_the_next_smallest_in_the_same_lot_and_measure():
    rows = [
        _row("m", "ALL", "ALL", 80),
        _row("m", "L1", "ALL", 40),
        _row("m", "L1", "A", 3),
        _row("m", "L1", "B", 9),
        _row("m", "L1", "C", 7),
        _row("m", "L1", "D", 21),
        _row("m", "L2", "ALL", 40),
        _row("m", "L2", "E", 20),
        _row("m", "L2", "F", 20),
        _row("n", "ALL", "ALL", 40),
        _row("n", "L1", "ALL", 20),
        _row("n", "L1", "A", 20),
        _row("n", "L1", "B", 0),
        _row("n", "L2", "ALL", 20),
        _row("n", "L2", "E", 4),
        _row("n", "L2", "F", 16),
    ]
    out = {(r.measure, r.lot, r.locality): r for r in _suppress(rows, R.ReturnOptions(5))}
    blanked = {k for k, r in out.items() if r.suppressed}
    # m: A (3) is blanked; the next-smallest in L1 is C (7), not B (9) or D (21); L2 untouched
    # n: E (4) is blanked, and F (16), the only other non-zero count in L2
    assert blanked == {("m", "L1", "A"), ("m", "L1", "C"), ("n", "L2", "E"), ("n", "L2", "F")}
    assert out[("m", "L1", "B")].value == 9 and out[("m", "ALL", "ALL")].value == 80
    for r in out.values():
        assert (r.value is None) == r.suppressed
    # nothing suppressed or rounded without the flags
    assert _suppress(rows, R.ReturnOptions()) == rows


def test_two_blanks_in_a_lot_need_no_more_and_zero_is_never_blanked():
    rows = [
        _row("m", "ALL", "ALL", 20),
        _row("m", "L1", "ALL", 20),
        _row("m", "L1", "A", 1),
        _row("m", "L1", "B", 2),
        _row("m", "L1", "C", 0),
        _row("m", "L1", "D", 17),
    ]
    out = _suppress(rows, R.ReturnOptions(5))
    assert [r.suppressed for r in out] == [False, False, True, True, False, False]
    assert out[4].value == 0


def test_means_are_blanked_over_fewer_than_n_cases_and_never_rounded():
    rows = [
        _row("mean", "ALL", "ALL", "2.5", "mean", cases=7),
        _row("mean", "L1", "ALL", "1.3", "mean", cases=4),
        _row("mean", "L1", "A", None, "mean", cases=0),
    ]
    out = _suppress(rows, R.ReturnOptions(5, 5))
    assert [(r.value, r.suppressed) for r in out] == [(Decimal("2.5"), False), (None, True), (None, False)]


def test_round_to_nearest_k_halves_up():
    rows = [_row("m", "L", str(v), v) for v in (0, 1, 2, 3, 7, 8, 12, 13, 15, 25)]
    out = _suppress(rows, R.ReturnOptions(round_to=5))
    assert [int(r.value) for r in out] == [0, 0, 0, 5, 5, 10, 10, 15, 15, 25]
    out = _suppress([_row("m", "L", "x", 15)], R.ReturnOptions(round_to=10))
    assert out[0].value == 20
    assert not any(r.suppressed for r in out)


# ---------------------------------------------------------------- CSV

DANGEROUS = ['=HYPERLINK("http://x")', "+Plus town", "-Minus town", "@At town", "\tTab town", "\rCR town"]


def test_csv_cells_cannot_become_formulas(ctx, tmp_path):
    ids = {}
    with ctx.write() as s:  # reference data an admin might type (no reference-data service yet)
        lot = Lot(code="=1+1", name="Dangerous lot")
        s.add(lot)
        s.flush()
        for name in DANGEROUS:
            loc = Locality(lot_id=lot.id, name=name)
            s.add(loc)
            s.flush()
            ids[name] = loc.id
    for i, name in enumerate(DANGEROUS):
        ref = J.receive_referral(
            ctx,
            J.ReferralInput(
                received_date=date(2026, 10, 1),
                source="self",
                client=J.ClientInput(f"Csv{i}", "Person", date(1970, 1, 1), ids[name]),
            ),
        )
        if name == "-Minus town":  # a completed journey whose SWEMWBS fell: a negative mean change
            J.decide(ctx, ref.journey_id, "accepted", date(2026, 10, 1))
            J.start(ctx, ref.journey_id, date(2026, 10, 2), HIGH)
            J.close(ctx, ref.journey_id, date(2026, 10, 20), "completed", evidence="Done", swemwbs_end=MID_PLUS)
    res = E.export_month(ctx, "2026-10", tmp_path / "oct.sqlite", csv_path=tmp_path / "oct.csv")
    raw = res.csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark
    text = raw.decode("utf-8-sig")  # keep a CR inside a quoted cell as it is
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["month", "lot", "locality", "measure", "value", "suppressed"]
    assert len(rows) == 1 + len(res.result.rows)
    for row in rows[1:]:
        for cell in row[:4]:  # text cells: guarded
            assert not cell or cell[0] not in "=+-@\t\r", row
        for cell in row[4:]:  # numbers stay numbers
            assert cell == "" or float(cell) == float(Decimal(cell)), row
    got = {(r[1], r[2], r[3]): r[4] for r in rows[1:]}
    assert got[("'=1+1", "'-Minus town", "swemwbs_mean_change")] == "-5.05"  # 19.98 - 25.03: a number
    assert got[("'=1+1", '\'=HYPERLINK("http://x")', "referrals_received")] == "1"
    assert ("'=1+1", "'\tTab town", "referrals_received") in got
    assert ("'=1+1", "'\rCR town", "referrals_received") in got
    assert got[("'=1+1", "ALL", "referrals_received")] == "6"
    assert got[("ALL", "ALL", "mean_response_working_days")] == ""  # NULL: no cases
    # the SQLite file keeps the real names and numbers
    conn = sqlite3.connect(res.path)
    assert (
        conn.execute(
            "SELECT value FROM monthly_return WHERE locality = '-Minus town' AND measure = 'swemwbs_mean_change'"
        ).fetchone()[0]
        == -5.05
    )
    conn.close()
    assert E.neutralise("-1.5") == "'-1.5" and E.neutralise("1.5") == "1.5" and E.neutralise("") == ""


def test_the_csv_reads_back_with_numbers_as_numbers_and_names_intact(may, tmp_path):
    with may.ctx.write() as s:  # a non-ASCII place name
        s.add(Locality(lot_id=s.exec(select(Lot.id).where(Lot.code == "Lot 3")).first(), name="Ynys Môn – Ŵ"))
    res = E.export_month(may.ctx, MONTH, tmp_path / "n.sqlite", csv_path=tmp_path / "n.csv")
    with open(res.csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(res.result.rows) and "Ynys Môn – Ŵ" in {r["locality"] for r in rows}
    numeric = 0
    for r in rows:
        assert r["suppressed"] in ("0", "1")
        if r["value"] != "":
            float(r["value"])  # every numeric cell parses as a number
            numeric += 1
    assert numeric > 100
    change = next(r for r in rows if r["lot"] == "ALL" and r["measure"] == "swemwbs_mean_change")
    assert float(change["value"]) == 0.24


def test_suppressed_cells_are_blank_in_the_csv(may, tmp_path):
    res = E.export_month(may.ctx, MONTH, tmp_path / "s.sqlite", csv_path=tmp_path / "s.csv", options=R.ReturnOptions(3))
    rows = list(csv.DictReader(io.StringIO(res.csv_path.read_bytes().decode("utf-8-sig"), newline="")))
    sev = next(r for r in rows if r["locality"] == "Sevenoaks" and r["measure"] == "referrals_received")
    assert sev["value"] == "" and sev["suppressed"] == "1"
    svc = next(r for r in rows if r["lot"] == "ALL" and r["measure"] == "referrals_received")
    assert svc["value"] == "8" and svc["suppressed"] == "0"


# ---------------------------------------------------------------- --final and the command line


def test_final_records_the_return_as_sent(may, tmp_path):
    res = E.export_month(may.ctx, MONTH, tmp_path / "final.sqlite", final=True)
    assert res.sent_id is not None
    with may.ctx.read() as s:
        sent = s.get(SentReturn, res.sent_id)
        ev = s.exec(
            select(AuditEvent).where(AuditEvent.action == "return.final", AuditEvent.entity_id == res.sent_id)
        ).one()
    assert sent.month == MONTH and sent.username == "admin"
    figures = json.loads(sent.figures)
    rows = {(r["lot"], r["locality"], r["measure"]): r for r in figures["rows"]}
    assert rows[("ALL", "ALL", "mean_wait_working_days")]["value"] == "5.3"
    assert rows[("Lot 2", "Maidstone", "referrals_received")]["value"] == "4"
    assert json.loads(ev.after)["month"] == MONTH
    info = R.sent_returns(may.ctx)
    assert info[0].id == res.sent_id and info[0].month == MONTH
    assert R.latest_sent(may.ctx, MONTH).id == res.sent_id
    assert R.latest_sent(may.ctx, "2020-01") is None


@pytest.fixture
def cli_store(tmp_path):
    path = tmp_path / "cli.sqlite3"
    store, ctx = open_ready(f"sqlite:///{path}", username=os_username(), today_fn=lambda: TODAY)
    j = J.receive_referral(
        ctx,
        J.ReferralInput(
            received_date=date(2026, 5, 5),
            source="gp",
            client=J.ClientInput("Cli", "Person", date(1990, 2, 2), "Dover"),
        ),
    )
    J.decide(ctx, j.journey_id, "accepted", date(2026, 5, 6))
    J.start(ctx, j.journey_id, date(2026, 5, 8), MID)
    store.dispose()
    return path


def test_cli_export_writes_the_file_and_a_summary(cli_store, tmp_path, capsys):
    from navigator.cli import main

    out = tmp_path / "ret.sqlite"
    rc = main(
        [
            "--db",
            str(cli_store),
            "export",
            "--publication",
            "--month",
            MONTH,
            "--out",
            str(out),
            "--csv",
            str(tmp_path / "ret.csv"),
            "--suppress-under",
            "5",
            "--round-to",
            "5",
        ]
    )
    captured = capsys.readouterr().out
    assert rc == 0, captured
    assert out.exists() and (tmp_path / "ret.csv").exists()
    assert (
        "Wrote" in captured
        and "PUBLICATION" in captured
        and f"{len(MEASURES) * 19} figures" in captured
        and "blanked" in captured
    )
    assert "referrals_received" in captured
    rc = main(["--db", str(cli_store), "export", "--publication", "--month", MONTH, "--out", str(out)])
    err = " ".join(capsys.readouterr().err.split())
    assert rc == EXIT_REFUSED and "already exists" in err and "--force" in err
    bad = tmp_path / "bad.sqlite"
    rc = main(["--db", str(cli_store), "export", "--publication", "--month", "2026-5", "--out", str(bad)])
    assert rc == EXIT_REFUSED and "YYYY-MM" in capsys.readouterr().err
    # the product must be chosen
    with pytest.raises(SystemExit) as exc:
        main(["--db", str(cli_store), "export", "--month", MONTH, "--out", str(bad)])
    assert exc.value.code == 2 and "--publication" in capsys.readouterr().err
    # a record-level file is never suppressed: the options are refused with the reason
    argv = ["--db", str(cli_store), "export", "--analysis", "--month", MONTH, "--out", str(bad)]
    rc = main([*argv, "--suppress-under", "5"])
    err = " ".join(capsys.readouterr().err.split())
    assert rc == EXIT_REFUSED and "never suppressed" in err
    assert not bad.exists()
    rc = main(argv)
    captured = capsys.readouterr().out
    assert rc == 0 and "RECORD-LEVEL ANALYSIS FILE" in " ".join(captured.split()) and bad.exists()


def test_cli_export_refuses_a_navigator(cli_store, tmp_path, capsys):
    from conftest import make_user
    from navigator.cli import main
    from navigator.services.context import Ctx
    from navigator.store.engine import open_store

    store = open_store(f"sqlite:///{cli_store}")
    make_user(Ctx(store, username=os_username(), today_fn=lambda: TODAY), "plainnav", "navigator")
    store.dispose()
    rc = main(
        [
            *("--db", str(cli_store), "--as", "plainnav", "export", "--publication"),
            *("--month", MONTH, "--out", str(tmp_path / "n.sqlite")),
        ]
    )
    assert rc == EXIT_REFUSED
    assert "team lead" in capsys.readouterr().err
    assert not (tmp_path / "n.sqlite").exists()


def test_the_preview_copies_the_store_in_sql_and_falls_back_when_it_cannot(may, monkeypatch):
    """On a SQLite store the preview's rows are copied in SQL (the store attached read-only, issue 16);
    a store that cannot be opened read-only takes the generic path. The same figures either way."""
    from navigator.services.returns import fill

    calls = []
    real = fill.fill

    def spy(*args, **kwargs):
        calls.append(real(*args, **kwargs))
        return calls[-1]

    monkeypatch.setattr(fill, "fill", spy)
    in_sql = R.preview(may.ctx, MONTH)
    assert calls and calls[-1] is not None  # copied in SQL
    monkeypatch.setattr(fill, "store_file", lambda path: "file:/nonexistent/navigator/store.sqlite3?mode=ro")
    generic = R.preview(may.ctx, MONTH)
    assert calls[-1] is None  # could not attach: read through Python
    assert in_sql == generic and in_sql.rows == generic.rows and in_sql.onward_by_partner == generic.onward_by_partner
    assert (in_sql.referrals, in_sql.onward_referrals) == (generic.referrals, generic.onward_referrals) == (13, 2)
