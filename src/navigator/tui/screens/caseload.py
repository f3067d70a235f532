"""Caseload: my journeys in a table, filtered and sorted in the database, loaded a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import DataTable, Header, Input, Select, Static

from navigator.domain import risk
from navigator.domain.followups import TaskKind
from navigator.domain.lifecycle import State
from navigator.services.casework import queries
from navigator.services.dto import CaseloadPage, CaseloadRow
from navigator.tui.widgets import (
    DataScreen,
    NavFooter,
    RowTable,
    alert,
    fmt_date,
    options,
)

PAGE = 100  # rows fetched at a time
PREFETCH = 30  # fetch the next page when the cursor is this close to the end of what is loaded
# No debounce: each keystroke filters at once (a page is one indexed statement, a few milliseconds);
# answers to older keystrokes are dropped (``_seq``) and the workers of a group are exclusive.


@dataclass(frozen=True)
class Column:
    key: str  # also the service's sort key
    label: str
    short: str  # label when narrow
    narrow: int  # minimum width when narrow
    wide: int  # minimum width when wide (full labels and values)
    grow: int = 0  # share of spare width
    right: bool = False


COLUMNS = (
    Column("client", "Client", "Client", 10, 20, 3),
    Column("ref", "Ref", "Ref", 9, 9),
    Column("locality", "Locality", "Locality", 9, 17, 1),
    Column("state", "State", "State", 8, 26),
    Column("days", "Days in state", "Days", 4, 13, right=True),
    Column("next", "Next action", "Next", 13, 27, 3),
    Column("due", "Due", "Due", 7, 10),
    Column("last_contact", "Last contact", "Contact", 7, 12),
)
SORT_KEYS = tuple(c.key for c in COLUMNS)

STATE_FILTERS = (
    ("Open journeys", "open"),
    ("All journeys", "all"),
) + tuple((s.label, s.value) for s in State)

SHORT_STATE = {
    "received": "Received",
    "accepted": "Accepted",
    "started": "Started",
    "completed": "Completed",
    "closed_without_start": "Closed",
    "ended_early": "Ended",
    "rejected": "Rejected",
}
SHORT_NEXT = {
    TaskKind.FIRST_CONTACT.label: "First contact",
    TaskKind.CONTACT_ATTEMPT.label: "Next attempt",
    TaskKind.NO_RESPONSE_CLOSE.label: "No-resp close",
    TaskKind.DECIDE.label: "Decide",
    TaskKind.WAITING_TO_START.label: "Start",
    TaskKind.PLAN_REVIEW.label: "Plan review",
    TaskKind.CHASE_PARTNER.label: "Chase partner",
    TaskKind.PARTNER_FEEDBACK.label: "Partner f/up",
}


def column_widths(total: int) -> tuple[dict[str, int], bool]:
    """Widths per column for a table ``total`` cells wide; and whether it is narrow (short labels).

    Cells carry their own one-space gap (the table's cell padding is 0), so a column is width + 1.
    """
    avail = max(0, total - 2 - len(COLUMNS))  # the scrollbar, the gaps
    narrow = avail < sum(c.wide for c in COLUMNS)
    widths = {c.key: (c.narrow if narrow else c.wide) for c in COLUMNS}
    spare = avail - sum(widths.values())
    if spare > 0:
        shares = sum(c.grow for c in COLUMNS)
        for c in COLUMNS:
            widths[c.key] += spare * c.grow // shares
    return widths, narrow


def risk_marker(narrow: bool) -> Text:
    """What goes before the name of a person whose journey is flagged in crisis or at risk: words, not
    colour alone; in a narrow table the short word, so the name still shows."""
    return Text(f"{'RISK' if narrow else risk.MARKER} ", style="bold reverse")


def gap(cell: str | Text, right: bool = False) -> Text:
    """A cell with the one-space gap before it."""
    text = cell if isinstance(cell, Text) else Text(cell)
    out = Text(" ", no_wrap=True, overflow="ellipsis") + text
    if right:
        out.justify = "right"
    return out


def _reference_and_actor(ctx) -> tuple:
    from navigator.services.setup.reference import (
        reference,  # the ORM: not needed before the first frame
    )

    return reference(ctx), ctx.actor()


class CaseloadScreen(DataScreen):
    SCREEN_NAME = "Caseload"
    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("slash", "focus_filter", "Filter", key_display="/"),
        Binding("s", "sort_next", "Sort"),
        Binding("S", "sort_reverse", "Reverse", key_display="S"),
        Binding("space", "mark", "Mark", show=False),
        Binding("r", "reassign", "Reassign"),
        Binding("escape", "escape", "Back", show=False),
        Binding("down", "focus_table", "Table", show=False),
    ]

    def __init__(self, navigator: str | None = None) -> None:
        super().__init__()
        self.navigator = navigator  # whose caseload to open on (team leads, from Team); None: mine
        self.rows: list[CaseloadRow] = []
        self.total = 0
        self.sort_key = "due"
        self.descending = False
        self.marked: set[int] = set()
        self._seq = 0
        self._loading_more = False
        self._narrow = False
        self._layout_width = 0
        self._columns_shown: tuple | None = None  # (label, width) of the columns the table has

    # ---------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="caseload-filters", classes="filters"):
            yield Input(placeholder="Filter (/): name, ref, place", id="filter")
            yield Select(STATE_FILTERS, value="open", allow_blank=False, id="state-filter", prompt="State")
            yield Select([], prompt="All localities", id="locality-filter")
            # team leads and admins: whose caseload (shown once the reference data says who may)
            me = self.navigator or self.app.ctx.username
            yield Select(options([(me, me)]), value=me, id="navigator-filter", allow_blank=False)
        yield RowTable(id="caseload-table", zebra_stripes=True, cell_padding=0)
        yield Static("", id="caseload-status", classes="status")
        yield NavFooter()

    def on_mount(self) -> None:
        self.sub_title = "Caseload"
        self.query_one("#navigator-filter", Select).display = False
        self.call_service("reference", _reference_and_actor, self.ctx)
        self.query_one("#caseload-table", DataTable).focus()

    def _fit_filters(self) -> None:
        """With the navigator picker showing on a narrow screen, the pickers give the filter some room."""
        lead = self.query_one("#navigator-filter", Select).display
        self.query_one("#caseload-filters").set_class(lead and self.app.size.width < 120, "-narrow")

    def on_resize(self) -> None:
        self._fit_filters()
        table = self.query_one("#caseload-table", DataTable)
        if table.size.width and table.size.width != self._layout_width:
            self._render_table(keep_cursor=True)

    # ---------------------------------------------------------------- loading
    def query_args(self) -> dict:
        state = self.query_one("#state-filter", Select).value
        locality = self.query_one("#locality-filter", Select).value
        args: dict = {
            "text_filter": self.query_one("#filter", Input).value or None,
            "sort": "next" if self.sort_key == "next" else self.sort_key,
            # 'days' sorts on the date the state began: most days first is the earliest date
            "descending": (not self.descending) if self.sort_key == "days" else self.descending,
        }
        if state == "all":
            args["open_only"] = False
        elif state not in ("open", Select.NULL):
            args["states"] = [state]
        if locality is not Select.NULL and locality:
            args["locality"] = locality
        picker = self.query_one("#navigator-filter", Select)
        if (picker.display or self.navigator) and picker.value is not Select.NULL and picker.value != self.ctx.username:
            args["navigator"] = picker.value
        return args

    def reload(self) -> None:
        self._seq += 1
        self._loading_more = False
        self.call_service(
            "page",
            queries.caseload,
            self.ctx,
            offset=0,
            limit=PAGE,
            seq=self._seq,
            group="caseload",
            **self.query_args(),
        )

    def _load_more(self) -> None:
        if self._loading_more or len(self.rows) >= self.total:
            return
        self._loading_more = True
        self.call_service(
            "page",
            queries.caseload,
            self.ctx,
            offset=len(self.rows),
            limit=PAGE,
            seq=self._seq,
            group="caseload-more",
            **self.query_args(),
        )

    def loaded_reference(self, result: tuple, seq: int) -> None:
        ref, actor = result
        select = self.query_one("#locality-filter", Select)
        select.set_options(options((f"{loc.name} ({loc.lot_code})", loc.name) for loc in ref.localities))
        if actor.is_team_lead:
            navigators = [
                (u.username, u.username) for u in ref.navigators if u.role in ("navigator", "team_lead", "admin")
            ]
            if self.navigator and all(v != self.navigator for _, v in navigators):
                navigators.append((f"{self.navigator} (inactive)", self.navigator))  # a leaver's journeys
            picker = self.query_one("#navigator-filter", Select)
            with picker.prevent(Select.Changed):
                picker.set_options(options(navigators))
                picker.value = self.navigator or actor.username
            picker.display = True
            self._fit_filters()

    def loaded_page(self, page: CaseloadPage, seq: int) -> None:
        if seq != self._seq:
            return  # an older filter's answer
        if page.offset == 0:
            rows = list(page.rows)
            same = (
                rows == self.rows
                and page.total == self.total
                and self.query_one("#caseload-table", DataTable).row_count
                and getattr(self, "_rendered_sort", None) == (self.sort_key, self.descending)
            )
            self.rows = rows
            self.total = page.total
            if not same:  # a filter keystroke that leaves the same rows (one more letter of one name) repaints none
                self._render_table(keep_cursor=True)
        else:
            self._loading_more = False
            if page.offset != len(self.rows):
                return
            self.rows.extend(page.rows)
            self.total = page.total
            table = self.query_one("#caseload-table", DataTable)
            for r in page.rows:
                table.add_row(*self._cells(r), key=str(r.journey_id))
        self._update_status()

    def failed_page(self, error: BaseException, seq: int) -> bool:
        self._loading_more = False
        return False

    # ---------------------------------------------------------------- table
    def _person(self, r: CaseloadRow) -> Text:
        """The person's name: marked (●) for a bulk action; a journey at risk says so first, in words."""
        text = Text("● " if r.journey_id in self.marked else "")
        if r.risk_flag:  # issue 15: never colour alone
            text.append_text(risk_marker(self._narrow))
        return text + Text(r.client_name)

    def _cells(self, r: CaseloadRow) -> tuple[Text, ...]:
        today = self.ctx.today()
        next_action = r.next_action or ""
        if self._narrow:
            next_action = SHORT_NEXT.get(next_action, next_action)
        state = SHORT_STATE.get(r.state, r.state_label) if self._narrow else r.state_label
        due_text = fmt_date(r.next_due, today, short=True).strip()
        due = Text(due_text)
        if r.next_due is not None and r.next_due < today:
            due = Text(due_text + "!", style=alert(self.app))  # overdue: not by colour alone
        cells: tuple[str | Text, ...] = (
            self._person(r),
            r.client_ref,
            r.locality,
            state,
            str(r.days_in_state),
            next_action,
            due,
            fmt_date(r.last_contact, today, short=True).strip(),
        )
        return tuple(gap(cell, c.right) for cell, c in zip(cells, COLUMNS))

    def _render_table(self, keep_cursor: bool = False) -> None:
        table = self.query_one("#caseload-table", DataTable)
        self._rendered_sort = (self.sort_key, self.descending)
        current = self.current_row() if keep_cursor else None
        width = table.size.width or self.app.size.width
        self._layout_width = table.size.width
        widths, self._narrow = column_widths(width)
        columns = []
        for c in COLUMNS:
            label = c.short if self._narrow else c.label
            if c.key == self.sort_key:
                label = f"{label} {'▼' if self.descending else '▲'}"
            columns.append((c, label, widths[c.key] + 1))
        shown = tuple((label, w) for _, label, w in columns)
        if shown == self._columns_shown and table.columns:
            table.clear()  # the same columns: keep them (re-making them re-measures the whole table)
        else:
            table.clear(columns=True)
            for c, label, w in columns:
                table.add_column(gap(label, c.right), width=w, key=c.key)
            self._columns_shown = shown
        for r in self.rows:
            table.add_row(*self._cells(r), key=str(r.journey_id))
        if current is not None:
            try:
                table.move_cursor(row=table.get_row_index(str(current.journey_id)), animate=False)
            except Exception:
                pass

    def _update_status(self) -> None:
        status = self.query_one("#caseload-status", Static)
        state = self.query_one("#state-filter", Select)
        what = dict((v, k) for k, v in STATE_FILTERS).get(str(state.value), "journeys").lower()
        sort = next(c.label for c in COLUMNS if c.key == self.sort_key)
        if not self.total:
            text = Content.from_markup("[dim]No $what match.[/]", what=what)
        else:
            text = Content.from_markup(
                "$shown of $total $what  [dim]·[/]  sorted by $sort $dir",
                shown=f"{len(self.rows):,}",
                total=f"{self.total:,}",
                what=what,
                sort=sort.lower(),
                dir="(descending)" if self.descending else "(ascending)",
            )
        if self.marked:
            text = text + Content.from_markup("  [dim]·[/]  $n marked", n=str(len(self.marked)))
        status.update(text)

    def current_row(self) -> CaseloadRow | None:
        table = self.query_one("#caseload-table", DataTable)
        if not self.rows or table.row_count == 0:
            return None
        index = table.cursor_row
        return self.rows[index] if 0 <= index < len(self.rows) else None

    # ---------------------------------------------------------------- events
    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.reload()

    @on(Input.Submitted, "#filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#caseload-table", DataTable).focus()

    @on(Select.Changed)
    def select_changed(self, event: Select.Changed) -> None:
        if self.is_mounted:
            self.reload()

    @on(DataTable.RowHighlighted, "#caseload-table")
    def row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= len(self.rows) - PREFETCH:
            self._load_more()

    @on(RowTable.NearEnd, "#caseload-table")
    def near_end(self, event: RowTable.NearEnd) -> None:
        self._load_more()

    @on(DataTable.RowSelected, "#caseload-table")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @on(DataTable.HeaderSelected, "#caseload-table")
    def header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        if key == self.sort_key:
            self.descending = not self.descending
        else:
            self.sort_key, self.descending = key, False
        self.reload()

    # ---------------------------------------------------------------- actions
    def action_open(self) -> None:
        row = self.current_row()
        if row is not None:
            self.app.open_journey(row.journey_id)

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one("#caseload-table", DataTable).focus()

    async def action_escape(self) -> None:
        if isinstance(self.focused, Input):
            self.action_focus_table()
        else:
            await self.app.run_action("back")

    def action_sort_next(self) -> None:
        index = SORT_KEYS.index(self.sort_key)
        self.sort_key = SORT_KEYS[(index + 1) % len(SORT_KEYS)]
        self.descending = False
        self.reload()

    def action_sort_reverse(self) -> None:
        self.descending = not self.descending
        self.reload()

    def action_mark(self) -> None:
        row = self.current_row()
        if row is None:
            return
        self.marked.symmetric_difference_update({row.journey_id})
        table = self.query_one("#caseload-table", DataTable)
        table.update_cell(str(row.journey_id), "client", gap(self._person(row)))
        self._update_status()

    def action_reassign(self) -> None:
        current = self.current_row()
        ids = sorted(self.marked) or ([current.journey_id] if current is not None else [])
        if not ids:
            return

        from navigator.tui.forms import ReassignForm

        def saved(result) -> None:
            self.marked.clear()

        self.app.open_form(ReassignForm, ids, on_saved=saved)
