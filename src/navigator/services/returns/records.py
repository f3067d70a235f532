"""The record-level tables of month M, built in a private SQLite database (never the store).

One row per journey or onward referral that touches M (an event in M) or is open
in it, carrying only what the measures need (db/measures/00_schema.sql): the month
of each event (not its date), the working-day intervals the means use (counted
with the service's calendar, domain/workdays.py), the IMD group of the referral
(domain/referral.py), its lot and locality, SWEMWBS metric scores, reasons as the
measures group them. Lot, locality and IMD decile are the journey's own, fixed
when it was received (migration 0003), never the person's current ones.

Pseudonyms (``journey_key``, ``onward_key``, ``person``) are HMAC-SHA256 under a
key derived from the install's secret and the month: they differ from one
month's file to another's, and the same month built twice gives the same keys
(exports are reproducible). ``linkable`` keys them with the secret itself, the
same in every file (recorded in meta). The preview, which never leaves the
process, keys rows by journey id (no hashing).
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, and_, case, func, or_, select, type_coerce, union_all
from sqlmodel import Session, col

from navigator import __version__
from navigator.domain.errors import StoreError
from navigator.domain.followups import TaskKind
from navigator.domain.referral import imd_group
from navigator.domain.workdays import WorkingCalendar
from navigator.services.context import Ctx, as_day, get_setting
from navigator.services.returns import fill
from navigator.services.returns.definitions import DEFINITIONS_VERSION, definitions, month_bounds
from navigator.services.returns.fill import END_REASONS
from navigator.services.returns.results import Progress
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

# The quasi-identifiers of a record-level file: what someone who knows a person could match a row on.
# What someone who knows a person could match a row on: where and when. A journey's events are in
# the file as they stood at the end of M, each month only as M itself or "before" it, so the months
# are coarse enough to count as known.
QUASI_IDENTIFIERS = (
    "lot",
    "locality",
    "imd_group",
    "received_month",
    "first_contact_month",
    "decision_month",
    "start_month",
    "end_month",
    "referrer_to_tell",  # partly says whether someone else referred them
    "referrer_told_month",
)
# A stricter reading, for reviewers: the working-day intervals known too.
INTERVALS = ("response_working_days", "wait_working_days")
OPEN_ONLY = "onward_open_only"  # temp table: onward referrals only open in M, counted (build_record_tables)


def pseudonym(secret: str, kind: str, ident: int) -> str:
    """HMAC-SHA256 (hex) of an internal id under ``secret``: not reversible without it."""
    return Pseudonymiser(secret)(kind, ident)


class Pseudonymiser:
    """Keyed once; each pseudonym copies the keyed state (fast for tens of thousands of rows)."""

    def __init__(self, secret: str) -> None:
        base = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
        self._base = getattr(base, "_hmac", None) or base  # the C object when OpenSSL backs hmac

    def __call__(self, kind: str, ident: int) -> str:
        h = self._base.copy()
        h.update((str(ident) if kind == "client" else f"{kind}:{ident}").encode("ascii"))
        return h.hexdigest()


class _Plain:
    """The preview's keys: internal ids as text (the private database never leaves the process)."""

    def __call__(self, kind: str, ident: int) -> str:
        return f"{kind[0]}{ident}"


def file_key(secret: str, month: str, *, linkable: bool) -> str:
    """The key a file's pseudonyms are made with: per month unless linkable."""
    if linkable:
        return secret
    return hmac.new(secret.encode("utf-8"), f"navigator-export:{month}".encode("ascii"), hashlib.sha256).hexdigest()


def _secret(s: Session) -> str:
    secret = get_setting(s, "pseudonym_secret")
    if not secret:
        raise StoreError(
            "This store has no pseudonym secret, so the return cannot be pseudonymised. "
            "Run `navigator init` as an admin to set the store up."
        )
    return str(secret)


@dataclass
class RecordSet:
    journey_ids: dict[str, int]  # journey_key -> internal journey id (never leaves the store)
    places: dict[tuple[str, str], tuple[int, int]]  # (lot code, locality name) -> (lot id, locality id)
    referrals: int
    onward: int
    calendar_days: int


