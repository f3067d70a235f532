"""Due and overdue in my lots (team leads): every navigator's Today in one list, in Today's groups,
most overdue first within a group; v shows one navigator at a time (and everyone again). Enter opens
the journey. (services/casework/team_tools.py ``lot_today``)"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Header, Static

from navigator.services.casework import team_tools
from navigator.services.casework.team_tools import LotToday
from navigator.tui.screens._lists import OpensJourneys, refill
from navigator.tui.screens.caseload import risk_marker
from navigator.tui.screens.team import Col, cell, fit_columns
from navigator.tui.widgets import DataScreen, NavFooter, RowTable, Title, alert, fmt_date, plural

COLUMNS = (
    Col("group", "Follow-up", "Follow-up", 10, 22, grow=1, right=False),
    Col("client", "Person", "Person", 10, 18, grow=2, right=False),
    Col("navigator", "Navigator", "Navigator", 8, 14, grow=1, right=False),
    Col("what", "What", "What", 8, 24, grow=2, right=False),
    Col("due", "Due", "Due", 11, 11, right=False),
    Col("late", "Overdue", "Late", 8, 8),
)


def person_text(name: str, ref: str, at_risk: bool, narrow: bool) -> Text:
    """The person and their reference; a journey flagged in crisis or at risk says so first, in words."""
    text = Text(name) + Text(f" {ref}", style="dim")
    return risk_marker(narrow) + text if at_risk else text


class LotTodayScreen(OpensJourneys, DataScreen):
    """Every navigator's due and overdue follow-ups in the lead's lots; v filters by navigator."""

    SCREEN_NAME = "Due in my lots"
    BINDINGS = [
        Binding("enter", "open", "Open journey"),
        Binding("v", "next_navigator", "Navigator filter"),
    ]

    def __init__(self, navigator: str | None = None) -> None:
        super().__init__()
        self.navigator = navigator  # None: everyone
        self.view: LotToday | None = None
        self._navigators: tuple[tuple[str, str], ...] = ()  # everyone with something due (kept while filtered)
        self._seq = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Title("Due and overdue in my lots", id="lot-today-title")
        yield RowTable(id="lot-today-table", zebra_stripes=True, cell_padding=0)
        yield Static("", id="lot-today-status", classes="status")
        yield NavFooter()

    def on_mount(self) -> None:
        self.sub_title = "Due in my lots"
        self.query_one("#lot-today-table", DataTable).focus()

    def reload(self) -> None:
        self._seq += 1
        self.call_service("lot", team_tools.lot_today, self.ctx, navigator=self.navigator, seq=self._seq)

    def loaded_lot(self, view: LotToday, seq: int) -> None:
        if seq != self._seq:
            return
        self.view = view
        if view.navigator is None:
            self._navigators = view.navigators
        self._draw()
        who = dict(self._navigators).get(view.navigator or "", view.navigator) if view.navigator else "everyone"
        overdue = sum(1 for i in view.items if i.overdue_days > 0)
        self.query_one("#lot-today-title", Title).update(
            Content.from_markup(
                "[b]Due and overdue[/] $on  [dim]·[/] $lots  [dim]·[/] $who: $n, $late overdue",
                on=f"{view.on:%a} {fmt_date(view.on)}",
                lots=", ".join(view.scope) if view.scope else "every lot",
                who=who or "everyone",
                n=plural(len(view.items), "follow-up"),
                late=f"{overdue:,}",
            )
        )
        groups = " · ".join(f"{g} {n}" for g, n in view.counts) or "nothing due"
        self.query_one("#lot-today-status", Static).update(
            Content.from_markup("[dim]$groups · v: one navigator, then everyone · enter opens[/]", groups=groups)
        )
        self.refresh_bindings()

    def _draw(self) -> None:
        view = self.view
        if view is None:
            return
        table = self.query_one("#lot-today-table", DataTable)
        late = alert(self.app)
        narrow = fit_columns(COLUMNS, table.size.width or self.app.size.width)[1]  # as refill lays it out
        refill(
            table,
            COLUMNS,
            (
                (
                    (
                        cell(i.group, right=False),
                        cell(person_text(i.client_name, i.client_ref, i.risk_flag, narrow), right=False),
                        cell(i.navigator_name, right=False),
                        cell(i.what, right=False),
                        cell(fmt_date(i.due_date), right=False),
                        cell(
                            plural(i.overdue_days, "day") if i.overdue_days else "today",
                            style=late if i.overdue_days else "",
                        ),
                    ),
                    str(i.task_id),
                )
                for i in view.items
            ),
        )

    def _current(self) -> int | None:
        table = self.query_one("#lot-today-table", DataTable)
        if self.view is None or not table.row_count:
            return None
        i = table.cursor_row
        return self.view.items[i].journey_id if 0 <= i < len(self.view.items) else None

    def action_next_navigator(self) -> None:
        """Everyone, then each navigator with something due (by name), then everyone again."""
        names = [u for u, _ in self._navigators]
        if not names:
            return
        if self.navigator is None:
            self.navigator = names[0]
        elif self.navigator in names and names.index(self.navigator) + 1 < len(names):
            self.navigator = names[names.index(self.navigator) + 1]
        else:
            self.navigator = None
        self.reload()
