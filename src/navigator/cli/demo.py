"""`navigator demo`: fill a store with realistic demo data, report it, and open the app on it.

Without --db (and without NAVIGATOR_DB / NAVIGATOR_DATABASE_URL) the demo goes
into its own file in your data folder (demo.sqlite3), never into your real store.
"""

from __future__ import annotations

import os
from pathlib import Path

HELP = """\
Fills an empty store with a Kent service's last three years: navigators and team leads in every
lot, people referred once or several times, journeys in every state, contacts, plans, SWEMWBS,
onward referrals and partner updates, and follow-ups due today and overdue. You get a caseload too.
Any day works: on a weekend or bank holiday the data runs up to the last working day (so what is
"due today" is due on that day, and shows as late by one working day).
The same --seed gives the same data. Without --db the demo has its own file in your data folder,
separate from your real store; --fresh rebuilds that demo file (and only that file).
"""


def register(sub) -> None:
    p = sub.add_parser("demo", help="fill a store with realistic demo data and open it", description=HELP)
    p.add_argument("--clients", type=int, default=600, metavar="N", help="how many people (default 600)")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="random seed: same seed, same data (default 1)")
    p.add_argument("--no-open", action="store_true", help="create and report only; do not open the app")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="delete and rebuild the demo store first (only the demo file, never a store you name)",
    )
    p.set_defaults(handler=run)


def demo_path() -> Path:
    from navigator.store.paths import data_dir

    return data_dir() / "demo.sqlite3"


def _named_store(args) -> bool:
    return bool(args.db or args.db_url or os.environ.get("NAVIGATOR_DB") or os.environ.get("NAVIGATOR_DATABASE_URL"))


def _remove_demo_file(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        p.unlink(missing_ok=True)


def run(args) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from navigator.cli import CommandError, console, context_from_args, err_console
    from navigator.domain.errors import DomainError
    from navigator.services.demo import generator as demo

    if args.clients < 1:
        raise CommandError("--clients must be at least 1.")
    separate = not _named_store(args)
    target = demo_path()
    if separate:
        args.db = str(target)
    if args.fresh:
        chosen = Path(args.db).expanduser().absolute() if args.db and not args.db_url else None
        if chosen is None or chosen.resolve() != target.expanduser().absolute().resolve():
            raise CommandError(
                f"--fresh only rebuilds the demo store ({target}); it never deletes a store you name. "
                "Give a new file with --db instead."
            )
        _remove_demo_file(target)
    store, ctx = context_from_args(args)
    try:
        if args.clients >= 2000:
            with Progress(
                TextColumn("Creating demo data"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("people"),
                TimeElapsedColumn(),
                console=err_console,
                transient=True,
            ) as bar:
                task = bar.add_task("demo", total=args.clients)
                summary = demo.generate(
                    ctx, args.clients, args.seed, progress=lambda done, total: bar.update(task, completed=done)
                )
        else:
            summary = demo.generate(ctx, args.clients, args.seed)
    except DomainError as exc:
        if not (separate and exc.field == "store"):
            store.dispose()
            raise
        # the demo's own file, filled by an earlier `navigator demo`: open it again (nothing added)
        summary = None
    except Exception:
        store.dispose()
        raise
    if summary is None:
        console.print(
            f"The demo store ({store.path}) is already there, made earlier: opening it as it is. "
            "`navigator demo --fresh` rebuilds it.",
            markup=False,
        )
    else:
        _report(console, summary, ctx.username, separate, store.path)
    if args.no_open:
        store.dispose()
        return 0
    try:
        from navigator.tui.app import run_app
    except ImportError:
        store.dispose()
        console.print("The app is not installed in this build; the demo store is ready for it.")
        return 0
    return run_app(ctx) or 0


def _report(console, summary, username: str, separate: bool, path: Path | None) -> None:
    from rich.table import Table

    from navigator.domain.lifecycle import STATE_LABELS, State

    t = Table(title=f"Demo data (seed {summary.seed})", show_edge=False, header_style="bold")
    t.add_column("what")
    t.add_column("count", justify="right")
    t.add_row("People (clients)", f"{summary.clients:,}")
    t.add_row("Journeys (referrals)", f"{summary.journeys:,}")
    for state, n in summary.by_state:
        t.add_row(f"  {STATE_LABELS[State(state)]}", f"{n:,}")
    t.add_row("Contact attempts", f"{summary.contacts:,}")
    t.add_row("Onward referrals", f"{summary.onward_referrals:,}")
    t.add_row("Partner updates", f"{summary.partner_updates:,}")
    t.add_row("Open follow-ups", f"{summary.tasks_open:,}")
    t.add_row("  due today", f"{summary.tasks_due_today:,}")
    t.add_row("  overdue", f"{summary.tasks_overdue:,}")
    t.add_row("Users added", f"{len(summary.users_created):,}")
    console.print(t)
    console.print(
        f"Your Today list ({username}): {summary.my_items} item{'s' if summary.my_items != 1 else ''} due or overdue."
    )
    rate = f" in {summary.seconds:.1f}s ({summary.journeys_per_second:,.0f} journeys/s)" if summary.seconds else ""
    console.print(f"Created{rate}.")
    if separate:
        console.print(
            f"The demo lives in its own store, {path}, separate from your real store. "
            f"Reopen it with `navigator --db {path}`; rebuild it with `navigator demo --fresh`."
        )
    elif path is not None:
        console.print(f"Store: {path}")