def _raw(column):
    """A date column as the driver gives it (ISO text on SQLite): no per-row parsing."""
    return type_coerce(column, String)


def _iso(v) -> str | None:
    """A date from the store as its ISO day (``YYYY-MM-DD``): text on SQLite, a date on PostgreSQL."""
    if v is None:
        return None
    if v.__class__ is str:
        return v[:10]
    return as_day(v).isoformat()


def _day(v: str | None) -> date:
    assert v is not None
    return date.fromisoformat(v)


class _When:
    """An event's month as the file gives it: M itself, or only "before" or "after" M.

    The measures of month M ask no more of any date (db/measures/*.sql compare with M alone), and a
    month outside M would help single a person out. Takes an ISO day (``_iso``) or None.
    """

    def __init__(self, month: str) -> None:
        self.month = month

    def __call__(self, day: str | None) -> str | None:
        if day is None:
            return None
        m = day[:7]
        if m == self.month:
            return m
        return "before" if m < self.month else "after"


def _journey_rows(s: Session, first: date, last: date, *, whole: bool = True):
    """The month's journeys. ``whole``: every cell; else the SWEMWBS scores and whether the referrer was to
    be told only where a measure of M reads them (a journey ended in M, or rejected in M): the costly
    per-journey look-ups are then made for the month's endings, not for the whole open caseload."""
    rejected_on = case((col(Journey.decision) == "rejected", col(Journey.decision_date)), else_=None)
    closed_on = func.coalesce(Journey.end_date, rejected_on)
    ended_in_m = col(Journey.end_date).between(first, last)
    closed_in_m = or_(
        ended_in_m, and_(col(Journey.decision) == "rejected", col(Journey.decision_date).between(first, last))
    )

    def only(cond, expr, otherwise=None):
        return expr if whole else case((cond, expr), else_=otherwise)

    def metric(point: str, newest: bool):
        order = (
            (col(Measurement.on_date).desc(), col(Measurement.id).desc())
            if newest
            else (col(Measurement.on_date).asc(), col(Measurement.id).asc())
        )
        return (
            select(col(Measurement.metric_x100))
            .where(
                col(Measurement.journey_id) == col(Journey.id),
                col(Measurement.kind) == "swemwbs",
                col(Measurement.point) == point,
                col(Measurement.metric_x100).is_not(None),
            )
            .order_by(*order)
            .limit(1)
            .scalar_subquery()
        )

    q = (
        select(
            col(Journey.id),
            col(Journey.client_id),
            col(Journey.lot_id),
            col(Journey.locality_id),
            col(Journey.imd_decile),
            _raw(col(Journey.received_date)),
            _raw(col(Journey.first_contact_date)),
            col(Journey.decision),
            _raw(col(Journey.decision_date)),
            _raw(col(Journey.start_date)),
            _raw(col(Journey.end_date)),
            col(Journey.end_reason),
            only(ended_in_m, metric("start", False)).label("sw_start"),
            only(ended_in_m, metric("end", True)).label("sw_end"),
            # the referrer was to be told of the end: the desk set "tell the referrer" (there was someone
            # to tell and the protocol tells referrers), or someone recorded telling them. History written
            # by the import or the demo does not say, so it is not counted either way.
            only(
                closed_in_m,
                or_(
                    select(col(Task.id))
                    .where(col(Task.journey_id) == col(Journey.id), col(Task.kind) == TaskKind.TELL_REFERRER.value)
                    .exists(),
                    col(Journey.referrer_told_date).is_not(None),
                ),
                False,
            ).label("to_tell"),
            _raw(col(Journey.referrer_told_date)),
        )
        .where(
            # found through indexes, so the cost follows the month's journeys, not the store: every
            # journey that touches M or is open in it ended on or after M's first day, or has not ended
            col(Journey.id).in_(
                union_all(
                    select(col(Journey.id)).where(col(Journey.end_date) >= first),
                    select(col(Journey.id)).where(col(Journey.end_date).is_(None)),
                    select(col(Journey.id)).where(col(Journey.first_contact_date).between(first, last)),
                    select(col(Journey.id)).where(col(Journey.decision_date).between(first, last)),
                    select(col(Journey.id)).where(col(Journey.start_date).between(first, last)),
                )
            ),
            or_(
                and_(col(Journey.received_date) <= last, or_(closed_on.is_(None), closed_on >= first)),
                col(Journey.first_contact_date).between(first, last),
                col(Journey.decision_date).between(first, last),
                col(Journey.start_date).between(first, last),
                col(Journey.end_date).between(first, last),
            ),
        )
        .order_by(col(Journey.id))
    )
    return s.connection().execute(q).all()  # Core rows: no ORM loading per row


