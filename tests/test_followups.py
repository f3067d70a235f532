"""Follow-ups: the no-response protocol and the other schedules, as stored tasks and on Today."""

from __future__ import annotations

import json
from datetime import date

from sqlmodel import select

from conftest import SWEMWBS_MID, TODAY, make_user, new_referral
from navigator.domain import lifecycle as L
from navigator.domain.followups import (
    Attempt,
    FollowUpFacts,
    OnwardInfo,
    Protocol,
    TaskKind,
    desired_tasks,
    trailing_unsuccessful,
)
from navigator.domain.workdays import WorkingCalendar
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.context import put_setting
from navigator.services.setup.reference import reference
from navigator.store.models import Task

RECEIVED = date(2026, 11, 2)  # a Monday
CAL = WorkingCalendar()


def open_tasks(ctx, journey_id):
    with ctx.read() as s:
        rows = s.exec(
            select(Task).where(Task.journey_id == journey_id, Task.status == "open").order_by(Task.due_date, Task.id)
        ).all()
        return [(t.kind, t.key, t.due_date) for t in rows]


def kinds(ctx, journey_id):
    return [k for k, _, _ in open_tasks(ctx, journey_id)]


def programme(ctx, name="Employment support"):
    return next(p for p in reference(ctx).programmes if p.name == name)


def started_journey(ctx, **kw):
    ref = new_referral(ctx, **kw)
    J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke")
    J.decide(ctx, ref.journey_id, "accepted", date(2026, 11, 4))
    J.start(ctx, ref.journey_id, date(2026, 11, 5), SWEMWBS_MID)
    return ref


# ---------------------------------------------------------------- the no-response protocol


def test_new_referral_gets_first_contact_task(ctx):
    ref = new_referral(ctx, received=RECEIVED)
    assert open_tasks(ctx, ref.journey_id) == [("first_contact", "contact_attempt:1", date(2026, 11, 4))]


def test_first_contact_due_over_a_weekend_and_bank_holiday(ctx):
    ref = new_referral(ctx, received=date(2026, 4, 2))  # Thursday before Easter 2026
    assert open_tasks(ctx, ref.journey_id)[0][2] == date(2026, 4, 8)  # Tue 7 = 1, Wed 8 = 2


def test_each_unanswered_attempt_schedules_the_next(ctx):
    jid = new_referral(ctx, received=RECEIVED).journey_id
    J.log_contact(ctx, jid, date(2026, 11, 4), "phone", "no_answer")
    assert open_tasks(ctx, jid) == [("contact_attempt", "contact_attempt:2", date(2026, 11, 6))]
    J.log_contact(ctx, jid, date(2026, 11, 6), "phone", "voicemail")
    assert open_tasks(ctx, jid) == [("contact_attempt", "contact_attempt:3", date(2026, 11, 10))]
    J.log_contact(ctx, jid, date(2026, 11, 10), "letter", "sent")
    # past the last attempt: due for closure after the opt-in period (10 working days)
    assert open_tasks(ctx, jid) == [("no_response_close", "no_response_close", date(2026, 11, 24))]
    # nobody is chased past the protocol: a 4th unanswered attempt does not add a 5th
    J.log_contact(ctx, jid, date(2026, 11, 12), "phone", "no_answer")
    assert kinds(ctx, jid) == ["no_response_close"]


def test_task_details_suggest_the_protocol_method(ctx):
    jid = new_referral(ctx, received=RECEIVED).journey_id
    J.log_contact(ctx, jid, date(2026, 11, 4), "phone", "no_answer")
    J.log_contact(ctx, jid, date(2026, 11, 6), "phone", "no_answer")
    with ctx.read() as s:
        t = s.exec(select(Task).where(Task.journey_id == jid, Task.status == "open")).one()
    assert t.detail == "Attempt 3 of 3: letter"


def test_successful_contact_clears_chasing_and_asks_for_a_decision(ctx):
    jid = new_referral(ctx, received=RECEIVED).journey_id
    J.log_contact(ctx, jid, date(2026, 11, 4), "phone", "no_answer")
    J.log_contact(ctx, jid, date(2026, 11, 5), "phone", "spoke")
    assert open_tasks(ctx, jid) == [("decide", "decide", date(2026, 11, 9))]  # Thu + 2 = Mon


def test_wrong_number_is_not_a_success(ctx):
    jid = new_referral(ctx, received=RECEIVED).journey_id
    J.log_contact(ctx, jid, date(2026, 11, 4), "phone", "wrong_number")
    assert kinds(ctx, jid) == ["contact_attempt"]


