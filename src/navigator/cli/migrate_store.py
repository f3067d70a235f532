"""`navigator migrate-store --to URL`: copy the whole store into an empty database (e.g. PostgreSQL)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "migrate-store",
        help="copy everything into an empty database, e.g. PostgreSQL (admins)",
        description="Create the schema in the target (same migrations), copy every row in "
        "dependency order (the audit log verbatim), reset PostgreSQL's id sequences, then "
        "compare row counts table by table and verify the audit chain. The source is not "
        "changed (apart from an audit event).",
    )
    p.add_argument(
        "--to",
        metavar="URL",
        required=True,
        help="target database, e.g. postgresql+psycopg://user:password@host/navigator",
    )
    p.set_defaults(handler=run)


def run(args) -> int:
    from rich.markup import escape
    from rich.table import Table

    from navigator.cli import CommandError, console, context_from_args
    from navigator.services.operations.migrate_store import migrate_store

    store, ctx = context_from_args(args)
    try:
        with console.status("Copying...") as status:
            result = migrate_store(ctx, args.to, progress=lambda t, n: status.update(f"Copied {t} ({n} rows)"))
    finally:
        store.dispose()
    table = Table(title=f"Copied to {escape(result.target)}")
    table.add_column("table")
    table.add_column("source", justify="right")
    table.add_column("target", justify="right")
    table.add_column("")
    for t in result.tables:
        table.add_row(t.table, str(t.source), str(t.target), "ok" if t.ok else "[bold red]differs[/]")
    console.print(table)
    if not result.ok:
        raise CommandError(
            "The copy does not match the source (see the table above"
            + (f"; {result.chain_problems} audit events fail their hash check" if result.chain_problems else "")
            + "). Do not switch over; report this."
        )
    console.print(
        "Every table matches and the audit chain verifies. Point everyone at the new database with "
        "NAVIGATOR_DATABASE_URL (or --db-url), and keep the SQLite file as a backup."
    )
    return 0
