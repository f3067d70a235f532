"""The preview's and publication's record-level tables filled in SQL from a SQLite store (issue 16).

The figures of month M only (``build_record_tables(..., whole=False)``, keys as internal ids): the
store is attached read-only to the private database and its month's rows are copied with one
``INSERT … SELECT`` a table, with no Python per row. The rows and every cell a measure reads are
those of the generic path in records.py (which PostgreSQL uses, and the record-level file), to the
letter: tests/test_return_properties.py compares the two. The store is never written: it is
attached with ``mode=ro``, read in one transaction (a consistent snapshot) and detached at the end.

As in the generic path, ``onward_referrals`` holds only the onward referrals with an event in M
(referred, started or ended in it); those that are only open in M change no figure, and are
counted by lot, locality and programme instead (records.UNLISTED_ONWARD).
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from urllib.parse import quote

from navigator.domain.followups import TaskKind
from navigator.domain.lifecycle import EndReason
from navigator.domain.workdays import WorkingCalendar

# what the measures tell apart; any other reason is 'other'
END_REASONS = (EndReason.COMPLETED.value, EndReason.NO_RESPONSE.value)
SPAN_YEARS = 12  # the running count of working days covers this far back from M; older days are counted one by one


def _when(day: str) -> str:
    """An event's month as the file gives it (records._When): M itself, or only 'before' or 'after' M."""
    return (
        f"CASE WHEN {day} IS NULL THEN NULL WHEN substr({day}, 1, 7) = :month THEN :month "
        f"WHEN substr({day}, 1, 7) < :month THEN 'before' ELSE 'after' END"
    )


def _month_upto(day: str) -> str:
    """The month of a day as it stood at the end of M: NULL when after M (records: ``when`` of the day
    left out after M), else M or 'before' (a day up to M's last is in a month up to M)."""
    return (
        f"CASE WHEN {day} IS NULL OR substr({day}, 1, 10) > :last THEN NULL "
        f"WHEN substr({day}, 1, 7) = :month THEN :month ELSE 'before' END"
    )


def _metric(point: str, newest: bool) -> str:
    order = "DESC" if newest else "ASC"
    return (
        "(SELECT x.metric_x100 FROM store.measurement x WHERE x.journey_id = m.id AND x.kind = 'swemwbs' "
        f"AND x.point = '{point}' AND x.metric_x100 IS NOT NULL ORDER BY x.on_date {order}, x.id {order} LIMIT 1)"
    )


def _span(a: str, b: str) -> str:
    """Working days d with a < d <= b: from the running count (temp.wd), else counted by the calendar."""
    return (
        f"COALESCE((SELECT n FROM temp.wd WHERE day = {b}) - (SELECT n FROM temp.wd WHERE day = {a}), "
        f"navigator_working_days({a}, {b}))"
    )


_REASONS = ", ".join(f"'{r}'" for r in END_REASONS)

