"""Pilot tests of the desk's screens, pressing real keys at 80x24 on a small fixed caseload."""

from __future__ import annotations

import dataclasses
from datetime import date

from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from navigator.domain.errors import StoreError
from navigator.services.casework import journeys as J
from navigator.services.casework import queries
from navigator.tui import forms
from navigator.tui.screens import journey as journey_screen
from navigator.tui.screens.caseload import CaseloadScreen
from navigator.tui.screens.error import ErrorDialog, ErrorScreen
from navigator.tui.screens.find import FindScreen
from navigator.tui.screens.help import HelpScreen
from navigator.tui.screens.journey import JourneyScreen
from navigator.tui.screens.today import TodayScreen

from .helpers import SIZE, make_app, press, screen_text, settle
from .helpers import table_column as _table_column


def table_column(app, table_id: str, column: str) -> list[str]:
    return [v.lstrip("● ") for v in _table_column(app, table_id, column)]


# ---------------------------------------------------------------- Today


async def test_today_opens_first_and_shows_due_items_grouped(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        text = screen_text(app)
        for group in (
            "Awaiting first contact (1)",
            "Next contact attempt (1)",
            "Due for no-response closure (1)",
            "Accepted, waiting to start (1)",
            "Partner feedback to follow up (1)",
            "Tell the referrer (1)",  # issue 15: Dev Kumar's earlier journey was closed
        ):
            assert group in text
        assert "Ann Smith" in text and "Attempt 1 of 3: phone" in text
        assert "15 days" in text  # due 4 Nov, 15 working days overdue on 25 Nov
        assert "Eve Brown" not in text  # not due until 26 Nov
        assert "Gus Grey" not in text  # nina's
        assert "7 due or overdue" in text


async def test_enter_opens_the_journey_and_escape_goes_back(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, JourneyScreen)
        assert app.screen.journey_id == tui_ctx.ids["ann"]
        assert "Ann Smith" in screen_text(app)
        await press(pilot, "escape")
        assert isinstance(app.screen, TodayScreen)


async def test_today_says_when_nothing_is_due(tui_ctx, monkeypatch):
    from navigator.services.dto import TodayView

    monkeypatch.setattr(queries, "today", lambda ctx: TodayView(date(2026, 11, 25), "admin", (), ()))
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Nothing is due today" in screen_text(app)


# ---------------------------------------------------------------- Caseload


async def test_caseload_lists_open_journeys_and_the_filter_narrows_them(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "l")
        assert isinstance(app.screen, CaseloadScreen)
        names = table_column(app, "#caseload-table", "client")
        assert sorted(names) == ["Ann Smith", "Bob Jones", "Cara Patel", "Dev Kumar", "Eve Brown", "Fay Green"]
        await press(pilot, "slash", "f", "a", "y")
        await settle(pilot, 0.3)  # the filter waits for a pause in typing
        assert table_column(app, "#caseload-table", "client") == ["Fay Green"]
        # escape leaves the filter for the table; enter opens the journey
        await press(pilot, "escape")
        assert isinstance(app.screen.focused, DataTable)
        await press(pilot, "enter")
        assert isinstance(app.screen, JourneyScreen) and app.screen.journey_id == tui_ctx.ids["fay"]
        await press(pilot, "escape")
        assert isinstance(app.screen, CaseloadScreen)
        await press(pilot, "escape")
        assert isinstance(app.screen, TodayScreen)


async def test_a_filter_keystroke_that_leaves_the_same_rows_repaints_none(tui_ctx, monkeypatch):
    """Issue 16: one more letter of the one name shown leaves the table as it is; a sort that leaves the
    same order still turns the header's arrow."""
    renders: list[int] = []
    real = CaseloadScreen._render_table

    def counted(self, keep_cursor: bool = False) -> None:
        renders.append(1)
        real(self, keep_cursor)

    monkeypatch.setattr(CaseloadScreen, "_render_table", counted)
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "l")
        await press(pilot, "slash", "f", "a")
        assert table_column(app, "#caseload-table", "client") == ["Fay Green"]
        before = len(renders)
        await press(pilot, "y")
        assert table_column(app, "#caseload-table", "client") == ["Fay Green"] and len(renders) == before
        await press(pilot, "backspace", "backspace", "backspace")
        assert len(table_column(app, "#caseload-table", "client")) == 6 and len(renders) == before + 1
        await press(pilot, "f", "a", "y", "escape", "S")  # reversed: one row, the same order
        assert len(renders) == before + 3
        labels = [str(c.label) for c in app.screen.query_one("#caseload-table", DataTable).columns.values()]
        assert any("▼" in label for label in labels)


