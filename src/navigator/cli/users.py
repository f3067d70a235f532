"""`navigator users`: accounts, roles and lots (admins change; team leads may list)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

HELP = """\
Usernames are the person's login name on this computer: 1 to 64 lowercase letters, digits, dots,
underscores or hyphens. Roles: navigator (their own caseload), team_lead (every journey in their
lots), admin (configuration, all journeys). Lots are lot codes or names, e.g. --lot "Lot 1".
A deactivated user cannot open the store; their open journeys are listed for reassignment.
"""


def register(sub) -> None:
    p = sub.add_parser("users", help="add, edit, deactivate and list users (admins)", description=HELP)
    us = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    q = us.add_parser("list", help="everyone with an account")
    q.add_argument("--active", action="store_true", help="only active users")
    q.set_defaults(handler=run_list)

    q = us.add_parser("add", help="add a user", description=HELP)
    q.add_argument("username")
    q.add_argument("--name", required=True, help="the person's full name")
    q.add_argument("--role", default="navigator", help="navigator (default), team_lead or admin")
    q.add_argument("--lot", action="append", default=[], metavar="LOT", help="a lot they work in (repeat)")
    q.set_defaults(handler=run_add)

    q = us.add_parser("edit", help="change a user's name, role or lots", description=HELP)
    q.add_argument("username")
    q.add_argument("--name")
    q.add_argument("--role")
    g = q.add_mutually_exclusive_group()
    g.add_argument("--lot", action="append", metavar="LOT", help="replaces their lots (repeat for several)")
    g.add_argument("--no-lots", action="store_true", help="remove all their lots")
    q.set_defaults(handler=run_edit)

    q = us.add_parser("deactivate", help="a leaver: they can no longer open the store")
    q.add_argument("username")
    q.set_defaults(handler=run_deactivate)

    q = us.add_parser("reactivate", help="let a deactivated user back in")
    q.add_argument("username")
    q.set_defaults(handler=run_reactivate)

    q = us.add_parser("journeys", help="a user's open journeys (for reassignment)")
    q.add_argument("username")
    q.set_defaults(handler=run_journeys)


def _user_table(rows) -> Table:
    t = Table(show_edge=False, header_style="bold")
    for col in ("username", "name", "role", "lots", "status"):
        t.add_column(col)
    for u in rows:
        t.add_row(
            Text(u.username),
            Text(u.name),
            Text(u.role),
            Text(", ".join(u.lots) or "all"),
            Text("active" if u.active else "deactivated", style="" if u.active else "dim"),
        )
    return t


def run_list(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    rows = admin.list_users(ctx, include_inactive=not args.active)
    console.print(_user_table(rows))
    console.print(f"{len(rows)} user(s).")
    return 0


def run_add(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    u = admin.add_user(ctx, args.username, args.name, args.role, args.lot)
    console.print(Text(f"Added {u.username} ({u.name}), {u.role}, lots: {', '.join(u.lots) or 'none (all)'}."))
    return 0


def run_edit(args) -> int:
    from navigator.cli import CommandError, console, context_from_args
    from navigator.services.setup import admin

    lots = [] if args.no_lots else args.lot
    if args.name is None and args.role is None and lots is None:
        raise CommandError("Say what to change: --name, --role, --lot or --no-lots.")
    _, ctx = context_from_args(args)
    u = admin.edit_user(ctx, args.username, name=args.name, role=args.role, lots=lots)
    console.print(Text(f"{u.username}: {u.name}, {u.role}, lots: {', '.join(u.lots) or 'none (all)'}."))
    return 0


def print_open_journeys(rows, username: str) -> None:
    from navigator.cli import console

    if not rows:
        console.print(Text(f"{username} has no open journeys."))
        return
    t = Table(show_edge=False, header_style="bold", title=f"Open journeys of {username}: reassign them")
    for col in ("journey", "ref", "person", "state", "received", "locality"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r.journey_id),
            Text(r.client_ref),
            Text(r.client_name),
            Text(r.state_label),
            r.received_date.isoformat(),
            Text(r.locality),
        )
    console.print(t)
    console.print(f"{len(rows)} open journey(s) to reassign (a team lead's Caseload screen, or the reassign service).")


def run_deactivate(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    u = admin.deactivate_user(ctx, args.username)
    console.print(Text(f"Deactivated {u.username} ({u.name}): they can no longer open the store."))
    print_open_journeys(admin.open_journeys_of(ctx, u.username), u.username)
    return 0


def run_reactivate(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    u = admin.reactivate_user(ctx, args.username)
    console.print(Text(f"Reactivated {u.username} ({u.name})."))
    return 0


def run_journeys(args) -> int:
    from navigator.cli import context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    print_open_journeys(admin.open_journeys_of(ctx, args.username), args.username)
    return 0
