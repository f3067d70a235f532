"""Mistakes corrected through the real app (issue 15), by key presses at 80x24: on a journey, a amends a
recorded item (the start date here): the sent-return warning is shown before saving, the store holds the
amendment and its audit event (before, after, reason); O reopens a closed journey for a team lead."""

from __future__ import annotations

import json
from datetime import date

from sqlmodel import select

from conftest import SWEMWBS_MID, make_user, new_referral
from navigator.services.casework import journeys as J
from navigator.services.returns import export as E
from navigator.store.models import AuditEvent, Journey
from navigator.tui.forms.amend import AmendForm
from navigator.tui.forms.base import DiscardDialog
from navigator.tui.forms.reopen import ReopenForm
from navigator.tui.screens.journey import JourneyScreen

from .helpers import choose, make_app, message_of, save, screen_text, type_into
from .helpers import settle_quiet as settle

SIZE = (80, 24)


def _started(ctx) -> int:
    jid = new_referral(ctx, received=date(2026, 10, 1)).journey_id
    J.log_contact(ctx, jid, date(2026, 10, 2), "phone", "spoke")
    J.decide(ctx, jid, "accepted", date(2026, 10, 3))
    J.start(ctx, jid, date(2026, 10, 8), SWEMWBS_MID)
    return jid


async def _open(pilot, jid: int) -> JourneyScreen:
    pilot.app.open_journey(jid)
    await settle(pilot)
    await settle(pilot)
    assert isinstance(pilot.app.screen, JourneyScreen)
    return pilot.app.screen


def _event(ctx, action: str) -> tuple[dict, dict]:
    with ctx.read() as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())).first()
        assert ev is not None
        return json.loads(ev.before or "{}"), json.loads(ev.after or "{}")


async def test_amend_a_start_date_warns_about_a_sent_return_then_saves_with_audit(ctx, tmp_path):
    jid = _started(ctx)
    E.export_month(ctx, "2026-10", tmp_path / "oct.sqlite", final=True)  # October sent: 1 start
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _open(pilot, jid)
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, AmendForm)
        await choose(pilot, "item", "2026-10-08  Start")
        assert form.query_one("#f-on").value == "2026-10-08"  # the recorded value, ready to correct
        await type_into(pilot, "on", "2026-11-02")
        await save(pilot)
        await settle(pilot)
        # no reason: refused beside the field, everything kept
        assert isinstance(app.screen, AmendForm)
        assert "Required" in str(form.field("why").error)
        assert form.query_one("#f-on").value == "2026-11-02"
        await type_into(pilot, "why", "Started in November, typed October")
        await save(pilot)
        await settle(pilot)
        # the sent return would move: the confirmation names the month and the figure
        assert isinstance(app.screen, DiscardDialog), message_of(pilot)
        text = screen_text(app)
        assert "2026-10" in text and "starts" in text and "1 -> 0" in text
        with ctx.read() as s:  # not saved yet
            assert s.get(Journey, jid).start_date == date(2026, 10, 8)
        await pilot.press("d")  # save anyway
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen), screen_text(app)
    with ctx.read() as s:
        j = s.get(Journey, jid)
        assert (j.start_date, j.state_since) == (date(2026, 11, 2), date(2026, 11, 2))
    before, after = _event(ctx, "journey.amend")
    assert before["start_date"] == "2026-10-08" and after["start_date"] == "2026-11-02"
    assert after["reason"] == "Started in November, typed October"


async def test_an_amendment_the_rules_refuse_keeps_everything_and_names_the_field(ctx):
    jid = _started(ctx)
    J.record_review(ctx, jid, date(2026, 10, 20), "first review")
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _open(pilot, jid)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AmendForm)
        await pilot.press("escape")  # nothing changed: it closes at once
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen)
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, AmendForm)
        await choose(pilot, "item", "2026-10-08  Start")
        await type_into(pilot, "on", "2026-10-25")  # after the review
        await type_into(pilot, "why", "wrong date")
        await save(pilot)
        await settle(pilot)
        assert isinstance(app.screen, AmendForm)
        assert "review" in form.field("on").error and "start" in form.field("on").error
        assert form.query_one("#f-on").value == "2026-10-25"
        # escape asks before throwing the changes away
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DiscardDialog)
    with ctx.read() as s:
        assert s.get(Journey, jid).start_date == date(2026, 10, 8)


async def test_a_team_lead_reopens_a_closed_journey(ctx):
    jid = _started(ctx)
    J.close(ctx, jid, date(2026, 11, 20), "withdrew")
    app = make_app(ctx)  # the store's admin: a team lead's rights
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _open(pilot, jid)
        assert "Ended early" in screen_text(app)
        await pilot.press("O")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ReopenForm)
        await type_into(pilot, "reason", "Closed on the wrong person")
        await save(pilot)
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen), message_of(pilot)
        assert app.screen.detail is not None and app.screen.detail.state == "started"
    with ctx.read() as s:
        j = s.get(Journey, jid)
        assert (j.state, j.end_date, j.end_reason) == ("started", None, None)
    before, after = _event(ctx, "journey.reopen")
    assert (before["state"], after["state"]) == ("ended_early", "started")
    assert after["reason"] == "Closed on the wrong person"


async def test_reopen_is_not_offered_to_a_navigator(ctx):
    make_user(ctx, "nina", "navigator", ("Lot 2",))
    jid = new_referral(ctx, received=date(2026, 11, 2), navigator="nina").journey_id
    J.decide(ctx, jid, "rejected", date(2026, 11, 3), "other")
    from navigator.services.context import Ctx

    nina = Ctx(ctx.store, username="nina", today_fn=ctx.today_fn)
    app = make_app(nina)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await _open(pilot, jid)
        assert screen.check_action("reopen", ()) is False
        assert screen.check_action("amend", ()) is True
        await pilot.press("O")
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen)
