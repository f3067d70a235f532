"""`navigator import FILE.csv [--dry-run]`: bring a referral tracker's history into the store.

All or nothing: every row is checked first; if any is bad nothing is written and
every bad row is listed (line, column, reason). A good file is written in short
batches (others keep working); an import interrupted half-way is taken back. Exit code 0 when the file is good
(imported, or checked with --dry-run), 1 when rows are bad.
"""

from __future__ import annotations

HELP = """\
Imports a tracker CSV in the format of docs/tracker-import.md (in the project's source and sdist):
one row per referral; columns client_ref,
first_name, last_name, date_of_birth, locality, navigator, referral_source, received_date and the
optional ones. Every row is checked first; if any row is bad nothing is written and every bad row
is listed with its line, column and reason. Re-importing a file changes nothing already imported
(a journey is identified by client_ref + received_date). Unknown navigators and partners are
created and listed; a blank onward_programme is the partner's "Not specified". Others can keep
working while the file is written (in short batches); an import interrupted half-way is taken back by
the next one. --dry-run checks and reports only.
"""

MAX_SHOWN = 200


def register(sub) -> None:
    p = sub.add_parser("import", help="import a referral tracker CSV (all or nothing)", description=HELP)
    p.add_argument("file", metavar="FILE.csv", help="the tracker, CSV in UTF-8")
    p.add_argument("--dry-run", action="store_true", help="check and report only; write nothing")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout (the shape is documented)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from pathlib import Path

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.text import Text

    from navigator.cli import CommandError, console, context_from_args, err_console
    from navigator.services.tracker_import import importer

    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"There is no file {path}. Give the path of the tracker CSV.")
    store, ctx = context_from_args(args)
    try:
        if not args.dry_run:
            taken_back = importer.recover(ctx)  # an earlier import killed half-way
            if taken_back is not None:
                err_console.print(
                    Text(
                        f"An earlier import was interrupted; what it had written is taken back "
                        f"({taken_back.get('journeys', 0):,} journeys, {taken_back.get('clients', 0):,} people)."
                    )
                )
        big = path.stat().st_size > 200_000
        if big:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("rows"),
                TimeElapsedColumn(),
                console=err_console,
                transient=True,
            ) as bar:
                task = bar.add_task("Checking", total=None)

                def progress(phase: str, done: int, total: int) -> None:
                    bar.update(task, description=phase, completed=done, total=total)

                report = importer.import_file(ctx, path, dry_run=args.dry_run, progress=progress)
        else:
            report = importer.import_file(ctx, path, dry_run=args.dry_run)
    finally:
        store.dispose()
    if args.json:
        from navigator.cli._output import print_json

        print_json(report_json(report))
    else:
        _print(console, report)
    return 0 if report.ok else 1


def report_json(report) -> dict:
    """The import report for scripts (`--json`): a stable shape."""
    return {
        "file": report.file,
        "rows": report.rows,
        "dry_run": report.dry_run,
        "written": report.written,
        "ok": report.ok,
        "errors": [{"line": line, "column": column, "reason": reason} for line, column, reason in report.errors],
        "created": {
            "clients": report.clients_created,
            "journeys": report.journeys_created,
            "onward_referrals": report.onward_created,
            "users": list(report.users_created),
            "partners": list(report.partners_created),
            "programmes": list(report.programmes_created),
        },
        "skipped_existing": report.skipped_existing,
        "duplicates": [{"line": line, "client_ref": ref, "why": why} for line, ref, why in report.duplicates],
    }


def _print(console, report) -> None:
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    if report.errors:
        n = len(report.errors)
        what = f"{n:,} problem{'s' if n != 1 else ''}"
        if report.rows:
            what = f"{report.bad_lines:,} bad row{'s' if report.bad_lines != 1 else ''} ({what})"
        t = Table(title=f"{escape(report.file)}: {what}", show_edge=False, header_style="bold")
        t.add_column("line", justify="right")
        t.add_column("column")
        t.add_column("reason")
        for line, column, reason in report.errors[:MAX_SHOWN]:
            t.add_row(str(line) if line else "", Text(column), Text(reason))
        console.print(t)
        if len(report.errors) > MAX_SHOWN:
            console.print(f"... and {len(report.errors) - MAX_SHOWN:,} more problems.")
        console.print(
            "[bold red]Nothing was imported[/]: the import is all or nothing. Fix the rows above "
            "and run it again (use --dry-run to check without importing)."
        )
        return
    verb = "to create" if report.dry_run else "created"
    t = Table(
        title=f"{escape(report.file)}: {report.rows:,} row{'s' if report.rows != 1 else ''}"
        + (" checked (dry run: nothing written)" if report.dry_run else " imported"),
        show_edge=False,
        header_style="bold",
    )
    t.add_column("what")
    t.add_column("count", justify="right")
    t.add_row(f"People {verb}", f"{report.clients_created:,}")
    t.add_row(f"Journeys {verb}", f"{report.journeys_created:,}")
    t.add_row(f"Onward referrals {verb}", f"{report.onward_created:,}")
    t.add_row("Already in the store (skipped)", f"{report.skipped_existing:,}")
    t.add_row(f"Navigators {verb}", f"{len(report.users_created):,}")
    t.add_row(f"Partners {verb}", f"{len(report.partners_created):,}")
    t.add_row(f"Programmes {verb}", f"{len(report.programmes_created):,}")
    t.add_row("Likely duplicates", f"{len(report.duplicates):,}")
    console.print(t)
    if report.users_created:
        console.print(Text(f"Navigators {verb}: " + ", ".join(report.users_created)))
    if report.partners_created:
        console.print(Text(f"Partners {verb}: " + ", ".join(report.partners_created)))
    if report.programmes_created:
        console.print(Text(f"Programmes {verb}: " + "; ".join(report.programmes_created)))
    if report.duplicates:
        d = Table(
            title="Likely duplicates (imported as given; if the same person, a team lead merges them: navigator people merge)",
            show_edge=False,
            header_style="bold",
        )
        d.add_column("line", justify="right")
        d.add_column("client_ref")
        d.add_column("looks like")
        for line, ref, why in report.duplicates[:MAX_SHOWN]:
            d.add_row(str(line), Text(ref), Text(why))
        console.print(d)
        if len(report.duplicates) > MAX_SHOWN:
            console.print(f"... and {len(report.duplicates) - MAX_SHOWN:,} more.")
    if not report.dry_run and report.seconds:
        console.print(f"Imported in {report.seconds:.1f}s; every record is attributed to you in the audit log.")
