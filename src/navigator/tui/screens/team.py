"""Team (team leads and admins): the load per navigator, and totals per locality and lot.

Also the small pieces the other team-lead screens share: columns that fit the table's width, and
"panes" that show one at a time on a narrow terminal (keys 1, 2, 3) and side by side when wide.
The services refuse navigators (services.team); the app hides these screens from them too.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.events import Resize
from textual.widgets import DataTable, Header, Static

from navigator.services.casework import team
from navigator.services.casework.team import Load, NavigatorLoad, PlaceLoad, TeamView
from navigator.tui.widgets import (
    DataScreen,
    NavFooter,
    RowTable,
    Title,
    alert,
    fmt_date,
    heading,
    plural,
)

# ---------------------------------------------------------------- shared: columns that fit


@dataclass(frozen=True)
class Col:
    key: str
    label: str  # when wide
    short: str  # when narrow
    narrow: int  # minimum width when narrow
    wide: int  # minimum width when wide
    grow: int = 0  # share of spare width
    right: bool = True  # numbers


def fit_columns(columns: tuple[Col, ...], total: int) -> tuple[dict[str, int], bool]:
    """Widths per column for a table ``total`` cells wide, and whether it is narrow (short labels).
    Each cell carries a one-space gap before it (cell padding 0)."""
    avail = max(0, total - 2 - len(columns))  # the scrollbar, the gaps
    narrow = avail < sum(c.wide for c in columns)
    widths = {c.key: (c.narrow if narrow else c.wide) for c in columns}
    spare = avail - sum(widths.values())
    shares = sum(c.grow for c in columns)
    if spare > 0 and shares:
        for c in columns:
            widths[c.key] += spare * c.grow // shares
    return widths, narrow


def cell(value, right: bool = True, style: str = "") -> Text:
    """A cell with the one-space gap before it."""
    text = value if isinstance(value, Text) else Text("" if value is None else str(value), style=style)
    out = Text(" ", no_wrap=True, overflow="ellipsis") + text
    if right:
        out.justify = "right"
    return out


def set_columns(table: DataTable, columns: tuple[Col, ...]) -> bool:
    """(Re)create the table's columns to fit its width; returns whether it is narrow.
    A wide label may hold a line break: the header is then two lines high."""
    width = table.size.width or table.app.size.width
    widths, narrow = fit_columns(columns, width)
    table.clear(columns=True)
    table.header_height = 1 if narrow or not any("\n" in c.label for c in columns) else 2
    for c in columns:
        text = c.short if narrow else c.label
        if "\n" in text:
            label = Text("\n").join(cell(part, c.right) for part in text.split("\n"))
            label.justify = "right" if c.right else "left"
        else:
            label = cell(text, c.right)
        table.add_column(label, width=widths[c.key] + 1, key=c.key)
    return narrow


def count_text(n: int | None, *, zero: str = "·") -> str:
    """Counts in tables: a dot for zero (the eye finds the non-zero ones), a dash for none."""
    if n is None:
        return "-"
    return zero if n == 0 else f"{n:,}"


# ---------------------------------------------------------------- shared: panes


class PanedScreen(DataScreen):
    """Panes (``.pane`` children with ids from PANES): one at a time when narrow, all at once when wide."""

    PANES: tuple[tuple[str, str], ...] = ()  # (pane id, label)
    WIDE_AT = 150  # columns

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pane = 0
        self.wide = False

    def pane_tabs(self) -> Static:
        return Static("", classes="pane-tabs")

    def on_mount(self) -> None:
        self.add_class("paned")
        self._layout(self.app.size.width)

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        self.wide = width >= self.WIDE_AT
        self.set_class(self.wide, "-wide")
        self._show_pane()

    def pane_label(self, index: int) -> str:
        return self.PANES[index][1]

    def _show_pane(self) -> None:
        for i, (pane_id, _label) in enumerate(self.PANES):
            self.query_one(f"#{pane_id}").set_class(i == self.pane, "-current")
        parts = []
        for i in range(len(self.PANES)):
            label = self.pane_label(i)
            if i == self.pane:
                parts.append(Content.from_markup("[reverse b] $n $label [/]", n=str(i + 1), label=label))
            else:
                parts.append(Content.from_markup(" [b]$n[/] [dim]$label[/] ", n=str(i + 1), label=label))
        for tabs in self.query(".pane-tabs"):
            if isinstance(tabs, Static):
                tabs.update(Content(" ").join(parts))

    def refresh_pane_tabs(self) -> None:
        self._show_pane()

    def action_pane(self, index: int) -> None:
        if not 0 <= index < len(self.PANES):
            return
        self.pane = index
        self._show_pane()
        pane = self.query_one(f"#{self.PANES[index][0]}")
        for widget in pane.query("DataTable, Select, PlotextPlot"):
            if widget.focusable:
                widget.focus()
                break

    @staticmethod
    def pane_bindings(panes: tuple[tuple[str, str], ...]) -> list[Binding]:
        return [Binding(str(i), f"pane({i - 1})", label, show=False) for i, (_id, label) in enumerate(panes, 1)]


# ---------------------------------------------------------------- Team

LOAD_COLUMNS = (
    Col("open", "Open", "Open", 5, 6),
    Col("active", "Active", "Actv", 5, 6),
    Col("awaiting", "Awaiting\ncontact", "Await", 5, 8),
    Col("waiting", "Waiting\nto start", "Wait", 5, 8),
    Col("longest", "Longest\nwait", "Longest", 7, 8),
    Col("overdue", "Overdue\nfollow-ups", "Overdue", 7, 10),
    Col("no_resp", "Due for\nno-resp.", "No-resp", 7, 8),
    Col("completions", "Completed\nthis month", "Done", 5, 10),
)
NAV_COLUMNS = (Col("name", "Navigator", "Navigator", 12, 22, grow=1, right=False),) + LOAD_COLUMNS
PLACE_COLUMNS = (Col("place", "Locality or lot", "Place", 12, 22, grow=1, right=False),) + LOAD_COLUMNS

PANES = (("team-navigators", "Navigators"), ("team-places", "Localities and lots"))

# Sorting the navigators (s: the next column, S: the other way round, or a click on a column's header):
# the column's key -> the value a navigator sorts by (None: sorts last, whichever way).
NAV_SORTS = {
    "name": lambda n: n.name.casefold(),
    "open": lambda n: n.load.open,
    "active": lambda n: n.load.active,
    "awaiting": lambda n: n.load.awaiting_contact,
    "waiting": lambda n: n.load.waiting_to_start,
    "longest": lambda n: n.load.longest_wait,
    "overdue": lambda n: n.load.overdue,
    "no_resp": lambda n: n.load.due_no_response,
    "completions": lambda n: n.load.completions,
}


def sort_navigators(navs, column: str, descending: bool) -> list:
    """The navigators in the order of ``column`` (ties by name); a blank value sorts last."""
    key = NAV_SORTS[column]
    by_name = sorted(navs, key=lambda n: n.name.casefold())
    present = [n for n in by_name if key(n) is not None]
    blank = [n for n in by_name if key(n) is None]
    return sorted(present, key=key, reverse=descending) + blank


def load_cells(load: Load, app, style: str = "") -> list[Text]:
    late = alert(app)
    wait = "-" if load.longest_wait is None else plural(load.longest_wait, "day")
    return [
        cell(count_text(load.open), style=style),
        cell(count_text(load.active), style=style),
        cell(count_text(load.awaiting_contact), style=style),
        cell(count_text(load.waiting_to_start), style=style),
        cell(wait, style=style),
        cell(count_text(load.overdue), style=(late if load.overdue else style)),
        cell(count_text(load.due_no_response), style=(late if load.due_no_response else style)),
        cell(count_text(load.completions), style=style),
    ]


class TeamScreen(PanedScreen):
    """One row per navigator: their load; enter opens their caseload, R reassigns all their open journeys."""

    SCREEN_NAME = "Team"
    PANES = PANES
    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("r", "reassign_all", "Reassign all"),
        Binding("s", "sort_next", "Sort by next column"),
        Binding("S", "sort_reverse", "Reverse the sort"),
        *PanedScreen.pane_bindings(PANES),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sort_column = "name"
        self.sort_descending = False
        self.view: TeamView | None = None
        self._navs: list[NavigatorLoad] = []
        self._places: list[PlaceLoad] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Title("Team", id="team-title")
        yield self.pane_tabs()
        with Horizontal(id="team-body"):
            with Vertical(id="team-navigators", classes="pane"):
                yield Static(heading("Navigators"), classes="pane-title")
                yield RowTable(id="team-table", zebra_stripes=True, cell_padding=0)
            with Vertical(id="team-places", classes="pane"):
                yield Static(heading("Localities and lots"), classes="pane-title")
                yield RowTable(id="team-places-table", zebra_stripes=True, cell_padding=0)
        yield Static("", id="team-status", classes="status")
        yield NavFooter()

    def on_mount(self) -> None:
        self.sub_title = "Team"
        self.query_one("#team-table", DataTable).focus()

    def reload(self) -> None:
        self.call_service("team", team.team, self.ctx)

    def on_resize(self, event: Resize) -> None:
        if self.view is not None:
            self.call_after_refresh(self._draw)

    # ---------------------------------------------------------------- rendering
    def loaded_team(self, view: TeamView, seq: int) -> None:
        self.view = view
        self._draw()
        lots = ", ".join(view.scope) if view.scope else "every lot"
        inactive = sum(1 for n in view.navigators if not n.active)
        self.query_one("#team-title", Title).update(
            Content.from_markup(
                "[b]Team[/] $on  [dim]·[/] $lots  [dim]·[/] $navs$inactive",
                on=f"{view.on:%a} {fmt_date(view.on)}",
                lots=lots,
                navs=plural(len(view.navigators), "navigator"),
                inactive=f" ({inactive} deactivated, to reassign)" if inactive else "",
            )
        )
        self.query_one("#team-status", Static).update(
            Content.from_markup(
                "[dim]enter opens the caseload · s sorts, S reverses · overdue: due before today · done: completed "
                "in $month[/]",
                month=f"{view.on:%b}",
            )
        )
        self.refresh_bindings()

    def _draw(self) -> None:
        view = self.view
        if view is None:
            return
        table = self.query_one("#team-table", DataTable)
        current = table.cursor_row
        set_columns(table, NAV_COLUMNS)
        arrow = " ▼" if self.sort_descending else " ▲"
        for column in table.columns.values():
            if column.key.value == self.sort_column:
                column.label = column.label + Text(arrow, style="bold")
        self._navs = sort_navigators(view.navigators, self.sort_column, self.sort_descending)
        for n in self._navs:
            name = Text(n.name)
            if not n.active:
                name = Text(n.name, style="dim") + Text(" (deactivated)", style="italic")
            elif n.role != "navigator":
                name += Text(f" ({n.role.replace('_', ' ')})", style="dim")
            table.add_row(cell(name, right=False), *load_cells(n.load, self.app), key=n.username)
        if table.row_count:
            table.move_cursor(row=min(max(current, 0), table.row_count - 1), animate=False)
        places = self.query_one("#team-places-table", DataTable)
        set_columns(places, PLACE_COLUMNS)
        self._places = []
        for lot in view.lots:
            self._places.append(lot)
            places.add_row(
                cell(Text(lot.lot, style="bold"), right=False),
                *load_cells(lot.load, self.app, "bold"),
                key=f"lot:{lot.lot}",
            )
            for loc in view.localities:
                if loc.lot == lot.lot:
                    self._places.append(loc)
                    places.add_row(
                        cell("  " + loc.locality, right=False),
                        *load_cells(loc.load, self.app),
                        key=f"loc:{loc.locality}",
                    )
        self._places.append(view.total)
        places.add_row(
            cell(Text("Service", style="bold"), right=False),
            *load_cells(view.total.load, self.app, "bold"),
            key="service",
        )

    # ---------------------------------------------------------------- sorting
    def _sorted_by(self, column: str, descending: bool) -> None:
        self.sort_column, self.sort_descending = column, descending
        self._draw()
        label = next(c.label for c in NAV_COLUMNS if c.key == column).replace("\n", " ")
        order = ("Z to A" if descending else "A to Z") if column == "name" else ("highest" if descending else "lowest")
        self.notify(f"Navigators by {label.lower()}, {order}{'' if column == 'name' else ' first'}.", timeout=2)

    def action_sort_next(self) -> None:
        """The next column (numbers sort highest first, names A to Z)."""
        keys = [c.key for c in NAV_COLUMNS]
        column = keys[(keys.index(self.sort_column) + 1) % len(keys)]
        self._sorted_by(column, column != "name")

    def action_sort_reverse(self) -> None:
        self._sorted_by(self.sort_column, not self.sort_descending)

    @on(DataTable.HeaderSelected, "#team-table")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = event.column_key.value
        if column in NAV_SORTS:
            same = column == self.sort_column
            self._sorted_by(column, not self.sort_descending if same else column != "name")

    # ---------------------------------------------------------------- actions
    def current_navigator(self) -> NavigatorLoad | None:
        table = self.query_one("#team-table", DataTable)
        if not self._navs or not table.row_count:
            return None
        i = table.cursor_row
        return self._navs[i] if 0 <= i < len(self._navs) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open", "reassign_all"):
            return self.current_navigator() is not None or None
        return True

    @on(DataTable.RowSelected, "#team-table")
    def navigator_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @on(DataTable.RowSelected, "#team-places-table")
    def place_selected(self, event: DataTable.RowSelected) -> None:
        """A locality, lot or the service: its trends."""
        event.stop()
        i = event.cursor_row
        if 0 <= i < len(self._places):
            from navigator.tui.screens.trends import TrendsScreen

            p = self._places[i]
            scope = (
                ("service", None)
                if p.level == "service"
                else (("lot", p.lot) if p.level == "lot" else ("locality", p.locality))
            )
            self.app.push_screen(TrendsScreen(scope=scope))

    def action_open(self) -> None:
        if isinstance(self.focused, DataTable) and self.focused.id == "team-places-table":
            self.focused.action_select_cursor()
            return
        nav = self.current_navigator()
        if nav is not None:
            from navigator.tui.screens.caseload import CaseloadScreen

            self.app.push_screen(CaseloadScreen(navigator=nav.username))

    def action_reassign_all(self) -> None:
        nav = self.current_navigator()
        if nav is None:
            return
        if not nav.load.open:
            self.notify(f"{nav.name} has no open journeys to reassign.", severity="information")
            return
        self.call_service("ids", team.open_journey_ids, self.ctx, nav.username)

    def loaded_ids(self, ids: tuple[int, ...], seq: int) -> None:
        if ids:
            from navigator.tui.forms import ReassignForm

            self.app.open_form(ReassignForm, list(ids))
