"""Waiting and stuck (team leads): journeys waiting longest to start, onward referrals with no partner
update for N working days (with the navigator's chases since; "lead" once the protocol's chase limit is
reached), plans with no review in their review period, and journeys at risk whose opt-in period ended
(never closed for no response by the protocol). Enter opens the journey."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Header, Static

from navigator.services.casework import team
from navigator.services.casework.team import StuckView
from navigator.tui.screens._lists import OpensJourneys, refill
from navigator.tui.screens.team import Col, PanedScreen, cell
from navigator.tui.widgets import NavFooter, RowTable, Title, alert, fmt_date, heading, plural

PANES = (
    ("stuck-waiting", "Waiting to start"),
    ("stuck-onward", "No partner update"),
    ("stuck-reviews", "Reviews overdue"),
    ("stuck-at-risk", "At risk, no reply"),  # issue 15: never closed by the protocol
)

PERSON = (
    Col("client", "Person", "Person", 12, 20, grow=2, right=False),
    Col("ref", "Ref", "Ref", 9, 9, right=False),
    Col("navigator", "Navigator", "Navigator", 8, 12, grow=1, right=False),
)
WAITING_COLUMNS = PERSON + (
    Col("locality", "Locality", "Locality", 9, 16, grow=1, right=False),
    Col("accepted", "Accepted", "Accepted", 9, 11, right=False),
    Col("waited", "Waited", "Waited", 7, 8),
)
ONWARD_COLUMNS = PERSON + (
    Col("programme", "Partner: programme", "Programme", 12, 30, grow=3, right=False),
    Col("referred", "Referred", "Referred", 9, 11, right=False),
    Col("last", "Last update", "Update", 9, 11, right=False),
    Col("silent", "Silent", "Silent", 7, 8),
    Col("chased", "Chased", "Chsd", 5, 12),  # issue 15: chases since the partner's update; "lead" at the limit
)
REVIEW_COLUMNS = PERSON + (
    Col("locality", "Locality", "Locality", 9, 16, grow=1, right=False),
    Col("last", "Last review", "Reviewed", 9, 11, right=False),
    Col("since", "Since", "Since", 7, 8),
    Col("overdue", "Overdue by", "Over", 6, 10),
)
AT_RISK_COLUMNS = PERSON + (  # issue 15
    Col("due", "Closure due", "Due", 9, 12, right=False),
    Col("waiting", "Waiting", "Wait", 7, 8),
)
TABLES = {
    "stuck-waiting": ("stuck-waiting-table", WAITING_COLUMNS),
    "stuck-onward": ("stuck-onward-table", ONWARD_COLUMNS),
    "stuck-reviews": ("stuck-reviews-table", REVIEW_COLUMNS),
    "stuck-at-risk": ("stuck-at-risk-table", AT_RISK_COLUMNS),
}


def days(n: int) -> str:
    return f"{n} d"


class StuckScreen(OpensJourneys, PanedScreen):
    """Three lists, longest first; + and - change how many working days without a partner update count."""

    SCREEN_NAME = "Waiting and stuck"
    PANES = PANES
    WIDE_AT = 150
    BINDINGS = [
        Binding("enter", "open", "Open journey"),
        Binding("plus", "days(1)", "More days", key_display="+"),
        Binding("minus", "days(-1)", "Fewer days", key_display="-"),
        *PanedScreen.pane_bindings(PANES),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: StuckView | None = None
        self.partner_days: int | None = None  # None: the service's setting
        self._seq = 0
        self._rows: dict[str, list[int]] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Title("Waiting and stuck", id="stuck-title")
        yield self.pane_tabs()
        with Vertical(id="stuck-body"):
            for pane_id, label in PANES:
                table_id, _cols = TABLES[pane_id]
                with Vertical(id=pane_id, classes="pane"):
                    yield Static(heading(label), classes="pane-title", id=f"{pane_id}-title")
                    yield RowTable(id=table_id, zebra_stripes=True, cell_padding=0)
        yield Static("", id="stuck-status", classes="status")
        yield NavFooter()

    def on_mount(self) -> None:
        self.sub_title = "Waiting and stuck"
        self.query_one("#stuck-waiting-table", DataTable).focus()

    def reload(self) -> None:
        self._seq += 1
        self.call_service("stuck", team.waiting_and_stuck, self.ctx, partner_days=self.partner_days, seq=self._seq)

    def pane_label(self, index: int) -> str:
        label = PANES[index][1]
        if self.view is None:
            return label
        v = self.view
        total = (v.waiting_total, v.onward_total, v.reviews_total, v.at_risk_total)[index]
        return f"{label} ({total:,})"

    # ---------------------------------------------------------------- rendering
    def loaded_stuck(self, view: StuckView, seq: int) -> None:
        if seq != self._seq:
            return
        self.view = view
        self.partner_days = view.partner_days
        self._draw()
        self.refresh_pane_tabs()
        self.query_one("#stuck-title", Title).update(
            Content.from_markup(
                "[b]Waiting and stuck[/] $on  [dim]·[/] longest first, in working days",
                on=f"{view.on:%a} {fmt_date(view.on)}",
            )
        )
        self.query_one("#stuck-status", Static).update(
            Content.from_markup(
                "[dim]+/-[/] $n working days without a partner update [dim]·[/] plan reviews every $r",
                n=str(view.partner_days),
                r=str(view.review_every),
            )
        )
        self.refresh_bindings()

    def _draw(self) -> None:
        v = self.view
        if v is None:
            return
        today = v.on

        def short(d) -> str:
            return fmt_date(d, today, short=True)

        def person(r) -> list[Text]:
            return [
                cell(r.client_name, right=False),
                cell(Text(r.client_ref, style="dim"), right=False),
                cell(r.navigator, right=False),
            ]

        sections: dict[str, tuple[Any, int, Callable[[Any], list[Text]]]] = {
            "stuck-waiting": (
                v.waiting,
                v.waiting_total,
                lambda r: (
                    person(r)
                    + [
                        cell(r.locality, right=False),
                        cell(short(r.decision_date).strip(), right=False),
                        cell(days(r.waited)),
                    ]
                ),
            ),
            "stuck-onward": (
                v.onward,
                v.onward_total,
                lambda r: (
                    person(r)
                    + [
                        cell(f"{r.partner}: {r.programme}", right=False),
                        cell(short(r.referral_date).strip(), right=False),
                        cell(short(r.last_update).strip() or "none", right=False),
                        cell(days(r.silent)),
                        cell(
                            (f"{r.chases} lead" if r.team_lead_told else str(r.chases)) if r.chases else "-",
                            style=alert(self.app) if r.team_lead_told else "",
                        ),
                    ]
                ),
            ),
            "stuck-reviews": (
                v.reviews,
                v.reviews_total,
                lambda r: (
                    person(r)
                    + [
                        cell(r.locality, right=False),
                        cell(short(r.last_review).strip() or "never", right=False),
                        cell(days(r.since)),
                        cell(days(r.overdue_by)),
                    ]
                ),
            ),
        }
        sections["stuck-at-risk"] = (  # issue 15
            v.at_risk,
            v.at_risk_total,
            lambda r: person(r) + [cell(short(r.due_date).strip(), right=False), cell(days(r.waiting))],
        )
        titles = {
            "stuck-waiting": "Waiting to start",
            "stuck-onward": f"No partner update for {v.partner_days}+ working days",
            "stuck-reviews": f"No plan review within {v.review_every} working days",
            "stuck-at-risk": "At risk, opt-in period over: not closed automatically, you decide",
        }
        for pane_id, (rows, total, cells) in sections.items():
            table_id, columns = TABLES[pane_id]
            table = self.query_one(f"#{table_id}", DataTable)
            self._rows[table_id] = [r.journey_id for r in rows]
            refill(table, columns, ((cells(r), str(i)) for i, r in enumerate(rows)))
            more = f", the first {len(rows):,} shown" if total > len(rows) else ""
            self.query_one(f"#{pane_id}-title", Static).update(
                heading(titles[pane_id] + more, total)
                if total
                else Content.from_markup("[b $accent]$t[/] [dim]- none[/]", t=titles[pane_id])
            )

    # ---------------------------------------------------------------- actions
    def _current(self) -> int | None:
        table = self.focused if isinstance(self.focused, DataTable) else None
        if table is None:
            pane_id = PANES[self.pane][0]
            table = self.query_one(f"#{TABLES[pane_id][0]}", DataTable)
        ids = self._rows.get(table.id or "", [])
        i = table.cursor_row
        return ids[i] if ids and 0 <= i < len(ids) else None

    def action_days(self, step: int) -> None:
        current = self.partner_days or team.DEFAULT_STUCK_PARTNER_DAYS
        new = min(250, max(1, current + step))
        if new != current:
            self.partner_days = new
            self.reload()
            self.notify(f"Onward referrals with no partner update for {plural(new, 'working day')} or more.", timeout=3)

    def on_descendant_focus(self, event) -> None:
        self.refresh_bindings()
