"""`navigator config` (measures, the service's details, export/import) and `navigator calendar`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.table import Table
from rich.text import Text

from navigator.services.setup.admin_text import WORDING_FORMAT as WORDING_HELP

EXPORT_HELP = """\
The whole configuration in one TOML file: users (not their journeys), lots, localities, sources,
support areas, outcomes, partners and programmes, the protocol, the service's details, the
measures settings, calendar corrections and letter templates. Import adds and updates by name or
code and never deletes (retire with active = false); it checks the whole file first and applies
it all or nothing; importing the same file again changes nothing.
"""

CALENDAR_HELP = """\
Working days are Monday to Friday less England and Wales bank holidays. Correct the calendar with
a one-off non-working day (e.g. a bank holiday announced late, or the service closed) or a day
that is a working day after all. Response and waiting times count with the corrections; follow-ups
already scheduled keep their dates.

  navigator calendar add 2026-05-08 --non-working --note "Extra bank holiday"
"""


def register(sub) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "config",
        help="measures, the service's details, export and import (admins)",
        description=EXPORT_HELP,
        formatter_class=raw,
    )
    cs = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)

    q = cs.add_parser("show", help="the measures settings and the service's details")
    q.set_defaults(handler=run_show)

    q = cs.add_parser(
        "wording",
        help="load the SWEMWBS wording from the licensed text file",
        description=WORDING_HELP,
        formatter_class=raw,
    )
    q.add_argument("file", nargs="?", help="the wording file (see above)")
    q.add_argument("--clear", action="store_true", help="forget the wording")
    q.set_defaults(handler=run_wording)

    q = cs.add_parser("threshold", help="the SWEMWBS meaningful-change threshold (metric points, default 3)")
    q.add_argument("value")
    q.set_defaults(handler=run_threshold)

    q = cs.add_parser("ons4", help="switch the optional ONS4 measure on or off")
    q.add_argument("state", choices=["on", "off"])
    q.set_defaults(handler=run_ons4)

    q = cs.add_parser("service", help="the service's name and contact details used in letters")
    q.add_argument("--name")
    q.add_argument("--phone")
    q.add_argument("--email")
    q.add_argument("--address", help="postal address; use \\n between lines")
    q.set_defaults(handler=run_service)

    q = cs.add_parser(
        "export", help="write the whole configuration to a TOML file", description=EXPORT_HELP, formatter_class=raw
    )
    q.add_argument("file", help="the file to write ('-' for standard output)")
    q.add_argument("--force", action="store_true", help="overwrite the file if it exists")
    q.set_defaults(handler=run_export)

    q = cs.add_parser("import", help="apply a configuration TOML file", description=EXPORT_HELP, formatter_class=raw)
    q.add_argument("file")
    q.add_argument("--dry-run", action="store_true", help="only say what would change")
    q.set_defaults(handler=run_import)

    c = sub.add_parser(
        "calendar",
        help="calendar corrections: extra non-working or working days (admins)",
        description=CALENDAR_HELP,
        formatter_class=raw,
    )
    ks = c.add_subparsers(dest="calendar_command", metavar="ACTION", required=True)
    q = ks.add_parser("list", help="the corrections")
    q.set_defaults(handler=run_calendar_list)
    q = ks.add_parser("add", help="add (or change) a correction", description=CALENDAR_HELP, formatter_class=raw)
    q.add_argument("day", help="YYYY-MM-DD or DD/MM/YYYY")
    g = q.add_mutually_exclusive_group(required=True)
    g.add_argument("--non-working", action="store_true", help="an extra day off")
    g.add_argument("--working", action="store_true", help="a working day after all")
    q.add_argument("--note")
    q.set_defaults(handler=run_calendar_add)
    q = ks.add_parser("remove", help="remove a correction")
    q.add_argument("day")
    q.set_defaults(handler=run_calendar_remove)


# ---------------------------------------------------------------- shared by the admin commands


def read_text_file(path: str, what: str = "file", limit: int = 2_000_000) -> str:
    """Read a UTF-8 text file with a clear message for every way it can go wrong."""
    from navigator.cli import CommandError

    p = Path(path).expanduser()
    if not p.exists():
        raise CommandError(f"There is no {what} at {p}.")
    if p.is_dir():
        raise CommandError(f"{p} is a folder; give the {what} itself.")
    try:
        if p.stat().st_size > limit:
            raise CommandError(f"{p} is too large for a {what}.")
        return p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{p} is not UTF-8 text: save it as UTF-8 (plain text) and try again.") from None
    except PermissionError:
        raise CommandError(f"{p} cannot be read: check its permissions.") from None


def write_text_file(path: str, text: str, *, force: bool = False, private: bool = True) -> Path:
    """Write a file (owner-only when it may hold personal data); never overwrite without force."""
    from navigator.cli import CommandError

    p = Path(path).expanduser()
    if p.is_dir():
        raise CommandError(f"{p} is a folder; give a file name.")
    if p.exists() and not force:
        raise CommandError(f"{p} already exists: choose another name, or add --force to overwrite it.")
    if not p.parent.exists():
        raise CommandError(f"The folder {p.parent} does not exist.")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(p, flags, 0o600 if private else 0o644)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return p


# ---------------------------------------------------------------- config


def run_show(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    m = admin.measure_settings(ctx)
    svc = admin.service_details(ctx)
    t = Table(show_edge=False, show_header=False)
    t.add_column()
    t.add_column()
    t.add_row("service name", Text(svc.name))
    t.add_row("service phone", Text(svc.phone or "-"))
    t.add_row("service email", Text(svc.email or "-"))
    t.add_row("service address", Text(svc.address or "-"))
    t.add_row("SWEMWBS threshold", Text(f"{admin.threshold_text(m.threshold)} metric points"))
    t.add_row("ONS4", "on" if m.ons4_enabled else "off")
    t.add_row("SWEMWBS wording", Text("configured" if m.wording.configured else "not configured"))
    if m.wording.configured:
        for i, st in enumerate(m.wording.statements or (), 1):
            t.add_row(f"  statement {i}", Text(st))
        t.add_row("  copyright", Text(m.wording.copyright or ""))
    console.print(t)
    if not m.wording.configured:
        console.print(Text(admin.WORDING_HINT))
    return 0


def run_wording(args) -> int:
    from navigator.cli import CommandError, console, context_from_args
    from navigator.services.setup import admin

    if args.clear:
        if args.file:
            raise CommandError("Give a file or --clear, not both.")
        _, ctx = context_from_args(args)
        admin.set_wording(ctx, None, None)
        console.print("SWEMWBS wording cleared: forms show Statement 1 ... Statement 7.")
        return 0
    if not args.file:
        raise CommandError("Give the wording file (see `navigator config wording --help` for its format).")
    statements, copyright_ = admin.parse_wording(read_text_file(args.file, "wording file"))
    _, ctx = context_from_args(args)
    w = admin.set_wording(ctx, statements, copyright_)
    console.print(Text(f"SWEMWBS wording loaded: {len(w.statements or ())} statements; {w.copyright}"))
    return 0


def run_threshold(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    d = admin.set_threshold(ctx, args.value)
    console.print(f"Meaningful change threshold: {admin.threshold_text(d)} metric points.")
    return 0


def run_ons4(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    on = admin.set_ons4(ctx, args.state == "on")
    console.print(f"ONS4 is {'on: navigators can record it as a second measure' if on else 'off'}.")
    return 0


def run_service(args) -> int:
    from navigator.cli import CommandError, console, context_from_args
    from navigator.services.setup import admin

    values = {
        "name": args.name,
        "phone": args.phone,
        "email": args.email,
        "address": args.address.replace("\\n", "\n") if args.address is not None else None,
    }
    if all(v is None for v in values.values()):
        raise CommandError("Say what to set: --name, --phone, --email or --address.")
    _, ctx = context_from_args(args)
    svc = admin.set_service_details(ctx, **values)
    console.print(Text(f"Service details saved: {svc.name}."))
    return 0


def run_export(args) -> int:
    from navigator.cli import console, context_from_args, err_console
    from navigator.services.setup import config_io

    _, ctx = context_from_args(args)
    text = config_io.export_config(ctx)
    if args.file == "-":
        console.out(text, end="", highlight=False)
        return 0
    p = write_text_file(args.file, text, force=args.force)
    err_console.print(Text(f"Configuration written to {p}."))
    return 0


def run_import(args) -> int:
    from navigator.cli import CommandError, console, context_from_args
    from navigator.domain.errors import ValidationErrors
    from navigator.services.setup import config_io

    text = read_text_file(args.file, "configuration file")
    try:
        config_io.parse(text)  # a bad file is reported, every problem at once, before the store is opened
        _, ctx = context_from_args(args)
        report = config_io.import_config(ctx, text, dry_run=args.dry_run)
    except ValidationErrors as exc:
        lines = "\n".join(f"  {where}: {message}" for where, message in exc.errors.items())
        raise CommandError(f"{args.file} has {len(exc.errors)} problem(s); nothing was imported:\n{lines}") from None
    if not report.changes:
        console.print("Nothing to change: the store already has this configuration.")
        return 0
    head = "Would change (dry run, nothing saved):" if report.dry_run else "Imported:"
    console.print(head)
    for line in report.changes:
        console.print(Text(f"  {line}"))
    console.print(f"{len(report.changes)} change(s){' would be made' if report.dry_run else ' saved'}.")
    return 0


# ---------------------------------------------------------------- calendar


def _day(args_day: str, ctx):
    from navigator.domain.dates import parse_date

    return parse_date(args_day, today=ctx.today(), field="day", relative=False)


def run_calendar_list(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    rows = admin.list_calendar(ctx)
    t = Table(show_edge=False, header_style="bold")
    for col in ("day", "", "is", "note"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r.day.isoformat(),
            r.day.strftime("%a"),
            "working" if r.is_working_day else "non-working",
            Text(r.note or ""),
        )
    console.print(t)
    console.print(f"{len(rows)} correction(s).")
    return 0


def run_calendar_add(args) -> int:
    from navigator.cli import CommandError, console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    day = _day(args.day, ctx)
    if day is None:
        raise CommandError("Give the day, e.g. 2026-05-08.")
    row = admin.set_calendar_day(ctx, day, working=args.working, note=args.note)
    if row is None:
        console.print(f"{day.isoformat()} needs no correction now; the old one was removed.")
    else:
        console.print(f"{day.isoformat()} is now a {'working' if row.is_working_day else 'non-working'} day.")
    return 0


def run_calendar_remove(args) -> int:
    from navigator.cli import CommandError, console, context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    day = _day(args.day, ctx)
    if day is None:
        raise CommandError("Give the day, e.g. 2026-05-08.")
    admin.remove_calendar_day(ctx, day)
    console.print(f"Correction on {day.isoformat()} removed.")
    return 0
