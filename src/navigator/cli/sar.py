"""`navigator sar CLIENT_REF --out DIR`: answer a subject access request (JSON plus a readable HTML page)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "sar",
        help="write everything held about a person, and who viewed or changed it (team leads and admins)",
        description="Write a JSON file and a readable HTML page with everything the store holds "
        "about a person, including their audit history. Audited.",
    )
    p.add_argument("client_ref", metavar="CLIENT_REF", help="the person's reference, e.g. NAV000123")
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the two files (created if needed)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from rich.markup import escape

    from navigator.cli import console, context_from_args
    from navigator.services.operations.sar import subject_access

    store, ctx = context_from_args(args)
    try:
        result = subject_access(ctx, args.client_ref, args.out)
    finally:
        store.dispose()
    console.print(
        f"Subject access files for [bold]{escape(result.client_ref)}[/]: {result.journeys} journey(s), "
        f"{result.events} audit event(s)."
    )
    console.print(f"  {escape(str(result.html_path))}  (readable page)")
    console.print(f"  {escape(str(result.json_path))}  (everything, machine-readable)")
    console.print("Both are readable by you only. Send them securely; this export was recorded in the audit log.")
    return 0
