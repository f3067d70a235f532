"""`navigator users`: accounts, roles and lots (admins change; team leads may list)."""

from __future__ import annotations

from rich.table import Table

from navigator.cli._output import add_json_flag, cell
from navigator.cli._prompt import add_yes_flag

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
    add_json_flag(q)
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

    q = us.add_parser("deactivate", help="a leaver: they can no longer open the store (asks first)")
    q.add_argument("username")
    add_yes_flag(q)
    q.set_defaults(handler=run_deactivate)

    q = us.add_parser("reactivate", help="let a deactivated user back in")
    q.add_argument("username")
    q.set_defaults(handler=run_reactivate)

    q = us.add_parser("journeys", help="a user's open journeys (for reassignment)")
    q.add_argument("username")
    add_json_flag(q)
    q.set_defaults(handler=run_journeys)


def _user_table(rows) -> Table:
    t = Table(show_edge=False, header_style="bold")
    for col in ("username", "name", "role", "lots", "status"):
        t.add_column(col)
    for u in rows:
        t.add_row(
            cell(u.username),
            cell(u.name),
            cell(u.role),
            cell(", ".join(u.lots) or "all"),
            cell("active" if u.active else "deactivated", style="" if u.active else "dim"),
        )
    return t


def run_list(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    rows = admin.list_users(ctx, include_inactive=not args.active)
    if args.json:
        from navigator.cli._output import print_json

        print_json(
            {
                "users": [
                    {"username": u.username, "name": u.name, "role": u.role, "lots": list(u.lots), "active": u.active}
                    for u in rows
                ]
            }
        )
        return 0
    console.print(_user_table(rows))
    console.print(f"{len(rows)} user(s).")
    return 0


def run_add(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    u = admin.add_user(ctx, args.username, args.name, args.role, args.lot)
    console.print(cell(f"Added {u.username} ({u.name}), {u.role}, lots: {', '.join(u.lots) or 'none (all)'}."))
    return 0


def run_edit(args) -> int:
    from navigator.cli import CommandError, console, context_from_args
    from navigator.services.setup import admin

    lots = [] if args.no_lots else args.lot
    if args.name is None and args.role is None and lots is None:
        raise CommandError("Say what to change: --name, --role, --lot or --no-lots.")
    _, ctx = context_from_args(args)
    u = admin.edit_user(ctx, args.username, name=args.name, role=args.role, lots=lots)
    console.print(cell(f"{u.username}: {u.name}, {u.role}, lots: {', '.join(u.lots) or 'none (all)'}."))
    return 0


def print_open_journeys(rows, username: str) -> None:
    from navigator.cli import console

    if not rows:
        console.print(cell(f"{username} has no open journeys."))
        return
    t = Table(show_edge=False, header_style="bold", title=cell(f"Open journeys of {username}: reassign them"))
    for col in ("journey", "ref", "person", "state", "received", "locality"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r.journey_id),
            cell(r.client_ref),
            cell(r.client_name),
            cell(r.state_label),
            r.received_date.isoformat(),
            cell(r.locality),
        )
    console.print(t)
    console.print(f"{len(rows)} open journey(s) to reassign (a team lead's Caseload screen, or the reassign service).")


def run_deactivate(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.cli._prompt import confirm
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    confirm(args, f"Deactivate {args.username}: they will no longer be able to open the store")
    u = admin.deactivate_user(ctx, args.username)
    console.print(cell(f"Deactivated {u.username} ({u.name}): they can no longer open the store."))
    print_open_journeys(admin.open_journeys_of(ctx, u.username), u.username)
    return 0


def run_reactivate(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    u = admin.reactivate_user(ctx, args.username)
    console.print(cell(f"Reactivated {u.username} ({u.name})."))
    return 0


def run_journeys(args) -> int:
    from navigator.cli import context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    rows = admin.open_journeys_of(ctx, args.username)
    if args.json:
        from navigator.cli._output import print_json

        print_json(
            {
                "username": args.username,
                "journeys": [
                    {
                        "journey_id": r.journey_id,
                        "client_ref": r.client_ref,
                        "client_name": r.client_name,
                        "state": r.state,
                        "state_label": r.state_label,
                        "received_date": r.received_date,
                        "locality": r.locality,
                        "lot": r.lot,
                    }
                    for r in rows
                ],
            }
        )
        return 0
    print_open_journeys(rows, args.username)
    return 0
