"""`navigator export`: write the monthly return as a new, standalone SQLite file (and CSV)."""

from __future__ import annotations

import argparse


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("give a whole number of 1 or more")
    return n


def register(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write the monthly return for commissioners (team leads and admins)",
        description="Write month M's return to a NEW SQLite file: the monthly_return figures per locality, "
        "lot and service, onward_by_partner, the pseudonymised record-level tables, the calendar "
        "and the measure views that re-derive every figure. No names, dates of birth, postcodes, "
        "NHS numbers, contact details or free text. In the CSV, cells that begin with = + - @ tab "
        "or carriage return are prefixed with a single quote (so -1.5 is written '-1.5).",
    )
    p.add_argument("--month", required=True, metavar="YYYY-MM", help="the reporting month")
    p.add_argument("--out", required=True, metavar="FILE.sqlite", help="the new SQLite file to write")
    p.add_argument("--csv", metavar="FILE.csv", help="also write monthly_return as CSV (spreadsheet-safe)")
    p.add_argument(
        "--suppress-under",
        type=_positive,
        metavar="N",
        help="blank counts 1..N-1 and means/percentages over fewer than N cases (with secondary "
        "suppression); commissioners commonly use 5",
    )
    p.add_argument("--round-to", type=_positive, metavar="K", help="round every unsuppressed count to the nearest K")
    p.add_argument(
        "--final",
        action="store_true",
        help="record this return as sent, so `navigator returns show` can tell if its figures move",
    )
    p.add_argument("--force", action="store_true", help="replace the output files if they exist")
    p.set_defaults(handler=run)


def run(args) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from navigator.cli import console, context_from_args
    from navigator.services.access import require_team_lead
    from navigator.services.returns import export
    from navigator.services.returns import figures as returns

    month = returns.parse_month(args.month)
    options = returns.ReturnOptions(args.suppress_under, args.round_to)
    store, ctx = context_from_args(args)
    try:
        require_team_lead(ctx.actor())
        with Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(f"Exporting {month}", total=export.STEPS)

            def progress(what: str, done: int, total: int) -> None:
                bar.update(task, description=what, completed=done, total=total)

            res = export.export_month(
                ctx,
                month,
                args.out,
                csv_path=args.csv,
                options=options,
                final=args.final,
                force=args.force,
                progress=progress,
            )
    finally:
        store.dispose()

    r = res.result
    table = Table(title=f"Monthly return {month}: whole service", show_lines=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for measure in r.measures:
        table.add_row(measure, r.row(measure).text or "-")
    console.print(table)
    n_loc = sum(len(locs) for _lot, locs in r.lots)
    console.print(
        f"Wrote [bold]{res.path}[/]: {len(r.rows)} figures ({len(r.lots)} lots, {n_loc} localities, "
        f"the service), {len(r.onward_by_partner)} partner programmes, {res.referrals} journeys and "
        f"{res.onward_referrals} onward referrals (pseudonymised), {res.calendar_days} calendar days."
    )
    if options.suppress_under or options.round_to:
        console.print(
            f"Suppression: under {options.suppress_under or '-'}, rounding to {options.round_to or '-'}; "
            f"{r.suppressed_count} figures blanked."
        )
    else:
        console.print("No suppression or rounding (exact figures).")
    if res.csv_path:
        console.print(
            f"Wrote [bold]{res.csv_path}[/] (spreadsheet-safe: risky first characters, including a "
            "leading minus, are prefixed with ')."
        )
    if month >= returns.month_of(ctx.today()):
        console.print(f"[yellow]Note:[/] {month} is not over yet; its figures will still change.")
    if res.sent_id is not None:
        console.print(f"Recorded as sent (return {res.sent_id}). `navigator returns show {month}` shows any drift.")
    return 0