def _onward_rows(s: Session, first: date, last: date):
    q = (
        select(
            col(OnwardReferral.id),
            col(OnwardReferral.journey_id),
            col(Journey.client_id),
            col(Journey.lot_id),
            col(Journey.locality_id),
            col(Partner.name),
            col(Programme.name),
            _raw(col(OnwardReferral.referral_date)),
            col(OnwardReferral.status),
            _raw(col(OnwardReferral.start_date)),
            _raw(col(OnwardReferral.end_date)),
        )
        .join(Journey, col(Journey.id) == col(OnwardReferral.journey_id))
        .join(Programme, col(Programme.id) == col(OnwardReferral.programme_id))
        .join(Partner, col(Partner.id) == col(Programme.partner_id))
        .where(
            col(OnwardReferral.id).in_(  # through the end_date index: the month's rows, not the store's
                union_all(
                    select(col(OnwardReferral.id)).where(col(OnwardReferral.end_date) >= first),
                    select(col(OnwardReferral.id)).where(col(OnwardReferral.end_date).is_(None)),
                )
            ),
            or_(
                and_(
                    col(OnwardReferral.referral_date) <= last,
                    or_(col(OnwardReferral.end_date).is_(None), col(OnwardReferral.end_date) >= first),
                ),
                col(OnwardReferral.start_date).between(first, last),
                col(OnwardReferral.end_date).between(first, last),
            ),
        )
        .order_by(col(OnwardReferral.id))
    )
    return s.connection().execute(q).all()


def _reference(s: Session):
    """lot id -> code; locality id -> (name, its current lot id); localities reported (active, in active lots)."""
    lots = {
        r[0]: (r[1], bool(r[2]))
        for r in s.execute(select(col(Lot.id), col(Lot.code), col(Lot.active)).order_by(col(Lot.id)))
    }
    locs = {}
    reported = []
    for loc_id, name, lot_id, active in s.execute(
        select(col(Locality.id), col(Locality.name), col(Locality.lot_id), col(Locality.active)).order_by(
            col(Locality.lot_id), col(Locality.id)
        )
    ):
        locs[loc_id] = (name, lot_id)
        if active and lots[lot_id][1]:
            reported.append((lot_id, loc_id))
    return {k: v[0] for k, v in lots.items()}, locs, reported


