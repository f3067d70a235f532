"""Find: any person I may see, by name, ref, date of birth, postcode or NHS number."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Header, Input, Static

from navigator.services.casework import queries
from navigator.services.dto import FindHit
from navigator.tui.screens.caseload import SHORT_STATE
from navigator.tui.widgets import DataScreen, NavFooter, RowTable, fmt_date, plural


class FindScreen(DataScreen):
    SCREEN_NAME = "Find"
    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("slash", "focus_query", "Search", key_display="/"),
        Binding("escape", "escape", "Back", show=False),
        Binding("down", "focus_results", "Results", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[FindHit] = []
        self.searched = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="Name, ref, date of birth, postcode or NHS number, then enter", id="find-query")
        yield RowTable(id="find-results", zebra_stripes=True)
        yield Static("", id="find-status", classes="status")
        yield NavFooter()

    def on_mount(self) -> None:
        self.sub_title = "Find"
        table = self.query_one("#find-results", DataTable)
        for key, label in (
            ("name", "Name"),
            ("ref", "Ref"),
            ("dob", "Born"),
            ("postcode", "Postcode"),
            ("nhs", "NHS number"),
            ("locality", "Locality"),
            ("state", "Latest"),
            ("navigator", "Navigator"),
        ):
            table.add_column(label, key=key)
        self._status()
        self.query_one("#find-query", Input).focus()

    def on_screen_resume(self) -> None:
        if not self.hits:
            self.query_one("#find-query", Input).focus()

    def reload(self) -> None:
        # A search is audited: it runs when asked (enter), and again only after a save if one was made.
        if self.searched:
            self.call_service("find", queries.find, self.ctx, self.searched)

    def _status(self) -> None:
        status = self.query_one("#find-status", Static)
        if not self.searched:
            status.update(
                Content.from_markup(
                    "[dim]Type at least two characters and press enter. "
                    "People outside your caseload ask for a reason before opening.[/]"
                )
            )
        elif not self.hits:
            status.update(Content.from_markup("No one found for [b]$q[/].", q=self.searched))
        else:
            status.update(
                Content.from_markup(
                    "$n for [b]$q[/]  [dim]· enter opens their latest journey[/]",
                    n=plural(len(self.hits), "person", "people"),
                    q=self.searched,
                )
            )

    @on(Input.Submitted, "#find-query")
    def submitted(self, event: Input.Submitted) -> None:
        query = event.value.strip()
        if len(query) < 2:
            self.notify("Type at least two characters.", severity="warning")
            return
        self.searched = query
        self.call_service("find", queries.find, self.ctx, query)

    def loaded_find(self, hits: list[FindHit], seq: int) -> None:
        self.hits = list(hits)
        table = self.query_one("#find-results", DataTable)
        table.clear()
        for h in self.hits:
            state = SHORT_STATE.get(h.latest_state, h.latest_state) if h.latest_state else "none"
            name = h.name if h.mine else f"{h.name} (not in my caseload)"
            table.add_row(
                name,
                h.client_ref,
                fmt_date(h.date_of_birth),
                h.postcode or "",
                h.nhs_number or "",
                h.locality,
                state,
                h.navigator or "",
                key=str(h.client_id),
            )
        self._status()
        if self.hits:
            table.focus()

    def selected(self) -> FindHit | None:
        table = self.query_one("#find-results", DataTable)
        if not self.hits:
            return None
        return self.hits[min(max(table.cursor_row, 0), len(self.hits) - 1)]

    @on(DataTable.RowSelected, "#find-results")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        hit = self.selected()
        if hit is None:
            return
        journey_id = hit.latest_journey_id
        if journey_id is None:
            self.notify("This person has no journey to open.", severity="warning")
            return
        if hit.mine:
            self.app.open_journey(journey_id)
            return

        from navigator.tui.forms import FindReasonForm

        def reason_given(result) -> None:
            self.app.open_journey(journey_id)

        self.app.open_form(FindReasonForm, hit.client_id, on_saved=reason_given)

    def action_focus_query(self) -> None:
        self.query_one("#find-query", Input).focus()

    def action_focus_results(self) -> None:
        if self.hits:
            self.query_one("#find-results", DataTable).focus()

    async def action_escape(self) -> None:
        if isinstance(self.focused, Input) and self.hits:
            self.action_focus_results()
        else:
            await self.app.run_action("back")