async def test_caseload_state_filter(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "l")
        # tab to the state picker, open it, pick "Accepted, waiting to start"
        await press(pilot, "slash", "tab", "enter")
        for _ in range(3):  # Open journeys -> All -> Received -> Accepted
            await press(pilot, "down")
        await press(pilot, "enter")
        await settle(pilot)
        assert app.screen.query_one("#state-filter").value == "accepted"
        assert table_column(app, "#caseload-table", "client") == ["Cara Patel"]


async def test_caseload_sorts_by_any_column(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "l")
        # default: by next due date, earliest first
        assert table_column(app, "#caseload-table", "client")[0] == "Dev Kumar"
        await press(pilot, "s", "s")  # due -> last contact -> client
        assert app.screen.sort_key == "client"
        assert table_column(app, "#caseload-table", "client") == [
            "Ann Smith",
            "Bob Jones",
            "Cara Patel",
            "Dev Kumar",
            "Eve Brown",
            "Fay Green",
        ]
        await press(pilot, "S")
        assert table_column(app, "#caseload-table", "client")[0] == "Fay Green"
        assert "Client ▼" in str(app.screen.query_one("#caseload-table", DataTable).columns["client"].label)


async def test_caseload_fetches_the_next_page_near_the_end(tui_ctx, monkeypatch):
    from navigator.tui.screens import caseload

    monkeypatch.setattr(caseload, "PAGE", 4)
    monkeypatch.setattr(caseload, "PREFETCH", 1)
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "l")
        screen = app.screen
        assert screen.total == 6 and len(screen.rows) == 4
        await press(pilot, "down", "down", "down")
        assert len(screen.rows) == 6
        assert screen.query_one("#caseload-table", DataTable).row_count == 6
        assert "6 of 6" in str(screen.query_one("#caseload-status", Static).render())


# ---------------------------------------------------------------- Find


async def test_find_finds_a_person_and_opens_their_latest_journey(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "f")
        assert isinstance(app.screen, FindScreen)
        await press(pilot, *"kumar", "enter")
        assert table_column(app, "#find-results", "name") == ["Dev Kumar"]
        await press(pilot, "enter")
        assert isinstance(app.screen, JourneyScreen)
        assert app.screen.journey_id == tui_ctx.ids["dev"]


async def test_find_asks_a_reason_before_opening_someone_not_in_my_caseload(tui_ctx, monkeypatch):
    from conftest import make_user
    from tui.conftest import fixed

    nav_ctx = fixed(make_user(tui_ctx, "ned", "navigator", ("Lot 2",)))
    opened = []

    class FindReasonForm(ModalScreen):
        def __init__(self, ctx, client_id):
            super().__init__()
            opened.append(client_id)

        def on_mount(self):
            queries.open_with_reason(self.app.ctx, opened[-1], "Covering for Nina today")
            self.dismiss(True)

    monkeypatch.setattr(forms, "FindReasonForm", FindReasonForm)
    app = make_app(nav_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "f", *"grey", "enter")
        assert "not in my caseload" in table_column(app, "#find-results", "name")[0]
        await press(pilot, "enter")
        await settle(pilot)
        assert opened  # the reason form came first
        assert isinstance(app.screen, JourneyScreen) and app.screen.journey_id == tui_ctx.ids["gus"]


# ---------------------------------------------------------------- Journey


