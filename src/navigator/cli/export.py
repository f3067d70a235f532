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
        help="write the monthly return: the publication, or the record-level analysis file (team leads and admins)",
        description="Write month M's return to a NEW SQLite file, one of two products. --publication: the "
        "aggregates only (monthly_return per locality, lot and service; onward_by_partner; the measure "
        "definitions; meta), suppressed and rounded as asked: safe to publish. --analysis: the record-level "
        "analysis file for analysts under a data-sharing agreement: pseudonymised rows (months and "
        "working-day intervals, no dates; IMD group, no decile; no age band) and the measure views that "
        "re-derive every figure; never suppressed; pseudonyms differ from month to month unless --linkable. "
        "Neither holds names, dates of birth, postcodes, NHS numbers, contact details or free text. The "
        "CSV is UTF-8 with a byte-order mark; numbers stay numbers, and text cells that begin with "
        "= + - @ tab or carriage return are prefixed with a single quote.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--publication", dest="product", action="store_const", const="publication", help="aggregates only"
    )
    which.add_argument(
        "--analysis",
        dest="product",
        action="store_const",
        const="analysis",
        help="the record-level analysis file (never suppressed; for use under a data-sharing agreement)",
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
        "--linkable",
        action="store_true",
        help="analysis file only: pseudonyms the same in every file made with --linkable (recorded in meta "
        "and the audit log), so one person's rows link across months",
    )
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
    export.check_product(args.product, options, linkable=args.linkable)  # before opening the store
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
                product=args.product,
                csv_path=args.csv,
                linkable=args.linkable,
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
    if res.product == export.ANALYSIS:
        p = res.privacy or {}
        console.print(
            f"Wrote [bold]{res.path}[/]: the RECORD-LEVEL ANALYSIS FILE (not for publication; for use under a "
            f"data-sharing agreement): {res.referrals} journeys and {res.onward_referrals} onward referrals "
            f"(pseudonymised), the measure views and {len(r.rows)} exact figures. Never suppressed."
        )
        console.print(
            f"Quasi-identifiers ({p.get('quasi_identifiers', '')}): smallest group k = {p.get('k_min', '-')}, "
            f"{float(p.get('unique_share', 0)) * 100:.1f}% of rows unique. Pseudonyms: "
            + ("linkable across files (--linkable)." if args.linkable else "this month's file only.")
        )
    else:
        console.print(
            f"Wrote [bold]{res.path}[/]: the PUBLICATION (aggregates only): {len(r.rows)} figures "
            f"({len(r.lots)} lots, {n_loc} localities, the service), {len(r.onward_by_partner)} partner "
            "programmes; no record-level rows."
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
            f"Wrote [bold]{res.csv_path}[/] (UTF-8 with a byte-order mark; numbers as numbers; text cells "
            "that begin with = + - @ are prefixed with ')."
        )
    if month >= returns.month_of(ctx.today()):
        console.print(f"[yellow]Note:[/] {month} is not over yet; its figures will still change.")
    if res.sent_id is not None:
        console.print(f"Recorded as sent (return {res.sent_id}). `navigator returns show {month}` shows any drift.")
    return 0
