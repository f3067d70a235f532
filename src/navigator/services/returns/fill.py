"""The preview's and publication's record-level tables filled in SQL from a SQLite store (issue 16).

The figures of month M only (``build_record_tables(..., whole=False)``, keys as internal ids): the
store is attached read-only to the private database and its month's rows are copied with
``INSERT … SELECT``, with no Python per row. The rows and every cell a measure reads are those of
the generic path in records.py (which PostgreSQL uses, and the record-level file), to the letter:
tests/test_return_properties.py compares the two. The store is never written: it is attached with
``mode=ro``, inside one read transaction (a consistent snapshot), and detached at the end.

The month's journeys and onward referrals are first staged (``temp.mj``, ``temp.mo``: raw ids and
days, the journey as it stood at the end of M) so that the working-day intervals can be counted
over the days they need, and the (lot, locality) pairs read, without a second pass over the store.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from urllib.parse import quote

from navigator.domain.followups import TaskKind
from navigator.domain.workdays import WorkingCalendar
from navigator.services.returns.records import END_REASONS

# An event's month as the file gives it (records._When): M itself, or only 'before' or 'after' M.
_WHEN = (
    "CASE WHEN {d} IS NULL THEN NULL WHEN substr({d}, 1, 7) = :month THEN :month "
    "WHEN substr({d}, 1, 7) < :month THEN 'before' ELSE 'after' END"
)


def _when(day: str) -> str:
    return _WHEN.format(d=day)


# The month's journeys, as records._journey_rows selects them (found through the date indexes), as
# they stood at the end of M (an event after M is NULL; records.build_record_tables).
_STAGE_JOURNEYS = """
INSERT INTO temp.mj
SELECT j.id, j.client_id, COALESCE(j.lot_id, loc.lot_id), j.locality_id, j.imd_decile,
       substr(j.received_date, 1, 10),
       CASE WHEN substr(j.first_contact_date, 1, 10) > :last THEN NULL ELSE substr(j.first_contact_date, 1, 10) END,
       CASE WHEN substr(j.decision_date, 1, 10) > :last THEN NULL ELSE j.decision END,
       CASE WHEN substr(j.decision_date, 1, 10) > :last THEN NULL ELSE substr(j.decision_date, 1, 10) END,
       CASE WHEN substr(j.start_date, 1, 10) > :last THEN NULL ELSE substr(j.start_date, 1, 10) END,
       COALESCE(substr(j.start_date, 1, 10) > :last, 0),
       CASE WHEN substr(j.end_date, 1, 10) > :last THEN NULL ELSE substr(j.end_date, 1, 10) END,
       CASE WHEN substr(j.end_date, 1, 10) > :last THEN NULL ELSE j.end_reason END,
       COALESCE(j.end_date BETWEEN :first AND :last, 0),
       COALESCE(j.end_date BETWEEN :first AND :last
                OR (j.decision = 'rejected' AND j.decision_date BETWEEN :first AND :last), 0),
       j.referrer_told_date IS NOT NULL,
       CASE WHEN substr(j.referrer_told_date, 1, 10) > :last THEN NULL ELSE substr(j.referrer_told_date, 1, 10) END
FROM store.journey j
JOIN store.locality loc ON loc.id = j.locality_id
WHERE j.id IN (
        SELECT id FROM store.journey WHERE end_date >= :first
        UNION ALL SELECT id FROM store.journey WHERE end_date IS NULL
        UNION ALL SELECT id FROM store.journey WHERE first_contact_date BETWEEN :first AND :last
        UNION ALL SELECT id FROM store.journey WHERE decision_date BETWEEN :first AND :last
        UNION ALL SELECT id FROM store.journey WHERE start_date BETWEEN :first AND :last)
  AND ((j.received_date <= :last
        AND (COALESCE(j.end_date, CASE WHEN j.decision = 'rejected' THEN j.decision_date END) IS NULL
             OR COALESCE(j.end_date, CASE WHEN j.decision = 'rejected' THEN j.decision_date END) >= :first))
       OR j.first_contact_date BETWEEN :first AND :last
       OR j.decision_date BETWEEN :first AND :last
       OR j.start_date BETWEEN :first AND :last
       OR j.end_date BETWEEN :first AND :last)
