"""`navigator init`: create (or upgrade) the store and make you its first admin."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("init", help="create the store (you become its first admin) or upgrade it")
    p.set_defaults(handler=run)


def run(args) -> int:
    from navigator.cli import console, context_from_args

    store, ctx = context_from_args(args)
    where = store.path or "the configured database"
    console.print(f"Store ready at {where} (schema current). You are [bold]{ctx.username}[/] ({ctx.actor().role}).")
    if store.backup_taken:
        console.print(f"Upgraded after a backup at {store.backup_taken}.")
    return 0