async def test_journey_actions_follow_the_services_available_actions(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_journey(tui_ctx.ids["cara"])  # accepted, waiting to start
        await settle(pilot)
        screen = app.screen
        assert screen.check_action("start", ()) is True
        assert screen.check_action("decide", ()) is False
        assert screen.check_action("add_goal", ()) is False
        assert screen.check_action("contact", ()) is True
        assert screen.check_action("edit_person", ()) is True
        await press(pilot, "escape")
        app.open_journey(tui_ctx.ids["dev"])  # started, with goals and a declined onward referral
        await settle(pilot)
        screen = app.screen
        for action in (
            "add_goal",
            "goal_progress",
            "review",
            "measure",
            "onward",
            "partner_update",
            "follow_up",
            "close",
            "reassign",
        ):
            assert screen.check_action(action, ()) is True, action
        assert screen.check_action("start", ()) is False
        app.open_journey(tui_ctx.ids["dev_old"])  # completed: nothing but editing the person
        await settle(pilot)
        assert [a for a in ("contact", "close", "add_goal", "reassign") if app.screen.check_action(a, ())] == []


async def test_journey_shows_person_timeline_plan_wellbeing_and_onward(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_journey(tui_ctx.ids["dev"])
        await settle(pilot)
        text = screen_text(app)
        assert "Dev Kumar" in text and "Started" in text
        await press(pilot, "2")
        whats = table_column(app, "#timeline", "what")
        assert "Accepted" in whats and any(w.startswith("Partner update: declined") for w in whats)
        await press(pilot, "3")
        assert table_column(app, "#goals", "status") == ["In progress", "Not started"]
        await press(pilot, "4")
        assert table_column(app, "#measures", "label") == ["", "meaningful improvement"]
        assert "+4.11" in screen_text(app)
        await press(pilot, "5")
        assert table_column(app, "#onward", "status") == ["started 12 Oct", "declined 20 Nov"]


async def test_a_save_reloads_journey_and_today_at_once(tui_ctx, monkeypatch):
    """The forms' contract: ContactForm(ctx, journey_id) dismisses with a result; the app broadcasts DataChanged."""
    calls = []

    class ContactForm(ModalScreen):
        def __init__(self, ctx, journey_id):
            super().__init__()
            calls.append(journey_id)
            self.ctx, self.journey_id = ctx, journey_id

        def on_mount(self):
            ref = J.log_contact(self.ctx, self.journey_id, date(2026, 11, 25), "phone", "spoke")
            self.dismiss(ref)

    contact = journey_screen.ACTIONS_BY_NAME["contact"]
    monkeypatch.setitem(journey_screen.ACTIONS_BY_NAME, "contact", dataclasses.replace(contact, form=ContactForm))
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        today = app.screen
        await press(pilot, "enter")  # Ann: awaiting first contact
        assert app.screen.journey_id == tui_ctx.ids["ann"]
        await press(pilot, "c")
        await settle(pilot)
        assert calls == [tui_ctx.ids["ann"]]
        assert isinstance(app.screen, JourneyScreen)
        assert "Contact by phone: Spoke" in table_column(app, "#timeline", "what")
        assert app.screen.check_action("decide", ()) is True
        # Today (under the journey) reloaded too: Ann is no longer awaiting first contact
        assert "Ann Smith" not in [item.client_name for item in today.view.items]
        await press(pilot, "escape")
        assert app.screen is today


# ---------------------------------------------------------------- help, palette, errors


async def test_help_lists_the_bindings_of_the_current_screen(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=(80, 60)) as pilot:  # every key of the Journey screen in view
        await settle(pilot)
        app.open_journey(tui_ctx.ids["cara"])
        await settle(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for line in (
            "Journey screen",
            "Contact",
            "Start",
            "Decision (not available now)",
            "Everywhere",
            "Caseload",
            "New referral",
            "Command palette",
        ):
            assert line in text, line
        await press(pilot, "escape")
        assert isinstance(app.screen, JourneyScreen)


async def test_command_palette_reaches_screens_and_actions(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+p", *"caseload")
        await settle(pilot, 0.2)
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseloadScreen)
        await press(pilot, "ctrl+p", *"reverse")
        await settle(pilot, 0.2)
        await press(pilot, "enter")
        await settle(pilot)
        assert app.screen.descending is True


async def test_store_error_in_a_worker_is_shown_not_a_traceback(tui_ctx, monkeypatch):
    def locked(ctx, *a, **k):
        raise StoreError("The database at /x/store.sqlite3 is locked by another program. Close it, or wait.")

    monkeypatch.setattr(queries, "today", locked)
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        assert "locked by another program" in screen_text(app)
        await press(pilot, "escape")
        assert isinstance(app.screen, TodayScreen)
    assert app._exception is None


async def test_unexpected_error_in_a_worker_hides_its_text(tui_ctx, monkeypatch):
    def broken(ctx, *a, **k):
        raise ValueError("Ann Smith 1980-01-01")  # personal data must not reach the screen

    monkeypatch.setattr(queries, "caseload", broken)
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "l")
        messages = [n.message for n in app._notifications]
        assert any("unexpected error (ValueError)" in m for m in messages)
        assert not any("Ann Smith" in m for m in messages)
    assert app._exception is None


async def test_without_a_store_the_app_shows_the_error_and_quits(tmp_path):
    app = make_app(None, error="The database at /x/store.sqlite3 was made by a newer navigator.")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        assert "made by a newer navigator" in screen_text(app)
        await press(pilot, "t", "l", "n")  # nothing to go to
        assert isinstance(app.screen, ErrorScreen)
        await pilot.press("q")
    assert app.return_code == 2


async def test_no_color_marks_overdue_without_colour(tui_ctx, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.no_color
        await press(pilot, "l")
        due = app.screen.query_one("#caseload-table", DataTable).get_row_at(0)[6]
        assert due.plain.endswith("!") and [str(s.style) for s in due.spans] == ["bold"]  # not by colour alone


async def test_data_changed_posted_to_the_app_reaches_every_screen(tui_ctx):
    from navigator.tui.messages import DataChanged

    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        today = app.screen
        app.open_journey(tui_ctx.ids["ann"])
        await settle(pilot)
        J.log_contact(tui_ctx, tui_ctx.ids["ann"], date(2026, 11, 24), "phone", "no_answer")
        generation = app.data_generation
        app.post_message(DataChanged(tui_ctx.ids["ann"]))  # what a form may do instead of app.data_changed
        await settle(pilot)
        assert app.data_generation == generation + 1
        assert "Contact by phone: No answer" in table_column(app, "#timeline", "what")
        assert "Ann Smith" not in [item.client_name for item in today.view.items]


async def test_a_team_lead_picks_whose_caseload(tui_ctx):
    app = make_app(tui_ctx)  # admin: may see every navigator's caseload
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "l")
        picker = app.screen.query_one("#navigator-filter")
        assert picker.display and picker.value == "admin"
        await press(pilot, "slash", "tab", "tab", "tab", "enter", "down", "enter")
        assert picker.value == "nina"
        assert table_column(app, "#caseload-table", "client") == ["Gus Grey"]


async def test_j_opens_the_persons_other_journey(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_journey(tui_ctx.ids["dev"])
        await settle(pilot)
        await press(pilot, "j")
        assert isinstance(app.screen, JourneyScreen) and app.screen.journey_id == tui_ctx.ids["dev_old"]
        assert app.screen.detail.state == "completed"
        await press(pilot, "escape")
        assert isinstance(app.screen, TodayScreen)


# ---------------------------------------------------------------- small things


async def test_help_longer_than_the_screen_scrolls_with_the_keyboard(tui_ctx):
    app = make_app(tui_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_journey(tui_ctx.ids["dev"])  # the longest help: every journey action
        await settle(pilot)
        await press(pilot, "question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        scroll = help_screen.query_one("#help-scroll")
        assert scroll.max_scroll_y > 0, "the help fits: make the screen smaller"
        assert "escape closes this help" in screen_text(app)  # the hint stays on the screen
        await press(pilot, "end")
        assert scroll.scroll_y == scroll.max_scroll_y
        assert "Command palette" in screen_text(app)  # the last lines, reached by keys alone
        await press(pilot, "home")
        assert scroll.scroll_y == 0
        await press(pilot, "pagedown")
        assert scroll.scroll_y > 0
        await press(pilot, "escape")
        assert isinstance(app.screen, JourneyScreen)


async def test_acting_as_someone_is_in_the_header_on_every_screen(tui_ctx):
    from conftest import make_user
    from navigator.services.context import Ctx
    from tui.conftest import fixed

    make_user(tui_ctx, "nora", "team_lead", ("Lot 2",))
    acting = fixed(Ctx(tui_ctx.store, username="nora", acting_as="admin"))
    app = make_app(acting)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        for key in ("t", "l", "f", "T", "W"):
            await press(pilot, key)
            header = screen_text(app).splitlines()[0]
            assert "acting as nora (by admin)" in header, (key, header)
        app.open_journey(tui_ctx.ids["gus"])
        await settle(pilot)
        assert "acting as nora (by admin)" in screen_text(app).splitlines()[0]

    plain = make_app(tui_ctx)
    async with plain.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert "acting as" not in screen_text(plain)


def test_without_a_terminal_the_app_says_so_and_exits(tui_ctx, monkeypatch, capsys):
    from navigator.tui import app as tui_app

    class NotATerminal:
        def isatty(self) -> bool:
            return False

    ran = []
    monkeypatch.setattr(tui_app.App, "run", lambda self, *a, **k: ran.append(True))
    for stream in ("stdin", "stdout"):
        with monkeypatch.context() as m:
            m.setattr(f"sys.{stream}", NotATerminal())
            assert tui_app.run_app(tui_ctx, after_start=lambda: None) == 2
    assert not ran  # the app never started, so nothing waits for keys that cannot come
    assert "needs a terminal" in capsys.readouterr().err


def test_today_says_due_not_overdue_by_zero_days_on_a_weekend():
    from navigator.services.dto import TodayItem
    from navigator.tui.screens.today import late_text

    saturday, friday = date(2026, 11, 28), date(2026, 11, 27)

    def item(due: date, overdue: int) -> TodayItem:
        return TodayItem(1, 1, "NAV000001", "Ann Smith", "first_contact", "First contact", "Call", due, overdue, None)

    assert late_text(item(friday, 0), saturday).plain == "due"  # no working day since Friday
    assert late_text(item(saturday, 0), saturday).plain == "today"  # due on the Saturday itself
    assert late_text(item(date(2026, 11, 26), 1), saturday).plain == "1 day"
    assert late_text(item(date(2026, 11, 20), 5), saturday).plain == "5 days"
    for due, late in ((friday, 0), (saturday, 0), (date(2026, 11, 20), 5)):
        assert "0 day" not in late_text(item(due, late), saturday).plain