def test_accepted_waits_to_start_then_started_gets_a_plan_review(ctx):
    jid = new_referral(ctx, received=RECEIVED).journey_id
    J.log_contact(ctx, jid, date(2026, 11, 3), "phone", "spoke")
    J.decide(ctx, jid, "accepted", date(2026, 11, 4))
    assert open_tasks(ctx, jid) == [("waiting_to_start", "waiting_to_start", date(2026, 11, 4))]
    J.start(ctx, jid, date(2026, 11, 5))
    assert open_tasks(ctx, jid) == [("plan_review", "plan_review:2026-11-05", CAL.add(date(2026, 11, 5), 30))]
    # a review schedules the next one from it
    J.record_review(ctx, jid, date(2026, 11, 20))
    assert open_tasks(ctx, jid) == [("plan_review", "plan_review:2026-11-20", CAL.add(date(2026, 11, 20), 30))]


def test_started_person_who_stops_engaging_is_chased_then_due_for_closure(ctx):
    jid = started_journey(ctx).journey_id
    for d in (date(2026, 11, 10), date(2026, 11, 12), date(2026, 11, 16)):
        J.log_contact(ctx, jid, d, "phone", "no_answer")
    ks = dict((k, due) for k, _, due in open_tasks(ctx, jid))
    assert ks["no_response_close"] == CAL.add(date(2026, 11, 16), 10)
    assert "plan_review" in ks


def test_rejection_clears_tasks(ctx):
    jid = new_referral(ctx, received=RECEIVED).journey_id
    J.decide(ctx, jid, "rejected", date(2026, 11, 3), "out_of_area")
    assert [t[0] for t in open_tasks(ctx, jid)] == ["tell_referrer"]  # issue 15: the one follow-up left


# ---------------------------------------------------------------- onward referrals and partner feedback


def test_onward_with_no_update_chases_the_partner(ctx):
    jid = started_journey(ctx).journey_id
    prog = programme(ctx, "Employment support")
    assert prog.expected_response_days == 10
    oid = J.make_onward(ctx, jid, prog.id, date(2026, 11, 6))
    chase = [t for t in open_tasks(ctx, jid) if t[0] == "chase_partner"]
    assert chase == [("chase_partner", f"chase_partner:{oid}:2026-11-06", date(2026, 11, 20))]
    # an update resets the clock
    J.partner_update(ctx, oid, "started", date(2026, 11, 10))
    chase = [t for t in open_tasks(ctx, jid) if t[0] == "chase_partner"]
    assert chase == [("chase_partner", f"chase_partner:{oid}:2026-11-10", date(2026, 11, 24))]
    J.partner_update(ctx, oid, "completed", date(2026, 11, 20))
    assert "chase_partner" not in kinds(ctx, jid)


def test_partner_expected_days_come_from_the_programme(ctx):
    jid = started_journey(ctx).journey_id
    prog = programme(ctx, "Debt advice")
    oid = J.make_onward(ctx, jid, prog.id, date(2026, 11, 6))
    assert (f"chase_partner:{oid}:2026-11-06", CAL.add(date(2026, 11, 6), prog.expected_response_days)) in [
        (k, d) for _, k, d in open_tasks(ctx, jid)
    ]


def test_partner_withdrew_needs_follow_up_until_done(ctx):
    jid = started_journey(ctx).journey_id
    oid = J.make_onward(ctx, jid, programme(ctx).id, date(2026, 11, 6))
    J.partner_update(ctx, oid, "started", date(2026, 11, 9))
    J.partner_update(ctx, oid, "withdrew", date(2026, 11, 16), note="No longer wishes to attend")
    fb = [t for t in open_tasks(ctx, jid) if t[0] == "partner_feedback"]
    assert fb == [("partner_feedback", f"partner_feedback:{oid}", date(2026, 11, 16))]
    assert "chase_partner" not in kinds(ctx, jid)
    # still there after other work on the journey
    J.log_contact(ctx, jid, date(2026, 11, 17), "phone", "no_answer")
    assert "partner_feedback" in kinds(ctx, jid)
    J.follow_up_feedback(ctx, oid, note="Called; prefers a different group")
    assert "partner_feedback" not in kinds(ctx, jid)


def test_did_not_start_and_declined_need_follow_up(ctx):
    jid = started_journey(ctx).journey_id
    o1 = J.make_onward(ctx, jid, programme(ctx).id, date(2026, 11, 6))
    o2 = J.make_onward(ctx, jid, programme(ctx, "Debt advice").id, date(2026, 11, 6))
    J.partner_update(ctx, o1, "did_not_start", date(2026, 11, 12))
    J.partner_update(ctx, o2, "declined", date(2026, 11, 13))
    keys = {k for _, k, _ in open_tasks(ctx, jid)}
    assert {f"partner_feedback:{o1}", f"partner_feedback:{o2}"} <= keys


