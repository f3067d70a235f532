"""`navigator reference`: lots, localities, referral sources, support areas, personal outcomes."""

from __future__ import annotations

from rich.table import Table

from navigator.cli._output import add_json_flag, cell

HELP = """\
KIND is lot, locality, source, area or outcome. Lots, sources, areas and outcomes have a CODE
that never changes (the tracker import and returns use it) and a NAME people read; a locality
is known by its name and belongs to a lot. Renaming changes the label only: journeys keep
their meaning and past returns keep the names they were sent with. Nothing is deleted:
retire what is no longer offered.

  navigator reference add lot "Lot 5" "Medway"
  navigator reference add locality "Rochester" --lot "Lot 5"
  navigator reference add source pharmacy "Community pharmacy"
  navigator reference rename locality Maidstone "Maidstone Town"
  navigator reference retire source jobcentre
"""


def register(sub) -> None:
    p = sub.add_parser(
        "reference",
        help="lots, localities, sources, areas, outcomes (admins)",
        description=HELP,
        formatter_class=_raw(),
    )
    rs = p.add_subparsers(dest="reference_command", metavar="ACTION", required=True)

    q = rs.add_parser("list", help="list one kind")
    q.add_argument("kind", help="lot, locality, source, area or outcome")
    q.add_argument("--active", action="store_true", help="hide retired entries")
    add_json_flag(q)
    q.set_defaults(handler=run_list)

    q = rs.add_parser("add", help="add an entry", description=HELP, formatter_class=_raw())
    q.add_argument("kind")
    q.add_argument("code", help="its code (a locality: its name)")
    q.add_argument("name", nargs="?", help="the name people read (not for a locality)")
    q.add_argument("--lot", help="a locality's lot")
    q.set_defaults(handler=run_add)

    q = rs.add_parser("rename", help="change an entry's name (its label only)")
    q.add_argument("kind")
    q.add_argument("code", help="its code (a locality: its current name)")
    q.add_argument("new_name")
    q.set_defaults(handler=run_rename)

    q = rs.add_parser("retire", help="no longer offer an entry (kept for history)")
    q.add_argument("kind")
    q.add_argument("code")
    q.set_defaults(handler=run_retire)

    q = rs.add_parser("unretire", help="offer a retired entry again")
    q.add_argument("kind")
    q.add_argument("code")
    q.set_defaults(handler=run_unretire)


def _raw():
    import argparse

    return argparse.RawDescriptionHelpFormatter


def _say(row, verb: str) -> None:
    from navigator.cli import console
    from navigator.services.setup.admin import KIND_LABELS

    extra = f" in {row.lot}" if row.lot else ""
    code = "" if row.kind == "locality" else f"{row.code}: "
    console.print(cell(f"{verb} {KIND_LABELS[row.kind]} {code}{row.name}{extra}."))


def run_list(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    kind = admin.kind_of(args.kind)
    rows = admin.list_reference(ctx, kind, include_retired=not args.active)
    if args.json:
        from navigator.cli._output import print_json

        print_json(
            {
                "kind": kind,
                "entries": [{"code": r.code, "name": r.name, "lot": r.lot, "active": r.active} for r in rows],
            }
        )
        return 0
    t = Table(show_edge=False, header_style="bold")
    cols = ("name", "lot", "status") if kind == "locality" else ("code", "name", "status")
    for col in cols:
        t.add_column(col)
    for r in rows:
        status = cell("active" if r.active else "retired", style="" if r.active else "dim")
        if kind == "locality":
            t.add_row(cell(r.name), cell(r.lot or ""), status)
        else:
            t.add_row(cell(r.code), cell(r.name), status)
    console.print(t)
    console.print(f"{len(rows)} {admin.KIND_LABELS[kind]} entries.")
    return 0


def run_add(args) -> int:
    from navigator.cli import CommandError, context_from_args
    from navigator.services.setup import admin

    kind = admin.kind_of(args.kind)
    if kind != "locality" and not args.name:
        raise CommandError(
            f"Give the {admin.KIND_LABELS[kind]}'s code and its name, e.g. "
            f'`navigator reference add {kind} CODE "Name"`.'
        )
    _, ctx = context_from_args(args)
    _say(admin.add_reference(ctx, kind, args.code, args.name, lot=args.lot), "Added")
    return 0


def run_rename(args) -> int:
    from navigator.cli import context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    _say(admin.rename_reference(ctx, args.kind, args.code, args.new_name), "Renamed:")
    return 0


def run_retire(args) -> int:
    from navigator.cli import context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    _say(admin.retire_reference(ctx, args.kind, args.code), "Retired")
    return 0


def run_unretire(args) -> int:
    from navigator.cli import context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    _say(admin.unretire_reference(ctx, args.kind, args.code), "Back in use:")
    return 0
