"""Mistakes can be corrected (issue 15): amending a recorded step replays the journey's history through
the same rules; reopening a closed or rejected journey. Domain (domain/amend.py, steps.Reopen) and
services (services/casework/corrections.py), on several days."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlmodel import select

from conftest import SWEMWBS_HIGH, SWEMWBS_MID, make_user, new_referral
from navigator.domain import amend as AM
from navigator.domain import lifecycle as L
from navigator.domain import steps as S
from navigator.domain.errors import AccessDenied, DomainError
from navigator.services.casework import corrections as C
from navigator.services.casework import journeys as J
from navigator.services.returns import export as E
from navigator.services.setup.reference import reference
from navigator.store.models import AuditEvent, ContactAttempt, Journey, Measurement, OnwardReferral, Task

DOB = date(1980, 5, 1)


# ---------------------------------------------------------------- domain


def _history(today: date) -> list[AM.Recorded]:
    r = today - timedelta(days=40)
    return [
        AM.Recorded("journey:receive", S.Receive(r, "Dr Who")),
        AM.Recorded("contact:1", S.Contact(r + timedelta(days=1), "phone", "spoke")),
        AM.Recorded("journey:decide", S.Decide(r + timedelta(days=2), "accepted")),
        AM.Recorded("journey:start", S.Start(r + timedelta(days=5))),
        AM.Recorded("review:1", S.Review(r + timedelta(days=12), "ok")),
        AM.Recorded("onward:7", S.Onward(3, r + timedelta(days=13)), ref=7),
        AM.Recorded("partner_update:1", S.PartnerReport(7, "started", r + timedelta(days=15))),
        AM.Recorded("measure:1", S.Measure("start", r + timedelta(days=4), tuple(SWEMWBS_MID))),
    ]


BASE = L.JourneyFacts.unreceived(DOB, consent_to_share=True)


def test_a_stored_history_replays_in_the_order_things_happened(any_day):
    h = _history(any_day)
    rp = AM.replay(BASE, h, any_day)
    assert rp.facts.state == L.State.STARTED
    assert rp.facts.start_date == any_day - timedelta(days=35)
    assert rp.facts.last_review_date == any_day - timedelta(days=28)
    # the measure dated before the start is placed in the started period: its rule only checks its date
    assert rp.changes["measure:1"].measure["on_date"] == any_day - timedelta(days=36)
    assert rp.onward(7).status == L.OnwardStatus.STARTED


def test_amending_a_date_replays_with_the_same_rules(any_day):
    h = _history(any_day)
    start = any_day - timedelta(days=33)
    a = AM.amend(BASE, h, AM.Amend("journey:start", S.Start(start), "typo"), any_day)
    assert a.changed == ("on",)
    assert AM.journey_delta(a) == {"start_date": start, "state_since": start}
    assert a.why == "typo"


def test_moving_the_start_after_a_review_is_refused_naming_the_start_date(any_day):
    h = _history(any_day)
    late = any_day - timedelta(days=20)  # after the review (day 12) and the onward referral
    with pytest.raises(DomainError) as e:
        AM.amend(BASE, h, AM.Amend("journey:start", S.Start(late), "typo"), any_day)
    assert e.value.field == "on"
    assert "review of" in e.value.message and "before the start" in e.value.message


def test_a_refusal_of_the_amended_step_itself_names_its_field(any_day):
    h = _history(any_day)
    with pytest.raises(DomainError) as e:
        AM.amend(BASE, h, AM.Amend("contact:1", S.Contact(any_day + timedelta(days=1), "phone", "spoke"), "x"), any_day)
    assert e.value.field == "on" and "future" in e.value.message
    with pytest.raises(DomainError) as e:
        AM.amend(BASE, h, AM.Amend("contact:1", S.Contact(any_day, "pigeon", "spoke"), "x"), any_day)
    assert e.value.field == "method"
    with pytest.raises(DomainError) as e:  # a reason is required
        AM.amend(BASE, h, AM.Amend("contact:1", S.Contact(any_day - timedelta(days=39), "text", "spoke"), " "), any_day)
    assert e.value.field == "why"
    with pytest.raises(DomainError) as e:  # nothing changed
        AM.amend(BASE, h, AM.Amend("contact:1", h[1].step, "x"), any_day)
    assert e.value.field == "on"


def test_an_amended_decision_that_no_longer_allows_the_start_names_the_decision(any_day):
    h = _history(any_day)
    d = h[2].step
    with pytest.raises(DomainError) as e:
        AM.amend(BASE, h, AM.Amend("journey:decide", S.Decide(d.on, "rejected", "other"), "wrong one"), any_day)
    assert e.value.field == "decision" and "start" in e.value.message


def test_reopen_rules(any_day):
    h = _history(any_day)
    f = AM.replay(BASE, h, any_day).facts
    with pytest.raises(DomainError) as e:
        S.apply(f, S.Reopen("why"), any_day)
    assert e.value.field == "state"  # open: nothing to reopen
    closed = S.apply(f, S.Close(any_day - timedelta(days=1), "completed", "goals met"), any_day)
    ch = S.apply(closed.facts, S.Reopen("closed by mistake"), any_day)
    assert ch.state == L.State.STARTED
    assert ch.journey["end_date"] is None and ch.journey["outcome_evidence"] is None
    assert ch.journey["state_since"] == f.start_date
    with pytest.raises(DomainError) as e:
        S.apply(closed.facts, S.Reopen("x", open_elsewhere=True), any_day)
    assert e.value.field == "state"
    with pytest.raises(DomainError) as e:
        S.apply(closed.facts, S.Reopen("  "), any_day)
    assert e.value.field == "reason"
    # a rejection is undone: received again
    r = AM.replay(BASE, [*h[:2], AM.Recorded("d", S.Decide(h[2].step.on, "rejected", "other"))], any_day).facts
    back = S.apply(r, S.Reopen("rejected in error"), any_day)
    assert back.state == L.State.RECEIVED and back.journey["decision"] is None
    # closed without start, after an acceptance: accepted again
    acc = AM.replay(BASE, h[:3], any_day).facts
    cws = S.apply(acc, S.Close(any_day, "declined"), any_day)
    assert S.apply(cws.facts, S.Reopen("x"), any_day).state == L.State.ACCEPTED


def test_a_corrected_start_or_closure_date_takes_the_measures_taken_that_day(any_day):
    r = any_day - timedelta(days=40)
    h = [
        AM.Recorded("journey:receive", S.Receive(r, "Dr Who")),
        AM.Recorded("journey:decide", S.Decide(r + timedelta(days=2), "accepted")),
        AM.Recorded("journey:start", S.Start(r + timedelta(days=5))),
        AM.Recorded("measure:1", S.Measure("start", r + timedelta(days=5), tuple(SWEMWBS_MID))),
        AM.Recorded("measure:2", S.Measure("review", r + timedelta(days=5), tuple(SWEMWBS_MID))),
        AM.Recorded("measure:3", S.Measure("end", r + timedelta(days=20), tuple(SWEMWBS_HIGH))),
        AM.Recorded("measure:4", S.Measure("end", r + timedelta(days=18), tuple(SWEMWBS_HIGH))),
        AM.Recorded("journey:close", S.Close(r + timedelta(days=20), "completed", "Goals met")),
    ]
    a = AM.amend(BASE, h, AM.Amend("journey:start", S.Start(r + timedelta(days=6)), "typo"), any_day)
    assert a.moved == ("measure:1",)  # the review measure that day, and other points, stay
    assert a.after.changes["measure:1"].measure["on_date"] == r + timedelta(days=6)
    a = AM.amend(
        BASE, h, AM.Amend("journey:close", S.Close(r + timedelta(days=22), "completed", "Goals met"), "x"), any_day
    )
    assert a.moved == ("measure:3",)  # the end measure of the 18th was another day's
    a = AM.amend(BASE, h, AM.Amend("journey:close", S.Close(r + timedelta(days=20), "withdrew"), "x"), any_day)
    assert a.moved == ()  # the date did not change


# ---------------------------------------------------------------- services


def _started(ctx, today: date):
    """A journey received 40 days ago, contacted, accepted, started with a SWEMWBS, reviewed."""
    r = today - timedelta(days=40)
    jid = new_referral(ctx, received=r).journey_id
    J.log_contact(ctx, jid, r + timedelta(days=1), "phone", "spoke")
    J.decide(ctx, jid, "accepted", r + timedelta(days=2))
    J.start(ctx, jid, r + timedelta(days=5), SWEMWBS_MID)
    J.record_review(ctx, jid, r + timedelta(days=12), "going well")
    return jid, r


def _item(ctx, jid, kind):
    return next(i for i in C.amendable(ctx, jid).items if i.kind == kind)


def _last_event(ctx, action):
    with ctx.read() as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())).first()
        assert ev is not None
        return json.loads(ev.before or "{}"), json.loads(ev.after or "{}")


def test_amend_the_start_date_rederives_the_journey_and_audits_before_and_after(ctx_on, any_day):
    ctx = ctx_on(any_day)
    jid, r = _started(ctx, any_day)
    item = _item(ctx, jid, "start")
    assert item.values["on"] == r + timedelta(days=5)
    new = r + timedelta(days=7)
    res = C.amend(ctx, jid, item.key, {"on": new}, "Typed the wrong day")
    assert res.changed == ("on",) and res.ref.state == "started"
    with ctx.read() as s:
        j = s.get(Journey, jid)
        assert (j.start_date, j.state_since, j.version) == (new, new, 6)
    before, after = _last_event(ctx, "journey.amend")
    assert before["start_date"] == (r + timedelta(days=5)).isoformat()
    assert after["start_date"] == new.isoformat() and after["state_since"] == new.isoformat()
    assert after["reason"] == "Typed the wrong day"
    assert after["amended"] == {"item": "journey:start", "on": new.isoformat()}
    assert before["amended"] == {"item": "journey:start", "on": (r + timedelta(days=5)).isoformat()}
    # the SWEMWBS taken at the start was taken that day too: it moves with the start
    assert after["measures_moved_with_it"] == 1
    with ctx.read() as s:
        m = s.exec(select(Measurement).where(Measurement.journey_id == jid)).one()
        assert (m.point, m.on_date) == ("start", new)


def test_moving_the_start_after_the_review_is_refused_and_nothing_is_written(ctx_on, any_day):
    ctx = ctx_on(any_day)
    jid, r = _started(ctx, any_day)
    with pytest.raises(DomainError) as e:
        C.amend(ctx, jid, "journey:start", {"on": r + timedelta(days=20)}, "x")
    assert e.value.field == "on" and "review" in e.value.message
    with ctx.read() as s:
        assert s.get(Journey, jid).start_date == r + timedelta(days=5)


def test_amend_each_kind_of_step(ctx_on, any_day):
    ctx = ctx_on(any_day)
    jid, r = _started(ctx, any_day)
    prog = reference(ctx).programmes
    oid = J.make_onward(ctx, jid, prog[0].id, r + timedelta(days=13))
    J.partner_update(ctx, oid, "started", r + timedelta(days=15))

    # the referral: received date and referrer
    C.amend(ctx, jid, "journey:receive", {"received_date": r - timedelta(days=1), "referrer": "Dr Lee"}, "wrong")
    # a contact: outcome and date
    contact = _item(ctx, jid, "contact")
    C.amend(ctx, jid, contact.key, {"outcome": "no_answer", "on": r + timedelta(days=2)}, "it rang out")
    # the decision's date
    C.amend(ctx, jid, "journey:decide", {"on": r + timedelta(days=3)}, "date")
    # a measure's answers
    m = _item(ctx, jid, "measure")
    C.amend(ctx, jid, m.key, {"swemwbs": tuple(SWEMWBS_HIGH)}, "misread the sheet")
    # a review's date
    rv = _item(ctx, jid, "review")
    C.amend(ctx, jid, rv.key, {"on": r + timedelta(days=11)}, "date")
    # the onward referral's date, and the partner's update kind
    o = _item(ctx, jid, "onward")
    C.amend(ctx, jid, o.key, {"on": r + timedelta(days=14)}, "date")
    u = _item(ctx, jid, "partner_update")
    C.amend(ctx, jid, u.key, {"kind": "declined"}, "they declined")
    with ctx.read() as s:
        j = s.get(Journey, jid)
        assert (j.received_date, j.referrer) == (r - timedelta(days=1), "Dr Lee")
        assert j.first_contact_date is None  # the only contact is no longer a conversation
        assert j.last_contact_date == r + timedelta(days=2)
        assert j.decision_date == r + timedelta(days=3)
        c = s.exec(select(ContactAttempt).where(ContactAttempt.journey_id == jid)).one()
        assert (c.on_date, c.outcome) == (r + timedelta(days=2), "no_answer")
        meas = s.exec(select(Measurement).where(Measurement.journey_id == jid)).one()
        assert meas.raw == 28 and meas.item1 == 4
        ow = s.get(OnwardReferral, oid)
        assert ow.referral_date == r + timedelta(days=14)
        assert (ow.status, ow.start_date, ow.end_date) == ("declined", None, r + timedelta(days=15))
        # declined while the journey is started: the person is to be followed up
        assert ow.feedback_pending_since == r + timedelta(days=15)
    # the closure: completed, then its reason corrected to withdrew (ended early)
    J.close(ctx, jid, any_day, "completed", evidence="Goals met")
    C.amend(ctx, jid, "journey:close", {"reason": "withdrew", "evidence": None}, "they withdrew")
    with ctx.read() as s:
        j = s.get(Journey, jid)
        assert (j.state, j.end_reason, j.outcome_evidence, j.state_since) == ("ended_early", "withdrew", None, any_day)


def test_a_navigator_amends_their_own_journey_not_someone_elses(ctx_on, any_day):
    admin = ctx_on(any_day)
    nina = make_user(admin, "nina", "navigator", ("Lot 2",))
    other = make_user(admin, "omar", "navigator", ("Lot 2",))
    jid = new_referral(admin, received=any_day - timedelta(days=3), navigator="nina").journey_id
    C.amend(nina, jid, "journey:receive", {"received_date": any_day - timedelta(days=4)}, "typo")
    with pytest.raises(AccessDenied):
        C.amend(other, jid, "journey:receive", {"received_date": any_day - timedelta(days=5)}, "typo")
    lead = make_user(admin, "tess", "team_lead", ("Lot 2",))
    C.amend(lead, jid, "journey:receive", {"received_date": any_day - timedelta(days=5)}, "typo again")
    with admin.read() as s:
        assert s.get(Journey, jid).received_date == any_day - timedelta(days=5)


def test_amending_keeps_follow_ups_in_step(ctx_on, any_day):
    """A contact amended from 'spoke' to 'no answer' puts the no-response protocol back on."""
    ctx = ctx_on(any_day)
    r = any_day - timedelta(days=2)
    jid = new_referral(ctx, received=r).journey_id
    J.log_contact(ctx, jid, r, "phone", "spoke")

    def open_tasks():
        with ctx.read() as s:
            return sorted(t.kind for t in s.exec(select(Task).where(Task.journey_id == jid, Task.status == "open")))

    assert open_tasks() == ["decide"]  # spoke: the decision is next
    C.amend(ctx, jid, _item(ctx, jid, "contact").key, {"outcome": "no_answer"}, "it rang out")
    assert open_tasks() == ["contact_attempt"]  # no answer: the next attempt is due
    C.amend(ctx, jid, _item(ctx, jid, "contact").key, {"outcome": "spoke"}, "it was answered after all")
    assert open_tasks() == ["decide"]


# ---------------------------------------------------------------- returns already sent


def test_the_preview_names_the_sent_months_and_figures_an_amendment_moves(tmp_path, ctx_on):
    sept = ctx_on(date(2026, 10, 5))
    jid = new_referral(sept, received=date(2026, 9, 1)).journey_id
    J.log_contact(sept, jid, date(2026, 9, 2), "phone", "spoke")
    J.decide(sept, jid, "accepted", date(2026, 9, 3))
    J.start(sept, jid, date(2026, 9, 8), SWEMWBS_MID)
    E.export_month(sept, "2026-09", tmp_path / "sept.sqlite", final=True)

    later = ctx_on(date(2026, 10, 20))
    # moving the start into October moves September's starts (1 -> 0)
    p = C.amend_preview(later, jid, "journey:start", {"on": date(2026, 10, 1)}, "started in October")
    assert p.moves_sent and [m.month for m in p.months] == ["2026-09"]
    starts = [f for f in p.months[0].figures if f.measure == "starts" and f.level == "service"]
    assert [(f.sent_value, f.today_value) for f in starts] == [(1, 0)]
    with later.read() as s:  # nothing was written
        assert s.get(Journey, jid).start_date == date(2026, 9, 8)
        assert not s.exec(select(AuditEvent).where(AuditEvent.action == "journey.amend")).first()
    # a change within October moves nothing sent
    J.record_review(later, jid, date(2026, 10, 12))
    p = C.amend_preview(later, jid, _item(later, jid, "review").key, {"on": date(2026, 10, 13)}, "date")
    assert not p.moves_sent
    # the preview refuses as the amendment would
    with pytest.raises(DomainError) as e:
        C.amend_preview(later, jid, "journey:start", {"on": date(2026, 10, 15)}, "x")
    assert e.value.field == "on"


# ---------------------------------------------------------------- reopen


def test_a_team_lead_reopens_a_closed_journey_and_follow_ups_resume(ctx_on, any_day):
    admin = ctx_on(any_day)
    lead = make_user(admin, "tess", "team_lead")
    nav = make_user(admin, "nina", "navigator", ("Lot 2",))
    jid, r = _started(admin, any_day)
    J.close(admin, jid, any_day - timedelta(days=1), "withdrew")
    with pytest.raises(AccessDenied):
        C.reopen(nav, jid, "closed by mistake")
    with pytest.raises(DomainError) as e:
        C.reopen(lead, jid, "")
    assert e.value.field == "reason"
    ref = C.reopen(lead, jid, "Closed by mistake")
    assert ref.state == "started"
    with admin.read() as s:
        j = s.get(Journey, jid)
        assert (j.end_date, j.end_reason, j.state_since) == (None, None, r + timedelta(days=5))
        assert s.exec(select(Task).where(Task.journey_id == jid, Task.status == "open")).first() is not None
    before, after = _last_event(admin, "journey.reopen")
    assert before["state"] == "ended_early" and after["state"] == "started"
    assert after["reason"] == "Closed by mistake"
    with pytest.raises(DomainError) as e:  # open now: nothing to reopen
        C.reopen(lead, jid, "again")
    assert e.value.field == "state"


def test_reopen_is_refused_when_the_person_has_another_open_journey(ctx_on, any_day):
    admin = ctx_on(any_day)
    first = new_referral(admin, received=any_day - timedelta(days=20))
    J.decide(admin, first.journey_id, "rejected", any_day - timedelta(days=19), "other")
    # a new referral for the same person, still open
    J.receive_referral(admin, J.ReferralInput(any_day - timedelta(days=2), "gp", client_id=first.client_id))
    with pytest.raises(DomainError) as e:
        C.reopen(admin, first.journey_id, "rejected in error")
    assert e.value.field == "state" and "another open journey" in e.value.message


def test_a_reopened_journey_closed_again_asks_to_tell_the_referrer_again(ctx_on, any_day):
    from navigator.services.casework import loops

    admin = ctx_on(any_day)
    jid, _ = _started(admin, any_day)
    J.close(admin, jid, any_day - timedelta(days=1), "withdrew")
    loops.tell_referrer(admin, jid, any_day - timedelta(days=1), "phone")
    C.reopen(admin, jid, "Closed by mistake")
    with admin.read() as s:
        j = s.get(Journey, jid)
        assert (j.referrer_told_date, j.referrer_told_how) == (None, None)  # told of an ending that no longer stands
    J.close(admin, jid, any_day, "withdrew")
    with admin.read() as s:
        kinds = [t.kind for t in s.exec(select(Task).where(Task.journey_id == jid, Task.status == "open")).all()]
    assert kinds == ["tell_referrer"]
