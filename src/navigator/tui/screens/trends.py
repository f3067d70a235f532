"""Trends (team leads): the last 12 months of referrals received, starts, completions and no-response
closures, and the mean wait to start, for the service, a lot or a locality (services.team.trends)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.events import Resize
from textual.widgets import DataTable, Header, Select, Static
from textual_plotext import PlotextPlot

from navigator.services.casework import team
from navigator.services.casework.team import TrendsView
from navigator.services.setup.reference import reference
from navigator.tui.screens.team import Col, PanedScreen, cell, set_columns
from navigator.tui.widgets import NavFooter, RowTable, Title, fmt_date
from navigator.tui.widgets import options as literal_options

PANES = (("trends-activity", "Activity"), ("trends-wait", "Waiting time"), ("trends-figures", "Figures"))
SERIES = (
    ("received", "Received"),
    ("starts", "Starts"),
    ("completions", "Completions"),
    ("no_response", "No-response closures"),
)
FIGURE_COLUMNS = (
    Col("month", "Month", "Month", 8, 10, right=False),
    Col("received", "Received", "Recd", 5, 9),
    Col("starts", "Starts", "Starts", 6, 7),
    Col("completions", "Completions", "Compl", 5, 12),
    Col("no_response", "No-response closures", "No-resp", 7, 21),
    Col("wait", "Mean wait (working days)", "Wait", 5, 25),
    Col("note", "", "", 0, 0, grow=1, right=False),
)


def _scope_value(level: str, place: str | None) -> str:
    return f"{level}:{place or ''}"


def _scope_of(value: str) -> tuple[str, str | None]:
    level, _, place = value.partition(":")
    return level, (place or None)


def month_title(month: str) -> str:
    from datetime import date

    return f"{date(int(month[:4]), int(month[5:7]), 1):%b %Y}"


def month_label(month: str) -> str:
    from datetime import date

    return f"{date(int(month[:4]), int(month[5:7]), 1):%b}"


def whole_ticks(top: int, most: int = 5) -> list[int]:
    """Whole-number ticks from 0 to at least ``top``: counts have no fractions."""
    raw = max(1, -(-top // (most - 1)))
    scale = 1
    while True:
        step = next((n * scale for n in (1, 2, 5) if n * scale >= raw), None)
        if step is not None:
            break
        scale *= 10
    return list(range(0, -(-top // step) * step + 1, step))


def _reference_and_actor(ctx) -> tuple:
    return reference(ctx), ctx.actor()


class Chart(PlotextPlot):
    """A plotext chart that draws its data again whenever it is given new data."""

    can_focus = True

    def draw(self, view: TrendsView | None, what: str) -> None:
        plt = self.plt
        plt.clear_figure()
        if view is None:
            self.refresh()
            return
        xs = list(range(1, len(view.months) + 1))
        labels = [month_label(m.month) for m in view.months]
        if what == "activity":
            plt.title("Per month")
            for key, label in SERIES:
                plt.plot(xs, [getattr(m, key) for m in view.months], label=label, marker="braille")
            top = max([getattr(m, k) for m in view.months for k, _ in SERIES] + [1])
            ticks = whole_ticks(top)
            plt.yticks(ticks)  # type: ignore[arg-type]  # whole numbers: labelled as such
            plt.ylim(0, ticks[-1])
        else:
            plt.title("Mean wait to start (working days)")
            values = [float(m.mean_wait) if m.mean_wait is not None else 0.0 for m in view.months]
            plt.bar(xs, values, width=0.6)
            ticks = whole_ticks(int(max(values + [1.0])) + 1)
            plt.yticks(ticks)  # type: ignore[arg-type]
            plt.ylim(0, ticks[-1])
        plt.xticks(xs, labels)  # type: ignore[arg-type]
        plt.xlim(0.5, len(xs) + 0.5)
        self.refresh()


class TrendsScreen(PanedScreen):
    SCREEN_NAME = "Trends"
    PANES = PANES
    WIDE_AT = 150
    BINDINGS = [
        Binding("s", "focus_scope", "Scope"),
        *PanedScreen.pane_bindings(PANES),
    ]

    def __init__(self, scope: tuple[str, str | None] = ("service", None)) -> None:
        super().__init__()
        self.scope = scope
        self.view: TrendsView | None = None
        self._seq = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Title("Trends", id="trends-title")
        with Horizontal(id="trends-bar"):
            value = _scope_value(*self.scope)
            options = [("The whole service", "service:")]
            if value != "service:":
                options.append((self.scope[1] or value, value))
            yield Select(literal_options(options), value=value, allow_blank=False, id="trends-scope")
            yield self.pane_tabs()
        with Horizontal(id="trends-body"):
            with Vertical(id="trends-activity", classes="pane"):
                yield Chart(id="trends-activity-chart")
            with Vertical(id="trends-wait", classes="pane"):
                yield Chart(id="trends-wait-chart")
            with Vertical(id="trends-figures", classes="pane"):
                yield RowTable(id="trends-table", zebra_stripes=True, cell_padding=0)
        yield Static("", id="trends-status", classes="status")
        yield NavFooter()

    def on_mount(self) -> None:
        self.sub_title = "Trends"
        self.query_one("#trends-activity-chart", Chart).focus()
        self.call_service("reference", _reference_and_actor, self.ctx)

    def reload(self) -> None:
        self._seq += 1
        self.call_service("trends", team.trends, self.ctx, self.scope, seq=self._seq)

    def on_resize(self, event: Resize) -> None:
        if self.view is not None:
            self.call_after_refresh(self._render_table)

    def loaded_reference(self, result: tuple, seq: int) -> None:
        ref, actor = result
        options: list[tuple[str, str]] = [("The whole service", "service:")]
        mine = actor.lot_ids if (not actor.is_admin and actor.lot_ids) else None
        for lot in ref.lots:
            if mine is not None and lot.id not in mine:
                continue
            options.append((f"{lot.code} · {lot.name}", _scope_value("lot", lot.code)))
            for loc in ref.localities:
                if loc.lot_id == lot.id:
                    options.append((f"{loc.name} ({lot.code})", _scope_value("locality", loc.name)))
        current = _scope_value(*self.scope)
        if current not in {v for _, v in options}:
            options.append((self.scope[1] or current, current))
        select = self.query_one("#trends-scope", Select)
        with select.prevent(Select.Changed):
            select.set_options(literal_options(options))
            select.value = current

    def loaded_trends(self, view: TrendsView, seq: int) -> None:
        if seq != self._seq:
            return
        self.view = view
        where = {"service": "the whole service", "lot": view.place, "locality": view.place}[view.level]
        first, last = view.months[0].month, view.months[-1].month
        self.query_one("#trends-title", Title).update(
            Content.from_markup(
                "[b]Trends[/] $where  [dim]·[/] $first to $last  [dim]· as on[/] $on",
                where=where,
                first=month_title(first),
                last=month_title(last),
                on=fmt_date(view.on),
            )
        )
        self.query_one("#trends-activity-chart", Chart).draw(view, "activity")
        self.query_one("#trends-wait-chart", Chart).draw(view, "wait")
        self._render_table()
        partial = view.months[-1].partial
        self.query_one("#trends-status", Static).update(
            Content.from_markup(
                "[dim]Counted as the monthly return counts them$partial[/]",
                partial=f" · {month_label(view.months[-1].month)}: so far" if partial else "",
            )
        )

    def _render_table(self) -> None:
        view = self.view
        if view is None:
            return
        table = self.query_one("#trends-table", DataTable)
        set_columns(table, FIGURE_COLUMNS)
        for m in view.months:
            wait = "-" if m.mean_wait is None else f"{m.mean_wait}"
            note = Text("so far", style="dim") if m.partial else ""
            table.add_row(
                cell(f"{month_title(m.month)}", right=False),
                cell(m.received),
                cell(m.starts),
                cell(m.completions),
                cell(m.no_response),
                cell(wait),
                cell(note, right=False),
                key=m.month,
            )

    @on(Select.Changed, "#trends-scope")
    def scope_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        scope = _scope_of(str(event.value))
        if scope != self.scope:
            self.scope = scope
            self.reload()

    def action_focus_scope(self) -> None:
        self.query_one("#trends-scope", Select).focus()
