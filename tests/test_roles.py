"""Roles, enforced in the services: every casework service called as every kind of user.

- navigator: their own caseload, plus journeys in their lots opened through Find with a reason (audited);
- team_lead: every journey in their lots;
- admin: everything.
Deactivated users cannot open the store; ``--as USER`` is recorded in every audit event.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from conftest import make_user, new_referral
from helpers.dump import dump_engine
from navigator.cli import main
from navigator.domain.errors import AccessDenied
from navigator.services import audit
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.context import Ctx
from navigator.store.models import AuditEvent, Journey, User

pytestmark = pytest.mark.both_backends

D = date(2026, 11, 2)
_names = itertools.count(1)

# Who asks, and whether they may: the journey belongs to nav1, in Maidstone (Lot 2).
ROLES = {
    "owner": True,  # nav1, the journey's navigator
    "navigator_same_lot": False,  # nav2, Lot 2, no reason given
    "navigator_with_reason": True,  # nav2 after opening the person through Find with a reason
    "navigator_other_lot": False,  # nav3, Lot 1
    "team_lead_same_lot": True,  # lead2, Lot 2
    "team_lead_other_lot": False,  # lead1, Lot 1
    "admin": True,
}


@pytest.fixture
def team(ctx):
    return {
        "admin": ctx,
        "nav1": make_user(ctx, "nav1", "navigator", ("Lot 2",)),
        "nav2": make_user(ctx, "nav2", "navigator", ("Lot 2",)),
        "nav3": make_user(ctx, "nav3", "navigator", ("Lot 1",)),
        "lead2": make_user(ctx, "lead2", "team_lead", ("Lot 2",)),
        "lead1": make_user(ctx, "lead1", "team_lead", ("Lot 1",)),
    }


def _who(team, role, client_id) -> Ctx:
    return {
        "owner": lambda: team["nav1"],
        "navigator_same_lot": lambda: team["nav2"],
        "navigator_with_reason": lambda: (
            Q.open_with_reason(team["nav2"], client_id, "Covering a colleague"),
            team["nav2"],
        )[1],
        "navigator_other_lot": lambda: team["nav3"],
        "team_lead_same_lot": lambda: team["lead2"],
        "team_lead_other_lot": lambda: team["lead1"],
        "admin": lambda: team["admin"],
    }[role]()


# Each service: how to bring a fresh journey to where the service applies (as admin), and the call.
def _received(ctx):
    return new_referral(ctx, first=f"P{next(_names)}", navigator="nav1", received=D)


def _accepted(ctx):
    ref = _received(ctx)
    J.decide(ctx, ref.journey_id, "accepted", D + timedelta(days=1))
    return ref


def _started(ctx):
    ref = _accepted(ctx)
    J.start(ctx, ref.journey_id, D + timedelta(days=2), [3] * 7)
    return ref


def _with_goal(ctx):
    ref = _started(ctx)
    return ref, J.add_goal(ctx, ref.journey_id, "connect", "I will join a group")


def _with_onward(ctx):
    ref = _started(ctx)
    return ref, J.make_onward(ctx, ref.journey_id, 1, D + timedelta(days=3))


SERVICES = {
    "journey_detail": (_received, lambda c, r: Q.journey_detail(c, r.journey_id)),
    "log_contact": (_received, lambda c, r: J.log_contact(c, r.journey_id, D + timedelta(days=1), "phone", "spoke")),
    "decide": (_received, lambda c, r: J.decide(c, r.journey_id, "accepted", D + timedelta(days=1))),
    "start": (_accepted, lambda c, r: J.start(c, r.journey_id, D + timedelta(days=2), [3] * 7)),
    "close": (_received, lambda c, r: J.close(c, r.journey_id, D + timedelta(days=1), "declined")),
    "add_goal": (_started, lambda c, r: J.add_goal(c, r.journey_id, "connect", "I will go for walks")),
    "update_goal": (_with_goal, lambda c, r: J.update_goal(c, r[1], status="in_progress")),
    "record_review": (_started, lambda c, r: J.record_review(c, r.journey_id, D + timedelta(days=5), "ok")),
    "record_measure": (
        _started,
        lambda c, r: J.record_measure(c, r.journey_id, "review", D + timedelta(days=5), [4] * 7),
    ),
    "make_onward": (_started, lambda c, r: J.make_onward(c, r.journey_id, 1, D + timedelta(days=3))),
    "partner_update": (_with_onward, lambda c, r: J.partner_update(c, r[1], "started", D + timedelta(days=4))),
    "update_client": (
        _received,
        lambda c, r: J.update_client(
            c,
            r.client_id,
            J.ClientInput(f"Changed{next(_names)}", "Name", date(1980, 1, 1), "Maidstone", consent_to_share=True),
        ),
    ),
    "reassign": (_received, lambda c, r: J.reassign(c, [r.journey_id], "nav2")),
}


def _client_id(r):
    return (r[0] if isinstance(r, tuple) else r).client_id


@pytest.mark.parametrize("service", list(SERVICES))
def test_each_service_as_each_role(ctx, team, service):
    prepare, call = SERVICES[service]
    for role, allowed in ROLES.items():
        ref = prepare(ctx)
        who = _who(team, role, _client_id(ref))
        if service == "reassign" and role == "navigator_with_reason":
            allowed = False  # a reason lets a navigator work on a journey, not give it away
        if allowed:
            call(who, ref)
            with ctx.read() as s:
                ev = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
            assert ev.username == who.username, (service, role)
        else:
            before = dump_engine(ctx.store.engine)
            with pytest.raises(AccessDenied):
                call(who, ref)
            assert dump_engine(ctx.store.engine) == before, (service, role)  # refused: nothing written


def test_caseload_and_today_of_others_need_a_team_lead_and_show_only_their_lots(ctx, team):
    new_referral(ctx, navigator="nav1")
    assert Q.caseload(team["lead2"], "nav1").total == 1
    assert Q.today(team["lead2"], "nav1").navigator == "nav1"
    with pytest.raises(AccessDenied):
        Q.caseload(team["nav2"], "nav1")
    with pytest.raises(AccessDenied):
        Q.today(team["nav2"], "nav1")
    # A team lead of another lot sees none of nav1's journeys in Lot 2.
    assert Q.caseload(team["lead1"], "nav1").total == 0
    assert Q.today(team["lead1"], "nav1").items == ()
    assert Q.caseload(team["nav1"]).total == 1


def test_find_shows_what_each_role_may_open(ctx, team):
    ref = new_referral(ctx, first="Findme", navigator="nav1")
    hits = {name: Q.find(team[name], "Findme") for name in ("nav1", "nav2", "nav3", "lead2", "lead1", "admin")}
    assert [h.mine for h in hits["nav1"]] == [True]
    assert [h.mine for h in hits["nav2"]] == [False]  # in their lot: listed, opened only with a reason
    assert hits["nav3"] == [] and hits["lead1"] == []  # other lots: not listed at all
    assert [h.mine for h in hits["lead2"]] == [True] and [h.mine for h in hits["admin"]] == [True]
    Q.open_with_reason(team["nav2"], ref.client_id, "Duty cover today")
    assert [h.mine for h in Q.find(team["nav2"], "Findme")] == [True]
    with pytest.raises(AccessDenied):
        Q.open_with_reason(team["nav3"], ref.client_id, "Just curious, honestly")


# ---------------------------------------------------------------- deactivated users, --as


def _deactivate(ctx, username):
    with ctx.write() as s:
        s.execute(update(User).where(User.username == username).values(active=False))
        audit.record(s, ctx, "user.deactivate", "user", None, after={"username": username})


def _db(ctx, db_path, backend):
    return ["--db", str(db_path)] if backend == "sqlite" else ["--db-url", ctx.store.url]


@pytest.fixture
def login(monkeypatch):
    def as_(name):
        monkeypatch.setattr("navigator.services.context.os_username", lambda: name)

    return as_


def test_deactivated_user_cannot_open_the_store(ctx, team, db_path, backend, login, capsys):
    new_referral(ctx, navigator="nav1")
    _deactivate(ctx, "nav1")
    login("nav1")
    for command in (["init"], ["audit", "--client", "NAV000001"], ["backup"]):
        assert main(_db(ctx, db_path, backend) + command) == 3
        assert "deactivated" in capsys.readouterr().err
    with pytest.raises(AccessDenied, match="deactivated"):
        Ctx(ctx.store, username="nav1").actor()
    # Their journeys are still there for the team lead to reassign.
    with ctx.read() as s:
        nav1 = s.exec(select(User).where(User.username == "nav1")).one()
        assert s.exec(select(Journey).where(Journey.navigator_id == nav1.id)).all()
    J.reassign(team["lead2"], [1], "nav2")


def test_acting_as_is_recorded_in_every_event(ctx, team, db_path, backend, login, capsys, tmp_path):
    ref = new_referral(ctx, navigator="nav1")
    login("admin")
    n = len(dump_engine(ctx.store.engine)["audit_event"])
    assert main(_db(ctx, db_path, backend) + ["--as", "lead2", "audit", "--client", ref.client_ref]) == 0
    assert (
        main(_db(ctx, db_path, backend) + ["--as", "lead2", "sar", ref.client_ref, "--out", str(tmp_path / "sar")]) == 0
    )
    # Services called with an acting context record it too, on every write and view.
    acting = Ctx(ctx.store, username="nav1", acting_as="admin", today_fn=ctx.today_fn)
    J.log_contact(acting, ref.journey_id, date(2026, 11, 3), "phone", "spoke")
    Q.journey_detail(acting, ref.journey_id)
    Q.find(acting, "Smith")
    with ctx.read() as s:
        new = s.exec(select(AuditEvent).where(AuditEvent.id > n).order_by(AuditEvent.id)).all()
    assert [e.action for e in new] == ["view.audit", "sar.export", "journey.contact", "view.journey", "search"]
    assert [(e.username, e.acting_as) for e in new] == [("lead2", "admin")] * 2 + [("nav1", "admin")] * 3


def test_only_admins_may_act_as_someone_else(ctx, team, db_path, backend, login, capsys):
    login("lead2")
    assert main(_db(ctx, db_path, backend) + ["--as", "nav1", "init"]) == 3
    assert "Only an admin" in capsys.readouterr().err
    login("admin")
    _deactivate(ctx, "nav3")
    assert main(_db(ctx, db_path, backend) + ["--as", "nav3", "init"]) == 3
    assert "deactivated" in capsys.readouterr().err
    assert main(_db(ctx, db_path, backend) + ["--as", "nobody_here", "init"]) == 3
    assert "no account" in capsys.readouterr().err
