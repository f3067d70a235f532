"""The admin screen: a new store set up from the TUI alone; non-admins can look but not change."""

from __future__ import annotations

from datetime import date

import pytest
from textual.app import App
from textual.widgets import DataTable, Input, Select, SelectionList, Static

from conftest import make_user, new_referral
from navigator.services.casework import letters
from navigator.services.setup import admin as A
from navigator.tui.admin import AdminScreen
from navigator.tui.admin.dialogs import EditDialog, InfoDialog

from .helpers import press, settle

SIZE = (140, 48)


class Host(App):
    """A bare app carrying a ctx, as the navigator app does."""

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx

    def on_mount(self) -> None:
        self.push_screen(AdminScreen())


def dialog(app) -> EditDialog:
    assert isinstance(app.screen, EditDialog), type(app.screen)
    return app.screen


def put(app, **values) -> None:
    d = dialog(app)
    for name, value in values.items():
        w = d.query_one(f"#f-{name}")
        if isinstance(w, SelectionList):
            w.deselect_all()
            for v in value:
                w.select(v)
        elif isinstance(w, (Input, Select)):
            w.value = value
        else:
            w.value = value


def cursor_to(app, table_id: str, key: str) -> None:
    table = app.screen.query_one(f"#{table_id}", DataTable)
    table.focus()
    table.move_cursor(row=table.get_row_index(key))


async def save(pilot) -> None:
    await press(pilot, "ctrl+s")


async def test_set_up_a_service_from_the_tui(ctx, tmp_path):
    nav = make_user(ctx, "leaver", "navigator", ("Lot 2",))
    ref = new_referral(nav)
    wording = tmp_path / "wording.txt"
    wording.write_text("\n".join(f"Licensed statement {i}" for i in range(1, 8)) + "\n(c) Licensed\n")
    app = Host(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, AdminScreen)
        # Users: add one by typing
        await press(pilot, "1", "a")
        await press(pilot, *"j.smith")
        put(app, name="Jo Smith", role="team_lead", lots=["Lot 2"])
        await save(pilot)
        assert isinstance(app.screen, AdminScreen)
        u = next(x for x in A.list_users(ctx) if x.username == "j.smith")
        assert (u.name, u.role, u.lots) == ("Jo Smith", "team_lead", ("Lot 2",))
        # ...edit them
        cursor_to(app, "t-users", "j.smith")
        await press(pilot, "e")
        put(app, name="Joanna Smith")
        await save(pilot)
        assert [x.name for x in A.list_users(ctx) if x.username == "j.smith"] == ["Joanna Smith"]
        # ...deactivate a leaver: their open journeys are listed
        cursor_to(app, "t-users", "leaver")
        await press(pilot, "x")
        await save(pilot)
        assert isinstance(app.screen, InfoDialog)
        assert "Ann Smith" in str(app.screen.query_one("#info-text", Static).render())
        assert [r.journey_id for r in A.open_journeys_of(ctx, "leaver")] == [ref.journey_id]
        await press(pilot, "escape")

        # Partners and a programme
        await press(pilot, "3", "a")
        put(app, name="Medway Money")
        await save(pilot)
        partner = A.get_partner(ctx, "Medway Money")
        cursor_to(app, "t-partners", f"p|{partner.id}")
        await press(pilot, "p")
        put(app, name="Debt clinic", localities=["Maidstone", "Sevenoaks"], days="7")
        await save(pilot)
        g = A.get_partner(ctx, "Medway Money").programmes[0]
        assert (g.name, g.localities, g.expected_response_days) == ("Debt clinic", ("Maidstone", "Sevenoaks"), 7)

        # Protocol
        await press(pilot, "4", "e")
        put(app, attempts="2", gaps="3", methods="phone, letter", opt_in_days="5")
        await save(pilot)
        p = A.get_protocol(ctx)
        assert (p.attempts, p.gaps, p.methods, p.opt_in_days) == (2, (3,), ("phone", "letter"), 5)

        # Measures: wording from the file, threshold, ONS4
        await press(pilot, "5", "w")
        put(app, path=str(wording))
        await save(pilot)
        assert A.swemwbs_wording(ctx).statement(7) == "Licensed statement 7"
        cursor_to(app, "t-measures", "threshold")
        await press(pilot, "e")
        put(app, value="2.5")
        await save(pilot)
        cursor_to(app, "t-measures", "ons4")
        await press(pilot, "e", "space")
        await save(pilot)
        m = A.measure_settings(ctx)
        assert str(m.threshold) == "2.5" and m.ons4_enabled

        # Reference data: add a source, rename a locality
        await press(pilot, "2", "a")
        put(app, kind="source", code="pharmacy", name="Community pharmacy")
        await save(pilot)
        cursor_to(app, "t-reference", "locality|Maidstone")
        await press(pilot, "e")
        put(app, name="Maidstone Town")
        await save(pilot)
        assert "Maidstone Town" in [r.name for r in A.list_reference(ctx, "locality")]

        # Calendar and letters
        await press(pilot, "6", "a")
        put(app, day="2026-05-08", note="Extra bank holiday")
        await save(pilot)
        assert not ctx.calendar().is_working_day(date(2026, 5, 8))
        await press(pilot, "7")
        cursor_to(app, "t-letters", "opt_in_letter")
        await press(pilot, "e")
        dialog(app).query_one("#f-text").text = "Dear {client_first_name},\n"
        await save(pilot)
        assert letters.get_template(ctx, "opt_in_letter").text == "Dear {client_first_name},\n"

        # Export the configuration
        out = tmp_path / "config.toml"
        await press(pilot, "8", "e")
        put(app, path=str(out))
        await save(pilot)
        assert 'username = "j.smith"' in out.read_text()


