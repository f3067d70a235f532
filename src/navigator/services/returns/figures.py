"""The monthly return: measures defined once, in SQL, over pseudonymised record-level tables.

shared/spec/monthly-return.md is the contract. The measures live in
``db/measures/*.sql`` (found with ``navigator.store.paths.db_dir()``); each is a
view over the record-level tables ``referrals``, ``onward_referrals`` and
``calendar``. The same SQL

- computes the return for the preview screen (in a private in-memory SQLite
  database built for one call: not the store), and
- ships inside the export file as views, so a commissioner can re-derive every
  figure from the file alone.

Record-level tables for month M (``build_record_tables``): one row per journey or
onward referral that touches M (a date in M) or is open in it; pseudonymised
(HMAC-SHA256 under the install's ``pseudonym_secret``), age band instead of date
of birth, codes and names of reference data only - never names, dates of birth,
postcodes, NHS numbers, contact details or free text.

Suppression and rounding (``--suppress-under N``, ``--round-to K``) are applied
here in Python to the exact figures, exactly as the spec says, plus the same
secondary rule one level up (see ``apply_suppression``).

Sent returns: ``--final`` records a return in ``sent_return`` together with each
figure's cases (internal journey ids, kept in the store only), so ``drift`` can
say, figure by figure, which journeys' later edits (from the audit log) moved it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from sqlalchemy import String, and_, case, func, or_, select, type_coerce
from sqlmodel import Session

from navigator import __version__
from navigator.domain.dates import age_on
from navigator.domain.errors import DomainError, NotFound, StoreError
from navigator.services import access, audit
from navigator.services.context import Ctx, get_setting
from navigator.store.models import (
    AuditEvent,
    Client,
    Journey,
    Locality,
    Lot,
    Measurement,
    OnwardReferral,
    Partner,
    Programme,
    ReferralSource,
    SentReturn,
)
from navigator.store.paths import db_dir

DEFINITIONS_VERSION = "1"
ALL = "ALL"
Progress = Callable[[str, int, int], None]  # (what is happening, steps done, steps in all)

AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 16, "under 17"),
    (17, 24, "17-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, 74, "65-74"),
    (75, None, "75+"),
)


# ---------------------------------------------------------------- the definitions (db/measures)


@dataclass(frozen=True)
class MeasureDef:
    position: int
    measure: str
    kind: str  # 'count' or 'mean' (means and percentages)
    decimals: int
    multiplier: int
    definition: str
    view: str
    sql: str

    @property
    def scale(self) -> int:
        return 10**self.decimals

    @property
    def is_count(self) -> bool:
        return self.kind == "count"


@dataclass(frozen=True)
class Definitions:
    schema: str
    base: tuple[tuple[str, str], ...]  # (view, sql)
    measures: tuple[MeasureDef, ...]
    rollups: tuple[tuple[str, str], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.measure for m in self.measures)

    def get(self, measure: str) -> MeasureDef:
        for m in self.measures:
            if m.measure == measure:
                return m
        raise KeyError(measure)

    def cases_view_sql(self) -> str:
        """The union of every measure's cases: (measure, journey_key, lot, locality, x)."""
        parts = [f"SELECT '{m.measure}' AS measure, journey_key, lot, locality, x FROM {m.view}" for m in self.measures]
        return (
            "-- view: measure_cases\n-- One row per case of each measure (generated from the measure views).\n"
            "CREATE VIEW measure_cases AS\n" + "\nUNION ALL\n".join(parts) + ";\n"
        )


_HEADER = re.compile(r"^--\s*([a-z_]+):\s*(.*?)\s*$")


def _header(sql: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in sql.splitlines():
        if not line.startswith("--"):
            if line.strip():
                break
            continue
        m = _HEADER.match(line)
        if m and m.group(1) not in out:
            out[m.group(1)] = m.group(2)
    return out


def measures_dir() -> Path:
    return db_dir() / "measures"


@lru_cache(maxsize=4)
def _load(folder: str) -> Definitions:
    path = Path(folder)
    files = sorted(path.glob("*.sql"))
    if not files:
        raise StoreError(f"The return's definitions are missing ({path}); reinstall navigator.")
    schema, base, measures, rollups = [], [], [], []
    for f in files:
        sql = f.read_text(encoding="utf-8")
        head = _header(sql)
        if "measure" in head:
            name = head["measure"]
            measures.append(
                MeasureDef(
                    position=len(measures) + 1,
                    measure=name,
                    kind=head.get("kind", "count"),
                    decimals=int(head.get("decimals", "0")),
                    multiplier=int(head.get("multiplier", "1")),
                    definition=head.get("definition", ""),
                    view=f"measure_{name}",
                    sql=sql,
                )
            )
        elif head.get("part") == "schema":
            schema.append(sql)
        elif head.get("part") == "rollup":
            rollups.append((head.get("view", f.stem), sql))
        else:
            base.append((head.get("view", f.stem), sql))
    return Definitions("\n".join(schema), tuple(base), tuple(measures), tuple(rollups))


def definitions() -> Definitions:
    return _load(str(measures_dir()))


# ---------------------------------------------------------------- months

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str | None) -> str:
    """'YYYY-MM' -> 'YYYY-MM' (checked); DomainError with what to type otherwise."""
    m = _MONTH.match((text or "").strip())
    if not m or not (1 <= int(m.group(2)) <= 12) or int(m.group(1)) < 1900:
        raise DomainError(f"Give the month as YYYY-MM (for example 2026-10), not '{text}'.", field="month")
    return m.group(0)


