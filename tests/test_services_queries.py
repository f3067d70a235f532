"""Who may see and change what (services/access.py), and the reads behind the screens."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import select

from conftest import SWEMWBS_MID, TODAY, make_user, new_referral
from navigator.domain.errors import AccessDenied, DomainError, NotFound
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.casework.journeys import ClientInput
from navigator.services.context import Ctx
from navigator.store.models import AccessGrant, AuditEvent, User


@pytest.fixture
def team(ctx):
    """Two navigators and a team lead in Lot 2 (West Kent), a navigator and a lead in Lot 4."""
    return {
        "nina": make_user(ctx, "nina", "navigator", ("Lot 2",)),
        "omar": make_user(ctx, "omar", "navigator", ("Lot 2",)),
        "tess": make_user(ctx, "tess", "team_lead", ("Lot 2",)),
        "fred": make_user(ctx, "fred", "navigator", ("Lot 4",)),
        "lena": make_user(ctx, "lena", "team_lead", ("Lot 4",)),
        "admin": ctx,
    }


def last_event(ctx) -> AuditEvent:
    with ctx.read() as s:
        return s.exec(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()


# ---------------------------------------------------------------- acting on another navigator's journey


def test_navigator_cannot_act_on_anothers_journey(team):
    nina, omar = team["nina"], team["omar"]
    jid = new_referral(nina).journey_id
    for call in (
        lambda: J.log_contact(omar, jid, date(2026, 11, 3), "phone", "spoke"),
        lambda: J.decide(omar, jid, "accepted", date(2026, 11, 3)),
        lambda: J.close(omar, jid, date(2026, 11, 3), "declined"),
        lambda: J.reassign(omar, [jid], "omar"),
        lambda: Q.journey_detail(omar, jid),
    ):
        with pytest.raises(AccessDenied) as info:
            call()
        assert "caseload" in info.value.message or "team lead" in info.value.message
    # and the owner can
    J.log_contact(nina, jid, date(2026, 11, 3), "phone", "spoke")


def test_open_with_reason_grants_access_within_lots(team, ctx):
    nina, omar = team["nina"], team["omar"]
    ref = new_referral(nina)
    with pytest.raises(DomainError):
        Q.open_with_reason(omar, ref.client_id, "hi")  # a reason, not a grunt
    with pytest.raises(DomainError):
        Q.open_with_reason(omar, ref.client_id, "   \x1b[0m   ")
    with pytest.raises(NotFound):
        Q.open_with_reason(omar, 99999, "Covering for Nina today")
    with pytest.raises(AccessDenied):
        J.log_contact(omar, ref.journey_id, date(2026, 11, 3), "phone", "spoke")
    Q.open_with_reason(omar, ref.client_id, "Covering for Nina while she is on leave")
    ev = last_event(ctx)
    assert (ev.action, ev.username, ev.client_id) == ("access.grant", "omar", ref.client_id)
    assert "Covering" in json.loads(ev.after)["reason"]
    # now Omar can open and act on the journey (audited as Omar)
    assert Q.journey_detail(omar, ref.journey_id).client.id == ref.client_id
    J.log_contact(omar, ref.journey_id, date(2026, 11, 3), "phone", "spoke")
    assert last_event(ctx).username == "omar"
    # but it stays Nina's journey
    assert Q.journey_detail(nina, ref.journey_id, audit_view=False).navigator == "nina"


def test_open_with_reason_refused_outside_lots(team):
    nina, fred = team["nina"], team["fred"]
    ref = new_referral(nina)  # Maidstone, Lot 2
    with pytest.raises(AccessDenied, match="outside your lots"):
        Q.open_with_reason(fred, ref.client_id, "I think I know this person")
    with pytest.raises(AccessDenied):
        Q.journey_detail(fred, ref.journey_id)


def test_a_grant_is_for_that_person_only(team):
    nina, omar = team["nina"], team["omar"]
    a = new_referral(nina, first="Ann")
    b = new_referral(nina, first="Bea")
    Q.open_with_reason(omar, a.client_id, "Covering for Nina today")
    Q.journey_detail(omar, a.journey_id)
    with pytest.raises(AccessDenied):
        Q.journey_detail(omar, b.journey_id)


def test_a_grant_does_not_reach_outside_lots(team, ctx):
    """A grant made in Lot 2 does not open the person's journey once it is in another lot."""
    nina, omar = team["nina"], team["omar"]
    ref = new_referral(nina)
    Q.open_with_reason(omar, ref.client_id, "Covering for Nina today")
    J.close(ctx, ref.journey_id, date(2026, 11, 3), "moved_away")
    # the person moves to Dover (Lot 4) and is referred again there
    J.update_client(ctx, ref.client_id, ClientInput("Ann", "Smith", date(1980, 1, 1), "Dover", consent_to_share=True))
    again = J.receive_referral(ctx, J.ReferralInput(date(2026, 11, 20), "gp", client_id=ref.client_id))
    Q.journey_detail(omar, ref.journey_id)  # the old journey, in Lot 2: still open to him
    with pytest.raises(AccessDenied):
        Q.journey_detail(omar, again.journey_id)


