"""Intake fits the work (issue 15), through the real app at 80x24: the risk flag and what the person was
signposted to, a postcode refused beside its field, a second referral for someone whose journey is open
(warned, added to that journey or opened as a second one), the person's address and phone."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from conftest import new_referral
from navigator.services.casework import journeys as J
from navigator.services.casework import queries
from navigator.store.models import Journey
from navigator.tui.forms import ReferralForm
from navigator.tui.screens.journey import JourneyScreen
from navigator.tui.screens.today import TodayScreen

from .helpers import (
    SIZE,
    FormHost,
    choose,
    error_of,
    focus,
    hint_of,
    make_app,
    message_of,
    save,
    shown,
    tick,
    type_into,
    wait_until,
)
from .helpers import press_and_load as press
from .helpers import settle_quiet as settle


async def _person(pilot, first="Maya", last="Okafor", dob="14/03/1990") -> None:
    await type_into(pilot, "first_name", first)
    await type_into(pilot, "last_name", last)
    await type_into(pilot, "date_of_birth", dob)
    await settle(pilot)  # the duplicate check runs as you type


async def test_risk_flag_and_signposting_are_saved_from_the_desk(ctx):
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        assert isinstance(app.screen, ReferralForm)
        await _person(pilot)
        await choose(pilot, "locality", "Maidstone (Lot 2)")
        await type_into(pilot, "phone", "+44 (0)7700 900456")
        assert hint_of(pilot, "phone") == "07700 900456"
        await type_into(pilot, "address", "4 Mill Lane, Maidstone")
        await type_into(pilot, "received_date", "2026-11-23")
        await choose(pilot, "source", "GP / primary care")
        assert not app.screen.query_one("#risk-box").display  # asked only when flagged
        await tick(pilot, "#f-risk_flag")
        await settle(pilot)
        assert app.screen.query_one("#risk-box").display
        await save(pilot)  # flagged without saying where they were signposted: refused beside it
        assert isinstance(app.screen, ReferralForm)
        assert error_of(pilot, "signposted_to") == "Required."
        await type_into(pilot, "signposted_to", "Samaritans 116 123; GP same day")
        await save(pilot)
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen), message_of(pilot)
        text = await shown(pilot)
        assert "AT RISK" in text
        jid = app.screen.journey_id
    d = queries.journey_detail(ctx, jid, audit_view=False)
    assert (d.risk_flag, d.signposted_to) == (True, "Samaritans 116 123; GP same day")
    assert d.client.address == "4 Mill Lane, Maidstone" and d.client.phone == "07700 900456"


async def test_a_postcode_not_in_the_uk_format_is_refused_beside_the_field(ctx):
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _person(pilot)
        await choose(pilot, "locality", "Maidstone (Lot 2)")
        await type_into(pilot, "postcode", "ME14 ZZ")
        assert "not a UK postcode" in error_of(pilot, "postcode")
        await type_into(pilot, "phone", "seven")
        assert "phone number" in error_of(pilot, "phone")
        await choose(pilot, "source", "GP / primary care")
        await save(pilot)
        assert app.results == []  # refused, everything kept
        assert "not a UK postcode" in error_of(pilot, "postcode")
        assert app.screen.query_one("#f-postcode").value == "ME14 ZZ"
        await type_into(pilot, "postcode", "me14 1xx")
        await type_into(pilot, "phone", "")
        assert error_of(pilot, "postcode") == "" and hint_of(pilot, "postcode") == "ME14 1XX"
        await save(pilot)
        ref = app.results[0]
    assert queries.journey_detail(ctx, ref.journey_id, audit_view=False).client.postcode == "ME14 1XX"


async def _use_the_known_person(pilot, app, known_client_id: int) -> None:
    await _person(pilot, "ann", "SMITH", "01/01/1980")
    button = app.screen.query_one(".use-client")
    assert button.client_id == known_client_id
    await focus(pilot, ".use-client")
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.screen.query_one("#open-box").display, "the open-journey warning")
    await settle(pilot)


async def test_a_referral_for_someone_with_an_open_journey_warns_and_is_added_to_it(ctx):
    known = new_referral(ctx, first="Ann", last="Smith", dob=date(1980, 1, 1), received=date(2026, 11, 2))
    J.decide(ctx, known.journey_id, "accepted", date(2026, 11, 4))
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        await _use_the_known_person(pilot, app, known.client_id)
        warning = str(app.screen.query_one("#open-text").content)
        assert "already has an open journey" in warning and "accepted, waiting to start" in warning
        assert app.focused is not None and app.focused.id == "f-open_journey"
        await type_into(pilot, "received_date", "2026-11-24")
        await choose(pilot, "source", "Self-referral")
        await type_into(pilot, "referrer", "Her daughter")
        await type_into(pilot, "reason", "Struggling again")
        await save(pilot)  # the choice is required: refused beside it
        assert isinstance(app.screen, ReferralForm)
        assert error_of(pilot, "open_journey") == "Choose one."
        await choose(pilot, "open_journey", "Add it to the open journey (recommended)")
        await save(pilot)
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen) and app.screen.journey_id == known.journey_id
        assert "Further referral received 2026-11-24" in await shown(pilot)
        # Today lists her once
        await press(pilot, "t")
        assert isinstance(app.screen, TodayScreen)
        assert (await shown(pilot)).count("Ann Smith") <= 1
    with ctx.read() as s:
        journeys = s.exec(select(Journey).where(Journey.client_id == known.client_id)).all()
    assert len(journeys) == 1 and "Her daughter" in (journeys[0].reason or "")


async def test_a_second_journey_is_opened_only_when_chosen(ctx):
    known = new_referral(ctx, first="Ann", last="Smith", dob=date(1980, 1, 1), received=date(2026, 11, 2))
    app = FormHost(ReferralForm(ctx))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _use_the_known_person(pilot, app, known.client_id)
        await choose(pilot, "open_journey", "Open a second journey")
        await choose(pilot, "source", "Self-referral")
        await save(pilot)
        ref = app.results[0]
    assert ref.journey_id != known.journey_id
    with ctx.read() as s:
        assert len(s.exec(select(Journey).where(Journey.client_id == known.client_id)).all()) == 2


async def test_the_flag_is_edited_from_the_journey_and_shown_on_today(ctx):
    from navigator.tui.forms.risk import RiskForm

    from .helpers import on_journey

    ref = new_referral(ctx, first="Rosa", last="Vale", received=date(2026, 11, 2))  # first contact overdue
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "AT RISK" not in await shown(pilot)
        await on_journey(pilot, ref.journey_id)
        await press(pilot, "y")
        assert isinstance(app.screen, RiskForm)
        await tick(pilot, "#f-risk_flag")
        await save(pilot)  # flagged: where they were signposted is required, beside the field
        assert isinstance(app.screen, RiskForm)
        assert error_of(pilot, "signposted_to") == "Required."
        await type_into(pilot, "signposted_to", "Crisis team same day")
        await save(pilot)
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen), message_of(pilot)
        assert (await shown(pilot)).lstrip("⭘ \n").count("AT RISK") >= 1  # first on the person's line
        head = str(app.screen.query_one("#journey-head").content)
        assert head.startswith(" AT RISK ")
        app.screen.query_one("#sum-facts").scroll_visible(top=True, animate=False)  # the summary's facts
        await settle(pilot)
        facts = await shown(pilot)
        assert "Signposted to" in facts and "Crisis team same day" in facts
        await press(pilot, "t")
        assert isinstance(app.screen, TodayScreen)
        today = await shown(pilot)
        assert "AT RISK" in today and "Rosa Vale" in today
        await press(pilot, "l")  # the Caseload says it too, before the name (the short word at 80 columns)
        assert "RISK Rosa" in await shown(pilot)
        await press(pilot, "L")  # and a team lead's Due in my lots
        assert "RISK Rosa" in await shown(pilot)
        await pilot.resize_terminal(200, 30)
        await settle(pilot)
        assert "AT RISK Rosa Vale" in await shown(pilot)
        await press(pilot, "l")  # the Caseload's wide layout (resized while another screen was in front)
        assert "AT RISK Rosa Vale" in await shown(pilot), await shown(pilot)
    d = queries.journey_detail(ctx, ref.journey_id, audit_view=False)
    assert (d.risk_flag, d.signposted_to) == (True, "Crisis team same day")
    assert any(e.kind == "risk" and e.text == "Risk flag set" for e in d.timeline)


def _started_with_open_items(ctx):
    """A started journey: one goal in progress (target 20 Dec), one not started, an onward referral made."""
    from conftest import SWEMWBS_MID
    from navigator.services.setup.reference import reference

    ref = new_referral(ctx, first="Lee", last="Hart", received=date(2026, 11, 2))
    jid = ref.journey_id
    J.log_contact(ctx, jid, date(2026, 11, 3), "phone", "spoke")
    J.decide(ctx, jid, "accepted", date(2026, 11, 4))
    J.start(ctx, jid, date(2026, 11, 5), SWEMWBS_MID)
    g1 = J.add_goal(ctx, jid, "economic", "I want to sort my debts", date(2026, 12, 20))
    J.update_goal(ctx, g1, status="in_progress")
    g2 = J.add_goal(ctx, jid, "connect", "I want to meet people")
    programme = next(p.id for p in reference(ctx).programmes if p.name == "Debt advice")
    o1 = J.make_onward(ctx, jid, programme, date(2026, 11, 9))
    return jid, g1, g2, o1


async def test_closing_asks_what_happened_to_open_goals_and_onward_referrals(ctx):
    from navigator.store.models import OnwardReferral, PlanGoal
    from navigator.tui.forms import CloseForm

    from .helpers import on_journey

    jid, g1, g2, o1 = _started_with_open_items(ctx)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await on_journey(pilot, jid)
        await press(pilot, "x")
        assert isinstance(app.screen, CloseForm)
        await wait_until(pilot, lambda: app.screen.query_one("#loose-box").display, "the open items")
        assert "Still open: 3 items" in str(app.screen.query_one("#loose-text").content)
        assert "I want to sort my debts (now in progress)" in hint_of(pilot, f"goal_{g1}")
        await choose(pilot, "end_reason", "Moved away")
        await type_into(pilot, "end_date", "2026-11-24")
        await save(pilot)  # nothing said about the open items: refused beside each, nothing saved
        assert isinstance(app.screen, CloseForm)
        assert error_of(pilot, f"goal_{g1}") and error_of(pilot, f"onward_{o1}")
        await choose(pilot, f"goal_{g1}", "Not achieved")
        await choose(pilot, f"goal_{g2}", "Still not started (leave as it is)")
        await choose(pilot, f"onward_{o1}", "Ended: did not start")
        await save(pilot)
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen), message_of(pilot)
    with ctx.read() as s:
        assert [s.get(PlanGoal, g).status for g in (g1, g2)] == ["not_achieved", "not_started"]
        o = s.get(OnwardReferral, o1)
        assert (o.status, o.end_date) == ("did_not_start", date(2026, 11, 24))
        assert s.get(Journey, jid).state == "ended_early"


async def test_a_goal_is_edited_and_its_target_date_cleared_from_the_plan(ctx):
    from navigator.store.models import PlanGoal
    from navigator.tui.forms import GoalForm

    from .helpers import on_journey

    jid, g1, g2, o1 = _started_with_open_items(ctx)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await on_journey(pilot, jid)
        await press(pilot, "G")  # the selected (first) goal
        assert isinstance(app.screen, GoalForm) and app.screen.goal_id == g1
        await settle(pilot)
        assert app.screen.query_one("#f-target_date").value == "2026-12-20"
        await type_into(pilot, "statement", "I want to pay off the catalogue debt")
        await choose(pilot, "outcome", "Connect to community and feel less lonely")
        await type_into(pilot, "target_date", "")
        await save(pilot)
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen), message_of(pilot)
    from navigator.store.models import PersonalOutcome

    with ctx.read() as s:
        g = s.get(PlanGoal, g1)
        outcome = s.get(PersonalOutcome, g.outcome_id).code
    assert (g.statement, g.target_date, outcome) == ("I want to pay off the catalogue debt", None, "connect")


async def test_a_phone_saved_before_the_check_does_not_block_editing_the_person(ctx):
    from navigator.store.models import Client
    from navigator.tui.forms import ClientEditForm

    ref = new_referral(ctx)
    with ctx.write() as s:  # as an older version let it be saved
        c = s.get(Client, ref.client_id)
        c.phone = "seven"
        s.add(c)
    app = FormHost(ClientEditForm(ctx, ref.client_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#f-phone").value == "seven"  # still shown
        assert error_of(pilot, "phone") == "" and "kept unless you change it" in hint_of(pilot, "phone")
        await type_into(pilot, "email", "ann@example.org")
        await save(pilot)
        assert app.results == [ref.client_id]
    with ctx.read() as s:
        c = s.get(Client, ref.client_id)
    assert (c.phone, c.email) == ("seven", "ann@example.org")
    app = FormHost(ClientEditForm(ctx, ref.client_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "phone", "eight")
        assert "phone number" in error_of(pilot, "phone")
        await save(pilot)
        assert app.results == []
