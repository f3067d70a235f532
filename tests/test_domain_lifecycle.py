"""The journey rules (domain/lifecycle.py): every step, every refusal, with readable messages."""

from __future__ import annotations

from datetime import date

import pytest

from navigator.domain import lifecycle as L
from navigator.domain.errors import DomainError

TODAY = date(2026, 11, 25)
RECEIVED = date(2026, 11, 2)
ADULT = date(1980, 1, 1)


def received(dob=ADULT, on=RECEIVED, consent=True) -> L.JourneyFacts:
    return L.JourneyFacts(received_date=on, date_of_birth=dob, consent_to_share=consent)


def go(f: L.JourneyFacts, changes: dict) -> L.JourneyFacts:
    return f.with_changes(changes)


def accepted(**kw) -> L.JourneyFacts:
    f = received(**kw)
    return go(f, L.decide(f, L.Decision.ACCEPTED, date(2026, 11, 4), TODAY))


def started(**kw) -> L.JourneyFacts:
    f = accepted(**kw)
    return go(f, L.start(f, date(2026, 11, 6), TODAY))


def rejected() -> L.JourneyFacts:
    f = received()
    return go(f, L.decide(f, L.Decision.REJECTED, date(2026, 11, 4), TODAY, L.RejectReason.OUT_OF_AREA))


def completed() -> L.JourneyFacts:
    f = started()
    return go(f, L.close(f, date(2026, 11, 20), L.EndReason.COMPLETED, TODAY, evidence="Goals met"))


def closed_without_start() -> L.JourneyFacts:
    f = received()
    return go(f, L.close(f, date(2026, 11, 20), L.EndReason.NO_RESPONSE, TODAY))


def ended_early() -> L.JourneyFacts:
    f = started()
    return go(f, L.close(f, date(2026, 11, 20), L.EndReason.WITHDREW, TODAY))


def refused(fn, *args, field=None, match=None, **kw) -> DomainError:
    with pytest.raises(DomainError) as info:
        fn(*args, **kw)
    err = info.value
    assert err.message and err.message[0].isupper(), "a message a navigator can read"
    assert "Traceback" not in err.message and "Error" not in err.message
    if field is not None:
        assert err.field == field
    if match is not None:
        assert match.lower() in err.message.lower(), err.message
    return err


# ---------------------------------------------------------------- states

ALL_STATES = {
    L.State.RECEIVED: received,
    L.State.ACCEPTED: accepted,
    L.State.REJECTED: rejected,
    L.State.STARTED: started,
    L.State.COMPLETED: completed,
    L.State.CLOSED_WITHOUT_START: closed_without_start,
    L.State.ENDED_EARLY: ended_early,
}


@pytest.mark.parametrize("state", list(ALL_STATES))
def test_each_builder_reaches_its_state(state):
    f = ALL_STATES[state]()
    assert L.state_of(f) == state
    assert f.state == state
    assert state.label  # every state has a label
    assert state.is_open == (state in (L.State.RECEIVED, L.State.ACCEPTED, L.State.STARTED))


def test_available_actions_follow_the_steps():
    assert L.available_actions(received()) == {L.Action.CONTACT, L.Action.DECIDE, L.Action.CLOSE, L.Action.REASSIGN}
    assert L.available_actions(accepted()) == {L.Action.CONTACT, L.Action.START, L.Action.CLOSE, L.Action.REASSIGN}
    assert L.Action.ONWARD in L.available_actions(started(consent=True))
    assert L.Action.ONWARD not in L.available_actions(started(consent=False))
    assert {L.Action.PLAN, L.Action.MEASURE} <= L.available_actions(started())
    for closed in (rejected, completed, closed_without_start, ended_early):
        assert L.available_actions(closed()) == frozenset()


# ---------------------------------------------------------------- transitions allowed / refused


def test_decide_only_when_received():
    for make in (accepted, rejected, started, completed, closed_without_start, ended_early):
        f = make()
        refused(
            L.decide, f, L.Decision.ACCEPTED, date(2026, 11, 21), TODAY, field="state", match="cannot record a decision"
        )


