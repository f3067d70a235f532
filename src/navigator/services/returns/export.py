"""`navigator export`: the monthly return as a new, standalone SQLite file (and optionally CSV).

Two products, named for what they are (docs/monthly-return.md, "Two products"):

- the **publication** (``PUBLICATION``): aggregates only: ``monthly_return(month,
  lot, locality, measure, value, suppressed)``, ``onward_by_partner(month, partner,
  programme, made, started, completed, withdrew)``, ``measure_definition`` (each
  measure's kind, rounding, definition and SQL, as text) and ``meta``. Suppressed
  and rounded as asked (services/returns/suppression.py). No record-level row and
  no view: nothing in it can recompute a blanked figure.
- the **record-level analysis file** (``ANALYSIS``): the pseudonymised ``referrals``
  and ``onward_referrals`` (only what the measures need: months, working-day
  intervals, IMD group), ``calendar``, ``locality``, the measure views
  (``monthly_return_derived`` re-derives every figure) and the same aggregate
  tables, never suppressed or rounded; ``meta`` says it is record-level, for use
  under a data-sharing agreement, how its pseudonyms are keyed (``linkage``) and
  its smallest group size (``k_min``) and share of unique rows (``unique_share``)
  on its quasi-identifiers.

Files are written to a temporary file beside the target (mode 0600) and moved
into place only when complete; an existing file is never overwritten unless
``force``. Exporting the same month twice from the same data gives identical
tables apart from ``meta.generated_at``.

CSV (``--csv``): ``monthly_return`` with the same columns, UTF-8 with a byte-order
mark (spreadsheets then read non-ASCII names right). Numbers stay numbers
(``-1.62`` is a number); only text cells that begin with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return get a single quote in front, so a spreadsheet cannot
read them as formulas.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from navigator import __version__
from navigator.domain.errors import AccessDenied, DomainError
from navigator.services import access, audit
from navigator.services.context import Ctx
from navigator.services.returns.compute import compute
from navigator.services.returns.definitions import DEFINITIONS_VERSION, parse_month
from navigator.services.returns.records import (
    RecordSet,
    build_record_tables,
    keep_lots,
    onward_count,
    privacy_stats,
    write_definitions,
)
from navigator.services.returns.results import MonthlyReturn, Progress, ReturnOptions
from navigator.services.returns.sent import record_sent

CSV_COLUMNS = ("month", "lot", "locality", "measure", "value", "suppressed")
DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
STEPS = 6
PUBLICATION = "publication"
ANALYSIS = "analysis"
PRODUCTS = (PUBLICATION, ANALYSIS)
PRODUCT_TEXT = {
    PUBLICATION: "publication: aggregates only, suppressed and rounded as stated in suppress_under and round_to",
    ANALYSIS: "record-level analysis file: pseudonymised rows, never suppressed or rounded; "
    "for use under a data-sharing agreement only, not for publication",
}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    csv_path: Path | None
    month: str
    result: MonthlyReturn
    referrals: int
    onward_referrals: int
    calendar_days: int
    sent_id: int | None
    product: str = PUBLICATION
    privacy: dict[str, str] | None = None  # the analysis file's k_min, unique_share, ...


def neutralise(cell: str) -> str:
    """A spreadsheet must not read a cell as a formula: prefix a quote to risky first characters."""
    if cell and cell[0] in DANGEROUS_FIRST:
        return "'" + cell
    return cell


def csv_text(result: MonthlyReturn) -> str:
    """monthly_return as CSV: text cells guarded, numbers written as numbers (no BOM here: see write_csv)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for r in result.rows:
        value = "" if r.suppressed or r.value is None else r.text
        w.writerow(
            [neutralise(r.month), neutralise(r.lot), neutralise(r.locality), neutralise(r.measure)]
            + [value, 1 if r.suppressed else 0]
        )
    return buf.getvalue()


def _check_target(path: Path, force: bool, what: str) -> None:
    if path.exists() and not force:
        raise DomainError(f"{path} already exists. Choose another file name, or add --force to replace it.", field=what)
    if path.exists() and path.is_dir():
        raise DomainError(f"{path} is a folder; give a file name.", field=what)
    if not path.parent.is_dir():
        raise DomainError(f"The folder {path.parent} does not exist.", field=what)


def _place(tmp: Path, target: Path, force: bool) -> None:
    """Move a finished temporary file into place; never clobber unless force."""
    if force:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # atomic, fails if the target appeared meanwhile
    except FileExistsError:
        raise DomainError(
            f"{target} already exists. Choose another name, or add --force to replace it.", field="out"
        ) from None
    except OSError:
        if target.exists():
            raise DomainError(
                f"{target} already exists. Choose another name, or add --force to replace it.", field="out"
            ) from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def _temp_beside(target: Path, suffix: str) -> Path:
    _remove_stale_temps(target, suffix)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)  # mode 0600
    os.close(fd)
    return Path(name)