# ---------------------------------------------------------------- team leads


def test_team_lead_sees_journeys_in_their_lots_only(team):
    nina, fred, tess, lena = team["nina"], team["fred"], team["tess"], team["lena"]
    west = new_referral(nina, first="West")  # Lot 2
    east = new_referral(fred, first="East", locality="Dover")  # Lot 4
    assert Q.journey_detail(tess, west.journey_id).id == west.journey_id
    with pytest.raises(AccessDenied):
        Q.journey_detail(tess, east.journey_id)
    assert Q.journey_detail(lena, east.journey_id).id == east.journey_id
    with pytest.raises(AccessDenied):
        Q.journey_detail(lena, west.journey_id)
    # a lead can act on journeys in their lots
    J.log_contact(tess, west.journey_id, date(2026, 11, 3), "phone", "spoke")
    with pytest.raises(AccessDenied):
        J.log_contact(tess, east.journey_id, date(2026, 11, 3), "phone", "spoke")
    # the admin sees everything
    Q.journey_detail(team["admin"], east.journey_id)
    Q.journey_detail(team["admin"], west.journey_id)


def test_caseload_of_another_navigator_needs_a_team_lead(team):
    nina, omar, tess = team["nina"], team["omar"], team["tess"]
    new_referral(nina, first="Ann")
    new_referral(nina, first="Bea")
    assert Q.caseload(tess, "nina").total == 2
    assert Q.caseload(nina).total == 2
    with pytest.raises(AccessDenied):
        Q.caseload(omar, "nina")
    with pytest.raises(NotFound):
        Q.caseload(tess, "nobody")


# ---------------------------------------------------------------- reassign


def test_reassign(team, ctx):
    nina, omar, tess = team["nina"], team["omar"], team["tess"]
    a = new_referral(nina, first="Ann", received=date(2026, 11, 16))
    b = new_referral(nina, first="Bea", received=date(2026, 11, 17))
    # a navigator cannot take someone else's journeys, nor give them away for them
    with pytest.raises(AccessDenied):
        J.reassign(omar, [a.journey_id], "omar")
    # a team lead moves several at once; their follow-ups follow them
    assert {i.journey_id for i in Q.today(nina).items} == {a.journey_id, b.journey_id}
    refs = J.reassign(tess, [a.journey_id, b.journey_id], "omar")
    assert [r.journey_id for r in refs] == [a.journey_id, b.journey_id]
    assert Q.today(nina).items == ()
    assert {i.journey_id for i in Q.today(omar).items} == {a.journey_id, b.journey_id}
    assert Q.caseload(omar).total == 2 and Q.caseload(nina).total == 0
    # Nina has lost access; Omar has it
    with pytest.raises(AccessDenied):
        J.log_contact(nina, a.journey_id, date(2026, 11, 18), "phone", "spoke")
    J.log_contact(omar, a.journey_id, date(2026, 11, 18), "phone", "spoke")
    # a navigator may hand their own journey on
    J.reassign(omar, [b.journey_id], "nina")
    assert Q.caseload(nina).total == 1
    # reassigning to the same navigator changes nothing
    v = Q.journey_detail(nina, b.journey_id, audit_view=False).version
    J.reassign(nina, [b.journey_id], "nina")
    assert Q.journey_detail(nina, b.journey_id, audit_view=False).version == v