def test_start_only_when_accepted():
    for make in (received, rejected, started, completed, closed_without_start, ended_early):
        refused(L.start, make(), date(2026, 11, 21), TODAY, field="state", match="cannot start")


def test_close_only_when_open():
    for make in (rejected, completed, closed_without_start, ended_early):
        refused(L.close, make(), date(2026, 11, 21), L.EndReason.OTHER, TODAY, field="state", match="cannot close")


def test_contact_only_when_open():
    for make in (rejected, completed, closed_without_start, ended_early):
        refused(
            L.log_contact,
            make(),
            date(2026, 11, 21),
            L.ContactMethod.PHONE,
            L.ContactOutcome.SPOKE,
            TODAY,
            field="state",
            match="cannot log a contact",
        )
    for make in (received, accepted, started):
        L.log_contact(make(), date(2026, 11, 21), L.ContactMethod.PHONE, L.ContactOutcome.SPOKE, TODAY)


def test_plan_measure_only_when_started():
    for make in (received, accepted, rejected, completed, closed_without_start, ended_early):
        refused(L.check_plan_change, make(), field="state")
        refused(L.check_measure, make(), "review", date(2026, 11, 21), TODAY, field="state")
    L.check_plan_change(started())
    L.check_measure(started(), "review", date(2026, 11, 21), TODAY)


def test_reassign_only_when_open():
    for make in (received, accepted, started):
        L.check_reassign(make())
    for make in (rejected, completed, closed_without_start, ended_early):
        refused(L.check_reassign, make(), field="state", match="cannot reassign")


def test_state_message_names_the_state():
    err = refused(L.start, completed(), date(2026, 11, 21), TODAY)
    assert "completed" in err.message


# ---------------------------------------------------------------- age 17+


def test_accept_refused_under_17_on_received_date():
    dob = date(2009, 11, 3)  # 16 on 2026-11-02, 17 the next day
    f = received(dob=dob)
    assert L.is_under_age(f)
    err = refused(L.decide, f, L.Decision.ACCEPTED, date(2026, 11, 20), TODAY, field="decision")
    assert "under 17" in err.message
    # rejecting as under 17 is right
    ch = L.decide(f, L.Decision.REJECTED, date(2026, 11, 20), TODAY, L.RejectReason.UNDER_17)
    assert go(f, ch).state == L.State.REJECTED
    assert ch["reject_reason"] == L.RejectReason.UNDER_17


def test_age_counted_on_received_date_not_decision_date():
    # 17th birthday on the received date itself: eligible
    f = received(dob=date(2009, 11, 2))
    assert not L.is_under_age(f)
    L.decide(f, L.Decision.ACCEPTED, date(2026, 11, 3), TODAY)
    # 16 when received, 17 by the decision: still under 17 for the rule
    f = received(dob=date(2009, 11, 10))
    refused(L.decide, f, L.Decision.ACCEPTED, date(2026, 11, 20), TODAY, field="decision")


def test_reject_under_17_only_if_under_17():
    f = received(dob=ADULT)
    err = refused(
        L.decide, f, L.Decision.REJECTED, date(2026, 11, 3), TODAY, L.RejectReason.UNDER_17, field="reject_reason"
    )
    assert "46" in err.message  # says how old they were


def test_reject_needs_reason_and_accept_has_none():
    f = received()
    refused(L.decide, f, L.Decision.REJECTED, date(2026, 11, 3), TODAY, field="reject_reason")
    refused(L.decide, f, L.Decision.ACCEPTED, date(2026, 11, 3), TODAY, L.RejectReason.OTHER, field="reject_reason")


@pytest.mark.parametrize("reason", [r for r in L.RejectReason if r != L.RejectReason.UNDER_17])
def test_other_reject_reasons_allowed_for_adults(reason):
    ch = L.decide(received(), L.Decision.REJECTED, date(2026, 11, 3), TODAY, reason)
    assert ch == {"decision": L.Decision.REJECTED, "decision_date": date(2026, 11, 3), "reject_reason": reason}
    assert reason in L.REJECT_LABELS


# ---------------------------------------------------------------- dates in order, not in the future


