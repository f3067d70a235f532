"""Questions on a terminal; in a script (stdin is not a terminal) nothing is asked: the command
needs the option that answers it (--yes, --template), and says so."""

from __future__ import annotations

import sys


def is_interactive() -> bool:
    """Is someone at a terminal to answer (stdin and stderr, where questions go, are terminals)?"""
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def add_yes_flag(parser) -> None:
    parser.add_argument(
        "--yes", "-y", action="store_true", help="do it without asking (needed when not run at a terminal)"
    )


def confirm(args, action: str) -> None:
    """Go on with an irreversible ``action`` only with --yes, or when the person at the terminal says
    yes; otherwise raise CommandError (a script: exit 2, saying to add --yes; a "no": exit 1)."""
    from rich.prompt import Confirm
    from rich.text import Text

    from navigator.cli import EXIT_FAILED, CommandError, err_console

    if getattr(args, "yes", False):
        return
    if not is_interactive():
        raise CommandError(f"{action}: this cannot be undone. Add --yes to do it when not at a terminal.")
    if not Confirm.ask(Text(f"{action}: this cannot be undone. Go ahead?"), console=err_console, default=False):
        raise CommandError("Cancelled; nothing was changed.", code=EXIT_FAILED)


def choose(question: str, choices: list[str], *, option: str) -> str:
    """The answer to ``question`` (one of ``choices``) from the person at the terminal; in a script,
    a CommandError saying to give ``option``."""
    from rich.prompt import Prompt
    from rich.text import Text

    from navigator.cli import CommandError, err_console

    if not is_interactive():
        raise CommandError(f"{question} Give {option} {'|'.join(choices)} (nothing is asked when not at a terminal).")
    return Prompt.ask(Text(question), console=err_console, choices=choices)
