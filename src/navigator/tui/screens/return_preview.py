"""Return preview (team leads): the month's return exactly as the export computes it
(services.returns.preview: the same SQL), beside the previous month and the same month last year,
for the service, a lot or a locality. A month already sent whose figures have since moved is
flagged (services.returns.latest_sent / drift), pointing at `navigator returns show MONTH`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import DataTable, Header, Select, Static

from navigator.domain.dates import add_months
from navigator.services.returns import figures as returns
from navigator.services.returns.figures import (
    ALL,
    MonthlyReturn,
    ReturnRow,
    SentReturnInfo,
)
from navigator.tui.screens.team import Col, cell, set_columns
from navigator.tui.widgets import (
    DataScreen,
    NavFooter,
    RowTable,
    Title,
    fmt_date,
    plural,
)
from navigator.tui.widgets import options as literal_options

LABELS = {
    "referrals_received": "Referrals received",
    "referrals_accepted": "Referrals accepted",
    "referrals_rejected": "Referrals rejected",
    "starts": "Starts",
    "unable_to_start": "Unable to start",
    "unable_to_start_no_response": "  of which no response",
    "completions": "Completions",
    "ended_early": "Ended early",
    "mean_response_working_days": "Mean response (working days)",
    "mean_wait_working_days": "Mean wait (working days)",
    "onward_referrals_made": "Onward referrals made",
    "onward_referrals_completed": "Onward referrals completed",
    "swemwbs_paired": "SWEMWBS pairs",
    "swemwbs_maintained_or_improved_pct": "SWEMWBS maintained/improved %",
    "swemwbs_mean_change": "SWEMWBS mean change",
    "active_caseload_end": "Active caseload at month end",
    "starts_imd_q1_q2_pct": "Starts in IMD deciles 1-4 %",
    "referrers_told_pct": "Referrers told of the end %",
}
SHORT_LABELS = {
    "mean_response_working_days": "Mean response (days)",
    "mean_wait_working_days": "Mean wait (days)",
    "onward_referrals_made": "Onward made",
    "onward_referrals_completed": "Onward completed",
    "swemwbs_maintained_or_improved_pct": "SWEMWBS same/better %",
    "active_caseload_end": "Active caseload (end)",
    "starts_imd_q1_q2_pct": "Starts IMD 1-4 %",
    "referrers_told_pct": "Referrers told %",
}


def measure_label(measure: str, narrow: bool = False) -> str:
    if narrow and measure in SHORT_LABELS:
        return SHORT_LABELS[measure]
    return LABELS.get(measure, measure.replace("_", " ").capitalize())


def month_title(month: str, short: bool = False) -> str:
    d = date(int(month[:4]), int(month[5:7]), 1)
    return f"{d:%b %Y}" if short else f"{d:%B %Y}"


def change_text(now: ReturnRow | None, then: ReturnRow | None) -> str:
    """The change from ``then`` to ``now`` in the figure's own precision; blank when either has none."""
    if now is None or then is None or now.value is None or then.value is None:
        return ""
    diff: Decimal = now.value - then.value
    if diff == 0:
        return "0"
    sign = "+" if diff > 0 else "-"
    return sign + returns.format_value(abs(diff), now.kind, now.decimals)


def _row(result: MonthlyReturn | None, measure: str, lot: str, locality: str) -> ReturnRow | None:
    if result is None:
        return None
    try:
        return result.row(measure, lot, locality)
    except KeyError:
        return None


def sent_state(ctx, month: str) -> tuple[SentReturnInfo, int] | None:
    """The last return sent for the month and how many of its figures have moved since (None: not sent)."""
    info = returns.latest_sent(ctx, month)
    if info is None:
        return None
    return info, len(returns.drift(ctx, info.id).moved)


