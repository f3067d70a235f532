"""Round trip: import a tracker file, export its months, and the counts match the file.

The tracker is generated here (seeded), obeying tracker-import.md's rules; the
expected counts are worked out from the CSV rows alone, in plain Python.
"""

from __future__ import annotations

import csv
import random
import sqlite3
from collections import Counter
from datetime import date, timedelta

from navigator.services.returns import export
from navigator.services.returns import figures as returns
from navigator.services.tracker_import import importer
from navigator.store.seed import LOTS

LOT_OF = {loc: lot for lot, _name, locs in LOTS for loc in locs}
TODAY = date(2026, 11, 25)
HEADER = [
    "client_ref",
    "first_name",
    "last_name",
    "date_of_birth",
    "locality",
    "navigator",
    "referral_source",
    "received_date",
    "first_contact_date",
    "contact_attempts",
    "decision",
    "decision_date",
    "reject_reason",
    "start_date",
    "swemwbs_start",
    "onward_partner",
    "onward_programme",
    "onward_referral_date",
    "onward_start_date",
    "onward_end_date",
    "onward_outcome",
    "end_date",
    "end_reason",
    "swemwbs_end",
]
COUNTED = (
    "referrals_received",
    "referrals_accepted",
    "referrals_rejected",
    "starts",
    "unable_to_start",
    "unable_to_start_no_response",
    "completions",
    "ended_early",
    "onward_referrals_made",
    "onward_referrals_completed",
)


def weekday_after(d: date, days: int) -> date:
    d = d + timedelta(days=days)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def tracker_rows(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    first = date(2025, 1, 6)
    span = (date(2026, 10, 30) - first).days
    rows = []
    for i in range(n):
        received = weekday_after(first, rng.randrange(span))
        row = dict.fromkeys(HEADER, "")
        row.update(
            client_ref=f"T{i:04d}",
            first_name=f"Person{i}",
            last_name=rng.choice(["Smith", "Khan", "Jones"]),
            date_of_birth=date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
            locality=rng.choice(sorted(LOT_OF)),
            navigator=rng.choice(["asha.patel", "ben.khan"]),
            referral_source=rng.choice(["gp", "self", "cmht"]),
            received_date=received.isoformat(),
        )
        path = rng.random()
        if path < 0.12:
            row.update(
                decision="rejected",
                decision_date=weekday_after(received, rng.randint(1, 3)).isoformat(),
                reject_reason=rng.choice(["in_crisis", "out_of_area", "other"]),
            )
        elif path < 0.32:
            a1 = weekday_after(received, 2)
            a2 = weekday_after(a1, 2)
            a3 = weekday_after(a2, 2)
            row.update(
                contact_attempts=f"{a1};{a2};{a3}", end_date=weekday_after(a3, 14).isoformat(), end_reason="no_response"
            )
        else:
            contact = weekday_after(received, rng.randint(1, 4))
            decided = weekday_after(contact, rng.randint(0, 2))
            started = weekday_after(decided, rng.randint(1, 10))
            row.update(first_contact_date=contact.isoformat(), decision="accepted", decision_date=decided.isoformat())
            if started <= TODAY:
                row.update(start_date=started.isoformat(), swemwbs_start=str(rng.randint(10, 28)))
                if rng.random() < 0.6:
                    o_ref = weekday_after(started, 2)
                    o_start = weekday_after(o_ref, 3)
                    o_end = weekday_after(o_start, 20)
                    if o_end <= TODAY:
                        row.update(
                            onward_partner="Kent Money Advice",
                            onward_programme="Debt advice",
                            onward_referral_date=o_ref.isoformat(),
                            onward_start_date=o_start.isoformat(),
                            onward_end_date=o_end.isoformat(),
                            onward_outcome="completed",
                        )
                end = weekday_after(started, rng.randint(40, 120))
                if end <= TODAY and rng.random() < 0.8:
                    reason = "completed" if rng.random() < 0.8 else "withdrew"
                    row.update(end_date=end.isoformat(), end_reason=reason)
                    if reason == "completed":
                        row["swemwbs_end"] = str(rng.randint(12, 33))
        rows.append(row)
    return rows


def expected_counts(rows: list[dict], month: str) -> dict[tuple[str, str], Counter]:
    """Counts per (lot, locality), per lot ('ALL') and for the service, straight from the CSV rows."""

    def in_month(value: str) -> bool:
        return bool(value) and value[:7] == month

    out: dict[tuple[str, str], Counter] = {}
    for r in rows:
        c = Counter()
        c["referrals_received"] += in_month(r["received_date"])
        c["referrals_accepted"] += r["decision"] == "accepted" and in_month(r["decision_date"])
        c["referrals_rejected"] += r["decision"] == "rejected" and in_month(r["decision_date"])
        c["starts"] += in_month(r["start_date"])
        never_started = r["decision"] != "rejected" and not r["start_date"]
        c["unable_to_start"] += never_started and in_month(r["end_date"])
        c["unable_to_start_no_response"] += (
            never_started and in_month(r["end_date"]) and r["end_reason"] == "no_response"
        )
        c["completions"] += r["end_reason"] == "completed" and in_month(r["end_date"])
        c["ended_early"] += (
            bool(r["start_date"]) and r["end_reason"] not in ("", "completed") and in_month(r["end_date"])
        )
        c["onward_referrals_made"] += in_month(r["onward_referral_date"])
        c["onward_referrals_completed"] += r["onward_outcome"] == "completed" and in_month(r["onward_end_date"])
        lot = LOT_OF[r["locality"]]
        for key in ((lot, r["locality"]), (lot, "ALL"), ("ALL", "ALL")):
            out.setdefault(key, Counter()).update(c)
    return out


def test_import_then_export_counts_match_the_file(ctx, tmp_path):
    rows = tracker_rows(160)
    path = tmp_path / "tracker.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADER)
        w.writeheader()
        w.writerows(rows)
    report = importer.import_file(ctx, path)
    assert report.ok, report.errors[:5]

    months = sorted(
        {
            r[k][:7]
            for r in rows
            for k in (
                "received_date",
                "decision_date",
                "start_date",
                "end_date",
                "onward_referral_date",
                "onward_end_date",
            )
            if r[k]
        }
    )
    assert len(months) >= 20
    checked = 0
    for month in months:
        expected = expected_counts(rows, month)
        got = {(row.lot, row.locality, row.measure): row.value for row in returns.preview(ctx, month).rows}
        for (lot, locality), counts in expected.items():
            for measure in COUNTED:
                value = got[(lot, locality, measure)]
                assert int(value or 0) == counts[measure], (month, lot, locality, measure)
                checked += 1
    assert checked > 1000

    # and the exported file of a busy month carries the same figures, re-derivable from its own views
    busiest = max(months, key=lambda m: expected_counts(rows, m)[("ALL", "ALL")]["referrals_received"])
    out = tmp_path / f"return-{busiest}.sqlite"
    export.export_month(ctx, busiest, out, product=export.ANALYSIS)
    con = sqlite3.connect(out)
    try:
        service = dict(con.execute("SELECT measure, value FROM monthly_return WHERE lot = 'ALL' AND locality = 'ALL'"))
        referrals = con.execute("SELECT count(*) FROM referrals WHERE received_month = ?", (busiest,)).fetchone()[0]
    finally:
        con.close()
    expected = expected_counts(rows, busiest)[("ALL", "ALL")]
    for measure in COUNTED:
        assert int(service[measure] or 0) == expected[measure], measure
    assert referrals == expected["referrals_received"]
