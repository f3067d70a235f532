"""Only admins change configuration: each service called as a navigator and a team lead is refused,
and the store is left as it was. Every change an admin makes leaves an audit event."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func
from sqlmodel import select

from conftest import make_user
from navigator.domain.errors import AccessDenied
from navigator.services.casework import letters
from navigator.services.setup import admin, config_io
from navigator.store.models import AuditEvent

WORDING_LINES = [f"S{i}" for i in range(1, 8)]

# (name, call) for every configuration change an admin can make
CHANGES = [
    ("add_user", lambda c: admin.add_user(c, "newbie", "New Bie", "navigator")),
    ("edit_user", lambda c: admin.edit_user(c, "other", name="Renamed")),
    ("deactivate_user", lambda c: admin.deactivate_user(c, "other")),
    ("reactivate_user", lambda c: admin.reactivate_user(c, "gone")),
    ("add_reference", lambda c: admin.add_reference(c, "source", "pharmacy", "Pharmacy")),
    ("rename_reference", lambda c: admin.rename_reference(c, "locality", "Maidstone", "Maidstone Town")),
    ("retire_reference", lambda c: admin.retire_reference(c, "source", "jobcentre")),
    ("unretire_reference", lambda c: admin.unretire_reference(c, "source", "retired_src")),
    ("add_partner", lambda c: admin.add_partner(c, "New Partner")),
    ("edit_partner", lambda c: admin.edit_partner(c, "Calm Kent", contact="x")),
    ("retire_partner", lambda c: admin.retire_partner(c, "Green Paths")),  # retires its programmes too
    ("add_programme", lambda c: admin.add_programme(c, "Calm Kent", "Pilates")),
    ("edit_programme", lambda c: admin.edit_programme(c, "Calm Kent: Yoga", expected_response_days=3)),
    ("retire_programme", lambda c: admin.retire_programme(c, "Calm Kent: Yoga")),
    ("set_protocol", lambda c: admin.set_protocol(c, opt_in_days=5)),
    ("set_wording", lambda c: admin.set_wording(c, WORDING_LINES, "(c)")),
    ("set_threshold", lambda c: admin.set_threshold(c, "2")),
    ("set_ons4", lambda c: admin.set_ons4(c, True)),
    ("set_service_details", lambda c: admin.set_service_details(c, name="LWK")),
    ("set_calendar_day", lambda c: admin.set_calendar_day(c, date(2026, 5, 8), working=False)),
    ("remove_calendar_day", lambda c: admin.remove_calendar_day(c, date(2026, 12, 28))),
    ("set_template", lambda c: letters.set_template(c, "opt_in_letter", "Dear {client_first_name},\n")),
    ("reset_template", lambda c: letters.reset_template(c, "closure_notice")),
    ("export_config", lambda c: config_io.export_config(c)),
    ("import_config", lambda c: config_io.import_config(c, EXPORTED[0])),
]
EXPORTED: list[str] = []


@pytest.fixture
def prepared(ctx):
    make_user(ctx, "other", "navigator", ("Lot 2",))
    make_user(ctx, "gone", "navigator")
    admin.deactivate_user(ctx, "gone")
    admin.add_reference(ctx, "source", "retired_src", "Retired source")
    admin.retire_reference(ctx, "source", "retired_src")
    admin.set_calendar_day(ctx, date(2026, 12, 28), working=True)
    letters.set_template(ctx, "closure_notice", "Dear {referrer},\n")
    EXPORTED[:] = [config_io.export_config(ctx)]
    return ctx


def audit_count(ctx) -> int:
    with ctx.read() as s:
        return s.exec(select(func.count()).select_from(AuditEvent)).one()


def test_only_admins(prepared):
    ctx = prepared
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    for name, call in CHANGES:  # one store for all (a store per case would be slow)
        snapshot = config_io.export_config(ctx)
        events = audit_count(ctx)
        for who in (nav, lead):
            with pytest.raises(AccessDenied):
                call(who)
        assert audit_count(ctx) == events, name
        assert config_io.export_config(ctx) == snapshot, name
        # and the admin may, leaving an audit event
        events = audit_count(ctx)
        call(ctx)
        assert audit_count(ctx) > events, name


def test_reading_is_open_but_user_list_is_for_leads(prepared):
    ctx = prepared
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    assert admin.get_protocol(nav) == admin.get_protocol(ctx)
    assert admin.list_reference(nav, "locality")
    assert admin.list_partners(nav)
    assert admin.list_calendar(nav)
    assert letters.list_templates(nav)
    assert not admin.swemwbs_wording(nav).configured
    with pytest.raises(AccessDenied):
        admin.list_users(nav)
    with pytest.raises(AccessDenied):
        admin.open_journeys_of(nav, "other")
    assert [u.username for u in admin.list_users(lead)]