def test_receive_dates():
    L.check_receive(RECEIVED, ADULT, TODAY)
    refused(L.check_receive, date(2026, 11, 26), ADULT, TODAY, field="received_date", match="future")
    refused(L.check_receive, RECEIVED, date(2026, 11, 3), TODAY, field="date_of_birth")
    refused(L.check_receive, RECEIVED, date(1899, 12, 31), TODAY, field="date_of_birth", match="1900")


def test_decision_dates():
    f = received()
    refused(L.decide, f, L.Decision.ACCEPTED, date(2026, 11, 26), TODAY, field="decision_date", match="future")
    err = refused(
        L.decide,
        f,
        L.Decision.ACCEPTED,
        date(2026, 11, 1),
        TODAY,
        field="decision_date",
        match="before the referral date",
    )
    assert "2026-11-02" in err.message
    f2 = f.with_changes({"first_contact_date": date(2026, 11, 5)})
    refused(L.decide, f2, L.Decision.ACCEPTED, date(2026, 11, 4), TODAY, field="decision_date", match="first contact")
    L.decide(f, L.Decision.ACCEPTED, TODAY, TODAY)  # today is fine
    L.decide(f, L.Decision.ACCEPTED, RECEIVED, TODAY)  # same day as received is fine


def test_start_dates():
    f = accepted()  # decided 2026-11-04
    refused(L.start, f, date(2026, 11, 26), TODAY, field="start_date", match="future")
    refused(L.start, f, date(2026, 11, 3), TODAY, field="start_date", match="before the decision")
    assert L.start(f, date(2026, 11, 4), TODAY) == {"start_date": date(2026, 11, 4)}


def test_contact_dates():
    f = received()
    refused(L.log_contact, f, date(2026, 11, 26), "phone", "spoke", TODAY, field="date", match="future")
    refused(L.log_contact, f, date(2026, 11, 1), "phone", "spoke", TODAY, field="date", match="referral date")


def test_contact_keeps_first_and_last_dates():
    f = received()
    ch = L.log_contact(f, date(2026, 11, 5), "phone", "no_answer", TODAY)
    assert ch == {"last_contact_date": date(2026, 11, 5)}
    f = go(f, ch)
    ch = L.log_contact(f, date(2026, 11, 4), "phone", "spoke", TODAY)  # back-dated success
    assert ch == {"first_contact_date": date(2026, 11, 4)}
    f = go(f, ch)
    ch = L.log_contact(f, date(2026, 11, 3), "phone", "spoke", TODAY)  # earlier still
    assert ch == {"first_contact_date": date(2026, 11, 3)}
    ch = L.log_contact(f, date(2026, 11, 9), "text", "spoke", TODAY)  # later: first stays
    assert ch == {"last_contact_date": date(2026, 11, 9)}


def test_contact_refuses_unknown_method_or_outcome():
    with pytest.raises(ValueError):
        L.log_contact(received(), date(2026, 11, 5), "pigeon", "spoke", TODAY)
    with pytest.raises(ValueError):
        L.log_contact(received(), date(2026, 11, 5), "phone", "maybe", TODAY)
    assert L.ContactOutcome.SPOKE.successful
    assert not any(o.successful for o in L.ContactOutcome if o != L.ContactOutcome.SPOKE)


def test_close_dates():
    f = started()  # decided 11-04, started 11-06
    refused(L.close, f, date(2026, 11, 26), L.EndReason.WITHDREW, TODAY, field="end_date", match="future")
    refused(L.close, f, date(2026, 11, 5), L.EndReason.WITHDREW, TODAY, field="end_date", match="before")
    L.close(f, date(2026, 11, 6), L.EndReason.WITHDREW, TODAY)
    r = received().with_changes({"first_contact_date": date(2026, 11, 10)})
    refused(L.close, r, date(2026, 11, 9), L.EndReason.DECLINED, TODAY, field="end_date")


def test_close_not_before_the_last_contact_attempt():
    # an unanswered attempt on 11-12 and then a no-response closure dated 11-10 is out of order
    f = received()
    f = go(f, L.log_contact(f, date(2026, 11, 12), "phone", "no_answer", TODAY))
    refused(L.close, f, date(2026, 11, 10), L.EndReason.NO_RESPONSE, TODAY, field="end_date")
    L.close(f, date(2026, 11, 12), L.EndReason.NO_RESPONSE, TODAY)


