"""The demo generator and the bulk writer under it: deterministic, every state, the same rules
and follow-ups as the services, an intact audit chain."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from conftest import SWEMWBS_HIGH, SWEMWBS_MID, TODAY
from navigator.domain import lifecycle as L
from navigator.domain.errors import DomainError
from navigator.domain.identifiers import normalise_nhs_number, normalise_postcode
from navigator.services import audit
from navigator.services.casework import bulk
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.casework.journeys import ClientInput, ReferralInput
from navigator.services.demo import generator as demo
from navigator.services.setup.reference import open_ready, reference
from navigator.store.models import (
    AuditEvent,
    Client,
    Journey,
    Measurement,
    OnwardReferral,
    Task,
)

VOLATILE = {"created_at", "updated_at", "at", "hash", "prev_hash", "closed_at", "granted_at"}


def content(ctx) -> dict:
    """Every table's rows without timestamps and hashes (which carry the wall clock)."""
    out = {}
    with ctx.store.engine.connect() as conn:
        for t in sorted(inspect(conn).get_table_names()):
            if t in ("alembic_version", "setting"):
                continue
            cols = [c["name"] for c in inspect(conn).get_columns(t) if c["name"] not in VOLATILE]
            rows = conn.execute(text(f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{t}"')).all()
            out[t] = sorted((tuple(r) for r in rows), key=repr)
    return out


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    """One demo store (300 clients) shared by the read-only checks below."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    store, ctx = open_ready(f"sqlite:///{path}", username="admin", today_fn=lambda: TODAY)
    summary = demo.generate(ctx, clients=300, seed=11)
    yield ctx, summary
    store.dispose()


def test_same_seed_same_data_and_another_seed_differs(tmp_path):
    dumps = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        store, ctx = open_ready(f"sqlite:///{tmp_path / name}.sqlite3", username="admin", today_fn=lambda: TODAY)
        demo.generate(ctx, clients=120, seed=seed)
        dumps.append(content(ctx))
        store.dispose()
    assert dumps[0] == dumps[1]
    assert dumps[0] != dumps[2]


def test_a_worker_process_builds_the_same_data(tmp_path):
    dumps = []
    for name, workers in (("one", 1), ("two", 2)):
        store, ctx = open_ready(f"sqlite:///{tmp_path / name}.sqlite3", username="admin", today_fn=lambda: TODAY)
        seen = []
        demo.generate(
            ctx, clients=150, seed=8, workers=workers, progress=lambda done, total, seen=seen: seen.append(done)
        )
        assert seen and seen[-1] == 150
        dumps.append(content(ctx))
        with ctx.read() as s:
            assert audit.verify_chain(s) == []
        # the ordinary services carry on after the bulk-written ids
        J.receive_referral(
            ctx,
            ReferralInput(
                received_date=TODAY, source="gp", client=ClientInput("Zed", "Quinn", date(1970, 1, 1), "Dover")
            ),
        )
        store.dispose()
    assert dumps[0] == dumps[1]


def test_a_failing_worker_leaves_nothing(ctx, monkeypatch):
    before = content(ctx)

    def broken(plan, builder, emit, every):
        raise DomainError("the generator broke")

    monkeypatch.setattr(demo, "_produce", broken)
    with pytest.raises(DomainError, match="the generator broke"):
        demo.generate(ctx, clients=50, seed=1, workers=2)
    assert content(ctx) == before


def test_every_state_and_the_summary(demo_store):
    ctx, summary = demo_store
    states = dict(summary.by_state)
    assert set(states) == {s.value for s in L.State}
    assert all(n > 0 for n in states.values()), states
    assert summary.clients == 300
    assert summary.journeys > 300  # some people were referred more than once
    assert summary.contacts > summary.journeys
    assert summary.onward_referrals > 0 and summary.partner_updates > 0
    assert summary.tasks_due_today > 0 and summary.tasks_overdue > 0
    assert summary.my_items > 0
    assert len(summary.users_created) >= 8
    with ctx.read() as s:
        assert s.exec(select(Client).where(Client.id > 0)).first() is not None
        multi = s.exec(
            text("SELECT COUNT(*) FROM (SELECT client_id FROM journey GROUP BY client_id HAVING COUNT(*) > 1)")
        ).one()[0]
        assert multi > 0


def test_stored_state_is_the_domain_state(demo_store):
    ctx, _ = demo_store
    with ctx.read() as s:
        rows = s.exec(select(Journey, Client).join(Client, Client.id == Journey.client_id)).all()
        for j, c in rows:
            assert j.state == L.state_of(J.facts(j, c)).value, j.id
            assert j.state_since == L.state_since(J.facts(j, c)), j.id
            assert j.received_date <= TODAY
            for d in (j.first_contact_date, j.decision_date, j.start_date, j.end_date):
                assert d is None or j.received_date <= d <= TODAY
            if j.state == "completed":
                assert j.outcome_evidence
            if j.reject_reason == "under_17":
                assert L.is_under_age(J.facts(j, c))
            elif j.decision == "accepted":
                assert not L.is_under_age(J.facts(j, c))


class _Rollback(Exception):
    pass


def test_follow_ups_are_what_the_services_would_keep(demo_store):
    """sync_tasks (the services' own) finds nothing to add or close on any open journey."""
    ctx, _ = demo_store
    with ctx.read() as s:
        before = sorted(
            (t.journey_id, t.kind, t.key, t.due_date) for t in s.exec(select(Task).where(Task.status == "open")).all()
        )
        open_ids = s.exec(select(Journey.id).where(Journey.state.in_(["received", "accepted", "started"]))).all()
    assert before and open_ids
    after = None
    with pytest.raises(_Rollback), ctx.write() as s:
        for jid in open_ids:
            j = s.get(Journey, jid)
            J.sync_tasks(s, ctx, j, s.get(Client, j.client_id))
        s.flush()
        after = sorted(
            (t.journey_id, t.kind, t.key, t.due_date) for t in s.exec(select(Task).where(Task.status == "open")).all()
        )
        raise _Rollback  # look, never keep
    assert after == before


def test_audit_chain_and_attribution(demo_store):
    ctx, summary = demo_store
    with ctx.read() as s:
        assert audit.verify_chain(s) == []
        users = set(s.exec(select(AuditEvent.username)).all())
        assert users == {"admin"}
        created = s.exec(select(AuditEvent.entity_id).where(AuditEvent.action == "client.create")).all()
        assert len(created) == summary.clients
        received = s.exec(select(AuditEvent.entity_id).where(AuditEvent.action == "journey.receive")).all()
        assert len(received) == summary.journeys
        onward = s.exec(select(AuditEvent.entity_id).where(AuditEvent.action == "onward.make")).all()
        assert len(onward) == summary.onward_referrals


def test_people_look_real(demo_store):
    ctx, _ = demo_store
    with ctx.read() as s:
        clients = s.exec(select(Client)).all()
    nhs = [c.nhs_number for c in clients if c.nhs_number]
    assert len(nhs) > len(clients) * 0.7 and len(set(nhs)) == len(nhs)
    for c in clients:
        if c.nhs_number:
            assert normalise_nhs_number(c.nhs_number) == c.nhs_number
        if c.postcode:
            assert normalise_postcode(c.postcode) == c.postcode
        assert c.imd_decile is None or 1 <= c.imd_decile <= 10
    assert len({c.last_name for c in clients}) > 50


def test_shape_like_the_seeds(demo_store):
    ctx, _ = demo_store
    with ctx.read() as s:
        closed = s.exec(
            select(Journey).where(Journey.state.in_(["completed", "ended_early", "closed_without_start", "rejected"]))
        ).all()
        rejected = [j.reject_reason for j in closed if j.state == "rejected"]
        not_started = [j for j in closed if j.state in ("closed_without_start", "rejected")]
        share = len(not_started) / len(closed)
        assert 0.15 < share < 0.32, share
        no_response = sum(1 for j in not_started if j.end_reason == "no_response")
        assert no_response > len(not_started) / 2
        assert "under_17" in rejected or "in_crisis" in rejected
        waits = [
            (j.decision_date, j.start_date)
            for j in s.exec(select(Journey).where(Journey.start_date.is_not(None))).all()
        ]
        cal = ctx.calendar(s)
        mean_wait = sum(cal.count(a, b) for a, b in waits) / len(waits)
        assert 1 <= mean_wait <= 10
        starts = s.exec(select(Measurement).where(Measurement.point == "start")).all()
        ends = {m.journey_id: m for m in s.exec(select(Measurement).where(Measurement.point == "end")).all()}
        pairs = [(m.metric_x100, ends[m.journey_id].metric_x100) for m in starts if m.journey_id in ends]
        assert pairs and sum(1 for a, b in pairs if b >= a) / len(pairs) > 0.6
        recent = s.exec(select(Journey).where(Journey.received_date > TODAY - timedelta(days=92))).all()
        old = s.exec(select(Journey).where(Journey.received_date < TODAY - timedelta(days=2 * 365))).all()
        assert len(recent) > 0 and len(old) > 0
        withdrew = s.exec(select(OnwardReferral).where(OnwardReferral.status == "withdrew")).all()
        assert withdrew


def test_the_acting_user_has_work_today(demo_store):
    ctx, _ = demo_store
    view = Q.today(ctx)
    kinds = {i.kind for i in view.items}
    assert {"first_contact", "waiting_to_start", "plan_review"} <= kinds
    assert any(i.due_date == TODAY for i in view.items)
    assert any(i.due_date < TODAY for i in view.items)


def test_refuses_a_store_that_holds_people(ctx):
    demo.generate(ctx, clients=5, seed=1)
    with ctx.read() as s:
        n = s.exec(text("SELECT COUNT(*) FROM client")).one()[0]
    with pytest.raises(DomainError, match="already holds"):
        demo.generate(ctx, clients=5, seed=2)
    with ctx.read() as s:
        assert s.exec(text("SELECT COUNT(*) FROM client")).one()[0] == n


@pytest.mark.both_backends
def test_small_demo_on_each_backend(ctx):
    summary = demo.generate(ctx, clients=40, seed=3)
    assert summary.clients == 40
    with ctx.read() as s:
        assert audit.verify_chain(s) == []
    # the ordinary services still work on top of bulk-written rows (ids and sequences in step)
    ref = J.receive_referral(
        ctx,
        ReferralInput(received_date=TODAY, source="gp", client=ClientInput("Zed", "Quinn", date(1970, 1, 1), "Dover")),
    )
    with ctx.read() as s:
        assert s.get(Journey, ref.journey_id).state == "received"
        assert audit.verify_chain(s) == []


# ---------------------------------------------------------------- the bulk writer against the services


def _tasks_and_rows(ctx, jid: int) -> tuple:
    with ctx.read() as s:
        j = s.get(Journey, jid)
        tasks = sorted(  # the desk's "tell the referrer" of a closure is not the bulk writer's (history): issue 15
            (t.kind, t.key, t.due_date)
            for t in s.exec(select(Task).where(Task.journey_id == jid, Task.status == "open")).all()
            if t.kind != "tell_referrer"
        )
        ms = sorted(
            (m.point, m.on_date, m.raw, m.metric_x100)
            for m in s.exec(select(Measurement).where(Measurement.journey_id == jid)).all()
        )
        ons = sorted(
            (
                o.status,
                o.referral_date,
                o.start_date,
                o.end_date,
                o.last_update_date,
                o.first_update_date,
                o.feedback_pending_since,
            )
            for o in s.exec(select(OnwardReferral).where(OnwardReferral.journey_id == jid)).all()
        )
        fields = {f: getattr(j, f) for f in J.JOURNEY_FIELDS if f != "navigator_id"}
        return fields, j.state_since, tasks, ms, ons


@pytest.mark.parametrize("story", ["started_with_withdrawal", "chasing", "completed", "rejected"])
def test_bulk_replay_matches_the_services(tmp_path, story):
    d = date(2026, 9, 1)  # a Tuesday
    store_a, a = open_ready(f"sqlite:///{tmp_path / 'a.sqlite3'}", username="admin", today_fn=lambda: TODAY)
    store_b, b = open_ready(f"sqlite:///{tmp_path / 'b.sqlite3'}", username="admin", today_fn=lambda: TODAY)
    prog = next(p.id for p in reference(a).programmes if p.name == "Employment support")
    client = ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", consent_to_share=True)
    ref = J.receive_referral(a, ReferralInput(received_date=d, source="gp", client=client))
    jid = ref.journey_id
    steps: list = []
    if story == "chasing":
        J.log_contact(a, jid, d + timedelta(days=1), "phone", "no_answer")
        J.log_contact(a, jid, d + timedelta(days=3), "phone", "voicemail")
        steps = [
            bulk.Contact(d + timedelta(days=1), "phone", "no_answer"),
            bulk.Contact(d + timedelta(days=3), "phone", "voicemail"),
        ]
    elif story == "rejected":
        J.log_contact(a, jid, d, "phone", "spoke")
        J.decide(a, jid, "rejected", d + timedelta(days=1), "out_of_area")
        steps = [bulk.Contact(d, "phone", "spoke"), bulk.Decide(d + timedelta(days=1), "rejected", "out_of_area")]
    else:
        J.log_contact(a, jid, d, "phone", "spoke")
        J.decide(a, jid, "accepted", d + timedelta(days=1))
        J.start(a, jid, d + timedelta(days=6), SWEMWBS_MID)
        oid = J.make_onward(a, jid, prog, d + timedelta(days=7))
        J.partner_update(a, oid, "started", d + timedelta(days=14))
        J.record_review(a, jid, d + timedelta(days=30), "fine", SWEMWBS_HIGH)
        steps = [
            bulk.Contact(d, "phone", "spoke"),
            bulk.Decide(d + timedelta(days=1), "accepted"),
            bulk.Start(d + timedelta(days=6), tuple(SWEMWBS_MID)),
            bulk.Onward(prog, d + timedelta(days=7)),
            bulk.PartnerReport(0, "started", d + timedelta(days=14)),
            bulk.Review(d + timedelta(days=30), "fine", tuple(SWEMWBS_HIGH)),
        ]
        if story == "started_with_withdrawal":
            J.partner_update(a, oid, "withdrew", d + timedelta(days=40))
            steps.append(bulk.PartnerReport(0, "withdrew", d + timedelta(days=40)))
        else:
            J.partner_update(a, oid, "completed", d + timedelta(days=40))
            J.close(a, jid, d + timedelta(days=60), "completed", "Goals met", SWEMWBS_HIGH)
            steps += [
                bulk.PartnerReport(0, "completed", d + timedelta(days=40)),
                bulk.Close(d + timedelta(days=60), "completed", "Goals met", tuple(SWEMWBS_HIGH)),
            ]
    with b.write() as s:
        ids = {r.code: r.id for r in reference(b).sources}
        loc = next(x.id for x in reference(b).localities if x.name == "Maidstone")
        w = bulk.BulkWriter(s, b)
        spec = bulk.JourneySpec(
            client=bulk.ClientSpec("NAV000001", "Ann", "Smith", date(1980, 1, 1), loc, consent_to_share=True),
            navigator_id=b.actor(s).id,
            source_id=ids["gp"],
            received_date=d,
            steps=steps,
        )
        w.add_journey(spec)
        w.flush()
    assert _tasks_and_rows(a, jid) == _tasks_and_rows(b, spec.id)
    # the timeline (built from the audit log) tells the same story
    ta = [(e.on, e.kind, e.text) for e in Q.journey_detail(a, jid).timeline]
    tb = [(e.on, e.kind, e.text) for e in Q.journey_detail(b, spec.id).timeline]
    assert ta == tb
    with b.read() as s:
        assert audit.verify_chain(s) == []
    store_a.dispose()
    store_b.dispose()


def test_a_refused_step_writes_nothing(ctx):
    before = content(ctx)
    loc = next(x.id for x in reference(ctx).localities if x.name == "Dover")
    src = next(x.id for x in reference(ctx).sources if x.code == "self")
    with pytest.raises(bulk.StepError) as info, ctx.write() as s:
        w = bulk.BulkWriter(s, ctx)
        good = bulk.ClientSpec("R1", "Al", "Bee", date(1980, 1, 1), loc)
        w.add_journey(bulk.JourneySpec(good, ctx.actor(s).id, src, date(2026, 10, 1)))
        w.flush()
        bad = bulk.ClientSpec("R2", "Cy", "Dee", date(1980, 1, 1), loc)
        w.add_journey(
            bulk.JourneySpec(bad, ctx.actor(s).id, src, date(2026, 10, 1), steps=[bulk.Start(date(2026, 10, 2))])
        )  # not accepted: the rules refuse
    assert info.value.index == 0 and info.value.field == "state"
    assert content(ctx) == before


def test_demo_cli(tmp_path, capsys):
    from navigator.cli import main

    db = tmp_path / "cli.sqlite3"
    assert main(["--db", str(db), "demo", "--clients", "60", "--seed", "2", "--no-open"]) == 0
    out = capsys.readouterr().out
    assert "People (clients)" in out and "Journeys" in out and "Your Today list" in out
    assert main(["--db", str(db), "demo", "--clients", "60", "--no-open"]) not in (0, 1)  # refused
    assert "already holds 60 people" in " ".join(capsys.readouterr().err.split())
    assert main(["--db", str(db), "demo", "--fresh", "--no-open"]) not in (0, 1)  # a usage error
    assert "only rebuilds the demo store" in " ".join(capsys.readouterr().err.split())


def test_demo_cli_uses_its_own_file(tmp_path, capsys, monkeypatch):
    from navigator.cli import main

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NAVIGATOR_DB", raising=False)
    monkeypatch.delenv("NAVIGATOR_DATABASE_URL", raising=False)
    assert main(["demo", "--clients", "20", "--no-open"]) == 0
    path = tmp_path / "xdg" / "navigator" / "demo.sqlite3"
    assert path.exists()
    assert "separate from your real store" in " ".join(capsys.readouterr().out.split())
    assert not (tmp_path / "xdg" / "navigator" / "navigator.sqlite3").exists()
    assert main(["demo", "--clients", "25", "--fresh", "--no-open"]) == 0
    assert "25" in capsys.readouterr().out


def test_demo_cli_on_any_day(tmp_path, capsys, monkeypatch, any_day):
    """`navigator demo` (the README's first command) on every day of the clock fixture."""
    from navigator.cli import main
    from navigator.services.context import Ctx

    monkeypatch.setattr(Ctx, "today", lambda self: any_day)  # the clock the command's context reads
    db = tmp_path / "any.sqlite3"
    assert main(["--db", str(db), "demo", "--clients", "150", "--no-open"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "People (clients) │ 150" in out and "Your Today list" in out
    store, ctx = open_ready(f"sqlite:///{db}", username="admin", today_fn=lambda: any_day)
    try:
        with ctx.read() as s:
            latest = s.exec(text("SELECT max(received_date), max(end_date) FROM journey")).one()
        assert all(v is None or date.fromisoformat(str(v)[:10]) <= any_day for v in latest)
    finally:
        store.dispose()
