"""`navigator retention list|apply [--dry-run]`: review and anonymise people past the retention period."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "retention",
        help="list, then anonymise, people whose journeys all closed longer ago than the retention period (admins)",
        description="The period is the setting retention_years (default 8). A person is "
        "anonymised only when every journey they have had closed before the cutoff: names, "
        "contact details and free text go; dates, states and measures stay so past returns "
        "still add up. Audited.",
    )
    rsub = p.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    ls = rsub.add_parser("list", help="show who is past retention, for review")
    ls.add_argument("--json", action="store_true", help="print the list as JSON on stdout (the shape is documented)")
    ls.set_defaults(handler=run_list)
    ap = rsub.add_parser("apply", help="anonymise everyone past retention (asks first, or --yes)")
    ap.add_argument("--dry-run", action="store_true", help="show what would be anonymised; change nothing")
    ap.add_argument("--yes", "-y", action="store_true", help="do it without asking (needed when not at a terminal)")
    ap.set_defaults(handler=run_apply)
    pe = rsub.add_parser("period", help="show, or set, the retention period in years")
    pe.add_argument("years", nargs="?", type=int, help="the new period in whole years (default 8)")
    pe.set_defaults(handler=run_period)


def run_period(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services import access
    from navigator.services.operations import retention

    store, ctx = context_from_args(args)
    try:
        if args.years is None:
            access.require_admin(ctx.actor())
            with ctx.read() as s:
                years = retention.retention_years(s)
            console.print(f"Retention period: {years} years after a person's last journey closed.")
        else:
            years = retention.set_retention_years(ctx, args.years)
            console.print(f"Retention period set to {years} years. Run `navigator retention list` to review.")
    finally:
        store.dispose()
    return 0


def _table(report, title: str):
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title))
    for col in ("ref", "journeys", "states", "last closed", "locality"):
        table.add_column(col)
    for c in report.candidates:
        table.add_row(
            Text(c.client_ref),
            str(c.journeys),
            Text(", ".join(sorted(set(c.states)))),
            c.last_closed.isoformat(),
            Text(c.locality),
        )
    return table


def run_list(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.operations import retention

    store, ctx = context_from_args(args)
    try:
        report = retention.review(ctx)
    finally:
        store.dispose()
    if getattr(args, "json", False):
        from navigator.cli._output import print_json

        print_json(
            {
                "cutoff": report.cutoff,
                "years": report.years,
                "candidates": [
                    {
                        "client_ref": c.client_ref,
                        "journeys": c.journeys,
                        "states": sorted(set(c.states)),
                        "last_closed": c.last_closed,
                        "locality": c.locality,
                    }
                    for c in report.candidates
                ],
            }
        )
        return 0
    console.print(
        _table(
            report, f"Past retention: every journey closed before {report.cutoff.isoformat()} ({report.years} years)"
        )
    )
    console.print(
        f"{len(report.candidates)} person(s) to review. "
        + (
            "Run `navigator retention apply --dry-run`, then `navigator retention apply`."
            if report.candidates
            else "Nothing to do."
        )
    )
    return 0


def run_apply(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.operations import retention

    store, ctx = context_from_args(args)
    try:
        if not args.dry_run:
            from navigator.cli._prompt import confirm

            due = retention.review(ctx)
            if due.candidates:
                confirm(args, f"Anonymise {len(due.candidates)} person(s) past the retention period")
        report = retention.apply(ctx, dry_run=args.dry_run)
    finally:
        store.dispose()
    if args.dry_run:
        console.print(_table(report, f"Would anonymise (every journey closed before {report.cutoff.isoformat()})"))
        console.print(f"Dry run: {len(report.candidates)} person(s) would be anonymised; nothing was changed.")
    else:
        console.print(_table(report, "Anonymised"))
        console.print(
            f"Anonymised {report.anonymised} person(s): names, contact details and free text removed; "
            "dates, states and measures kept. Recorded in the audit log."
        )
        if report.anonymised:
            console.print(
                f"Removed their personal data from {report.audit_redacted} audit event(s); the audit "
                "chain still verifies (`navigator doctor`)."
            )
        if report.audit_unredactable:
            console.print(
                f"{report.audit_unredactable} older audit event(s) about them still hold personal data: "
                "their hashes cover the text (the audit log failed its check when navigator was "
                "upgraded, so they were kept as evidence). Run `navigator doctor` and tell your data "
                "protection lead."
            )
    return 0
