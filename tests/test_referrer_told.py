"""The referrer is told, and it is recorded (issue 15): closing or rejecting makes a "tell the referrer"
follow-up due the working day of the closure or rejection; the right letter, or recording another way,
ends it; journeys with nobody to tell, or a protocol that does not notify, get none."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from conftest import TODAY, new_referral
from navigator.domain.errors import DomainError
from navigator.services.casework import journeys as J
from navigator.services.casework import letters, loops, queries
from navigator.services.setup import settings
from navigator.store.models import AuditEvent, Journey, Task


def _tell_tasks(ctx, jid, status="open"):
    with ctx.read() as s:
        return s.exec(
            select(Task).where(Task.journey_id == jid, Task.kind == "tell_referrer", Task.status == status)
        ).all()


def _closed(ctx, on: date, reason="declined", **kw):
    ref = new_referral(ctx, received=on - timedelta(days=20), **kw)
    J.close(ctx, ref.journey_id, on, reason)
    return ref.journey_id


def test_closing_makes_the_task_due_that_working_day_and_today_lists_it(ctx_on, any_day):
    ctx = ctx_on(any_day)
    jid = _closed(ctx, any_day)
    (task,) = _tell_tasks(ctx, jid)
    assert task.due_date == ctx.calendar().add(any_day, 0)  # the closure's day, or the next working day
    assert ctx.calendar().is_working_day(task.due_date)
    assert task.detail == "Tell the referrer (closure letter)"
    later = ctx_on(task.due_date)
    items = [i for i in queries.today(later).items if i.journey_id == jid]
    assert [i.kind for i in items] == ["tell_referrer"]  # listed although the journey is closed


def test_rejection_and_no_response_name_their_letter(ctx):
    rejected = new_referral(ctx, received=date(2026, 11, 2)).journey_id
    J.log_contact(ctx, rejected, date(2026, 11, 3), "phone", "spoke")
    J.decide(ctx, rejected, "rejected", date(2026, 11, 4), "out_of_area")
    (task,) = _tell_tasks(ctx, rejected)
    assert task.due_date == date(2026, 11, 4) and "rejection letter" in task.detail
    assert letters.referrer_letter("rejected", None) == "rejection_notice"
    text = letters.render(ctx, rejected, "rejection_notice")
    assert "Reason: Out of area" in text and "4 November 2026" in text
    assert _tell_tasks(ctx, rejected) == []
    nr = _closed(ctx, date(2026, 11, 20), "no_response", first="Bo")
    assert "no-response letter" in _tell_tasks(ctx, nr)[0].detail
    assert letters.referrer_letter("closed_without_start", "no_response") == "no_response_notice"
    with pytest.raises(DomainError, match="not closed for no response"):
        letters.render(ctx, _closed(ctx, date(2026, 11, 20), first="Cy"), "no_response_notice")


def test_producing_the_letter_completes_the_task_once(ctx):
    jid = _closed(ctx, date(2026, 11, 20))
    letters.render(ctx, jid, "closure_notice")
    assert _tell_tasks(ctx, jid) == [] and len(_tell_tasks(ctx, jid, "done")) == 1
    with ctx.read() as s:
        j = s.get(Journey, jid)
    assert (j.referrer_told_date, j.referrer_told_how) == (TODAY, "letter")
    letters.render(ctx, jid, "closure_notice")  # again: the first telling stands, no second event
    with ctx.read() as s:
        told = s.exec(select(AuditEvent).where(AuditEvent.action == "journey.referrer_told")).all()
    assert len(told) == 1 and '"via": "closure_notice"' in told[0].after


def test_told_another_way(ctx):
    jid = _closed(ctx, date(2026, 11, 20))
    ref = loops.tell_referrer(ctx, jid, date(2026, 11, 23), "secure_email")
    assert ref.journey_id == jid and _tell_tasks(ctx, jid) == []
    with ctx.read() as s:
        j = s.get(Journey, jid)
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "journey.referrer_told")).one()
    assert (j.referrer_told_date, j.referrer_told_how) == (date(2026, 11, 23), "secure_email")
    assert '"referrer_told_how": "secure_email"' in ev.after
    detail = queries.journey_detail(ctx, jid)
    assert any("Referrer told (secure email)" in e.text for e in detail.timeline)


@pytest.mark.parametrize(
    ("on", "how", "field"),
    [
        (TODAY + timedelta(days=1), "phone", "on"),
        (date(2026, 11, 19), "phone", "on"),  # before the closure
        (date(2026, 11, 21), "fax", "how"),
    ],
)
def test_told_refusals(ctx, on, how, field):
    jid = _closed(ctx, date(2026, 11, 20))
    with pytest.raises(DomainError) as err:
        loops.tell_referrer(ctx, jid, on, how)
    assert err.value.field == field
    assert len(_tell_tasks(ctx, jid)) == 1


def test_an_open_journey_has_no_referrer_to_tell_yet(ctx):
    jid = new_referral(ctx).journey_id
    with pytest.raises(DomainError) as err:
        loops.tell_referrer(ctx, jid, TODAY, "phone")
    assert err.value.field == "state"


def test_nobody_to_tell_or_not_notifying(ctx):
    self_referred = _closed(ctx, date(2026, 11, 20), source="self")
    assert _tell_tasks(ctx, self_referred) == []
    settings.set_protocol(ctx, notify_referrer=False)
    gp = _closed(ctx, date(2026, 11, 20), first="Di")
    assert _tell_tasks(ctx, gp) == []