# The month's journeys, as records._journey_rows selects them (found through the date indexes), each as
# it stood at the end of M (an event after M is NULL), with the preview's cells (whole=False): SWEMWBS
# only for endings in M, 'tell the referrer' only for closures in M, an interval only where a mean of
# M reads it (response: first contact in M; wait: start in M). Each month worked out once, in ``m``.
_REFERRALS = f"""
INSERT INTO referrals
SELECT 'j' || m.id, 'c' || m.client_id, l.code, loc.name,
       CASE WHEN m.imd IS NULL THEN 'unknown' WHEN m.imd BETWEEN 1 AND 4 THEN '1-4' ELSE '5-10' END,
       m.rec_m, m.fc_m, m.decision, m.dd_m, m.st_m, m.end_m,
       CASE WHEN m.end_reason IS NULL THEN NULL WHEN m.end_reason IN ({_REASONS}) THEN m.end_reason
            ELSE 'other' END,
       CASE WHEN m.fc_m = :month THEN {_span("m.rec", "m.fc")} END,
       CASE WHEN m.dd_m IS NOT NULL AND m.st_m = :month THEN {_span("m.dd", "m.st")} END,
       CASE WHEN m.ended_in_m AND NOT m.st_late THEN {_metric("start", False)} END,
       CASE WHEN m.ended_in_m THEN {_metric("end", True)} END,
       CASE WHEN m.closed_in_m THEN (m.told_any OR EXISTS (
           SELECT 1 FROM store.task t WHERE t.journey_id = m.id AND t.kind = '{TaskKind.TELL_REFERRER.value}'))
            ELSE 0 END,
       m.told_m
FROM (
    SELECT j.id AS id, j.client_id AS client_id, j.locality_id AS loc_id, j.imd_decile AS imd,
           COALESCE(j.lot_id, (SELECT jl.lot_id FROM temp.place jl WHERE jl.id = j.locality_id)) AS lot_id,
           substr(j.received_date, 1, 10) AS rec, {_when("j.received_date")} AS rec_m,
           substr(j.first_contact_date, 1, 10) AS fc, {_month_upto("j.first_contact_date")} AS fc_m,
           CASE WHEN substr(j.decision_date, 1, 10) > :last THEN NULL ELSE j.decision END AS decision,
           substr(j.decision_date, 1, 10) AS dd, {_month_upto("j.decision_date")} AS dd_m,
           substr(j.start_date, 1, 10) AS st, {_month_upto("j.start_date")} AS st_m,
           COALESCE(substr(j.start_date, 1, 10) > :last, 0) AS st_late,
           {_month_upto("j.end_date")} AS end_m,
           CASE WHEN substr(j.end_date, 1, 10) > :last THEN NULL ELSE j.end_reason END AS end_reason,
           COALESCE(j.end_date BETWEEN :first AND :last, 0) AS ended_in_m,
           COALESCE(j.end_date BETWEEN :first AND :last
                    OR (j.decision = 'rejected' AND j.decision_date BETWEEN :first AND :last), 0) AS closed_in_m,
           j.referrer_told_date IS NOT NULL AS told_any,
           {_month_upto("j.referrer_told_date")} AS told_m
    FROM store.journey j
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
    LIMIT -1  -- each journey's values worked out once (the subquery is not flattened into the join)
) m
JOIN temp.lot_code l ON l.id = m.lot_id
JOIN temp.place loc ON loc.id = m.loc_id
"""

# The month's onward referrals, as records._onward_rows selects them, staged once (temp.mo).
_STAGE_ONWARD = """
INSERT INTO temp.mo
SELECT o.id, o.journey_id, j.client_id,
       COALESCE(j.lot_id, (SELECT jl.lot_id FROM temp.place jl WHERE jl.id = j.locality_id)), j.locality_id,
       o.programme_id,
       substr(o.referral_date, 1, 10), o.status, substr(o.start_date, 1, 10), substr(o.end_date, 1, 10),
       COALESCE(substr(o.referral_date, 1, 7) = :month, 0) OR COALESCE(substr(o.start_date, 1, 7) = :month, 0)
       OR COALESCE(substr(o.end_date, 1, 7) = :month, 0)
FROM store.onward_referral o
JOIN store.journey j ON j.id = o.journey_id
WHERE o.id IN (
        SELECT id FROM store.onward_referral WHERE end_date >= :first
        UNION ALL SELECT id FROM store.onward_referral WHERE end_date IS NULL)
  AND ((o.referral_date <= :last AND (o.end_date IS NULL OR o.end_date >= :first))
       OR o.start_date BETWEEN :first AND :last
       OR o.end_date BETWEEN :first AND :last)
"""
_MO = """
CREATE TEMP TABLE mo (
    id INTEGER PRIMARY KEY, journey_id INTEGER, client_id INTEGER, lot_id INTEGER, loc_id INTEGER,
    programme_id INTEGER, ref TEXT, status TEXT, st TEXT, ended TEXT, event INTEGER
)
"""
# those with an event in M: referred, started or ended in it (no figure counts any other)
_ONWARD = f"""
INSERT INTO onward_referrals
SELECT 'o' || m.id, 'j' || m.journey_id, 'c' || m.client_id, l.code, loc.name, pr.partner, pr.name,
       {_when("m.ref")}, m.status, {_when("m.st")}, {_when("m.ended")}
FROM temp.mo m
JOIN temp.lot_code l ON l.id = m.lot_id
JOIN temp.place loc ON loc.id = m.loc_id
JOIN temp.programme_name pr ON pr.id = m.programme_id
WHERE m.event
"""
# the others, only open in M: counted
_OPEN_ONLY = """
SELECT u.lot_id, u.loc_id, pr.partner, pr.name, u.n
FROM (SELECT lot_id, loc_id, programme_id, COUNT(*) AS n FROM temp.mo WHERE NOT event GROUP BY 1, 2, 3) u
JOIN temp.programme_name pr ON pr.id = u.programme_id
"""
# the few names the rows carry, copied once rather than looked up in the store row by row
_NAMES = (
    "CREATE TEMP TABLE lot_code AS SELECT id + 0 AS id, code FROM store.lot",
    "CREATE TEMP TABLE place AS SELECT id + 0 AS id, name, lot_id FROM store.locality",
    "CREATE TEMP TABLE programme_name AS SELECT pr.id + 0 AS id, pa.name AS partner, pr.name AS name "
    "FROM store.programme pr JOIN store.partner pa ON pa.id = pr.partner_id",
)


