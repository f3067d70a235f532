"""Retention: people whose every journey closed before the period are listed, then anonymised in place.

Names, contact details and free text go; dates, states and measures stay, so past returns still add up.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from conftest import make_user, new_referral
from navigator.cli import main
from navigator.domain.dates import age_on
from navigator.domain.errors import AccessDenied
from navigator.services import audit
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.context import put_setting
from navigator.services.operations import retention
from navigator.store.models import (
    AccessGrant,
    AuditEvent,
    Client,
    ContactAttempt,
    GoalNote,
    Journey,
    Measurement,
    OnwardReferral,
    PartnerUpdateRow,
    PlanGoal,
    PlanReview,
)

pytestmark = pytest.mark.both_backends


def _completed(ctx, first, received, *, dob=date(1970, 9, 15), end=None, nhs=None):
    """A journey that ran its course: contact, start, goal with a note, review, measures, onward referral."""
    ref = new_referral(ctx, first=first, last="Old", dob=dob, received=received, nhs=nhs)
    jid = ref.journey_id
    d = received
    J.log_contact(ctx, jid, d + timedelta(days=1), "phone", "spoke", f"talked to {first} about money")
    J.decide(ctx, jid, "accepted", d + timedelta(days=2))
    J.start(ctx, jid, d + timedelta(days=3), [3] * 7)
    goal = J.add_goal(ctx, jid, "economic", f"I, {first}, will sort my debts")
    J.update_goal(ctx, goal, status="in_progress", note="called the council", on=d + timedelta(days=10))
    J.record_review(ctx, jid, d + timedelta(days=20), "review with family present")
    onward = J.make_onward(ctx, jid, 2, d + timedelta(days=21), "lives at 1 High St")
    J.partner_update(ctx, onward, "started", d + timedelta(days=25), "seen at home")
    J.close(ctx, jid, end or d + timedelta(days=60), "completed", "paid off the catalogue debt", [4] * 7)
    return ref


def _rejected(ctx, first, received, **kw):
    ref = new_referral(ctx, first=first, last="Old", received=received, **kw)
    J.decide(ctx, ref.journey_id, "rejected", received + timedelta(days=3), "out_of_area")
    return ref


@pytest.fixture
def people(ctx):
    """A: completed 2018 (past); D: rejected 2016 and completed 2017 (past); B: rejected 2017 then an open
    journey now; C: completed 2020 (recent); E: received 2017 and still open."""
    a = _completed(ctx, "Alice", date(2018, 3, 1), nhs="9434765919")
    d1 = _rejected(ctx, "Dora", date(2016, 2, 1))
    J.receive_referral(ctx, J.ReferralInput(date(2017, 5, 2), "gp", client_id=d1.client_id))
    with ctx.read() as s:
        d2 = s.exec(
            select(Journey.id).where(Journey.client_id == d1.client_id, Journey.received_date == date(2017, 5, 2))
        ).one()
    J.decide(ctx, d2, "rejected", date(2017, 5, 5), "out_of_area")
    b = _rejected(ctx, "Bob", date(2017, 1, 10))
    J.receive_referral(ctx, J.ReferralInput(date(2026, 11, 2), "gp", client_id=b.client_id))
    c = _completed(ctx, "Carol", date(2020, 1, 6))
    e = new_referral(ctx, first="Evan", last="Old", received=date(2017, 6, 1))
    return {"A": a, "D": d1, "B": b, "C": c, "E": e}


def _client(ctx, cid) -> Client:
    with ctx.read() as s:
        return s.get(Client, cid)


def _dump_client(ctx, cid):
    """Every row belonging to a person, for "left alone" comparisons."""
    with ctx.read() as s:
        jids = s.exec(select(Journey.id).where(Journey.client_id == cid)).all()
        rows = [s.get(Client, cid).model_dump()]
        for model, col in (
            (Journey, Journey.id),
            (ContactAttempt, ContactAttempt.journey_id),
            (PlanGoal, PlanGoal.journey_id),
            (PlanReview, PlanReview.journey_id),
            (Measurement, Measurement.journey_id),
            (OnwardReferral, OnwardReferral.journey_id),
        ):
            rows += [r.model_dump() for r in s.exec(select(model).where(col.in_(jids)).order_by(model.id)).all()]
        return rows


# ---------------------------------------------------------------- review


def test_list_shows_only_people_whose_every_journey_closed_before_the_period(ctx, people):
    report = retention.review(ctx)
    assert report.years == 8 and report.cutoff == date(2018, 11, 25)
    assert {c.client_ref for c in report.candidates} == {people["A"].client_ref, people["D"].client_ref}
    dora = next(c for c in report.candidates if c.client_ref == people["D"].client_ref)
    assert dora.journeys == 2 and dora.last_closed == date(2017, 5, 5) and dora.states == ("rejected", "rejected")
    with ctx.read() as s:
        ev = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert ev.action == "retention.list"


def test_the_period_is_a_setting(ctx, people):
    with ctx.write() as s:
        put_setting(s, "retention_years", 3, ctx.now())
    refs = {c.client_ref for c in retention.review(ctx).candidates}
    assert people["C"].client_ref in refs  # completed 2020: past a 3-year period
    with ctx.write() as s:
        put_setting(s, "retention_years", 20, ctx.now())
    assert retention.review(ctx).candidates == ()


@pytest.mark.parametrize("role", ["navigator", "team_lead"])
def test_retention_is_for_admins(ctx, people, role):
    other = make_user(ctx, "someone", role, ("Lot 2",))
    with pytest.raises(AccessDenied):
        retention.review(other)
    with pytest.raises(AccessDenied):
        retention.apply(other)
    assert not _client(ctx, people["A"].client_id).anonymised


def test_dry_run_changes_nothing(ctx, people):
    before = {k: _dump_client(ctx, r.client_id) for k, r in people.items()}
    report = retention.apply(ctx, dry_run=True)
    assert report.dry_run and len(report.candidates) == 2 and report.anonymised == 0
    assert {k: _dump_client(ctx, r.client_id) for k, r in people.items()} == before


# ---------------------------------------------------------------- apply


def test_apply_anonymises_in_place_and_leaves_everyone_else_alone(ctx, people):
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    Q.open_with_reason(nav, people["A"].client_id, "Alice's sister phoned about her")
    untouched = {k: _dump_client(ctx, people[k].client_id) for k in ("B", "C", "E")}
    with ctx.read() as s:
        kept_before = [
            (
                j.received_date,
                j.state,
                j.decision,
                j.decision_date,
                j.start_date,
                j.end_date,
                j.end_reason,
                j.locality_id,
                j.source_id,
            )
            for j in s.exec(select(Journey).order_by(Journey.id)).all()
        ]
        measures_before = [
            (m.journey_id, m.point, m.on_date, m.raw, m.metric_x100)
            for m in s.exec(select(Measurement).order_by(Measurement.id)).all()
        ]

    report = retention.apply(ctx)
    assert report.anonymised == 2 and not report.dry_run

    alice = _client(ctx, people["A"].client_id)
    assert (alice.first_name, alice.last_name, alice.anonymised) == ("Anonymised", "Anonymised", True)
    assert (alice.postcode, alice.nhs_number, alice.phone, alice.email, alice.address) == (None,) * 5
    assert alice.client_ref == people["A"].client_ref and alice.locality_id is not None
    assert alice.date_of_birth.year == 1970 and alice.date_of_birth <= date(1970, 9, 15)
    with ctx.read() as s:
        jids = s.exec(
            select(Journey.id).where(Journey.client_id.in_([people["A"].client_id, people["D"].client_id]))
        ).all()
        for j in s.exec(select(Journey).where(Journey.id.in_(jids))).all():
            assert (j.referrer, j.reason, j.outcome_evidence) == (None, None, None)
            assert age_on(
                alice.date_of_birth if j.client_id == alice.id else s.get(Client, j.client_id).date_of_birth,
                j.received_date,
            ) == age_on(date(1970, 9, 15) if j.client_id == alice.id else date(1980, 1, 1), j.received_date)
        assert all(c.note is None for c in s.exec(select(ContactAttempt).where(ContactAttempt.journey_id.in_(jids))))
        assert all(g.statement == "" for g in s.exec(select(PlanGoal).where(PlanGoal.journey_id.in_(jids))))
        assert all(
            n.note == "" for n in s.exec(select(GoalNote)).all() if s.get(PlanGoal, n.goal_id).journey_id in jids
        )
        assert all(r.note is None for r in s.exec(select(PlanReview).where(PlanReview.journey_id.in_(jids))))
        assert all(o.note is None for o in s.exec(select(OnwardReferral).where(OnwardReferral.journey_id.in_(jids))))
        assert all(
            u.note is None
            for u in s.exec(select(PartnerUpdateRow)).all()
            if s.get(OnwardReferral, u.onward_id).journey_id in jids
        )
        assert s.exec(select(AccessGrant.reason).where(AccessGrant.client_id == alice.id)).one() == "Anonymised"
        # What past returns need is exactly as it was.
        assert [
            (
                j.received_date,
                j.state,
                j.decision,
                j.decision_date,
                j.start_date,
                j.end_date,
                j.end_reason,
                j.locality_id,
                j.source_id,
            )
            for j in s.exec(select(Journey).order_by(Journey.id)).all()
        ] == kept_before
        assert [
            (m.journey_id, m.point, m.on_date, m.raw, m.metric_x100)
            for m in s.exec(select(Measurement).order_by(Measurement.id)).all()
        ] == measures_before
        # Audited, no personal data in the events, and the chain still verifies.
        events = s.exec(select(AuditEvent).where(AuditEvent.action.like("retention.%")).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["retention.anonymise", "retention.anonymise", "retention.apply"]
        assert {e.client_id for e in events[:2]} == {people["A"].client_id, people["D"].client_id}
        assert not any("Alice" in (e.after or "") or "Dora" in (e.after or "") for e in events)
        # Their text is gone from the whole audit log too (services/audit.py: redaction), not only the
        # retention events; everyone else's is kept.
        everything = " ".join(f"{e.before} {e.after}" for e in s.exec(select(AuditEvent)).all())
        for gone in ("Alice", "Dora", "9434765919", "talked to Alice", "sister phoned"):
            assert gone not in everything
        assert "talked to Carol" in everything and "Bob" in everything
        assert report.audit_redacted > 0 and report.audit_unredactable == 0
        assert audit.verify_chain(s) == []
    for k in ("B", "C", "E"):
        assert _dump_client(ctx, people[k].client_id) == untouched[k]
    # A second run finds nobody left to anonymise.
    assert retention.apply(ctx).anonymised == 0


def test_past_returns_still_add_up(ctx, people):
    returns = pytest.importorskip("navigator.services.returns.figures")
    months = ["2016-02", "2017-05", "2018-03", "2018-04", "2018-05"]
    before = {m: returns.preview(ctx, m).rows for m in months}
    retention.apply(ctx)
    after = {m: returns.preview(ctx, m).rows for m in months}
    assert after == before
    assert any(r.value for m in months for r in before[m])  # the months did have figures


def test_retention_commands(ctx, db_path, backend, people, monkeypatch, capsys):
    monkeypatch.setattr("navigator.services.context.os_username", lambda: "admin")
    db = ["--db", str(db_path)] if backend == "sqlite" else ["--db-url", ctx.store.url]
    assert main(db + ["retention", "list"]) == 0
    out = capsys.readouterr().out
    assert people["A"].client_ref in out and people["B"].client_ref not in out and "2 person(s)" in out
    assert "Alice" not in out  # the review list carries no names
    assert main(db + ["retention", "apply", "--dry-run"]) == 0
    assert "nothing was changed" in capsys.readouterr().out
    assert not _client(ctx, people["A"].client_id).anonymised
    assert main(db + ["retention", "apply", "--yes"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Anonymised 2 person(s)" in out and "Removed their personal data from" in out
    assert "still hold personal data" not in out
    assert _client(ctx, people["A"].client_id).anonymised


# ---------------------------------------------------------------- date of birth


@pytest.mark.parametrize(
    "dob, dates, expected",
    [
        (date(1970, 9, 15), [date(2018, 3, 1)], date(1970, 3, 2)),
        (date(1970, 9, 15), [date(2018, 10, 1)], date(1970, 1, 1)),
        (date(1970, 9, 15), [date(2018, 9, 1), date(2018, 3, 1)], date(1970, 9, 2)),
        (date(1970, 9, 15), [date(2018, 9, 15)], date(1970, 1, 1)),
        (date(1972, 3, 5), [date(2020, 2, 29)], date(1972, 3, 1)),
        (date(1971, 12, 31), [], date(1971, 1, 1)),
    ],
)
def test_coarse_birth_date_examples(dob, dates, expected):
    assert retention.coarse_birth_date(dob, dates) == expected


@given(
    st.dates(date(1900, 1, 1), date(2008, 12, 31)), st.lists(st.dates(date(2009, 1, 1), date(2030, 12, 31)), max_size=8)
)
def test_coarse_birth_date_keeps_every_age(dob, dates):
    coarse = retention.coarse_birth_date(dob, dates)
    assert coarse.year == dob.year and coarse <= dob
    for d in dates:
        assert age_on(coarse, d) == age_on(dob, d)


def test_setting_the_period(ctx, db_path, backend, monkeypatch, capsys):
    monkeypatch.setattr("navigator.services.context.os_username", lambda: "admin")
    db = ["--db", str(db_path)] if backend == "sqlite" else ["--db-url", ctx.store.url]
    assert main(db + ["retention", "period"]) == 0
    assert "8 years" in capsys.readouterr().out
    assert main(db + ["retention", "period", "6"]) == 0
    with ctx.read() as s:
        assert retention.retention_years(s) == 6
        ev = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert ev.action == "config.retention" and '"retention_years": 6' in ev.after
    assert main(db + ["retention", "period", "0"]) == 3
    assert "1 to 100" in capsys.readouterr().err
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    with pytest.raises(AccessDenied):
        retention.set_retention_years(lead, 3)
