"""Journey: the person, every journey they have had, and this journey's timeline, plan, wellbeing and
onward referrals. Every action of the journey is a key; which are available comes from the services
(``JourneyDetail.available_actions``), never from rules re-derived here.

This module is ~930 lines: the journey screen's tabs (summary, timeline, plan, wellbeing, onward) and
its one table of actions (JOURNEY_ACTIONS: key, form, when offered) read one JourneyDetail together."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.events import Resize, ScreenResume
from textual.widgets import DataTable, Header, Sparkline, Static, TabbedContent, TabPane
from textual.widgets.data_table import ColumnKey

from navigator.domain import lifecycle as L
from navigator.domain import risk
from navigator.domain.dates import age_on
from navigator.services.casework import queries
from navigator.services.dto import GoalView, JourneyDetail, OnwardView
from navigator.tui import forms
from navigator.tui.forms import FormScreen
from navigator.tui.forms.amend import AmendForm  # issue 15: amend and reopen
from navigator.tui.forms.chase import ChaseForm, chase_message
from navigator.tui.forms.referrer_told import ReferrerToldForm
from navigator.tui.forms.reopen import ReopenForm
from navigator.tui.forms.risk import RiskForm
from navigator.tui.messages import Failed
from navigator.tui.widgets import (
    DataScreen,
    NavFooter,
    RowTable,
    Section,
    alert,
    describe_error,
    displayable,
    fmt_change,
    fmt_date,
    fmt_metric,
    heading,
    kv_table,
    plural,
)

WIDE = 150  # from this many columns the person and their journeys sit beside the tabs
SIDE_WIDTH = 56  # their column's width then (app.tcss: #journey-side)


@dataclass(frozen=True)
class JourneyAction:
    action: str
    key: str
    description: str
    form: type[FormScreen]
    needs: str | None  # the service action (JourneyDetail.available_actions) it needs, if any
    target: str  # what the form is given: journey, goal, onward, pending, client, journeys


JOURNEY_ACTIONS = (
    JourneyAction("contact", "c", "Contact", forms.ContactForm, "contact", "journey"),
    JourneyAction("decide", "d", "Decision", forms.DecisionForm, "decide", "journey"),
    JourneyAction("start", "s", "Start", forms.StartForm, "start", "journey"),
    JourneyAction("add_goal", "g", "Add goal", forms.GoalForm, "plan", "journey"),
    JourneyAction("goal_progress", "p", "Goal progress", forms.GoalProgressForm, "plan", "goal"),
    JourneyAction("review", "v", "Plan review", forms.ReviewForm, "plan", "journey"),
    JourneyAction("measure", "m", "Measure", forms.MeasureForm, "measure", "journey"),
    JourneyAction("onward", "o", "Onward referral", forms.OnwardForm, "onward", "journey"),
    JourneyAction("partner_update", "u", "Partner update", forms.PartnerUpdateForm, None, "onward"),
    JourneyAction("follow_up", "k", "Follow up feedback", forms.FeedbackFollowUpForm, None, "pending"),
    JourneyAction("close", "x", "Close", forms.CloseForm, "close", "journey"),
    JourneyAction("reassign", "r", "Reassign", forms.ReassignForm, "reassign", "journeys"),
    JourneyAction("edit_person", "e", "Edit person", forms.ClientEditForm, None, "client"),
    # issue 15: correct a recorded item (its navigator, or a team lead); reopen (team leads)
    JourneyAction("amend", "a", "Amend a record", AmendForm, None, "journey"),
    JourneyAction("reopen", "O", "Reopen (team lead)", ReopenForm, None, "journey"),
    # issue 15: chase the partner of an open onward referral; record that the referrer was told
    JourneyAction("chase", "h", "Chase partner", ChaseForm, None, "open_onward"),
    JourneyAction("referrer_told", "i", "Referrer told", ReferrerToldForm, None, "ended"),
    # issue 15: the risk (crisis) flag and what the person was signposted to
    JourneyAction("risk", "y", "Risk flag", RiskForm, None, "journey"),
    # issue 15: edit the selected goal's wording, outcome and target date (an emptied target date is removed)
    JourneyAction("edit_goal", "G", "Edit goal", forms.GoalForm, "plan", "goal_edit"),
)
ACTIONS_BY_NAME = {a.action: a for a in JOURNEY_ACTIONS}

# (key, label, width); width None: shares what is left of the screen's width
TABLE_COLUMNS = {
    "timeline": (("on", "Date", 11), ("what", "What", None), ("who", "Who", 12)),
    "sum-timeline": (("on", "Date", 11), ("what", "What", None), ("who", "Who", 12)),
    "goals": (
        ("n", "#", 2),
        ("statement", "Goal", None),
        ("outcome", "Outcome", 22),
        ("target", "Target", 9),
        ("status", "Status", 12),
    ),
    "measures": (
        ("on", "Date", 11),
        ("point", "Point", 6),
        ("raw", "Raw", 3),
        ("metric", "Metric", 6),
        ("change", "Change", 6),
        ("label", "Meaning", 22),
        ("bar", "Chart", 8),
    ),
    "onward": (
        ("programme", "Partner: programme", None),
        ("referred", "Referred", 9),
        ("status", "Status", 16),
        ("feedback", "Follow up", 14),
    ),
}

# the table of each tab, and the method that fills it
TAB_TABLES = {"tab-timeline": "timeline", "tab-plan": "goals", "tab-wellbeing": "measures", "tab-onward": "onward"}
TABLE_FILLERS = {
    "sum-timeline": "_show_sum_timeline",
    "timeline": "_show_timeline",
    "goals": "_show_goals",
    "measures": "_show_measures",
    "onward": "_show_onward",
}

TABS = (
    ("tab-summary", "Summary"),
    ("tab-timeline", "Timeline"),
    ("tab-plan", "Plan"),
    ("tab-wellbeing", "Wellbeing"),
    ("tab-onward", "Onward"),
)


SLOW_READ = 0.25  # seconds: a read still running then (another program writing) shows the screen first


def open_journey(app, journey_id: int) -> None:
    """Show a journey: its detail is read first (the audited view), in a thread, then the screen is pushed
    already holding it, so it is laid out and painted once, with its data. A read slower than SLOW_READ
    shows the screen ("Loading…") meanwhile. The latest open wins."""
    seq = getattr(app, "_journey_open_seq", 0) + 1
    app._journey_open_seq = seq
    shown: list[JourneyScreen] = []
    hold = getattr(app, "hold_keys", None)
    if hold is not None:
        hold()  # keys typed now (``c`` for a contact…) are for the journey: they wait for its screen

    def show(result: JourneyDetail | BaseException | None = None) -> None:
        if getattr(app, "_journey_open_seq", 0) != seq:
            return
        if not shown:
            shown.append(_screen_for(app, journey_id, result))
            app.push_screen(shown[0])
            release = getattr(app, "release_keys", None)
            if release is not None:
                app.call_after_refresh(release)  # once the journey's screen (and its bindings) is up
        elif result is not None:
            shown[0].deliver(result)

    timer = app.set_timer(SLOW_READ, show)

    def read() -> None:
        try:
            result: JourneyDetail | BaseException = displayable(queries.journey_detail(app.ctx, journey_id))
        except Exception as exc:
            result = describe_error(exc)

        def done() -> None:
            timer.stop()
            show(result)

        app.call_from_thread(done)

    app.run_worker(read, thread=True, group="open-journey", exit_on_error=False, name="open-journey")


_PENDING = object()  # JourneyScreen(preloaded=...): open_journey's read is still running
_KEPT = "journey-kept"  # the name of the app's kept Journey screen (installed, so leaving it keeps it)


def _screen_for(app, journey_id: int, result: JourneyDetail | BaseException | None) -> JourneyScreen:
    """The screen to show a journey on. One Journey screen is kept mounted for the app and refilled with
    each journey (composing and styling its widgets again is most of what an open costs); a new one is made
    when that one is on the stack already (Journey, Find, another journey), or to show a read's error or
    a read still running."""
    kept = app.get_screen(_KEPT) if app.is_screen_installed(_KEPT) else None
    if isinstance(kept, JourneyScreen) and isinstance(result, JourneyDetail):
        if kept.is_mounted and kept not in app.screen_stack:
            kept.refill(journey_id, result)
            return kept
        if not kept.is_mounted and kept not in app.screen_stack:  # installed but never shown: replace it
            app.uninstall_screen(_KEPT)
            kept = None
    screen = JourneyScreen(journey_id, preloaded=_PENDING if result is None else result)
    if kept is None and isinstance(result, JourneyDetail):
        app.install_screen(screen, _KEPT)
    return screen


def _look(app) -> tuple:
    """What every widget's styles depend on beyond the screen itself: the app's theme and colour mode."""
    return (app.theme, getattr(app, "ansi_color", None), getattr(app, "no_color", None))


def _open_onward(d: JourneyDetail, selected: OnwardView | None) -> OnwardView | None:
    """The onward referral a chase is for (issue 15): the selected one if the partner may still reply."""
    open_ = [o for o in d.onward if o.status in L.OPEN_ONWARD]
    return selected if selected in open_ else (open_[0] if open_ else None)


def bar(metric: Decimal | None, width: int = 8) -> str:
    """A bar for a SWEMWBS metric score (7 to 35)."""
    if metric is None:
        return ""
    filled = round((float(metric) - 7) / 28 * width)
    return "█" * max(1, min(width, filled))


class JourneyScreen(DataScreen):
    SCREEN_NAME = "Journey"
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(a.key, a.action, a.description) for a in JOURNEY_ACTIONS),
        Binding("w", "letter", "Letter", show=False),
        Binding("j", "other_journey", "Other journey", show=False),
        Binding("H", "audit_history", "Audit history (team leads)", show=False),
        Binding("D", "merge_person", "Merge with… (team leads)", show=False),  # issue 15: merge people
        *(
            Binding(str(i), f"show_tab('{tab_id}')", f"{label} tab", show=False)
            for i, (tab_id, label) in enumerate(TABS, 1)
        ),
    ]

    def __init__(self, journey_id: int, *, preloaded: JourneyDetail | BaseException | object | None = None) -> None:
        """``preloaded``: the detail already read (and its view audited) by ``open_journey``, or its error;
        ``_PENDING``: that read is still running (``deliver`` brings its result)."""
        super().__init__()
        self.journey_id = journey_id
        self.detail: JourneyDetail | None = None
        self._preloaded = preloaded
        self._viewed = isinstance(preloaded, JourneyDetail)  # its view was audited when it was read
        self._width_shown: int | None = None
        self._resumed = False
        self._look: tuple | None = None  # the app's theme when the screen was last shown (see _first_resume)
        self._stale_tables: set[str] = set()  # tables not yet showing self.detail (hidden tabs)
        self.footer_hold = True  # the footer waits for the detail (which actions are available)
        # the header's title is set before the header mounts: a change while it is still composing its
        # children can reach it before they exist (a screen opened by a burst of keys)
        self.sub_title = (
            f"Journey · {preloaded.client.client_ref}" if isinstance(preloaded, JourneyDetail) else "Journey"
        )

    # ---------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        # before the children mount: setting it later restyles every one of them
        self.set_class(self.app.size.width >= WIDE, "-wide", update=False)
        yield Header()
        yield Static("Loading…", id="journey-head")
        with Horizontal(id="journey-body"):
            with VerticalScroll(id="journey-side"):
                yield Section("Person", id="side-person")
                yield Section("Open follow-ups", id="side-tasks")
                yield Section("Journeys", id="side-journeys")
            with TabbedContent(id="journey-tabs", initial="tab-summary"):
                with TabPane("Summary", id="tab-summary"):
                    with VerticalScroll(id="sum-scroll"):
                        yield Section("Open follow-ups", id="sum-tasks", classes="narrow-only")
                        yield Section("At a glance", id="sum-glance")
                        yield Section("This journey", id="sum-facts")
                        yield Section("Person", id="sum-person", classes="narrow-only")
                        yield Section("Journeys", id="sum-journeys", classes="narrow-only")
                    # when wide, the timeline fills the rest of the summary
                    yield Static(heading("Timeline"), id="sum-timeline-title", classes="wide-only")
                    yield RowTable(id="sum-timeline", zebra_stripes=True, classes="wide-only")
                with TabPane("Timeline", id="tab-timeline"):
                    yield RowTable(id="timeline", zebra_stripes=True)
                with TabPane("Plan", id="tab-plan"):
                    yield RowTable(id="goals")
                    yield Static("", id="goal-notes", classes="notes")
                with TabPane("Wellbeing", id="tab-wellbeing"):
                    yield Static("", id="swem-summary")
                    yield Sparkline([], id="swem-spark")
                    yield RowTable(id="measures")
                with TabPane("Onward", id="tab-onward"):
                    yield RowTable(id="onward")
                    yield Static("", id="onward-updates", classes="notes")
        yield NavFooter()

    def on_mount(self) -> None:
        for table_id, columns in TABLE_COLUMNS.items():
            table = self.query_one(f"#{table_id}", DataTable)
            for key, label, width in columns:
                table.add_column(label, key=key, width=width or 10)
        self.query_one("#journey-tabs Tabs").focus()

    def on_resize(self, event: Resize) -> None:
        self._apply_width(event.size.width)

    @on(ScreenResume)
    def _first_resume(self, event: ScreenResume) -> None:
        # A handler of this class runs before Screen's own (handlers are called down the class hierarchy).
        # Pushed just after mounting, every widget's styles are fresh; shown again (refilled with another
        # journey), they are as they were unless the theme changed meanwhile: restyling all of them again
        # would cost the frame a few tens of milliseconds.
        look = _look(self.app)
        if not self._resumed or self._look == look:
            event.refresh_styles = False
        self._resumed = True
        self._look = look

    def on_screen_suspend(self) -> None:
        self._look = _look(self.app)

    def refill(self, journey_id: int, detail: JourneyDetail) -> None:
        """Show another journey on this (kept, mounted) screen, as a new screen would show it: the summary
        tab, scrolled to the top, the tables' cursors on their first rows."""
        self.journey_id = journey_id
        self._viewed = True  # open_journey's read audited the view
        self._preloaded = None
        self._seen_generation = getattr(self.app, "data_generation", 0)  # the detail is as fresh as that
        self.detail = None
        width = self.app.size.width
        self._width_shown = width
        self.set_class(width >= WIDE, "-wide")
        for table_id in TABLE_COLUMNS:
            self.query_one(f"#{table_id}", DataTable).clear()
        for scroll_id in ("#journey-side", "#sum-scroll"):
            self.query_one(scroll_id, VerticalScroll).scroll_home(animate=False, immediate=True)
        self.query_one("#journey-tabs", TabbedContent).active = "tab-summary"
        self.loaded_detail(detail, 0)
        self.set_focus(self.query_one("#journey-tabs Tabs"), scroll_visible=False)

    def _apply_width(self, width: int) -> None:
        if self.has_class("-wide") == (width >= WIDE) and self._width_shown == width:
            return
        self._width_shown = width
        self.set_class(width >= WIDE, "-wide")
        if self.detail is not None:
            self.call_after_refresh(self._show_tables, self.detail)

    # ---------------------------------------------------------------- loading
    def deliver(self, result: JourneyDetail | BaseException) -> None:
        """The result of open_journey's read, arriving after the screen was pushed."""
        self._viewed = self._viewed or isinstance(result, JourneyDetail)
        self._preloaded = result
        if self.is_mounted:
            self.reload()

    def reload(self) -> None:
        if self._preloaded is _PENDING:
            return  # open_journey's read is still running: its result comes through deliver()
        if self._preloaded is not None:
            result, self._preloaded = self._preloaded, None
            if isinstance(result, BaseException):
                self.on_failed(Failed("detail", result, 0))
            elif isinstance(result, JourneyDetail):
                self.loaded_detail(result, 0)
            return
        # The first view of a record is audited; reloads after a save are not views.
        self.call_service("detail", queries.journey_detail, self.ctx, self.journey_id, audit_view=not self._viewed)

    def failed_detail(self, error: BaseException, seq: int) -> bool:
        if self.footer_hold:
            self.footer_hold = False
            self.refresh_bindings()
        if self.detail is None:
            self.query_one("#journey-head", Static).update(
                Content.from_markup(
                    "[b $error]This journey cannot be shown.[/] $msg\n[dim]Press escape to go back.[/]", msg=str(error)
                )
            )
        return False

    def loaded_detail(self, detail: JourneyDetail, seq: int) -> None:
        self._viewed = True
        self.detail = detail
        self.sub_title = f"Journey · {detail.client.client_ref}"
        self._show_head(detail)
        self._show_summary(detail)
        self._show_tables(detail, hidden_later=True)
        self.footer_hold = False
        self.refresh_bindings()

    # ---------------------------------------------------------------- rendering
    def _show_head(self, d: JourneyDetail) -> None:
        today = self.ctx.today()
        c = d.client
        line1 = Content.from_markup(
            "[b]$name[/]  $ref  [dim]born[/] $dob [dim]($age)[/]  $locality[dim], $lot[/]",
            name=c.name,
            ref=c.client_ref,
            dob=fmt_date(c.date_of_birth),
            age=str(age_on(c.date_of_birth, today)),
            locality=d.locality,
            lot=d.lot,
        )
        line2 = Content.from_markup(
            "[dim]Journey received[/] $received  [b $accent]$state[/] [dim]since[/] $since  [dim]navigator[/] $nav",
            received=fmt_date(d.received_date),
            state=d.state_label,
            since=fmt_date(d.state_since),
            nav=d.navigator_name or d.navigator,
        )
        if d.risk_flag:  # issue 15: first on the line, in words (not colour alone); the signposting in the summary
            line1 = Content.from_markup("[b reverse $error] $marker [/] ", marker=risk.MARKER) + line1
        lines = [line1, line2]
        if d.under_17:
            lines.append(Content.from_markup("[b $warning]Under 17 when the referral was received.[/]"))
        self.query_one("#journey-head", Static).update(Content("\n").join(lines))

    def _person(self, d: JourneyDetail) -> Table:
        c = d.client
        return kv_table(
            [
                ("Name", c.name),
                ("Ref", c.client_ref),
                ("Born", f"{fmt_date(c.date_of_birth)} (age {age_on(c.date_of_birth, self.ctx.today())})"),
                ("Postcode", c.postcode),
                ("NHS number", c.nhs_number),
                ("Phone", c.phone),
                ("Email", c.email),
                ("Address", c.address),
                ("Prefers", c.preferred_method),
                ("Consent", "consents to share with partners" if c.consent_to_share else "no consent to share"),
                ("Locality", f"{c.locality} ({c.lot})"),
            ]
        )

    def _journeys(self, d: JourneyDetail) -> Content:
        lines = []
        for j in d.journeys:
            ended = f", ended {fmt_date(j.end_date)}" if j.end_date else ""
            marker = "▶ " if j.id == d.id else "  "
            lines.append(
                Content.from_markup(
                    "$marker$received  [b]$state[/]$ended\n    [dim]$source · $nav[/]",
                    marker=marker,
                    received=fmt_date(j.received_date),
                    state=j.state_label,
                    ended=ended,
                    source=j.source,
                    nav=j.navigator,
                )
            )
        if len(d.journeys) > 1:
            lines.append(Content.from_markup("[dim]Press j for the next one.[/]"))
        return Content("\n").join(lines)

    def _tasks(self, d: JourneyDetail) -> Content:
        lines = []
        if not d.tasks:
            lines.append(Content.from_markup("[dim]None open.[/]"))
        today = self.ctx.today()
        for t in d.tasks:
            late = t.due_date <= today
            style = "$error" if t.due_date < today else ("$warning" if late else "dim")
            lines.append(
                Content.from_markup(
                    f"• [b]$label[/]: $detail\n  [dim]due[/] [{style}]$due[/]",
                    label=t.label,
                    detail=t.detail or "",
                    due=fmt_date(t.due_date) + (" (overdue)" if t.overdue else ""),
                )
            )
        return Content("\n").join(lines)

    def _facts(self, d: JourneyDetail) -> Table:
        decision = ""
        if d.decision == "accepted":
            decision = f"accepted {fmt_date(d.decision_date)}"
        elif d.decision == "rejected":
            decision = f"rejected {fmt_date(d.decision_date)}: {(d.reject_reason or '').replace('_', ' ')}"
        first = fmt_date(d.first_contact_date)
        if d.response_working_days is not None:
            first += f" ({plural(d.response_working_days, 'working day')} after receipt)"
        started = fmt_date(d.start_date)
        if d.wait_working_days is not None:
            started += f" (waited {plural(d.wait_working_days, 'working day')})"
        ended = ""
        if d.end_date:
            ended = f"{fmt_date(d.end_date)}: {(d.end_reason or '').replace('_', ' ')}"
        pairs = [
            ("Received", f"{fmt_date(d.received_date)} from {d.source}"),
            ("Referrer", d.referrer),
            ("Reason", d.reason),
            ("Support", ", ".join(d.support_areas)),
            ("Navigator", f"{d.navigator_name} ({d.navigator})"),
            ("First contact", first),
            ("Last contact", fmt_date(d.last_contact_date)),
            ("Decision", decision),
            ("Started", started),
            ("Ended", ended),
        ]
        if d.referrer_letter is not None:  # issue 15: the journey has ended: was the referrer told?
            told = "not yet (press i, or w for the letter)"
            if d.referrer_told_date is not None:
                told = f"{fmt_date(d.referrer_told_date)} ({(d.referrer_told_how or '').replace('_', ' ')})"
            pairs.append(("Referrer told", told))
        if d.outcome_evidence:
            pairs.append(("Evidence", d.outcome_evidence))
        if d.risk_flag or d.signposted_to:  # issue 15
            pairs.append(("Risk", f"{risk.MARKER} (in crisis or at risk)" if d.risk_flag else "not flagged now"))
            pairs.append(("Signposted to", d.signposted_to))
        return kv_table(pairs)

    def _show_summary(self, d: JourneyDetail) -> None:
        person, journeys, tasks = self._person(d), self._journeys(d), self._tasks(d)
        for prefix in ("side", "sum"):
            self.query_one(f"#{prefix}-person", Section).set(person)
            self.query_one(f"#{prefix}-journeys", Section).set(journeys, len(d.journeys))
            self.query_one(f"#{prefix}-tasks", Section).set(tasks, len(d.tasks))
        self.query_one("#sum-facts", Section).set(self._facts(d))
        self.query_one("#sum-glance", Section).set(self._glance(d))

    def _glance(self, d: JourneyDetail) -> Table:
        """One line each for the plan, wellbeing and onward referrals (details in their tabs)."""
        from collections import Counter

        if d.goals:
            counts = Counter(g.status_label.lower() for g in d.goals)
            plan = f"{plural(len(d.goals), 'goal')}: " + ", ".join(f"{n} {label}" for label, n in counts.items())
        else:
            plan = "no goals yet"
        swem = [m for m in d.measures if m.kind == "swemwbs" and m.metric is not None]
        if not swem:
            wellbeing = "no SWEMWBS yet"
        elif len(swem) == 1:
            wellbeing = f"SWEMWBS {fmt_metric(swem[0].metric)} at {swem[0].point}"
        else:
            last = swem[-1]
            wellbeing = f"SWEMWBS {fmt_metric(swem[0].metric)} → {fmt_metric(last.metric)}"
            if last.change_since_start is not None:
                wellbeing += f" ({fmt_change(last.change_since_start)}{', ' + last.label if last.label else ''})"
        if d.onward:
            onward = f"{plural(len(d.onward), 'referral')}: " + ", ".join(
                f"{o.programme} {o.status.replace('_', ' ')}" + (" (follow up)" if o.feedback_pending_since else "")
                for o in d.onward
            )
        else:
            onward = "none"
        return kv_table(
            [
                ("Plan", plan),
                ("Wellbeing", wellbeing),
                ("Onward", onward),
                (
                    "Timeline",
                    f"{plural(len(d.timeline), 'event')}"
                    + (f", latest {fmt_date(d.timeline[-1].on)}" if d.timeline else ""),
                ),
            ]
        )

    def _fit(self, table_id: str) -> DataTable:
        """Give the flexible columns of a table what the fixed ones leave of the width."""
        table = self.query_one(f"#{table_id}", DataTable)
        width = table.size.width
        if not width:  # not laid out yet (a hidden tab): estimate from the screen
            width = self.app.size.width - (SIDE_WIDTH if self.has_class("-wide") else 0) - 2
        columns = TABLE_COLUMNS[table_id]
        fixed = sum(w for _, _, w in columns if w)
        flexible = [k for k, _, w in columns if not w]
        spare = width - fixed - 2 * table.cell_padding * len(columns) - 2
        for key in flexible:
            column = table.columns[ColumnKey(key)]
            column.auto_width = False
            column.width = max(16, spare // len(flexible))
        return table

    def _visible_tables(self) -> set[str]:
        """The tables on screen now (the others are in hidden tabs)."""
        active = self.query_one("#journey-tabs", TabbedContent).active
        if active == "tab-summary":
            return {"sum-timeline"} if self.has_class("-wide") else set()
        return {TAB_TABLES.get(active, "")}

    def _show_tables(self, d: JourneyDetail, *, hidden_later: bool = False) -> None:
        """Fill the tables. ``hidden_later``: those in hidden tabs only once this frame is painted (a
        hidden table still measures every row; the tab shown first need not wait for them)."""
        now = self._visible_tables() if hidden_later else set(TABLE_FILLERS)
        for name in TABLE_FILLERS:
            if name in now:
                getattr(self, TABLE_FILLERS[name])(d)
        self._stale_tables = set(TABLE_FILLERS) - now
        if self._stale_tables:
            self.call_after_refresh(self.call_after_refresh, self._fill_stale_tables, d)

    def _fill_stale_tables(self, d: JourneyDetail | None = None) -> None:
        d = d or self.detail
        if d is None or d is not self.detail or not self._stale_tables:
            return
        stale, self._stale_tables = self._stale_tables, set()
        for name in TABLE_FILLERS:
            if name in stale:
                getattr(self, TABLE_FILLERS[name])(d)

    @on(TabbedContent.TabActivated, "#journey-tabs")
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._fill_stale_tables()  # a tab shown before its table was filled

    def _show_timeline(self, d: JourneyDetail) -> None:
        self._show_timeline_in("timeline", d)

    def _show_sum_timeline(self, d: JourneyDetail) -> None:
        self._show_timeline_in("sum-timeline", d)

    def _show_timeline_in(self, table_id: str, d: JourneyDetail) -> None:
        table = self._fit(table_id)
        table.clear()
        for i, ev in enumerate(d.timeline):
            table.add_row(fmt_date(ev.on), Text(ev.text), ev.who, key=str(i), height=None)
        if d.timeline:
            table.move_cursor(row=len(d.timeline) - 1, animate=False)

    def _show_goals(self, d: JourneyDetail) -> None:
        table = self._fit("goals")
        row = table.cursor_row
        table.clear()
        today = self.ctx.today()
        for i, g in enumerate(d.goals, 1):
            style = {"achieved": "bold green", "not_achieved": alert(self.app), "in_progress": "bold"}.get(g.status, "")
            if self.app.no_color and g.status == "achieved":
                style = "bold underline"
            table.add_row(
                str(i),
                Text(g.statement),
                Text(g.outcome),
                fmt_date(g.target_date, today, short=True),
                Text(g.status_label, style=style),
                key=str(g.id),
                height=None,
            )
        if d.goals:
            table.move_cursor(row=min(row, len(d.goals) - 1), animate=False)
        self._show_goal_notes()

    def selected_goal(self) -> GoalView | None:
        if self.detail is None or not self.detail.goals:
            return None
        row = self.query_one("#goals", DataTable).cursor_row
        return self.detail.goals[min(max(row, 0), len(self.detail.goals) - 1)]

    def _show_goal_notes(self) -> None:
        notes = self.query_one("#goal-notes", Static)
        d = self.detail
        if d is None or not d.goals:
            notes.update(
                Content.from_markup(
                    "[dim]No goals yet.[/]"
                    + ("  Press [b]g[/] to add one." if self.check_action("add_goal", ()) else "")
                )
            )
            return
        g = self.selected_goal()
        assert g is not None  # there are goals
        lines = [Content.from_markup("[b]$statement[/]  [dim]($outcome)[/]", statement=g.statement, outcome=g.outcome)]
        if not g.notes:
            lines.append(Content.from_markup("[dim]No progress notes.[/]"))
        for on_day, note, who in g.notes:
            lines.append(Content.from_markup("$on  $note  [dim]$who[/]", on=fmt_date(on_day), note=note, who=who))
        notes.update(Content("\n").join(lines))

    def _show_measures(self, d: JourneyDetail) -> None:
        table = self.query_one("#measures", DataTable)
        table.clear()
        swem = [m for m in d.measures if m.kind == "swemwbs"]
        for m in d.measures:
            if m.kind == "swemwbs":
                label = m.label or ""
                style = "bold" if "meaningful" in label else ""
                table.add_row(
                    fmt_date(m.on),
                    m.point,
                    str(m.raw),
                    fmt_metric(m.metric),
                    fmt_change(m.change_since_start),
                    Text(label, style=style),
                    bar(m.metric),
                    key=str(m.id),
                )
            else:
                table.add_row(
                    fmt_date(m.on),
                    f"{m.kind.upper()} {m.point}",
                    " ".join(map(str, m.items)),
                    "",
                    "",
                    "",
                    "",
                    key=str(m.id),
                )
        spark = self.query_one("#swem-spark", Sparkline)
        spark.data = [float(m.metric) for m in swem if m.metric is not None]
        spark.display = len(spark.data) >= 2
        summary = self.query_one("#swem-summary", Static)
        threshold = f"{d.meaningful_threshold:g}"
        if not swem:
            summary.update(
                Content.from_markup(
                    "[dim]No SWEMWBS yet: the first is taken at the start.[/]  "
                    "[dim]A change of $t or more (metric) is meaningful.[/]",
                    t=threshold,
                )
            )
            return
        first, last = swem[0], swem[-1]
        if len(swem) == 1 or last.change_since_start is None:
            summary.update(
                Content.from_markup(
                    "[b]SWEMWBS[/] $point $metric [dim](raw $raw)[/].  [dim]A change of $t or more is meaningful.[/]",
                    point=first.point,
                    metric=fmt_metric(first.metric),
                    raw=str(first.raw),
                    t=threshold,
                )
            )
            return
        flag = last.label or ""
        summary.update(
            Content.from_markup(
                "[b]SWEMWBS[/] $start → $latest: [b]$change[/] since start  [b $accent]$flag[/]\n"
                "[dim]Meaningful at a change of $t or more (metric score).[/]",
                start=fmt_metric(first.metric),
                latest=fmt_metric(last.metric),
                change=fmt_change(last.change_since_start),
                flag=flag,
                t=threshold,
            )
        )

    def _show_onward(self, d: JourneyDetail) -> None:
        table = self._fit("onward")
        row = table.cursor_row
        table.clear()
        today = self.ctx.today()
        for o in d.onward:
            status = o.status.replace("_", " ")
            when = o.end_date or o.start_date
            if when:
                status += f" {fmt_date(when, today, short=True).strip()}"
            pending = ""
            if o.feedback_pending_since:
                pending = f"since {fmt_date(o.feedback_pending_since, today, short=True).strip()}!"
            table.add_row(
                Text(f"{o.partner}: {o.programme}"),
                fmt_date(o.referral_date, today, short=True),
                status,
                Text(pending, style=alert(self.app)),
                key=str(o.id),
                height=None,
            )
        if d.onward:
            table.move_cursor(row=min(row, len(d.onward) - 1), animate=False)
        self._show_onward_updates()

    def selected_onward(self) -> OnwardView | None:
        if self.detail is None or not self.detail.onward:
            return None
        row = self.query_one("#onward", DataTable).cursor_row
        return self.detail.onward[min(max(row, 0), len(self.detail.onward) - 1)]

    def _show_onward_updates(self) -> None:
        box = self.query_one("#onward-updates", Static)
        o = self.selected_onward()
        if o is None:
            hint = "  Press [b]o[/] to refer on." if self.check_action("onward", ()) else ""
            box.update(Content.from_markup("[dim]No onward referrals.[/]" + hint))
            return
        lines = [Content.from_markup("[b]$p[/]: partner updates", p=f"{o.partner}: {o.programme}")]
        if not o.updates:
            lines.append(Content.from_markup("[dim]None yet.[/]"))
        for on_day, kind, note in o.updates:
            lines.append(
                Content.from_markup(
                    "$on  $kind  [dim]$note[/]", on=fmt_date(on_day), kind=kind.replace("_", " "), note=note
                )
            )
        if o.chases:  # issue 15: the navigator's chases of the partner
            lines.append(Content.from_markup("[b]Chases[/] [dim]($n unanswered)[/]", n=str(o.unanswered_chases)))
            for on_day, method, note in o.chases:
                lines.append(
                    Content.from_markup(
                        "$on  chased by $how  [dim]$note[/]",
                        on=fmt_date(on_day),
                        how=method.replace("_", " "),
                        note=note,
                    )
                )
        box.update(Content("\n").join(lines))

    @on(DataTable.RowHighlighted, "#goals")
    def goal_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_goal_notes()

    @on(DataTable.RowHighlighted, "#onward")
    def onward_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_onward_updates()

    # ---------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "other_journey":
            return self.detail is not None and len(self.detail.journeys) > 1
        if action == "audit_history":
            return getattr(self.app, "is_team_lead", lambda: False)()
        if action == "merge_person":  # issue 15: merge people
            return self.detail is not None and getattr(self.app, "is_team_lead", lambda: False)()
        spec = ACTIONS_BY_NAME.get(action)
        if spec is None:
            return True
        d = self.detail
        if d is None:
            return False
        if action == "reopen":  # issue 15: team leads, on a closed or rejected journey
            return getattr(self.app, "is_team_lead", lambda: False)() and d.state in L.FINISHED_STATES
        if spec.needs is not None and spec.needs not in d.available_actions:
            return False
        if spec.target in ("goal", "goal_edit"):
            return bool(d.goals)
        if spec.target == "onward":
            return bool(d.onward)
        if spec.target == "pending":
            return any(o.feedback_pending_since for o in d.onward)
        if spec.target == "open_onward":  # issue 15: chase
            return _open_onward(d, None) is not None
        if spec.target == "ended":  # issue 15: the referrer told
            return d.referrer_letter is not None
        return True

    def _run(self, name: str) -> None:
        spec = ACTIONS_BY_NAME[name]
        d = self.detail
        if d is None or not self.check_action(name, ()):
            return
        if spec.target == "journey":
            args: tuple = (d.id,)
        elif spec.target == "journeys":
            args = ([d.id],)
        elif spec.target == "goal":
            goal = self.selected_goal()
            if goal is None:
                return
            args = (goal.id,)
        elif spec.target == "goal_edit":  # issue 15: GoalForm(ctx, journey_id, goal_id)
            goal = self.selected_goal()
            if goal is None:
                return
            args = (d.id, goal.id)
        elif spec.target == "onward":
            onward = self.selected_onward()
            if onward is None:
                return
            args = (onward.id,)
        elif spec.target == "pending":
            selected = self.selected_onward()
            if selected is None or not selected.feedback_pending_since:
                selected = next(o for o in d.onward if o.feedback_pending_since)
            args = (selected.id,)
        elif spec.target == "open_onward":  # issue 15: the selected onward referral if open, else the first open
            chased = _open_onward(d, self.selected_onward())
            if chased is None:
                return
            args = (chased.id,)
            self.app.open_form(spec.form, *args, journey_id=d.id, on_saved=lambda r: self.notify(chase_message(r)))
            return
        elif spec.target == "ended":
            args = (d.id,)
        else:  # client
            args = (d.client.id,)
        self.app.open_form(spec.form, *args, journey_id=d.id)

    def action_contact(self) -> None:
        self._run("contact")

    def action_decide(self) -> None:
        self._run("decide")

    def action_start(self) -> None:
        self._run("start")

    def action_add_goal(self) -> None:
        self._run("add_goal")

    def action_goal_progress(self) -> None:
        self._run("goal_progress")

    def action_review(self) -> None:
        self._run("review")

    def action_measure(self) -> None:
        self._run("measure")

    def action_onward(self) -> None:
        self._run("onward")

    def action_partner_update(self) -> None:
        self._run("partner_update")

    def action_follow_up(self) -> None:
        self._run("follow_up")

    def action_close(self) -> None:
        self._run("close")

    def action_reassign(self) -> None:
        self._run("reassign")

    def action_edit_person(self) -> None:
        self._run("edit_person")

    def action_chase(self) -> None:  # issue 15
        self._run("chase")

    def action_referrer_told(self) -> None:  # issue 15
        self._run("referrer_told")

    def action_risk(self) -> None:  # issue 15
        self._run("risk")

    def action_edit_goal(self) -> None:  # issue 15
        self._run("edit_goal")

    def action_amend(self) -> None:
        self._run("amend")

    def action_reopen(self) -> None:
        self._run("reopen")

    def action_other_journey(self) -> None:
        """The person's next journey in the list (newest first), in place of this one."""
        d = self.detail
        if d is None or len(d.journeys) < 2:
            return
        ids = [j.id for j in d.journeys]
        other = ids[(ids.index(d.id) + 1) % len(ids)] if d.id in ids else ids[0]
        self.app.switch_screen(JourneyScreen(other))

    def action_audit_history(self) -> None:
        """Who did what to this journey and its person, and when (team leads and admins)."""
        from navigator.tui.screens.audit import AuditHistoryScreen

        self.app.push_screen(AuditHistoryScreen(self.journey_id))

    # ---- issue 15: merge people (team leads)
    def action_merge_person(self) -> None:
        """Merge this person's record and another record of the same person (tui/forms/merge.py)."""
        from navigator.tui.forms.merge import MergeForm

        d = self.detail
        if d is None:
            return

        def merged(plan) -> None:
            self.notify(f"Merged {plan.merged.client_ref} into {plan.keep.client_ref}: {plan.moves()}.", title="Merged")

        self.app.open_form(MergeForm, d.client.client_ref, journey_id=d.id, on_saved=merged)

    def action_letter(self) -> None:
        """Produce a letter (opt-in, referrer notice, partner summary, ...) and record it on the timeline."""
        if self.detail is None:
            return
        from navigator.tui.admin.letter_dialog import letter_dialog

        journey_id = self.detail.id

        def done(result) -> None:
            if result is not None:
                self.notify(f"Letter written to {result}", title="Letter")
                self.app.data_changed(journey_id)

        # issue 15: once the journey has ended and the referrer is not yet told, their letter is chosen first
        told = self.detail.referrer_told_date is not None
        template = None if told else self.detail.referrer_letter
        self.app.push_screen(letter_dialog(self.ctx, journey_id, template=template), done)

    def action_show_tab(self, tab_id: str) -> None:
        self.query_one("#journey-tabs", TabbedContent).active = tab_id
