"""Intake fits the work (issue 15): strict UK postcodes and phone numbers, the risk flag with its
signposting, one open journey per person (attach a further referral instead), a goal's target date
cleared, and closing that asks what happened to open goals and onward referrals."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlmodel import select

from conftest import SWEMWBS_MID, make_user, new_referral
from navigator.domain import lifecycle as L
from navigator.domain import steps as S
from navigator.domain.errors import AccessDenied, DomainError, ValidationErrors
from navigator.domain.identifiers import normalise_phone, normalise_postcode
from navigator.domain.risk import check_risk
from navigator.services.casework import closing
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.casework.journeys import ClientInput, ReferralInput
from navigator.services.casework.open_journey import OpenJourneyExists, attach_referral, open_journey_of
from navigator.services.casework.risk import set_risk
from navigator.services.operations import retention
from navigator.services.operations.sar import subject_access
from navigator.services.setup.reference import reference
from navigator.store.models import (
    AuditEvent,
    Client,
    Journey,
    JourneySupportArea,
    OnwardReferral,
    PartnerUpdateRow,
    PlanGoal,
    Task,
)

# ---------------------------------------------------------------- postcodes


@pytest.mark.parametrize(
    "typed,stored",
    [
        ("me14 1xx", "ME14 1XX"),
        ("ME141XX", "ME14 1XX"),
        ("  Me14   1xX ", "ME14 1XX"),
        ("sw1a1aa", "SW1A 1AA"),  # AA9A
        ("W1A 0AX", "W1A 0AX"),  # A9A
        ("m1 1ae", "M1 1AE"),  # A9
        ("b33 8th", "B33 8TH"),  # A99
        ("cr2 6xh", "CR2 6XH"),  # AA9
        ("DN55 1PT", "DN55 1PT"),  # AA99
        ("gir 0aa", "GIR 0AA"),
    ],
)
def test_valid_postcodes_change_only_case_and_the_space(typed, stored):
    assert normalise_postcode(typed) == stored


@pytest.mark.parametrize(
    "typed,words",
    [
        ("ME14 ZZ", "digit then two letters"),  # the example: never read as ME1 4ZZ
        ("me14 zz", "digit then two letters"),
        ("ME1 4Z", "digit then two letters"),
        ("ME14 1CX", "digit then two letters"),  # C is never in an inward code
        ("QE14 1XX", "starts with"),  # Q never starts a postcode
        ("M E14 1XX", "too many spaces"),
        ("ME141 1XX", "starts with"),
        ("ME14-1XX", "starts with"),
        ("1ME4 1XX", "starts with"),
        ("ＭＥ14 1XX", "letters A-Z"),
    ],
)
def test_postcodes_not_in_the_uk_format_are_refused_not_reshaped(typed, words):
    with pytest.raises(DomainError) as info:
        normalise_postcode(typed)
    assert info.value.field == "postcode"
    assert "postcode" in info.value.message and words in info.value.message


def test_a_referral_with_a_reshapeable_postcode_is_refused_beside_the_postcode(ctx):
    with pytest.raises(ValidationErrors) as info:
        J.receive_referral(
            ctx,
            ReferralInput(
                date(2026, 11, 2),
                "gp",
                client=ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", postcode="ME14 ZZ"),
            ),
        )
    assert set(info.value.errors) == {"postcode"}
    with ctx.read() as s:
        assert s.exec(select(Client)).all() == []


# ---------------------------------------------------------------- phone numbers


@pytest.mark.parametrize(
    "typed,stored",
    [
        ("07700 900123", "07700 900123"),
        ("07700900123", "07700 900123"),
        ("07700-900-123", "07700 900123"),
        ("+44 7700 900123", "07700 900123"),
        ("+44 (0)7700 900123", "07700 900123"),
        ("0044 7700 900123", "07700 900123"),
        ("(01622) 123456", "01622 123456"),
        ("020 7946 0000", "020 7946 0000"),
        ("02079460000", "020 7946 0000"),
        ("0300 123 4567", "0300 123 4567"),
        ("01697 73456", "01697 73456"),  # one of the few 10-digit landlines
    ],
)
def test_uk_phone_numbers_are_accepted_and_stored_in_one_form(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "seven",
        "07700 90012",
        "077009001234",
        "0800 123 4567",
        "09012 345678",
        "+1 202 555 0100",
        "7700 900123",
        "07700 900123 ext 2",
    ],
)
def test_not_uk_phone_numbers_are_refused(typed):
    with pytest.raises(DomainError) as info:
        normalise_phone(typed)
    assert info.value.field == "phone"


def test_a_phone_of_seven_is_refused_at_intake_and_on_edit(ctx):
    with pytest.raises(ValidationErrors) as info:
        J.receive_referral(
            ctx,
            ReferralInput(
                date(2026, 11, 2),
                "gp",
                client=ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", phone="seven"),
            ),
        )
    assert set(info.value.errors) == {"phone"}
    ref = new_referral(ctx)
    with pytest.raises(ValidationErrors) as info:
        J.update_client(ctx, ref.client_id, ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", phone="seven"))
    assert set(info.value.errors) == {"phone"}
    J.update_client(
        ctx, ref.client_id, ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", phone="+44 7700 900123")
    )
    with ctx.read() as s:
        assert s.get(Client, ref.client_id).phone == "07700 900123"


def test_details_saved_before_the_checks_stay_and_do_not_block_other_edits(ctx):
    ref = new_referral(ctx)
    with ctx.write() as s:  # as an older version stored them
        c = s.get(Client, ref.client_id)
        c.phone, c.postcode = "seven", "ME14 ZZ"
        s.add(c)
    with ctx.read() as s:
        c = s.get(Client, ref.client_id)
        saved_phone, saved_postcode = c.phone, c.postcode
    # an unrelated edit (the email) saves; the old values are kept as they are
    J.update_client(
        ctx,
        ref.client_id,
        ClientInput(
            "Ann",
            "Smith",
            date(1980, 1, 1),
            "Maidstone",
            phone=saved_phone,
            postcode=saved_postcode,
            email="ann@example.org",
        ),
    )
    with ctx.read() as s:
        c = s.get(Client, ref.client_id)
        assert (c.phone, c.postcode, c.email) == ("seven", "ME14 ZZ", "ann@example.org")
    # changing the field itself is checked
    with pytest.raises(ValidationErrors) as info:
        J.update_client(ctx, ref.client_id, ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", phone="eight"))
    assert set(info.value.errors) == {"phone"}


def test_the_import_refuses_a_bad_postcode_naming_the_column(ctx, tmp_path):
    from navigator.services.tracker_import.importer import import_file

    header = "client_ref,first_name,last_name,date_of_birth,postcode,locality,navigator,referral_source,received_date"
    path = tmp_path / "t.csv"
    path.write_text(f"{header}\nT1,Ann,Smith,1980-01-01,ME14 ZZ,Maidstone,admin,gp,2026-11-02\n", encoding="utf-8")
    report = import_file(ctx, path)
    assert not report.written
    assert [(line, column) for line, column, _ in report.errors] == [(2, "postcode")]
    assert "digit then two letters" in report.errors[0][2]


# ---------------------------------------------------------------- the risk flag


def test_check_risk_needs_the_signposting_when_flagged():
    assert check_risk(False, None) == (False, None)
    assert check_risk(True, "  Samaritans 116 123 ") == (True, "Samaritans 116 123")
    assert check_risk(False, "GP") == (False, "GP")  # history kept when the flag is cleared
    with pytest.raises(DomainError) as info:
        check_risk(True, "  ")
    assert info.value.field == "signposted_to"
    with pytest.raises(DomainError) as info:
        check_risk(True, "crisis line\x1b[31m")
    assert info.value.field == "signposted_to"


def _referral(**kw) -> ReferralInput:
    client = kw.pop(
        "client", ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", address="1 High St, Maidstone")
    )
    return ReferralInput(kw.pop("received", date(2026, 11, 2)), kw.pop("source", "gp"), client=client, **kw)


def test_risk_flag_and_signposting_are_saved_at_intake_and_audited(ctx):
    ref = J.receive_referral(ctx, _referral(risk_flag=True, signposted_to="Crisis line; GP same day"))
    with ctx.read() as s:
        j = s.get(Journey, ref.journey_id)
        assert (j.risk_flag, j.signposted_to) == (True, "Crisis line; GP same day")
        assert s.get(Client, ref.client_id).address == "1 High St, Maidstone"
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "journey.receive")).one()
        assert json.loads(event.after)["risk_flag"] is True


def test_risk_flag_without_signposting_is_refused_beside_it(ctx):
    with pytest.raises(ValidationErrors) as info:
        J.receive_referral(ctx, _referral(risk_flag=True, signposted_to=None))
    assert set(info.value.errors) == {"signposted_to"}


def test_the_flag_is_edited_later_with_an_audit_event(ctx):
    ref = J.receive_referral(ctx, _referral())
    with pytest.raises(DomainError) as info:
        set_risk(ctx, ref.journey_id, True, "")
    assert info.value.field == "signposted_to"
    set_risk(ctx, ref.journey_id, True, "Samaritans")
    set_risk(ctx, ref.journey_id, False, "Samaritans")
    with ctx.read() as s:
        j = s.get(Journey, ref.journey_id)
        assert (j.risk_flag, j.signposted_to) == (False, "Samaritans")
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "journey.risk").order_by(AuditEvent.id)).all()
    assert [json.loads(e.after) for e in events] == [
        {"risk_flag": True, "signposted_to": "Samaritans"},
        {"risk_flag": False},
    ]
    other = make_user(ctx, "other")  # a navigator: not theirs, no reason given
    with pytest.raises(AccessDenied):
        set_risk(other, ref.journey_id, True, "GP")


def test_the_journey_shows_the_flag(ctx):
    ref = J.receive_referral(ctx, _referral(risk_flag=True, signposted_to="A&E"))
    detail = Q.journey_detail(ctx, ref.journey_id, audit_view=False)
    assert (detail.risk_flag, detail.signposted_to) == (True, "A&E")


def test_retention_clears_the_signposting_and_sar_exports_it(ctx, tmp_path):
    ref = J.receive_referral(
        ctx, _referral(received=date(2017, 3, 1), risk_flag=True, signposted_to="Crisis team, Maidstone")
    )
    data = json.loads(subject_access(ctx, ref.client_ref, tmp_path).json_path.read_text(encoding="utf-8"))
    assert data["journeys"][0]["risk_flag"] is True
    assert data["journeys"][0]["signposted_to"] == "Crisis team, Maidstone"
    J.decide(ctx, ref.journey_id, "rejected", date(2017, 3, 2), "in_crisis")
    retention.apply(ctx)
    with ctx.read() as s:
        j = s.get(Journey, ref.journey_id)
        assert s.get(Client, ref.client_id).anonymised
        assert j.signposted_to is None and j.risk_flag is True  # the text goes, the fact stays


# ---------------------------------------------------------------- one person, one open journey


def test_a_second_referral_for_someone_with_an_open_journey_is_refused_unless_confirmed(ctx_on, any_day):
    ctx = ctx_on(any_day)
    first = new_referral(ctx, received=any_day - timedelta(days=10))
    J.decide(ctx, first.journey_id, "accepted", any_day - timedelta(days=8))
    found = open_journey_of(ctx, first.client_id)
    assert found is not None and (found.journey_id, found.state) == (first.journey_id, "accepted")
    again = ReferralInput(any_day, "self", client_id=first.client_id, referrer="Ann herself")
    with pytest.raises(OpenJourneyExists) as info:
        J.receive_referral(ctx, again)
    assert info.value.field == "open_journey" and info.value.open_journey.journey_id == first.journey_id
    assert "already has an open journey" in info.value.message
    with ctx.read() as s:
        assert len(s.exec(select(Journey).where(Journey.client_id == first.client_id)).all()) == 1
    second = J.receive_referral(ctx, ReferralInput(any_day, "self", client_id=first.client_id, second_journey=True))
    assert second.journey_id != first.journey_id
    with ctx.read() as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.journey_id == second.journey_id)).one()
        assert json.loads(event.after)["second_open_journey"] is True


def test_a_closed_journey_does_not_stop_a_new_referral(ctx):
    first = new_referral(ctx, received=date(2026, 10, 1))
    J.close(ctx, first.journey_id, date(2026, 10, 20), "declined")
    assert open_journey_of(ctx, first.client_id) is None
    again = J.receive_referral(ctx, ReferralInput(date(2026, 11, 20), "gp", client_id=first.client_id))
    assert again.state == "received"


def test_attaching_a_further_referral_records_it_on_the_open_journey(ctx_on, any_day):
    ctx = ctx_on(any_day)
    first = new_referral(ctx, received=any_day - timedelta(days=10))
    J.decide(ctx, first.journey_id, "accepted", any_day - timedelta(days=9))
    areas = [a.code for a in reference(ctx).support_areas][:1]
    attach_referral(
        ctx,
        first.journey_id,
        ReferralInput(
            any_day,
            "self",
            client_id=first.client_id,
            referrer="Her daughter",
            reason="Low mood again",
            support_areas=areas,
            risk_flag=True,
            signposted_to="Crisis line",
        ),
    )
    with ctx.read() as s:
        journeys = s.exec(select(Journey).where(Journey.client_id == first.client_id)).all()
        assert len(journeys) == 1  # no second journey
        j = journeys[0]
        assert f"Further referral received {any_day.isoformat()}" in j.reason
        assert "Her daughter" in j.reason and "Low mood again" in j.reason
        assert (j.risk_flag, j.signposted_to, j.state) == (True, "Crisis line", "accepted")
        assert len(s.exec(select(JourneySupportArea).where(JourneySupportArea.journey_id == j.id)).all()) == 1
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "journey.referral_attached")).one()
        assert json.loads(event.after)["further_referral"]["referrer"] == "Her daughter"
    # Today lists the person once
    today = Q.today(ctx, on=any_day)
    assert len({i.journey_id for i in today.items if i.client_ref == first.client_ref}) <= 1
    # an attachment cannot be dated before the journey, nor in the future
    for bad in (any_day - timedelta(days=11), any_day + timedelta(days=1)):
        with pytest.raises(ValidationErrors) as info:
            attach_referral(ctx, first.journey_id, ReferralInput(bad, "self", client_id=first.client_id))
        assert set(info.value.errors) == {"received_date"}


def test_attaching_to_a_closed_journey_is_refused(ctx):
    first = new_referral(ctx, received=date(2026, 10, 1))
    J.close(ctx, first.journey_id, date(2026, 10, 20), "declined")
    with pytest.raises(DomainError) as info:
        attach_referral(ctx, first.journey_id, ReferralInput(date(2026, 11, 2), "gp", client_id=first.client_id))
    assert info.value.field == "open_journey"


# ---------------------------------------------------------------- goals: target date cleared


def _started(ctx, received=date(2026, 11, 2)):
    ref = new_referral(ctx, received=received)
    J.log_contact(ctx, ref.journey_id, received + timedelta(days=1), "phone", "spoke")
    J.decide(ctx, ref.journey_id, "accepted", received + timedelta(days=2))
    J.start(ctx, ref.journey_id, received + timedelta(days=3), SWEMWBS_MID)
    return ref


def test_a_goal_is_edited_and_its_target_date_cleared(ctx):
    ref = _started(ctx)
    gid = J.add_goal(ctx, ref.journey_id, "connect", "I want to join a walking group", date(2026, 12, 20))
    J.update_goal(ctx, gid, statement="I want to join a choir", outcome="wellbeing", target_date=date(2027, 1, 9))
    J.update_goal(ctx, gid, clear_target=True)
    with ctx.read() as s:
        g = s.get(PlanGoal, gid)
        assert (g.statement, g.target_date) == ("I want to join a choir", None)
        event = s.exec(
            select(AuditEvent).where(AuditEvent.action == "goal.update").order_by(AuditEvent.id.desc())
        ).first()
        assert json.loads(event.after) == {"target_date": None}
    with pytest.raises(DomainError) as info:
        J.update_goal(ctx, gid, target_date=date(2027, 1, 9), clear_target=True)
    assert info.value.field == "target_date"


def test_clear_target_is_a_step_rule():
    f = L.JourneyFacts.unreceived(date(1980, 1, 1))
    today = date(2026, 11, 25)
    f = S.apply(f, S.Receive(date(2026, 11, 2)), today).facts
    f = S.apply(f, S.Decide(date(2026, 11, 3), "accepted"), today).facts
    f = S.apply(f, S.Start(date(2026, 11, 4)), today).facts
    ch = S.apply(f, S.Goal(1, "I want to sleep better", date(2026, 12, 1)), today)
    ch = S.apply(ch.facts, S.GoalUpdate(ch.key or 0, None, clear_target=True), today)
    assert ch.goal == {"target_date": None}
    assert ch.facts.goals[0].target_date is None


# ---------------------------------------------------------------- closing asks about open goals and onward referrals


def _programme(ctx) -> int:
    return next(p.id for p in reference(ctx).programmes if p.name == "Employment support")


def _with_loose_ends(ctx, received):
    ref = _started(ctx, received)
    jid = ref.journey_id
    done = J.add_goal(ctx, jid, "connect", "I want to meet people")
    J.update_goal(ctx, done, status="achieved")
    g1 = J.add_goal(ctx, jid, "wellbeing", "I want to sleep better")
    g2 = J.add_goal(ctx, jid, "economic", "I want to sort my debts")
    J.update_goal(ctx, g2, status="in_progress")
    o1 = J.make_onward(ctx, jid, _programme(ctx), received + timedelta(days=4))
    o2 = J.make_onward(ctx, jid, _programme(ctx), received + timedelta(days=4))
    J.partner_update(ctx, o2, "started", received + timedelta(days=5))
    return ref, done, g1, g2, o1, o2


def test_closing_lists_only_what_is_still_open(ctx):
    ref, done, g1, g2, o1, o2 = _with_loose_ends(ctx, date(2026, 11, 2))
    detail = Q.journey_detail(ctx, ref.journey_id, audit_view=False)
    ends = closing.loose_ends(detail.goals, detail.onward)
    assert [e.field for e in ends] == [f"goal_{g1}", f"goal_{g2}", f"onward_{o1}", f"onward_{o2}"]
    assert [v for _, v in ends[2].choices] == ["did_not_start", "declined", closing.UNKNOWN]
    assert [v for _, v in ends[3].choices] == ["completed", "withdrew", closing.UNKNOWN]
    assert [v for _, v in ends[0].choices] == ["achieved", "not_achieved", "not_started"]


def test_closing_needs_an_answer_for_each_and_saves_nothing_without(ctx):
    ref, done, g1, g2, o1, o2 = _with_loose_ends(ctx, date(2026, 11, 2))
    with pytest.raises(ValidationErrors) as info:
        closing.close_with_loose_ends(
            ctx, ref.journey_id, date(2026, 11, 24), "no_response", goals={g1: "not_achieved"}, onwards={o1: "declined"}
        )
    assert set(info.value.errors) == {f"goal_{g2}", f"onward_{o2}"}
    with ctx.read() as s:
        assert s.get(Journey, ref.journey_id).state == "started"
        assert s.get(PlanGoal, g1).status == "not_started"


def test_closing_applies_the_answers_in_the_same_transaction(ctx_on, any_day):
    ctx = ctx_on(any_day)
    received = any_day - timedelta(days=30)
    ref, done, g1, g2, o1, o2 = _with_loose_ends(ctx, received)
    closing.close_with_loose_ends(
        ctx,
        ref.journey_id,
        any_day,
        "completed",
        evidence="Sleeping better",
        goals={g1: "achieved", g2: "in_progress"},
        onwards={o1: "declined", o2: closing.UNKNOWN},
    )
    with ctx.read() as s:
        j = s.get(Journey, ref.journey_id)
        assert (j.state, j.end_date) == ("completed", any_day)
        assert [s.get(PlanGoal, g).status for g in (done, g1, g2)] == ["achieved", "achieved", "in_progress"]
        assert s.get(OnwardReferral, o1).status == "declined"
        assert s.get(OnwardReferral, o1).end_date == any_day
        assert s.get(OnwardReferral, o2).status == "started"  # not known: left open, as answered
        assert s.exec(select(PartnerUpdateRow).where(PartnerUpdateRow.onward_id == o1)).one().kind == "declined"
        close = s.exec(select(AuditEvent).where(AuditEvent.action == "journey.close")).one()
        assert json.loads(close.after)["loose_ends"] == {
            f"goal_{g1}": "achieved",
            f"goal_{g2}": "in_progress",
            f"onward_{o1}": "declined",
            f"onward_{o2}": closing.UNKNOWN,
        }


def test_an_onward_answered_as_stopped_at_closing_leaves_nothing_to_follow_up(ctx_on, any_day):
    """A partner's "withdrew" answered while closing would ask for a follow-up on a started journey;
    once the journey has ended there is no one to follow up: none is shown, and recording one is refused."""
    ctx = ctx_on(any_day)
    ref, done, g1, g2, o1, o2 = _with_loose_ends(ctx, any_day - timedelta(days=30))
    closing.close_with_loose_ends(
        ctx,
        ref.journey_id,
        any_day,
        "withdrew",
        goals={g1: "not_achieved", g2: "not_achieved"},
        onwards={o1: "declined", o2: "withdrew"},
    )
    view = Q.journey_detail(ctx, ref.journey_id, audit_view=False)
    assert [o.feedback_pending_since for o in view.onward] == [None, None]
    with pytest.raises(DomainError) as info:
        J.follow_up_feedback(ctx, o2, "Rang them")
    assert info.value.field == "state" and "ended" in info.value.message
    with ctx.read() as s:
        assert not [
            t
            for t in s.exec(select(Task).where(Task.journey_id == ref.journey_id)).all()
            if t.status == "open" and t.kind == "partner_feedback"
        ]


def test_a_refused_close_undoes_the_answers(ctx):
    ref, done, g1, g2, o1, o2 = _with_loose_ends(ctx, date(2026, 11, 2))
    with pytest.raises(DomainError) as info:  # a started journey cannot close as declined
        closing.close_with_loose_ends(
            ctx,
            ref.journey_id,
            date(2026, 11, 24),
            "declined",
            goals={g1: "achieved", g2: "achieved"},
            onwards={o1: "declined", o2: "completed"},
        )
    assert info.value.field == "end_reason"
    with ctx.read() as s:
        assert s.get(Journey, ref.journey_id).state == "started"
        assert s.get(PlanGoal, g1).status == "not_started"
        assert s.get(OnwardReferral, o2).status == "started"
        assert s.exec(select(PartnerUpdateRow).where(PartnerUpdateRow.onward_id == o1)).all() == []


def test_an_answer_the_rules_refuse_is_shown_beside_its_item(ctx):
    ref, done, g1, g2, o1, o2 = _with_loose_ends(ctx, date(2026, 11, 2))
    with pytest.raises(ValidationErrors) as info:  # "completed" cannot follow "made"
        closing.close_with_loose_ends(
            ctx,
            ref.journey_id,
            date(2026, 11, 24),
            "no_response",
            goals={g1: "achieved", g2: "achieved"},
            onwards={o1: "completed", o2: "completed"},
        )
    assert set(info.value.errors) == {f"onward_{o1}"}


def test_a_journey_with_nothing_open_closes_as_before(ctx):
    ref = new_referral(ctx)
    closing.close_with_loose_ends(ctx, ref.journey_id, date(2026, 11, 20), "declined")
    with ctx.read() as s:
        assert s.get(Journey, ref.journey_id).state == "closed_without_start"


# ---------------------------------------------------------------- the flag and the no-response protocol


def _open_tasks(ctx, jid):
    from navigator.store.models import Task

    with ctx.read() as s:
        return sorted(t.key for t in s.exec(select(Task).where(Task.journey_id == jid, Task.status == "open")).all())


def _ladder_run_out(ctx):
    ref = new_referral(ctx, first="Fay", last="Green", received=date(2026, 10, 1))
    for on, method in ((date(2026, 10, 2), "phone"), (date(2026, 10, 6), "phone"), (date(2026, 10, 8), "letter")):
        J.log_contact(ctx, ref.journey_id, on, method, "no_answer" if method == "phone" else "sent")
    return ref


def test_flagging_a_journey_later_hands_its_no_response_closure_to_the_team_lead(ctx):
    from navigator.domain.followups import AT_RISK_KEY

    ref = _ladder_run_out(ctx)
    assert _open_tasks(ctx, ref.journey_id) == ["no_response_close"]
    set_risk(ctx, ref.journey_id, True, "Crisis line")
    assert _open_tasks(ctx, ref.journey_id) == [AT_RISK_KEY]
    set_risk(ctx, ref.journey_id, False, "Crisis line")
    assert _open_tasks(ctx, ref.journey_id) == ["no_response_close"]


def test_a_further_referral_at_risk_flags_the_open_journey_and_its_follow_ups(ctx):
    from navigator.domain.followups import AT_RISK_KEY

    ref = _ladder_run_out(ctx)
    attach_referral(
        ctx,
        ref.journey_id,
        ReferralInput(date(2026, 11, 20), "gp", client_id=ref.client_id, risk_flag=True, signposted_to="A&E"),
    )
    assert _open_tasks(ctx, ref.journey_id) == [AT_RISK_KEY]