async def test_refusal_keeps_the_dialog_and_what_was_typed(ctx):
    app = Host(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "1", "a")
        put(app, username="Not Valid", name="Someone")
        await save(pilot)
        d = dialog(app)
        assert "lowercase" in str(d.query_one("#dlg-message", Static).render())
        assert d.query_one("#f-username", Input).value == "Not Valid"
        await press(pilot, "escape")
        assert isinstance(app.screen, AdminScreen)
    assert [u.username for u in A.list_users(ctx)] == ["admin"]


@pytest.mark.parametrize("role", ["navigator", "team_lead"])
async def test_non_admins_are_refused(ctx, role):
    who = make_user(ctx, "someone", role, ("Lot 2",))
    before = A.get_protocol(ctx)
    app = Host(who)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notice = str(app.screen.query_one("#admin-notice", Static).render())
        assert "Only an admin" in notice
        await press(pilot, "4", "e")
        put(app, opt_in_days="3")
        await save(pilot)
        assert "Not allowed" in str(dialog(app).query_one("#dlg-message", Static).render())
        await press(pilot, "escape")
        await press(pilot, "3", "a")
        put(app, name="Sneaky Partner")
        await save(pilot)
        assert "Not allowed" in str(dialog(app).query_one("#dlg-message", Static).render())
    assert A.get_protocol(ctx) == before
    assert "Sneaky Partner" not in [p.name for p in A.list_partners(ctx)]


async def test_letter_dialog_writes_and_records(ctx, tmp_path):
    from navigator.services.casework import queries as Q
    from navigator.tui.admin.letter_dialog import letter_dialog

    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    ref = new_referral(nav)

    class LetterHost(App):
        def __init__(self) -> None:
            super().__init__()
            self.ctx = nav
            self.result = None

        def on_mount(self) -> None:
            self.push_screen(letter_dialog(nav, ref.journey_id, tmp_path), self.done)

        def done(self, result) -> None:
            self.result = result

    app = LetterHost()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        put(app, format="html")
        await save(pilot)
    out = tmp_path / f"journey-{ref.journey_id}-opt_in_letter.html"
    assert app.result == out and out.read_text().startswith("<!DOCTYPE html>")
    assert [e.text for e in Q.journey_detail(nav, ref.journey_id).timeline if e.kind == "letter"] == [
        "Letter produced: opt_in_letter"
    ]


async def test_admin_screen_inside_the_app(ctx):
    from navigator.tui.app import NavigatorApp

    app = NavigatorApp(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(AdminScreen())
        await settle(pilot)
        await press(pilot, "a")
        assert isinstance(app.screen, EditDialog)
        await press(pilot, "escape")
        assert isinstance(app.screen, AdminScreen)
        await press(pilot, "escape")
        assert not isinstance(app.screen, AdminScreen)