# ---------------------------------------------------------------- closing


def test_closing_clears_every_task(ctx):
    jid = started_journey(ctx).journey_id
    oid = J.make_onward(ctx, jid, programme(ctx).id, date(2026, 11, 6))
    o2 = J.make_onward(ctx, jid, programme(ctx, "Debt advice").id, date(2026, 11, 6))
    J.partner_update(ctx, o2, "declined", date(2026, 11, 9))
    J.log_contact(ctx, jid, date(2026, 11, 10), "phone", "no_answer")
    assert len(open_tasks(ctx, jid)) >= 3
    J.close(ctx, jid, date(2026, 11, 20), "completed", evidence="Back at work; debts in hand")
    assert [t[0] for t in open_tasks(ctx, jid)] == ["tell_referrer"]  # issue 15: the one follow-up left
    # a late partner report on a closed journey brings no tasks back
    J.partner_update(ctx, oid, "did_not_start", date(2026, 11, 23))
    assert [t[0] for t in open_tasks(ctx, jid)] == ["tell_referrer"]


def test_closing_without_start_clears_tasks(ctx):
    jid = new_referral(ctx, received=RECEIVED).journey_id
    for d in (date(2026, 11, 4), date(2026, 11, 6), date(2026, 11, 10)):
        J.log_contact(ctx, jid, d, "phone", "no_answer")
    J.close(ctx, jid, date(2026, 11, 24), "no_response")
    assert [t[0] for t in open_tasks(ctx, jid)] == ["tell_referrer"]  # issue 15: the one follow-up left
    with ctx.read() as s:
        done = s.exec(select(Task).where(Task.journey_id == jid, Task.status == "done")).all()
    assert done and all(t.closed_at is not None for t in done)


# ---------------------------------------------------------------- protocol is configuration


def test_protocol_change_does_not_move_scheduled_tasks(ctx):
    jid = new_referral(ctx, received=RECEIVED).journey_id
    J.log_contact(ctx, jid, date(2026, 11, 4), "phone", "no_answer")
    assert open_tasks(ctx, jid) == [("contact_attempt", "contact_attempt:2", date(2026, 11, 6))]
    new = Protocol(
        attempts=4, first_within=1, gaps=(5, 5, 5), methods=("phone", "text", "phone", "letter"), opt_in_days=15
    )
    with ctx.write() as s:
        put_setting(s, "protocol", new.to_dict(), ctx.now())
    # anything that re-syncs the journey leaves the scheduled follow-up where it was
    J.update_client(ctx, _client_id(ctx, jid), _same_client(ctx, jid, consent=False))
    assert open_tasks(ctx, jid) == [("contact_attempt", "contact_attempt:2", date(2026, 11, 6))]
    # follow-ups scheduled after the change use the new protocol
    J.log_contact(ctx, jid, date(2026, 11, 6), "phone", "no_answer")
    assert open_tasks(ctx, jid) == [("contact_attempt", "contact_attempt:3", CAL.add(date(2026, 11, 6), 5))]
    J.log_contact(ctx, jid, date(2026, 11, 13), "phone", "no_answer")
    J.log_contact(ctx, jid, date(2026, 11, 16), "letter", "sent")
    assert open_tasks(ctx, jid) == [("no_response_close", "no_response_close", CAL.add(date(2026, 11, 16), 15))]
    # and a new referral's first contact too
    jid2 = new_referral(ctx, first="Bea", received=RECEIVED).journey_id
    assert open_tasks(ctx, jid2) == [("first_contact", "contact_attempt:1", date(2026, 11, 3))]


def _client_id(ctx, jid):
    return Q.journey_detail(ctx, jid, audit_view=False).client.id


def _same_client(ctx, jid, **changes):
    c = Q.journey_detail(ctx, jid, audit_view=False).client
    data = dict(
        first_name=c.first_name,
        last_name=c.last_name,
        date_of_birth=c.date_of_birth,
        locality=c.locality,
        postcode=c.postcode,
        nhs_number=c.nhs_number,
        consent_to_share=c.consent_to_share,
    )
    data.update({"consent_to_share" if k == "consent" else k: v for k, v in changes.items()})
    return J.ClientInput(**data)


