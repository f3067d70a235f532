"""Property tests: no sequence of service calls reaches an impossible journey state, refused
actions change nothing, and every successful write leaves an audit event in an intact chain."""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select

from conftest import TODAY, make_user
from navigator.domain import lifecycle as L
from navigator.domain.errors import DomainError
from navigator.domain.followups import Attempt, FollowUpFacts, OnwardInfo, desired_tasks
from navigator.services import audit
from navigator.services.casework import journeys as J
from navigator.services.casework.journeys import ClientInput, ReferralInput
from navigator.services.context import Ctx, protocol
from navigator.services.setup.reference import open_ready, reference
from navigator.store.engine import open_store
from navigator.store.models import (
    AuditEvent,
    Client,
    ContactAttempt,
    Journey,
    Measurement,
    OnwardReferral,
    Programme,
    Task,
)

BASE = date(2026, 8, 3)  # day 0; TODAY (2026-11-25) is day 114, so later days are in the future
DOBS = (date(1980, 1, 1), date(2009, 11, 10), date(2009, 10, 15), date(1950, 6, 30))
# The end reasons that fit each state, from the domain spec (not from the code under test).
WITHOUT_START = {"no_response", "declined", "insufficient_information", "not_aware_of_referral", "moved_away", "other"}
AFTER_START = {"completed", "no_response", "withdrew", "moved_away", "escalated_secondary_care", "other"}
# Deterministic and quick by default; NAVIGATOR_HYPOTHESIS_EXAMPLES=500 hunts with fresh random examples.
_HUNT = int(os.environ.get("NAVIGATOR_HYPOTHESIS_EXAMPLES", "0"))
SETTINGS = settings(
    max_examples=_HUNT or 30,
    deadline=None,
    derandomize=not _HUNT,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---------------------------------------------------------------- a fresh store per example, cheaply


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("prop-template") / "template.sqlite3"
    store, ctx = open_ready(f"sqlite:///{path}", username="admin", today_fn=lambda: TODAY)
    make_user(ctx, "nina", "navigator", ("Lot 2",))
    make_user(ctx, "omar", "navigator", ("Lot 2",))
    programmes = [p.id for p in reference(ctx).programmes][:3]
    store.dispose()  # the last connection closing checkpoints the WAL into the file
    return path, programmes


_counter = itertools.count()


def copy_store(path, dest) -> None:
    """A copy of a closed SQLite store with the files kept beside it (its audit key, checkpoint...)."""
    for side in path.parent.iterdir():
        if side.name.startswith(path.name) and side.is_file():
            shutil.copyfile(side, dest.with_name(dest.name + side.name[len(path.name) :]))


def fresh(template, tmp_path_factory) -> dict[str, Ctx]:
    path, _ = template
    dest = tmp_path_factory.mktemp("prop") / f"s{next(_counter)}.sqlite3"
    copy_store(path, dest)
    store = open_store(f"sqlite:///{dest}")
    return {u: Ctx(store, username=u, today_fn=lambda: TODAY) for u in ("admin", "nina", "omar")}


# ---------------------------------------------------------------- the operations

# Dates are drawn as a step from the journey's latest date, so sequences get far along the
# journey; a step may go back (out of order) or past today (in the future): both must be refused.
received_day = st.integers(0, 120).map(lambda n: BASE + timedelta(days=n))
step = st.one_of(st.integers(0, 6), st.integers(0, 6), st.integers(-4, 20))
idx = st.integers(0, 5)
actor = st.sampled_from(["admin"] * 6 + ["nina", "omar"])
decision = st.one_of(
    st.just(("accepted", None)),
    st.tuples(st.just("rejected"), st.sampled_from(list(L.RejectReason))),
    st.tuples(st.sampled_from(["accepted", "rejected"]), st.sampled_from([None, *L.RejectReason])),
)
advance = st.tuples(st.just("advance"), st.just("admin"), idx, step, st.integers(0, 5))

receive = st.tuples(
    st.just("receive"),
    st.just("admin"),
    st.integers(0, 90).map(lambda n: BASE + timedelta(days=n)),
    st.sampled_from(DOBS),
    st.booleans(),
    st.sampled_from(["nina", "omar"]),
)
other_ops = st.one_of(
    st.tuples(
        st.just("contact"),
        actor,
        idx,
        step,
        st.sampled_from(list(L.ContactMethod)),
        st.sampled_from([*L.ContactOutcome, L.ContactOutcome.SPOKE]),
    ),
    st.tuples(st.just("decide"), actor, idx, step, decision),
    st.tuples(st.just("start"), actor, idx, step, st.booleans()),
    st.tuples(st.just("goal"), actor, idx, st.sampled_from(["I want to get out more", "Get a job"])),
    st.tuples(st.just("review"), actor, idx, step),
    st.tuples(st.just("onward"), actor, idx, step, st.integers(0, 2)),
    st.tuples(st.just("partner"), actor, idx, st.sampled_from(list(L.PartnerUpdate)), step),
    st.tuples(st.just("feedback"), actor, idx),
    st.tuples(st.just("reassign"), actor, idx, st.sampled_from(["nina", "omar"])),
    st.tuples(st.just("consent"), actor, idx, st.booleans()),
)
new_referrals = st.one_of(
    st.tuples(
        st.just("receive"), actor, received_day, st.sampled_from(DOBS), st.booleans(), st.sampled_from(["nina", "omar"])
    ),
    st.tuples(st.just("again"), actor, idx, received_day),
)
# About half the calls move a journey along its natural path, a few bring new referrals, the rest
# are any action at all (most of them refused, which is the point).
close_any = st.tuples(
    st.just("close"), actor, idx, step, st.sampled_from(list(L.EndReason)), st.sampled_from([None, "Goals achieved"])
)
ops = st.integers(0, 99).flatmap(
    lambda n: advance if n < 45 else new_referrals if n < 51 else close_any if n < 61 else other_ops
)


def pick(ids: list[int], i: int) -> int:
    return ids[i % len(ids)] if ids else 99999


def latest(ctx, model, row_id: int) -> date:
    """The latest date recorded on a journey or an onward referral (day 0 if there is none)."""
    with ctx.read() as s:
        row = s.get(model, row_id)
        if row is None:
            return BASE
        names = (
            "received_date",
            "decision_date",
            "start_date",
            "end_date",
            "last_contact_date",
            "last_review_date",
            "referral_date",
            "last_update_date",
        )
        return max(d for d in (getattr(row, n, None) for n in names) if d)


def admin_client(ctx, client_id: int) -> Client:
    with ctx.read() as s:
        return s.get(Client, client_id)


def run(op, ctxs, state, programmes):
    kind, who, *args = op
    c, admin = ctxs[who], ctxs["admin"]
    js, ons, clients = state["journeys"], state["onward"], state["clients"]

    def when(model, row_id, delta):
        return latest(admin, model, row_id) + timedelta(days=delta)

    if kind == "advance":
        # the journey's natural next step (so sequences get far), dated a step after its latest date
        i, delta, choice = args
        jid = pick(js, i)
        with admin.read() as s:
            j = s.get(Journey, jid)
            onward = s.exec(
                select(OnwardReferral).where(
                    OnwardReferral.journey_id == jid, OnwardReferral.status.in_(("made", "started"))
                )
            ).first()
        if j is None:
            raise DomainError("no journey yet")
        on = when(Journey, jid, delta)
        if j.state == "received" and j.first_contact_date is None:
            J.log_contact(c, jid, on, "phone", "spoke" if choice else "no_answer")
        elif j.state == "received":
            young = L.is_under_age(J.facts(j, admin_client(admin, j.client_id)))
            J.decide(c, jid, "rejected" if young else "accepted", on, "under_17" if young else None)
        elif j.state == "accepted":
            J.start(c, jid, on, [3, 3, 4, 4, 3, 3, 4] if choice % 2 else None)
        elif j.state == "started" and choice == 5:
            J.close(c, jid, on, "completed", evidence="Goals achieved", swemwbs_end=[4] * 7)
        elif j.state == "started" and not admin_client(admin, j.client_id).consent_to_share:
            J.record_review(c, jid, on, swemwbs_items=[3] * 7 if choice % 2 else None)
        elif j.state == "started" and (onward is None or choice == 0):
            ons.append(J.make_onward(c, jid, programmes[choice % 3], on))
        elif j.state == "started":
            nxt = {
                "made": ["started", "did_not_start", "declined"],
                "started": ["attendance", "completed", "withdrew"],
            }[onward.status]
            J.partner_update(c, onward.id, nxt[choice % 3], when(OnwardReferral, onward.id, delta))
        else:
            js.append(
                J.receive_referral(c, ReferralInput(on + timedelta(days=1), "self", client_id=j.client_id)).journey_id
            )
    elif kind == "receive":
        received, dob, consent, nav = args
        n = next(_counter)
        ref = J.receive_referral(
            c,
            ReferralInput(
                received,
                "gp",
                navigator=nav,
                client=ClientInput(f"Person{n}", f"Family{n}", dob, "Maidstone", consent_to_share=consent),
            ),
        )
        js.append(ref.journey_id)
        clients.append(ref.client_id)
    elif kind == "again":
        i, received = args
        ref = J.receive_referral(c, ReferralInput(received, "self", client_id=pick(clients, i)))
        js.append(ref.journey_id)
    elif kind == "contact":
        i, delta, method, outcome = args
        jid = pick(js, i)
        J.log_contact(c, jid, when(Journey, jid, delta), method.value, outcome.value)
    elif kind == "decide":
        i, delta, (what, reason) = args
        jid = pick(js, i)
        J.decide(c, jid, what, when(Journey, jid, delta), reason.value if reason else None)
    elif kind == "start":
        i, delta, measure = args
        jid = pick(js, i)
        J.start(c, jid, when(Journey, jid, delta), [3, 4, 3, 4, 3, 4, 3] if measure else None)
    elif kind == "goal":
        i, statement = args
        J.add_goal(c, pick(js, i), "connect", statement)
    elif kind == "review":
        i, delta = args
        jid = pick(js, i)
        J.record_review(c, jid, when(Journey, jid, delta))
    elif kind == "onward":
        i, delta, p = args
        jid = pick(js, i)
        ons.append(J.make_onward(c, jid, programmes[p], when(Journey, jid, delta)))
    elif kind == "partner":
        i, update, delta = args
        oid = pick(ons, i)
        J.partner_update(c, oid, update.value, when(OnwardReferral, oid, delta))
    elif kind == "feedback":
        (i,) = args
        J.follow_up_feedback(c, pick(ons, i))
    elif kind == "close":
        i, delta, reason, evidence = args
        jid = pick(js, i)
        J.close(c, jid, when(Journey, jid, delta), reason.value, evidence=evidence)
    elif kind == "reassign":
        i, to = args
        J.reassign(c, [pick(js, i)], to)
    elif kind == "consent":
        i, consent = args
        with admin.read() as s:
            cl = s.get(Client, pick(clients, i)) if clients else None
        if cl is None:
            raise DomainError("no client yet")  # nothing to edit: counts as refused
        J.update_client(
            c,
            cl.id,
            ClientInput(cl.first_name, cl.last_name, cl.date_of_birth, cl.locality_id, consent_to_share=consent),
        )


# ---------------------------------------------------------------- what must always hold


def dump(ctx) -> dict:
    """Every row of every table (a plain read-only sqlite3 connection: quick)."""
    con = sqlite3.connect(f"file:{ctx.store.path}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}
    finally:
        con.close()


def audit_count(ctx) -> int:
    with ctx.read() as s:
        return s.exec(select(func.count()).select_from(AuditEvent)).one()


def check_invariants(ctx) -> None:
    with ctx.read() as s:
        proto = protocol(s)
        cal = ctx.calendar(s)
        clients = {c.id: c for c in s.exec(select(Client)).all()}
        days = {p.id: p.expected_response_days for p in s.exec(select(Programme)).all()}
        by_journey: dict[str, dict[int, list]] = {}
        for name, model in (("attempts", ContactAttempt), ("onward", OnwardReferral), ("measures", Measurement)):
            by_journey[name] = {}
            for row in s.exec(select(model)).all():
                by_journey[name].setdefault(row.journey_id, []).append(row)
        by_journey["tasks"] = {}
        for t in s.exec(select(Task).where(Task.status == "open")).all():
            by_journey["tasks"].setdefault(t.journey_id, []).append(t)
        for j in s.exec(select(Journey)).all():
            c = clients[j.client_id]
            f = J.facts(j, c)
            state = L.state_of(f)
            where = f"journey {j.id} ({j.state})"
            # the stored state is the rules' state
            assert j.state == state.value, where
            # dates in order, none in the future
            chain = [d for d in (j.received_date, j.decision_date, j.start_date, j.end_date) if d]
            assert chain == sorted(chain), where
            assert all(d <= TODAY for d in chain), where
            if j.start_date:
                assert j.decision == "accepted", where
            # contact dates match the contact rows and sit inside the journey
            attempts = by_journey["attempts"].get(j.id, [])
            spoke = [a.on_date for a in attempts if a.outcome == "spoke"]
            assert j.first_contact_date == (min(spoke) if spoke else None), where
            assert j.last_contact_date == (max(a.on_date for a in attempts) if attempts else None), where
            for a in attempts:
                assert j.received_date <= a.on_date <= TODAY, where
                if j.end_date:
                    assert a.on_date <= j.end_date, where
            # reviews and measures sit inside the journey too
            measures = [m.on_date for m in by_journey["measures"].get(j.id, [])]
            for d in [*measures, *([j.last_review_date] if j.last_review_date else [])]:
                assert (j.start_date or j.received_date) <= d <= (j.end_date or TODAY), where
            # decisions and end reasons fit the state
            if state == L.State.REJECTED:
                assert j.reject_reason and j.decision_date and not j.start_date and not j.end_date, where
                if j.reject_reason == "under_17":
                    assert L.is_under_age(f), where
            else:
                assert j.reject_reason is None, where
            if j.decision == "accepted":
                assert not L.is_under_age(f), where
            if j.end_date:
                reason = j.end_reason
                allowed = AFTER_START if j.start_date else WITHOUT_START
                assert reason in allowed, where
                if reason == "completed":
                    assert j.outcome_evidence and j.outcome_evidence.strip(), where
            else:
                assert j.end_reason is None, where
            # onward referrals: after start, and not after the end
            onward = by_journey["onward"].get(j.id, [])
            for o in onward:
                assert j.start_date and o.referral_date >= j.start_date, where
                if j.end_date:
                    assert o.referral_date <= j.end_date, where
                dates = [d for d in (o.referral_date, o.start_date, o.end_date) if d]
                assert dates == sorted(dates), where
            # follow-ups: once closed, at most telling the referrer; while open, exactly what the protocol
            # wants (by key)
            open_tasks = by_journey["tasks"].get(j.id, [])
            keys = [t.key for t in open_tasks]
            assert len(keys) == len(set(keys)), where
            if not state.is_open:
                assert set(keys) <= {"tell_referrer"}, where
                if keys and j.referrer_told_date is not None:
                    raise AssertionError(f"{where}: the referrer was told, yet a task to tell them is open")
            else:
                ff = FollowUpFacts(
                    f,
                    tuple(Attempt(a.on_date, a.outcome == "spoke") for a in attempts),
                    j.last_review_date,
                    tuple(
                        OnwardInfo(
                            o.id,
                            o.status in ("made", "started"),
                            o.last_update_date or o.referral_date,
                            days[o.programme_id],
                            o.feedback_pending_since,
                        )
                        for o in onward
                    ),
                )
                assert set(keys) == {t.key for t in desired_tasks(ff, proto, cal)}, where
        assert audit.verify_chain(s) == []


# ---------------------------------------------------------------- the properties


@SETTINGS
@given(
    sequence=st.builds(
        lambda a, b: a + b, st.lists(receive, min_size=1, max_size=2), st.lists(ops, min_size=10, max_size=30)
    )
)
def test_no_sequence_of_calls_reaches_an_impossible_state(template, tmp_path_factory, sequence):
    ctxs = fresh(template, tmp_path_factory)
    admin = ctxs["admin"]
    state = {"journeys": [], "onward": [], "clients": []}
    try:
        for op in sequence:
            before = dump(admin)
            events = audit_count(admin)
            try:
                run(op, ctxs, state, template[1])
            except DomainError:
                # refused: the store is exactly as it was (no half-writes, no audit event)
                assert dump(admin) == before, op
            else:
                # every write that changed anything left at least one audit event
                if dump(admin) != before:
                    assert audit_count(admin) > events, op
                check_invariants(admin)
    finally:
        admin.store.dispose()


@settings(SETTINGS, max_examples=_HUNT or 20)
@given(
    sequence=st.builds(
        lambda a, b: a + b, st.lists(receive, min_size=1, max_size=2), st.lists(ops, min_size=10, max_size=40)
    )
)
def test_every_write_is_audited_and_the_chain_holds(template, tmp_path_factory, sequence):
    ctxs = fresh(template, tmp_path_factory)
    admin = ctxs["admin"]
    state = {"journeys": [], "onward": [], "clients": []}
    try:
        start = audit_count(admin)
        for op in sequence:
            before, events = dump(admin), audit_count(admin)
            try:
                run(op, ctxs, state, template[1])
            except DomainError:
                continue
            if dump(admin) != before:
                assert audit_count(admin) > events, op
        with admin.read() as s:
            assert audit.verify_chain(s) == []
            # every event says who did what to which record, with times that are ordered
            new = s.exec(select(AuditEvent).where(AuditEvent.id > start).order_by(AuditEvent.id)).all()
            assert [e.at for e in new] == sorted(e.at for e in new)
            for e in new:
                assert e.username in ("admin", "nina", "omar") and e.action and e.entity
                assert e.before is not None or e.after is not None, e.action
                if e.journey_id is not None:
                    assert s.get(Journey, e.journey_id) is not None
    finally:
        admin.store.dispose()