def month_bounds(month: str) -> tuple[date, date]:
    y, mo = int(month[:4]), int(month[5:7])
    first = date(y, mo, 1)
    nxt = date(y + 1, 1, 1) if mo == 12 else date(y, mo + 1, 1)
    return first, nxt - timedelta(days=1)


def previous_month(month: str) -> str:
    y, mo = int(month[:4]), int(month[5:7])
    return f"{y - 1}-12" if mo == 1 else f"{y}-{mo - 1:02d}"


def same_month_last_year(month: str) -> str:
    return f"{int(month[:4]) - 1}-{month[5:7]}"


def month_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ReturnOptions:
    suppress_under: int | None = None
    round_to: int | None = None

    def __post_init__(self) -> None:
        for name in ("suppress_under", "round_to"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise DomainError(f"--{name.replace('_', '-')} must be a whole number of 1 or more.", field=name)

    @property
    def any(self) -> bool:
        return bool(self.suppress_under and self.suppress_under > 1) or bool(self.round_to and self.round_to > 1)

    def as_dict(self) -> dict:
        return {"suppress_under": self.suppress_under, "round_to": self.round_to}

    @classmethod
    def from_dict(cls, data: dict | None) -> ReturnOptions:
        data = data or {}
        return cls(data.get("suppress_under"), data.get("round_to"))


@dataclass(frozen=True)
class ReturnRow:
    month: str
    lot: str
    locality: str
    measure: str
    value: Decimal | None  # the published figure (after suppression/rounding); None if blank
    suppressed: bool
    exact: Decimal | None  # the figure before suppression and rounding
    cases: int  # count measures: the count; means/percentages: how many cases were averaged
    kind: str = "count"
    decimals: int = 0

    @property
    def level(self) -> str:
        if self.lot == ALL:
            return "service"
        return "lot" if self.locality == ALL else "locality"

    @property
    def text(self) -> str:
        """The figure as people read it: '12', '3.5', '-0.25', blank for none, '*' if suppressed."""
        if self.suppressed:
            return "*"
        return format_value(self.value, self.kind, self.decimals)


def format_value(value: Decimal | None, kind: str = "count", decimals: int = 0) -> str:
    if value is None:
        return ""
    if kind == "count":
        return str(int(value))
    return str(value.quantize(Decimal(1).scaleb(-decimals)))


@dataclass(frozen=True)
class PartnerRow:
    month: str
    partner: str
    programme: str
    made: int | None
    started: int | None
    completed: int | None
    withdrew: int | None


@dataclass(frozen=True)
class MonthlyReturn:
    month: str
    options: ReturnOptions
    rows: tuple[ReturnRow, ...]
    onward_by_partner: tuple[PartnerRow, ...]
    measures: tuple[str, ...]
    lots: tuple[tuple[str, tuple[str, ...]], ...]  # (lot, its localities) in report order
    referrals: int = 0  # record-level rows behind the return
    onward_referrals: int = 0
    _index: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    def row(self, measure: str, lot: str = ALL, locality: str = ALL) -> ReturnRow:
        if not self._index:
            self._index.update({(r.measure, r.lot, r.locality): r for r in self.rows})
        try:
            return self._index[(measure, lot, locality)]
        except KeyError:
            raise KeyError(f"no figure for {measure} / {lot} / {locality}") from None

    def value(self, measure: str, lot: str = ALL, locality: str = ALL) -> Decimal | None:
        return self.row(measure, lot, locality).value

    def lot_of(self, locality: str) -> str:
        for lot, locs in self.lots:
            if locality in locs:
                return lot
        raise KeyError(locality)

    @property
    def suppressed_count(self) -> int:
        return sum(1 for r in self.rows if r.suppressed)


@dataclass(frozen=True)
class Computed:
    """A return plus what drift needs: each measure's cases by internal journey id."""

    result: MonthlyReturn
    cases: dict[str, dict[int, int]]  # measure -> {journey id: x}
    places: dict[int, tuple[str, str]]  # journey id -> (lot, locality)


# ---------------------------------------------------------------- building the record-level tables


def pseudonym(secret: str, kind: str, ident: int) -> str:
    """HMAC-SHA256 (hex) of an internal id under the install's secret: stable, not reversible without it.

    A person's pseudonym is the HMAC of their id; journeys and onward referrals
    are keyed by the HMAC of 'journey:<id>' / 'onward:<id>'.
    """
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


def age_band(dob: date | str, on: date | str) -> str:
    """The age band on a date (age in whole years, as on a birthday)."""
    if isinstance(dob, str) and isinstance(on, str):
        age = int(on[:4]) - int(dob[:4]) - (on[5:10] < dob[5:10])
    else:
        age = age_on(_as_date(dob), _as_date(on))
    for lo, hi, label in AGE_BANDS:
        if age >= lo and (hi is None or age <= hi):
            return label
    return AGE_BANDS[0][2]


def _iso(v) -> str | None:
    if v is None or type(v) is str:
        return v
    if type(v) is date:
        return v.isoformat()
    if isinstance(v, str):
        return v[:10]
    if isinstance(v, datetime):
        return v.date().isoformat()
    return v.isoformat()


def _as_date(v) -> date | None:
    if v is None or (isinstance(v, date) and not isinstance(v, datetime)):
        return v
    if isinstance(v, datetime):
        return v.date()
    return date.fromisoformat(str(v)[:10])


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
    referrals: int
    onward: int
    calendar_days: int


def _raw(col):
    """A date column as the driver gives it (ISO text on SQLite): no per-row parsing."""
    return type_coerce(col, String)


def _in(col, first: date, last: date):
    return col.between(first, last)


def _journey_rows(s: Session, first: date, last: date):
    rejected_on = case((Journey.decision == "rejected", Journey.decision_date), else_=None)
    closed_on = func.coalesce(Journey.end_date, rejected_on)

    def metric(point: str, newest: bool):
        order = (
            (Measurement.on_date.desc(), Measurement.id.desc())
            if newest
            else (Measurement.on_date.asc(), Measurement.id.asc())
        )
        return (
            select(Measurement.metric_x100)
            .where(
                Measurement.journey_id == Journey.id,
                Measurement.kind == "swemwbs",
                Measurement.point == point,
                Measurement.metric_x100.is_not(None),
            )
            .order_by(*order)
            .limit(1)
            .scalar_subquery()
        )

    q = (
        select(
            Journey.id,
            Journey.client_id,
            Journey.locality_id,
            _raw(Client.date_of_birth),
            Client.imd_decile,
            ReferralSource.code,
            _raw(Journey.received_date),
            _raw(Journey.first_contact_date),
            Journey.decision,
            _raw(Journey.decision_date),
            Journey.reject_reason,
            _raw(Journey.start_date),
            _raw(Journey.end_date),
            Journey.end_reason,
            metric("start", False).label("sw_start"),
            metric("end", True).label("sw_end"),
        )
        .join(Client, Client.id == Journey.client_id)
        .join(ReferralSource, ReferralSource.id == Journey.source_id)
        .where(
            or_(
                and_(Journey.received_date <= last, or_(closed_on.is_(None), closed_on >= first)),
                _in(Journey.first_contact_date, first, last),
                _in(Journey.decision_date, first, last),
                _in(Journey.start_date, first, last),
                _in(Journey.end_date, first, last),
            )
        )
        .order_by(Journey.id)
    )
    return s.execute(q).all()


def _onward_rows(s: Session, first: date, last: date):
    q = (
        select(
            OnwardReferral.id,
            OnwardReferral.journey_id,
            Journey.client_id,
            Journey.locality_id,
            Partner.name,
            Programme.name,
            _raw(OnwardReferral.referral_date),
            OnwardReferral.status,
            _raw(OnwardReferral.start_date),
            _raw(OnwardReferral.end_date),
        )
        .join(Journey, Journey.id == OnwardReferral.journey_id)
        .join(Programme, Programme.id == OnwardReferral.programme_id)
        .join(Partner, Partner.id == Programme.partner_id)
        .where(
            or_(
                and_(
                    OnwardReferral.referral_date <= last,
                    or_(OnwardReferral.end_date.is_(None), OnwardReferral.end_date >= first),
                ),
                _in(OnwardReferral.start_date, first, last),
                _in(OnwardReferral.end_date, first, last),
            )
        )
        .order_by(OnwardReferral.id)
    )
    return s.execute(q).all()


def _places(s: Session) -> tuple[dict[int, tuple[str, str]], list[tuple[int, str, str, bool]]]:
    """locality id -> (lot code, locality name); and every locality (id, lot, name, reported)."""
    rows = s.execute(
        select(Locality.id, Locality.name, Locality.active, Lot.id, Lot.code, Lot.active)
        .join(Lot, Lot.id == Locality.lot_id)
        .order_by(Lot.id, Locality.id)
    ).all()
    places = {r[0]: (r[4], r[1]) for r in rows}
    every = [(r[0], r[4], r[1], bool(r[2] and r[5])) for r in rows]
    return places, every


def _exec_script(conn: sqlite3.Connection, sql: str) -> None:
    # executescript commits first; the build runs in autocommit with explicit BEGIN/COMMIT.
    conn.executescript(sql)


def build_record_tables(
    conn: sqlite3.Connection,
    s: Session,
    ctx: Ctx,
    month: str,
    *,
    meta: dict[str, str] | None = None,
    progress: Progress | None = None,
    steps: int = 6,
) -> RecordSet:
    """Create the record-level tables, calendar, meta and the measure views in ``conn``.

    ``conn`` is a private SQLite database (in memory for a preview, the new
    export file for an export): never the store.
    """
    first, last = month_bounds(month)
    pseudo = Pseudonymiser(_secret(s))

    def step(what: str, n: int) -> None:
        if progress:
            progress(what, n, steps)

    create_schema(conn, month, meta)
    conn.execute("BEGIN")

    step("Reading journeys", 0)
    places, every = _places(s)
    journeys = _journey_rows(s, first, last)
    journey_ids: dict[str, int] = {}
    used_localities: set[int] = set()
    ref_rows = []
    lo_date, hi_date = first.isoformat(), last.isoformat()
    for (
        jid,
        cid,
        loc_id,
        dob,
        imd,
        source,
        received,
        first_contact,
        decision,
        decision_date,
        reject_reason,
        start,
        end,
        end_reason,
        sw_start,
        sw_end,
    ) in journeys:
        key = pseudo("journey", jid)
        journey_ids[key] = jid
        used_localities.add(loc_id)
        lot, locality = places[loc_id]
        rec, fc, dd, st, en = _iso(received), _iso(first_contact), _iso(decision_date), _iso(start), _iso(end)
        ref_rows.append(
            (
                key,
                pseudo("client", cid),
                lot,
                locality,
                age_band(_iso(dob), rec),
                source,
                imd,
                rec,
                fc,
                decision,
                dd,
                reject_reason,
                st,
                en,
                end_reason,
                sw_start,
                sw_end,
            )
        )
        known = [x for x in (rec, fc, dd, st, en) if x is not None]
        earliest, latest = min(known), max(known)
        if earliest < lo_date:
            lo_date = earliest
        if latest > hi_date:
            hi_date = latest
    conn.executemany("INSERT INTO referrals VALUES (" + ",".join("?" * 17) + ")", ref_rows)

    step("Reading onward referrals", 1)
    onward_rows = []
    for oid, jid, cid, loc_id, partner, programme, ref_date, status, start, end in _onward_rows(s, first, last):
        jkey = pseudo("journey", jid)
        journey_ids.setdefault(jkey, jid)
        used_localities.add(loc_id)
        lot, locality = places[loc_id]
        rd, st, en = _iso(ref_date), _iso(start), _iso(end)
        onward_rows.append(
            (pseudo("onward", oid), jkey, pseudo("client", cid), lot, locality, partner, programme, rd, status, st, en)
        )
        known = [x for x in (rd, st, en) if x is not None]
        lo_date = min(lo_date, *known)
        hi_date = max(hi_date, *known)
    conn.executemany("INSERT INTO onward_referrals VALUES (" + ",".join("?" * 11) + ")", onward_rows)

    lot_order: dict[str, int] = {}
    loc_rows = []
    for loc_id, lot, name, reported in every:
        if not reported and loc_id not in used_localities:
            continue
        lot_order.setdefault(lot, len(lot_order) + 1)
        loc_rows.append((lot, name, lot_order[lot], len(loc_rows) + 1))
    conn.executemany("INSERT INTO locality VALUES (?, ?, ?, ?)", loc_rows)

    step("Building the calendar", 2)
    cal = ctx.calendar(s)
    cal_rows = [
        (d.isoformat(), 1 if w else 0) for d, w in cal.days(date.fromisoformat(lo_date), date.fromisoformat(hi_date))
    ]
    conn.executemany("INSERT INTO calendar VALUES (?, ?)", cal_rows)
    conn.execute("COMMIT")
    install_measures(conn)
    return RecordSet(journey_ids, len(ref_rows), len(onward_rows), len(cal_rows))


def create_schema(conn: sqlite3.Connection, month: str, meta: dict[str, str] | None = None) -> None:
    """The empty record-level tables (db/measures/00_schema.sql) and meta, in autocommit mode."""
    conn.isolation_level = None
    _exec_script(conn, definitions().schema)
    rows = {"month": month, "definitions_version": DEFINITIONS_VERSION, "app_version": __version__}
    rows.update(meta or {})
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", sorted(rows.items()))
    conn.execute("COMMIT")


def install_measures(conn: sqlite3.Connection) -> None:
    """measure_definition and every view of db/measures, over the filled record-level tables."""
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
    for _view, sql in defs.base:
        _exec_script(conn, sql)
    for m in defs.measures:
        _exec_script(conn, m.sql)
    _exec_script(conn, defs.cases_view_sql())
    for _view, sql in defs.rollups:
        _exec_script(conn, sql)


# ---------------------------------------------------------------- computing


def exact_value(m: MeasureDef, cases: int, total: int) -> Decimal | None:
    """count: the count. mean: round half away from zero of multiplier*total/cases at m.decimals."""
    if m.is_count:
        return Decimal(cases)
    if cases == 0:
        return None
    a = total * m.multiplier
    q = (2 * abs(a) + cases) // (2 * cases)
    return Decimal(-q if a < 0 else q).scaleb(-m.decimals)


def compute(
    conn: sqlite3.Connection,
    month: str,
    options: ReturnOptions = ReturnOptions(),
    *,
    journey_ids: dict[str, int] | None = None,
) -> Computed:
    """Run the measure views in ``conn`` (built by build_record_tables) and apply suppression."""
    defs = definitions()
    by_name = {m.measure: m for m in defs.measures}
    rows = conn.execute(
        "SELECT month, lot, locality, measure, value, cases, total FROM monthly_return_derived "
        "ORDER BY lot_order, locality_order, position"
    ).fetchall()
    exact_rows = []
    for mon, lot, locality, measure, value, cases, total in rows:
        m = by_name[measure]
        exact = exact_value(m, cases, total)
        sql_value = None if value is None else float(value)
        if (exact is None) != (sql_value is None) or (exact is not None and float(exact) != sql_value):
            raise StoreError(
                f"The return's SQL and its definition disagree on {measure} ({lot}/{locality}); reinstall navigator."
            )
        exact_rows.append(ReturnRow(mon, lot, locality, measure, exact, False, exact, cases, m.kind, m.decimals))
    published = apply_suppression(exact_rows, options)

    partners = tuple(
        PartnerRow(*r)
        for r in conn.execute(
            "SELECT month, partner, programme, made, started, completed, withdrew FROM onward_by_partner_derived "
            "ORDER BY partner, programme"
        ).fetchall()
    )
    partners = suppress_partner_rows(partners, options)

    lots: dict[str, list[str]] = {}
    for lot, locality in conn.execute("SELECT lot, locality FROM locality ORDER BY lot_order, locality_order"):
        lots.setdefault(lot, []).append(locality)
    n_ref = conn.execute("SELECT COUNT(*) FROM referrals").fetchone()[0]
    n_onward = conn.execute("SELECT COUNT(*) FROM onward_referrals").fetchone()[0]
    result = MonthlyReturn(
        month,
        options,
        tuple(published),
        partners,
        defs.names,
        tuple((lot, tuple(locs)) for lot, locs in lots.items()),
        n_ref,
        n_onward,
    )

    cases: dict[str, dict[int, int]] = {}
    places: dict[int, tuple[str, str]] = {}
    if journey_ids is not None:
        for measure, key, lot, locality, x in conn.execute(
            "SELECT measure, journey_key, lot, locality, x FROM measure_cases"
        ):
            jid = journey_ids[key]
            cases.setdefault(measure, {})
            cases[measure][jid] = cases[measure].get(jid, 0) + int(x)
            places[jid] = (lot, locality)
    return Computed(result, cases, places)


def _round_to(v: int, k: int) -> int:
    return ((2 * v + k) // (2 * k)) * k  # nearest multiple of k, halves up (v >= 0)


def apply_suppression(rows: Sequence[ReturnRow], options: ReturnOptions) -> list[ReturnRow]:
    """Small-number suppression and rounding, as the spec says.

    - every count with 1 <= v < N is blanked; every mean/percentage over 1..N-1 cases too;
      zero is never suppressed;
    - secondary: in each lot and count measure, where exactly one locality count is
      blanked, the next-smallest non-zero locality count is blanked too (so the lot
      total cannot reveal it). The same rule is applied one level up (lots within the
      service), and a blanked lot with no blanked locality gets its smallest non-zero
      locality blanked (else the localities add up to it); repeated until nothing changes;
    - --round-to K rounds every unsuppressed count to the nearest K (halves up).
    Without options, the figures are returned unchanged.
    """
    rows = list(rows)
    n = options.suppress_under or 0
    k = options.round_to or 0
    if n <= 1 and k <= 1:
        return rows
    blank: set[int] = set()
    if n > 1:
        for i, r in enumerate(rows):
            if r.kind == "count":
                if r.exact is not None and 1 <= r.exact < n:
                    blank.add(i)
            elif 1 <= r.cases < n:
                blank.add(i)
        _secondary(rows, blank)
    out = []
    for i, r in enumerate(rows):
        if i in blank:
            out.append(_replace(r, value=None, suppressed=True))
        elif r.kind == "count" and k > 1 and r.exact is not None:
            out.append(_replace(r, value=Decimal(_round_to(int(r.exact), k))))
        else:
            out.append(r)
    return out


def _replace(r: ReturnRow, **kw) -> ReturnRow:
    return replace(r, **kw)


def _secondary(rows: list[ReturnRow], blank: set[int]) -> None:
    groups: dict[tuple[str, str], list[int]] = {}  # (measure, lot) -> locality rows
    lots: dict[str, list[int]] = {}  # measure -> lot rows
    lot_row: dict[tuple[str, str], int] = {}
    for i, r in enumerate(rows):
        if r.kind != "count":
            continue
        if r.level == "locality":
            groups.setdefault((r.measure, r.lot), []).append(i)
        elif r.level == "lot":
            lots.setdefault(r.measure, []).append(i)
            lot_row[(r.measure, r.lot)] = i

    def smallest_open(cands: list[int]) -> int | None:
        open_ = [i for i in cands if i not in blank and rows[i].exact]
        if not open_:
            return None
        return min(open_, key=lambda i: (rows[i].exact, cands.index(i)))

    changed = True
    while changed:
        changed = False
        for members in list(groups.values()) + list(lots.values()):
            if sum(1 for i in members if i in blank) == 1:
                j = smallest_open(members)
                if j is not None:
                    blank.add(j)
                    changed = True
        for (measure, lot), i in lot_row.items():
            members = groups.get((measure, lot), [])
            if i in blank and members and not any(j in blank for j in members):
                j = smallest_open(members)
                if j is not None:
                    blank.add(j)
                    changed = True


def suppress_partner_rows(rows: Sequence[PartnerRow], options: ReturnOptions) -> tuple[PartnerRow, ...]:
    """The same rules for onward_by_partner (no `suppressed` column there: a blank is NULL).

    In each column, counts 1..N-1 are blanked; where exactly one is, the next-smallest
    non-zero count in that column is blanked too; then unblanked counts are rounded to K.
    """
    n = options.suppress_under or 0
    k = options.round_to or 0
    if n <= 1 and k <= 1:
        return tuple(rows)
    cols = ("made", "started", "completed", "withdrew")
    values = [{c: getattr(r, c) for c in cols} for r in rows]
    for c in cols:
        blank = {i for i, v in enumerate(values) if n > 1 and v[c] is not None and 1 <= v[c] < n}
        if len(blank) == 1:
            open_ = [i for i, v in enumerate(values) if i not in blank and v[c]]
            if open_:
                blank.add(min(open_, key=lambda i: (values[i][c], i)))
        for i, v in enumerate(values):
            if i in blank:
                v[c] = None
            elif k > 1 and v[c] is not None:
                v[c] = _round_to(v[c], k)
    return tuple(replace(r, **v) for r, v in zip(rows, values))


def compute_for(
    ctx: Ctx,
    month: str,
    options: ReturnOptions = ReturnOptions(),
    *,
    progress: Progress | None = None,
    with_cases: bool = True,
) -> Computed:
    """Build the record-level tables in a private in-memory database and compute the return."""
    month = parse_month(month)
    conn = sqlite3.connect(":memory:")
    try:
        with ctx.read() as s:
            access.require_team_lead(ctx.actor(s))
            rs = build_record_tables(conn, s, ctx, month, progress=progress, steps=2)
        return compute(conn, month, options, journey_ids=rs.journey_ids if with_cases else None)
    finally:
        conn.close()


def preview(ctx: Ctx, month: str, options: ReturnOptions | None = None) -> MonthlyReturn:
    """The month's return exactly as the export computes it (team leads and admins)."""
    return compute_for(ctx, month, options or ReturnOptions(), with_cases=False).result


# ---------------------------------------------------------------- sent returns


@dataclass(frozen=True)
class SentReturnInfo:
    id: int
    month: str
    sent_at: datetime
    username: str
    options: ReturnOptions


def _figures_json(computed: Computed, audit_id: int) -> str:
    r = computed.result
    return json.dumps(
        {
            "definitions_version": DEFINITIONS_VERSION,
            "rows": [
                {
                    "lot": x.lot,
                    "locality": x.locality,
                    "measure": x.measure,
                    "value": None if x.value is None else str(x.value),
                    "suppressed": int(x.suppressed),
                    "exact": None if x.exact is None else str(x.exact),
                    "cases": x.cases,
                }
                for x in r.rows
            ],
            "onward_by_partner": [
                {
                    "partner": p.partner,
                    "programme": p.programme,
                    "made": p.made,
                    "started": p.started,
                    "completed": p.completed,
                    "withdrew": p.withdrew,
                }
                for p in r.onward_by_partner
            ],
            "cases": {m: sorted([jid, x] for jid, x in c.items()) for m, c in sorted(computed.cases.items())},
            "places": {str(jid): list(p) for jid, p in sorted(computed.places.items())},
            "audit_id": audit_id,
        },
        sort_keys=True,
    )


def record_sent(s: Session, ctx: Ctx, computed: Computed, *, file_name: str | None = None) -> int:
    """Record a return as sent (inside the caller's write transaction), with an audit event."""
    r = computed.result
    sent = SentReturn(
        month=r.month,
        sent_at=ctx.now(),
        username=ctx.username,
        options=json.dumps(r.options.as_dict(), sort_keys=True),
        figures="{}",
    )
    s.add(sent)
    s.flush()
    audit.record(
        s,
        ctx,
        "return.final",
        "sent_return",
        sent.id,
        after={"month": r.month, "options": r.options.as_dict(), "figures": len(r.rows), "file": file_name},
    )
    audit_id = s.execute(select(func.max(AuditEvent.id))).scalar_one()
    sent.figures = _figures_json(computed, audit_id)
    s.add(sent)
    s.flush()
    return sent.id


def _info(row: SentReturn) -> SentReturnInfo:
    return SentReturnInfo(
        row.id, row.month, row.sent_at, row.username, ReturnOptions.from_dict(json.loads(row.options or "{}"))
    )


def sent_returns(ctx: Ctx) -> tuple[SentReturnInfo, ...]:
    """Every return recorded as sent, newest month first."""
    with ctx.read() as s:
        access.require_team_lead(ctx.actor(s))
        rows = s.execute(select(SentReturn).order_by(SentReturn.month.desc(), SentReturn.id.desc())).scalars()
        return tuple(_info(r) for r in rows)


def latest_sent(ctx: Ctx, month: str) -> SentReturnInfo | None:
    """The last return sent for that month, if any."""
    month = parse_month(month)
    with ctx.read() as s:
        access.require_team_lead(ctx.actor(s))
        row = (
            s.execute(select(SentReturn).where(SentReturn.month == month).order_by(SentReturn.id.desc()).limit(1))
            .scalars()
            .first()
        )
        return _info(row) if row else None


@dataclass(frozen=True)
class JourneyEdit:
    at: datetime
    username: str
    acting_as: str | None
    action: str
    what: str  # the fields that changed (values of codes and dates; free text shown only as "(text)")


@dataclass(frozen=True)
class MovedJourney:
    journey_id: int
    client_ref: str
    sent_x: int | None  # its part in the figure when sent (None: not counted then)
    today_x: int | None  # and today
    edits: tuple[JourneyEdit, ...]  # audit events for it written after the return was sent


@dataclass(frozen=True)
class FigureDrift:
    lot: str
    locality: str
    measure: str
    kind: str
    decimals: int
    sent_value: Decimal | None
    sent_suppressed: bool
    sent_exact: Decimal | None
    today_value: Decimal | None
    today_suppressed: bool
    today_exact: Decimal | None
    journeys: tuple[MovedJourney, ...] = ()

    @property
    def moved(self) -> bool:
        return (
            self.sent_exact != self.today_exact
            or self.sent_value != self.today_value
            or self.sent_suppressed != self.today_suppressed
        )

    @property
    def level(self) -> str:
        if self.lot == ALL:
            return "service"
        return "lot" if self.locality == ALL else "locality"

    @property
    def sent_text(self) -> str:
        return "*" if self.sent_suppressed else format_value(self.sent_value, self.kind, self.decimals)

    @property
    def today_text(self) -> str:
        return "*" if self.today_suppressed else format_value(self.today_value, self.kind, self.decimals)


@dataclass(frozen=True)
class Drift:
    sent: SentReturnInfo
    figures: tuple[FigureDrift, ...]

    @property
    def moved(self) -> tuple[FigureDrift, ...]:
        return tuple(f for f in self.figures if f.moved)


FREE_TEXT_KEYS = frozenset(
    {
        "note",
        "reason",
        "referrer",
        "outcome_evidence",
        "evidence",
        "statement",
        "first_name",
        "last_name",
        "address",
        "phone",
        "email",
        "postcode",
        "nhs_number",
        "date_of_birth",
    }
)


def _summarise_change(before: str | None, after: str | None) -> str:
    try:
        b = json.loads(before) if before else {}
        a = json.loads(after) if after else {}
    except ValueError:
        return ""
    if not isinstance(b, dict) or not isinstance(a, dict):
        return ""
    parts = []
    for key in sorted(set(b) | set(a)):
        old, new = b.get(key), a.get(key)
        if key in FREE_TEXT_KEYS:
            parts.append(f"{key} changed")
        elif isinstance(new, dict):
            inner = ", ".join(
                f"{k}={v}"
                for k, v in sorted(new.items())
                if k not in FREE_TEXT_KEYS and not isinstance(v, (dict, list)) and v is not None
            )
            parts.append(f"{key} ({inner})" if inner else key)
        elif key in b:
            parts.append(f"{key}: {old} -> {new}")
        else:
            parts.append(f"{key}: {new}")
    return "; ".join(parts)


def _parse_dec(v) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def drift(ctx: Ctx, sent_id: int) -> Drift:
    """What was sent vs what the same definitions (and options) give today, figure by figure,
    with the journeys whose edits moved each moved figure (audit events written after sending)."""
    with ctx.read() as s:
        access.require_team_lead(ctx.actor(s))
        row = s.get(SentReturn, sent_id)
        if row is None:
            raise NotFound(f"There is no sent return {sent_id}. `navigator returns` lists them.")
        info = _info(row)
        figures = json.loads(row.figures or "{}")
    today = compute_for(ctx, info.month, info.options)
    defs = definitions()
    by_name = {m.measure: m for m in defs.measures}
    sent_rows = {(r["measure"], r["lot"], r["locality"]): r for r in figures.get("rows", [])}
    sent_cases = {m: {int(j): int(x) for j, x in c} for m, c in figures.get("cases", {}).items()}
    sent_places = {int(j): tuple(p) for j, p in figures.get("places", {}).items()}
    audit_id = int(figures.get("audit_id") or 0)

    out: list[FigureDrift] = []
    wanted: set[int] = set()
    pending: list[tuple[FigureDrift, list[tuple[int, int | None, int | None]]]] = []
    # the figures that were sent (a locality added since was not sent, so it cannot have moved)
    keys = [(r.measure, r.lot, r.locality) for r in today.result.rows if (r.measure, r.lot, r.locality) in sent_rows]
    keys += [k for k in sent_rows if k not in set(keys)]
    for measure, lot, locality in keys:
        m = by_name.get(measure)
        kind, decimals = (m.kind, m.decimals) if m else ("count", 0)
        sr = sent_rows.get((measure, lot, locality))
        try:
            tr = today.result.row(measure, lot, locality)
        except KeyError:
            tr = None
        fig = FigureDrift(
            lot,
            locality,
            measure,
            kind,
            decimals,
            _parse_dec(sr["value"]) if sr else None,
            bool(sr["suppressed"]) if sr else False,
            _parse_dec(sr["exact"]) if sr else None,
            tr.value if tr else None,
            tr.suppressed if tr else False,
            tr.exact if tr else None,
        )
        if not fig.moved:
            out.append(fig)
            continue

        def in_scope(place, lot=lot, locality=locality) -> bool:
            if place is None:
                return False
            return lot == ALL or (place[0] == lot and (locality == ALL or place[1] == locality))

        before = {j: x for j, x in sent_cases.get(measure, {}).items() if in_scope(sent_places.get(j))}
        now = {j: x for j, x in today.cases.get(measure, {}).items() if in_scope(today.places.get(j))}
        changed = [
            (j, before.get(j), now.get(j)) for j in sorted(set(before) | set(now)) if before.get(j) != now.get(j)
        ]
        wanted.update(j for j, _, _ in changed)
        pending.append((fig, changed))
        out.append(fig)

    if not pending:
        return Drift(info, tuple(out))
    refs: dict[int, tuple[str, int]] = {}
    edits: dict[int, list[JourneyEdit]] = {}
    with ctx.read() as s:
        ids = sorted(wanted)
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            for jid, ref, cid in s.execute(
                select(Journey.id, Client.client_ref, Client.id)
                .join(Client, Client.id == Journey.client_id)
                .where(Journey.id.in_(chunk))
            ).all():
                refs[jid] = (ref, cid)
        by_client: dict[int, list[int]] = {}
        for jid, (_ref, cid) in refs.items():
            by_client.setdefault(cid, []).append(jid)
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            for ev in s.execute(
                select(AuditEvent)
                .where(AuditEvent.id > audit_id, AuditEvent.journey_id.in_(chunk))
                .order_by(AuditEvent.id)
            ).scalars():
                edits.setdefault(ev.journey_id, []).append(_edit(ev))
        clients = sorted(by_client)
        for chunk in (clients[i : i + 500] for i in range(0, len(clients), 500)):
            for ev in s.execute(
                select(AuditEvent)
                .where(AuditEvent.id > audit_id, AuditEvent.journey_id.is_(None), AuditEvent.client_id.in_(chunk))
                .order_by(AuditEvent.id)
            ).scalars():
                for jid in by_client[ev.client_id]:
                    edits.setdefault(jid, []).append(_edit(ev))
    final: list[FigureDrift] = []
    changed_for = {id(fig): changed for fig, changed in pending}

    for fig in out:
        changed = changed_for.get(id(fig))
        if changed is None:
            final.append(fig)
            continue
        journeys = tuple(
            MovedJourney(j, refs.get(j, ("?", 0))[0], sx, tx, tuple(sorted(edits.get(j, []), key=lambda e: e.at)))
            for j, sx, tx in changed
        )
        final.append(replace(fig, journeys=journeys))
    return Drift(info, tuple(final))


def _edit(ev: AuditEvent) -> JourneyEdit:
    return JourneyEdit(ev.at, ev.username, ev.acting_as, ev.action, _summarise_change(ev.before, ev.after))


def moved_figures(ctx: Ctx, month: str) -> int | None:
    """For the preview: how many figures of the last return sent for the month have moved (None: not sent)."""
    info = latest_sent(ctx, month)
    if info is None:
        return None
    return len(drift(ctx, info.id).moved)


def iter_measure_sql() -> Iterable[tuple[str, str]]:
    """(view name, SQL) of every definition shipped in the export, in creation order."""
    defs = definitions()
    yield from defs.base
    for m in defs.measures:
        yield m.view, m.sql
    yield "measure_cases", defs.cases_view_sql()
    yield from defs.rollups