def _fill_rows(
    conn: sqlite3.Connection,
    s: Session,
    month: str,
    first: date,
    last: date,
    cal: WorkingCalendar,
    reference: tuple[dict[int, str], dict[int, tuple[str, int]]],
    pseudo: Pseudonymiser | _Plain,
    whole: bool,
    step: Callable[[str, int], None],
) -> tuple[dict[str, int], set[tuple[int, int]], list[tuple[int, int, str, str, int]]]:
    """The generic path (PostgreSQL, the record-level file): the month's rows read, then inserted from Python."""
    lot_codes, locs = reference
    conn.execute("BEGIN")
    count = cal.count
    last_day = last.isoformat()
    journey_ids: dict[str, int] = {}
    used: set[tuple[int, int]] = set()
    when = _When(month)
    ref_rows = []
    for (
        jid,
        cid,
        lot_id,
        loc_id,
        imd,
        received,
        first_contact,
        decision,
        decision_date,
        start,
        end,
        end_reason,
        sw_start,
        sw_end,
        to_tell,
        told,
    ) in _journey_rows(s, first, last, whole=whole):
        key = pseudo("journey", jid)
        journey_ids[key] = jid
        if lot_id is None:  # never after migration 0003; a journey written around it takes its locality's lot
            lot_id = locs[loc_id][1]
        used.add((lot_id, loc_id))
        # dates as ISO days (text on SQLite, dates on PostgreSQL), compared as text
        rec, fc, dd, st = _iso(received), _iso(first_contact), _iso(decision_date), _iso(start)
        end, told = _iso(end), _iso(told)
        assert rec is not None  # received_date is NOT NULL
        # The file is the journey as it stood at the end of M: what happened after M is left out
        # (no measure of M uses it, and it would help single a person out).
        if fc is not None and fc > last_day:
            fc = None
        if dd is not None and dd > last_day:
            decision = dd = None
        if st is not None and st > last_day:
            st = sw_start = None
        if end is not None and end > last_day:
            end = end_reason = sw_end = None
        if told is not None and told > last_day:
            told = None
        fc_month, start_month = when(fc), when(st)
        # the working-day intervals: every one in the record-level file; else those a mean of M reads
        # (response: first contact in M; wait: start in M)
        response = count(_day(rec), _day(fc)) if fc is not None and (whole or fc_month == month) else None
        wait = (
            count(_day(dd), _day(st)) if dd is not None and st is not None and (whole or start_month == month) else None
        )
        ref_rows.append(
            (
                key,
                pseudo("client", cid),
                lot_codes[lot_id],
                locs[loc_id][0],
                imd_group(imd),
                when(rec),
                fc_month,
                decision,
                when(dd),
                start_month,
                when(end),
                None if end_reason is None else (end_reason if end_reason in END_REASONS else "other"),
                response,
                wait,
                sw_start,
                sw_end,
                int(bool(to_tell)),
                when(told),
            )
        )
    conn.executemany("INSERT INTO referrals VALUES (" + ",".join("?" * 18) + ")", ref_rows)

    step("Reading onward referrals", 1)
    onward_rows = []
    open_only: dict[tuple[int, int, str, str], int] = {}
    for oid, jid, cid, lot_id, loc_id, partner, programme, ref_date, status, start, end in _onward_rows(s, first, last):
        if lot_id is None:
            lot_id = locs[loc_id][1]
        ref_date, start, end = _iso(ref_date), _iso(start), _iso(end)
        if not whole and month not in ((ref_date or "")[:7], (start or "")[:7], (end or "")[:7]):
            # open in M, no event in it: no figure reads the row, only the count and the partner's row
            place = (lot_id, loc_id, partner, programme)
            open_only[place] = open_only.get(place, 0) + 1
            continue
        jkey = pseudo("journey", jid)
        journey_ids.setdefault(jkey, jid)
        used.add((lot_id, loc_id))
        onward_rows.append(
            (
                pseudo("onward", oid),
                jkey,
                pseudo("client", cid),
                lot_codes[lot_id],
                locs[loc_id][0],
                partner,
                programme,
                when(ref_date),
                status,
                when(start),
                when(end),
            )
        )
    conn.executemany("INSERT INTO onward_referrals VALUES (" + ",".join("?" * 11) + ")", onward_rows)

    return journey_ids, used, [(*k, n) for k, n in open_only.items()]


