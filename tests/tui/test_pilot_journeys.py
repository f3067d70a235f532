"""Whole journeys through the real app, by key presses at 80x24 (the issue's "Done when").

1. referral -> attempts -> accepted -> start (with SWEMWBS) -> plan with two goals -> onward
   referral -> partner completes -> close completed with end SWEMWBS;
2. referral -> three unanswered attempts -> closed for no response.

Each asserts on what the store then holds (services.queries) and on what the screens show.
"""

from __future__ import annotations

from datetime import date

from navigator.services.casework import queries
from navigator.tui.forms import (
    CloseForm,
    ContactForm,
    DecisionForm,
    GoalForm,
    OnwardForm,
    PartnerUpdateForm,
    ReferralForm,
    StartForm,
)
from navigator.tui.screens.caseload import CaseloadScreen
from navigator.tui.screens.journey import JourneyScreen
from navigator.tui.screens.today import TodayScreen

from .helpers import SIZE, choose, make_app, save, shown, tick, type_into, type_swemwbs, wait_until
from .helpers import form_message as _form_message
from .helpers import press_and_load as press
from .helpers import settle_quiet as settle


async def form(pilot, key: str, form_class):
    await press(pilot, key)
    assert isinstance(pilot.app.screen, form_class), f"{key!r} opened {pilot.app.screen!r}"
    return pilot.app.screen


async def saved(pilot, back_to=JourneyScreen) -> None:
    """ctrl+s, and the form closes (back on the screen it was opened from)."""
    await save(pilot)
    await settle(pilot)
    assert isinstance(pilot.app.screen, back_to), (pilot.app.screen, _form_message(pilot.app))


async def new_referral(pilot, first: str, last: str, dob: str, received: str) -> int:
    """n on Today: the referral form; saving it opens the new journey."""
    await form(pilot, "n", ReferralForm)
    await type_into(pilot, "first_name", first)
    await type_into(pilot, "last_name", last)
    await type_into(pilot, "date_of_birth", dob)
    await type_into(pilot, "phone", "07700 900456")
    await settle(pilot)  # the duplicate check runs as you type
    await choose(pilot, "locality", "Maidstone (Lot 2)")
    await tick(pilot, "#f-consent_to_share")
    await type_into(pilot, "received_date", received)
    await choose(pilot, "source", "GP / primary care")
    await type_into(pilot, "referrer", "Dr Shah")
    await type_into(pilot, "reason", "Low mood, debts")
    await saved(pilot)
    journey = pilot.app.screen
    assert isinstance(journey, JourneyScreen)
    return journey.journey_id


async def contact(pilot, on: str, method: str, outcome: str) -> None:
    await form(pilot, "c", ContactForm)
    await type_into(pilot, "date", on)
    await choose(pilot, "method", method)
    await choose(pilot, "outcome", outcome)
    await saved(pilot)