# ---------------------------------------------------------------- end reasons fit the state

WITHOUT_START = {
    L.EndReason.NO_RESPONSE,
    L.EndReason.DECLINED,
    L.EndReason.INSUFFICIENT_INFORMATION,
    L.EndReason.NOT_AWARE_OF_REFERRAL,
    L.EndReason.MOVED_AWAY,
    L.EndReason.OTHER,
}
AFTER_START = {
    L.EndReason.COMPLETED,
    L.EndReason.NO_RESPONSE,
    L.EndReason.WITHDREW,
    L.EndReason.MOVED_AWAY,
    L.EndReason.ESCALATED_SECONDARY_CARE,
    L.EndReason.OTHER,
}


def test_end_reason_sets_match_the_spec():
    assert set(L.END_REASONS_WITHOUT_START) == WITHOUT_START
    assert set(L.END_REASONS_AFTER_START) == AFTER_START
    assert set(L.END_LABELS) == set(L.EndReason)


@pytest.mark.parametrize("reason", list(L.EndReason))
@pytest.mark.parametrize("make", [received, accepted])
def test_close_without_start_reasons(make, reason):
    f = make()
    if reason in WITHOUT_START:
        ch = L.close(f, date(2026, 11, 20), reason, TODAY)
        assert go(f, ch).state == L.State.CLOSED_WITHOUT_START
        assert ch == {"end_date": date(2026, 11, 20), "end_reason": reason}
    else:
        err = refused(
            L.close, f, date(2026, 11, 20), reason, TODAY, evidence="x", field="end_reason", match="never started"
        )
        assert L.END_LABELS[reason].lower() in err.message


@pytest.mark.parametrize("reason", list(L.EndReason))
def test_close_after_start_reasons(reason):
    f = started()
    if reason in AFTER_START:
        ch = L.close(f, date(2026, 11, 20), reason, TODAY, evidence="Two goals achieved")
        expected = L.State.COMPLETED if reason == L.EndReason.COMPLETED else L.State.ENDED_EARLY
        assert go(f, ch).state == expected
    else:
        refused(L.close, f, date(2026, 11, 20), reason, TODAY, field="end_reason", match="started journey")


@pytest.mark.parametrize("evidence", [None, "", "   \n "])
def test_completed_needs_evidence(evidence):
    refused(
        L.close,
        started(),
        date(2026, 11, 20),
        L.EndReason.COMPLETED,
        TODAY,
        evidence=evidence,
        field="evidence",
        match="evidence",
    )


def test_unknown_end_reason_is_refused():
    with pytest.raises(ValueError):
        L.close(started(), date(2026, 11, 20), "vanished", TODAY)


# ---------------------------------------------------------------- onward referrals


def test_onward_only_after_start_and_with_consent():
    for make in (received, accepted, rejected, completed, closed_without_start, ended_early):
        refused(L.check_onward, make(), date(2026, 11, 20), TODAY, field="state")
    refused(L.check_onward, started(consent=False), date(2026, 11, 20), TODAY, field="consent", match="consent")
    L.check_onward(started(), date(2026, 11, 20), TODAY)


def test_onward_dates():
    f = started()  # 11-06
    refused(L.check_onward, f, date(2026, 11, 5), TODAY, field="referral_date", match="before the start")
    refused(L.check_onward, f, date(2026, 11, 26), TODAY, field="referral_date", match="future")
    L.check_onward(f, date(2026, 11, 6), TODAY)


