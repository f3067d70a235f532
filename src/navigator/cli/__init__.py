"""The `navigator` command. With no sub-command it opens the app on the store.

Sub-commands live in this package, one module per group, each exposing
``register(subparsers)``; they are discovered here, so adding one touches no
other file. Every command ends with a clear summary; errors say what to do
next, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Callable

from rich.console import Console

from navigator import __version__
from navigator.domain.errors import AccessDenied, DomainError, StoreError

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


class CommandError(Exception):
    """A command failed in a way the user can fix: the message says how."""


def _global_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--version", action="version", version=f"navigator {__version__}")
    parser.add_argument(
        "--db", metavar="PATH", help="SQLite store to use (default: in your data folder; or NAVIGATOR_DB)"
    )
    parser.add_argument(
        "--db-url", metavar="URL", help="database URL, e.g. postgresql+psycopg://... (or NAVIGATOR_DATABASE_URL)"
    )
    parser.add_argument("--as", dest="as_user", metavar="USER", help="admins only: act as another user (audited)")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _global_options(
        argparse.ArgumentParser(
            prog="navigator",
            description="Keyboard-first casework for community mental-health navigators.",
        )
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The arguments; with no command (open the app) the sub-commands' modules are not imported."""
    argv = sys.argv[1:] if argv is None else list(argv)
    quick = _global_options(argparse.ArgumentParser(prog="navigator", add_help=False))
    args, rest = quick.parse_known_args(argv)
    if not rest:
        args.command = None
        return args
    return build_parser().parse_args(argv)


def context_from_args(args, *, create: bool = True, initialise: bool = True, backup: bool = True):
    """Open the store the arguments name and return (store, ctx) for the acting user.

    ``backup``: take today's rolling backup now (SQLite) if there is none yet; the app passes
    False and takes it in the background once its first screen is showing (``daily_backup``).
    """
    from navigator.services.context import Ctx, os_username
    from navigator.store.engine import open_store, resolve_url

    url = resolve_url(args.db, args.db_url)
    store = open_store(url, create=create)
    ctx = Ctx(store, username=os_username())
    if initialise and not _has_users(ctx):
        from navigator.services.setup.reference import initialise as init_store

        created = init_store(ctx)
        if created:
            err_console.print(f"Created a new store; [bold]{ctx.username}[/] is its first admin.")
    as_user = getattr(args, "as_user", None)
    if as_user and as_user != ctx.username:
        actor = ctx.actor()
        if not actor.is_admin:
            raise AccessDenied("Only an admin can act as another user (--as).")
        ctx = Ctx(store, username=as_user, acting_as=actor.username)
        ctx.actor()  # the other user must exist and be active
    else:
        ctx.actor()  # deactivated users cannot open the store
    if backup and store.is_sqlite:
        warning = daily_backup(store)
        if warning:
            from rich.markup import escape

            err_console.print(f"[yellow]warning:[/] {escape(warning)}")
    return store, ctx


def _has_users(ctx) -> bool:
    """Is the store set up (it has a user)? A plain read: most opens need nothing more."""
    with ctx.sql() as q:
        return bool(q('SELECT 1 FROM "user" LIMIT 1'))


def daily_backup(store) -> str | None:
    """Today's rolling backup of a SQLite store, if not taken yet (PostgreSQL is backed up by the
    server). Returns a warning to show if it could not be taken; the store is untouched then."""
    if not store.is_sqlite:
        return None
    from navigator.services.operations.backup import ensure_daily_backup

    try:
        ensure_daily_backup(store)
    except StoreError as exc:
        return f"today's backup was not taken: {exc}"
    return None


def _open_app(args) -> int:
    store, ctx = context_from_args(args, backup=False)
    from navigator.tui.app import run_app

    # The daily backup waits for the first screen (it needs the ORM; a new day's copy takes seconds).
    return run_app(ctx, after_start=lambda: daily_backup(store)) or 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    handler: Callable | None = getattr(args, "handler", None)
    try:
        if handler is None:
            return _open_app(args)
        return int(handler(args) or 0)
    except (StoreError, DomainError, AccessDenied, CommandError) as exc:
        err_console.print(f"[bold red]navigator:[/] {exc}")
        return 2
    except KeyboardInterrupt:
        err_console.print("Interrupted; nothing half-written was kept.")
        return 130
    except OSError as exc:
        err_console.print(f"[bold red]navigator:[/] {exc.strerror or exc}. Check the path and its permissions.")
        return 2
    except Exception as exc:
        if os.environ.get("NAVIGATOR_DEBUG"):
            raise
        err_console.print(
            f"[bold red]navigator:[/] an unexpected error ({type(exc).__name__}). Nothing was changed by it. "
            "Run `navigator doctor`, and report this with NAVIGATOR_DEBUG=1 output to your admin."
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