"""

_MJ = """
CREATE TEMP TABLE mj (
    id INTEGER PRIMARY KEY, client_id INTEGER, lot_id INTEGER, loc_id INTEGER, imd INTEGER,
    rec TEXT, fc TEXT, decision TEXT, dd TEXT, st TEXT, st_late INTEGER, ended TEXT, end_reason TEXT,
    ended_in_m INTEGER, closed_in_m INTEGER, told_any INTEGER, told TEXT
)
"""


def _metric(point: str, newest: bool) -> str:
    order = "DESC" if newest else "ASC"
    return (
        "(SELECT x.metric_x100 FROM store.measurement x WHERE x.journey_id = m.id AND x.kind = 'swemwbs' "
        f"AND x.point = '{point}' AND x.metric_x100 IS NOT NULL ORDER BY x.on_date {order}, x.id {order} LIMIT 1)"
    )


def _span(a: str, b: str) -> str:
    """Working days d with a < d <= b, from the staged days' running count (temp.wd)."""
    return f"((SELECT n FROM temp.wd WHERE day = {b}) - (SELECT n FROM temp.wd WHERE day = {a}))"


_REASONS = ", ".join(f"'{r}'" for r in END_REASONS)

# The preview's cells (records.build_record_tables with whole=False): SWEMWBS only for endings in M,
# 'tell the referrer' only for closures in M, intervals only where a mean of M reads them.
_FILL_REFERRALS = f"""
INSERT INTO referrals
SELECT 'j' || m.id, 'c' || m.client_id, l.code, loc.name,
       CASE WHEN m.imd IS NULL THEN 'unknown' WHEN m.imd BETWEEN 1 AND 4 THEN '1-4' ELSE '5-10' END,
       {_when("m.rec")}, {_when("m.fc")}, m.decision, {_when("m.dd")}, {_when("m.st")}, {_when("m.ended")},
       CASE WHEN m.end_reason IS NULL THEN NULL WHEN m.end_reason IN ({_REASONS}) THEN m.end_reason
            ELSE 'other' END,
       CASE WHEN substr(m.fc, 1, 7) = :month THEN {_span("m.rec", "m.fc")} END,
       CASE WHEN m.dd IS NOT NULL AND substr(m.st, 1, 7) = :month THEN {_span("m.dd", "m.st")} END,
       CASE WHEN m.ended_in_m AND NOT m.st_late THEN {_metric("start", False)} END,
       CASE WHEN m.ended_in_m THEN {_metric("end", True)} END,
       CASE WHEN m.closed_in_m THEN (m.told_any OR EXISTS (
           SELECT 1 FROM store.task t WHERE t.journey_id = m.id AND t.kind = '{TaskKind.TELL_REFERRER.value}'))
            ELSE 0 END,
       {_when("m.told")}
FROM temp.mj m
JOIN store.lot l ON l.id = m.lot_id
JOIN store.locality loc ON loc.id = m.loc_id
"""

_MO = """
CREATE TEMP TABLE mo (
    id INTEGER PRIMARY KEY, journey_id INTEGER, client_id INTEGER, lot_id INTEGER, loc_id INTEGER,
    partner TEXT, programme TEXT, ref TEXT, status TEXT, st TEXT, ended TEXT
)
"""

# The month's onward referrals, as records._onward_rows selects them.
_STAGE_ONWARD = """
INSERT INTO temp.mo
SELECT o.id, o.journey_id, j.client_id, COALESCE(j.lot_id, loc.lot_id), j.locality_id, pa.name, pr.name,
       substr(o.referral_date, 1, 10), o.status, substr(o.start_date, 1, 10), substr(o.end_date, 1, 10)
FROM store.onward_referral o
JOIN store.journey j ON j.id = o.journey_id
JOIN store.locality loc ON loc.id = j.locality_id
JOIN store.programme pr ON pr.id = o.programme_id
JOIN store.partner pa ON pa.id = pr.partner_id
WHERE o.id IN (
        SELECT id FROM store.onward_referral WHERE end_date >= :first
        UNION ALL SELECT id FROM store.onward_referral WHERE end_date IS NULL)
  AND ((o.referral_date <= :last AND (o.end_date IS NULL OR o.end_date >= :first))
       OR o.start_date BETWEEN :first AND :last
       OR o.end_date BETWEEN :first AND :last)
"""

