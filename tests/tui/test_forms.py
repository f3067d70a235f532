"""Pilot tests for every form: real key presses at 80x24, validation as you type, refused saves
that keep what was typed, and good saves that reach the store (checked through the services)."""

from __future__ import annotations

from datetime import date

from textual.widgets import Button, Input, Select, Static, TextArea

from conftest import SWEMWBS_MID, make_user, new_referral
from navigator.services.casework import journeys as J
from navigator.services.casework import queries
from navigator.services.dto import JourneyRef
from navigator.services.setup.reference import reference
from navigator.tui.compat import SelectOverlay
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
from navigator.tui.forms.base import DiscardDialog

from .helpers import (
    SIZE,
    FormHost,
    choose,
    detail,
    error_of,
    field,
    focus,
    hint_of,
    keys,
    message_of,
    preview_of,
    save,
    tick,
    tick_option,
    type_into,
    type_swemwbs,
    wait_until,
)
from .helpers import press_quiet as press
from .helpers import settle_quiet as settle

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
        await press(pilot, *"Maya", "tab", *"Okafor", "tab")
        assert app.focused.id == "f-date_of_birth"
        await press(pilot, *"14/03/1990")
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
        assert preview_of(pilot, "received_date") == "Mon 23 Nov 2026"
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
    assert set(d.support_areas) == {"Money, debt and benefits", "Housing"}
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
        await press(pilot, "enter")
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
        await press(pilot, "enter")
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


async def test_escape_on_an_unchanged_form_closes_at_once(ctx):
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "escape")
        assert app.results == [None]
        assert not isinstance(app.screen, (ReferralForm, DiscardDialog))
    assert queries.caseload(ctx).total == 0


async def test_escape_on_a_changed_form_asks_keep_editing_or_discard(ctx):
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        form = app.screen
        await type_into(pilot, "first_name", "Maya")
        await press(pilot, "escape")
        assert isinstance(app.screen, DiscardDialog), app.screen
        assert app.results == []
        # keep editing (escape, or the focused first button): back on the form, with what was typed
        await press(pilot, "escape")
        assert app.screen is form and form.field("first_name").text == "Maya"
        await press(pilot, "escape")
        assert isinstance(app.screen, DiscardDialog)
        await press(pilot, "enter")  # "Keep editing" has the focus
        assert app.screen is form and app.results == []
        # discard
        await press(pilot, "escape")
        await press(pilot, "tab", "enter")
        assert app.results == [None]
        assert not isinstance(app.screen, (ReferralForm, DiscardDialog))
    assert queries.caseload(ctx).total == 0


# ---------------------------------------------------------------- journey steps


def accepted(ctx, **kw) -> JourneyRef:
    ref = new_referral(ctx, **kw)
    J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke")
    J.decide(ctx, ref.journey_id, "accepted", date(2026, 11, 4))
    return ref


def started(ctx, **kw) -> JourneyRef:
    ref = accepted(ctx, **kw)
    J.start(ctx, ref.journey_id, date(2026, 11, 9), SWEMWBS_MID)
    return ref