def test_protocol_round_trips_and_validates():
    p = Protocol()
    assert Protocol.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    import pytest

    from navigator.domain.errors import DomainError

    for bad in (
        dict(attempts=0, gaps=(), methods=()),
        dict(attempts=3, gaps=(2,)),
        dict(methods=("phone", "phone", "pigeon")),
        dict(opt_in_days=-1),
        dict(gaps=(2, 251)),
    ):
        with pytest.raises(DomainError):
            Protocol(**bad)


# ---------------------------------------------------------------- the pure function


def test_desired_tasks_pure():
    j = L.JourneyFacts(received_date=RECEIVED, date_of_birth=date(1980, 1, 1))
    p = Protocol()
    assert [t.key for t in desired_tasks(FollowUpFacts(j), p, CAL)] == ["contact_attempt:1"]
    a = (Attempt(date(2026, 11, 4), False), Attempt(date(2026, 11, 3), False))
    assert trailing_unsuccessful(a) == [a[1], a[0]]  # date order, whatever the entry order
    (t,) = desired_tasks(FollowUpFacts(j, a), p, CAL)
    assert t.kind == TaskKind.CONTACT_ATTEMPT and t.key == "contact_attempt:3" and t.due == date(2026, 11, 6)
    closed = j.with_changes({"end_date": date(2026, 11, 20), "end_reason": L.EndReason.DECLINED})
    onward = (OnwardInfo(1, True, date(2026, 11, 6), 10, date(2026, 11, 9)),)
    assert desired_tasks(FollowUpFacts(closed, a, None, onward), p, CAL) == []


# ---------------------------------------------------------------- Today


def test_today_returns_what_is_due_or_overdue_for_a_navigator(ctx):
    nav = make_user(ctx, "nina", "navigator", ("Lot 2",))
    other = make_user(ctx, "omar", "navigator", ("Lot 2",))
    j_overdue = new_referral(nav, first="Olly", received=date(2026, 11, 16)).journey_id  # due 11-18
    j_due = new_referral(nav, first="Dora", received=date(2026, 11, 23)).journey_id  # due 11-25
    j_later = new_referral(nav, first="Lena", received=date(2026, 11, 24)).journey_id  # due 11-26
    new_referral(other, first="Otto", received=date(2026, 11, 16))  # someone else's
    J.log_contact(nav, j_later, date(2026, 11, 24), "phone", "spoke")  # decide due 11-26
    j_wait = new_referral(nav, first="Will", received=date(2026, 11, 9)).journey_id
    J.decide(nav, j_wait, "accepted", date(2026, 11, 18))
    j_closed = new_referral(nav, first="Cleo", received=date(2026, 11, 10)).journey_id
    J.close(nav, j_closed, date(2026, 11, 11), "declined")

    view = Q.today(nav)
    assert view.on == TODAY and view.navigator == "nina"
    got = {(i.journey_id, i.kind, i.due_date, i.overdue_days) for i in view.items}
    assert got == {
        (j_overdue, "first_contact", date(2026, 11, 18), 5),
        (j_due, "first_contact", date(2026, 11, 25), 0),
        (j_wait, "waiting_to_start", date(2026, 11, 18), 5),
        (j_closed, "tell_referrer", date(2026, 11, 11), 10),  # issue 15: closed, the referrer to tell
    }
    wait = next(i for i in view.items if i.kind == "waiting_to_start")
    assert wait.waited_days == 5 and "waited 5 working days" in wait.what
    assert dict(view.counts) == {"Awaiting first contact": 2, "Tell the referrer": 1, "Accepted, waiting to start": 1}
    kinds = [i.kind for i in view.items]
    assert kinds == ["first_contact", "first_contact", "tell_referrer", "waiting_to_start"]  # Today's order
    assert {i.client_name for i in view.items} == {"Olly Smith", "Dora Smith", "Cleo Smith", "Will Smith"}

    # another date: the next day brings the decision due
    later = Q.today(nav, on=date(2026, 11, 26))
    assert (j_later, "decide") in {(i.journey_id, i.kind) for i in later.items}
    earlier = Q.today(nav, on=date(2026, 11, 17))
    assert [i.journey_id for i in earlier.items] == [j_closed]  # only the referrer to tell, from 11 Nov

    # a team lead can ask for a navigator's Today; a navigator cannot ask for another's
    lead = make_user(ctx, "tess", "team_lead", ("Lot 2",))
    assert {i.journey_id for i in Q.today(lead, "nina").items} == {j_overdue, j_due, j_wait, j_closed}
    import pytest

    from navigator.domain.errors import AccessDenied

    with pytest.raises(AccessDenied):
        Q.today(other, "nina")
