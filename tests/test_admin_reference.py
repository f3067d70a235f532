"""Reference data, partners and programmes: add, rename, retire; history keeps its meaning."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from conftest import make_user, new_referral
from navigator.domain.errors import DomainError, NotFound
from navigator.services.casework import journeys as J
from navigator.services.setup import admin
from navigator.services.setup.reference import reference
from navigator.store.models import AuditEvent


def last_event(ctx, action):
    with ctx.read() as s:
        return s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())).first()


def test_add_rename_retire_each_kind(ctx):
    admin.add_reference(ctx, "lot", "Lot 5", "Medway")
    loc = admin.add_reference(ctx, "localities", "Rochester", lot="Lot 5")
    assert (loc.name, loc.lot) == ("Rochester", "Lot 5")
    for kind, code, name in (
        ("source", "pharmacy", "Community pharmacy"),
        ("area", "digital", "Digital skills"),
        ("outcome", "carer", "Support as a carer"),
    ):
        row = admin.add_reference(ctx, kind, code, name)
        assert (row.code, row.name, row.active) == (code, name, True)
        ev = last_event(ctx, "reference.add")
        assert json.loads(ev.after) == {"code": code, "name": name, "active": True}
        admin.rename_reference(ctx, kind, code, name + " (new)")
        ev = last_event(ctx, "reference.rename")
        assert json.loads(ev.before) == {"name": name} and json.loads(ev.after) == {"name": name + " (new)"}
        admin.retire_reference(ctx, kind, code)
        assert not [r for r in admin.list_reference(ctx, kind, include_retired=False) if r.code == code]
        assert next(r for r in admin.list_reference(ctx, kind) if r.code == code).active is False
        admin.unretire_reference(ctx, kind, code)
    ref = reference(ctx)
    assert "Rochester" in [x.name for x in ref.localities]
    assert "pharmacy" in [x.code for x in ref.sources]


def test_refusals(ctx):
    with pytest.raises(DomainError, match="code"):
        admin.add_reference(ctx, "source", "Bad Code", "Bad")
    with pytest.raises(DomainError, match="already used"):
        admin.add_reference(ctx, "source", "gp", "General practice")
    with pytest.raises(DomainError, match="already called"):
        admin.add_reference(ctx, "source", "gp2", "GP / primary care")
    with pytest.raises(DomainError, match="already called"):
        admin.rename_reference(ctx, "locality", "Dover", "Thanet")
    with pytest.raises(DomainError, match="lot"):
        admin.add_reference(ctx, "locality", "Nowhere")
    with pytest.raises(NotFound):
        admin.add_reference(ctx, "locality", "Nowhere", lot="Lot 9")
    with pytest.raises(DomainError, match="kind"):
        admin.list_reference(ctx, "colours")
    with pytest.raises(DomainError, match="active localities"):
        admin.retire_reference(ctx, "lot", "Lot 4")
    admin.retire_reference(ctx, "source", "other")
    with pytest.raises(DomainError, match="already retired"):
        admin.retire_reference(ctx, "source", "other")


def test_rename_locality_keeps_journeys(ctx):
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    ref = new_referral(nav, locality="Maidstone")
    with ctx.read() as s:
        from navigator.store.models import Journey

        before = s.get(Journey, ref.journey_id).model_dump()
    admin.rename_reference(ctx, "locality", "Maidstone", "Maidstone Town")
    with ctx.read() as s:
        after = s.get(Journey, ref.journey_id).model_dump()
    assert before == after  # the journey refers by id: nothing about it changed
    from navigator.services.casework import queries as Q

    assert Q.journey_detail(nav, ref.journey_id).locality == "Maidstone Town"
    # the new name is what forms and the import use now
    new_referral(nav, first="Zed", last="Ray", locality="Maidstone Town")
    with pytest.raises(DomainError):
        new_referral(nav, first="Old", last="Name", locality="Maidstone")


def test_retired_source_not_offered_but_history_kept(ctx):
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    ref = new_referral(nav, source="jobcentre")
    admin.retire_reference(ctx, "source", "jobcentre")
    with pytest.raises(DomainError):
        new_referral(nav, first="New", last="Person", source="jobcentre")
    from navigator.services.casework import queries as Q

    assert Q.journey_detail(nav, ref.journey_id).source == "Jobcentre"


def test_partners_and_programmes(ctx):
    p = admin.add_partner(ctx, "Medway Money", "01634 000000")
    assert (p.name, p.contact, p.active, p.programmes) == ("Medway Money", "01634 000000", True, ())
    g = admin.add_programme(
        ctx,
        "medway money",
        "Debt clinic",
        localities=["Maidstone", "Sevenoaks"],
        eligibility_notes="Kent residents in debt",
        expected_response_days=7,
        contact="debt@example.org",
    )
    assert (g.partner, g.name, g.localities, g.expected_response_days, g.serves_all) == (
        "Medway Money",
        "Debt clinic",
        ("Maidstone", "Sevenoaks"),
        7,
        False,
    )
    ev = last_event(ctx, "programme.add")
    assert json.loads(ev.after)["localities"] == ["Maidstone", "Sevenoaks"]
    g2 = admin.add_programme(ctx, p.id, "Benefits check")
    assert g2.expected_response_days == admin.get_protocol(ctx).partner_response_days and g2.serves_all

    g = admin.edit_programme(
        ctx, "Medway Money: Debt clinic", localities=[], expected_response_days=12, eligibility_notes=""
    )
    assert (g.localities, g.expected_response_days, g.eligibility_notes) == ((), 12, None)
    ev = last_event(ctx, "programme.edit")
    assert json.loads(ev.before)["expected_response_days"] == 7
    assert json.loads(ev.after)["expected_response_days"] == 12

    admin.retire_programme(ctx, g.id)
    assert last_event(ctx, "programme.retire") is not None
    labels = [x.label for x in reference(ctx).programmes]
    assert "Medway Money: Debt clinic" not in labels and "Medway Money: Benefits check" in labels
    admin.retire_partner(ctx, "Medway Money")
    assert not [x for x in reference(ctx).programmes if x.partner == "Medway Money"]
    assert [x for x in reference(ctx, include_retired=True).programmes if x.partner == "Medway Money"]
    admin.retire_partner(ctx, "Medway Money", retired=False)
    admin.edit_partner(ctx, "Medway Money", name="Medway Money Advice", contact="")
    p = admin.get_partner(ctx, "Medway Money Advice")
    assert (p.contact, p.active) == (None, True)

    with pytest.raises(DomainError, match="already"):
        admin.add_partner(ctx, "medway money advice")
    with pytest.raises(DomainError, match="1 to 250"):
        admin.add_programme(ctx, p.id, "Quick", expected_response_days=0)
    with pytest.raises(NotFound):
        admin.add_programme(ctx, p.id, "Somewhere", localities=["Atlantis"])
    with pytest.raises(NotFound):
        admin.edit_programme(ctx, 9999, name="X")


def test_retired_programme_keeps_past_onward_referrals(ctx):
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    ref = new_referral(nav)
    from datetime import date

    J.log_contact(nav, ref.journey_id, date(2026, 11, 3), "phone", "spoke")
    J.decide(nav, ref.journey_id, "accepted", date(2026, 11, 3))
    J.start(nav, ref.journey_id, date(2026, 11, 4))
    prog = next(x for x in reference(ctx).programmes if x.name == "Debt advice")
    J.make_onward(nav, ref.journey_id, prog.id, date(2026, 11, 5))
    admin.retire_programme(ctx, prog.id)
    from navigator.services.casework import queries as Q

    assert [o.programme for o in Q.journey_detail(nav, ref.journey_id).onward] == ["Debt advice"]
    with pytest.raises(DomainError):
        J.make_onward(nav, ref.journey_id, prog.id, date(2026, 11, 6))
