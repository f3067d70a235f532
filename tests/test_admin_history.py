"""Changing the protocol or renaming a locality changes no past journey and no past return.

A protocol change applies to follow-ups scheduled after it: stored tasks keep their due dates.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import select

from conftest import make_user, new_referral
from navigator.services.casework import journeys as J
from navigator.services.setup import admin
from navigator.store.models import Journey, SentReturn, Task

pytestmark = pytest.mark.both_backends  # protocol changes and renames on SQLite and PostgreSQL


def journeys_and_tasks(ctx):
    with ctx.read() as s:
        js = [j.model_dump() for j in s.exec(select(Journey).order_by(Journey.id)).all()]
        ts = [t.model_dump() for t in s.exec(select(Task).order_by(Task.id)).all()]
    return js, ts


def record_a_sent_return(ctx, month: str) -> int:
    """The returns service records what was sent; without it, a row as it would store one."""
    try:
        from navigator.services.returns import figures as R

        computed = R.compute_for(ctx, month)
        with ctx.write() as s:
            return R.record_sent(s, ctx, computed)
    except (ImportError, AttributeError):  # pragma: no cover - the returns service not there yet
        figures = {"rows": [{"lot": "Lot 2", "locality": "Maidstone", "measure": "referrals", "value": "3"}]}
        with ctx.write() as s:
            row = SentReturn(
                month=month, sent_at=ctx.now(), username=ctx.username, options="{}", figures=json.dumps(figures)
            )
            s.add(row)
            s.flush()
            return row.id


def sent(ctx, rid):
    with ctx.read() as s:
        r = s.get(SentReturn, rid)
        return r.month, r.options, r.figures


def test_protocol_change_and_locality_rename_keep_the_past(ctx):
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    a = new_referral(nav, first="Ann", received=date(2026, 11, 2))
    b = new_referral(nav, first="Bea", last="Jones", received=date(2026, 11, 2))
    J.log_contact(nav, b.journey_id, date(2026, 11, 4), "phone", "no_answer")  # attempt 2 is now due
    c = new_referral(nav, first="Cat", last="Brown", received=date(2026, 10, 5))
    J.log_contact(nav, c.journey_id, date(2026, 10, 6), "phone", "spoke")
    J.decide(nav, c.journey_id, "accepted", date(2026, 10, 6))
    J.start(nav, c.journey_id, date(2026, 10, 8))
    J.close(nav, c.journey_id, date(2026, 10, 30), "completed", evidence="Goals met")
    rid = record_a_sent_return(ctx, "2026-10")

    journeys_before, tasks_before = journeys_and_tasks(ctx)
    sent_before = sent(ctx, rid)
    assert any(t["key"] == "contact_attempt:2" for t in tasks_before)

    admin.set_protocol(ctx, first_within=5, gaps=[9, 9], opt_in_days=20)
    admin.rename_reference(ctx, "locality", "Maidstone", "Maidstone Town")
    admin.rename_reference(ctx, "lot", "Lot 2", "West Kent (renamed)")
    admin.rename_reference(ctx, "source", "gp", "General practice")

    assert journeys_and_tasks(ctx) == (journeys_before, tasks_before)
    assert sent(ctx, rid) == sent_before

    # the new protocol applies to follow-ups scheduled after the change
    J.log_contact(nav, a.journey_id, date(2026, 11, 5), "phone", "no_answer")
    cal = ctx.calendar()
    with ctx.read() as s:
        new_task = s.exec(select(Task).where(Task.journey_id == a.journey_id, Task.status == "open")).one()
        old_task = s.exec(select(Task).where(Task.journey_id == b.journey_id, Task.status == "open")).one()
    assert new_task.key == "contact_attempt:2" and new_task.due_date == cal.add(date(2026, 11, 5), 9)
    old_before = next(t for t in tasks_before if t["id"] == old_task.id)
    assert old_task.due_date == old_before["due_date"] == cal.add(date(2026, 11, 4), 2)