# ---------------------------------------------------------------- users


def test_unknown_or_deactivated_user_is_refused(ctx):
    stranger = Ctx(ctx.store, username="stranger", today_fn=lambda: TODAY)
    with pytest.raises(AccessDenied, match="no account"):
        new_referral(stranger)
    make_user(ctx, "leaver", "navigator", ("Lot 2",))
    with ctx.write() as s:
        u = s.exec(select(User).where(User.username == "leaver")).one()
        u.active = False
        s.add(u)
    leaver = Ctx(ctx.store, username="leaver", today_fn=lambda: TODAY)
    with pytest.raises(AccessDenied, match="deactivated"):
        Q.today(leaver)


def test_first_user_of_a_new_store_is_admin(ctx):
    with ctx.read() as s:
        users = s.exec(select(User)).all()
    assert [(u.username, u.role) for u in users] == [("admin", "admin")]


def test_update_client_needs_access(team):
    nina, omar = team["nina"], team["omar"]
    ref = new_referral(nina)
    with pytest.raises(AccessDenied):
        J.update_client(omar, ref.client_id, ClientInput("Ann", "Smith", date(1980, 1, 1), "Maidstone"))


# ---------------------------------------------------------------- Find


def test_find_by_name_ref_nhs_dob_postcode(team, ctx):
    nina = team["nina"]
    ref = J.receive_referral(
        nina,
        J.ReferralInput(
            date(2026, 11, 2),
            "gp",
            client=ClientInput(
                "Zoë", "O'Brien", date(1990, 3, 4), "Maidstone", postcode="ME14 1XX", nhs_number="9434765919"
            ),
        ),
    )
    new_referral(nina, first="Other", last="Person")
    for q in (
        "zoe",
        "Zoe O'Brien",
        "o'brien",
        ref.client_ref,
        ref.client_ref.lower(),
        "943 476 5919",
        "04/03/1990",
        "1990-03-04",
        "me141xx",
        "ME14 1XX",
    ):
        hits = Q.find(nina, q)
        assert [h.client_id for h in hits] == [ref.client_id], q
        assert hits[0].mine and hits[0].latest_journey_id == ref.journey_id
    assert Q.find(nina, "z") == []  # too short
    ev = last_event(ctx)
    assert ev.action == "search" and ev.username == "nina"


def test_find_respects_lots_and_marks_what_needs_a_reason(team):
    nina, omar, fred = team["nina"], team["omar"], team["fred"]
    new_referral(nina, first="Ann", last="Smith")
    (hit,) = Q.find(omar, "smith")
    assert not hit.mine  # in Omar's lots but not his: open with a reason
    assert Q.find(fred, "smith") == []  # another lot: not even listed
    Q.open_with_reason(omar, hit.client_id, "Covering for Nina today")
    (hit,) = Q.find(omar, "smith")
    assert hit.mine


# ---------------------------------------------------------------- Caseload and Journey


def test_caseload_filters_sorts_pages(team):
    nina = team["nina"]
    refs = [
        new_referral(nina, first=n, received=date(2026, 11, d))
        for n, d in (("Ann", 2), ("Bea", 3), ("Cal", 4), ("Dee", 5))
    ]
    J.decide(nina, refs[1].journey_id, "accepted", date(2026, 11, 6))
    J.close(nina, refs[3].journey_id, date(2026, 11, 6), "declined")
    page = Q.caseload(nina)
    assert page.total == 3  # open only
    assert {r.state for r in page.rows} == {"received", "accepted"}
    assert Q.caseload(nina, open_only=False).total == 4
    assert [r.client_name for r in Q.caseload(nina, states=["accepted"]).rows] == ["Bea Smith"]
    assert [r.client_name for r in Q.caseload(nina, sort="client").rows] == ["Ann Smith", "Bea Smith", "Cal Smith"]
    assert next(r.client_name for r in Q.caseload(nina, sort="received", descending=True).rows) == "Cal Smith"
    p1 = Q.caseload(nina, sort="client", limit=2)
    p2 = Q.caseload(nina, sort="client", limit=2, offset=2)
    assert [r.client_name for r in p1.rows + p2.rows] == ["Ann Smith", "Bea Smith", "Cal Smith"]
    assert [r.client_name for r in Q.caseload(nina, text_filter="be").rows] == ["Bea Smith"]
    assert Q.caseload(nina, text_filter="100%_\\").total == 0  # wildcards are literal
    row = next(r for r in page.rows if r.client_name == "Ann Smith")
    assert row.next_action == "Awaiting first contact" and row.next_due == date(2026, 11, 4)
    assert row.days_in_state == 17  # working days from 2 to 25 November 2026


