"""The `navigator` command. With no sub-command it opens the app on the store.

Sub-commands live in this package, one module per group, each exposing
``register(subparsers)``; they are discovered here, so adding one touches no
other file. Every command ends with a clear summary; errors say what to do
next, never a traceback. The global options (--db, --db-url, --as) are taken
before or after the sub-command. ``exit_code`` is the one place that maps an
error to the documented exit codes (EXIT_CODES_HELP, shown by --help).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Callable
from typing import Any

from rich.text import Text

from navigator import __version__
from navigator.cli._output import make_console
from navigator.domain.errors import AccessDenied, DomainError, StoreError

console = make_console(stderr=False)
err_console = make_console(stderr=True)

EXIT_OK = 0  # done
EXIT_FAILED = 1  # checks failed (doctor), rows refused (import), or cancelled at a prompt
EXIT_USAGE = 2  # the command line, or a file it names, is wrong
EXIT_REFUSED = 3  # refused by the rules or by permissions (DomainError, AccessDenied)
EXIT_STORE = 4  # the store cannot be opened, created or used (StoreError, database and file-system errors)
EXIT_INTERNAL = 70  # an unexpected error (a bug): nothing was changed by it
EXIT_INTERRUPTED = 130  # Ctrl+C

EXIT_CODES_HELP = """\
exit codes:
  0    done
  1    checks failed (doctor), rows refused (import), or cancelled at a prompt
  2    usage: the command line, or a file it names, is wrong
  3    refused by the rules or by permissions
  4    store problem: the database cannot be opened, created or used
  70   unexpected error (nothing was changed by it; NAVIGATOR_DEBUG=1 shows details)
  130  interrupted

global options (--db, --db-url, --as) go before or after the command.
"""

SHORT_EXIT_CODES = (
    "Exit codes: 0 done, 1 checks failed or rows refused, 2 usage, 3 refused by the rules or permissions, "
    "4 store problem (`navigator --help`)."
)

#: the commands that may create a new store; every other one refuses a store that does not exist
CREATING_COMMANDS = ("init", "demo")
#: commands that open the store for something other than casework (or the app, which does it in a worker):
#: no no-response closures by the protocol when they start (issue 15, casework/loops.py)
NOT_CASEWORK_COMMANDS = (
    *(None, "init", "demo", "backup", "restore", "migrate-store", "audit", "sar", "retention"),
    *("protocol", "config"),  # the setting itself may be about to change
)


class CommandError(Exception):
    """A command failed in a way the user can fix: the message says how. ``code``: its exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def exit_code(exc: BaseException) -> int:
    """The one place that maps an error to its exit code."""
    if isinstance(exc, CommandError):
        return exc.code
    if isinstance(exc, DomainError):  # AccessDenied, NotFound, ValidationErrors are DomainErrors
        return EXIT_REFUSED
    if isinstance(exc, (StoreError, OSError)):
        return EXIT_STORE
    if any(t.__module__.split(".")[0] in ("sqlalchemy", "sqlite3", "psycopg") for t in type(exc).__mro__):
        return EXIT_STORE
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_INTERNAL


def _global_options(parser: argparse.ArgumentParser, *, sub: bool = False) -> argparse.ArgumentParser:
    """The options every command takes. On a sub-command they default to SUPPRESS, so a value
    given before the sub-command stands unless it is given again after it."""
    default: dict[str, Any] = {"default": argparse.SUPPRESS} if sub else {}
    if not sub:
        parser.add_argument("--version", action="version", version=f"navigator {__version__}")
    parser.add_argument(
        "--db", metavar="PATH", help="SQLite store to use (default: in your data folder; or NAVIGATOR_DB)", **default
    )
    parser.add_argument(
        "--db-url",
        metavar="URL",
        help="database URL, e.g. postgresql+psycopg://... (or NAVIGATOR_DATABASE_URL)",
        **default,
    )
    parser.add_argument(
        "--as", dest="as_user", metavar="USER", help="admins only: act as another user (audited)", **default
    )
    return parser


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:  # argparse keeps sub-parsers here; there is no public accessor
        if isinstance(action, argparse._SubParsersAction):
            yield from dict.fromkeys(action.choices.values())  # aliases share a parser


def _globals_everywhere(parser: argparse.ArgumentParser) -> None:
    for child in _subparsers(parser):
        child.epilog = child.epilog or SHORT_EXIT_CODES
        known = {o for a in child._actions for o in a.option_strings}
        if not known & {"--db", "--db-url", "--as"}:
            group = child.add_argument_group("global options")
            _global_options(group, sub=True)
        _globals_everywhere(child)


