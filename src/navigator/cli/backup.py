"""`navigator backup [--out FILE]`: a consistent, checked copy of the store, taken while others work."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("backup", help="take a consistent, checked backup of the store now (admins)",
                       description="Copy the store through SQLite's backup API (others may keep working), "
                       "check the copy with PRAGMA integrity_check, and write it readable by you only. "
                       "Default: backups/ beside the store, named with the date and time.")
    p.add_argument("--out", metavar="FILE", help="where to write the backup (a new file, or a folder)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from rich.markup import escape

    from navigator.cli import CommandError, console, context_from_args
    from navigator.services import access, audit
    from navigator.services.backup import take_backup

    store, ctx = context_from_args(args)
    try:
        if not store.is_sqlite:
            raise CommandError("This store is on PostgreSQL: back it up with pg_dump (or your database "
                               "service's backups).")
        access.require_admin(ctx.actor())
        result = take_backup(store, args.out)
        with ctx.write() as s:
            audit.record(s, ctx, "store.backup", "store", None, after={"file": result.path.name})
    finally:
        store.dispose()
    console.print(f"Backup written to [bold]{escape(str(result.path))}[/] ({result.size // 1024} KB), "
                  "integrity check ok, readable by you only.", soft_wrap=True)
    console.print(f"Restore it with: navigator restore {escape(str(result.path))}", soft_wrap=True)
    return 0