def test_partner_update_steps():
    o = L.OnwardFacts(L.OnwardStatus.MADE, date(2026, 11, 10))
    ch = L.partner_update(o, L.PartnerUpdate.STARTED, date(2026, 11, 12), TODAY)
    assert ch["status"] == L.OnwardStatus.STARTED and ch["start_date"] == date(2026, 11, 12)
    o2 = L.OnwardFacts(
        L.OnwardStatus.STARTED, date(2026, 11, 10), date(2026, 11, 12), last_update_date=date(2026, 11, 12)
    )
    ch = L.partner_update(o2, L.PartnerUpdate.ATTENDANCE, date(2026, 11, 19), TODAY)
    assert ch == {"last_update_date": date(2026, 11, 19)}
    ch = L.partner_update(o2, L.PartnerUpdate.WITHDREW, date(2026, 11, 20), TODAY)
    assert ch["status"] == L.OnwardStatus.WITHDREW and ch["end_date"] == date(2026, 11, 20)
    # made -> attendance/completed/withdrew is refused, naming what can come next
    err = refused(L.partner_update, o, L.PartnerUpdate.COMPLETED, date(2026, 11, 12), TODAY, field="kind")
    assert "started" in err.message and "declined" in err.message
    done = L.OnwardFacts(L.OnwardStatus.COMPLETED, date(2026, 11, 10), date(2026, 11, 12), date(2026, 11, 20))
    refused(L.partner_update, done, L.PartnerUpdate.ATTENDANCE, date(2026, 11, 21), TODAY, match="already")
    refused(L.partner_update, o, L.PartnerUpdate.STARTED, date(2026, 11, 9), TODAY, field="date")
    refused(L.partner_update, o, L.PartnerUpdate.STARTED, date(2026, 11, 26), TODAY, field="date")
    refused(
        L.partner_update,
        o2,
        L.PartnerUpdate.COMPLETED,
        date(2026, 11, 11),
        TODAY,
        field="date",
        match="programme start",
    )


# ---------------------------------------------------------------- measures and goals


def test_measure_point_and_dates():
    f = started()
    refused(L.check_measure, f, "middle", date(2026, 11, 20), TODAY, field="point")
    refused(L.check_measure, f, "review", date(2026, 11, 26), TODAY, field="date", match="future")
    refused(L.check_measure, f, "review", date(2026, 11, 1), TODAY, field="date")


@pytest.mark.parametrize(
    "text",
    [
        "I want to join a walking group",
        "  I'd like to sleep better",
        "I\u2019m going to call the debt adviser",
        "My goal is to get out more",
    ],
)
def test_goal_statement_in_own_words(text):
    assert L.check_goal_statement(text) == text.strip()


@pytest.mark.parametrize("text", ["", "   ", "Join a walking group", "Client will attend", "Ideas: gym"])
def test_goal_statement_refused(text):
    refused(L.check_goal_statement, text, field="statement")


# ---------------------------------------------------------------- missing dates are a domain error, not a crash


@pytest.mark.parametrize(
    "call",
    [
        lambda: L.log_contact(received(), None, "phone", "spoke", TODAY),
        lambda: L.decide(received(), L.Decision.ACCEPTED, None, TODAY),
        lambda: L.start(accepted(), None, TODAY),
        lambda: L.close(started(), None, L.EndReason.WITHDREW, TODAY),
        lambda: L.check_onward(started(), None, TODAY),
        lambda: L.check_measure(started(), "review", None, TODAY),
        lambda: L.partner_update(L.OnwardFacts(L.OnwardStatus.MADE, date(2026, 11, 10)), "started", None, TODAY),
    ],
)
def test_a_missing_date_is_refused_clearly(call):
    with pytest.raises(DomainError) as info:
        call()
    assert "date" in info.value.message.lower()


def test_close_not_before_the_last_recorded_activity():
    # an onward referral, review or measure on 11-18 means the journey cannot have ended on 11-10
    f = started().with_changes({"last_activity_date": date(2026, 11, 18)})
    refused(L.close, f, date(2026, 11, 10), L.EndReason.WITHDREW, TODAY, field="end_date", match="2026-11-18")
    L.close(f, date(2026, 11, 18), L.EndReason.WITHDREW, TODAY)


# ---------------------------------------------------------------- the step model (domain/steps.py)

from navigator.domain import steps as S  # noqa: E402


def through(*steps, dob=ADULT, consent=True) -> S.Changes:
    """Apply steps in order from a new journey; the last step's changes."""
    ch = S.Changes(L.JourneyFacts.unreceived(dob, consent))
    for st in steps:
        ch = S.apply(ch.facts, st, TODAY)
    return ch


