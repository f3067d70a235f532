"""`navigator restore FILE`: check a backup, back up the current store, then swap the backup in."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "restore",
        help="replace the store with a backup (checked first; the current store is kept)",
        description="Check FILE (an SQLite database, passing its integrity check, with a navigator "
        "schema this version knows), back up the current store into backups/, then swap FILE in "
        "atomically. Close navigator everywhere first. An older backup is upgraded when opened.",
    )
    p.add_argument("file", metavar="FILE", help="the backup to restore")
    p.add_argument("--yes", "-y", action="store_true", help="do it without asking (needed when not at a terminal)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from pathlib import Path

    from rich.markup import escape
    from sqlalchemy.engine import make_url

    from navigator.cli import CommandError, console, context_from_args, err_console
    from navigator.domain.errors import StoreError
    from navigator.services import access
    from navigator.services.context import os_username
    from navigator.services.operations.backup import (
        check_backup_file,
        record_restore,
        restore,
    )
    from navigator.store.engine import open_store, resolve_url

    url = resolve_url(args.db, args.db_url)
    if make_url(url).get_backend_name() != "sqlite":
        raise CommandError("restore is for SQLite stores; restore a PostgreSQL database with pg_restore.")
    database = make_url(url).database
    assert database is not None  # resolve_url gives SQLite a file
    store_path = Path(database)
    check = check_backup_file(args.file)  # refuse a bad file before touching anything
    username, acting_as = os_username(), None
    if store_path.exists():
        try:
            store, ctx = context_from_args(args, create=False, initialise=False)
        except StoreError as exc:
            err_console.print(
                f"[yellow]The current store cannot be opened ({escape(str(exc))}); "
                "restoring over it. Its bytes are kept in backups/.[/]"
            )
        else:
            try:
                access.require_admin(ctx.actor())
                username, acting_as = ctx.username, ctx.acting_as
            finally:
                store.dispose()
    from navigator.cli._prompt import confirm

    confirm(args, f"Replace the store {store_path} with {args.file} (the current store is kept in backups/)")
    result = restore(store_path, args.file)
    store = open_store(url, create=False)  # upgrades an older backup (after backing it up)
    try:
        record_restore(store, username, result, acting_as)
    finally:
        store.dispose()
    console.print(
        f"Restored [bold]{escape(str(result.restored_from))}[/] into {escape(str(store_path))}: "
        f"{check.clients} people, {check.journeys} journeys, {check.events} audit events "
        f"(schema {escape(str(check.revision))}).",
        soft_wrap=True,
    )
    if result.safety_backup:
        console.print(
            f"The store as it was is kept at {escape(str(result.safety_backup))} (restore that file to undo).",
            soft_wrap=True,
        )
    if store.backup_taken:
        console.print(
            f"The backup was from an older navigator and has been upgraded "
            f"(copy before upgrading: {escape(str(store.backup_taken))})."
        )
    return 0