async def test_contact_form_logs_an_attempt_and_suggests_the_method(ctx):
    ref = new_referral(ctx, received=date(2026, 11, 2))
    J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "no_answer")
    app = FormHost(ContactForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hint = str(pilot.app.screen.query_one("#task-hint", Static).content)
        assert hint.startswith("Next: Attempt 2 of 3: phone (due")
        assert field(pilot, "method").selected == "phone"
        assert "Ann Smith · NAV000001 · Received" in str(pilot.app.screen.query_one("#form-context", Static).content)
        await type_into(pilot, "date", "05/11/2026")
        await choose(pilot, "outcome", "Voicemail")
        await type_into(pilot, "note", "Left a message")
        await save(pilot)
        assert isinstance(app.results[0], JourneyRef)
    d = detail(ctx, ref.journey_id)
    assert d.last_contact_date == date(2026, 11, 5)
    assert any(e.kind == "contact" and "Voicemail" in e.text and "Left a message" in e.text for e in d.timeline)


async def test_contact_before_the_referral_is_refused_next_to_the_date(ctx):
    ref = new_referral(ctx, received=date(2026, 11, 2))
    app = FormHost(ContactForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "date", "2026-11-01")
        await choose(pilot, "outcome", "Spoke")
        await type_into(pilot, "note", "Called back")
        await save(pilot)
        assert app.results == []
        assert error_of(pilot, "date") == "The contact date cannot be before the referral date (2026-11-02)."
        assert field(pilot, "note").text == "Called back"
        assert field(pilot, "outcome").selected == "spoke"
        assert app.focused.id == "f-date"
    assert detail(ctx, ref.journey_id).last_contact_date is None


async def test_decision_rejected_needs_a_reason(ctx):
    ref = new_referral(ctx)
    app = FormHost(DecisionForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not pilot.app.screen.query_one("#reject-box").display
        await choose(pilot, "decision", "Rejected")
        assert pilot.app.screen.query_one("#reject-box").display
        await save(pilot)
        assert app.results == []
        assert error_of(pilot, "reject_reason") == "Choose one."
        await choose(pilot, "reject_reason", "Under 17")
        await save(pilot)
        assert app.results == []
        assert error_of(pilot, "reject_reason") == "The person was 46 when referred, not under 17."
        await choose(pilot, "reject_reason", "Out of area")
        await save(pilot)
        assert app.results[0].state == "rejected"
    assert detail(ctx, ref.journey_id).reject_reason == "out_of_area"


async def test_decision_changed_meanwhile_keeps_the_choice_and_reloads(ctx):
    ref = new_referral(ctx)
    app = FormHost(DecisionForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        J.log_contact(ctx, ref.journey_id, date(2026, 11, 24), "phone", "spoke")  # someone else, meanwhile
        await choose(pilot, "decision", "Accepted")
        await save(pilot)
        assert app.results == []
        assert "was changed by admin at" in message_of(pilot) and "ctrl+r reloads" in message_of(pilot)
        await press(pilot, "ctrl+r")
        await settle(pilot)
        assert message_of(pilot) == "Reloaded: what you typed is kept."
        assert field(pilot, "decision").selected == "accepted"
        await save(pilot)
        assert app.results[0].state == "accepted"


async def test_decision_for_someone_under_17(ctx):
    ref = new_referral(ctx, dob=date(2010, 6, 1))
    app = FormHost(DecisionForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "can only be rejected" in str(pilot.app.screen.query_one("#age-warning", Static).content)
        assert field(pilot, "decision").selected == "rejected"
        assert field(pilot, "reject_reason").selected == "under_17"
        await choose(pilot, "decision", "Accepted")
        await save(pilot)
        assert app.results == []
        assert error_of(pilot, "decision").startswith("Cannot accept: the person was under 17")
        await choose(pilot, "decision", "Rejected")
        await save(pilot)
        assert app.results[0].state == "rejected"


async def test_start_with_the_first_swemwbs(ctx):
    ref = accepted(ctx)
    app = FormHost(StartForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "navigator config wording FILE" in str(pilot.app.screen.query_one(".sw-wording", Static).content)
        await type_into(pilot, "start_date", "10/11/2026")
        await type_swemwbs(pilot, "swemwbs", "3")
        assert app.focused.id == "f-swemwbs-2"  # typing an answer moves on
        assert "1 of 7 answered" in str(pilot.app.screen.query_one(".sw-score", Static).content)
        await keys(pilot, *"423343", one_by_one=True)
        assert str(pilot.app.screen.query_one(".sw-score", Static).content) == "Raw 22 · metric 19.98"
        assert str(pilot.app.screen.query_one("#sw-swemwbs-answer2", Static).content) == "Often"
        await save(pilot)
        assert app.results[0].state == "started"
    d = detail(ctx, ref.journey_id)
    assert d.start_date == date(2026, 11, 10)
    (m,) = d.measures
    assert (m.point, m.raw, m.items) == ("start", 22, (3, 4, 2, 3, 3, 4, 3))


async def test_start_without_swemwbs_needs_not_taken_ticked(ctx):
    ref = accepted(ctx)
    app = FormHost(StartForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await save(pilot)
        assert app.results == []
        assert error_of(pilot, "swemwbs") == "Answer all seven statements, or tick 'Not taken at start'."
        await type_swemwbs(pilot, "swemwbs", "33")
        await save(pilot)
        assert error_of(pilot, "swemwbs").startswith("SWEMWBS counts only when all 7 are answered: statement 3")
        await tick(pilot, "#f-swemwbs-skip")
        assert pilot.app.screen.query_one("#f-swemwbs-1", Input).disabled
        await save(pilot)
        assert app.results[0].state == "started"
    assert detail(ctx, ref.journey_id).measures == ()


async def test_start_shows_the_configured_wording(ctx):
    from navigator.services.context import put_setting

    with ctx.write() as s:
        put_setting(
            s,
            "swemwbs_wording",
            {
                "statements": [f"I have been feeling test {n}" for n in range(1, 8)],
                "copyright": "(c) Test licence line",
            },
            ctx.now(),
        )
    ref = accepted(ctx)
    app = FormHost(StartForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert str(pilot.app.screen.query_one("#sw-swemwbs-label3").content) == "3. I have been feeling test 3"
        assert str(pilot.app.screen.query_one(".sw-wording", Static).content) == "(c) Test licence line"


async def test_close_offers_only_reasons_that_fit_and_completed_asks_for_evidence(ctx):
    ref = started(ctx)
    app = FormHost(CloseForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        sel = pilot.app.screen.query_one("#f-end_reason", Select)
        labels = [str(p) for p, _ in sel._options if _ is not Select.NULL]
        assert labels == ["Completed", "No response", "Withdrew", "Moved away", "Escalated to secondary care", "Other"]
        assert not pilot.app.screen.query_one("#completed-box").display
        await choose(pilot, "end_reason", "Completed")
        assert pilot.app.screen.query_one("#completed-box").display
        await type_swemwbs(pilot, "swemwbs", "4444444")
        await save(pilot)
        assert app.results == []
        assert error_of(pilot, "evidence") == "Required."
        await type_into(pilot, "evidence", "Joined a walking group; debts under control")
        await save(pilot)
        assert app.results[0].state == "completed"
    d = detail(ctx, ref.journey_id)
    assert d.end_reason == "completed" and d.outcome_evidence == "Joined a walking group; debts under control"
    end = [m for m in d.measures if m.point == "end"]
    assert end and end[0].raw == 28 and end[0].label == "meaningful improvement"


async def test_close_a_journey_that_never_started(ctx):
    ref = new_referral(ctx)
    app = FormHost(CloseForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        sel = pilot.app.screen.query_one("#f-end_reason", Select)
        assert "Completed" not in [str(p) for p, _ in sel._options]
        await choose(pilot, "end_reason", "No response")
        assert "tell the referrer" in str(pilot.app.screen.query_one("#close-note", Static).content)
        await save(pilot)
        assert app.results[0].state == "closed_without_start"


async def test_close_form_on_a_closed_journey_says_so(ctx):
    ref = new_referral(ctx)
    J.close(ctx, ref.journey_id, date(2026, 11, 20), "declined")
    app = FormHost(CloseForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "nothing to close" in message_of(pilot)
        await save(pilot)
        assert app.results == []
        assert message_of(pilot).startswith("Cannot save.")


async def test_reassign_moves_journeys(ctx):
    make_user(ctx, "nina", "navigator", ("Lot 2",))
    a = new_referral(ctx, first="Ann")
    b = new_referral(ctx, first="Bea", last="Jones")
    app = FormHost(ReassignForm(ctx, [a.journey_id, b.journey_id]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "2 journeys selected" in str(pilot.app.screen.query_one("#form-context", Static).content)
        await choose(pilot, "navigator", "Nina (nina)")
        await save(pilot)
        assert len(app.results[0]) == 2
    assert detail(ctx, a.journey_id).navigator == "nina" and detail(ctx, b.journey_id).navigator == "nina"


# ---------------------------------------------------------------- the plan


async def test_goal_add_validates_the_i_statement(ctx):
    ref = started(ctx)
    app = FormHost(GoalForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await choose(pilot, "outcome", "Economic wellbeing (income, debts, benefits)")
        await type_into(pilot, "statement", "Get debts sorted")
        assert error_of(pilot, "statement").startswith("Write the goal in the person's own words, starting with 'I'")
        await type_into(pilot, "statement", "I want to get my debts under control")
        assert error_of(pilot, "statement") == ""
        await type_into(pilot, "target_date", "31/01/2027")
        assert preview_of(pilot, "target_date") == "Sun 31 Jan 2027"
        await type_into(pilot, "target_date", "01/11/2026")
        await save(pilot)
        assert app.results == []
        assert error_of(pilot, "target_date") == "The target date cannot be before the start."
        await type_into(pilot, "target_date", "+40")
        await save(pilot)
        goal_id = app.results[0]
    (g,) = detail(ctx, ref.journey_id).goals
    assert g.id == goal_id and g.statement == "I want to get my debts under control"
    assert g.outcome == "Economic wellbeing (income, debts, benefits)"
    assert g.target_date == date(2027, 1, 25)  # 40 working days on: Christmas bank holidays skipped


async def test_goal_edit_and_progress(ctx):
    ref = started(ctx)
    goal_id = J.add_goal(ctx, ref.journey_id, "connect", "I want to join a group")
    app = FormHost(GoalForm(ctx, ref.journey_id, goal_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert field(pilot, "statement").text == "I want to join a group"
        assert field(pilot, "outcome").selected == "connect"
        await type_into(pilot, "statement", "I want to join a walking group")
        await save(pilot)
        assert app.results == [goal_id]
    app = FormHost(GoalProgressForm(ctx, goal_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "I want to join a walking group" in str(pilot.app.screen.query_one("#goal-text", Static).content)
        await save(pilot)
        assert app.results == []
        assert error_of(pilot, "note") == "Change the status or write a progress note."
        await choose(pilot, "status", "Achieved")
        await type_into(pilot, "note", "Walks every Tuesday")
        await save(pilot)
        assert app.results == [goal_id]
    (g,) = detail(ctx, ref.journey_id).goals
    assert g.statement == "I want to join a walking group" and g.status == "achieved"
    assert g.notes[-1][1] == "Walks every Tuesday"


async def test_review_with_an_optional_swemwbs(ctx):
    ref = started(ctx)
    app = FormHost(ReviewForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "note", "Going well")
        await type_swemwbs(pilot, "swemwbs", "444")
        await save(pilot)
        assert app.results == []
        assert "statement 4, 5, 6, 7 still blank" in error_of(pilot, "swemwbs")
        await keys(pilot, *"4444", one_by_one=True)
        await save(pilot)
        assert app.results[0].state == "started"
    d = detail(ctx, ref.journey_id)
    assert [m.point for m in d.measures] == ["start", "review"]
    assert any(e.kind == "review" and "Going well" in e.text for e in d.timeline)


async def test_measure_form_records_a_swemwbs(ctx):
    ref = started(ctx)
    app = FormHost(MeasureForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert field(pilot, "point").selected == "review"  # a start measure exists already
        assert not pilot.app.screen.query_one("#kind-box").display  # ONS4 is off
        await type_into(pilot, "date", "+1")
        await type_swemwbs(pilot, "swemwbs", "5555555")
        await save(pilot)
        assert app.results == []
        assert error_of(pilot, "date") == "The date cannot be in the future."
        await type_into(pilot, "date", "today")
        await save(pilot)
        measure_id = app.results[0]
    m = next(m for m in detail(ctx, ref.journey_id).measures if m.id == measure_id)
    assert (m.point, m.raw, m.on) == ("review", 35, date(2026, 11, 25))


async def test_measure_form_ons4_when_enabled(ctx):
    from navigator.services.context import put_setting

    with ctx.write() as s:
        put_setting(s, "ons4_enabled", True, ctx.now())
    ref = started(ctx)
    app = FormHost(MeasureForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert pilot.app.screen.query_one("#kind-box").display
        await choose(pilot, "kind", "ONS4 personal wellbeing")
        assert not pilot.app.screen.query_one("#swemwbs-box").display
        for n, value in enumerate(["7", "8", "6", "11"], start=1):
            await type_into(pilot, f"ons4-{n}", value)
        assert error_of(pilot, "ons4") == "Anxiety yesterday: answer 0 to 10."
        await type_into(pilot, "ons4-4", "3")
        await save(pilot)
        measure_id = app.results[0]
    m = next(m for m in detail(ctx, ref.journey_id).measures if m.id == measure_id)
    assert m.kind == "ons4" and m.items == (7, 8, 6, 3)


# ---------------------------------------------------------------- onward referrals


async def test_onward_needs_consent_and_records_it_through_the_person_form(ctx):
    ref = started(ctx, consent=False)
    programme = next(p for p in reference(ctx).programmes if p.name == "Debt advice")
    app = FormHost(OnwardForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "has not consented" in str(pilot.app.screen.query_one("#consent-text", Static).content)
        assert not pilot.app.screen.query_one("#onward-fields").display
        await save(pilot)
        assert app.results == []
        assert "record the person's consent" in message_of(pilot)
        await press(pilot, "ctrl+e")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ClientEditForm)
        await tick(pilot, "#f-consent_to_share")
        await save(pilot)
        await settle(pilot)
        assert isinstance(pilot.app.screen, OnwardForm), message_of(pilot)
        assert pilot.app.screen.query_one("#onward-fields").display
        await wait_until(
            pilot,
            lambda: app.focused is not None and app.focused.id == "f-programme",
            "the focus to move on to the programme",
        )
        await choose(pilot, "programme", programme.label)
        await type_into(pilot, "note", "Appointment requested")
        await save(pilot)
        onward_id = app.results[0]
    d = detail(ctx, ref.journey_id)
    assert d.client.consent_to_share is True
    (o,) = d.onward
    assert o.id == onward_id and o.programme == "Debt advice" and o.status == "made"


async def test_partner_update_and_a_refused_one(ctx):
    ref = started(ctx)
    programme = next(p for p in reference(ctx).programmes if p.name == "Yoga")
    onward_id = J.make_onward(ctx, ref.journey_id, programme.id, date(2026, 11, 10))
    app = FormHost(PartnerUpdateForm(ctx, onward_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Calm Kent: Yoga" in str(pilot.app.screen.query_one("#onward-text", Static).content)
        await choose(pilot, "kind", "Completed")
        await type_into(pilot, "note", "All sessions")
        await save(pilot)
        assert app.results == []
        assert error_of(pilot, "kind").startswith("After 'made' the partner can report:")
        assert field(pilot, "note").text == "All sessions"
        await choose(pilot, "kind", "Started")
        await type_into(pilot, "date", "12/11/2026")
        await save(pilot)
        assert app.results == ["started"]
    (o,) = detail(ctx, ref.journey_id).onward
    assert o.status == "started" and o.start_date == date(2026, 11, 12)


async def test_feedback_follow_up(ctx):
    ref = started(ctx)
    programme = next(p for p in reference(ctx).programmes if p.name == "Yoga")
    onward_id = J.make_onward(ctx, ref.journey_id, programme.id, date(2026, 11, 10))
    J.partner_update(ctx, onward_id, "declined", date(2026, 11, 20), note="No longer wishes to attend")
    app = FormHost(FeedbackFollowUpForm(ctx, onward_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = str(pilot.app.screen.query_one("#onward-text", Static).content)
        assert "No longer wishes to attend" in text and "Waiting for follow-up since Fri 20 Nov 2026" in text
        await type_into(pilot, "note", "Spoke to her: prefers a walking group")
        await save(pilot)
        assert app.results == [onward_id]
    (o,) = detail(ctx, ref.journey_id).onward
    assert o.feedback_pending_since is None


# ---------------------------------------------------------------- the person


async def test_client_edit_conflict_keeps_what_was_typed(ctx):
    ref = new_referral(ctx)
    app = FormHost(ClientEditForm(ctx, ref.client_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert field(pilot, "first_name").text == "Ann"
        # someone else saves a change meanwhile
        J.update_client(
            ctx,
            ref.client_id,
            J.ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", phone="01622 000000", consent_to_share=True),
        )
        await type_into(pilot, "first_name", "Anne")
        await type_into(pilot, "postcode", "me14 1xx")
        await save(pilot)
        assert app.results == []
        assert "was changed by admin at" in message_of(pilot)
        assert "Your entry is kept" in message_of(pilot)
        assert field(pilot, "first_name").text == "Anne"
        assert field(pilot, "postcode").text == "me14 1xx"
        # reload to see their change (drops what was typed), then save again
        await press(pilot, "ctrl+r")
        await settle(pilot)
        assert field(pilot, "phone").text == "01622 000000"
        assert field(pilot, "first_name").text == "Ann"
        await type_into(pilot, "first_name", "Anne")
        await save(pilot)
        assert app.results == [ref.client_id]
    d = detail(ctx, ref.journey_id)
    assert d.client.first_name == "Anne" and d.client.phone == "01622 000000"


async def test_client_edit_validates(ctx):
    ref = new_referral(ctx)
    app = FormHost(ClientEditForm(ctx, ref.client_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "nhs_number", "943 476 5918")
        assert error_of(pilot, "nhs_number") == "That NHS number is not valid (check digit does not match)."
        await type_into(pilot, "first_name", "")
        await save(pilot)
        assert app.results == []
        assert error_of(pilot, "first_name") == "Required."
        assert error_of(pilot, "nhs_number") == "That NHS number is not valid (check digit does not match)."


async def test_find_reason_opens_a_person_outside_the_caseload(ctx):
    nina = make_user(ctx, "nina", "navigator", ("Lot 2",))
    ref = new_referral(ctx)  # admin's caseload, in Maidstone (Lot 2)
    assert not queries.find(nina, "Smith")[0].mine
    app = FormHost(FindReasonForm(nina, ref.client_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "reason", "hi")
        assert error_of(pilot, "reason") == "Say why you need to open this record (a few words)."
        await type_into(pilot, "reason", "Covering for admin on leave")
        await press(pilot, "enter")  # enter on the last field saves
        await settle(pilot)
        assert app.results == [ref.client_id]
    assert queries.find(nina, "Smith")[0].mine


async def test_a_form_the_user_may_not_open_says_why(ctx):
    nina = make_user(ctx, "nina", "navigator", ("Lot 2",))
    ref = new_referral(ctx)  # not nina's
    app = FormHost(ContactForm(nina, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert message_of(pilot).startswith("Cannot open this form. Not allowed: This journey is not in your caseload")
        await save(pilot)
        assert app.results == []
        await press(pilot, "escape")
        await pilot.pause()
        assert app.results == [None]


async def test_store_and_unexpected_errors_are_shown_and_keep_what_was_typed(ctx, monkeypatch):
    from navigator.domain.errors import StoreError

    ref = new_referral(ctx, received=date(2026, 11, 2))

    def locked(*args, **kwargs):
        raise StoreError("The store is busy (another program is writing to it). Try again in a moment.")

    monkeypatch.setattr(J, "log_contact", locked)
    app = FormHost(ContactForm(ctx, ref.journey_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await choose(pilot, "outcome", "Spoke")
        await type_into(pilot, "note", "Agreed to meet")
        await save(pilot)
        assert app.results == []
        assert message_of(pilot) == (
            "The store could not save this: The store is busy (another program is "
            "writing to it). Try again in a moment."
        )
        assert field(pilot, "note").text == "Agreed to meet"

        def broken(*args, **kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(J, "log_contact", broken)
        await save(pilot)
        assert message_of(pilot) == ("Not saved: something unexpected went wrong (RuntimeError). Nothing was changed.")
        monkeypatch.undo()
        await save(pilot)
        assert isinstance(app.results[0], JourneyRef)


async def test_access_denied_on_save_is_shown(ctx):
    nina = make_user(ctx, "nina", "navigator", ("Lot 2",))
    make_user(ctx, "omar", "navigator", ("Lot 2",))
    ref = new_referral(ctx, navigator="nina")
    app = FormHost(ReassignForm(nina, [ref.journey_id]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        J.reassign(ctx, [ref.journey_id], "omar")  # the team moved it meanwhile: no longer nina's
        await choose(pilot, "navigator", "Nina (nina)")
        await save(pilot)
        assert app.results == []
        assert message_of(pilot).startswith("Not allowed: ")


async def test_client_edit_opens_through_a_journey_the_user_may_see(ctx):
    nina = make_user(ctx, "nina", "navigator", ("Lot 2",))
    old = new_referral(ctx, received=date(2025, 5, 1), navigator="nina")
    J.close(ctx, old.journey_id, date(2025, 5, 20), "declined")
    J.receive_referral(
        ctx, J.ReferralInput(received_date=date(2026, 11, 2), source="gp", client_id=old.client_id)
    )  # the latest is admin's, not nina's
    app = FormHost(ClientEditForm(nina, old.client_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert message_of(pilot) == ""
        await type_into(pilot, "phone", "07700 900111")
        await save(pilot)
        assert app.results == [old.client_id]
    assert detail(ctx, old.journey_id).client.phone == "07700 900111"


# ---------------------------------------------------------------- small things (issue 11)


async def test_type_to_search_in_a_drop_down_never_picks_its_placeholder(ctx):
    """ "Choose the locality…" starts with a c: typing c finds Canterbury, not the placeholder."""
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        sel = await focus(pilot, "#f-locality")
        await press(pilot, "enter")
        assert sel.expanded
        overlay = sel.query_one(SelectOverlay)
        await press(pilot, "c")
        assert overlay.highlighted != 0  # the placeholder is option 0
        assert str(overlay.get_option_at_index(overlay.highlighted).prompt) == "Canterbury (Lot 3)"
        await press(pilot, "h")  # "ch": only the placeholder says it; the highlight stays
        assert str(overlay.get_option_at_index(overlay.highlighted).prompt) == "Canterbury (Lot 3)"
        await press(pilot, "enter")
        loc = next(v for label, v in sel._options if label == "Canterbury (Lot 3)")
        assert sel.value == loc


async def test_control_characters_and_escape_codes_are_refused_beside_the_field(ctx):
    """A pasted ANSI escape or control character: the domain's reason next to the field, as you type."""
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = pilot.app.screen.query_one("#f-first_name", Input)
        first.value = "Ann\x1b[31m"
        await settle(pilot)
        assert error_of(pilot, "first_name").startswith("Contains an escape character (U+001B)")
        first.value = "Ann"
        await settle(pilot)
        assert error_of(pilot, "first_name") == ""
        reason = pilot.app.screen.query_one("#f-reason", TextArea)
        reason.text = "Low mood\nand debt"  # new lines are fine in a note
        await settle(pilot)
        assert error_of(pilot, "reason") == ""
        reason.text = "Low mood\x07"
        await settle(pilot)
        assert error_of(pilot, "reason").startswith("Contains a control character (U+0007)")
        await save(pilot)
        assert app.results == []  # refused: nothing saved, what was typed kept
        assert first.value == "Ann" and reason.text == "Low mood\x07"
    assert queries.caseload(ctx).total == 0


async def test_the_focused_field_is_plain_to_see(ctx):
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.pause()  # styles follow the focus on the next refresh
        label = field(pilot, "first_name").query_one(".field-label")
        other = field(pilot, "last_name").query_one(".field-label")
        assert app.focused.id == "f-first_name"
        assert label.styles.background != other.styles.background
        assert label.styles.background.a > 0
        await press(pilot, "tab")
        await pilot.pause()
        assert app.focused.id == "f-last_name"
        assert other.styles.background.a > 0 and label.styles.background != other.styles.background
