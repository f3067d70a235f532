"""`navigator protocol`: the no-response protocol and review schedule."""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

from navigator.services.setup.admin_text import PROTOCOL_LABELS as LABELS

HELP = """\
The no-response protocol turns into due follow-ups: attempt 1 within --first-within working days
of receipt; each further attempt --gaps working days after the one before (one gap fewer than
attempts); a suggested method per attempt (phone, text, email, letter, visit); after the last
attempt, --opt-in-days working days to opt in, then closure as "no response" (telling the
referrer when --notify-referrer). With --auto-close-no-response (the default) that closure is
made by navigator itself, dated the day the opt-in period ended, when the app or a command next
runs (never for a journey at risk); with --no-auto-close-no-response it waits on Today for "close
all due". A partner not answering --chase-limit chases is shown to the team lead. A change applies
to follow-ups scheduled after it: those already due keep their dates.

  navigator protocol set --attempts 3 --gaps 2,2 --methods phone,phone,letter --opt-in-days 10
"""


def register(sub) -> None:
    p = sub.add_parser(
        "protocol",
        help="the no-response protocol (admins change it)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ps = p.add_subparsers(dest="protocol_command", metavar="ACTION", required=True)
    q = ps.add_parser("show", help="the protocol in force")
    q.set_defaults(handler=run_show)
    q = ps.add_parser(
        "set", help="change the protocol", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    q.add_argument("--attempts", type=int, metavar="N")
    q.add_argument("--first-within", type=int, metavar="N")
    q.add_argument("--gaps", metavar="N,N", help="comma-separated, one fewer than attempts (none: '')")
    q.add_argument("--methods", metavar="M,M,M", help="comma-separated, one per attempt")
    q.add_argument("--opt-in-days", type=int, metavar="N")
    q.add_argument("--notify-referrer", action=argparse.BooleanOptionalAction, default=None)
    q.add_argument("--decide-within", type=int, metavar="N")
    q.add_argument("--review-every", type=int, metavar="N")
    q.add_argument("--partner-response-days", type=int, metavar="N")
    q.add_argument(
        "--chase-limit", type=int, metavar="N", help="unanswered partner chases before the team lead is told"
    )
    q.add_argument(
        "--auto-close-no-response",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="close for no response automatically when the opt-in period ends",
    )
    q.set_defaults(handler=run_set)


def print_protocol(proto) -> None:
    from navigator.cli import console

    t = Table(show_edge=False, show_header=False)
    t.add_column()
    t.add_column()
    for key, value in proto.to_dict().items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value) or "-"
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        t.add_row(LABELS.get(key, key), Text(str(value)))
    console.print(t)


def run_show(args) -> int:
    from navigator.cli import context_from_args
    from navigator.services.setup import admin

    _, ctx = context_from_args(args)
    print_protocol(admin.get_protocol(ctx))
    return 0


def _int_list(text: str) -> list[int]:
    from navigator.cli import CommandError

    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise CommandError("Give the gaps as whole numbers separated by commas, e.g. --gaps 2,2.") from None


def run_set(args) -> int:
    from navigator.cli import CommandError, console, context_from_args
    from navigator.domain.errors import DomainError
    from navigator.services.setup import admin

    changes = {
        "attempts": args.attempts,
        "first_within": args.first_within,
        "gaps": _int_list(args.gaps) if args.gaps is not None else None,
        "methods": [m.strip().lower() for m in args.methods.split(",") if m.strip()]
        if args.methods is not None
        else None,
        "opt_in_days": args.opt_in_days,
        "notify_referrer": args.notify_referrer,
        "decide_within": args.decide_within,
        "review_every": args.review_every,
        "partner_response_days": args.partner_response_days,
        "chase_limit": args.chase_limit,
        "auto_close_no_response": args.auto_close_no_response,
    }
    if all(v is None for v in changes.values()):
        raise CommandError("Say what to change, e.g. --attempts 3 --gaps 2,2 --methods phone,phone,letter.")
    _, ctx = context_from_args(args)
    try:
        proto = admin.set_protocol(ctx, **changes)
    except DomainError as exc:
        if exc.field in ("gaps", "methods") and args.attempts is not None:
            raise CommandError(
                f"{exc.message} With --attempts, give --gaps (one fewer) and --methods "
                "(one per attempt), e.g. --attempts 3 --gaps 2,2 --methods phone,phone,letter."
            ) from None
        raise
    console.print("Protocol saved; it applies to follow-ups scheduled from now on:")
    print_protocol(proto)
    return 0
