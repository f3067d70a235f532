"""Merging two records of one person (issue 15): what moves, what is refused, who may, and how the
audit history, Find and the import's duplicates follow."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import select

import test_pg_access as PA
from conftest import SWEMWBS_MID, make_user
from navigator.cli import main
from navigator.domain.errors import AccessDenied, DomainError
from navigator.services.casework import journeys as J
from navigator.services.casework import merge as MG
from navigator.services.casework import queries as Q
from navigator.services.casework.journeys import ClientInput, ReferralInput
from navigator.services.operations import audit_words, sar
from navigator.store.models import AccessGrant, AuditEvent, Client, Journey
from test_pg_access import team  # noqa: F401  (the fixture: a pg-setup database, an admin, a lead, navigators)

pytestmark = pytest.mark.both_backends


def _refer(
    ctx,
    *,
    first="Ann",
    last="Smith",
    dob=date(1980, 1, 1),
    received=date(2026, 11, 2),
    nhs=None,
    locality="Maidstone",
    navigator="nav",
    phone=None,
    dup=False,
):
    return J.receive_referral(
        ctx,
        ReferralInput(
            received_date=received,
            source="gp",
            navigator=navigator,
            client=ClientInput(first, last, dob, locality, consent_to_share=True, nhs_number=nhs, phone=phone),
            allow_duplicate=dup,
        ),
    )


@pytest.fixture
def pair(ctx):
    """Two records of Ann Smith in Lot 2: the first's journey closed, the second's open with a plan."""
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    a = _refer(ctx, received=date(2026, 10, 1), nhs="9434765919")
    J.log_contact(nav, a.journey_id, date(2026, 10, 2), "phone", "spoke")
    J.decide(nav, a.journey_id, "rejected", date(2026, 10, 2), "out_of_area")
    b = _refer(ctx, received=date(2026, 11, 2), phone="07700 900123", dup=True)
    J.log_contact(nav, b.journey_id, date(2026, 11, 3), "phone", "spoke")
    J.decide(nav, b.journey_id, "accepted", date(2026, 11, 3))
    J.start(nav, b.journey_id, date(2026, 11, 4), SWEMWBS_MID)
    J.add_goal(nav, b.journey_id, "connect", "I will join the walking group")
    return {"nav": nav, "lead": lead, "a": a, "b": b}


def test_merge_moves_journeys_grants_and_details_and_leaves_one_person(ctx, pair):
    lead, a, b = pair["lead"], pair["a"], pair["b"]
    other = make_user(ctx, "nav2", "navigator", ("Lot 2",))
    Q.open_with_reason(other, b.client_id, "covering for a colleague")

    plan = MG.preview(lead, a.client_ref, b.client_ref)
    assert (plan.keep.client_ref, plan.merged.client_ref) == (a.client_ref, b.client_ref)
    assert (plan.journeys, plan.measures, plan.goals, plan.grants) == (1, 1, 1, 1)
    assert "phone" in plan.filled and "1 journey" in plan.moves() and plan.differs == ()

    done = MG.merge(lead, a.client_ref, b.client_ref, "same person, entered twice")
    assert done.journeys == 1
    with ctx.read() as s:
        kept = s.get(Client, a.client_id)
        gone = s.get(Client, b.client_id)
        assert kept is not None and gone is not None
        assert {j.client_id for j in s.exec(select(Journey)).all()} == {a.client_id}
        assert kept.phone == "07700 900123" and kept.nhs_number == "9434765919"
        assert gone.merged_into_id == a.client_id and gone.phone is None and gone.nhs_number is None
        assert gone.first_name == "Merged" and a.client_ref in gone.last_name
        assert [g.client_id for g in s.exec(select(AccessGrant)).all()] == [a.client_id]
        (event,) = s.exec(select(AuditEvent).where(AuditEvent.action == "client.merge")).all()
        after = json.loads(event.after or "{}")
        assert (event.client_id, after["keep_ref"], after["merged_ref"]) == (a.client_id, a.client_ref, b.client_ref)
        assert after["journeys"] == [b.journey_id] and after["reason"] == "same person, entered twice"
        assert json.loads(event.before or "{}")["merged"]["phone"] == "07700 900123"

    # Find and the caseload show the kept person only; the merged ref leads to the kept one
    hits = Q.find(lead, "Smith")
    assert [h.client_ref for h in hits] == [a.client_ref]
    assert [h.client_ref for h in Q.find(lead, b.client_ref)] == [a.client_ref]
    rows = Q.caseload(lead, "nav", open_only=False).rows
    assert {r.client_ref for r in rows} == {a.client_ref}
    # the other navigator's reason to look moved with the record: they still see the journey
    assert Q.journey_detail(other, b.journey_id).client.client_ref == a.client_ref
    # a new referral for Ann Smith finds one person, not two
    with ctx.read() as s:
        dups = J.find_duplicates(s, "Ann", "Smith", date(1980, 1, 1), None)
    assert [d.client_ref for d in dups] == [a.client_ref]


def test_audit_history_of_the_kept_person_holds_the_merged_records_events(ctx, pair):
    lead, a, b = pair["lead"], pair["a"], pair["b"]
    MG.merge(lead, a.client_ref, b.client_ref, "same person, entered twice")
    history = sar.audit_history(lead, a.client_ref)
    actions = [(e.action, e.entity_id) for e in history.events]
    assert ("client.create", b.client_id) in actions  # the merged record's own creation
    assert ("journey.receive", b.journey_id) in actions
    assert ("client.merge", b.client_id) in actions
    # looking up the merged reference leads to the kept person's history
    assert sar.audit_history(lead, b.client_ref).client_ref == a.client_ref
    # the journey's history holds the person-level events of both records
    jh = sar.journey_audit_history(lead, b.journey_id)
    assert {e.action for e in jh.events} >= {"client.create", "client.merge", "journey.start"}
    words = audit_words.person_history(lead, b.client_ref)
    merge_event = next(e for e in words.events if e.code == "client.merge")
    assert merge_event.action == "Records merged" and merge_event.who == "Lead (lead)"
    assert f"merged record: {b.client_ref}" in merge_event.lines
    assert "journeys: 1" in merge_event.lines


def test_merges_are_listed_for_the_leads_lots(ctx, pair):
    lead, a, b = pair["lead"], pair["a"], pair["b"]
    MG.merge(lead, a.client_ref, b.client_ref, "same person, entered twice")
    (m,) = MG.merges(lead)
    assert (m.keep_ref, m.merged_ref, m.journeys, m.username) == (a.client_ref, b.client_ref, 1, "lead")
    lead1 = make_user(ctx, "lead1", "team_lead", ("Lot 1",))
    assert MG.merges(lead1) == []
    with pytest.raises(AccessDenied):
        MG.merges(pair["nav"])


@pytest.mark.parametrize(
    "case, field",
    [
        ("self", "merged_ref"),
        ("into_merged", "keep_ref"),
        ("merged_again", "merged_ref"),
        ("nhs", "nhs_number"),
        ("both_open", "journey"),
        ("same_day", "received_date"),
        ("no_reason", "reason"),
    ],
)
def test_merge_refusals_name_the_field(ctx, pair, case, field):
    lead, a, b = pair["lead"], pair["a"], pair["b"]
    keep, merged, reason = a.client_ref, b.client_ref, "same person"
    if case == "self":
        merged = keep
    elif case in ("into_merged", "merged_again"):
        c = _refer(ctx, received=date(2026, 9, 1), dup=True, navigator="nav")
        J.decide(pair["nav"], c.journey_id, "rejected", date(2026, 9, 2), "out_of_area")
        MG.merge(lead, a.client_ref, c.client_ref, "same person, entered twice")
        keep, merged = (c.client_ref, b.client_ref) if case == "into_merged" else (b.client_ref, c.client_ref)
    elif case == "nhs":
        c = _refer(ctx, received=date(2026, 9, 1), nhs="4010232137", dup=True)
        merged = c.client_ref
    elif case == "both_open":
        c = _refer(ctx, received=date(2026, 11, 5), dup=True)
        keep = c.client_ref
    elif case == "same_day":
        c = _refer(ctx, received=date(2026, 10, 1), dup=True)
        J.decide(pair["nav"], c.journey_id, "rejected", date(2026, 10, 2), "duplicate")
        merged = c.client_ref
    elif case == "no_reason":
        reason = " "
    with pytest.raises(DomainError) as err:
        MG.merge(lead, keep, merged, reason)
    assert err.value.field == field
    with ctx.read() as s:  # nothing changed
        assert s.get(Client, b.client_id).merged_into_id is None


def test_only_team_leads_of_both_peoples_lots_merge(ctx, pair):
    a, b = pair["a"], pair["b"]
    with pytest.raises(AccessDenied):
        MG.merge(pair["nav"], a.client_ref, b.client_ref, "same person")
    lead1 = make_user(ctx, "lead1", "team_lead", ("Lot 1",))
    with pytest.raises(AccessDenied):
        MG.merge(lead1, a.client_ref, b.client_ref, "same person")
    # a person of Lot 1 cannot be merged by a lead of Lot 2 alone
    c = _refer(ctx, received=date(2026, 9, 1), locality="Dartford", navigator=None, dup=True)
    J.decide(ctx, c.journey_id, "rejected", date(2026, 9, 2), "out_of_area")
    with pytest.raises(AccessDenied):
        MG.merge(pair["lead"], a.client_ref, c.client_ref, "same person")
    assert MG.merge(ctx, a.client_ref, c.client_ref, "same person, says the admin").journeys == 1


def test_merge_command(ctx, pair, db_path, backend, monkeypatch, capsys):
    a, b = pair["a"], pair["b"]
    monkeypatch.setattr("navigator.services.context.os_username", lambda: "lead")
    base = ["--db", str(db_path)] if backend == "sqlite" else ["--db-url", ctx.store.url]
    code = main([*base, "people", "merge", a.client_ref, b.client_ref, "--reason", "entered twice", "--yes", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    data = json.loads(out)
    assert (data["kept"]["client_ref"], data["merged"]["client_ref"], data["moved"]["journeys"]) == (
        a.client_ref,
        b.client_ref,
        1,
    )
    code = main([*base, "people", "merges", "--json"])
    listed = json.loads(capsys.readouterr().out)
    assert code == 0 and listed["merges"][0]["merged_ref"] == b.client_ref
    code = main([*base, "people", "merge", a.client_ref, b.client_ref, "--reason", "again", "--yes"])
    err = capsys.readouterr().err
    assert code == 3 and "merged into" in err


# ---------------------------------------------------------------- PostgreSQL: row-level security


@pytest.mark.postgres
def test_a_team_lead_merges_under_row_level_security(team, pg_url):  # noqa: F811
    """After pg-setup, a team lead's own login moves the journeys and the reasons to look (the policies
    allow the lead's updates of client, journey and access_grant rows in their lots)."""
    from navigator.services.setup import users as U

    try:
        names, ctxs = team["names"], team["ctx"]
        U.add_user(ctxs["adm"], names["nav1"] + "b", "Nia Bis", "navigator", ["Lot 1"])
        store3, nav3 = PA.open_as(pg_url, names["nav1"] + "b")
        nav1, lead = ctxs["nav1"], ctxs["lead"]
        first = Q.journey_detail(lead, team["j1"]).client
        J.decide(nav1, team["j1"], "rejected", PA.DAY, "out_of_area")
        second = _refer(
            nav1,
            first="Alice",
            last="Ashford",
            dob=date(1980, 1, 2),
            locality="Dartford",
            received=date(2026, 11, 24),
            navigator=None,
            dup=True,
            phone="07700 900456",
        )
        Q.open_with_reason(nav3, second.client_id, "covering a colleague's caseload")
        done = MG.merge(lead, first.client_ref, second.client_ref, "the same Alice, entered twice")
        assert done.journeys == 1 and done.grants == 1
        with lead.read() as s:
            assert {j.client_id for j in s.exec(select(Journey)).all() if j.id == second.journey_id} == {first.id}
            assert s.get(Client, second.client_id).merged_into_id == first.id
            assert {g.client_id for g in s.exec(select(AccessGrant)).all()} == {first.id}
        assert Q.journey_detail(nav3, second.journey_id).client.client_ref == first.client_ref
        assert [h.client_ref for h in Q.find(lead, second.client_ref)] == [first.client_ref]
        with pytest.raises(AccessDenied):  # a navigator's login cannot
            MG.merge(nav1, first.client_ref, second.client_ref, "the same Alice")
        store3.dispose()
    finally:
        pass


