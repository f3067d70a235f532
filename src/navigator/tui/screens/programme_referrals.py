"""One programme's onward referrals (team leads), from Partners (enter): the ones the partner never
replied to first, longest waiting first; then the rest, newest first. Enter opens the journey.
(services/casework/team_tools.py ``programme_referrals``)"""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Header, Static

from navigator.services.casework import team_tools
from navigator.services.casework.team_tools import ProgrammeReferrals
from navigator.tui.screens._lists import OpensJourneys, refill
from navigator.tui.screens.team import Col, cell, count_text
from navigator.tui.widgets import DataScreen, NavFooter, RowTable, Title, alert, fmt_date, plural

COLUMNS = (
    Col("client", "Person", "Person", 12, 20, grow=2, right=False),
    Col("ref", "Ref", "Ref", 9, 9, right=False),
    Col("navigator", "Navigator", "Navigator", 8, 12, grow=1, right=False),
    Col("referred", "Referred", "Referred", 11, 11, right=False),
    Col("status", "Status", "Status", 9, 14, right=False),
    Col("reply", "Partner's reply", "Reply", 11, 16, right=False),
    Col("days", "Working days", "Days", 5, 13),
    Col("chases", "Chases", "Chas", 4, 7),
)


class ProgrammeReferralsScreen(OpensJourneys, DataScreen):
    SCREEN_NAME = "Programme referrals"
    BINDINGS = [Binding("enter", "open", "Open journey"), Binding("escape", "back", "Back")]

    def __init__(self, partner: str, programme: str, since: date | None = None) -> None:
        super().__init__()
        self.partner = partner
        self.programme = programme
        self.since = since
        self.view: ProgrammeReferrals | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Title(f"{self.partner}: {self.programme}", id="programme-title")
        yield RowTable(id="programme-table", zebra_stripes=True, cell_padding=0)
        yield Static("", id="programme-status", classes="status")
        yield NavFooter()

    def on_mount(self) -> None:
        self.sub_title = "Programme referrals"
        self.query_one("#programme-table", DataTable).focus()

    def reload(self) -> None:
        self.call_service(
            "referrals", team_tools.programme_referrals, self.ctx, self.partner, self.programme, since=self.since
        )

    def loaded_referrals(self, view: ProgrammeReferrals, seq: int) -> None:
        self.view = view
        self._draw()
        self.query_one("#programme-title", Title).update(
            Content.from_markup(
                "[b]$name[/]  $made$since [dim]·[/] $silent with no reply",
                name=f"{view.partner}: {view.programme}",
                made=plural(len(view.rows), "onward referral"),
                since=f" since {fmt_date(view.since)}" if view.since else "",
                silent=f"{view.no_reply:,}",
            )
        )
        self.query_one("#programme-status", Static).update(
            Content.from_markup(
                "[dim]No reply first: working days since the referral (expected within $n) · then since the "
                "partner's last update · enter opens the journey · escape goes back[/]",
                n=str(view.expected_response_days),
            )
        )
        self.refresh_bindings()

    def _draw(self) -> None:
        view = self.view
        if view is None:
            return
        table = self.query_one("#programme-table", DataTable)
        late = alert(self.app)
        rows = []
        for r in view.rows:
            overdue = r.no_reply and r.working_days > view.expected_response_days
            reply = (
                Text("no reply", style=late if overdue else "bold")
                if r.no_reply
                else Text(fmt_date(r.last_update_date))
            )
            cells = (
                cell(r.client_name, right=False),
                cell(r.client_ref, right=False),
                cell(r.navigator, right=False),
                cell(fmt_date(r.referral_date), right=False),
                cell(r.status_label, right=False),
                cell(reply, right=False),
                cell(str(r.working_days), style=late if overdue else ""),
                cell(count_text(r.chases)),
            )
            rows.append((cells, str(r.onward_id)))
        refill(table, COLUMNS, rows)

    def _current(self) -> int | None:
        table = self.query_one("#programme-table", DataTable)
        if self.view is None or not table.row_count:
            return None
        i = table.cursor_row
        return self.view.rows[i].journey_id if 0 <= i < len(self.view.rows) else None

    def action_back(self) -> None:
        self.app.pop_screen()
