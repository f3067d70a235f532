"""Pilot tests of the follow-up loops (issue 15), through the real app with real keys:

- a closure puts "tell the referrer" on Today; w there produces the referrer's letter, which ends it;
- i on a closed journey records that the referrer was told another way;
- h on a journey, and on Today's "chase partner" item, records a chase: the next one is scheduled;
- the app started by navigator closes for no response, on the day the opt-in period ended, every
  journey due (not one at risk); with the protocol set to manual, X on Today closes them after saying
  how many.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlmodel import select
from textual.widgets import Input, Select

from conftest import SWEMWBS_MID, TODAY, new_referral
from navigator.services.casework import journeys as J
from navigator.services.casework import queries
from navigator.services.casework.records import load_journey, sync_tasks
from navigator.services.setup import settings
from navigator.services.setup.reference import reference
from navigator.store.models import AuditEvent, Journey, PartnerChase, Task
from navigator.tui.compat import SelectOverlay
from navigator.tui.forms.chase import ChaseForm
from navigator.tui.forms.referrer_told import ReferrerToldForm
from navigator.tui.screens.journey import JourneyScreen
from navigator.tui.screens.today import CloseAllDueDialog, TodayScreen

from .helpers import make_app, press, screen_text, settle

SIZE = (80, 24)
BIG = (120, 40)


# ---------------------------------------------------------------- small key-driven helpers


async def wait_for(pilot, condition, what: str, tries: int = 400) -> None:
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def type_into(pilot, name: str, text: str) -> None:
    widget = pilot.app.screen.query_one(f"#f-{name}", Input)
    pilot.app.screen.set_focus(widget)
    await pilot.pause()
    widget.action_select_all()
    await pilot.press("backspace", *text)
    assert widget.value == text


async def choose(pilot, name: str, label: str) -> None:
    """Open the picker with enter, arrow to the option, enter."""
    sel = pilot.app.screen.query_one(f"#f-{name}", Select)
    pilot.app.screen.set_focus(sel)
    await pilot.pause()
    await pilot.press("enter")
    await wait_for(pilot, lambda: sel.expanded, f"the {name} picker")
    overlay = sel.query_one(SelectOverlay)
    labels = [str(overlay.get_option_at_index(i).prompt) for i in range(overlay.option_count)]
    target = labels.index(label)
    if overlay.highlighted is None:
        await pilot.press("down")
    while overlay.highlighted != target:
        await pilot.press("down" if (overlay.highlighted or 0) < target else "up")
    await pilot.press("enter")
    await wait_for(pilot, lambda: not sel.expanded and sel.value is not Select.NULL, f"{label} chosen")


async def save_form(pilot, back_to) -> None:
    form = pilot.app.screen
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: pilot.app.screen is not form, "the form to close")
    await settle(pilot)
    assert isinstance(pilot.app.screen, back_to), pilot.app.screen


def highlight(app, journey_id: int, kind: str) -> None:
    """Move Today's highlight to a journey's item of a kind (as the arrow keys would)."""
    screen = app.screen
    assert isinstance(screen, TodayScreen)
    key = next(k for k, i in screen._items.items() if i.journey_id == journey_id and i.kind == kind)
    option_list = screen.query_one("#today-list")
    option_list.highlighted = option_list.get_option_index(key)


def journey_row(ctx, jid: int) -> Journey:
    with ctx.read() as s:
        return s.get(Journey, jid)


def open_tasks(ctx, jid: int) -> list[Task]:
    with ctx.read() as s:
        return list(s.exec(select(Task).where(Task.journey_id == jid, Task.status == "open")).all())


def ladder_run_out(ctx, first: str, received: date) -> int:
    jid = new_referral(ctx, first=first, last="Quiet", received=received).journey_id
    for d in (1, 3, 5):
        J.log_contact(ctx, jid, received + timedelta(days=d), "phone", "no_answer")
    return jid


def with_onward(ctx) -> tuple[int, int]:
    jid = new_referral(ctx, first="Omar", last="Onward", received=date(2026, 10, 1)).journey_id
    J.log_contact(ctx, jid, date(2026, 10, 2), "phone", "spoke")
    J.decide(ctx, jid, "accepted", date(2026, 10, 5))
    J.start(ctx, jid, date(2026, 10, 6), SWEMWBS_MID)
    programme = next(p for p in reference(ctx).programmes if p.name == "Employment support")
    return jid, J.make_onward(ctx, jid, programme.id, date(2026, 10, 7))


# ---------------------------------------------------------------- the referrer told


async def test_closure_then_the_referrers_letter_from_today_ends_the_task(ctx, tmp_path):
    jid = new_referral(ctx, first="Cara", last="Closed", received=date(2026, 11, 2)).journey_id
    J.close(ctx, jid, date(2026, 11, 20), "declined")
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Tell the referrer" in screen_text(app) and "Cara Closed" in screen_text(app)
        highlight(app, jid, "tell_referrer")
        await settle(pilot)
        assert "Referrer's letter" in screen_text(app)  # the footer offers the item's actions
        await press(pilot, "w")
        await wait_for(pilot, lambda: app.screen.query("#f-template"), "the letter dialog")
        assert app.screen.query_one("#f-template", Select).value == "closure_notice"  # the right letter ready
        path = tmp_path / "closure.txt"
        await type_into(pilot, "path", str(path))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, TodayScreen), "the dialog to close")
        await settle(pilot)
        assert "Thank you for your referral" in path.read_text()
        assert "Cara Closed" not in screen_text(app)  # the task is done
    j = journey_row(ctx, jid)
    assert (j.referrer_told_date, j.referrer_told_how) == (TODAY, "letter")
    assert open_tasks(ctx, jid) == []


async def test_referrer_told_another_way_on_the_journey(ctx):
    jid = new_referral(ctx, first="Rhys", last="Rejected", received=date(2026, 11, 2)).journey_id
    J.log_contact(ctx, jid, date(2026, 11, 3), "phone", "spoke")
    J.decide(ctx, jid, "rejected", date(2026, 11, 4), "out_of_area")
    app = make_app(ctx)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        app.open_journey(jid)
        await wait_for(pilot, lambda: isinstance(app.screen, JourneyScreen) and app.screen.detail, "the journey")
        await settle(pilot)
        assert "Referrer told" in screen_text(app)  # the footer, and "not yet" in the facts
        await press(pilot, "i")
        await wait_for(pilot, lambda: isinstance(app.screen, ReferrerToldForm), "the form")
        await settle(pilot)
        await type_into(pilot, "date", "2026-11-24")
        await choose(pilot, "how", "Secure email")
        await save_form(pilot, JourneyScreen)
        await settle(pilot)
        assert any("Referrer told (secure email)" in e.text for e in app.screen.detail.timeline)
    j = journey_row(ctx, jid)
    assert (j.referrer_told_date, j.referrer_told_how) == (date(2026, 11, 24), "secure_email")
    assert open_tasks(ctx, jid) == []


# ---------------------------------------------------------------- chasing partners


async def test_chase_on_the_journey_then_from_today(ctx):
    jid, oid = with_onward(ctx)
    (first,) = [t for t in open_tasks(ctx, jid) if t.kind == "chase_partner"]
    assert first.due_date < TODAY  # the partner is late: Today lists it
    app = make_app(ctx)
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        assert "Omar Onward" in screen_text(app) and "chase them" in screen_text(app)
        app.open_journey(jid)
        await wait_for(pilot, lambda: isinstance(app.screen, JourneyScreen) and app.screen.detail, "the journey")
        await settle(pilot)
        await press(pilot, "h")
        await wait_for(pilot, lambda: isinstance(app.screen, ChaseForm), "the chase form")
        await settle(pilot)
        await type_into(pilot, "date", "2026-11-23")
        await choose(pilot, "method", "Email")
        await save_form(pilot, JourneyScreen)
        (next_,) = [t for t in open_tasks(ctx, jid) if t.kind == "chase_partner"]
        expected = ctx.calendar().add(date(2026, 11, 23), 10)
        assert next_.due_date > TODAY and next_.id != first.id
        assert "Chased 1 time" in next_.detail

        # a second chase, from Today, once the next one is due
        later = expected + timedelta(days=1)
        ctx.today_fn = lambda: later
        await press(pilot, "t")
        await press(pilot, "r")  # a new day: refresh
        highlight(app, jid, "chase_partner")
        await settle(pilot)
        await press(pilot, "h")
        await wait_for(pilot, lambda: isinstance(app.screen, ChaseForm), "the chase form from Today")
        await settle(pilot)
        await choose(pilot, "method", "Phone")
        await save_form(pilot, TodayScreen)
    with ctx.read() as s:
        chases = s.exec(select(PartnerChase).where(PartnerChase.onward_id == oid)).all()
    assert [(c.on_date, c.method) for c in chases] == [(date(2026, 11, 23), "email"), (later, "phone")]
    (third,) = [t for t in open_tasks(ctx, jid) if t.kind == "chase_partner"]
    assert third.due_date == ctx.calendar().add(later, 10) and "Chased 2 times" in third.detail
    assert journey_row(ctx, jid).state == "started"


# ---------------------------------------------------------------- no-response closure


async def test_the_app_closes_due_journeys_itself_on_the_due_date_not_one_at_risk(ctx):
    quiet = ladder_run_out(ctx, "Quinn", date(2026, 10, 1))
    flagged = ladder_run_out(ctx, "Fran", date(2026, 10, 2))
    with ctx.write() as s:
        j = s.get(Journey, flagged)
        j.risk_flag = True
        s.add(j)
        journey, client = load_journey(s, ctx, flagged)
        sync_tasks(s, ctx, journey, client)
    (due_task,) = open_tasks(ctx, quiet)
    app = make_app(ctx)
    app.close_due_on_start = True  # as run_app does
    async with app.run_test(size=BIG) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: journey_row(ctx, quiet).state != "received", "the protocol's closure")
        await settle(pilot)
        text = screen_text(app)
        assert "Tell the referrer" in text  # the closure asks for the referrer to be told
        assert "Fran Quiet" in text and "team lead to decide" in text  # at risk: still there
    j = journey_row(ctx, quiet)
    assert (j.state, j.end_reason, j.end_date) == ("closed_without_start", "no_response", due_task.due_date)
    assert ctx.calendar().is_working_day(j.end_date) and j.end_date <= TODAY
    assert journey_row(ctx, flagged).state == "received"
    with ctx.read() as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "journey.close")).one()
    assert ev.acting_as == "protocol" and json.loads(ev.after)["by"] == "protocol"


async def test_close_all_due_by_hand_says_how_many(ctx):
    settings.set_protocol(ctx, auto_close_no_response=False)
    a = ladder_run_out(ctx, "Ann", date(2026, 10, 1))
    b = ladder_run_out(ctx, "Ben", date(2026, 10, 2))
    app = make_app(ctx)
    app.close_due_on_start = True  # the protocol says by hand: nothing happens at start
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert journey_row(ctx, a).state == "received"
        highlight(app, a, "no_response_close")  # offered on a no-response closure item
        await settle(pilot)
        assert "Close all due" in screen_text(app)
        await press(pilot, "X")
        await wait_for(pilot, lambda: isinstance(app.screen, CloseAllDueDialog), "the confirmation")
        assert "Close 2 journeys for no response?" in screen_text(app)
        await press(pilot, "escape")  # going back closes nothing
        assert isinstance(app.screen, TodayScreen) and journey_row(ctx, a).state == "received"
        await press(pilot, "X")
        await wait_for(pilot, lambda: isinstance(app.screen, CloseAllDueDialog), "the confirmation again")
        await press(pilot, "c")
        await wait_for(pilot, lambda: journey_row(ctx, b).state != "received", "the closures")
        await settle(pilot)
    assert {journey_row(ctx, x).end_reason for x in (a, b)} == {"no_response"}
    assert [i.kind for i in queries.today(ctx).items] == ["tell_referrer", "tell_referrer"]