async def test_referral_to_completed_journey(ctx):
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert "Nothing is due today" in await shown(pilot)

        jid = await new_referral(pilot, "Maya", "Okafor", "14/03/1990", "2026-11-02")
        assert "Maya Okafor" in await shown(pilot) and "NAV000001" in await shown(pilot)

        # Today now says she is waiting for a first contact (overdue since 4 Nov); enter opens her journey
        await press(pilot, "t")
        text = await shown(pilot)
        assert "Awaiting first contact" in text and "Maya Okafor" in text and "Attempt 1 of 3: phone" in text
        await press(pilot, "enter")
        assert isinstance(app.screen, JourneyScreen) and app.screen.journey_id == jid

        # attempts: no answer, then spoke; accepted
        await contact(pilot, "03/11/2026", "Phone", "No answer")
        await contact(pilot, "05/11/2026", "Phone", "Spoke")
        await form(pilot, "d", DecisionForm)
        await choose(pilot, "decision", "Accepted")
        await type_into(pilot, "decision_date", "2026-11-05")
        await saved(pilot)
        assert "Accepted, waiting to start" in await shown(pilot)

        # the caseload shows her as accepted; Today as waiting to start
        await press(pilot, "l")
        assert isinstance(app.screen, CaseloadScreen)
        text = await shown(pilot)
        assert "Maya Okafor" in text and "Accepted" in text
        await press(pilot, "t")
        assert "Accepted, waiting to start" in await shown(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, JourneyScreen)

        # start with the first SWEMWBS
        await form(pilot, "s", StartForm)
        await type_into(pilot, "start_date", "09/11/2026")
        await type_swemwbs(pilot, "swemwbs", "3233323")
        assert "Raw 19 · metric 17.98" in await shown(pilot)
        await saved(pilot)
        assert "Started" in await shown(pilot)

        # a plan with two goals
        await form(pilot, "g", GoalForm)
        await choose(pilot, "outcome", "Economic wellbeing (income, debts, benefits)")
        await type_into(pilot, "statement", "I want to get my debts under control")
        await type_into(pilot, "target_date", "29/01/2027")
        await saved(pilot)
        await form(pilot, "g", GoalForm)
        await choose(pilot, "outcome", "Connect to community and feel less lonely")
        await type_into(pilot, "statement", "I would like to meet people who share my interests")
        await saved(pilot)

        # onward referral; the partner reports she started, then completed
        await form(pilot, "o", OnwardForm)
        await choose(pilot, "programme", "Kent Money Advice: Debt advice")
        await type_into(pilot, "referral_date", "10/11/2026")
        await saved(pilot)
        await form(pilot, "u", PartnerUpdateForm)
        await choose(pilot, "kind", "Started")
        await type_into(pilot, "date", "12/11/2026")
        await saved(pilot)
        await form(pilot, "u", PartnerUpdateForm)
        await choose(pilot, "kind", "Completed")
        await type_into(pilot, "date", "20/11/2026")
        await type_into(pilot, "note", "Attended all sessions")
        await saved(pilot)

        # close: completed, with outcome evidence and the end SWEMWBS
        close = await form(pilot, "x", CloseForm)
        await choose(pilot, "end_reason", "Completed")
        await type_into(pilot, "evidence", "Debt plan agreed; joined a walking group")
        await type_swemwbs(pilot, "swemwbs", "4444444")
        # issue 15: the goals still open are asked about, and the answers saved with the close
        await wait_until(pilot, lambda: close.query_one("#loose-box").display, "the open goals")
        for g in queries.journey_detail(ctx, jid, audit_view=False).goals:
            await choose(pilot, f"goal_{g.id}", "Achieved")
        await saved(pilot)
        text = await shown(pilot)
        assert "Completed" in text

        # the store holds the whole journey
        d = queries.journey_detail(ctx, jid, audit_view=False)
        assert d.state == "completed" and d.end_reason == "completed" and d.end_date == date(2026, 11, 25)
        assert d.outcome_evidence == "Debt plan agreed; joined a walking group"
        assert d.first_contact_date == date(2026, 11, 5) and d.response_working_days == 3
        assert d.decision == "accepted" and d.decision_date == date(2026, 11, 5)
        assert d.start_date == date(2026, 11, 9) and d.wait_working_days == 2
        assert [g.statement for g in d.goals] == [
            "I want to get my debts under control",
            "I would like to meet people who share my interests",
        ]
        assert [g.status for g in d.goals] == ["achieved", "achieved"]
        (o,) = d.onward
        assert (o.programme, o.status, o.start_date, o.end_date) == (
            "Debt advice",
            "completed",
            date(2026, 11, 12),
            date(2026, 11, 20),
        )
        assert [(m.point, m.raw) for m in d.measures] == [("start", 19), ("end", 28)]
        assert d.measures[-1].label == "meaningful improvement"
        kinds = [e.kind for e in d.timeline]
        assert (
            kinds.count("contact") == 2 and kinds.count("goal") == 4 and kinds.count("partner") == 2
        )  # goals: 2 added, 2 achieved at the close
        assert [t.kind for t in d.tasks] == ["tell_referrer"]  # issue 15: telling the referrer is what is left

        # and the screens: Today has only that left, the open caseload no longer lists her
        await press(pilot, "t")
        assert "Tell the referrer" in await shown(pilot)
        await press(pilot, "l")
        assert "Maya Okafor" not in await shown(pilot)
    assert queries.caseload(ctx).total == 0
    assert queries.caseload(ctx, open_only=False).rows[0].state == "completed"


async def test_referral_to_no_response_closure(ctx):
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        jid = await new_referral(pilot, "Tom", "Reed", "02/07/1971", "01/10/2026")

        # three unanswered attempts, as the protocol says: phone, phone, then a letter
        await contact(pilot, "02/10/2026", "Phone", "No answer")
        await contact(pilot, "06/10/2026", "Phone", "Voicemail")
        await contact(pilot, "08/10/2026", "Letter", "Sent (letter, text or email)")

        # Today: due for no-response closure; enter opens the journey
        await press(pilot, "t")
        text = await shown(pilot)
        assert "Due for no-response closure" in text and "Tom Reed" in text
        assert "3 attempts unanswered" in text
        await press(pilot, "enter")
        assert isinstance(app.screen, JourneyScreen) and app.screen.journey_id == jid

        await form(pilot, "x", CloseForm)
        await choose(pilot, "end_reason", "No response")
        await saved(pilot)
        assert "Closed without start" in await shown(pilot)

        d = queries.journey_detail(ctx, jid, audit_view=False)
        assert d.state == "closed_without_start" and d.end_reason == "no_response"
        assert d.end_date == date(2026, 11, 25) and d.first_contact_date is None
        assert sum(1 for e in d.timeline if e.kind == "contact") == 3
        assert [t.kind for t in d.tasks] == ["tell_referrer"]  # issue 15: the referrer is told next

        await press(pilot, "t")
        assert "Tell the referrer" in await shown(pilot)
        await press(pilot, "l")
        assert "Tom Reed" not in await shown(pilot)
    assert [i.kind for i in queries.today(ctx).items] == ["tell_referrer"]
