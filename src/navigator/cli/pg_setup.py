"""`navigator pg-setup --db-url URL`: roles, grants and row-level policies on a PostgreSQL database."""

from __future__ import annotations

HELP = """\
Run by the database administrator (a superuser, or a role with CREATEROLE owning the database), as
often as you like: it creates or brings up to date the `navigator` schema (owned by navigator_owner,
which nobody logs in as), the migrations, one group role per app role (navigator_navigators,
navigator_team_leads, navigator_admins) with only the rights that role needs, row-level security
scoping people and journeys to each person's lots and caseload, and the audit function that stamps
who (session_user) and chains every event. Tables that `navigator migrate-store` copied into
`public` are moved into the schema.

Every person then logs in as their own database role: `navigator users add` creates it (in their
role's group), `users deactivate` makes it NOLOGIN. Give each person their password (psql
`\\password NAME`) or use peer/certificate authentication in pg_hba.conf.
"""


def register(sub) -> None:
    p = sub.add_parser(
        "pg-setup",
        help="set up a PostgreSQL database: roles, grants, row-level policies (database administrators)",
        description=HELP,
    )
    p.add_argument("--admin", metavar="LOGIN", help="on a store with no users: its first admin's login")
    p.add_argument("--admin-name", metavar="NAME", help="the first admin's full name")
    p.add_argument(
        "--template", default="kent", choices=("kent", "blank"), help="reference data for a new store (default kent)"
    )
    p.set_defaults(handler=run)


def run(args) -> int:
    from rich.text import Text

    from navigator.cli import EXIT_FAILED, CommandError, console
    from navigator.services.operations.pg_setup import set_up
    from navigator.store.engine import describe, resolve_url

    url = resolve_url(None, args.db_url)
    if url.startswith("sqlite"):
        raise CommandError("pg-setup needs a PostgreSQL database: --db-url postgresql+psycopg://... ")
    with console.status("Setting up...") as status:
        result = set_up(
            url,
            admin=args.admin,
            admin_name=args.admin_name,
            template=args.template,
            progress=lambda step: status.update(f"Setting up: {step}"),
        )
    console.print(Text.assemble("Set up ", (describe(url), "bold"), "."))
    if result.created_roles:
        console.print(Text("Created roles: " + ", ".join(result.created_roles)))
    if result.moved_tables:
        console.print(Text(f"Moved {result.moved_tables} tables from public into the navigator schema."))
    if result.first_admin:
        console.print(Text.assemble((result.first_admin, "bold"), " is the store's first admin (login created)."))
    for problem in result.problems:
        console.print(Text("problem: " + problem, style="red"))
    if result.problems:
        return EXIT_FAILED
    console.print("Roles, grants, row-level policies and the audit function are in place.")
    return 0
