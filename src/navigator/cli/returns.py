"""`navigator returns`: the returns sent to commissioners, and whether their figures have moved."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from navigator.services.returns.figures import MovedJourney


def register(sub) -> None:
    from navigator.cli._output import add_json_flag

    p = sub.add_parser("returns", help="list sent returns; show what moved since one was sent (team leads)")
    add_json_flag(p)
    rs = p.add_subparsers(dest="returns_command", metavar="ACTION")
    add_json_flag(rs.add_parser("list", help="list the returns recorded as sent (the default)"), nested=True)
    show = rs.add_parser("show", help="what was sent vs what the same definitions give today, and why")
    add_json_flag(show, nested=True)
    show.add_argument("month", metavar="YYYY-MM", help="the month (its last sent return)")
    show.add_argument("--id", type=int, help="a particular sent return (see `navigator returns`)")
    show.add_argument("--all", action="store_true", help="show every figure, not only those that moved")
    p.set_defaults(handler=run)


def run(args) -> int:
    from navigator.cli import context_from_args

    store, ctx = context_from_args(args)
    try:
        if getattr(args, "returns_command", None) == "show":
            return _show(ctx, args)
        return _list(ctx, as_json=getattr(args, "json", False))
    finally:
        store.dispose()


def _sent_json(s) -> dict:
    return {
        "id": s.id,
        "month": s.month,
        "sent_at": s.sent_at,
        "username": s.username,
        "suppress_under": s.options.suppress_under,
        "round_to": s.options.round_to,
    }


def _list(ctx, *, as_json: bool = False) -> int:
    from rich.table import Table

    from navigator.cli import console
    from navigator.cli._output import cell
    from navigator.services.returns import figures as returns

    sent = returns.sent_returns(ctx)
    if as_json:
        from navigator.cli._output import print_json

        print_json({"returns": [_sent_json(s) for s in sent]})
        return 0
    if not sent:
        console.print(
            "No return has been recorded as sent. `navigator export --month YYYY-MM --out FILE --final` records one."
        )
        return 0
    table = Table(title="Sent returns")
    for col in ("id", "month", "sent at", "by", "suppress under", "round to"):
        table.add_column(col)
    for s in sent:
        table.add_row(
            str(s.id),
            s.month,
            s.sent_at.strftime("%Y-%m-%d %H:%M"),
            cell(s.username),
            str(s.options.suppress_under or "-"),
            str(s.options.round_to or "-"),
        )
    console.print(table)
    console.print("`navigator returns show YYYY-MM` compares a sent return with today's figures.")
    return 0


def _show(ctx, args) -> int:
    from rich.table import Table

    from navigator.cli import CommandError, console
    from navigator.cli._output import cell
    from navigator.services.returns import figures as returns

    month = returns.parse_month(args.month)
    if args.id is not None:
        sent_id = args.id
    else:
        info = returns.latest_sent(ctx, month)
        if info is None:
            raise CommandError(f"No return for {month} has been recorded as sent. `navigator returns` lists them.")
        sent_id = info.id
    d = returns.drift(ctx, sent_id)
    if d.sent.month != month:
        raise CommandError(f"Sent return {sent_id} is for {d.sent.month}, not {month}.")
    moved = d.moved
    shown = d.figures if args.all else moved
    if getattr(args, "json", False):
        from navigator.cli._output import print_json

        print_json(_drift_json(d, shown))
        return 0
    console.print(
        cell(
            f"Return {d.sent.id} for {d.sent.month}, sent {d.sent.sent_at:%Y-%m-%d %H:%M} by "
            f"{d.sent.username}: {len(moved)} of {len(d.figures)} figures have moved since."
        )
    )
    if shown:
        table = Table()
        for col in ("measure", "lot", "locality", "sent", "today", ""):
            table.add_column(col, justify="right" if col in ("sent", "today") else "left")
        measures = list(dict.fromkeys(f.measure for f in d.figures))
        for measure in measures:  # measure by measure: service, lots, localities
            for f in (x for x in shown if x.measure == measure):
                table.add_row(
                    cell(f.measure),
                    cell(f.lot),
                    cell(f.locality),
                    cell(f.sent_text or "-"),
                    cell(f.today_text or "-"),
                    cell("moved", style="bold yellow") if f.moved else "",
                )
        console.print(table)
    # measure by measure: the figures that moved, then the journeys (and their edits) that moved them
    for measure in dict.fromkeys(f.measure for f in moved):
        figs = [f for f in moved if f.measure == measure]
        where = "; ".join(f"{_scope(f)} {f.sent_text or '-'} -> {f.today_text or '-'}" for f in figs)
        console.print()
        console.print(cell(measure, style="bold") + cell(f": {where}"))
        journeys: dict[int, MovedJourney] = {}
        for f in figs:
            for j in f.journeys:
                journeys.setdefault(j.journey_id, j)
        if not journeys:
            console.print("  no journey's part changed (the calendar or reference data changed)")
        for j in journeys.values():
            console.print(cell(f"  {j.client_ref} (journey {j.journey_id}): {_part(measure, j.sent_x, j.today_x)}"))
            if not j.edits:
                console.print("    no edit recorded since sending (the calendar or reference data changed)")
            for e in j.edits:
                who = e.username + (f" (by {e.acting_as})" if e.acting_as else "")
                console.print(cell(f"    {e.at:%Y-%m-%d %H:%M} {who}: {e.action}" + (f" - {e.what}" if e.what else "")))
    return 0


def _drift_json(d, shown) -> dict:
    """`returns show --json`: the sent return, how many figures moved, and the figures shown."""
    return {
        "return": _sent_json(d.sent),
        "figures_total": len(d.figures),
        "figures_moved": len(d.moved),
        "figures": [
            {
                "measure": f.measure,
                "lot": f.lot,
                "locality": f.locality,
                "sent": f.sent_text or None,
                "today": f.today_text or None,
                "sent_suppressed": f.sent_suppressed,
                "today_suppressed": f.today_suppressed,
                "moved": f.moved,
                "journeys": [
                    {
                        "journey_id": j.journey_id,
                        "client_ref": j.client_ref,
                        "sent_x": j.sent_x,
                        "today_x": j.today_x,
                        "edits": [
                            {
                                "at": e.at,
                                "username": e.username,
                                "acting_as": e.acting_as,
                                "action": e.action,
                                "what": e.what,
                            }
                            for e in j.edits
                        ],
                    }
                    for j in f.journeys
                ],
            }
            for f in shown
        ],
    }


def _scope(f) -> str:
    if f.lot == "ALL":
        return "service"
    return f.lot if f.locality == "ALL" else f.locality


def _x(measure: str, x: int) -> str:
    if measure == "swemwbs_mean_change":
        return f"change {x / 100:+.2f}"
    if measure.endswith("_pct"):
        return "yes" if x else "no"
    if measure.endswith("_working_days"):
        return f"{x} working days"
    return str(x)


def _part(measure: str, sent_x, today_x) -> str:
    counted = not (measure.startswith("mean_") or measure.endswith("_pct") or measure == "swemwbs_mean_change")
    if sent_x is None:
        return "now counted" if counted else f"now counted ({_x(measure, today_x)})"
    if today_x is None:
        return "no longer counted" if counted else f"no longer counted (was {_x(measure, sent_x)})"
    return f"{_x(measure, sent_x)} -> {_x(measure, today_x)}"
