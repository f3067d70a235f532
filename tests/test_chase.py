"""Partners are chased and the chase is recorded (issue 15): steps.Chase, casework/chasing.record_chase,
the next chase scheduled from the latest chase, the team lead told after the protocol's limit, and
the partner's figures left alone."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from conftest import SWEMWBS_MID, TODAY, new_referral
from navigator.domain import lifecycle as L
from navigator.domain import steps as S
from navigator.domain.errors import DomainError
from navigator.domain.followups import (
    FollowUpFacts,
    OnwardInfo,
    Protocol,
    TaskKind,
    desired_tasks,
)
from navigator.domain.workdays import WorkingCalendar
from navigator.services.casework import chasing
from navigator.services.casework import journeys as J
from navigator.services.setup.reference import reference
from navigator.store.models import AuditEvent, OnwardReferral, PartnerChase, Task

CAL = WorkingCalendar()


def _started_facts() -> L.JourneyFacts:
    f = L.JourneyFacts.unreceived(date(1980, 1, 1), consent_to_share=True)
    for st in (
        S.Receive(date(2026, 10, 1)),
        S.Contact(date(2026, 10, 2), "phone", "spoke"),
        S.Decide(date(2026, 10, 3), "accepted"),
        S.Start(date(2026, 10, 5)),
        S.Onward(1, date(2026, 10, 6)),
    ):
        f = S.apply(f, st, TODAY).facts
    return f


# ---------------------------------------------------------------- the step


def test_chase_step_records_a_row_and_changes_nothing_else():
    f = _started_facts()
    ch = S.apply(f, S.Chase(0, date(2026, 11, 2), "email", "  Left a message "), TODAY)
    assert ch.record == {"on_date": date(2026, 11, 2), "method": "email", "note": "Left a message"}
    assert ch.onward is None and not ch.journey and ch.facts == f and ch.key == 0


@pytest.mark.parametrize(
    ("step", "field", "words"),
    [
        (S.Chase(0, TODAY + timedelta(days=1), "phone"), "on", "future"),
        (S.Chase(0, date(2026, 10, 5), "phone"), "on", "before the onward referral"),
        (S.Chase(0, date(2026, 11, 2), "pigeon"), "method", "how you chased"),
        (S.Chase(7, date(2026, 11, 2), "phone"), "onward", "does not exist"),
    ],
)
def test_chase_step_refusals(step, field, words):
    with pytest.raises(DomainError, match=words) as err:
        S.apply(_started_facts(), step, TODAY)
    assert err.value.field == field


def test_a_closed_onward_referral_cannot_be_chased():
    f = S.apply(_started_facts(), S.PartnerReport(0, "declined", date(2026, 10, 20)), TODAY).facts
    with pytest.raises(DomainError, match="declined: there is no reply to chase") as err:
        S.apply(f, S.Chase(0, date(2026, 11, 2), "phone"), TODAY)
    assert err.value.field == "onward"


# ---------------------------------------------------------------- the follow-ups (pure)


def _chase_task(o: OnwardInfo, protocol: Protocol | None = None):
    ff = FollowUpFacts(_started_facts(), onward=(o,))
    return next(t for t in desired_tasks(ff, protocol or Protocol(), CAL) if t.kind == TaskKind.CHASE_PARTNER)


def test_next_chase_counts_from_the_latest_chase_in_working_days():
    first = _chase_task(OnwardInfo(0, True, date(2026, 10, 6), 10))
    assert first.due == CAL.add(date(2026, 10, 6), 10)
    after = _chase_task(OnwardInfo(0, True, date(2026, 10, 6), 10, chases=1, last_chase=date(2026, 12, 24)))
    assert after.key != first.key
    assert after.due == CAL.add(date(2026, 12, 24), 10)  # over Christmas and Boxing Day's substitute
    assert after.due.weekday() < 5 and "Chased 1 time" in after.detail


def test_team_lead_told_after_the_limit():
    limit = Protocol(chase_limit=2)
    assert (
        "team lead"
        not in _chase_task(
            OnwardInfo(0, True, date(2026, 10, 6), 10, chases=1, last_chase=date(2026, 11, 2)), limit
        ).detail
    )
    told = _chase_task(OnwardInfo(0, True, date(2026, 10, 6), 10, chases=2, last_chase=date(2026, 11, 9)), limit)
    assert told.detail.startswith("2 chases unanswered (team lead told)")


def test_chase_limit_is_checked():
    with pytest.raises(DomainError) as err:
        Protocol(chase_limit=0)
    assert err.value.field == "chase_limit"
    assert Protocol.from_dict(Protocol(chase_limit=5).to_dict()).chase_limit == 5


# ---------------------------------------------------------------- the service


def _journey_with_onward(ctx):
    ref = new_referral(ctx, received=date(2026, 10, 1))
    jid = ref.journey_id
    J.log_contact(ctx, jid, date(2026, 10, 2), "phone", "spoke")
    J.decide(ctx, jid, "accepted", date(2026, 10, 5))
    J.start(ctx, jid, date(2026, 10, 6), SWEMWBS_MID)
    programme = next(p for p in reference(ctx).programmes if p.name == "Employment support")
    oid = J.make_onward(ctx, jid, programme.id, date(2026, 10, 7))
    return jid, oid


def _open_chase_tasks(ctx, jid):
    with ctx.read() as s:
        return s.exec(
            select(Task).where(Task.journey_id == jid, Task.status == "open", Task.kind == "chase_partner")
        ).all()


def test_record_chase_schedules_the_next_and_leaves_the_partner_alone(ctx_on, any_day):
    ctx = ctx_on(any_day)
    jid, oid = _journey_with_onward(ctx)
    (before,) = _open_chase_tasks(ctx, jid)
    with ctx.read() as s:
        o_before = s.get(OnwardReferral, oid).model_dump()
    result = chasing.record_chase(ctx, oid, any_day, "phone", "Asked for a start date")
    (after,) = _open_chase_tasks(ctx, jid)
    cal = ctx.calendar()
    with ctx.read() as s:
        o_after = s.get(OnwardReferral, oid).model_dump()
        row = s.exec(select(PartnerChase).where(PartnerChase.onward_id == oid)).one()
        old = s.get(Task, before.id)
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "onward.chase")).one()
    assert old.status == "done"  # the chase answered the task
    expected_days = next(p for p in reference(ctx).programmes if p.id == o_after["programme_id"]).expected_response_days
    assert after.due_date == cal.add(any_day, expected_days) == result.next_due
    assert cal.is_working_day(after.due_date)
    assert o_after == o_before  # status, update dates, version: the partner's figures do not move
    assert (row.on_date, row.method, row.note) == (any_day, "phone", "Asked for a start date")
    assert result.unanswered == 1 and not result.team_lead_told
    assert '"method": "phone"' in ev.after and ev.journey_id == jid


def test_chases_reach_the_limit_then_a_partner_update_resets_the_count(ctx):
    jid, oid = _journey_with_onward(ctx)
    results = [chasing.record_chase(ctx, oid, date(2026, 11, d), "email") for d in (2, 9, 16)]
    assert [r.unanswered for r in results] == [1, 2, 3]
    assert [r.team_lead_told for r in results] == [False, False, True]
    (task,) = _open_chase_tasks(ctx, jid)
    assert task.detail.startswith("3 chases unanswered (team lead told)")
    J.partner_update(ctx, oid, "started", date(2026, 11, 18))
    again = chasing.record_chase(ctx, oid, date(2026, 11, 24), "phone")
    assert again.unanswered == 1 and not again.team_lead_told


def test_record_chase_refusals_write_nothing(ctx):
    jid, oid = _journey_with_onward(ctx)
    with pytest.raises(DomainError) as err:
        chasing.record_chase(ctx, oid, TODAY + timedelta(days=1), "phone")
    assert err.value.field == "on"
    with pytest.raises(DomainError) as err:
        chasing.record_chase(ctx, oid, date(2026, 10, 6), "phone")
    assert err.value.field == "on"
    J.partner_update(ctx, oid, "declined", date(2026, 11, 2))
    with pytest.raises(DomainError) as err:
        chasing.record_chase(ctx, oid, date(2026, 11, 3), "phone")
    assert err.value.field == "onward"
    with ctx.read() as s:
        assert s.exec(select(PartnerChase)).all() == []


def test_the_team_lead_sees_chases_and_partners_with_no_reply(ctx):
    from navigator.services.casework import team

    jid, oid = _journey_with_onward(ctx)
    for d in (2, 9, 16):
        chasing.record_chase(ctx, oid, date(2026, 11, d), "phone")
    (row,) = [r for r in team.waiting_and_stuck(ctx).onward if r.onward_id == oid]
    assert (row.chases, row.team_lead_told, row.last_update) == (3, True, None)
    (p,) = [r for r in team.partners(ctx).rows if r.made]
    assert (p.made, p.open, p.no_reply, p.chases) == (1, 1, 1, 3)
    assert p.median_first_update is None and p.updated == 0  # a chase is not the partner's reply
    J.partner_update(ctx, oid, "started", date(2026, 11, 18))
    (p,) = [r for r in team.partners(ctx).rows if r.made]
    assert (p.no_reply, p.chases, p.updated) == (0, 3, 1)


def test_a_chase_note_is_in_the_subject_access_export_and_cleared_by_retention(ctx, tmp_path):
    from navigator.services.operations import retention, sar

    ref = new_referral(ctx, first="Old", last="Chased", received=date(2016, 3, 1))
    jid = ref.journey_id
    J.log_contact(ctx, jid, date(2016, 3, 2), "phone", "spoke")
    J.decide(ctx, jid, "accepted", date(2016, 3, 3))
    J.start(ctx, jid, date(2016, 3, 4), SWEMWBS_MID)
    programme = next(p for p in reference(ctx).programmes if p.name == "Employment support")
    oid = J.make_onward(ctx, jid, programme.id, date(2016, 3, 7))
    chasing.record_chase(ctx, oid, date(2016, 3, 21), "phone", "Spoke to Jo at the desk")
    J.partner_update(ctx, oid, "declined", date(2016, 3, 22))
    J.close(ctx, jid, date(2016, 3, 25), "withdrew")
    result = sar.subject_access(ctx, ref.client_ref, tmp_path)
    assert "Spoke to Jo at the desk" in result.json_path.read_text()
    retention.apply(ctx)
    with ctx.read() as s:
        (row,) = s.exec(select(PartnerChase).where(PartnerChase.onward_id == oid)).all()
    assert row.note is None and row.on_date == date(2016, 3, 21)