def build_record_tables(
    conn: sqlite3.Connection,
    s: Session,
    ctx: Ctx,
    month: str,
    *,
    meta: dict[str, str] | None = None,
    progress: Progress | None = None,
    steps: int = 6,
    pseudonymise: bool = True,
    linkable: bool = False,
    whole: bool | None = None,
    in_sql: bool = False,
) -> RecordSet:
    """Create the record-level tables, calendar, meta and the measure views in ``conn``.

    ``conn`` is a private SQLite database (in memory, or the new record-level export
    file): never the store.

    ``whole`` (the default when pseudonymising, i.e. for the record-level file): every cell of every row.
    Otherwise (the preview, the publication, corrections: only the figures are read) the same rows, but
    the cells that no measure of M reads are left empty rather than looked up: the SWEMWBS scores of a
    journey that did not end in M, whether the referrer was to be told of one not closed in M, the
    response interval of one not first contacted in M and the wait of one not started in M. The
    figures are the same either way (tests/test_return_properties.py). Nor does ``onward_referrals``
    then hold the onward referrals only open in M (no event in it): no measure reads them; they are
    counted by place and programme in ``temp.onward_open_only`` (``onward_count``, ``partner_rows``).

    ``in_sql``: on a SQLite store, without ``whole``, copy the rows in SQL (fill.py) rather than read them
    into Python. Only for a session that has written nothing: the copy reads the store's committed state,
    not ``s`` (an amendment's preview reads its own uncommitted change through ``s``).
    """
    if whole is None:
        whole = pseudonymise
    first, last = month_bounds(month)
    pseudo = Pseudonymiser(file_key(_secret(s), month, linkable=linkable)) if pseudonymise else _Plain()

    def step(what: str, n: int) -> None:
        if progress:
            progress(what, n, steps)

    create_schema(conn, month, meta)
    step("Reading journeys", 0)
    lot_codes, locs, reported = _reference(s)
    cal = ctx.calendar(s)
    uri = fill.store_file(ctx.store.path) if in_sql and not (whole or pseudonymise) else None
    copied = None if uri is None else fill.fill(conn, uri, month, first, last, cal)
    if copied is not None:  # a SQLite store: the rows copied in SQL, none through Python
        open_only = copied
        step("Reading onward referrals", 1)
        conn.execute("BEGIN")
        journey_ids = {
            k: int(k[1:])
            for (k,) in conn.execute("SELECT journey_key FROM referrals UNION SELECT journey_key FROM onward_referrals")
        }
        lot_ids = {code: lot_id for lot_id, code in lot_codes.items()}
        loc_ids = {name: loc_id for loc_id, (name, _lot) in locs.items()}
        used = {
            (lot_ids[lot], loc_ids[loc])
            for lot, loc in conn.execute(
                "SELECT DISTINCT lot, locality FROM referrals UNION SELECT DISTINCT lot, locality FROM onward_referrals"
            )
        }
    else:
        journey_ids, used, open_only = _fill_rows(
            conn, s, month, first, last, cal, (lot_codes, locs), pseudo, whole, step
        )
    if not whole:
        used |= {(lot_id, loc_id) for lot_id, loc_id, *_ in open_only}
        conn.execute(
            f"CREATE TEMP TABLE {OPEN_ONLY} (lot TEXT, locality TEXT, partner TEXT, programme TEXT, n INTEGER)"
        )
        conn.executemany(
            f"INSERT INTO {OPEN_ONLY} VALUES (?, ?, ?, ?, ?)",
            [
                (lot_codes[lot_id], locs[loc_id][0], partner, programme, n)
                for lot_id, loc_id, partner, programme, n in open_only
            ],
        )
    n_ref = conn.execute("SELECT COUNT(*) FROM referrals").fetchone()[0]
    # every reported locality under its lot, and any (lot, locality) a journey of the month was referred in
    pairs = sorted(set(reported) | used, key=lambda p: (p[0], p[1]))
    lot_order: dict[int, int] = {}
    loc_rows: list[tuple[str, str, int, int]] = []
    places: dict[tuple[str, str], tuple[int, int]] = {}
    for lot_id, loc_id in pairs:
        lot_order.setdefault(lot_id, len(lot_order) + 1)
        loc_rows.append((lot_codes[lot_id], locs[loc_id][0], lot_order[lot_id], len(loc_rows) + 1))
        places[(lot_codes[lot_id], locs[loc_id][0])] = (lot_id, loc_id)
    conn.executemany("INSERT INTO locality VALUES (?, ?, ?, ?)", loc_rows)

    step("Building the calendar", 2)
    cal_rows = [(d.isoformat(), 1 if w else 0) for d, w in cal.days(first, last)]
    conn.executemany("INSERT INTO calendar VALUES (?, ?)", cal_rows)
    conn.execute("COMMIT")
    install_measures(conn)
    return RecordSet(journey_ids, places, n_ref, onward_count(conn), len(cal_rows))