_FILL_ONWARD = f"""
INSERT INTO onward_referrals
SELECT 'o' || m.id, 'j' || m.journey_id, 'c' || m.client_id, l.code, loc.name, m.partner, m.programme,
       {_when("m.ref")}, m.status, {_when("m.st")}, {_when("m.ended")}
FROM temp.mo m
JOIN store.lot l ON l.id = m.lot_id
JOIN store.locality loc ON loc.id = m.loc_id
"""


def store_file(path: Path | None) -> str | None:
    """The store as a read-only SQLite URI, or None when it is not a SQLite file."""
    if path is None or not Path(path).is_file():
        return None
    return "file:" + quote(str(Path(path).absolute())) + "?mode=ro"


def _day_counts(conn: sqlite3.Connection, cal: WorkingCalendar, month: str) -> None:
    """temp.wd: a running count of working days over every day an interval of M needs."""
    lo, hi = conn.execute(
        "SELECT min(d), max(d) FROM ("
        "SELECT rec AS d FROM temp.mj WHERE substr(fc, 1, 7) = :month UNION ALL "
        "SELECT fc FROM temp.mj WHERE substr(fc, 1, 7) = :month UNION ALL "
        "SELECT dd FROM temp.mj WHERE dd IS NOT NULL AND substr(st, 1, 7) = :month UNION ALL "
        "SELECT st FROM temp.mj WHERE dd IS NOT NULL AND substr(st, 1, 7) = :month)",
        {"month": month},
    ).fetchone()
    conn.execute("CREATE TEMP TABLE wd (day TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
    if lo is None:
        return
    n = 0
    rows: list[tuple[str, int]] = []
    for d, working in cal.days(date.fromisoformat(lo), date.fromisoformat(hi)):
        if working and rows:  # the first day's count is 0: a span counts the days after its start
            n += 1
        rows.append((d.isoformat(), n))
    conn.executemany("INSERT INTO temp.wd VALUES (?, ?)", rows)


def fill(
    conn: sqlite3.Connection, uri: str, month: str, first: date, last: date, cal: WorkingCalendar
) -> tuple[set[tuple[int, int]], set[int], int, int]:
    """Fill ``referrals`` and ``onward_referrals`` of ``conn`` from the store at ``uri`` (attached read-only).

    Returns the (lot id, locality id) pairs the rows were referred in, the journey ids they name, and
    how many rows of each table. ``conn`` is in autocommit mode, its tables created and empty."""
    params = {"month": month, "first": first.isoformat(), "last": last.isoformat()}
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("ATTACH DATABASE ? AS store", (uri,))
    try:
        conn.execute("BEGIN")
        try:
            conn.execute(_MJ)
            conn.execute(_MO)
            conn.execute(_STAGE_JOURNEYS, params)
            conn.execute(_STAGE_ONWARD, params)
            _day_counts(conn, cal, month)
            n_ref = conn.execute(_FILL_REFERRALS, params).rowcount
            n_onward = conn.execute(_FILL_ONWARD, params).rowcount
            used = {
                (lot, loc)
                for lot, loc in conn.execute(
                    "SELECT lot_id, loc_id FROM temp.mj UNION SELECT lot_id, loc_id FROM temp.mo"
                )
            }
            ids = {i for (i,) in conn.execute("SELECT id FROM temp.mj UNION SELECT journey_id FROM temp.mo")}
            conn.execute("DROP TABLE temp.mj")
            conn.execute("DROP TABLE temp.mo")
            conn.execute("DROP TABLE temp.wd")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute("DETACH DATABASE store")
    return used, ids, n_ref, n_onward