def _remove_stale_temps(target: Path, suffix: str, older_than_s: float = 60.0) -> None:
    """Temporary files an earlier export to the same file left when it was killed (record-level data):
    ``.<name>.<8 random>.tmp``, untouched for a minute (an export still running keeps writing its own)."""
    import re
    import time

    pattern = re.compile(re.escape(f".{target.name}.") + r"[A-Za-z0-9_]{8}" + re.escape(suffix) + r"(-journal)?")
    try:
        for p in target.parent.iterdir():
            if pattern.fullmatch(p.name) and time.time() - p.stat().st_mtime > older_than_s:
                p.unlink()
    except OSError:
        pass


def write_return_tables(conn: sqlite3.Connection, result: MonthlyReturn) -> None:
    conn.execute("BEGIN")
    conn.execute(
        "CREATE TABLE monthly_return (month TEXT NOT NULL, lot TEXT NOT NULL, locality TEXT NOT NULL, "
        "measure TEXT NOT NULL, value REAL, suppressed INTEGER NOT NULL, "
        "PRIMARY KEY (lot, locality, measure))"
    )
    conn.executemany(
        "INSERT INTO monthly_return VALUES (?, ?, ?, ?, ?, ?)",
        [
            (r.month, r.lot, r.locality, r.measure, None if r.value is None else float(r.value), int(r.suppressed))
            for r in result.rows
        ],
    )
    conn.execute(
        "CREATE TABLE onward_by_partner (month TEXT NOT NULL, partner TEXT NOT NULL, "
        "programme TEXT NOT NULL, made INTEGER, started INTEGER, completed INTEGER, withdrew INTEGER, "
        "PRIMARY KEY (partner, programme))"
    )
    conn.executemany(
        "INSERT INTO onward_by_partner VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (p.month, p.partner, p.programme, p.made, p.started, p.completed, p.withdrew)
            for p in result.onward_by_partner
        ],
    )
    conn.execute("COMMIT")


def check_product(product: str, options: ReturnOptions, *, linkable: bool = False) -> None:
    """A record-level file is never called suppressed; only it has pseudonyms to link."""
    if product not in PRODUCTS:
        raise DomainError(
            f"Choose the publication or the record-level analysis file, not '{product}'.", field="product"
        )
    if product == ANALYSIS and (options.suppress_under or options.round_to):
        raise DomainError(
            "The record-level analysis file holds every journey's row, so suppression or rounding would "
            "protect nothing: it is never suppressed. Leave out --suppress-under / --round-to, or export "
            "the publication (aggregates only) with them.",
            field="options",
        )
    if product == PUBLICATION and linkable:
        raise DomainError("The publication holds no pseudonyms: --linkable is for the analysis file.", field="linkable")


def export_scope(ctx: Ctx) -> tuple[str, ...] | None:
    """The lots (codes) an export may hold: a team lead's own lots; None (the whole service) for an admin,
    and for a team lead with no lots, who leads every lot (services/access.py: ``in_my_lots``)."""
    from sqlmodel import col, select

    from navigator.store.models import Lot

    with ctx.read() as s:
        actor = ctx.actor(s)
        access.require_team_lead(actor)
        if actor.is_admin or not actor.lot_ids:
            return None
        return tuple(s.exec(select(Lot.code).where(col(Lot.id).in_(sorted(actor.lot_ids))).order_by(Lot.code)).all())


def _keep_lots(conn: sqlite3.Connection, rs: RecordSet, lots: tuple[str, ...] | None) -> RecordSet:
    """Leave only the rows of ``lots`` (a team lead's) in the record-level tables, before any figure is
    computed from them; the record set to match. None: everything (an admin's export)."""
    if lots is None:
        return rs
    keep_lots(conn, lots)
    kept = {
        k for (k,) in conn.execute("SELECT journey_key FROM referrals UNION SELECT journey_key FROM onward_referrals")
    }
    return dataclasses.replace(
        rs,
        journey_ids={k: v for k, v in rs.journey_ids.items() if k in kept},
        places={k: v for k, v in rs.places.items() if k[0] in lots},
        referrals=conn.execute("SELECT count(*) FROM referrals").fetchone()[0],
        onward=onward_count(conn),
    )


def _write_publication(
    conn: sqlite3.Connection, ctx: Ctx, month: str, options: ReturnOptions, meta, final, progress, lots=None
):
    """Compute in a private in-memory database; write only the aggregates, definitions and meta."""
    work = sqlite3.connect(":memory:")
    try:
        with ctx.read() as s:
            rs = build_record_tables(
                work, s, ctx, month, progress=progress, steps=STEPS, pseudonymise=False, in_sql=True
            )
        rs = _keep_lots(work, rs, lots)
        if progress:
            progress("Computing the measures", 3, STEPS)
        computed = compute(work, month, options, journey_ids=rs.journey_ids if final else None, places=rs.places)
    finally:
        work.close()
    conn.isolation_level = None
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
        "CREATE TABLE measure_definition (position INTEGER PRIMARY KEY, measure TEXT NOT NULL UNIQUE, "
        "kind TEXT NOT NULL, decimals INTEGER NOT NULL, multiplier INTEGER NOT NULL, scale INTEGER NOT NULL, "
        "definition TEXT NOT NULL, view TEXT NOT NULL, sql TEXT NOT NULL);"
    )
    rows = {"month": month, "definitions_version": DEFINITIONS_VERSION, "app_version": __version__, **meta}
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", sorted(rows.items()))
    conn.execute("COMMIT")
    write_definitions(conn)
    return rs, computed, None


