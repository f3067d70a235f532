"""Computing the return: run the measure views over the record-level tables, then suppress."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from navigator.domain.errors import StoreError
from navigator.domain.rounding import round_half_away
from navigator.services import access
from navigator.services.context import Ctx
from navigator.services.returns.definitions import MeasureDef, definitions, parse_month
from navigator.services.returns.records import build_record_tables, onward_count, partner_rows
from navigator.services.returns.results import (
    ALL,
    Computed,
    MonthlyReturn,
    PartnerRow,
    Progress,
    ReturnOptions,
    ReturnRow,
)
from navigator.services.returns.suppression import apply_suppression


def exact_value(m: MeasureDef, cases: int, total: int) -> Decimal | None:
    """count: the count. mean: round half away from zero of multiplier*total/cases at m.decimals."""
    if m.is_count:
        return Decimal(cases)
    if cases == 0:
        return None
    return round_half_away(total, cases, m.decimals, m.multiplier)


def compute(
    conn: sqlite3.Connection,
    month: str,
    options: ReturnOptions = ReturnOptions(),  # noqa: B008 - frozen
    *,
    journey_ids: dict[str, int] | None = None,
    places: dict[tuple[str, str], tuple[int, int]] | None = None,
) -> Computed:
    """Run the measure views in ``conn`` (built by build_record_tables) and apply suppression."""
    defs = definitions()
    by_name = {m.measure: m for m in defs.measures}
    places = places or {}
    lot_ids = {lot: ids[0] for (lot, _loc), ids in places.items()}
    rows = conn.execute(
        "SELECT month, lot, locality, measure, value, cases, total FROM monthly_return_derived "
        "ORDER BY lot_order, locality_order, position"
    ).fetchall()
    exact_rows = []
    for mon, lot, locality, measure, value, n_cases, total in rows:
        m = by_name[measure]
        exact = exact_value(m, n_cases, total)
        sql_value = None if value is None else float(value)
        if (exact is None) != (sql_value is None) or (exact is not None and float(exact) != sql_value):
            raise StoreError(
                f"The return's SQL and its definition disagree on {measure} ({lot}/{locality}); reinstall navigator."
            )
        if lot == ALL:
            place: tuple[int | None, int | None] = (None, None)
        elif locality == ALL:
            place = (lot_ids.get(lot), None)
        else:
            place = places.get((lot, locality), (lot_ids.get(lot), None))
        exact_rows.append(
            ReturnRow(mon, lot, locality, measure, exact, False, exact, n_cases, m.kind, m.decimals, place)
        )
    partners = [PartnerRow(*r) for r in partner_rows(conn)]
    published, published_partners = apply_suppression(exact_rows, partners, options)

    lots: dict[str, list[str]] = {}
    for lot, locality in conn.execute("SELECT lot, locality FROM locality ORDER BY lot_order, locality_order"):
        lots.setdefault(lot, []).append(locality)
    n_ref = conn.execute("SELECT COUNT(*) FROM referrals").fetchone()[0]
    n_onward = onward_count(conn)
    result = MonthlyReturn(
        month,
        options,
        tuple(published),
        tuple(published_partners),
        defs.names,
        tuple((lot, tuple(locs)) for lot, locs in lots.items()),
        n_ref,
        n_onward,
    )

    cases: dict[str, dict[int, int]] = {}
    where: dict[int, tuple[int, int]] = {}
    if journey_ids is not None:
        for measure, key, lot, locality, x in conn.execute(
            "SELECT measure, journey_key, lot, locality, x FROM measure_cases"
        ):
            jid = journey_ids[key]
            cases.setdefault(measure, {})
            cases[measure][jid] = cases[measure].get(jid, 0) + int(x)
            where[jid] = places[(lot, locality)]
    return Computed(result, cases, where)


def compute_for(
    ctx: Ctx,
    month: str,
    options: ReturnOptions = ReturnOptions(),  # noqa: B008 - frozen
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
            rs = build_record_tables(conn, s, ctx, month, progress=progress, steps=2, pseudonymise=False, in_sql=True)
        return compute(conn, month, options, journey_ids=rs.journey_ids if with_cases else None, places=rs.places)
    finally:
        conn.close()


def preview(ctx: Ctx, month: str, options: ReturnOptions | None = None) -> MonthlyReturn:
    """The month's return exactly as the export computes it (team leads and admins)."""
    return compute_for(ctx, month, options or ReturnOptions(), with_cases=False).result