RECV = S.Receive(RECEIVED, referrer=" Dr  Who ", reason="Low mood\r\nand isolated")
ACC = S.Decide(date(2026, 11, 4), "accepted")
STARTED = (RECV, ACC, S.Start(date(2026, 11, 6), [3] * 7))


def step_refused(field: str, *steps, **kw) -> str:
    with pytest.raises(DomainError) as err:
        through(*steps, **kw)
    assert err.value.field == field, err.value.message
    return err.value.message


def test_receive_sets_state_and_its_date_and_checks_text():
    ch = through(RECV)
    assert ch.journey == {
        "received_date": RECEIVED,
        "referrer": "Dr Who",
        "reason": "Low mood\nand isolated",
        "state": "received",
        "state_since": RECEIVED,
    }
    step_refused("referrer", S.Receive(RECEIVED, referrer="\x1b[31mDr"))
    step_refused("received_date", S.Receive(date(2026, 11, 26)))
    step_refused("date_of_birth", S.Receive(RECEIVED), dob=date(2026, 11, 3))
    step_refused("state", RECV, RECV)
    step_refused("state", S.Contact(RECEIVED, "phone", "spoke"))  # nothing before the referral


def test_each_state_counts_from_its_own_date():
    assert through(RECV, ACC).journey["state_since"] == date(2026, 11, 4)
    ch = through(*STARTED)
    assert (ch.journey["state"], ch.journey["state_since"]) == ("started", date(2026, 11, 6))
    assert ch.measure["point"] == "start" and ch.measure["raw"] == 21
    ch = through(*STARTED, S.Close(date(2026, 11, 20), "withdrew"))
    assert (ch.journey["state"], ch.journey["state_since"]) == ("ended_early", date(2026, 11, 20))
    ch = through(RECV, S.Decide(date(2026, 11, 5), "rejected", "out_of_area"))
    assert (ch.journey["state"], ch.journey["state_since"]) == ("rejected", date(2026, 11, 5))
    assert "state" not in through(RECV, S.Contact(date(2026, 11, 3), "phone", "no_answer")).journey


def test_contact_and_decide_refusals_name_the_field():
    ch = through(RECV, S.Contact(date(2026, 11, 3), "phone", "spoke", note="Rang\ttwice"))
    assert ch.record == {"on_date": date(2026, 11, 3), "method": "phone", "outcome": "spoke", "note": "Rang\ttwice"}
    assert ch.journey == {"last_contact_date": date(2026, 11, 3), "first_contact_date": date(2026, 11, 3)}
    step_refused("method", RECV, S.Contact(date(2026, 11, 3), "pigeon", "spoke"))
    step_refused("outcome", RECV, S.Contact(date(2026, 11, 3), "phone", "maybe"))
    step_refused("date", RECV, S.Contact(date(2026, 11, 1), "phone", "spoke"))
    step_refused("note", RECV, S.Contact(date(2026, 11, 3), "phone", "spoke", note="\x07"))
    step_refused("decision", RECV, S.Decide(date(2026, 11, 4), "maybe"))
    step_refused("reject_reason", RECV, S.Decide(date(2026, 11, 4), "rejected", "bored"))
    step_refused("reject_reason", RECV, S.Decide(date(2026, 11, 4), "rejected"))
    step_refused("decision", S.Receive(RECEIVED), ACC, dob=date(2010, 1, 1))
    step_refused("start_date", RECV, ACC, S.Start(date(2026, 11, 3)))


