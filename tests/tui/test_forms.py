"""Pilot tests for every form: real key presses at 80x24, validation as you type, refused saves
that keep what was typed, and good saves that reach the store (checked through the services)."""

from __future__ import annotations

from datetime import date

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.keys import _character_to_key
from textual.widgets import Button, Checkbox, Input, Select, SelectionList, Static, TextArea
from textual.widgets._select import SelectOverlay

from conftest import SWEMWBS_MID, make_user, new_referral
from navigator.domain.errors import DomainError
from navigator.services import journeys as J
from navigator.services import queries
from navigator.services.dto import JourneyRef
from navigator.services.setup import reference
from navigator.tui.forms import (
    ClientEditForm,
    CloseForm,
    ContactForm,
    DecisionForm,
    FeedbackFollowUpForm,
    FindReasonForm,
    GoalForm,
    GoalProgressForm,
    MeasureForm,
    OnwardForm,
    PartnerUpdateForm,
    ReassignForm,
    ReferralForm,
    ReviewForm,
    StartForm,
)
from navigator.tui.forms.fields import FormField

SIZE = (80, 24)


# ---------------------------------------------------------------- helpers (also used by the journey tests)

class FormHost(App):
    """A bare app that pushes one form and keeps what it dismissed with."""

    def __init__(self, form) -> None:
        super().__init__()
        self.form = form
        self.results: list = []

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(self.form, self.results.append)


