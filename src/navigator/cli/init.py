"""`navigator init`: create (or upgrade) the store and make you its first admin."""

from __future__ import annotations

import argparse

HELP = """\
Creates the store (you become its first admin), or upgrades an existing one. A new store starts
from a template:

  blank  no lots, localities or partners: set your service up with the commands below
         (the generic lists of referral sources, support areas and personal outcomes are
         included; rename or retire what you do not use)
  kent   the Kent example: Kent's four lots, their localities and example partners

At a terminal, init asks which one when --template is not given; in a script --template is
required for a new store. Then, for a blank service:

  navigator reference add lot "Lot 1" "North"
  navigator reference add locality "Northtown" --lot "Lot 1"
  navigator users add asha.patel --name "Asha Patel" --role navigator --lot "Lot 1"
  navigator partners add "Money Advice North"
  navigator partners add-programme "Money Advice North" "Debt advice" --locality Northtown
"""


def register(sub) -> None:
    p = sub.add_parser(
        "init",
        help="create the store (you become its first admin) or upgrade it",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--template",
        choices=("blank", "kent"),
        help="what a new store starts with: blank (no lots, localities or partners) or kent (the Kent example)",
    )
    p.set_defaults(handler=run)


def _needs_setting_up(args) -> bool:
    """Would init create the store, or set up one that has no users? (Nothing is created to find out.)"""
    from pathlib import Path

    from navigator.cli import _has_users
    from navigator.services.context import Ctx
    from navigator.store.engine import _sqlite_database, open_store, resolve_url

    url = resolve_url(args.db, args.db_url)
    is_sqlite, database = _sqlite_database(url)
    if is_sqlite and database and not Path(database).exists():
        return True
    store = open_store(url, create=not is_sqlite)  # an empty PostgreSQL database gets its schema: init makes stores
    try:
        return not _has_users(Ctx(store, username="-"))
    finally:
        store.dispose()


def run(args) -> int:
    from rich.text import Text

    from navigator.cli import console, context_from_args
    from navigator.cli._prompt import choose

    template = args.template
    new = _needs_setting_up(args)
    if template is not None and not new:
        console.print(f"This store is already set up: --template {template} applies only to a new store.")
        template = None
    if template is None and new:
        template = choose(
            "A new store: start blank (no lots, localities or partners) or from the Kent example?",
            ["blank", "kent"],
            option="--template",
        )
    store, ctx = context_from_args(args, create=True, initialise=True, template=template or "kent")
    where = store.path or "the configured database"
    console.print(
        Text.assemble(
            f"Store ready at {where} (schema current). You are ",
            (ctx.username, "bold"),
            f" ({ctx.actor().role}).",
        )
    )
    if template == "blank":
        console.print(
            "A blank service: add your lots, localities, users and partners next (`navigator init --help` shows how)."
        )
    if store.backup_taken:
        console.print(f"Upgraded after a backup at {store.backup_taken}.")
    return 0