def store_file(path: Path | None) -> str | None:
    """The store as a read-only SQLite URI, or None when it is not a SQLite file."""
    if path is None or not Path(path).is_file():
        return None
    return "file:" + quote(str(Path(path).absolute())) + "?mode=ro"


def _day_counts(conn: sqlite3.Connection, cal: WorkingCalendar, first: date, last: date) -> None:
    """temp.wd: a running count of working days from the store's earliest referral or decision (at most
    SPAN_YEARS before M) to the end of M; an interval with a day outside it is counted by the calendar."""
    lo = conn.execute(
        "SELECT min(d) FROM (SELECT min(received_date) AS d FROM store.journey "
        "UNION ALL SELECT min(decision_date) FROM store.journey)"
    ).fetchone()[0]
    start = date(first.year - SPAN_YEARS, 1, 1)
    try:
        start = max(start, date.fromisoformat(str(lo)[:10])) if lo is not None else first
    except ValueError:
        pass
    start = min(start, first)
    conn.execute("CREATE TEMP TABLE wd (day TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
    n = 0
    rows: list[tuple[str, int]] = []
    for d, working in cal.days(start, last):
        if working and rows:  # the first day counts 0: a span counts the days after its start
            n += 1
        rows.append((d.isoformat(), n))
    conn.executemany("INSERT INTO temp.wd VALUES (?, ?)", rows)


def fill(
    conn: sqlite3.Connection, uri: str, month: str, first: date, last: date, cal: WorkingCalendar
) -> list[tuple[int, int, str, str, int]] | None:
    """Fill ``referrals`` and ``onward_referrals`` of ``conn`` from the store at ``uri`` (attached read-only).

    Returns the onward referrals open in M with no event in it, counted by (lot id, locality id,
    partner, programme); None, with nothing filled, when the store cannot be opened read-only (the
    caller then takes the generic path). ``conn`` is in autocommit mode, its tables created and empty."""
    params = {"month": month, "first": first.isoformat(), "last": last.isoformat()}

    def working_days(a: str, b: str) -> int:
        return cal.count(date.fromisoformat(a), date.fromisoformat(b))

    conn.execute("PRAGMA temp_store = MEMORY")
    try:
        conn.execute("ATTACH DATABASE ? AS store", (uri,))
    except sqlite3.Error:
        return None
    try:
        conn.execute("SELECT COUNT(*) FROM store.sqlite_master").fetchone()  # opened and readable
    except sqlite3.Error:
        conn.execute("DETACH DATABASE store")
        return None
    conn.create_function("navigator_working_days", 2, working_days, deterministic=True)
    try:
        conn.execute("BEGIN")
        try:
            _day_counts(conn, cal, first, last)
            for sql in _NAMES:
                conn.execute(sql)
            for table in ("lot_code", "place", "programme_name"):
                conn.execute(f"CREATE UNIQUE INDEX temp.{table}_id ON {table}(id)")
            conn.execute(_REFERRALS, params)
            conn.execute(_MO)
            conn.execute(_STAGE_ONWARD, params)
            conn.execute(_ONWARD, params)
            open_only: list[tuple[int, int, str, str, int]] = conn.execute(_OPEN_ONLY, params).fetchall()
            conn.execute("DROP TABLE temp.wd")
            for table in ("mo", "lot_code", "place", "programme_name"):
                conn.execute(f"DROP TABLE temp.{table}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute("DETACH DATABASE store")
        conn.create_function("navigator_working_days", 2, None)
    return open_only
