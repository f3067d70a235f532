"""Today: what is due or overdue for me, grouped, each line saying what to do. Opens first."""

from __future__ import annotations

from itertools import groupby

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from navigator.services.casework import queries
from navigator.services.dto import TodayItem, TodayView
from navigator.tui.widgets import (
    DataScreen,
    NavFooter,
    Title,
    alert,
    fmt_date,
    heading,
    plural,
)


def _grid(person_width: int = 24) -> Table:
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(width=6, no_wrap=True)  # due
    grid.add_column(width=7, no_wrap=True, justify="right")  # overdue
    grid.add_column(width=person_width, no_wrap=True, overflow="ellipsis")  # person
    grid.add_column(width=9, no_wrap=True)  # ref
    grid.add_column(ratio=1, overflow="fold")  # what to do
    return grid


def header_prompt(person_width: int = 24) -> Table:
    grid = _grid(person_width)
    grid.add_row(*(Text(t, style="dim") for t in ("Due", "Overdue", "Person", "Ref", "What to do")))
    return grid


def late_text(item: TodayItem, today=None, late_style: str = "bold red") -> Text:
    """How late: working days overdue; 'today' when due today; 'due' when the date has passed but no working
    day has since (on a weekend or bank holiday, for Friday's tasks): never 'overdue by 0 days'."""
    if item.overdue_days > 0:
        return Text(plural(item.overdue_days, "day"), style=late_style)
    if today is not None and item.due_date > today:
        return Text("")
    if today is not None and item.due_date < today:
        return Text("due", style="bold")
    return Text("today", style="bold")


def item_prompt(item: TodayItem, today=None, person_width: int = 24, late_style: str = "bold red") -> Table:
    """One line: the due date, how late (working days), the person and ref, and what to do."""
    grid = _grid(person_width)
    grid.add_row(
        fmt_date(item.due_date, today, short=True),
        late_text(item, today, late_style),
        Text(item.client_name, style="bold"),
        Text(item.client_ref, style="dim"),
        Text(item.what),
    )
    return grid


class TodayScreen(DataScreen):
    """The first screen: services.queries.today grouped by kind, with counts."""

    SCREEN_NAME = "Today"
    BINDINGS = [
        Binding("enter", "open", "Open journey"),
        Binding("r", "refresh", "Refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: TodayView | None = None
        self._items: dict[str, TodayItem] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Title("Today", id="today-title")
        yield OptionList(id="today-list")
        yield Static("", id="today-empty", classes="empty")
        yield NavFooter()

    def on_mount(self) -> None:
        self.sub_title = "Today"
        self.query_one("#today-empty").display = False

    def reload(self) -> None:
        self.call_service("today", queries.today, self.ctx)

    def action_refresh(self) -> None:
        self.reload()

    def loaded_today(self, view: TodayView, seq: int) -> None:
        self.view = view
        option_list = self.query_one("#today-list", OptionList)
        previous = option_list.highlighted_option.id if option_list.highlighted_option else None
        total = len(view.items)
        on = f"{view.on:%a} {fmt_date(view.on)}"
        self.query_one("#today-title", Title).update(
            Content.from_markup(
                "[b]Today[/] $on  [dim]·[/] $due",
                on=on,
                due=(f"{total:,} due or overdue · days are working days") if total else "nothing due",
            )
        )
        counts = dict(view.counts)
        options: list[Option | None] = []
        person_width = 18 if self.app.size.width < 100 else 28
        self._items = {}
        if view.items:
            options.append(Option(header_prompt(person_width), id="header", disabled=True))
        for group, grouped in groupby(view.items, key=lambda i: i.group):
            items = list(grouped)
            options.append(Option(heading(group, counts.get(group, len(items))), id=f"group:{group}", disabled=True))
            for item in items:
                key = f"task:{item.task_id}"
                self._items[key] = item
                options.append(Option(item_prompt(item, view.on, person_width, alert(self.app)), id=key))
        option_list.set_options(options)
        empty = self.query_one("#today-empty", Static)
        if not view.items:
            empty.update(
                Content.from_markup(
                    "[b]Nothing is due today.[/]\n\n[dim]New referrals, contact attempts, reviews and partner "
                    "follow-ups appear here when they fall due.\nPress[/] n [dim]for a new referral,[/] l "
                    "[dim]for your caseload,[/] f [dim]to find a person.[/]"
                )
            )
        empty.display = not view.items
        option_list.display = bool(view.items)
        self.refresh_bindings()
        if view.items:
            index = None
            if previous is not None:
                try:
                    index = option_list.get_option_index(previous)
                except Exception:
                    index = None
            if index is None:
                index = next(i for i, o in enumerate(option_list.options) if not o.disabled)
            option_list.highlighted = index
            if self.focused is None:
                option_list.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return bool(self._items)
        return True

    def _open(self, option_id: str | None) -> None:
        item = self._items.get(option_id or "")
        if item is not None:
            self.app.open_journey(item.journey_id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._open(event.option_id)

    def action_open(self) -> None:
        option = self.query_one("#today-list", OptionList).highlighted_option
        self._open(option.id if option else None)
