"""`navigator doctor`: check the store's health; each problem says what to do. Exit 1 if anything is wrong."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "doctor",
        help="check the store: integrity, foreign keys, schema, audit chain, permissions, disk, filesystem",
        description="Check the store without changing it. Exit code 0 when all is well, "
        "1 when any check finds something to fix (each with what to do).",
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON on stdout (the shape is documented)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from rich.table import Table
    from rich.text import Text

    from navigator.cli import console
    from navigator.services.operations.doctor import OK, PROBLEM, examine, exit_code
    from navigator.store.engine import resolve_url

    report = examine(resolve_url(args.db, args.db_url))
    if getattr(args, "json", False):
        from navigator.cli._output import print_json

        print_json(
            {
                "where": report.where,
                "healthy": report.healthy,
                "findings": [
                    {"check": f.check, "status": f.status, "detail": f.detail, "fix": f.fix} for f in report.findings
                ],
            }
        )
        return exit_code(report)
    table = Table(title=Text(f"navigator doctor: {report.where}"), show_lines=False)
    table.add_column("check")
    table.add_column("result")
    table.add_column("details")
    style = {OK: "green", PROBLEM: "bold red"}
    for f in report.findings:
        table.add_row(Text(f.check), Text(f.status, style=style.get(f.status, "yellow")), Text(f.detail))
    console.print(table)
    if report.healthy:
        console.print("All checks passed.")
    else:
        console.print(Text(f"{len(report.problems)} thing(s) to fix:", style="bold"))
        for f in report.problems:
            console.print(Text(f"- {f.check}: {f.detail}"))
            if f.fix:
                console.print(Text(f"  What to do: {f.fix}"))
    return exit_code(report)
