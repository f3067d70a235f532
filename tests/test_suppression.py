"""Suppression that holds: no blanked figure of a publication can be narrowed to one value.

tests/suppression_check.py is the independent exact checker; here it runs over
hand-made cases, over generated figure trees (Hypothesis, many examples, no
store) and over publications exported from generated caseloads.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from navigator.services.returns import export as E
from navigator.services.returns import figures as R
from navigator.services.returns.records import write_definitions
from suppression_check import check_file, exact_cells

MONTH = "2026-05"


def _row(measure, lot, locality, v):
    return R.ReturnRow(MONTH, lot, locality, measure, Decimal(v), False, Decimal(v), v, "count", 0)


def _tree(measure: str, lots: dict[str, list[int]]) -> list[R.ReturnRow]:
    rows = [_row(measure, "ALL", "ALL", sum(sum(v) for v in lots.values()))]
    for lot, locs in lots.items():
        rows.append(_row(measure, lot, "ALL", sum(locs)))
        rows += [_row(measure, lot, f"{lot}-{i}", v) for i, v in enumerate(locs)]
    return rows


def _publication(path: Path, rows, partners, options: R.ReturnOptions, *, suppress: bool = True) -> Path:
    """A publication file as export writes it, from given exact figures."""
    if suppress:
        rows, partners = R.apply_suppression(rows, partners, options)
    result = R.MonthlyReturn(MONTH, options, tuple(rows), tuple(partners), (), ())
    conn = sqlite3.connect(path)
    conn.isolation_level = None
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
        "CREATE TABLE measure_definition (position INTEGER PRIMARY KEY, measure TEXT NOT NULL UNIQUE, "
        "kind TEXT NOT NULL, decimals INTEGER NOT NULL, multiplier INTEGER NOT NULL, scale INTEGER NOT NULL, "
        "definition TEXT NOT NULL, view TEXT NOT NULL, sql TEXT NOT NULL);"
    )
    conn.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [("suppress_under", str(options.suppress_under or "")), ("round_to", str(options.round_to or ""))],
    )
    write_definitions(conn)
    E.write_return_tables(conn, result)
    conn.close()
    return path


def test_the_issues_example_is_caught_by_the_checker_and_not_produced(tmp_path):
    """A lot of 9 with a shown locality of 7 and two blanked ones: each must be 1."""
    rows = _tree("referrals_received", {"L1": [7, 1, 1], "L2": [20, 30]})
    old_style = [
        replace(r, value=None, suppressed=True) if r.locality in ("L1-1", "L1-2") else r for r in rows
    ]  # what the old rule published (two blanks in the lot: "no more needed")
    path = _publication(tmp_path / "old.sqlite", old_style, [], R.ReturnOptions(5), suppress=False)
    disclosed = dict(check_file(path))
    assert disclosed[("referrals_received", "L1", "L1-1")] == [1]
    assert disclosed[("referrals_received", "L1", "L1-2")] == [1]
    assert check_file(path, exact_cells(rows, []))  # and for a reader who knows which blanks are primary
    path = _publication(tmp_path / "new.sqlite", rows, [], R.ReturnOptions(5))
    assert check_file(path) == []
    got, _ = R.apply_suppression(rows, [], R.ReturnOptions(5))
    blank = {(r.lot, r.locality) for r in got if r.suppressed}
    # the next-smallest (7) goes too, so 1 + 1 + 7 = 9 cannot be split; nothing else is needed
    assert blank == {("L1", "L1-0"), ("L1", "L1-1"), ("L1", "L1-2")}


def test_a_blanked_lot_is_protected_at_the_service_level_too(tmp_path):
    rows = _tree("referrals_received", {"L1": [2, 0], "L2": [6, 9], "L3": [30]})
    got, _ = R.apply_suppression(rows, [], R.ReturnOptions(5))
    blank = {(r.lot, r.locality) for r in got if r.suppressed}
    # L1 alone blank among the lots would follow from the service's 47. Blanking the next-smallest lot
    # (L2, 15) is not enough (its localities add up to it): the fewest further blanks is the total itself.
    assert blank == {("L1", "ALL"), ("L1", "L1-0"), ("ALL", "ALL")}
    path = _publication(tmp_path / "p.sqlite", rows, [], R.ReturnOptions(5))
    assert check_file(path) == []


def test_partner_programmes_add_up_to_the_services_onward_referrals(tmp_path):
    rows = _tree("onward_referrals_made", {"L1": [10, 12]})
    partners = [
        R.PartnerRow(MONTH, "P", "a", 2, 0, 0, 0),
        R.PartnerRow(MONTH, "P", "b", 20, 0, 0, 0),
    ]
    got_rows, got_partners = R.apply_suppression(rows, partners, R.ReturnOptions(5))
    assert got_partners[0].made is None and got_partners[1].made is None  # 22 - 20 would give 2
    assert not any(r.suppressed for r in got_rows)
    path = _publication(tmp_path / "p.sqlite", rows, partners, R.ReturnOptions(5))
    assert check_file(path) == []


def test_nothing_is_blanked_or_rounded_without_the_options():
    rows = _tree("referrals_received", {"L1": [1, 2]})
    assert R.apply_suppression(rows, [], R.ReturnOptions()) == (rows, [])


# ---------------------------------------------------------------- generated figure trees

small = st.integers(0, 12) | st.integers(0, 60)
lots_st = st.dictionaries(
    st.sampled_from(["L1", "L2", "L3", "L4"]), st.lists(small, min_size=1, max_size=5), min_size=1, max_size=4
)
partners_st = st.lists(st.tuples(small, small, small, small), min_size=0, max_size=5)
options_st = st.tuples(st.integers(2, 8), st.sampled_from([None, None, 2, 3, 5, 10]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(made=lots_st, received=lots_st, partners=partners_st, opts=options_st)
def test_no_blank_can_be_narrowed_to_one_value_in_generated_figures(tmp_path, made, received, partners, opts):
    n, k = opts
    options = R.ReturnOptions(n, k)
    prow = [R.PartnerRow(MONTH, "P", f"prog{i}", *p) for i, p in enumerate(partners)]
    # make the partners' made add up to the service's onward_referrals_made, as in a real return
    total = sum(sum(v) for v in made.values())
    if prow:
        rest = total - sum(p.made for p in prow[1:])
        if rest < 0:
            prow = []
        else:
            prow[0] = replace(prow[0], made=rest)
    rows = _tree("onward_referrals_made", made) + _tree("referrals_received", received)
    path = tmp_path / f"gen-{n}-{k}.sqlite"
    path.unlink(missing_ok=True)
    _publication(path, rows, prow, options)
    assert check_file(path) == []
    # blanks are NULL, zero is never blanked, shown counts are rounded to K
    published, _ = R.apply_suppression(rows, prow, options)
    for r in published:
        assert (r.value is None) == r.suppressed
        if r.suppressed:
            assert r.exact != 0
        elif k:
            assert r.value % k == 0


# ---------------------------------------------------------------- generated caseloads, exported


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    from datetime import date

    from navigator.services.demo import generator as demo
    from navigator.services.setup.reference import open_ready

    path = tmp_path_factory.mktemp("supp") / "store.sqlite3"
    store, ctx = open_ready(f"sqlite:///{path}", username="admin", today_fn=lambda: date(2026, 11, 25))
    demo.generate(ctx, clients=150, seed=5)
    yield ctx
    store.dispose()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(month=st.sampled_from(["2026-06", "2026-08", "2026-10", "2026-11"]), opts=options_st)
def test_exported_publications_of_a_generated_caseload_hold(demo_store, tmp_path_factory, month, opts):
    n, k = opts
    out = tmp_path_factory.mktemp("pub") / "p.sqlite"
    res = E.export_month(demo_store, month, out, options=R.ReturnOptions(n, k))
    assert check_file(out) == []
    conn = sqlite3.connect(out)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    conn.close()
    assert names == {"meta", "measure_definition", "monthly_return", "onward_by_partner"}
    assert res.product == E.PUBLICATION


def test_a_reader_who_knew_which_blanks_are_primary_is_out_of_reach_when_everything_is_small(tmp_path):
    """Lot 3 = 1 + 1, all blank: from the file, each could be 1..; knowing all three are primary, not."""
    rows = _tree("referrals_received", {"L1": [0, 0], "L3": [1, 1]})
    path = _publication(tmp_path / "p.sqlite", rows, [], R.ReturnOptions(3))
    assert check_file(path) == []
    assert check_file(path, exact_cells(rows, []))  # the strong reader: documented, not preventable


def test_a_mean_is_blanked_where_the_count_of_its_cases_is():
    rows = _tree("starts", {"L1": [2, 9, 30]})
    means = [
        R.ReturnRow(
            MONTH,
            r.lot,
            r.locality,
            "mean_wait_working_days",
            Decimal("4.5"),
            False,
            Decimal("4.5"),
            int(r.exact),
            "mean",
            1,
        )
        for r in rows
    ]
    got, _ = R.apply_suppression(rows + means, [], R.ReturnOptions(5))
    blank = {(r.measure, r.locality) for r in got if r.suppressed}
    # starts: 2 (primary) and 9 (secondary); the mean over 2 cases (primary) and over 9 (beside it)
    assert blank == {
        ("starts", "L1-0"),
        ("starts", "L1-1"),
        ("mean_wait_working_days", "L1-0"),
        ("mean_wait_working_days", "L1-1"),
    }
