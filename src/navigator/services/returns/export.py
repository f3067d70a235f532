"""`navigator export`: the monthly return as a new, standalone SQLite file (and optionally CSV).

The file holds (shared/spec/monthly-return.md):

- ``monthly_return(month, lot, locality, measure, value, suppressed)``: the
  published figures (after --suppress-under / --round-to, if given);
- ``onward_by_partner(month, partner, programme, made, started, completed, withdrew)``
  (the same suppression and rounding applied per column; a blank is NULL);
- the pseudonymised record-level ``referrals`` and ``onward_referrals``, and
  ``calendar``, with ``locality`` (every lot and locality reported on) and
  ``measure_definition`` (each measure's kind, rounding and SQL);
- ``meta`` (key, value): app_version, definitions_version, month, generated_at,
  suppress_under, round_to;
- the measure views (``measure_<name>``, ``measure_cases``, ``monthly_return_derived``,
  ``onward_by_partner_derived``): the very SQL that computed the figures, so the
  file re-derives them (``monthly_return_derived`` gives the exact figures, before
  suppression and rounding).

It is written to a temporary file beside the target (mode 0600) and moved into
place only when complete; an existing file is never overwritten unless
``force``. Exporting the same month twice from the same data gives identical
tables apart from ``meta.generated_at``.

CSV (``--csv``): ``monthly_return`` with the same columns, safe to open in a
spreadsheet: any cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is written with a single quote in front. That includes negative
numbers: a value of -1.5 (only ``swemwbs_mean_change`` can be negative) is
written as ``'-1.5``, consistently, so a spreadsheet shows it as text. Read it
back by dropping the leading quote.
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from navigator.domain.errors import DomainError
from navigator.services import access, audit
from navigator.services.context import Ctx
from navigator.services.returns.figures import (
    Computed,
    MonthlyReturn,
    Progress,
    ReturnOptions,
    build_record_tables,
    compute,
    parse_month,
    record_sent,
)

CSV_COLUMNS = ("month", "lot", "locality", "measure", "value", "suppressed")
DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
STEPS = 6


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


def neutralise(cell: str) -> str:
    """A spreadsheet must not read a cell as a formula: prefix a quote to risky first characters."""
    if cell and cell[0] in DANGEROUS_FIRST:
        return "'" + cell
    return cell


def csv_text(result: MonthlyReturn) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for r in result.rows:
        value = "" if r.suppressed else (r.text if r.value is not None else "")
        w.writerow(
            [neutralise(str(c)) for c in (r.month, r.lot, r.locality, r.measure, value, 1 if r.suppressed else 0)]
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
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)  # mode 0600
    os.close(fd)
    return Path(name)


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


def export_month(
    ctx: Ctx,
    month: str,
    out: str | os.PathLike,
    *,
    csv_path: str | os.PathLike | None = None,
    options: ReturnOptions = ReturnOptions(),  # noqa: B008 - a frozen dataclass, safe to share
    final: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the month's return to a new SQLite file (and CSV); audit it; record it as sent if final."""
    month = parse_month(month)
    target = Path(out).expanduser().absolute()
    csv_target = Path(csv_path).expanduser().absolute() if csv_path else None
    _check_target(target, force, "out")
    if csv_target is not None:
        if csv_target == target:
            raise DomainError("The CSV and the SQLite file need different names.", field="csv")
        _check_target(csv_target, force, "csv")
    with ctx.read() as s:
        access.require_team_lead(ctx.actor(s))

    tmp = _temp_beside(target, ".tmp")
    tmp_csv: Path | None = None
    placed: list[Path] = []
    try:
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("PRAGMA journal_mode=MEMORY")
            generated_at = ctx.now().isoformat(timespec="seconds")
            meta = {
                "generated_at": generated_at,
                "suppress_under": "" if options.suppress_under is None else str(options.suppress_under),
                "round_to": "" if options.round_to is None else str(options.round_to),
            }
            with ctx.read() as s:
                rs = build_record_tables(conn, s, ctx, month, meta=meta, progress=progress, steps=STEPS)
            if progress:
                progress("Computing the measures", 3, STEPS)
            computed: Computed = compute(conn, month, options, journey_ids=rs.journey_ids if final else None)
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
            with open(tmp_csv, "w", encoding="utf-8", newline="") as fh:
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
                    "options": options.as_dict(),
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
            target, csv_target, month, computed.result, rs.referrals, rs.onward, rs.calendar_days, sent_id
        )
    except BaseException:
        for p in placed:  # the store refused the record: do not leave an unrecorded export behind
            try:
                p.unlink()
            except OSError:
                pass
        raise
    finally:
        for p in (tmp, tmp_csv):
            if p is not None and p.exists():
                try:
                    p.unlink()
                except OSError:
                    pass
