"""`navigator audit --client REF`: who viewed and changed a person's record, and when."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "audit",
        help="print a person's audit history (team leads and admins)",
        description="Every audit event about a person and their journeys (and the records merged into "
        "them): when, who (and who was acting for them), what, and what changed, in names and labels. "
        "Looking is audited too.",
    )
    p.add_argument("--client", metavar="REF", required=True, help="the person's reference, e.g. NAV000123")
    p.add_argument("--json", action="store_true", help="print the events as JSON on stdout (the shape is documented)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from rich.table import Table
    from rich.text import Text

    from navigator.cli import console, context_from_args
    from navigator.services.operations.audit_words import person_history

    store, ctx = context_from_args(args)
    try:
        history = person_history(ctx, args.client)
    finally:
        store.dispose()
    if getattr(args, "json", False):
        from navigator.cli._output import print_json

        print_json(
            {
                "client_ref": history.client_ref,
                "events": [
                    {
                        "at": e.at,
                        "who": e.raw.who,
                        "action": e.code,
                        "entity": e.raw.entity,
                        "entity_id": e.raw.entity_id,
                        "changes": [{"field": c.field, "before": c.before, "after": c.after} for c in e.raw.changes],
                        "who_name": e.who,
                        "what": e.action,
                        "in_words": list(e.lines),
                    }
                    for e in history.events
                ],
            }
        )
        return 0
    table = Table(title=Text(f"Audit history of {history.client_ref}"), show_lines=True, expand=False)
    table.add_column("when (local)", no_wrap=True)
    table.add_column("who")
    table.add_column("what")
    table.add_column("what changed")
    for e in history.events:
        table.add_row(
            Text(e.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")),
            Text(e.who),
            Text(f"{e.action}\n{e.code}"),
            Text("\n".join(e.lines) or "—"),
        )
    console.print(table)
    console.print(f"{len(history.events)} event(s). This look at the history was recorded too.")
    return 0