def test_close_cannot_come_before_a_review_onward_or_measure():
    review = S.Review(date(2026, 11, 20), note="Going well")
    ch = through(*STARTED, review)
    assert ch.journey == {"last_review_date": date(2026, 11, 20)}
    assert ch.record == {"on_date": date(2026, 11, 20), "note": "Going well"}
    assert ch.facts.last_activity_date == date(2026, 11, 20)
    step_refused("end_date", *STARTED, review, S.Close(date(2026, 11, 10), "withdrew"))
    step_refused("end_date", *STARTED, S.Onward(7, date(2026, 11, 18)), S.Close(date(2026, 11, 10), "withdrew"))
    step_refused(
        "end_date", *STARTED, S.Measure("review", date(2026, 11, 19), 20), S.Close(date(2026, 11, 10), "withdrew")
    )
    step_refused("on", *STARTED, S.Review(date(2026, 11, 5)))
    step_refused("on", *STARTED, S.Review(date(2026, 11, 26)))
    step_refused("state", RECV, S.Review(date(2026, 11, 5)))
    step_refused("evidence", *STARTED, S.Close(date(2026, 11, 20), "completed"))
    step_refused("end_reason", *STARTED, S.Close(date(2026, 11, 20), "declined"))
    step_refused("end_reason", *STARTED, S.Close(date(2026, 11, 20), "nope"))
    step_refused("swemwbs", RECV, S.Close(date(2026, 11, 20), "declined", swemwbs=20))
    ch = through(*STARTED, S.Close(date(2026, 11, 20), "completed", " Back at work ", swemwbs=24))
    assert ch.journey["outcome_evidence"] == "Back at work" and ch.measure["point"] == "end"


def test_goal_edit_and_progress_note_rules():
    goal = S.Goal(3, "I want to join a walking group", date(2026, 12, 20))
    ch = through(*STARTED, goal)
    assert ch.key == 0 and ch.goal["status"] == "not_started" and ch.goal["statement"].startswith("I want")
    ch = through(*STARTED, goal, S.GoalUpdate(0, date(2026, 11, 10), "in_progress", "First walk"))
    assert ch.goal == {"status": "in_progress"} and ch.record == {"on_date": date(2026, 11, 10), "note": "First walk"}
    assert through(*STARTED, goal, S.GoalUpdate(0, None, statement="I will walk weekly")).goal == {
        "statement": "I will walk weekly"
    }
    step_refused("statement", *STARTED, S.Goal(3, "Join a group"))
    step_refused("outcome", *STARTED, S.Goal(None, "I want to"))
    step_refused("target_date", *STARTED, S.Goal(3, "I want to", date(2026, 11, 1)))
    step_refused("goal", *STARTED, S.GoalUpdate(0, date(2026, 11, 10), "in_progress"))
    step_refused("status", *STARTED, goal, S.GoalUpdate(0, date(2026, 11, 10), "done"))
    step_refused("on", *STARTED, goal, S.GoalUpdate(0, date(2026, 11, 5), note="early"))
    step_refused("on", *STARTED, goal, S.GoalUpdate(0, date(2026, 11, 26), note="later"))
    step_refused("state", RECV, ACC, goal)


def test_onward_partner_report_and_follow_up():
    on = S.Onward(7, date(2026, 11, 10), note="Debt advice")
    ch = through(*STARTED, on)
    assert ch.key == 0 and ch.onward["status"] == "made" and ch.onward["programme_id"] == 7
    ch = through(*STARTED, on, S.PartnerReport(0, "declined", date(2026, 11, 12)))
    assert ch.onward == {
        "last_update_date": date(2026, 11, 12),
        "status": "declined",
        "end_date": date(2026, 11, 12),
        "first_update_date": date(2026, 11, 12),
        "feedback_pending_since": date(2026, 11, 12),
    }
    assert ch.record == {"on_date": date(2026, 11, 12), "kind": "declined", "note": None}
    ch = through(*STARTED, on, S.PartnerReport(0, "declined", date(2026, 11, 12)), S.FollowUp(0, date(2026, 11, 13)))
    assert ch.onward == {"feedback_pending_since": None}
    step_refused("onward", *STARTED, on, S.FollowUp(0, date(2026, 11, 13)))
    step_refused("onward", *STARTED, S.PartnerReport(0, "started", date(2026, 11, 12)))
    step_refused("kind", *STARTED, on, S.PartnerReport(0, "attendance", date(2026, 11, 12)))
    step_refused("kind", *STARTED, on, S.PartnerReport(0, "?", date(2026, 11, 12)))
    step_refused("consent", *STARTED, on, consent=False)
    step_refused("referral_date", *STARTED, S.Onward(7, date(2026, 11, 5)))


def test_state_groups_come_from_the_domain():
    assert set(L.State) == L.OPEN_STATES | L.FINISHED_STATES
    assert not L.OPEN_STATES & L.FINISHED_STATES
    assert L.sql_in(L.ACTIVE_STATES) == "'accepted', 'started'"
