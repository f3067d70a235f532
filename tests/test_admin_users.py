"""Users: add, edit, deactivate, reactivate; the last admin is protected; every change audited."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import select

from conftest import make_user, new_referral
from navigator.domain.errors import AccessDenied, DomainError, NotFound
from navigator.services.casework import journeys as J
from navigator.services.context import Ctx
from navigator.services.setup import admin
from navigator.store.models import AuditEvent


def events(ctx: Ctx, action: str) -> list[AuditEvent]:
    with ctx.read() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all())


def test_add_edit_list(ctx):
    u = admin.add_user(ctx, "j.smith", "Jo Smith", "navigator", ["Lot 1", "West Kent"])
    assert (u.username, u.name, u.role, u.active, u.lots) == (
        "j.smith",
        "Jo Smith",
        "navigator",
        True,
        ("Lot 1", "Lot 2"),
    )
    ev = events(ctx, "user.add")[-1]
    assert json.loads(ev.after)["lots"] == ["Lot 1", "Lot 2"] and ev.username == "admin"

    u = admin.edit_user(ctx, "j.smith", role="team_lead", lots=["Lot 3"])
    assert (u.role, u.lots, u.name) == ("team_lead", ("Lot 3",), "Jo Smith")
    ev = events(ctx, "user.edit")[-1]
    assert json.loads(ev.before) == {"role": "navigator", "lots": ["Lot 1", "Lot 2"], "username": "j.smith"}
    assert json.loads(ev.after) == {"role": "team_lead", "lots": ["Lot 3"], "username": "j.smith"}

    # nothing changed: no event
    n = len(events(ctx, "user.edit"))
    admin.edit_user(ctx, "j.smith", name="Jo Smith")
    assert len(events(ctx, "user.edit")) == n

    names = [r.username for r in admin.list_users(ctx)]
    assert names == ["admin", "j.smith"]


def test_username_rules(ctx):
    for bad in ("", "J.Smith", "jo smith", "jo@x", "a" * 65, "émile", "x\x1b[31m"):
        with pytest.raises(DomainError) as exc:
            admin.add_user(ctx, bad, "Someone", "navigator")
        assert exc.value.field == "username", bad
    for good in ("j.smith", "jo_smith-2", "a" * 64):
        admin.add_user(ctx, good, "Someone", "navigator")


def test_refusals_leave_store_unchanged(ctx):
    admin.add_user(ctx, "ann", "Ann", "navigator")
    before = admin.list_users(ctx)
    with pytest.raises(DomainError):
        admin.add_user(ctx, "ann", "Ann Again", "navigator")
    with pytest.raises(DomainError):
        admin.add_user(ctx, "bob", "Bob", "superuser")
    with pytest.raises(NotFound):
        admin.add_user(ctx, "bob", "Bob", "navigator", ["Lot 9"])
    with pytest.raises(DomainError):
        admin.add_user(ctx, "bob", "   ", "navigator")
    with pytest.raises(NotFound):
        admin.edit_user(ctx, "nobody", name="X")
    assert admin.list_users(ctx) == before


def test_deactivate_lists_open_journeys_and_blocks_login(ctx):
    nav = make_user(ctx, "nav1", "navigator", ("Lot 2",))
    open_ref = new_referral(nav, first="Ann")
    closed_ref = new_referral(nav, first="Bea", last="Jones")
    J.decide(nav, closed_ref.journey_id, "rejected", date(2026, 11, 3), reason="out_of_area")
    admin.deactivate_user(ctx, "nav1")
    rows = admin.open_journeys_of(ctx, "nav1")
    assert [r.journey_id for r in rows] == [open_ref.journey_id]
    assert rows[0].client_name == "Ann Smith" and rows[0].state == "received"
    # a deactivated user cannot open the store
    again = Ctx(ctx.store, username="nav1", today_fn=ctx.today_fn)
    with pytest.raises(AccessDenied):
        again.actor()
    with pytest.raises(DomainError):
        admin.deactivate_user(ctx, "nav1")
    # a team lead reassigns them
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    admin.add_user(ctx, "nav2", "Nav Two", "navigator", ["Lot 2"])
    J.reassign(lead, [r.journey_id for r in rows], "nav2")
    assert admin.open_journeys_of(lead, "nav1") == ()
    admin.reactivate_user(ctx, "nav1")
    assert Ctx(ctx.store, username="nav1").actor().username == "nav1"
    assert [e.action for e in events(ctx, "user.deactivate")] == ["user.deactivate"]
    assert len(events(ctx, "user.reactivate")) == 1


def test_team_lead_sees_only_their_lots(ctx):
    nav = make_user(ctx, "nav1", "navigator", ("Lot 1", "Lot 2"))
    new_referral(nav, first="Ann", locality="Maidstone")  # Lot 2
    new_referral(nav, first="Cat", last="Brown", locality="Dartford")  # Lot 1
    lead = make_user(ctx, "lead", "team_lead", ("Lot 1",))
    assert [r.locality for r in admin.open_journeys_of(lead, "nav1")] == ["Dartford"]
    assert len(admin.open_journeys_of(ctx, "nav1")) == 2


def test_last_active_admin_is_protected(ctx):
    with pytest.raises(DomainError, match="last active admin"):
        admin.deactivate_user(ctx, "admin")
    with pytest.raises(DomainError, match="last active admin"):
        admin.edit_user(ctx, "admin", role="team_lead")
    admin.add_user(ctx, "second", "Second Admin", "admin")
    admin.deactivate_user(ctx, "second")
    with pytest.raises(DomainError, match="last active admin"):
        admin.deactivate_user(ctx, "admin")
    admin.reactivate_user(ctx, "second")
    admin.edit_user(ctx, "admin", role="team_lead")  # now allowed: another admin exists
    assert ctx.actor().role == "team_lead"  # the cached actor was refreshed
    with pytest.raises(AccessDenied):
        admin.add_user(ctx, "x", "X", "navigator")