class ReturnPreviewScreen(DataScreen):
    SCREEN_NAME = "Return preview"
    BINDINGS = [
        Binding("left_square_bracket", "month(-1)", "Month back", key_display="["),
        Binding("right_square_bracket", "month(1)", "Month on", key_display="]"),
        Binding("s", "focus_place", "Place"),
    ]

    def __init__(self, month: str | None = None) -> None:
        super().__init__()
        self.month = month
        self.place = (ALL, ALL)  # (lot, locality)
        self.results: dict[str, MonthlyReturn | None] = {}
        self.sent: tuple[SentReturnInfo, int] | None = None
        self._seq = 0
        self._wide = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="return-bar"):
            yield Title("Return preview", id="return-title")
            yield Select(
                [("The whole service", f"{ALL}|{ALL}")], value=f"{ALL}|{ALL}", allow_blank=False, id="return-place"
            )
        yield Static("", id="return-banner")
        yield RowTable(id="return-table", zebra_stripes=True, cell_padding=0)
        yield Static("", id="return-status", classes="status")
        yield NavFooter()

    def on_mount(self) -> None:
        self.sub_title = "Return preview"
        if self.month is None:
            self.month = returns.previous_month(returns.month_of(self.ctx.today()))
        self.query_one("#return-banner", Static).display = False
        self.query_one("#return-table", DataTable).focus()

    # ---------------------------------------------------------------- loading
    def months(self) -> dict[str, str]:
        assert self.month is not None
        return {
            "current": self.month,
            "previous": returns.previous_month(self.month),
            "last_year": returns.same_month_last_year(self.month),
        }

    def reload(self) -> None:
        if self.month is None:
            self.month = returns.previous_month(returns.month_of(self.ctx.today()))
        self._seq += 1
        self.results = {}
        self.sent = None
        self._show_title(loading=True)
        for key, month in self.months().items():
            self.call_service(key, returns.preview, self.ctx, month, seq=self._seq, group=f"return-{key}")
        self.call_service("sent", sent_state, self.ctx, self.month, seq=self._seq, group="return-sent")

    def _loaded(self, key: str, result, seq: int) -> None:
        if seq != self._seq:
            return
        self.results[key] = result
        if key == "current":
            self._set_places(result)
        self._draw()

    def loaded_current(self, result: MonthlyReturn, seq: int) -> None:
        self._loaded("current", result, seq)

    def loaded_previous(self, result: MonthlyReturn, seq: int) -> None:
        self._loaded("previous", result, seq)

    def loaded_last_year(self, result: MonthlyReturn, seq: int) -> None:
        self._loaded("last_year", result, seq)

    def loaded_sent(self, result: tuple[SentReturnInfo, int] | None, seq: int) -> None:
        if seq != self._seq:
            return
        self.sent = result
        self._show_banner()

    def _set_places(self, result: MonthlyReturn) -> None:
        options = [("The whole service", f"{ALL}|{ALL}")]
        for lot, localities in result.lots:
            options.append((lot, f"{lot}|{ALL}"))
            options.extend((f"{loc} ({lot})", f"{lot}|{loc}") for loc in localities)
        select = self.query_one("#return-place", Select)
        current = f"{self.place[0]}|{self.place[1]}"
        if current not in {v for _, v in options}:
            current = f"{ALL}|{ALL}"
            self.place = (ALL, ALL)
        with select.prevent(Select.Changed):
            select.set_options(literal_options(options))
            select.value = current

    # ---------------------------------------------------------------- rendering
    def _show_title(self, loading: bool = False) -> None:
        lot, locality = self.place
        where = "the whole service" if lot == ALL else (lot if locality == ALL else f"{locality} ({lot})")
        self.query_one("#return-title", Title).update(
            Content.from_markup(
                "[b]Return[/] $month  [dim]·[/] $where$loading",
                month=month_title(self.month or ""),
                where=where,
                loading="  [computing…]" if loading else "",
            )
        )

    def _show_banner(self) -> None:
        banner = self.query_one("#return-banner", Static)
        if self.sent is None:
            banner.display = False
            return
        info, moved = self.sent
        sent = f"Sent {fmt_date(info.sent_at.date())} by {info.username}"
        if moved:
            banner.update(
                Content.from_markup(
                    "[b]$sent; $moved moved since.[/] `navigator returns show $month` says which journeys' edits "
                    "moved them.",
                    sent=sent,
                    moved=plural(moved, "figure") + (" has" if moved == 1 else " have"),
                    month=self.month or "",
                )
            )
            banner.set_class(True, "-moved")
        else:
            banner.update(Content.from_markup("$sent; no figure has moved since.", sent=sent))
            banner.set_class(False, "-moved")
        banner.display = True

    def _columns(self) -> tuple[Col, ...]:
        m = self.months()
        cols = [
            Col("measure", "Measure", "Measure", 20, 30, grow=1, right=False),
            Col(
                "current",
                month_title(m["current"], True),
                month_title(m["current"], True)[:3] + " " + m["current"][2:4],
                7,
                9,
            ),
            Col(
                "previous",
                month_title(m["previous"], True),
                month_title(m["previous"], True)[:3] + " " + m["previous"][2:4],
                7,
                9,
            ),
            Col("d_prev", "Change", "Chg", 6, 7),
            Col(
                "last_year",
                month_title(m["last_year"], True),
                month_title(m["last_year"], True)[:3] + " " + m["last_year"][2:4],
                7,
                9,
            ),
        ]
        if self._wide:
            cols.append(Col("d_year", "Change", "Chg", 6, 7))
            cols.append(Col("definition", "Definition", "Definition", 20, 40, grow=2, right=False))
        return tuple(cols)

    def on_resize(self) -> None:
        self.call_after_refresh(self._draw)

    def _draw(self) -> None:
        self._show_title(loading=len(self.results) < 3)
        current = self.results.get("current")
        table = self.query_one("#return-table", DataTable)
        self._wide = self.app.size.width >= 150
        row_index = table.cursor_row
        narrow = set_columns(table, self._columns())
        if current is None:
            return
        lot, locality = self.place
        defs = {m.measure: m.definition for m in returns.definitions().measures}
        for measure in current.measures:
            now = _row(current, measure, lot, locality)
            prev = _row(self.results.get("previous"), measure, lot, locality)
            year = _row(self.results.get("last_year"), measure, lot, locality)
            label = measure_label(measure, narrow)
            cells = [
                cell(Text(label, style="dim" if label.startswith("  ") else ""), right=False),
                cell(Text(now.text if now else "", style="bold")),
                cell(prev.text if prev else ""),
                cell(Text(change_text(now, prev), style="dim")),
                cell(year.text if year else ""),
            ]
            if self._wide:
                cells.append(cell(Text(change_text(now, year), style="dim")))
                cells.append(cell(Text(defs.get(measure, ""), style="dim"), right=False))
            table.add_row(*cells, key=measure)
        if table.row_count:
            table.move_cursor(row=min(max(row_index, 0), table.row_count - 1), animate=False)
        _first, last = returns.month_bounds(current.month)
        note = "this month is not over yet · " if last >= self.ctx.today() else ""
        self.query_one("#return-status", Static).update(
            Content.from_markup(
                "[dim]$note$n referrals · the same SQL as `navigator export`, unsuppressed · blank: no cases[/]",
                note=note,
                n=f"{current.referrals:,}",
            )
        )

    # ---------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "month" and parameters and parameters[0] == 1 and self.month is not None:
            return self.month < returns.month_of(self.ctx.today()) or None
        return True

    def action_month(self, step: int) -> None:
        if self.month is None:
            return
        if step < 0:
            self.month = returns.previous_month(self.month)
        else:
            nxt = returns.month_of(add_months(returns.month_bounds(self.month)[0], 1))
            if nxt > returns.month_of(self.ctx.today()):
                return
            self.month = nxt
        self.reload()
        self.refresh_bindings()

    @on(Select.Changed, "#return-place")
    def place_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        lot, _, locality = str(event.value).partition("|")
        self.place = (lot, locality)
        self._draw()

    def action_focus_place(self) -> None:
        self.query_one("#return-place", Select).focus()
