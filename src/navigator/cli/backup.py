"""`navigator backup [--out FILE]`: a consistent, checked copy of the store, taken while others work.

Also: `--list` (the backups beside the store) and `--keep N` (how many daily backups to keep).
"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "backup",
        help="take a consistent, checked backup of the store now (admins)",
        description="Copy the store through SQLite's backup API (others may keep working), "
        "check the copy with PRAGMA integrity_check, and write it readable by you only. "
        "Default: backups/ beside the store, named with the date and time. navigator also "
        "takes a backup there each day it is opened, keeping the newest 7 (--keep N).",
    )
    p.add_argument("--out", metavar="FILE", help="where to write the backup (a new file, or a folder)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--list", action="store_true", help="list the backups beside the store; take none")
    g.add_argument("--keep", type=int, metavar="N", help="keep the newest N daily backups (default 7); take none")
    p.set_defaults(handler=run)


def run(args) -> int:
    from datetime import datetime

    from rich.markup import escape
    from rich.table import Table

    from navigator.cli import CommandError, console, context_from_args
    from navigator.services import access, audit
    from navigator.services.operations.backup import (
        backup_keep,
        list_backups,
        set_backup_keep,
        take_backup,
    )

    store, ctx = context_from_args(args)
    try:
        if not store.is_sqlite:
            raise CommandError(
                "This store is on PostgreSQL: back it up with pg_dump (or your database service's backups)."
            )
        access.require_admin(ctx.actor())
        if args.keep is not None:
            set_backup_keep(ctx, args.keep)
            console.print(f"navigator now keeps the newest {args.keep} daily backup(s).")
            return 0
        if args.list:
            found = list_backups(store.path)
            table = Table(title=f"Backups in {escape(str(store.path.parent / 'backups'))}")
            for col in ("file", "taken", "size"):
                table.add_column(col)
            for p in found:
                st = p.stat()
                table.add_row(
                    escape(p.name),
                    datetime.fromtimestamp(st.st_mtime).strftime("%Y-%m-%d %H:%M"),
                    f"{st.st_size // 1024} KB",
                )
            console.print(table)
            console.print(f"{len(found)} backup(s); daily backups kept: {backup_keep(store)}.")
            return 0
        result = take_backup(store, args.out)
        with ctx.write() as s:
            audit.record(s, ctx, "store.backup", "store", None, after={"file": result.path.name})
    finally:
        store.dispose()
    console.print(
        f"Backup written to [bold]{escape(str(result.path))}[/] ({result.size // 1024} KB), "
        "integrity check ok, readable by you only.",
        soft_wrap=True,
    )
    console.print(f"Restore it with: navigator restore {escape(str(result.path))}", soft_wrap=True)
    return 0