def _write_analysis(conn: sqlite3.Connection, ctx: Ctx, month: str, meta, final, progress, linkable: bool, lots=None):
    with ctx.read() as s:
        rs = build_record_tables(conn, s, ctx, month, meta=meta, progress=progress, steps=STEPS, linkable=linkable)
    rs = _keep_lots(conn, rs, lots)
    if progress:
        progress("Computing the measures", 3, STEPS)
    computed = compute(conn, month, ReturnOptions(), journey_ids=rs.journey_ids if final else None, places=rs.places)
    privacy = privacy_stats(conn)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", sorted(privacy.items()))
    conn.execute("COMMIT")
    return rs, computed, privacy


def export_month(
    ctx: Ctx,
    month: str,
    out: str | os.PathLike,
    *,
    product: str = PUBLICATION,
    csv_path: str | os.PathLike | None = None,
    options: ReturnOptions = ReturnOptions(),  # noqa: B008 - a frozen dataclass, safe to share
    final: bool = False,
    force: bool = False,
    linkable: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the month's publication or record-level analysis file (and CSV); audit it; record it if final."""
    month = parse_month(month)
    check_product(product, options, linkable=linkable)
    target = Path(out).expanduser().absolute()
    csv_target = Path(csv_path).expanduser().absolute() if csv_path else None
    _check_target(target, force, "out")
    if csv_target is not None:
        if csv_target == target:
            raise DomainError("The CSV and the SQLite file need different names.", field="csv")
        _check_target(csv_target, force, "csv")
    lots = export_scope(ctx)  # a team lead's lots only; the whole service for an admin
    if lots is not None and final:
        raise AccessDenied(
            "A return recorded as sent (--final) covers the whole service: an admin (or a team lead of every "
            f"lot) sends it. Export without --final for your lots ({', '.join(lots)})."
        )

    tmp = _temp_beside(target, ".tmp")
    tmp_csv: Path | None = None
    placed: list[Path] = []
    try:
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("PRAGMA journal_mode=MEMORY")
            meta = {
                "generated_at": ctx.now().isoformat(timespec="seconds"),
                "product": product,
                "about": PRODUCT_TEXT[product],
                "suppress_under": "" if options.suppress_under is None else str(options.suppress_under),
                "round_to": "" if options.round_to is None else str(options.round_to),
                "scope": "the whole service" if lots is None else "lots " + ", ".join(lots),
            }
            if product == ANALYSIS:
                meta["linkage"] = (
                    "linkable: pseudonyms are the same in every file made with --linkable"
                    if linkable
                    else "none: pseudonyms differ from one month's file to another's"
                )
                rs, computed, privacy = _write_analysis(conn, ctx, month, meta, final, progress, linkable, lots)
            else:
                rs, computed, privacy = _write_publication(conn, ctx, month, options, meta, final, progress, lots)
            if progress:
                progress("Writing the file", 4, STEPS)
            write_return_tables(conn, computed.result)
            conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            conn.close()
        os.chmod(tmp, 0o600)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if csv_target is not None:
            tmp_csv = _temp_beside(csv_target, ".tmp")
            with open(tmp_csv, "w", encoding="utf-8-sig", newline="") as fh:
                fh.write(csv_text(computed.result))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp_csv, 0o600)
        if progress:
            progress("Recording the export", 5, STEPS)
        sent_id = None
        with ctx.write() as s:
            audit.record(
                s,
                ctx,
                "return.export",
                "return",
                None,
                after={
                    "month": month,
                    "product": product,
                    "options": options.as_dict(),
                    "linkable": linkable,
                    "final": final,
                    "file": target.name,
                    "csv": csv_target.name if csv_target else None,
                    "figures": len(computed.result.rows),
                    "referrals": rs.referrals,
                    "onward_referrals": rs.onward,
                },
            )
            if final:
                sent_id = record_sent(s, ctx, computed, file_name=target.name)
            _place(tmp, target, force)
            placed.append(target)
            if csv_target is not None and tmp_csv is not None:
                _place(tmp_csv, csv_target, force)
                placed.append(csv_target)
        placed.clear()  # committed: the export is recorded and in place
        if progress:
            progress("Done", STEPS, STEPS)
        return ExportResult(
            target,
            csv_target,
            month,
            computed.result,
            rs.referrals,
            rs.onward,
            rs.calendar_days,
            sent_id,
            product,
            privacy,
        )
    except BaseException:
        for p in placed:  # the store refused the record: do not leave an unrecorded export behind
            try:
                p.unlink()
            except OSError:
                pass
        raise
    finally:
        for temp in (tmp, tmp_csv):
            if temp is not None and temp.exists():
                try:
                    temp.unlink()
                except OSError:
                    pass
