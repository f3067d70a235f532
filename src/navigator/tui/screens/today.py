"""Today: what is due or overdue for me, grouped, each line saying what to do. Opens first."""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Header, OptionList, Static
from textual.widgets.option_list import Option

from navigator.domain import risk
from navigator.domain.followups import TaskKind, closes_automatically, onward_of
from navigator.services.casework import queries
from navigator.services.dto import TodayItem, TodayView

if TYPE_CHECKING:  # the casework writes load the ORM: imported when first used, not before the first frame
    from navigator.services.casework.loops import ClosedForNoResponse, DueClosures
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
        # issue 15: a journey flagged in crisis or at risk says so in words (not colour alone)
        Text.assemble((f"{risk.MARKER} ", "bold reverse"), item.what) if item.risk_flag else Text(item.what),
    )
    return grid


def _close_due_no_response(ctx, manual: bool = False) -> ClosedForNoResponse:
    """In the worker's thread: the ORM is imported there, not on the UI's."""
    from navigator.services.casework import loops

    return loops.close_due_no_response(ctx, manual=manual)


class TodayScreen(DataScreen):
    """The first screen: services.queries.today grouped by kind, with counts."""

    SCREEN_NAME = "Today"
    BINDINGS = [
        Binding("enter", "open", "Open journey"),
        Binding("r", "refresh", "Refresh", show=False),
        # issue 15: the loops closed from Today's items
        Binding("h", "chase", "Chase partner"),
        Binding("w", "letter", "Referrer's letter"),
        Binding("i", "referrer_told", "Referrer told"),
        Binding("X", "close_all_due", "Close all due"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: TodayView | None = None
        self._items: dict[str, TodayItem] = {}
        self._auto_close_started = False

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
        self.call_after_refresh(self.start_auto_close)  # issue 15: once the first list is on screen

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return bool(self._items)
        if action == "chase":
            item = self.highlighted_item()
            return item is not None and onward_of(item.task_key) is not None and item.kind == "chase_partner"
        if action in ("letter", "referrer_told"):
            item = self.highlighted_item()
            return item is not None and item.kind == TaskKind.TELL_REFERRER.value
        if action == "close_all_due":  # offered on a no-response closure item (the protocol may close it)
            item = self.highlighted_item()
            return item is not None and closes_automatically(item.task_key)
        return True

    def highlighted_item(self) -> TodayItem | None:
        option = self.query_one("#today-list", OptionList).highlighted_option
        return self._items.get(option.id or "") if option is not None else None

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.refresh_bindings()  # which item's actions the footer offers

    # ---------------------------------------------------------------- issue 15: the loops closed from Today
    def start_auto_close(self) -> None:
        """Once, after the first list is shown: the protocol's no-response closures (when automatic)."""
        if self._auto_close_started or not getattr(self.app, "close_due_on_start", False):
            return
        self._auto_close_started = True
        self.call_service("auto_closed", _close_due_no_response, self.ctx)

    def loaded_auto_closed(self, result: ClosedForNoResponse, seq: int) -> None:
        if result.closed:
            n = len(result.closed)
            self.notify(
                f"Closed {plural(n, 'journey')} for no response: the opt-in period ended. "
                "Tell their referrers (below).",
                title="No-response closure",
                timeout=10,
            )
            self.app.data_changed()

    def failed_auto_closed(self, error: BaseException, seq: int) -> bool:
        self.notify(f"No-response closures were not made: {error}", title="No-response closure", severity="warning")
        return True

    def action_chase(self) -> None:
        item = self.highlighted_item()
        onward_id = onward_of(item.task_key) if item is not None else None
        if item is None or onward_id is None or item.kind != "chase_partner":
            return
        from navigator.tui.forms.chase import ChaseForm, chase_message

        self.app.open_form(
            ChaseForm, onward_id, journey_id=item.journey_id, on_saved=lambda r: self.notify(chase_message(r))
        )

    def action_referrer_told(self) -> None:
        item = self.highlighted_item()
        if item is None or item.kind != TaskKind.TELL_REFERRER.value:
            return
        from navigator.tui.forms.referrer_told import ReferrerToldForm

        self.app.open_form(ReferrerToldForm, item.journey_id, journey_id=item.journey_id)

    def action_letter(self) -> None:
        """The referrer's letter (closure, rejection or no-response notice) of the highlighted item."""
        item = self.highlighted_item()
        if item is None or item.kind != TaskKind.TELL_REFERRER.value:
            return
        from navigator.services.casework import letters

        self.call_service("letter_for", letters.referrer_letter_for, self.ctx, item.journey_id)

    def loaded_letter_for(self, found: tuple[int, str | None], seq: int) -> None:
        journey_id, template = found
        from navigator.tui.admin.letter_dialog import letter_dialog

        def done(result) -> None:
            if result is not None:
                self.notify(f"Letter written to {result}", title="Letter")
                self.app.data_changed(journey_id)

        self.app.push_screen(letter_dialog(self.ctx, journey_id, template=template), done)

    def action_close_all_due(self) -> None:
        from navigator.services.casework import loops

        self.call_service("due_closures", loops.due_no_response, self.ctx)

    def loaded_due_closures(self, due: DueClosures, seq: int) -> None:
        n = len(due.journey_ids)
        if not n:
            self.notify("Nothing is due for no-response closure.", title="Close all due")
            return
        text = (
            f"Close {plural(n, 'journey')} for no response? Each is closed on the day its opt-in period ended, "
            "and a 'tell the referrer' follow-up is added."
        )
        if due.at_risk:
            text += f"\n{plural(due.at_risk, 'journey')} at risk {'is' if due.at_risk == 1 else 'are'} left for the team lead."

        def answer(yes: bool | None) -> None:
            if yes:
                from navigator.services.casework import loops

                self.call_service("closed_due", loops.close_due_no_response, self.ctx, manual=True)

        self.app.push_screen(CloseAllDueDialog(text), answer)

    def loaded_closed_due(self, result: ClosedForNoResponse, seq: int) -> None:
        n = len(result.closed)
        text = f"Closed {plural(n, 'journey')} for no response."
        if result.refused:
            text += f" {plural(result.refused, 'journey')} could not be closed on its due date: see Today."
        self.notify(text, title="Close all due")
        self.app.data_changed()

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


class CloseAllDueDialog(ModalScreen[bool]):
    """How many journeys "close all due" closes; go back (escape, the first button) or close them (c)."""

    BINDINGS = [Binding("escape", "back", "Go back"), Binding("c", "close", "Close them")]
    DEFAULT_CSS = """
    CloseAllDueDialog { align: center middle; background: $background 60%; }
    CloseAllDueDialog #close-due-box { width: 70; max-width: 95%; height: auto; background: $surface;
        border: thick $warning; padding: 1 2; }
    CloseAllDueDialog #close-due-text { height: auto; margin: 0 0 1 0; }
    CloseAllDueDialog Horizontal { height: auto; }
    CloseAllDueDialog Button { margin: 0 2 0 0; }
    CloseAllDueDialog Button:focus { text-style: bold reverse; }
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="close-due-box"):
            yield Static(self.text, id="close-due-text", markup=False)
            with Horizontal():
                yield Button("Go back", id="close-due-back", variant="primary", compact=True)
                yield Button("Close them (c)", id="close-due-yes", variant="error", compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#close-due-back", Button))

    def action_back(self) -> None:
        self.dismiss(False)

    def action_close(self) -> None:
        self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "close-due-yes")