async def settle(pilot) -> None:
    """Let workers finish and their messages be handled."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def field(pilot, name: str) -> FormField:
    return pilot.app.screen.query_one(f"#field-{name}", FormField)


def error_of(pilot, name: str) -> str:
    f = field(pilot, name)
    err = f.query_one(".field-error", Static)
    return str(err.content) if err.display else ""


def hint_of(pilot, name: str) -> str:
    f = field(pilot, name)
    hint = f.query_one(".field-hint", Static)
    return str(hint.content) if hint.display else ""


def preview_of(pilot, name: str) -> str:
    return str(field(pilot, name).query_one(".date-preview", Static).content)


def message_of(pilot) -> str:
    msg = pilot.app.screen.query_one("#form-message", Static)
    return str(msg.content) if msg.display else ""


async def focus(pilot, selector: str, *, pause: bool = True):
    """Move the focus to a widget (as tab would), at once."""
    widget = pilot.app.screen.query_one(selector)
    pilot.app.screen.set_focus(widget)
    if pause:
        await pilot.pause()
    return widget


async def keys(pilot, *names: str, one_by_one: bool = False) -> None:
    """Send key events as the terminal driver does, without Pilot.press's idle wait after each one.

    Printable characters go to the focused widget in one batch (typing into one field). A key
    bound to an action (end, backspace, down, enter...) runs that action later, so it is sent
    alone and waited for; so is every key when ``one_by_one`` (keys that may move the focus).
    """
    batch = 0
    for name in names:
        printable = len(name) == 1 and name.isprintable()
        key = _character_to_key(name) if printable and not name.isalnum() else name
        pilot.app.post_message(events.Key(key, name if printable else None))
        batch += 1
        if not printable or one_by_one:
            await pilot.pause()
            batch = 0
    if batch:
        await pilot.pause()


async def type_into(pilot, name: str, text: str) -> None:
    """Focus a text field, select what is there, and type over it (real key events)."""
    widget = pilot.app.screen.query_one(f"#f-{name}")
    if isinstance(widget, Input):
        if pilot.app.focused is widget:
            await keys(pilot, "ctrl+shift+a")
        else:
            await focus(pilot, f"#f-{name}", pause=False)  # focusing an input selects all it holds
        if not text and widget.value:
            await keys(pilot, "backspace")
    elif isinstance(widget, TextArea):
        await focus(pilot, f"#f-{name}")
        if widget.text:
            await keys(pilot, "f7", "backspace")
    else:  # pragma: no cover
        raise AssertionError(f"{name} is not a text field")
    await keys(pilot, *text)


async def choose(pilot, name: str, label: str) -> None:
    """Open a picker with enter, move with the arrow keys to the option, choose it with enter."""
    sel = await focus(pilot, f"#f-{name}", pause=False)
    assert isinstance(sel, Select)
    await pilot.press("enter")
    overlay = sel.query_one(SelectOverlay)
    labels = [str(overlay.get_option_at_index(i).prompt) for i in range(overlay.option_count)]
    assert label in labels, f"no option {label!r} in {name}: {labels}"
    moves = labels.index(label) - (overlay.highlighted or 0)
    await keys(pilot, *(["down"] * moves if moves >= 0 else ["up"] * -moves), "enter")
    assert sel.value is not Select.NULL


async def tick(pilot, selector: str) -> None:
    await focus(pilot, selector, pause=False)
    await keys(pilot, "space")


async def tick_option(pilot, name: str, label: str) -> None:
    """In a multi-choice list, move to an option with the arrow keys and tick it with space."""
    sl = await focus(pilot, f"#f-{name}")
    assert isinstance(sl, SelectionList)
    if sl.highlighted is None:
        await keys(pilot, "down")
    labels = [str(sl.get_option_at_index(i).prompt) for i in range(sl.option_count)]
    moves = labels.index(label) - (sl.highlighted or 0)
    await keys(pilot, *(["down"] * moves if moves >= 0 else ["up"] * -moves), "space")


async def type_swemwbs(pilot, name: str, digits: str) -> None:
    """Type the answers into statement 1: each digit moves on to the next statement."""
    await focus(pilot, f"#f-{name}-1")
    await keys(pilot, *digits, one_by_one=True)


async def save(pilot) -> None:
    await pilot.press("ctrl+s")
    await settle(pilot)


# ---------------------------------------------------------------- referral

async def fill_person(pilot, first="Maya", last="Okafor", dob="14/03/1990", locality="Maidstone (Lot 2)") -> None:
    await type_into(pilot, "first_name", first)
    await type_into(pilot, "last_name", last)
    await type_into(pilot, "date_of_birth", dob)
    await settle(pilot)
    await choose(pilot, "locality", locality)


async def test_referral_saves_a_new_person_and_journey(ctx):
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # keyboard first: the form opens on the first name, and tab moves on
        assert app.focused is not None and app.focused.id == "f-first_name"
        await pilot.press(*"Maya", "tab", *"Okafor", "tab")
        assert app.focused.id == "f-date_of_birth"
        await pilot.press(*"14/03/1990")
        assert preview_of(pilot, "date_of_birth") == "Wed 14 Mar 1990"
        await type_into(pilot, "nhs_number", "943 476 5919")
        assert hint_of(pilot, "nhs_number") == "Valid NHS number 943 476 5919"
        await settle(pilot)
        await choose(pilot, "locality", "Maidstone (Lot 2)")
        await type_into(pilot, "postcode", "me14 1xx")
        assert hint_of(pilot, "postcode") == "ME14 1XX"
        await type_into(pilot, "phone", "07700 900456")
        await type_into(pilot, "email", "maya@example.org")
        await choose(pilot, "preferred_method", "Text")
        await type_into(pilot, "imd_decile", "4")
        await tick(pilot, "#f-consent_to_share")
        await type_into(pilot, "received_date", "-2")
        assert preview_of(pilot, "received_date") == "Mon 23 Nov 2026", (field(pilot, "received_date").text, app.focused)
        await choose(pilot, "source", "GP / primary care")
        await type_into(pilot, "referrer", "Dr Shah, Vine Surgery")
        await type_into(pilot, "reason", "Low mood and debt")
        await tick_option(pilot, "support_areas", "Money, debt and benefits")
        await tick_option(pilot, "support_areas", "Housing")
        await save(pilot)
        assert len(app.results) == 1
        ref = app.results[0]
    assert isinstance(ref, JourneyRef)
    d = queries.journey_detail(ctx, ref.journey_id, audit_view=False)
    assert d.client.name == "Maya Okafor"
    assert d.client.date_of_birth == date(1990, 3, 14)
    assert d.client.nhs_number == "9434765919"
    assert d.client.postcode == "ME14 1XX"
    assert d.client.phone == "07700 900456" and d.client.email == "maya@example.org"
    assert d.client.preferred_method == "text" and d.client.imd_decile == 4
    assert d.client.consent_to_share is True
    assert d.locality == "Maidstone"
    assert d.received_date == date(2026, 11, 23)
    assert d.source_code == "gp" and d.referrer == "Dr Shah, Vine Surgery" and d.reason == "Low mood and debt"
    assert set(d.support_areas) == {"Money, debt and benefits", "Housing"}, d.support_areas
    assert d.navigator == "admin"
    assert d.state == "received"


async def test_referral_validates_as_you_type(ctx):
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "date_of_birth", "31/02/1990")
        assert error_of(pilot, "date_of_birth") == "There is no such date (31/02/1990)."
        await type_into(pilot, "date_of_birth", "1990-2-28")
        assert error_of(pilot, "date_of_birth") == ""
        assert preview_of(pilot, "date_of_birth") == "Wed 28 Feb 1990"
        await type_into(pilot, "date_of_birth", "today")  # a date of birth is never relative
        assert error_of(pilot, "date_of_birth").startswith("Not a date: use YYYY-MM-DD or DD/MM/YYYY")
        await type_into(pilot, "nhs_number", "1234567890")
        assert error_of(pilot, "nhs_number") == "That NHS number is not valid (check digit does not match)."
        await type_into(pilot, "nhs_number", "12345")
        assert error_of(pilot, "nhs_number") == "An NHS number is 10 digits."
        await type_into(pilot, "nhs_number", "")
        assert error_of(pilot, "nhs_number") == ""  # blank is allowed: the NHS number is optional
        await type_into(pilot, "postcode", "ME1 ZZZZ")
        assert error_of(pilot, "postcode").startswith("That is not a UK postcode")
        await type_into(pilot, "email", "maya.example.org")
        assert "@" in error_of(pilot, "email")
        await type_into(pilot, "imd_decile", "11")
        assert error_of(pilot, "imd_decile") == "The IMD decile is 1 to 10."
        # relative dates count working days; the future is refused as you type
        assert preview_of(pilot, "received_date") == "Wed 25 Nov 2026 (today)"
        await type_into(pilot, "received_date", "+1")
        assert error_of(pilot, "received_date") == "The date cannot be in the future."
        await type_into(pilot, "received_date", "yesterday")
        assert preview_of(pilot, "received_date") == "Tue 24 Nov 2026"
        await type_into(pilot, "received_date", "-3")
        assert preview_of(pilot, "received_date") == "Fri 20 Nov 2026"
        await type_into(pilot, "received_date", "20/11/2026")
        assert error_of(pilot, "received_date") == ""


async def test_referral_refused_save_keeps_everything_typed(ctx):
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # nothing typed: every required field says so, nothing is saved
        await save(pilot)
        assert app.results == []
        assert error_of(pilot, "first_name") == "Required."
        assert error_of(pilot, "last_name") == "Required."
        assert error_of(pilot, "date_of_birth") == "Required."
        assert error_of(pilot, "locality") == "Choose one."
        assert error_of(pilot, "source") == "Choose one."
        assert message_of(pilot).startswith("Not saved: check the")
        # the rules refuse: born after the referral was received
        await fill_person(pilot, dob="10/11/2026")
        await type_into(pilot, "received_date", "2026-11-02")
        await choose(pilot, "source", "Self-referral")
        await type_into(pilot, "reason", "Feeling low")
        await save(pilot)
        assert app.results == []
        assert error_of(pilot, "date_of_birth") == "The date of birth is after the referral was received."
        assert "date of birth is after" in message_of(pilot)
        assert error_of(pilot, "first_name") == ""
        # everything typed is still there
        assert field(pilot, "first_name").text == "Maya"
        assert field(pilot, "last_name").text == "Okafor"
        assert field(pilot, "date_of_birth").text == "10/11/2026"
        assert field(pilot, "received_date").text == "2026-11-02"
        assert field(pilot, "reason").text == "Feeling low"
        assert field(pilot, "source").selected == "self"
        # fix it and save
        await type_into(pilot, "date_of_birth", "10/11/1986")
        await save(pilot)
        assert len(app.results) == 1
    assert queries.caseload(ctx).total == 1


async def test_referral_warns_when_under_17(ctx):
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "date_of_birth", "2010-06-01")
        note = str(pilot.app.screen.query_one("#age-warning", Static).content)
        assert "under 17" in note and "can only be rejected" in note
        assert "Aged 16" in hint_of(pilot, "date_of_birth")
        await type_into(pilot, "date_of_birth", "2000-06-01")
        assert not pilot.app.screen.query_one("#age-warning", Static).display


async def test_referral_offers_the_existing_person(ctx):
    known = new_referral(ctx, first="Ann", last="Smith", dob=date(1980, 1, 1), received=date(2025, 3, 3))
    J.close(ctx, known.journey_id, date(2025, 3, 20), "declined")
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "first_name", "ann")
        await type_into(pilot, "last_name", "SMITH")
        await type_into(pilot, "date_of_birth", "01/01/1980")
        await settle(pilot)
        panel = pilot.app.screen.query_one("#dups")
        assert panel.display
        button = pilot.app.screen.query_one(".use-client", Button)
        assert button.client_id == known.client_id
        assert str(button.label) == "Use NAV000001: Ann Smith, born 1980-01-01, Maidstone"
        await focus(pilot, ".use-client")
        await pilot.press("enter")
        await pilot.pause()
        assert not pilot.app.screen.query_one("#person-fields").display
        assert "Referral for NAV000001 Ann Smith" in str(pilot.app.screen.query_one("#existing-text", Static).content)
        assert app.focused.id == "f-received_date"
        await choose(pilot, "source", "Self-referral")
        await save(pilot)
        ref = app.results[0]
    assert ref.client_id == known.client_id
    d = queries.journey_detail(ctx, ref.journey_id, audit_view=False)
    assert len(d.journeys) == 2  # one person, two referrals


async def test_referral_someone_else_with_the_same_name(ctx):
    known = new_referral(ctx, first="Ann", last="Smith", dob=date(1980, 1, 1))
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await fill_person(pilot, first="Ann", last="Smith", dob="1980-01-01")
        await choose(pilot, "source", "GP / primary care")
        assert pilot.app.screen.query_one("#dups").display
        # saving without answering the question is refused, with the matches offered again
        await save(pilot)
        assert app.results == []
        assert "may already be known" in message_of(pilot)
        assert pilot.app.screen.query_one(".use-client", Button).client_id == known.client_id
        await focus(pilot, "#dups-someone-else")
        await pilot.press("enter")
        await pilot.pause()
        assert not pilot.app.screen.query_one("#dups").display
        assert "someone else" in str(pilot.app.screen.query_one("#dup-note", Static).content)
        await save(pilot)
        ref = app.results[0]
    assert ref.client_id != known.client_id


async def test_referral_same_nhs_number_is_found(ctx):
    new_referral(ctx, first="Ann", last="Smith", nhs="9434765919")
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "nhs_number", "9434765919")
        await settle(pilot)
        assert pilot.app.screen.query_one("#dups").display
        assert "NAV000001" in str(pilot.app.screen.query_one(".use-client", Button).label)


async def test_escape_cancels_and_saves_nothing(ctx):
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "first_name", "Maya")
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]
        assert not isinstance(app.screen, ReferralForm)
    assert queries.caseload(ctx).total == 0
