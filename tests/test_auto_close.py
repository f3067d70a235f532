"""No-response closure happens on time without being remembered (issue 15): close_due_no_response
closes on the task's due date (a working day, never after today), audited as the protocol on behalf of
the navigator, never a journey at risk, only when the protocol says it is automatic (else by hand),
and the closure then asks for the referrer to be told."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlmodel import select

from conftest import make_user, new_referral
from navigator.services.casework import journeys as J
from navigator.services.casework import loops, queries
from navigator.services.setup import settings
from navigator.store.models import AuditEvent, Journey, Task


def _ladder_run_out(ctx, received: date):
    """A referral whose three attempts went unanswered: its no-response task is due opt_in_days later."""
    ref = new_referral(ctx, received=received, first=f"P{received:%j}")
    for d in (1, 3, 5):
        J.log_contact(ctx, ref.journey_id, received + timedelta(days=d), "phone", "no_answer")
    with ctx.read() as s:
        task = s.exec(
            select(Task).where(
                Task.journey_id == ref.journey_id, Task.kind == "no_response_close", Task.status == "open"
            )
        ).one()
    return ref.journey_id, task.due_date


def _journey(ctx, jid) -> Journey:
    with ctx.read() as s:
        return s.get(Journey, jid)


def test_closed_on_the_due_date_not_today(ctx_on, any_day):
    setup = ctx_on(any_day - timedelta(days=30))
    jid, due = _ladder_run_out(setup, any_day - timedelta(days=40))
    assert due <= any_day and setup.calendar().is_working_day(due)
    ctx = ctx_on(any_day)
    result = loops.close_due_no_response(ctx)
    assert [r.journey_id for r in result.closed] == [jid] and result.automatic
    j = _journey(ctx, jid)
    assert (j.state, j.end_reason, j.end_date) == ("closed_without_start", "no_response", due)
    assert j.end_date <= any_day
    with ctx.read() as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "journey.close")).one()
        tell = s.exec(select(Task).where(Task.journey_id == jid, Task.status == "open")).all()
    assert (ev.username, ev.acting_as) == ("admin", "protocol")
    after = json.loads(ev.after)
    assert after["by"] == "protocol" and after["end_date"] == due.isoformat()
    assert [(t.kind, t.due_date) for t in tell] == [("tell_referrer", due)]  # the referrer is told next
    assert "no-response letter" in tell[0].detail
    assert loops.close_due_no_response(ctx).closed == ()  # nothing twice


def test_not_yet_due_is_left(ctx_on):
    ctx = ctx_on(date(2026, 11, 25))
    jid, due = _ladder_run_out(ctx, date(2026, 11, 10))
    assert due > date(2026, 11, 25)
    assert loops.close_due_no_response(ctx).closed == ()
    assert _journey(ctx, jid).state == "received"


def test_never_a_journey_at_risk(ctx_on):
    ctx = ctx_on(date(2026, 11, 25))
    jid, _ = _ladder_run_out(ctx, date(2026, 10, 1))
    with ctx.write() as s:  # the risk flag's own service belongs to another change; the column is the fact
        j = s.get(Journey, jid)
        j.risk_flag = True
        s.add(j)
        from navigator.services.casework.records import load_journey, sync_tasks

        journey, client = load_journey(s, ctx, jid)
        sync_tasks(s, ctx, journey, client)
    result = loops.close_due_no_response(ctx)
    assert result.closed == () and result.at_risk == 1
    assert _journey(ctx, jid).state == "received"
    with ctx.read() as s:
        (task,) = s.exec(select(Task).where(Task.journey_id == jid, Task.status == "open")).all()
    assert task.key == "no_response_close:at_risk" and "team lead" in task.detail
    from navigator.services.casework import team

    lead_view = team.waiting_and_stuck(ctx)  # the team lead is told
    assert [r.journey_id for r in lead_view.at_risk] == [jid] and lead_view.at_risk_total == 1


def test_by_hand_when_the_protocol_says_so(ctx_on):
    ctx = ctx_on(date(2026, 11, 25))
    settings.set_protocol(ctx, auto_close_no_response=False)
    a, due_a = _ladder_run_out(ctx, date(2026, 10, 1))
    b, _ = _ladder_run_out(ctx, date(2026, 10, 2))
    auto = loops.close_due_no_response(ctx)
    assert auto.closed == () and not auto.automatic
    assert loops.due_no_response(ctx).journey_ids == (a, b)
    manual = loops.close_due_no_response(ctx, manual=True)
    assert {r.journey_id for r in manual.closed} == {a, b}
    assert _journey(ctx, a).end_date == due_a


def test_a_navigator_closes_only_their_own(ctx_on):
    admin = ctx_on(date(2026, 11, 25))
    nav = make_user(admin, "nina", "navigator", lots=("Lot 1",))
    mine = new_referral(nav, received=date(2026, 10, 1), first="Mine")
    for d in (1, 3, 5):
        J.log_contact(nav, mine.journey_id, date(2026, 10, 1) + timedelta(days=d), "phone", "no_answer")
    theirs, _ = _ladder_run_out(admin, date(2026, 10, 2))
    result = loops.close_due_no_response(nav)
    assert [r.journey_id for r in result.closed] == [mine.journey_id]
    assert _journey(admin, theirs).state == "received"
    with admin.read() as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "journey.close")).one()
    assert (ev.username, ev.acting_as) == ("nina", "protocol")


def test_a_closure_the_rules_refuse_is_left_on_today(ctx_on):
    ctx = ctx_on(date(2026, 11, 25))
    jid, due = _ladder_run_out(ctx, date(2026, 10, 1))
    with ctx.write() as s:  # a step recorded after the due date (e.g. imported): closing on the due date is refused
        j = s.get(Journey, jid)
        j.last_contact_date = due + timedelta(days=1)
        s.add(j)
    result = loops.close_due_no_response(ctx)
    assert result.closed == () and result.refused == 1
    assert _journey(ctx, jid).state == "received"
    assert any(i.journey_id == jid for i in queries.today(ctx).items)


# ---------------------------------------------------------------- PostgreSQL, each person on their own login


def test_on_postgresql_a_navigator_login_closes_and_chases_their_own(pg_url):
    """After pg-setup the database says who is who: a navigator's run closes only their journeys (the
    event stamped with their login, 'by: protocol' in it), and their chases pass row-level security."""
    import uuid

    from sqlalchemy.engine import make_url

    from navigator.services import audit
    from navigator.services.casework import chasing
    from navigator.services.context import Ctx, identity
    from navigator.services.operations.pg_setup import set_up
    from navigator.services.setup import users as U
    from navigator.services.setup.reference import reference
    from navigator.store.engine import open_store

    tag = uuid.uuid4().hex[:8]
    adm_name, nav_name, other_name = f"adm_{tag}", f"nav_{tag}", f"oth_{tag}"
    set_up(pg_url, admin=adm_name, admin_name="Ada Admin")
    stores = []

    def login(name: str, day: date) -> Ctx:
        store = open_store(make_url(pg_url).set(username=name, password=None).render_as_string(False), create=False)
        stores.append(store)
        return Ctx(store, username=identity(store), today_fn=lambda: day)

    try:
        adm = login(adm_name, date(2026, 10, 1))
        U.add_user(adm, nav_name, "Nia One", "navigator", ["Lot 1"])
        U.add_user(adm, other_name, "Noa Two", "navigator", ["Lot 1"])
        early = {n: login(n, date(2026, 10, 20)) for n in (nav_name, other_name)}
        mine = ladder = None
        for n, first in ((nav_name, "Mine"), (other_name, "Theirs")):
            ladder = new_referral(early[n], first=first, received=date(2026, 10, 1), locality="Dartford")
            for d in (1, 3, 5):
                J.log_contact(early[n], ladder.journey_id, date(2026, 10, 1) + timedelta(days=d), "phone", "no_answer")
            mine = mine or ladder.journey_id
        theirs = ladder.journey_id
        nav = login(nav_name, date(2026, 11, 25))
        result = loops.close_due_no_response(nav)
        assert [r.journey_id for r in result.closed] == [mine]
        with adm.read() as s:
            assert s.get(Journey, theirs).state == "received"
            ev = s.exec(
                select(AuditEvent).where(AuditEvent.journey_id == mine, AuditEvent.action == "journey.close")
            ).one()
            assert ev.username == nav_name and json.loads(ev.after)["by"] == "protocol"
            assert audit.verify_chain(s) == []

        # a chase under row-level security
        started = new_referral(nav, first="Chas", received=date(2026, 10, 1), locality="Dartford").journey_id
        J.log_contact(nav, started, date(2026, 10, 2), "phone", "spoke")
        J.decide(nav, started, "accepted", date(2026, 10, 5))
        J.start(nav, started, date(2026, 10, 6))
        programme = next(p for p in reference(nav).programmes if p.name == "Employment support")
        oid = J.make_onward(nav, started, programme.id, date(2026, 10, 7))
        done = chasing.record_chase(nav, oid, date(2026, 11, 24), "email", "Left a message")
        assert done.unanswered == 1 and done.next_due is not None
    finally:
        for store in stores:
            store.dispose()


# ---------------------------------------------------------------- the navigator command


def test_a_command_that_works_on_the_store_closes_due_journeys_first(tmp_path, capsys):
    """`navigator <command>` closes what is due before it works (when automatic); `protocol set` changes it."""
    from navigator.cli import main
    from navigator.services.context import os_username
    from navigator.services.setup.reference import open_ready

    path = tmp_path / "cli.sqlite3"
    assert main(["--db", str(path), "init", "--template", "kent"]) == 0
    store, ctx = open_ready(f"sqlite:///{path}", username=os_username())
    try:
        jid = new_referral(ctx, first="Cli", received=date.today() - timedelta(days=60)).journey_id
        for d in (1, 3, 5):
            J.log_contact(ctx, jid, date.today() - timedelta(days=60 - d), "phone", "no_answer")
        assert main(["--db", str(path), "protocol", "set", "--no-auto-close-no-response", "--chase-limit", "4"]) == 0
        assert main(["--db", str(path), "letters", "list"]) == 0
        assert _journey(ctx, jid).state == "received"  # by hand now: nothing closed
        assert main(["--db", str(path), "protocol", "set", "--auto-close-no-response"]) == 0
        assert _journey(ctx, jid).state == "received"  # `protocol` itself never closes
        capsys.readouterr()
        assert main(["--db", str(path), "letters", "list"]) == 0
        assert "Closed 1 journey for no response" in capsys.readouterr().err
        assert _journey(ctx, jid).end_reason == "no_response"
        from navigator.services.context import protocol

        with ctx.read() as s:
            assert protocol(s).chase_limit == 4
    finally:
        store.dispose()
