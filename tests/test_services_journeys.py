"""Casework services: one transaction each, an audit event each, domain errors for bad input
(never a database exception) with the store left exactly as it was."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest
from sqlalchemy import text
from sqlmodel import select

from conftest import SWEMWBS_HIGH, SWEMWBS_MID, TODAY, make_user, new_referral
from navigator.domain.errors import (
    ConflictError,
    DomainError,
    DuplicatePerson,
    NotFound,
    ValidationErrors,
)
from navigator.services import audit
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.casework.journeys import ClientInput, ReferralInput
from navigator.services.context import Ctx
from navigator.services.setup.reference import open_ready, reference
from navigator.store.engine import open_store
from navigator.store.models import (
    AuditEvent,
    Client,
    ContactAttempt,
    Journey,
    Measurement,
)

NHS = "9434765919"


# ---------------------------------------------------------------- helpers


def dump(ctx) -> dict:
    """Every row of every table, for 'the store is unchanged' checks."""
    with ctx.store.engine.connect() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            )
        ]
        return {t: conn.execute(text(f'SELECT * FROM "{t}" ORDER BY rowid')).all() for t in tables}


def events(ctx, after_id: int = 0) -> list[AuditEvent]:
    with ctx.read() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id)).all())


def last_event_id(ctx) -> int:
    with ctx.read() as s:
        return s.exec(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)).first() or 0


def programme_id(ctx, name="Employment support") -> int:
    return next(p.id for p in reference(ctx).programmes if p.name == name)


def started(ctx, **kw):
    ref = new_referral(ctx, **kw)
    J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke")
    J.decide(ctx, ref.journey_id, "accepted", date(2026, 11, 4))
    J.start(ctx, ref.journey_id, date(2026, 11, 5), SWEMWBS_MID)
    return ref


def journey_row(ctx, jid) -> Journey:
    with ctx.read() as s:
        return s.get(Journey, jid)


# ---------------------------------------------------------------- the happy path, state by state


def test_a_whole_journey(ctx):
    ref = new_referral(ctx)
    assert ref.state == "received" and ref.client_ref.startswith("NAV")
    jid = ref.journey_id
    assert J.log_contact(ctx, jid, date(2026, 11, 3), "phone", "spoke", note="Keen").state == "received"
    assert J.decide(ctx, jid, "accepted", date(2026, 11, 4)).state == "accepted"
    assert J.start(ctx, jid, date(2026, 11, 6), SWEMWBS_MID).state == "started"
    gid = J.add_goal(ctx, jid, "connect", "I want to join a walking group", date(2026, 12, 20))
    assert J.update_goal(ctx, gid, status="in_progress", note="Went once") == 2
    J.record_review(ctx, jid, date(2026, 11, 20), note="Going well", swemwbs_items=[3, 4, 3, 4, 3, 4, 3])
    J.record_measure(ctx, jid, "review", date(2026, 11, 21), [7, 8, 6, 3], kind="ons4")
    oid = J.make_onward(ctx, jid, programme_id(ctx), date(2026, 11, 9))
    assert J.partner_update(ctx, oid, "started", date(2026, 11, 12)) == "started"
    assert J.partner_update(ctx, oid, "completed", date(2026, 11, 23)) == "completed"
    done = J.close(ctx, jid, date(2026, 11, 24), "completed", evidence="Walking weekly", swemwbs_end=SWEMWBS_HIGH)
    assert done.state == "completed"
    j = journey_row(ctx, jid)
    assert (j.first_contact_date, j.decision_date, j.start_date, j.end_date) == (
        date(2026, 11, 3),
        date(2026, 11, 4),
        date(2026, 11, 6),
        date(2026, 11, 24),
    )
    assert j.state_since == date(2026, 11, 24) and j.outcome_evidence == "Walking weekly"
    with ctx.read() as s:
        ms = s.exec(select(Measurement).where(Measurement.journey_id == jid).order_by(Measurement.id)).all()
    assert [(m.point, m.raw, m.metric_x100) for m in ms if m.kind == "swemwbs"] == [
        ("start", 21, 1925),
        ("review", 24, 2154),
        ("end", 28, 2503),
    ]
    detail = Q.journey_detail(ctx, jid, audit_view=False)
    assert detail.response_working_days == 1 and detail.wait_working_days == 2
    assert detail.measures[-1].label == "meaningful improvement"


def test_rejection_path(ctx):
    ref = new_referral(ctx, dob=date(2010, 5, 5))  # 16 when received
    with pytest.raises(DomainError, match="under 17"):
        J.decide(ctx, ref.journey_id, "accepted", date(2026, 11, 3))
    assert J.decide(ctx, ref.journey_id, "rejected", date(2026, 11, 3), "under_17").state == "rejected"
    assert journey_row(ctx, ref.journey_id).reject_reason == "under_17"


def test_closed_without_start_and_ended_early(ctx):
    a = new_referral(ctx, first="Ann")
    assert J.close(ctx, a.journey_id, date(2026, 11, 10), "not_aware_of_referral").state == "closed_without_start"
    b = started(ctx, first="Bob")
    assert J.close(ctx, b.journey_id, date(2026, 11, 10), "escalated_secondary_care").state == "ended_early"


def test_client_details_are_normalised(ctx):
    ref = J.receive_referral(
        ctx,
        ReferralInput(
            date(2026, 11, 2),
            "GP / primary care",
            referrer=" Dr  Who ",
            reason="Low mood\nIsolated",
            support_areas=("money", "wellbeing", "money"),
            client=ClientInput(
                " zoë ",
                "o'brien",
                date(1990, 3, 4),
                "maidstone",
                postcode="me141xx",
                nhs_number="943 476 5919",
                email="z@example.org",
                imd_decile=3,
            ),
        ),
    )
    with ctx.read() as s:
        c = s.get(Client, ref.client_id)
        j = s.get(Journey, ref.journey_id)
    assert (c.first_name, c.last_name, c.postcode, c.nhs_number) == ("zoë", "o'brien", "ME14 1XX", NHS)
    assert (c.first_name_key, c.last_name_key) == ("zoe", "o'brien")
    assert j.referrer == "Dr Who" and j.reason == "Low mood\nIsolated"
    detail = Q.journey_detail(ctx, ref.journey_id, audit_view=False)
    assert sorted(detail.support_areas) == ["Money, debt and benefits", "Wellbeing activities"]
    assert detail.source_code == "gp" and detail.lot == "Lot 2"


def test_typed_text_with_escape_sequences_is_refused_naming_the_field(ctx):
    """Control characters are refused (not silently stripped), every field at once, nothing written."""
    bad = ReferralInput(
        date(2026, 11, 2),
        "gp",
        referrer="Dr \x1b[31mWho",
        reason="ok\nfine",
        client=ClientInput("Ann\x07", "Lee", date(1990, 3, 4), "Maidstone"),
    )
    with pytest.raises(ValidationErrors) as err:
        J.receive_referral(ctx, bad)
    assert set(err.value.errors) == {"referrer", "first_name"}
    assert "escape character" in err.value.errors["referrer"]
    with ctx.read() as s:
        assert s.exec(select(Journey)).all() == []


def test_second_referral_of_the_same_person(ctx):
    first = new_referral(ctx, received=date(2026, 3, 2))
    J.close(ctx, first.journey_id, date(2026, 3, 20), "no_response")
    again = J.receive_referral(ctx, ReferralInput(date(2026, 11, 2), "self", client_id=first.client_id))
    assert again.client_id == first.client_id and again.journey_id != first.journey_id
    with pytest.raises(DomainError, match="already has an open journey"):  # one open journey (issue 15)
        J.receive_referral(ctx, ReferralInput(date(2026, 11, 2), "self", client_id=first.client_id))
    with pytest.raises(DomainError, match="already has a referral received on that date"):
        J.receive_referral(
            ctx, ReferralInput(date(2026, 11, 2), "self", client_id=first.client_id, second_journey=True)
        )


# ---------------------------------------------------------------- duplicates


@pytest.mark.parametrize("first,last", [("Ann", "Smith"), ("ANN", "smith"), ("Ánn", "Smíth"), (" ann ", "SMITH ")])
def test_duplicate_person_by_name_and_dob(ctx, first, last):
    existing = new_referral(ctx, first="Ann", last="Smith", dob=date(1980, 1, 1))
    before = dump(ctx)
    with pytest.raises(DuplicatePerson) as info:
        new_referral(ctx, first=first, last=last, dob=date(1980, 1, 1), received=date(2026, 11, 3))
    assert info.value.matches == [existing.client_id]
    assert existing.client_ref in info.value.message
    assert dump(ctx) == before
    # the form's as-you-type check finds the same person
    hits = J.check_duplicates(ctx, ClientInput(first, last, date(1980, 1, 1), "Maidstone"))
    assert [h.id for h in hits] == [existing.client_id]


def test_different_dob_is_not_a_duplicate(ctx):
    new_referral(ctx, first="Ann", last="Smith", dob=date(1980, 1, 1))
    new_referral(ctx, first="Ann", last="Smith", dob=date(1980, 1, 2))


def test_duplicate_person_by_nhs_number(ctx):
    existing = new_referral(ctx, first="Ann", last="Smith", nhs=NHS)
    with pytest.raises(DuplicatePerson) as info:
        new_referral(ctx, first="Totally", last="Different", dob=date(1970, 6, 6), nhs="943 476 5919")
    assert info.value.matches == [existing.client_id]


def test_allow_duplicate_proceeds_for_name_and_dob(ctx):
    existing = new_referral(ctx, first="Ann", last="Smith")
    other = J.receive_referral(
        ctx,
        ReferralInput(
            date(2026, 11, 3),
            "gp",
            allow_duplicate=True,
            client=ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone"),
        ),
    )
    assert other.client_id != existing.client_id


def test_same_nhs_number_is_always_refused(ctx):
    new_referral(ctx, first="Ann", last="Smith", nhs=NHS)
    before = dump(ctx)
    with pytest.raises(DomainError) as info:
        J.receive_referral(
            ctx,
            ReferralInput(
                date(2026, 11, 3),
                "gp",
                allow_duplicate=True,
                client=ClientInput("Other", "Person", date(1970, 6, 6), "Maidstone", nhs_number=NHS),
            ),
        )
    assert info.value.field == "nhs_number" and not isinstance(info.value, DuplicatePerson)
    assert dump(ctx) == before


def test_update_client_refuses_to_become_a_duplicate(ctx):
    a = new_referral(ctx, first="Ann", last="Smith", nhs=NHS)
    b = new_referral(ctx, first="Bea", last="Jones", dob=date(1985, 5, 5))
    before = dump(ctx)
    for data in (
        ClientInput("ann", "SMITH", date(1980, 1, 1), "Maidstone"),
        ClientInput("Bea", "Jones", date(1985, 5, 5), "Maidstone", nhs_number=NHS),
    ):
        with pytest.raises(DuplicatePerson) as info:
            J.update_client(ctx, b.client_id, data)
        assert info.value.matches == [a.client_id]
    assert dump(ctx) == before
    # editing a person without touching the matching fields is fine (not a duplicate of themself)
    assert (
        J.update_client(
            ctx,
            a.client_id,
            ClientInput(
                "Ann",
                "Smith",
                date(1980, 1, 1),
                "Maidstone",
                nhs_number=NHS,
                phone="07700 900123",
                consent_to_share=True,
            ),
        )
        == 2
    )


# ---------------------------------------------------------------- every write leaves an audit event


def test_every_write_is_audited_with_who_before_and_after(ctx):
    nav = make_user(ctx, "nina", "navigator", ("Lot 2",))
    mark = last_event_id(ctx)
    ref = new_referral(nav, received=date(2026, 11, 2))
    jid, cid = ref.journey_id, ref.client_id
    evs = events(ctx, mark)
    assert [e.action for e in evs] == ["client.create", "journey.receive"]
    assert all(e.username == "nina" and e.at is not None for e in evs)
    assert json.loads(evs[0].after)["first_name"] == "Ann"
    assert json.loads(evs[1].after)["state"] == "received" and evs[1].journey_id == jid and evs[1].client_id == cid

    def step(call, action, before_keys=(), after_keys=()):
        m = last_event_id(ctx)
        call()
        new = events(ctx, m)
        assert [e.action for e in new] == [action], [e.action for e in new]
        e = new[0]
        assert e.username == "nina"
        assert e.client_id == cid
        b = json.loads(e.before) if e.before else {}
        a = json.loads(e.after) if e.after else {}
        for k in before_keys:
            assert k in b, (action, k, b)
        for k in after_keys:
            assert k in a, (action, k, a)
        return b, a

    b, a = step(
        lambda: J.log_contact(nav, jid, date(2026, 11, 3), "phone", "spoke"),
        "journey.contact",
        ("first_contact_date",),
        ("first_contact_date", "contact"),
    )
    assert b["first_contact_date"] is None and a["first_contact_date"] == "2026-11-03"
    b, a = step(
        lambda: J.decide(nav, jid, "accepted", date(2026, 11, 4)),
        "journey.decide",
        ("decision", "state"),
        ("decision", "decision_date", "state"),
    )
    assert (b["state"], a["state"]) == ("received", "accepted")
    step(
        lambda: J.start(nav, jid, date(2026, 11, 5), SWEMWBS_MID),
        "journey.start",
        ("start_date", "state"),
        ("start_date", "state", "measure"),
    )
    gid = None

    def add():
        nonlocal gid
        gid = J.add_goal(nav, jid, "wellbeing", "I want to sleep better")

    step(add, "goal.add", (), ("statement", "outcome_id"))
    b, a = step(lambda: J.update_goal(nav, gid, status="achieved"), "goal.update", ("status",), ("status",))
    assert (b["status"], a["status"]) == ("not_started", "achieved")
    step(
        lambda: J.record_review(nav, jid, date(2026, 11, 19)),
        "journey.review",
        ("last_review_date",),
        ("last_review_date", "review"),
    )
    step(
        lambda: J.record_measure(nav, jid, "review", date(2026, 11, 19), SWEMWBS_HIGH),
        "measure.record",
        (),
        ("raw", "metric_x100", "point"),
    )
    oid = None

    def onward():
        nonlocal oid
        oid = J.make_onward(nav, jid, programme_id(ctx), date(2026, 11, 6))

    step(onward, "onward.make", (), ("programme_id", "referral_date"))
    b, a = step(
        lambda: J.partner_update(nav, oid, "did_not_start", date(2026, 11, 10)),
        "onward.update",
        ("status",),
        ("status", "kind"),
    )
    assert (b["status"], a["status"]) == ("made", "did_not_start")
    step(lambda: J.follow_up_feedback(nav, oid, "Spoke to them"), "onward.followed_up", (), ("note",))
    b, a = step(
        lambda: J.update_client(
            nav,
            cid,
            ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone", consent_to_share=True, phone="01622 000000"),
        ),
        "client.update",
        ("phone",),
        ("phone",),
    )
    assert (b["phone"], a["phone"]) == (None, "01622 000000")
    make_user(ctx, "omar", "navigator", ("Lot 2",))
    b, a = step(lambda: J.reassign(nav, [jid], "omar"), "journey.reassign", ("navigator_id",), ("navigator_id",))
    assert b["navigator_id"] != a["navigator_id"]
    m = last_event_id(ctx)
    J.close(ctx, jid, date(2026, 11, 20), "withdrew")
    (e,) = events(ctx, m)
    assert e.action == "journey.close" and e.username == "admin"
    assert json.loads(e.after)["state"] == "ended_early" and json.loads(e.before)["state"] == "started"
    with ctx.read() as s:
        assert audit.verify_chain(s) == []


def test_audit_log_is_append_only(ctx):
    new_referral(ctx)
    with pytest.raises(Exception), ctx.write() as s:  # noqa: B017 - the database refuses, in its own words
        s.execute(text("UPDATE audit_event SET username = 'mallory'"))
    with pytest.raises(Exception), ctx.write() as s:  # noqa: B017 - the database refuses, in its own words
        s.execute(text("DELETE FROM audit_event"))
    with ctx.read() as s:
        assert audit.verify_chain(s) == []


def test_verify_chain_detects_tampering(ctx):
    new_referral(ctx)
    with ctx.store.write_engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        conn.exec_driver_sql("UPDATE audit_event SET username = 'mallory' WHERE id = 2")
    with ctx.read() as s:
        problems = audit.verify_chain(s)
    assert [p.event_id for p in problems] == [2]


def test_audit_times_are_timezone_aware(ctx):
    seen = []
    real = ctx.now_fn
    ctx.now_fn = lambda: seen.append(real()) or seen[-1]
    new_referral(ctx)
    assert seen and all(t.tzinfo is not None for t in seen)


# ---------------------------------------------------------------- bad input: domain error, store unchanged


def _bad_calls():
    """(name, fn(ctx, ids) -> None, expected error type). ids: received, accepted, started, closed journeys etc."""
    d = date
    cin = ClientInput

    def rr(**kw):
        base = dict(received_date=d(2026, 11, 10), source="gp", client=cin("New", "Person", d(1990, 1, 1), "Maidstone"))
        base.update(kw)
        return lambda ctx, i: J.receive_referral(ctx, ReferralInput(**base))

    def rc(**kw):
        base = dict(first_name="New", last_name="Person", date_of_birth=d(1990, 1, 1), locality="Maidstone")
        base.update(kw)
        return rr(client=cin(**base))

    return [
        # receive_referral
        ("no received date", rr(received_date=None), ValidationErrors),
        ("received in future", rr(received_date=d(2026, 11, 26)), DomainError),
        ("unknown source", rr(source="carrier pigeon"), ValidationErrors),
        ("no source", rr(source=None), ValidationErrors),
        ("unknown navigator", rr(navigator="nobody"), ValidationErrors),
        ("deactivated navigator", rr(navigator="gone"), ValidationErrors),
        ("unknown support area", rr(support_areas=("money", "astrology")), ValidationErrors),
        ("referrer too long", rr(referrer="x" * 201), ValidationErrors),
        ("no person", rr(client=None), ValidationErrors),
        ("unknown person id", rr(client=None, client_id=99999), ValidationErrors),
        ("no first name", rc(first_name="  "), ValidationErrors),
        ("no dob", rc(date_of_birth=None), ValidationErrors),
        ("dob as text", rc(date_of_birth="1990-01-01"), ValidationErrors),
        ("dob in future", rc(date_of_birth=d(2027, 1, 1)), ValidationErrors),
        ("dob before 1900", rc(date_of_birth=d(1899, 1, 1)), ValidationErrors),
        ("dob after received", rc(date_of_birth=d(2026, 11, 20)), DomainError),
        ("bad nhs", rc(nhs_number="9434765918"), ValidationErrors),
        ("one-digit nhs", rc(nhs_number="1111111111"), ValidationErrors),
        ("bad postcode", rc(postcode="NOT A POSTCODE"), ValidationErrors),
        ("unknown locality", rc(locality="Atlantis"), ValidationErrors),
        ("unserved locality id", rc(locality=99999), ValidationErrors),
        ("bad email", rc(email="nobody.example.org"), ValidationErrors),
        ("bad method", rc(preferred_method="pigeon"), ValidationErrors),
        ("imd 11", rc(imd_decile=11), ValidationErrors),
        ("imd 0", rc(imd_decile=0), ValidationErrors),
        ("duplicate person", rc(first_name="ann", last_name="SMITH", date_of_birth=d(1980, 1, 1)), DuplicatePerson),
        ("taken client ref", rc(client_ref="NAV000001"), DomainError),
        (
            "same person same day",
            lambda ctx, i: J.receive_referral(ctx, ReferralInput(d(2026, 11, 2), "gp", client_id=i["client"])),
            DomainError,
        ),
        # log_contact
        (
            "contact: unknown journey",
            lambda ctx, i: J.log_contact(ctx, 99999, d(2026, 11, 3), "phone", "spoke"),
            NotFound,
        ),
        (
            "contact: bad method",
            lambda ctx, i: J.log_contact(ctx, i["received"], d(2026, 11, 3), "fax", "spoke"),
            DomainError,
        ),
        (
            "contact: bad outcome",
            lambda ctx, i: J.log_contact(ctx, i["received"], d(2026, 11, 3), "phone", "meh"),
            DomainError,
        ),
        (
            "contact: future",
            lambda ctx, i: J.log_contact(ctx, i["received"], d(2026, 11, 26), "phone", "spoke"),
            DomainError,
        ),
        (
            "contact: before received",
            lambda ctx, i: J.log_contact(ctx, i["received"], d(2026, 11, 1), "phone", "spoke"),
            DomainError,
        ),
        ("contact: no date", lambda ctx, i: J.log_contact(ctx, i["received"], None, "phone", "spoke"), DomainError),
        (
            "contact: closed",
            lambda ctx, i: J.log_contact(ctx, i["closed"], d(2026, 11, 20), "phone", "spoke"),
            DomainError,
        ),
        (
            "contact: note too long",
            lambda ctx, i: J.log_contact(ctx, i["received"], d(2026, 11, 3), "phone", "spoke", note="x" * 4001),
            DomainError,
        ),
        # decide
        ("decide: bad decision", lambda ctx, i: J.decide(ctx, i["received"], "maybe", d(2026, 11, 3)), DomainError),
        (
            "decide: bad reason",
            lambda ctx, i: J.decide(ctx, i["received"], "rejected", d(2026, 11, 3), "bored"),
            DomainError,
        ),
        ("decide: no reason", lambda ctx, i: J.decide(ctx, i["received"], "rejected", d(2026, 11, 3)), DomainError),
        (
            "decide: under 17 for adult",
            lambda ctx, i: J.decide(ctx, i["received"], "rejected", d(2026, 11, 3), "under_17"),
            DomainError,
        ),
        ("decide: accept a child", lambda ctx, i: J.decide(ctx, i["child"], "accepted", d(2026, 11, 3)), DomainError),
        ("decide: twice", lambda ctx, i: J.decide(ctx, i["accepted"], "accepted", d(2026, 11, 5)), DomainError),
        (
            "decide: stale",
            lambda ctx, i: J.decide(ctx, i["received"], "accepted", d(2026, 11, 3), expected_version=0),
            ConflictError,
        ),
        # start
        ("start: not accepted", lambda ctx, i: J.start(ctx, i["received"], d(2026, 11, 5)), DomainError),
        ("start: before decision", lambda ctx, i: J.start(ctx, i["accepted"], d(2026, 11, 3)), DomainError),
        ("start: six items", lambda ctx, i: J.start(ctx, i["accepted"], d(2026, 11, 6), [3] * 6), DomainError),
        (
            "start: item 6",
            lambda ctx, i: J.start(ctx, i["accepted"], d(2026, 11, 6), [3, 3, 3, 3, 3, 3, 6]),
            DomainError,
        ),
        # close
        ("close: bad reason", lambda ctx, i: J.close(ctx, i["started"], d(2026, 11, 20), "vanished"), DomainError),
        (
            "close: completed, no evidence",
            lambda ctx, i: J.close(ctx, i["started"], d(2026, 11, 20), "completed"),
            DomainError,
        ),
        (
            "close: declined after start",
            lambda ctx, i: J.close(ctx, i["started"], d(2026, 11, 20), "declined"),
            DomainError,
        ),
        (
            "close: withdrew before start",
            lambda ctx, i: J.close(ctx, i["received"], d(2026, 11, 20), "withdrew"),
            DomainError,
        ),
        (
            "close: bad end measure",
            lambda ctx, i: J.close(ctx, i["started"], d(2026, 11, 20), "completed", evidence="ok", swemwbs_end=[5] * 8),
            DomainError,
        ),
        (
            "close: evidence too long",
            lambda ctx, i: J.close(ctx, i["started"], d(2026, 11, 20), "completed", evidence="x" * 4001),
            DomainError,
        ),
        ("close: twice", lambda ctx, i: J.close(ctx, i["closed"], d(2026, 11, 21), "other"), DomainError),
        # reassign
        ("reassign: none", lambda ctx, i: J.reassign(ctx, [], "omar"), DomainError),
        ("reassign: unknown user", lambda ctx, i: J.reassign(ctx, [i["received"]], "nobody"), DomainError),
        ("reassign: deactivated", lambda ctx, i: J.reassign(ctx, [i["received"]], "gone"), DomainError),
        ("reassign: closed", lambda ctx, i: J.reassign(ctx, [i["received"], i["closed"]], "omar"), DomainError),
        ("reassign: one missing", lambda ctx, i: J.reassign(ctx, [i["received"], 99999], "omar"), NotFound),
        # plan
        ("goal: not started", lambda ctx, i: J.add_goal(ctx, i["accepted"], "connect", "I want friends"), DomainError),
        ("goal: bad outcome", lambda ctx, i: J.add_goal(ctx, i["started"], "fame", "I want friends"), DomainError),
        (
            "goal: not own words",
            lambda ctx, i: J.add_goal(ctx, i["started"], "connect", "Client to make friends"),
            DomainError,
        ),
        (
            "goal: target before start",
            lambda ctx, i: J.add_goal(ctx, i["started"], "connect", "I want friends", d(2026, 11, 1)),
            DomainError,
        ),
        ("goal: unknown", lambda ctx, i: J.update_goal(ctx, 99999, status="achieved"), NotFound),
        ("goal: bad status", lambda ctx, i: J.update_goal(ctx, i["goal"], status="sort of"), DomainError),
        (
            "goal: future note",
            lambda ctx, i: J.update_goal(ctx, i["goal"], note="later", on=d(2026, 12, 1)),
            DomainError,
        ),
        (
            "goal: status with future note",
            lambda ctx, i: J.update_goal(ctx, i["goal"], status="achieved", note="later", on=d(2026, 12, 1)),
            DomainError,
        ),
        (
            "goal: note before start",
            lambda ctx, i: J.update_goal(ctx, i["goal"], note="early", on=d(2026, 11, 4)),
            DomainError,
        ),
        (
            "goal: stale",
            lambda ctx, i: J.update_goal(ctx, i["goal"], status="achieved", expected_version=99),
            ConflictError,
        ),
        ("review: future", lambda ctx, i: J.record_review(ctx, i["started"], d(2026, 11, 26)), DomainError),
        ("review: before start", lambda ctx, i: J.record_review(ctx, i["started"], d(2026, 11, 4)), DomainError),
        ("review: no date", lambda ctx, i: J.record_review(ctx, i["started"], None), DomainError),
        (
            "review: bad measure",
            lambda ctx, i: J.record_review(ctx, i["started"], d(2026, 11, 20), swemwbs_items=[9] * 7),
            DomainError,
        ),
        (
            "measure: bad point",
            lambda ctx, i: J.record_measure(ctx, i["started"], "middle", d(2026, 11, 20), SWEMWBS_MID),
            DomainError,
        ),
        (
            "measure: bad kind",
            lambda ctx, i: J.record_measure(ctx, i["started"], "review", d(2026, 11, 20), SWEMWBS_MID, kind="phq9"),
            DomainError,
        ),
        (
            "measure: bad ons4",
            lambda ctx, i: J.record_measure(ctx, i["started"], "review", d(2026, 11, 20), [11, 0, 0, 0], kind="ons4"),
            DomainError,
        ),
        (
            "measure: not started",
            lambda ctx, i: J.record_measure(ctx, i["received"], "start", d(2026, 11, 20), SWEMWBS_MID),
            DomainError,
        ),
        # onward
        (
            "onward: not started",
            lambda ctx, i: J.make_onward(ctx, i["accepted"], i["programme"], d(2026, 11, 20)),
            DomainError,
        ),
        (
            "onward: no consent",
            lambda ctx, i: J.make_onward(ctx, i["no_consent"], i["programme"], d(2026, 11, 20)),
            DomainError,
        ),
        (
            "onward: unknown programme",
            lambda ctx, i: J.make_onward(ctx, i["started"], 99999, d(2026, 11, 20)),
            DomainError,
        ),
        ("onward: no programme", lambda ctx, i: J.make_onward(ctx, i["started"], None, d(2026, 11, 20)), DomainError),
        (
            "onward: before start",
            lambda ctx, i: J.make_onward(ctx, i["started"], i["programme"], d(2026, 11, 4)),
            DomainError,
        ),
        ("partner: unknown", lambda ctx, i: J.partner_update(ctx, 99999, "started", d(2026, 11, 20)), NotFound),
        (
            "partner: bad kind",
            lambda ctx, i: J.partner_update(ctx, i["onward"], "vanished", d(2026, 11, 20)),
            DomainError,
        ),
        (
            "partner: out of step",
            lambda ctx, i: J.partner_update(ctx, i["onward"], "completed", d(2026, 11, 20)),
            DomainError,
        ),
        (
            "partner: before referral",
            lambda ctx, i: J.partner_update(ctx, i["onward"], "started", d(2026, 11, 5)),
            DomainError,
        ),
        (
            "partner: stale",
            lambda ctx, i: J.partner_update(ctx, i["onward"], "started", d(2026, 11, 20), expected_version=7),
            ConflictError,
        ),
        ("feedback: nothing pending", lambda ctx, i: J.follow_up_feedback(ctx, i["onward"]), DomainError),
        # clients
        (
            "client: unknown",
            lambda ctx, i: J.update_client(ctx, 99999, ClientInput("A", "B", d(1990, 1, 1), "Maidstone")),
            NotFound,
        ),
        (
            "client: bad postcode",
            lambda ctx, i: J.update_client(
                ctx, i["client"], ClientInput("Ann", "Smith", d(1980, 1, 1), "Maidstone", postcode="ZZZ")
            ),
            ValidationErrors,
        ),
        (
            "client: stale",
            lambda ctx, i: J.update_client(
                ctx, i["client"], ClientInput("Ann", "Smith", d(1980, 1, 1), "Maidstone", phone="1"), expected_version=5
            ),
            ConflictError,
        ),
    ]


BAD = _bad_calls()


def build_world(ctx) -> dict:
    """One journey in each state, a goal, an onward referral, and users to reassign to."""
    make_user(ctx, "omar", "navigator", ("Lot 2",))
    make_user(ctx, "gone", "navigator", ("Lot 2",))
    with ctx.write() as s:
        from navigator.store.models import User

        u = s.exec(select(User).where(User.username == "gone")).one()
        u.active = False
        s.add(u)
    ids = {}
    r = new_referral(ctx, first="Ann", last="Smith")
    ids["received"], ids["client"] = r.journey_id, r.client_id
    a = new_referral(ctx, first="Acc", last="Epted")
    J.decide(ctx, a.journey_id, "accepted", date(2026, 11, 4))
    ids["accepted"] = a.journey_id
    ids["started"] = started(ctx, first="Sta", last="Rted").journey_id
    ids["no_consent"] = started(ctx, first="No", last="Consent", consent=False).journey_id
    ids["child"] = new_referral(ctx, first="Kid", last="Young", dob=date(2011, 1, 1)).journey_id
    c = new_referral(ctx, first="Clo", last="Sed")
    J.close(ctx, c.journey_id, date(2026, 11, 3), "declined")
    ids["closed"] = c.journey_id
    ids["goal"] = J.add_goal(ctx, ids["started"], "connect", "I want to meet people")
    ids["programme"] = programme_id(ctx)
    ids["onward"] = J.make_onward(ctx, ids["started"], ids["programme"], date(2026, 11, 9))
    return ids


@pytest.fixture(scope="module")
def world_template(tmp_path_factory):
    """Built once: the world in a store file, checkpointed so it can be copied."""
    path = tmp_path_factory.mktemp("world") / "template.sqlite3"
    store, ctx = open_ready(f"sqlite:///{path}", username="admin", today_fn=lambda: TODAY)
    ids = build_world(ctx)
    store.dispose()
    return path, ids


@pytest.fixture
def world(world_template, tmp_path):
    """A private copy of the world for one test."""
    template, ids = world_template
    path = tmp_path / "world.sqlite3"
    for side in template.parent.iterdir():  # the store and the files beside it (audit key, checkpoint)
        if side.name.startswith(template.name) and side.is_file():
            shutil.copyfile(side, path.with_name(path.name + side.name[len(template.name) :]))
    store = open_store(f"sqlite:///{path}")
    ctx = Ctx(store, username="admin", today_fn=lambda: TODAY)
    yield ctx, ids
    store.dispose()


@pytest.mark.parametrize("name,call,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_a_domain_error_and_changes_nothing(world, name, call, expected):
    ctx, ids = world
    before = dump(ctx)
    with pytest.raises(DomainError) as info:
        call(ctx, ids)
    assert isinstance(info.value, expected), (type(info.value), info.value.message)
    msg = info.value.message
    assert msg.strip() and (msg[0].isupper() or msg[0] in "'\"") and len(msg) < 400
    for leak in ("sqlite", "IntegrityError", "Traceback", "SELECT", "INSERT"):
        assert leak not in msg
    assert dump(ctx) == before


def test_validation_errors_list_every_problem(ctx):
    with pytest.raises(ValidationErrors) as info:
        J.receive_referral(
            ctx,
            ReferralInput(
                None,
                "nope",
                client=ClientInput("", "Smith", None, "Atlantis", postcode="X", nhs_number="123", email="no-at"),
            ),
        )
    assert set(info.value.errors) >= {
        "received_date",
        "source",
        "first_name",
        "date_of_birth",
        "locality",
        "postcode",
        "nhs_number",
        "email",
    }


# ---------------------------------------------------------------- optimistic concurrency


def test_stale_decision_is_refused_naming_who_changed_it(ctx):
    nav = make_user(ctx, "nina", "navigator", ("Lot 2",))
    lead = make_user(ctx, "tess", "team_lead", ("Lot 2",))
    jid = new_referral(nav).journey_id
    seen = Q.journey_detail(nav, jid, audit_view=False).version
    J.log_contact(lead, jid, date(2026, 11, 3), "phone", "spoke")  # the lead changes it meanwhile
    before = dump(ctx)
    with pytest.raises(ConflictError) as info:
        J.decide(nav, jid, "accepted", date(2026, 11, 4), expected_version=seen)
    assert "tess" in info.value.message and "reload" in info.value.message.lower()
    assert dump(ctx) == before
    fresh = Q.journey_detail(nav, jid, audit_view=False).version
    assert fresh == seen + 1
    assert J.decide(nav, jid, "accepted", date(2026, 11, 4), expected_version=fresh).state == "accepted"


def test_versions_move_on_every_change(ctx):
    ref = new_referral(ctx)
    jid = ref.journey_id
    v = [journey_row(ctx, jid).version]
    J.log_contact(ctx, jid, date(2026, 11, 3), "phone", "no_answer")
    v.append(journey_row(ctx, jid).version)
    make_user(ctx, "omar", "navigator", ("Lot 2",))
    J.reassign(ctx, [jid], "omar")
    v.append(journey_row(ctx, jid).version)
    assert v == sorted(set(v))
    with pytest.raises(ConflictError):
        J.close(ctx, jid, date(2026, 11, 4), "declined", expected_version=v[0])


def test_stale_client_edit_names_who_changed_it(ctx):
    nav = make_user(ctx, "nina", "navigator", ("Lot 2",))
    ref = new_referral(nav)
    base = dict(
        first_name="Ann", last_name="Smith", date_of_birth=date(1980, 1, 1), locality="Maidstone", consent_to_share=True
    )
    v = J.update_client(ctx, ref.client_id, ClientInput(**base, phone="07700 900001"))  # admin edits
    with pytest.raises(ConflictError, match="admin"):
        J.update_client(nav, ref.client_id, ClientInput(**base, phone="07700 900002"), expected_version=v - 1)


# ---------------------------------------------------------------- contact rows and dates


def test_contact_attempts_are_stored(ctx):
    jid = new_referral(ctx).journey_id
    with pytest.raises(DomainError, match="escape") as err:
        J.log_contact(ctx, jid, date(2026, 11, 4), "phone", "no_answer", note="\x1b[1mRang\x1b[0m twice")
    assert err.value.field == "note"
    J.log_contact(ctx, jid, date(2026, 11, 4), "phone", "no_answer", note=" Rang twice ")
    J.log_contact(ctx, jid, date(2026, 11, 3), "text", "spoke")
    with ctx.read() as s:
        rows = s.exec(select(ContactAttempt).where(ContactAttempt.journey_id == jid).order_by(ContactAttempt.id)).all()
    assert [(r.on_date, r.method, r.outcome, r.note) for r in rows] == [
        (date(2026, 11, 4), "phone", "no_answer", "Rang twice"),
        (date(2026, 11, 3), "text", "spoke", None),
    ]
    j = journey_row(ctx, jid)
    assert (j.first_contact_date, j.last_contact_date) == (date(2026, 11, 3), date(2026, 11, 4))


def test_today_is_the_last_allowed_day(ctx):
    jid = new_referral(ctx, received=TODAY).journey_id
    J.log_contact(ctx, jid, TODAY, "phone", "spoke")
    J.decide(ctx, jid, "accepted", TODAY)
    J.start(ctx, jid, TODAY)
    assert J.close(ctx, jid, TODAY, "completed", evidence="Same-day").state == "completed"


@pytest.mark.parametrize("activity", ["onward", "review", "measure"])
def test_close_not_before_recorded_activity(ctx, activity):
    jid = started(ctx).journey_id  # started 2026-11-05
    if activity == "onward":
        J.make_onward(ctx, jid, programme_id(ctx), date(2026, 11, 18))
    elif activity == "review":
        J.record_review(ctx, jid, date(2026, 11, 18))
    else:
        J.record_measure(ctx, jid, "review", date(2026, 11, 18), SWEMWBS_HIGH)
    before = dump(ctx)
    with pytest.raises(DomainError) as info:
        J.close(ctx, jid, date(2026, 11, 10), "withdrew")
    assert info.value.field == "end_date" and "2026-11-18" in info.value.message
    assert dump(ctx) == before
    assert J.close(ctx, jid, date(2026, 11, 18), "withdrew").state == "ended_early"