def test_retention_of_the_kept_person_covers_the_records_merged_into_them(ctx):
    """Old records: the merged record's own events (its creation with name and NHS number) lose their text
    when the kept person is anonymised; the log still verifies."""
    from navigator.services import audit
    from navigator.services.operations import retention

    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    a = _refer(ctx, first="Olga", last="Old", received=date(2016, 3, 1), navigator=None)
    J.decide(ctx, a.journey_id, "rejected", date(2016, 3, 2), "out_of_area")
    b = _refer(ctx, first="Olga", last="Old", received=date(2016, 4, 1), navigator=None, nhs="9434765919", dup=True)
    J.decide(ctx, b.journey_id, "rejected", date(2016, 4, 2), "duplicate")
    MG.merge(lead, a.client_ref, b.client_ref, "the same Olga, entered twice")
    assert [c.client_ref for c in retention.review(ctx).candidates] == [a.client_ref]  # one person, not two
    retention.apply(ctx)
    with ctx.read() as s:
        created = s.exec(
            select(AuditEvent).where(AuditEvent.action == "client.create", AuditEvent.client_id == b.client_id)
        ).one()
        assert created.redacted and created.after is None
        merge_event = s.exec(select(AuditEvent).where(AuditEvent.action == "client.merge")).one()
        assert merge_event.redacted  # it held the merged record's details
        assert s.get(Client, a.client_id).first_name == "Anonymised"
        assert audit.verify_chain(s) == []


def test_the_check_names_details_that_differ(ctx, pair):
    lead, a = pair["lead"], pair["a"]
    c = _refer(ctx, first="Anne", dob=date(1980, 1, 2), received=date(2026, 9, 1), phone="07700 900999", dup=True)
    J.decide(pair["nav"], c.journey_id, "rejected", date(2026, 9, 2), "duplicate")
    plan = MG.preview(lead, a.client_ref, c.client_ref)
    assert plan.differs == ("first name", "date of birth")
    assert "they differ in: first name, date of birth (the kept record's stay)" in plan.moves()
