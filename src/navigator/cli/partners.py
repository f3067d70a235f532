"""`navigator partners`: delivery partners and their programmes."""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

from navigator.cli._output import add_json_flag, cell
from navigator.cli._prompt import add_yes_flag

HELP = """\
Partners and programmes are never deleted: retire them, and past onward referrals keep them.
A PARTNER is its name (or number); a PROGRAMME is its number from `navigator partners list`,
"Partner: Programme", or its name with --partner. A programme serves the localities given with
--locality (repeat), or every locality when none is given. Its expected response period is in
working days (default: the protocol's partner default); the navigator is prompted to chase the
partner when it passes with no update.

  navigator partners add "Kent Money Advice" --contact "01622 000000"
  navigator partners add-programme "Kent Money Advice" "Debt advice" --response-days 5 \\
      --locality Maidstone --locality Sevenoaks --eligibility "Kent residents in debt"
  navigator partners edit-programme 3 --all-localities
  navigator partners retire-programme "Kent Money Advice: Debt advice"
"""


def register(sub) -> None:
    p = sub.add_parser(
        "partners",
        help="delivery partners and programmes (admins)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ps = p.add_subparsers(dest="partners_command", metavar="ACTION", required=True)

    q = ps.add_parser("list", help="partners and their programmes")
    q.add_argument("--active", action="store_true", help="hide retired partners and programmes")
    add_json_flag(q)
    q.set_defaults(handler=run_list)

    q = ps.add_parser("add", help="add a partner")
    q.add_argument("name")
    q.add_argument("--contact", help="contact details (phone, email, address)")
    q.set_defaults(handler=run_add)

    q = ps.add_parser("edit", help="rename a partner or change its contact details")
    q.add_argument("partner")
    q.add_argument("--name")
    q.add_argument("--contact", help="new contact details ('' clears them)")
    q.set_defaults(handler=run_edit)

    for name, helptext in (
        ("retire", "stop offering a partner and all its programmes (kept for history; asks first)"),
        ("unretire", "offer a retired partner again (its programmes stay retired until brought back)"),
    ):
        q = ps.add_parser(name, help=helptext)
        q.add_argument("partner")
        if name == "retire":
            add_yes_flag(q)
        q.set_defaults(handler=run_retire, retired=name == "retire")

    q = ps.add_parser(
        "add-programme",
        help="add a programme to a partner",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument("partner")
    q.add_argument("name")
    _programme_options(q)
    q.set_defaults(handler=run_add_programme)

    q = ps.add_parser(
        "edit-programme",
        help="change a programme",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument("programme")
    q.add_argument("--partner", help="the partner, when PROGRAMME is a name")
    q.add_argument("--name")
    _programme_options(q)
    q.add_argument("--all-localities", action="store_true", help="serve every locality")
    q.set_defaults(handler=run_edit_programme)

    for name, helptext in (
        ("retire-programme", "stop offering a programme (kept for history)"),
        ("unretire-programme", "offer a retired programme again"),
    ):
        q = ps.add_parser(name, help=helptext)
        q.add_argument("programme")
        q.add_argument("--partner", help="the partner, when PROGRAMME is a name")
        q.set_defaults(handler=run_retire_programme, retired=name == "retire-programme")


def _programme_options(q) -> None:
    q.add_argument("--locality", action="append", metavar="LOCALITY", help="a locality served (repeat)")
    q.add_argument("--eligibility", help="eligibility notes ('' clears them)")
    q.add_argument("--response-days", type=int, metavar="N", help="expected response period in working days")
    q.add_argument("--contact", help="contact details for referrals ('' clears them)")


def _programme_line(g) -> Text:
    where = ", ".join(g.localities) if g.localities else "all localities"
    return cell(
        f"#{g.id} {g.partner}: {g.name}; {g.expected_response_days} working days; {where}"
        + ("" if g.active else " (retired)")
    )


def run_list(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    rows = admin.list_partners(ctx, include_retired=not args.active)
    if args.json:
        from navigator.cli._output import print_json

        print_json({"partners": [_partner_json(p, active_only=args.active) for p in rows]})
        return 0
    t = Table(show_edge=False, header_style="bold", show_lines=False)
    for col in ("#", "programme", "response", "localities", "status"):
        t.add_column(col)
    for p in rows:
        t.add_row(
            "",
            cell(p.name, style="bold"),
            "",
            cell(p.contact or "", style="dim"),
            cell("active" if p.active else "retired", style="" if p.active else "dim"),
        )
        for g in p.programmes:
            offered = g.active and p.active  # a retired partner's programmes are not offered
            if args.active and not offered:
                continue
            t.add_row(
                str(g.id),
                cell("  " + g.name),
                f"{g.expected_response_days} wd",
                cell(", ".join(g.localities) if g.localities else "all"),
                cell(
                    "active" if offered else ("retired" if not g.active else "retired (partner retired)"),
                    style="" if offered else "dim",
                ),
            )
    console.print(t)
    console.print(f"{len(rows)} partner(s), {sum(len(p.programmes) for p in rows)} programme(s).")
    return 0


def _partner_json(p, *, active_only: bool = False) -> dict:
    return {
        "id": p.id,
        "name": p.name,
        "contact": p.contact,
        "active": p.active,
        "programmes": [
            {
                "id": g.id,
                "name": g.name,
                "expected_response_days": g.expected_response_days,
                "localities": list(g.localities),
                "eligibility_notes": g.eligibility_notes,
                "contact": g.contact,
                "active": g.active,
                "offered": g.active and p.active,
            }
            for g in p.programmes
            if not active_only or (g.active and p.active)
        ],
    }


def run_add(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    p = admin.add_partner(ctx, args.name, args.contact)
    console.print(cell(f"Added partner {p.name}. Add its programmes with `navigator partners add-programme`."))
    return 0


def run_edit(args) -> int:
    from navigator.cli import CommandError, console, context_from_args
    from navigator.services.setup import admin

    if args.name is None and args.contact is None:
        raise CommandError("Say what to change: --name or --contact.")
    _, ctx = context_from_args(args)
    p = admin.edit_partner(ctx, args.partner, name=args.name, contact=args.contact)
    console.print(cell(f"Partner {p.name} updated."))
    return 0


def run_retire(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.cli._prompt import confirm
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    if args.retired:
        before = admin.get_partner(ctx, args.partner)
        offered = [g for g in before.programmes if g.active]
        confirm(
            args,
            f"Retire {before.name} and its {len(offered)} programme(s) in use"
            + (f" ({', '.join(g.name for g in offered)})" if offered else ""),
        )
        p = admin.retire_partner(ctx, args.partner, retired=True)
        console.print(cell(f"{p.name} is retired, and so are its {len(offered)} programme(s) that were in use:"))
        for g in offered:
            console.print(cell(f"  retired #{g.id} {g.name}"))
        console.print("Past onward referrals keep them; `navigator partners unretire` brings the partner back.")
    else:
        p = admin.retire_partner(ctx, args.partner, retired=False)
        console.print(
            cell(
                f"{p.name} is back in use. Its programmes stay retired: bring back the ones to offer with "
                "`navigator partners unretire-programme`."
            )
        )
    return 0


def run_add_programme(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    g = admin.add_programme(
        ctx,
        args.partner,
        args.name,
        localities=args.locality or (),
        eligibility_notes=args.eligibility,
        expected_response_days=args.response_days,
        contact=args.contact,
    )
    console.print(Text("Added ") + _programme_line(g))
    return 0


def run_edit_programme(args) -> int:
    from navigator.cli import CommandError, console, context_from_args
    from navigator.services.setup import admin

    if args.all_localities and args.locality:
        raise CommandError("Give --locality or --all-localities, not both.")
    localities = [] if args.all_localities else args.locality
    if all(v is None for v in (args.name, localities, args.eligibility, args.response_days, args.contact)):
        raise CommandError(
            "Say what to change: --name, --locality, --all-localities, --eligibility, --response-days or --contact."
        )
    _, ctx = context_from_args(args)
    g = admin.edit_programme(
        ctx,
        args.programme,
        partner=args.partner,
        name=args.name,
        localities=localities,
        eligibility_notes=args.eligibility,
        expected_response_days=args.response_days,
        contact=args.contact,
    )
    console.print(Text("Updated ") + _programme_line(g))
    return 0


def run_retire_programme(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    g = admin.retire_programme(ctx, args.programme, partner=args.partner, retired=args.retired)
    console.print(Text("Retired " if args.retired else "Back in use: ") + _programme_line(g))
    return 0
