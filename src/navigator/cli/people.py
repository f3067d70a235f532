"""`navigator people`: merging two records of one person, and the merges done (team leads, admins)."""

from __future__ import annotations

from navigator.cli._output import add_json_flag, cell
from navigator.cli._prompt import add_yes_flag

HELP = """\
Two records of one person (the tracker import reports them as likely duplicates): a team lead keeps
one and merges the other into it. The merged record's journeys (with their contacts, plan, measures,
onward referrals and follow-ups) and reasons to look move to the kept one; the kept one takes the
details it lacks (NHS number, postcode, phone, email, address); the merged record stays, marked as
merged, and its reference leads to the kept person. Refused: a record into itself or into a merged
record, two different NHS numbers, an open journey on both, people outside your lots. Audited.
"""


def register(sub) -> None:
    p = sub.add_parser("people", help="merge two records of one person; list merges (team leads)", description=HELP)
    ps = p.add_subparsers(dest="people_command", metavar="ACTION", required=True)

    q = ps.add_parser("merge", help="merge MERGED_REF into KEEP_REF (asks first)", description=HELP)
    q.add_argument("keep_ref", metavar="KEEP_REF", help="the record to keep, e.g. NAV000123")
    q.add_argument("merged_ref", metavar="MERGED_REF", help="the record merged into it")
    q.add_argument("--reason", required=True, help="why these are the same person (kept in the audit log)")
    add_yes_flag(q)
    add_json_flag(q)
    q.set_defaults(handler=run_merge)

    q = ps.add_parser("merges", help="the merges done (in your lots)")
    add_json_flag(q)
    q.set_defaults(handler=run_merges)


def _person(b) -> dict:
    return {
        "client_ref": b.client_ref,
        "name": b.name,
        "date_of_birth": b.date_of_birth,
        "nhs_number": b.nhs_number,
        "locality": b.locality,
        "journeys": b.journeys,
        "open_journey_received": b.open_journey,
    }


def _describe(b) -> str:
    born = b.date_of_birth.strftime("%d/%m/%Y")
    nhs = f", NHS {b.nhs_number}" if b.nhs_number else ""
    open_ = f", open journey received {b.open_journey:%d/%m/%Y}" if b.open_journey else ""
    return f"{b.client_ref} {b.name}, born {born}{nhs}, {b.locality}: {b.journeys} journey(s){open_}"


def run_merge(args) -> int:
    from navigator.cli import console, context_from_args, err_console
    from navigator.cli._prompt import confirm
    from navigator.services.casework import merge

    store, ctx = context_from_args(args)
    try:
        plan = merge.preview(ctx, args.keep_ref, args.merged_ref)
        if not args.json:
            err_console.print(cell(f"Keep:  {_describe(plan.keep)}"))
            err_console.print(cell(f"Merge: {_describe(plan.merged)}"))
            err_console.print(cell(f"Moves: {plan.moves()}."))
        confirm(args, f"Merge {plan.merged.client_ref} into {plan.keep.client_ref}")
        done = merge.merge(ctx, plan.keep.client_ref, plan.merged.client_ref, args.reason)
    finally:
        store.dispose()
    if args.json:
        from navigator.cli._output import print_json

        print_json(
            {
                "kept": _person(done.keep),
                "merged": _person(done.merged),
                "moved": {
                    "journeys": done.journeys,
                    "measures": done.measures,
                    "goals": done.goals,
                    "onward_referrals": done.onward,
                    "follow_ups": done.tasks,
                    "reasons_to_look": done.grants,
                },
                "filled": list(done.filled),
                "differs": list(done.differs),
            }
        )
        return 0
    console.print(
        cell(
            f"Merged {done.merged.client_ref} into {done.keep.client_ref}: {done.moves()}. "
            f"{done.merged.client_ref} now leads to {done.keep.client_ref}."
        )
    )
    return 0


def run_merges(args) -> int:
    from rich.table import Table

    from navigator.cli import console, context_from_args
    from navigator.services.casework import merge

    store, ctx = context_from_args(args)
    try:
        rows = merge.merges(ctx)
    finally:
        store.dispose()
    if args.json:
        from navigator.cli._output import print_json

        print_json(
            {
                "merges": [
                    {
                        "at": m.at,
                        "by": m.username,
                        "kept_ref": m.keep_ref,
                        "merged_ref": m.merged_ref,
                        "journeys": m.journeys,
                        "reason": m.reason,
                    }
                    for m in rows
                ]
            }
        )
        return 0
    t = Table(show_edge=False, header_style="bold")
    for column in ("when", "by", "kept", "merged", "journeys moved", "reason"):
        t.add_column(column)
    for m in rows:
        t.add_row(
            cell(m.at.strftime("%Y-%m-%d %H:%M")),
            cell(m.username),
            cell(m.keep_ref),
            cell(m.merged_ref),
            cell(str(m.journeys)),
            cell(m.reason or "—"),
        )
    console.print(t)
    console.print(f"{len(rows)} merge(s).")
    return 0