def build_parser() -> argparse.ArgumentParser:
    parser = _global_options(
        argparse.ArgumentParser(
            prog="navigator",
            description="Keyboard-first casework for community mental-health navigators.",
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
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
    _globals_everywhere(parser)
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


def context_from_args(
    args,
    *,
    create: bool | None = None,
    initialise: bool | None = None,
    backup: bool = True,
    template: str = "kent",
):
    """Open the store the arguments name and return (store, ctx) for the acting user.

    ``create`` / ``initialise``: make a missing SQLite file / set up a store with no users (you
    become its first admin, with the reference data of ``template``). By default only the
    commands that make a store (CREATING_COMMANDS) do; any other command on a store that does
    not exist, or is not set up, says so and creates nothing.
    ``backup``: take today's rolling backup now (SQLite) if there is none yet; the app passes
    False and takes it in the background once its first screen is showing (``daily_backup``).
    """
    from navigator.services.context import Ctx, identity
    from navigator.store.engine import open_store, resolve_url

    making = getattr(args, "command", None) in CREATING_COMMANDS
    create = making if create is None else create
    initialise = making if initialise is None else initialise
    url = resolve_url(args.db, args.db_url)
    store = open_store(url, create=create)
    ctx = Ctx(store, username=identity(store))
    if not _has_users(ctx):
        if not initialise:
            store.dispose()
            raise StoreError(
                f"The store at {store.path or 'the configured database'} is not set up yet. "
                "Run `navigator init --template blank` (or `--template kent`) to set it up."
            )
        from navigator.services.setup.reference import initialise as init_store

        created = init_store(ctx, template=template)
        if created:
            err_console.print(Text.assemble("Created a new store; ", (ctx.username, "bold"), " is its first admin."))
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
    if getattr(args, "command", None) not in NOT_CASEWORK_COMMANDS:
        close_due_no_response(ctx)
    return store, ctx


def close_due_no_response(ctx) -> None:
    """Close the journeys whose opt-in period has ended, if the protocol says it is automatic (issue 15).
    A problem is a warning: the command asked for goes on."""
    from navigator.services.casework import loops

    try:
        result = loops.close_due_no_response(ctx)
    except (StoreError, DomainError) as exc:
        err_console.print(Text.assemble(("warning:", "yellow"), f" no-response closures were not made: {exc}"))
        return
    if result.closed:
        n = len(result.closed)
        err_console.print(
            f"Closed {n} journey{'s' if n != 1 else ''} for no response (the protocol's opt-in period ended)."
        )


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

    # The daily backup waits for the first screen, then runs in a process of its own: a new day's copy
    # of a large store takes seconds, and quitting must never wait for it (daily_backup.py).
    return run_app(ctx, after_start=lambda: detached_daily_backup(store)) or 0


def detached_daily_backup(store):
    """Start today's backup of a SQLite store in a detached process (None: nothing to do); a warning if
    the process cannot even start."""
    if not store.is_sqlite or store.path is None:
        return None
    from navigator.services.operations import daily_backup

    try:
        return daily_backup.start(store.path)
    except OSError as exc:
        return f"today's backup was not taken: it could not start ({exc.strerror or type(exc).__name__})"


def _say_error(message: str) -> None:
    err_console.print(Text.assemble(("navigator:", "bold red"), " ", message))  # the message is data


def main(argv: list[str] | None = None) -> int:
    """Run the command; the exit code is ``exit_code`` of any error (never a traceback)."""
    args = parse_args(argv)
    handler: Callable | None = getattr(args, "handler", None)
    try:
        if handler is None:
            return _open_app(args)
        return int(handler(args) or 0)
    except KeyboardInterrupt as exc:
        err_console.print("Interrupted; nothing half-written was kept.")
        return exit_code(exc)
    except (StoreError, DomainError, CommandError) as exc:
        _say_error(str(exc))
        return exit_code(exc)
    except OSError as exc:
        _say_error(f"{exc.strerror or exc}. Check the path and its permissions.")
        return exit_code(exc)
    except Exception as exc:
        if os.environ.get("NAVIGATOR_DEBUG"):
            raise
        code = exit_code(exc)
        if code == EXIT_STORE:  # a database error: its text may hold values, so only its kind is shown
            _say_error(
                f"the database could not do this ({type(exc).__name__}). Nothing was changed. "
                "Run `navigator doctor` for what to do."
            )
        else:
            _say_error(
                f"an unexpected error ({type(exc).__name__}). Nothing was changed by it. "
                "Run `navigator doctor`, and report this with NAVIGATOR_DEBUG=1 output to your admin."
            )
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