def create_schema(conn: sqlite3.Connection, month: str, meta: dict[str, str] | None = None) -> None:
    """The empty record-level tables (db/measures/00_schema.sql) and meta, in autocommit mode."""
    conn.isolation_level = None
    conn.executescript(definitions().schema)
    rows = {"month": month, "definitions_version": DEFINITIONS_VERSION, "app_version": __version__}
    rows.update(meta or {})
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", sorted(rows.items()))
    conn.execute("COMMIT")


def install_measures(conn: sqlite3.Connection) -> None:
    """measure_definition and every view of db/measures, over the filled record-level tables."""
    defs = definitions()
    write_definitions(conn)
    for _view, sql in defs.base:
        conn.executescript(sql)
    for m in defs.measures:
        conn.executescript(m.sql)
    conn.executescript(defs.cases_view_sql())
    for _view, sql in defs.rollups:
        conn.executescript(sql)


def write_definitions(conn: sqlite3.Connection) -> None:
    """measure_definition: each measure's kind, rounding, definition and SQL (as text)."""
    defs = definitions()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO measure_definition VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (m.position, m.measure, m.kind, m.decimals, m.multiplier, m.scale, m.definition, m.view, m.sql)
            for m in defs.measures
        ],
    )
    conn.execute("COMMIT")


def _has_open_only(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_temp_master WHERE name = ?", (OPEN_ONLY,)).fetchone() is not None


def onward_count(conn: sqlite3.Connection) -> int:
    """The onward referrals behind the return: the rows of ``onward_referrals`` and those only open in M."""
    n = conn.execute("SELECT COUNT(*) FROM onward_referrals").fetchone()[0]
    if _has_open_only(conn):
        n += conn.execute(f"SELECT COALESCE(SUM(n), 0) FROM {OPEN_ONLY}").fetchone()[0]
    return int(n)


def partner_rows(conn: sqlite3.Connection) -> list[tuple]:
    """onward_by_partner_derived, with a row of noughts for a programme whose onward referrals were only
    open in M (a row the view gives when they are in ``onward_referrals``)."""
    view = "SELECT month, partner, programme, made, started, completed, withdrew FROM onward_by_partner_derived"
    if not _has_open_only(conn):
        return conn.execute(view + " ORDER BY partner, programme").fetchall()
    return conn.execute(
        f"{view} UNION ALL SELECT p.month, u.partner, u.programme, 0, 0, 0, 0 "
        f"FROM (SELECT DISTINCT partner, programme FROM {OPEN_ONLY}) u, period p "
        "WHERE NOT EXISTS (SELECT 1 FROM onward_referrals o WHERE o.partner = u.partner AND o.programme = u.programme) "
        "ORDER BY partner, programme"
    ).fetchall()


def keep_lots(conn: sqlite3.Connection, lots: tuple[str, ...]) -> None:
    """Delete every row of the record-level tables (and of the open-only counts) outside ``lots``."""
    marks = ",".join("?" * len(lots))
    conn.execute("BEGIN")
    for table in ("referrals", "onward_referrals", "locality") + (
        (f"temp.{OPEN_ONLY}",) if _has_open_only(conn) else ()
    ):
        conn.execute(f"DELETE FROM {table} WHERE lot NOT IN ({marks})", lots)
    conn.execute("COMMIT")


def privacy_stats(conn: sqlite3.Connection) -> dict[str, str]:
    """The smallest group size k and the share of unique rows of ``referrals`` on its quasi-identifiers.

    Also the share unique when the working-day intervals count as known too (a stricter reading, for reviewers).
    """

    def groups(cols: tuple[str, ...]) -> list[int]:
        return [n for (n,) in conn.execute(f"SELECT COUNT(*) FROM referrals GROUP BY {', '.join(cols)}")]

    sizes = groups(QUASI_IDENTIFIERS)
    total = sum(sizes)
    unique = sum(1 for n in sizes if n == 1)
    wide = groups(QUASI_IDENTIFIERS + INTERVALS)
    return {
        "quasi_identifiers": ",".join(QUASI_IDENTIFIERS),
        "k_min": str(min(sizes, default=0)),
        "unique_rows": str(unique),
        "unique_share": f"{(unique / total if total else 0):.4f}",
        "unique_share_with_intervals": f"{(sum(1 for n in wide if n == 1) / total if total else 0):.4f}",
    }
