"""`navigator letters`: the letter templates, and producing a letter from a journey."""

from __future__ import annotations

import argparse
import os

from rich.table import Table
from rich.text import Text

HELP = """\
Templates (plain text with named fields in braces, like {client_first_name}; write {{ or }} for
a brace):
  opt_in_letter    to the person: the protocol's last attempt, with the opt-in deadline
  closure_notice   to the referrer, when a journey is closed
  partner_summary  to a delivery partner, for an onward referral (only with consent to share)
Each template may use only the fields its recipient should see: `navigator letters show NAME`
lists them, and saving a template with any other field is refused. A line whose fields are all
empty is left out. Producing a letter is recorded on the journey's timeline.

  navigator letters show opt_in_letter > my_letter.txt    (edit it, then:)
  navigator letters set opt_in_letter my_letter.txt
  navigator letters render 42 opt_in_letter --out letter.html --html
"""


def register(sub) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "letters", help="letter templates; produce a letter from a journey", description=HELP, formatter_class=raw
    )
    ls = p.add_subparsers(dest="letters_command", metavar="ACTION", required=True)

    q = ls.add_parser("list", help="the templates")
    q.set_defaults(handler=run_list)

    q = ls.add_parser("show", help="print a template (and the fields it may use on standard error)")
    q.add_argument("name")
    q.set_defaults(handler=run_show)

    q = ls.add_parser(
        "set", help="replace a template's wording from a text file (admins)", description=HELP, formatter_class=raw
    )
    q.add_argument("name")
    q.add_argument("file")
    q.set_defaults(handler=run_set)

    q = ls.add_parser("reset", help="go back to the built-in wording (admins)")
    q.add_argument("name")
    q.set_defaults(handler=run_reset)

    q = ls.add_parser(
        "render", help="produce a letter from a journey to a text or HTML file", description=HELP, formatter_class=raw
    )
    q.add_argument("journey_id", type=record_id)
    q.add_argument("template")
    q.add_argument("--out", required=True, metavar="FILE", help="the file to write (readable by you only)")
    q.add_argument("--html", action="store_true", help="an HTML page instead of plain text")
    q.add_argument(
        "--onward", type=record_id, metavar="ID", help="partner_summary: which onward referral (default: the latest)"
    )
    q.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    q.set_defaults(handler=run_render)


def run_list(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.casework import letters

    _, ctx = context_from_args(args)
    t = Table(show_edge=False, header_style="bold")
    for col in ("name", "letter", "to", "wording"):
        t.add_column(col)
    for tpl in letters.list_templates(ctx):
        t.add_row(tpl.name, tpl.title, tpl.recipient, "customised" if tpl.customised else "built-in")
    console.print(t)
    return 0


def run_show(args) -> int:
    from navigator.cli import console, context_from_args, err_console
    from navigator.services.casework import letters

    _, ctx = context_from_args(args)
    tpl = letters.get_template(ctx, args.name)
    console.out(tpl.text, end="", highlight=False)
    err_console.print(
        Text(f"\n{tpl.title} ({'customised' if tpl.customised else 'built-in wording'}); fields it may use:")
    )
    for f in tpl.fields:
        err_console.print(Text(f"  {{{f}}}  {letters.FIELD_HELP.get(f, '')}"))
    return 0


def run_set(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.cli.config import read_text_file
    from navigator.services.casework import letters

    text = read_text_file(args.file, "template file", limit=200_000)
    letters.check_template(args.name, text)  # refuse a bad template before opening the store
    _, ctx = context_from_args(args)
    tpl = letters.set_template(ctx, args.name, text)
    console.print(Text(f"{tpl.title} saved ({'customised' if tpl.customised else 'same as the built-in wording'})."))
    return 0


def run_reset(args) -> int:
    from navigator.cli import console, context_from_args
    from navigator.services.casework import letters

    _, ctx = context_from_args(args)
    tpl = letters.reset_template(ctx, args.name)
    console.print(Text(f"{tpl.title}: back to the built-in wording."))
    return 0


def record_id(value: str) -> int:
    """A record's number on the command line: a whole number the database can hold (1 to 2**63-1)."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 1 <= n <= 2**63 - 1:
        raise argparse.ArgumentTypeError(f"there is no record {value[:30]}")
    return n


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_private_file(out, text: str, *, force: bool):
    """Write ``out`` whole or not at all: a temporary file (0600) in its folder, flushed, then renamed;
    removed on any failure. A full disk is a clear CommandError."""
    import errno
    import tempfile
    from pathlib import Path

    from navigator.cli import EXIT_STORE, CommandError

    out = Path(out).expanduser().absolute()
    if out.is_dir():
        raise CommandError(f"{out} is a folder; give a file name.")
    if not out.parent.is_dir():
        raise CommandError(f"The folder {out.parent} does not exist.")
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)  # mode 0600
    try:
        try:
            _write_all(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if out.exists() and not force:
            raise CommandError(f"{out} already exists: choose another name, or add --force to overwrite it.")
        os.replace(name, out)
    except BaseException as exc:
        try:
            os.unlink(name)
        except OSError:
            pass
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise CommandError(
                f"The disk holding {out.parent} is full: free some space and try again. No file was written.",
                EXIT_STORE,
            ) from None
        raise
    return out


def run_render(args) -> int:
    from pathlib import Path

    from navigator.cli import CommandError, console, context_from_args
    from navigator.services.casework import letters

    out = Path(args.out).expanduser()
    if out.exists() and not args.force:
        raise CommandError(f"{out} already exists: choose another name, or add --force to overwrite it.")
    _, ctx = context_from_args(args)
    text = letters.render(ctx, args.journey_id, args.template, "html" if args.html else "text", onward_id=args.onward)
    p = write_private_file(out, text, force=True)
    console.print(Text(f"Letter written to {p} (readable by you only); recorded on the journey's timeline."))
    return 0
