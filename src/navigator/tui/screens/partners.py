"""Partners (team leads): per delivery partner and programme, the onward referrals made and what became
of them, the acceptance rate, the median working days to the partner's first update, and how many
wait on the partner past the programme's expected response, the referrals with no reply at all and the
chases made (services.team.partners)."""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import DataTable, Header, Select, Static

from navigator.domain.dates import add_months
from navigator.services.casework import team
from navigator.services.casework.team import PartnerStats, PartnersView
from navigator.tui.screens.team import Col, cell, count_text, set_columns
from navigator.tui.widgets import (
    DataScreen,
    NavFooter,
    RowTable,
    Title,
    alert,
    fmt_date,
)

PERIODS = (("All time", 0), ("Last 12 months", 12), ("Last 6 months", 6), ("Last 3 months", 3))

COLUMNS = (
    Col("programme", "Partner: programme", "Programme", 14, 34, grow=1, right=False),
    Col("made", "Made", "Made", 4, 6),
    Col("open", "Open", "Open", 4, 6),
    Col("started", "Started", "Strt", 4, 8),
    Col("completed", "Completed", "Done", 4, 10),
    Col("withdrew", "Withdrew", "Wdrw", 4, 9),
    Col("not", "Did not start", "DNS", 4, 14),
    Col("declined", "Declined", "Decl", 4, 9),
    Col("rate", "Accepted %", "Acc%", 6, 11),
    Col("median", "Days to 1st update", "Days", 5, 19),
    Col("late", "Past expected", "Late", 4, 14),
    Col("noreply", "No reply", "NoRe", 4, 9),  # issue 15: never updated by the partner
    Col("chases", "Chases", "Chas", 4, 7),  # issue 15: chases made
)


def months_before(on: date, months: int) -> date:
    return add_months(on, -months)  # 31 May - 3 months is 28 (or 29) February


class PartnersScreen(DataScreen):
    SCREEN_NAME = "Partners"
    BINDINGS = [
        Binding("enter", "referrals", "Referrals"),  # issue 15: the programme's referrals, no reply first
        Binding("s", "focus_period", "Period"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: PartnersView | None = None
        self.months = 0
        self._seq = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="partners-bar"):
            yield Title("Partners", id="partners-title")
            yield Select(PERIODS, value=0, allow_blank=False, id="partners-period")
        yield RowTable(id="partners-table", zebra_stripes=True, cell_padding=0)
        yield Static("", id="partners-status", classes="status")
        yield NavFooter()

    def on_mount(self) -> None:
        self.sub_title = "Partners"
        self.query_one("#partners-table", DataTable).focus()

    def reload(self) -> None:
        self._seq += 1
        since = months_before(self.ctx.today(), self.months) if self.months else None
        self.call_service("partners", team.partners, self.ctx, since=since, seq=self._seq)

    def on_resize(self) -> None:
        if self.view is not None:
            self.call_after_refresh(self._draw)

    def loaded_partners(self, view: PartnersView, seq: int) -> None:
        if seq != self._seq:
            return
        self.view = view
        self._draw()
        made = sum(r.made for r in view.rows)
        late = sum(r.waiting_past_expected for r in view.rows)
        self.query_one("#partners-title", Title).update(
            Content.from_markup(
                "[b]Partners[/]  $made onward referrals$since [dim]·[/] $late waiting past due",
                made=f"{made:,}",
                since=f" since {fmt_date(view.since)}" if view.since else "",
                late=f"{late:,}",
            )
        )
        self.query_one("#partners-status", Static).update(
            Content.from_markup(
                "[dim]Accepted: started ÷ (started + did not start + declined) · days: median working days from "
                "referral to the partner's first update · past expected (late): chase-partner follow-ups overdue · "
                "no reply: referrals the partner never updated · chases: the navigators' chases[/]"
            )
        )

    def _draw(self) -> None:
        view = self.view
        if view is None:
            return
        table = self.query_one("#partners-table", DataTable)
        current = table.cursor_row
        set_columns(table, COLUMNS)
        late_style = alert(self.app)
        for i, r in enumerate(view.rows):
            table.add_row(*self._cells(r, late_style), key=str(i))
        if table.row_count:
            table.move_cursor(row=min(max(current, 0), table.row_count - 1), animate=False)

    @staticmethod
    def _cells(r: PartnerStats, late_style: str) -> list[Text]:
        name = Text(r.partner, style="bold") + Text(": " + r.programme)
        rate = "-" if r.acceptance_rate is None else f"{r.acceptance_rate}%"
        median = "-" if r.median_first_update is None else f"{r.median_first_update}"
        return [
            cell(name, right=False),
            cell(count_text(r.made)),
            cell(count_text(r.open)),
            cell(count_text(r.started)),
            cell(count_text(r.completed)),
            cell(count_text(r.withdrew)),
            cell(count_text(r.did_not_start)),
            cell(count_text(r.declined)),
            cell(rate),
            cell(median),
            cell(count_text(r.waiting_past_expected), style=late_style if r.waiting_past_expected else ""),
            cell(count_text(r.no_reply)),
            cell(count_text(r.chases)),
        ]

    @on(Select.Changed, "#partners-period")
    def period_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL or event.value == self.months:
            return
        self.months = int(str(event.value))
        self.reload()

    def action_focus_period(self) -> None:
        self.query_one("#partners-period", Select).focus()

    # ---- issue 15: enter lists the programme's referrals, those with no reply first
    @on(DataTable.RowSelected, "#partners-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_referrals()

    def action_referrals(self) -> None:
        table = self.query_one("#partners-table", DataTable)
        if self.view is None or not table.row_count or not 0 <= table.cursor_row < len(self.view.rows):
            return
        from navigator.tui.screens.programme_referrals import ProgrammeReferralsScreen

        row = self.view.rows[table.cursor_row]
        self.app.push_screen(ProgrammeReferralsScreen(row.partner, row.programme, since=self.view.since))
