"""Property tests: each SQL measure of the return agrees with a plain-Python computation of its
definition, over random journeys recorded through the services (so every journey is domain-valid),
for every locality, lot and the service; the figures are the same whether the record-level tables carry
every cell (the analysis file) or only those a measure of the month reads (the preview, the publication);
and the SQL's rounding agrees with Decimal ROUND_HALF_UP."""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from navigator.domain.errors import DomainError
from navigator.services.casework import journeys as J
from navigator.services.casework import loops
from navigator.services.casework.journeys import ClientInput, ReferralInput
from navigator.services.context import Ctx
from navigator.services.returns import figures as R
from navigator.services.returns import records
from navigator.services.setup.reference import open_ready, reference
from navigator.store.engine import open_store
from navigator.store.models import (
    Journey,
    Locality,
    Lot,
    Measurement,
    OnwardReferral,
    Partner,
    Programme,
    Task,
)

TODAY = date(2026, 7, 31)
# Months around Easter (Good Friday 3 Apr, Easter Monday 6 Apr) and May's two bank holidays (4 and 25 May).
LOCALITIES = ("Maidstone", "Sevenoaks", "Dartford", "Thanet")
_HUNT = int(os.environ.get("NAVIGATOR_HYPOTHESIS_EXAMPLES", "0"))
SETTINGS = settings(
    max_examples=_HUNT or 25,
    deadline=None,
    derandomize=not _HUNT,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
ITEMS = st.lists(st.integers(1, 5), min_size=7, max_size=7)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("return-prop") / "template.sqlite3"
    store, ctx = open_ready(f"sqlite:///{path}", username="admin", today_fn=lambda: TODAY)
    programmes = [p.id for p in reference(ctx).programmes][:3]
    store.dispose()
    return path, programmes


_counter = itertools.count()


journey_plan = st.fixed_dictionaries(
    {
        "locality": st.sampled_from(LOCALITIES),
        # the person later moves and their decile is corrected: the journey keeps those of its referral
        "moves": st.one_of(st.none(), st.tuples(st.sampled_from(LOCALITIES), st.one_of(st.none(), st.integers(1, 10)))),
        "received": st.integers(-35, 27),  # days from the first of the month
        "young": st.sampled_from([False, False, False, True]),
        "imd": st.one_of(st.none(), st.integers(1, 10)),
        # how far the journey gets: 0 received, 1 contacted, 2 decided, 3 started, 4 ended
        "progress": st.sampled_from([0, 1, 2, 3, 3, 4, 4, 4, 4]),
        "contact": st.tuples(st.integers(0, 8), st.sampled_from(["spoke", "spoke", "no_answer"])),
        "decision": st.sampled_from(["accepted", "accepted", "accepted", "rejected"]),
        "decision_gap": st.integers(0, 6),
        "start_gap": st.integers(0, 20),
        "start_items": st.one_of(ITEMS, ITEMS, ITEMS, st.none()),
        "end": st.tuples(
            st.integers(0, 25),
            st.sampled_from(
                [
                    "completed",
                    "completed",
                    "completed",
                    "completed",
                    "no_response",
                    "withdrew",
                    "declined",
                    "moved_away",
                ]
            ),
        ),
        "end_items": st.one_of(ITEMS, ITEMS, ITEMS, st.none()),
        "late_contact": st.one_of(st.none(), st.integers(0, 10)),
        # the referrer is told this many days after the closure or rejection (never: None)
        "told": st.one_of(st.none(), st.integers(0, 12)),
        "self_referral": st.sampled_from([False, False, True]),
        "onward": st.one_of(
            st.none(),
            st.tuples(
                st.integers(0, 10),
                st.integers(0, 2),
                st.sampled_from(["none", "started", "completed", "completed", "withdrew", "did_not_start"]),
                st.integers(0, 15),
            ),
        ),
    }
)


def _after(d: date, n: int) -> date:
    return min(d + timedelta(days=n), TODAY)


def _try(fn, *args, **kw):
    """Run one step; the rules may refuse it (e.g. a date before an earlier step): then it is skipped."""
    try:
        return fn(*args, **kw)
    except DomainError:
        return None


def record(ctx: Ctx, n: int, plan: dict, programmes: list[int], first: date) -> None:
    dob = date(2010, 1, 1) if plan["young"] else date(1975, 5, 5)
    received = _after(first, plan["received"])
    ref = J.receive_referral(
        ctx,
        ReferralInput(
            received_date=received,
            source="self" if plan["self_referral"] else "gp",
            client=ClientInput(
                f"Prop{n}", "Person", dob, plan["locality"], imd_decile=plan["imd"], consent_to_share=True
            ),
        ),
    )
    j = ref.journey_id
    at = received
    progress = plan["progress"]
    if progress >= 1:
        gap, outcome = plan["contact"]
        at = _after(received, gap)
        _try(J.log_contact, ctx, j, at, "phone", outcome)
    decided = None
    if progress >= 2:
        decided = _after(at, plan["decision_gap"])
        if plan["decision"] == "accepted":
            if _try(J.decide, ctx, j, "accepted", decided) is None:
                _try(J.decide, ctx, j, "rejected", decided, "under_17")
        else:
            _try(J.decide, ctx, j, "rejected", decided, "under_17" if plan["young"] else "out_of_area")
    started = None
    if progress >= 3 and decided is not None:
        started = _after(decided, plan["start_gap"])
        if _try(J.start, ctx, j, started, plan["start_items"]) is None:
            started = None
    if started is not None and plan["onward"]:
        gap, prog, outcome, upd = plan["onward"]
        on = _after(started, gap)
        o = _try(J.make_onward, ctx, j, programmes[prog], on)
        if o is not None and outcome != "none":
            when = _after(on, upd)
            if outcome == "did_not_start":
                _try(J.partner_update, ctx, o, "did_not_start", when)
            elif _try(J.partner_update, ctx, o, "started", when) is not None and outcome != "started":
                _try(J.partner_update, ctx, o, outcome, _after(when, upd // 2))
    if progress >= 4 or (progress == 1 and plan["end"][1] == "no_response"):
        gap, reason = plan["end"]
        last = max(d for d in (received, at, decided, started) if d is not None)
        end = _after(last, gap)
        if reason == "completed":
            _try(J.close, ctx, j, end, "completed", evidence="Outcomes evidenced", swemwbs_end=plan["end_items"])
        else:
            _try(J.close, ctx, j, end, reason)
    if plan["told"] is not None:
        with ctx.read() as s:
            jr = s.get(Journey, j)
            closed_on = jr.end_date or (jr.decision_date if jr.decision == "rejected" else None)
        if closed_on is not None:
            _try(loops.tell_referrer, ctx, j, _after(closed_on, plan["told"]), "phone")
    if plan["late_contact"] is not None:  # a contact logged later (while still open), dated back
        _try(J.log_contact, ctx, j, _after(received, plan["late_contact"]), "visit", "spoke")
    if plan["moves"] is not None:
        locality, decile = plan["moves"]
        J.update_client(
            ctx,
            ref.client_id,
            ClientInput(f"Prop{n}", "Person", dob, locality, imd_decile=decile, consent_to_share=True),
        )


# ---------------------------------------------------------------- the definitions, in plain Python


def python_return(ctx: Ctx, month: str) -> dict[tuple[str, str, str], Decimal | None]:
    first, last = R.month_bounds(month)
    cal = ctx.calendar()

    def in_m(d):
        return d is not None and first <= d <= last

    with ctx.read() as s:
        lots = {lot.id: lot.code for lot in s.exec(select(Lot)).all()}
        asked = {t.journey_id for t in s.exec(select(Task).where(Task.kind == "tell_referrer")).all()}
        localities = {loc.id: loc for loc in s.exec(select(Locality)).all()}
        places = {loc.id: (lots[loc.lot_id], loc.name) for loc in localities.values()}
        journeys = s.exec(select(Journey)).all()
        measures = s.exec(select(Measurement).where(Measurement.kind == "swemwbs")).all()
        onward = s.exec(select(OnwardReferral)).all()
        # the referral's own decile, lot and locality (never the person's current ones)
        imd = {j.id: j.imd_decile for j in journeys}
        assert all(j.lot_id is not None for j in journeys)
    starts_m: dict[int, Measurement] = {}
    ends_m: dict[int, Measurement] = {}
    for m in sorted(measures, key=lambda m: (m.on_date, m.id)):
        if m.point == "start":
            starts_m.setdefault(m.journey_id, m)  # the first
        elif m.point == "end":
            ends_m[m.journey_id] = m  # the last
    jplace = {j.id: (lots[j.lot_id], localities[j.locality_id].name) for j in journeys}

    cases: dict[str, list[tuple[tuple[str, str], Fraction]]] = {}

    def add(measure, jid, x=1):
        cases.setdefault(measure, []).append((jplace[jid], Fraction(x)))

    for j in journeys:
        if in_m(j.received_date):
            add("referrals_received", j.id)
        if j.decision == "accepted" and in_m(j.decision_date):
            add("referrals_accepted", j.id)
        if j.decision == "rejected" and in_m(j.decision_date):
            add("referrals_rejected", j.id)
        if in_m(j.start_date):
            add("starts", j.id)
            add("mean_wait_working_days", j.id, cal.count(j.decision_date, j.start_date))
            if imd[j.id] is not None:
                add("starts_imd_q1_q2_pct", j.id, 100 if imd[j.id] <= 4 else 0)
        if j.decision != "rejected" and j.start_date is None and in_m(j.end_date):
            add("unable_to_start", j.id)
            if j.end_reason == "no_response":
                add("unable_to_start_no_response", j.id)
        if j.end_reason == "completed" and in_m(j.end_date):
            add("completions", j.id)
            if j.id in starts_m and j.id in ends_m:
                a = Fraction(starts_m[j.id].metric_x100, 100)
                b = Fraction(ends_m[j.id].metric_x100, 100)
                add("swemwbs_paired", j.id)
                add("swemwbs_maintained_or_improved_pct", j.id, 100 if b >= a else 0)
                add("swemwbs_mean_change", j.id, b - a)
        if j.start_date is not None and j.end_reason != "completed" and in_m(j.end_date):
            add("ended_early", j.id)
        # the referrer was to be told (the desk asked for it, or it was done): told by M's end?
        someone = j.id in asked or j.referrer_told_date is not None
        closed_in_m = in_m(j.end_date) or (j.decision == "rejected" and in_m(j.decision_date))
        if someone and closed_in_m:
            told = j.referrer_told_date is not None and j.referrer_told_date <= last
            add("referrers_told_pct", j.id, 100 if told else 0)
        if in_m(j.first_contact_date):
            add("mean_response_working_days", j.id, cal.count(j.received_date, j.first_contact_date))
        if j.decision == "accepted" and j.decision_date <= last and (j.end_date is None or j.end_date > last):
            add("active_caseload_end", j.id)
    for o in onward:
        if in_m(o.referral_date):
            add("onward_referrals_made", o.journey_id)
        if o.status == "completed" and in_m(o.end_date):
            add("onward_referrals_completed", o.journey_id)

    decimals = {m.measure: (m.kind, m.decimals) for m in R.definitions().measures}
    out: dict[tuple[str, str, str], Decimal | None] = {}
    scopes = [("ALL", "ALL")] + sorted({(lot, "ALL") for lot, _ in places.values()}) + sorted(places.values())
    for measure, (kind, dp) in decimals.items():
        for lot, loc in scopes:
            xs = [
                x
                for (plot, ploc), x in cases.get(measure, [])
                if lot == "ALL" or (plot == lot and (loc == "ALL" or ploc == loc))
            ]
            if kind == "count":
                out[(lot, loc, measure)] = Decimal(len(xs))
            elif not xs:
                out[(lot, loc, measure)] = None
            else:
                mean = sum(xs) / len(xs)
                exact = Decimal(mean.numerator) / Decimal(mean.denominator)
                out[(lot, loc, measure)] = exact.quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP)
    return out


def python_partners(ctx: Ctx, month: str) -> list[tuple]:
    first, last = R.month_bounds(month)
    with ctx.read() as s:
        rows = s.exec(
            select(OnwardReferral, Programme.name, Partner.name)
            .join(Programme, Programme.id == OnwardReferral.programme_id)
            .join(Partner, Partner.id == Programme.partner_id)
        ).all()
    got: dict[tuple[str, str], list[int]] = {}
    for o, prog, partner in rows:
        touches = (o.referral_date <= last and (o.end_date is None or o.end_date >= first)) or (
            o.start_date is not None and first <= o.start_date <= last
        )
        if not touches:
            continue
        c = got.setdefault((partner, prog), [0, 0, 0, 0])
        c[0] += first <= o.referral_date <= last
        c[1] += o.start_date is not None and first <= o.start_date <= last
        c[2] += o.status == "completed" and first <= o.end_date <= last
        c[3] += o.status == "withdrew" and first <= o.end_date <= last
    return sorted((p, g, *c) for (p, g), c in got.items())


def record_tables_outcome(ctx: Ctx, month: str, *, whole: bool, in_sql: bool = False) -> tuple:
    """What the figures are computed from, built with or without every cell, in SQL (a SQLite store's
    preview) or through Python: figures, cases, partner rows, the journeys, the onward referrals with an
    event in M (the preview leaves out those only open in M, and counts them), and what is counted."""
    conn = sqlite3.connect(":memory:")
    try:
        with ctx.read() as s:
            rs = R.build_record_tables(conn, s, ctx, month, pseudonymise=False, whole=whole, in_sql=in_sql)
        return (
            conn.execute("SELECT * FROM monthly_return_derived").fetchall(),
            sorted(conn.execute("SELECT * FROM measure_cases").fetchall()),
            records.partner_rows(conn),
            sorted(conn.execute("SELECT journey_key FROM referrals").fetchall()),
            sorted(
                conn.execute(
                    "SELECT onward_key FROM onward_referrals WHERE ? IN (referral_month, start_month, end_month)",
                    (month,),
                ).fetchall()
            ),
            (rs.places, rs.referrals, rs.onward, rs.calendar_days, records.onward_count(conn)),
            {k: rs.journey_ids[k] for (k,) in conn.execute("SELECT journey_key FROM measure_cases")},
        )
    finally:
        conn.close()


@SETTINGS
@given(
    plans=st.lists(journey_plan, min_size=2, max_size=10),
    month=st.sampled_from(["2026-05", "2026-04", "2026-05", "2026-06"]),
)
def test_every_sql_measure_matches_its_definition(template, tmp_path, plans, month):
    src, programmes = template
    path = tmp_path / f"ex{next(_counter)}.sqlite3"
    shutil.copy(src, path)
    for extra in src.parent.glob(src.name + ".*"):  # the store's audit key, if it keeps one beside it
        shutil.copy(extra, path.parent / (path.name + extra.name[len(src.name) :]))
    store = open_store(f"sqlite:///{path}")
    try:
        ctx = Ctx(store, username="admin", today_fn=lambda: TODAY)
        for n, plan in enumerate(plans):
            record(ctx, n, plan, programmes, R.month_bounds(month)[0])
        got = R.preview(ctx, month)
        want = python_return(ctx, month)
        have = {(r.lot, r.locality, r.measure): r.value for r in got.rows}
        assert set(have) == set(want)
        for key in want:
            assert have[key] == want[key], key
        for measure in (
            "swemwbs_paired",
            "onward_referrals_completed",
            "mean_wait_working_days",
            "ended_early",
            "unable_to_start",
            "referrals_rejected",
            "active_caseload_end",
            "referrers_told_pct",
        ):
            if want[("ALL", "ALL", measure)]:
                event(f"some {measure}")  # shown by --hypothesis-show-statistics
        assert [
            (p.partner, p.programme, p.made, p.started, p.completed, p.withdrew) for p in got.onward_by_partner
        ] == python_partners(ctx, month)
        # the preview's tables (only the cells a measure of M reads; filled in SQL on this SQLite store, or
        # through Python as on PostgreSQL) and the record-level file's (every cell) give the same figures,
        # cases and rows
        whole = record_tables_outcome(ctx, month, whole=True)
        assert record_tables_outcome(ctx, month, whole=False, in_sql=True) == whole
        assert record_tables_outcome(ctx, month, whole=False) == whole
    finally:
        store.dispose()
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------- the rounding, exhaustively small


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(xs=st.lists(st.integers(-3000, 3000), min_size=0, max_size=12))
def test_sql_rounding_is_half_away_from_zero(xs):
    """The views' integer rounding equals Decimal ROUND_HALF_UP for means of any (also negative) values."""
    conn = sqlite3.connect(":memory:")
    R.create_schema(conn, "2026-05")
    conn.execute("INSERT INTO locality VALUES ('Lot 1', 'Dartford', 1, 1)")
    rows = []
    for i, x in enumerate(xs):  # completions with a SWEMWBS pair whose change is x hundredths
        start = 2000
        rows.append(
            (f"k{i}", f"p{i}", "Lot 1", "Dartford", "5-10", "2026-05", None, "accepted", "2026-05", "2026-05")
            + ("2026-05", "completed", None, 1, start, start + x, 1, None)
        )
    conn.executemany("INSERT INTO referrals VALUES (" + ",".join("?" * 18) + ")", rows)
    conn.executemany("INSERT INTO calendar VALUES (?, ?)", [(f"2026-05-{d:02d}", 1) for d in range(1, 32)])
    R.install_measures(conn)
    got = R.compute(conn, "2026-05").result  # compute() itself checks SQL against the Decimal definition
    change = got.value("swemwbs_mean_change")
    pct = got.value("swemwbs_maintained_or_improved_pct")
    if not xs:
        assert change is None and pct is None
    else:
        mean = Decimal(sum(xs)) / Decimal(100 * len(xs))
        q = abs(mean).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert change == (q if mean >= 0 else -q)
        share = Decimal(100 * sum(1 for x in xs if x >= 0)) / Decimal(len(xs))
        assert pct == share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    conn.close()