def test_journey_detail_is_audited_and_lists_actions(ctx):
    ref = new_referral(ctx)
    d = Q.journey_detail(ctx, ref.journey_id)
    ev = last_event(ctx)
    assert (ev.action, ev.journey_id) == ("view.journey", ref.journey_id)
    assert d.available_actions == {"contact", "decide", "close", "reassign"}
    assert set(d.end_reasons) == {
        "no_response",
        "declined",
        "insufficient_information",
        "not_aware_of_referral",
        "moved_away",
        "other",
    }
    assert [t.kind for t in d.tasks] == ["first_contact"] and d.tasks[0].overdue
    J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke")
    J.decide(ctx, ref.journey_id, "accepted", date(2026, 11, 4))
    J.start(ctx, ref.journey_id, date(2026, 11, 5), SWEMWBS_MID)
    d = Q.journey_detail(ctx, ref.journey_id, audit_view=False)
    assert "completed" in d.end_reasons and "declined" not in d.end_reasons
    assert "onward" in d.available_actions
    kinds = [e.kind for e in d.timeline]
    assert kinds == ["received", "contact", "decision", "start"]
    with pytest.raises(NotFound):
        Q.journey_detail(ctx, 99999)


def test_access_grants_are_stored(team, ctx):
    ref = new_referral(team["nina"])
    Q.open_with_reason(team["omar"], ref.client_id, "Duty cover this afternoon")
    with ctx.read() as s:
        (g,) = s.exec(select(AccessGrant)).all()
    assert g.reason == "Duty cover this afternoon" and g.client_id == ref.client_id


def test_team_lead_lists_another_navigators_work_in_their_lots_only(team, ctx):
    """Today and Caseload for another navigator show only journeys in the lead's own lots."""
    nina, tess, lena = team["nina"], team["tess"], team["lena"]
    west = new_referral(nina, first="West", received=date(2026, 11, 16))  # Lot 2
    east = new_referral(ctx, first="East", locality="Dover", navigator="nina", received=date(2026, 11, 16))  # Lot 4
    assert {i.journey_id for i in Q.today(nina).items} == {west.journey_id, east.journey_id}
    assert Q.caseload(nina).total == 2
    assert {i.journey_id for i in Q.today(tess, "nina").items} == {west.journey_id}
    assert {r.journey_id for r in Q.caseload(tess, "nina").rows} == {west.journey_id}
    assert Q.caseload(tess, "nina").total == 1
    assert {i.journey_id for i in Q.today(lena, "nina").items} == {east.journey_id}
    assert {r.journey_id for r in Q.caseload(lena, "nina", open_only=False).rows} == {east.journey_id}
    # the admin sees all of it
    assert Q.caseload(ctx, "nina").total == 2


def test_a_navigator_cannot_refer_a_known_person_outside_their_lots(ctx):
    """A referral for an existing person is a way into their record: only within the user's lots."""
    from conftest import make_user, new_referral
    from navigator.domain.errors import AccessDenied
    from navigator.services.casework.journeys import ReferralInput, receive_referral

    ref = new_referral(ctx, first="Dan", last="Far", locality="Thanet")  # Lot 4
    west = make_user(ctx, "wes", "navigator", ("Lot 2",))
    with pytest.raises(AccessDenied):
        receive_referral(west, ReferralInput(received_date=date(2026, 11, 20), source="gp", client_id=ref.client_id))
    east = make_user(ctx, "eve", "navigator", ("Lot 4",))
    again = receive_referral(  # the first journey is still open: a second one, confirmed (issue 15)
        east, ReferralInput(received_date=date(2026, 11, 20), source="gp", client_id=ref.client_id, second_journey=True)
    )
    assert again.client_id == ref.client_id
