"""Configuration export/import: round trip, idempotent, checked first, all or nothing, audited."""

from __future__ import annotations

import tomllib
from datetime import date

import pytest
from sqlalchemy import func
from sqlmodel import select

from navigator.domain.errors import DomainError, ValidationErrors
from navigator.services.casework import letters
from navigator.services.setup import admin, config_io
from navigator.services.setup.reference import open_ready
from navigator.store.models import AuditEvent

pytestmark = pytest.mark.both_backends  # config export/import on SQLite and PostgreSQL


def configure(ctx) -> None:
    admin.add_user(ctx, "j.smith", "Jo Smith", "navigator", ["Lot 1", "Lot 2"])
    admin.add_user(ctx, "t.lead", "Tee Lead", "team_lead", ["Lot 2"])
    admin.add_user(ctx, "leaver", "Lee Ver", "navigator", ["Lot 3"])
    admin.deactivate_user(ctx, "leaver")
    admin.add_reference(ctx, "lot", "Lot 5", "Medway")
    admin.add_reference(ctx, "locality", "Rochester", lot="Lot 5")
    admin.add_reference(ctx, "locality", "Chatham", lot="Lot 5")
    admin.retire_reference(ctx, "locality", "Chatham")
    admin.add_reference(ctx, "source", "pharmacy", "Community pharmacy")
    admin.retire_reference(ctx, "source", "jobcentre")
    admin.rename_reference(ctx, "area", "money", "Money and debt")
    admin.add_reference(ctx, "outcome", "carer", "Support as a carer")
    admin.add_partner(ctx, "Medway Money", "01634 000000\nmoney@example.org")
    admin.add_programme(
        ctx,
        "Medway Money",
        "Debt clinic",
        localities=["Rochester", "Maidstone"],
        eligibility_notes="Adults in debt",
        expected_response_days=7,
        contact="Ask for Sam",
    )
    admin.retire_programme(ctx, "Calm Kent: Yoga")
    admin.retire_partner(ctx, "Green Paths")
    admin.set_protocol(
        ctx, attempts=2, gaps=[3], methods=["phone", "letter"], opt_in_days=5, notify_referrer=False, review_every=20
    )
    admin.set_wording(ctx, [f"Statement {i} wording" for i in range(1, 8)], "(c) Licensed")
    admin.set_threshold(ctx, "2.5")
    admin.set_ons4(ctx, True)
    admin.set_service_details(ctx, name="Live Well Kent", phone="0800 000 0000", address="1 High St\nMaidstone")
    admin.set_calendar_day(ctx, date(2026, 5, 8), working=False, note="Extra bank holiday")
    admin.set_calendar_day(ctx, date(2026, 12, 28), working=True)
    letters.set_template(ctx, "opt_in_letter", "Dear {client_first_name},\n\nPlease call {service_phone}.\n")


def fresh(tmp_path, name: str):
    return open_ready(f"sqlite:///{tmp_path / name}", username="admin", today_fn=lambda: date(2026, 11, 25))


def test_round_trip_gives_the_same_toml(ctx, tmp_path):
    configure(ctx)
    first = config_io.export_config(ctx)
    data = tomllib.loads(first)
    assert data["format"] == "navigator-config" and data["measures"]["swemwbs_threshold"] == "2.5"
    store, other = fresh(tmp_path, "second.sqlite3")
    try:
        report = config_io.import_config(other, first)
        assert report.changed and not report.dry_run
        second = config_io.export_config(other)
        assert second == first
        # importing again changes nothing (idempotent); only the import itself is recorded
        with other.read() as s:
            n = s.exec(select(func.count()).select_from(AuditEvent)).one()
        assert config_io.import_config(other, first).changes == ()
        with other.read() as s:
            assert s.exec(select(func.count()).select_from(AuditEvent)).one() == n + 1
        assert not other.calendar().is_working_day(date(2026, 5, 8))
    finally:
        store.dispose()


def test_import_is_audited_per_change(ctx, tmp_path):
    configure(ctx)
    text = config_io.export_config(ctx)
    store, other = fresh(tmp_path, "second.sqlite3")
    try:
        report = config_io.import_config(other, text)
        with other.read() as s:
            actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
        assert actions[-1] == "config.import"
        for a in (
            "user.add",
            "reference.add",
            "reference.rename",
            "reference.retire",
            "partner.add",
            "programme.add",
            "config.protocol",
            "config.wording",
            "config.threshold",
            "config.ons4",
            "calendar.set",
            "letter.template",
        ):
            assert a in actions, a
        assert "add user j.smith" in report.changes
    finally:
        store.dispose()


def test_dry_run_changes_nothing(ctx, tmp_path):
    configure(ctx)
    text = config_io.export_config(ctx)
    store, other = fresh(tmp_path, "second.sqlite3")
    try:
        before = config_io.export_config(other)
        report = config_io.import_config(other, text, dry_run=True)
        assert report.dry_run and "add user j.smith" in report.changes
        after = config_io.export_config(other)
        assert after == before
    finally:
        store.dispose()


BAD_EDITS = [
    (lambda d: d["users"].append({"username": "Bad Name", "name": "X", "role": "navigator"}), "users"),
    (lambda d: d["users"].append({"username": "x", "name": "X", "role": "wizard"}), "users"),
    (lambda d: d["protocol"].update(attempts=5), "protocol"),
    (lambda d: d["measures"].update(swemwbs_threshold="lots"), "measures.swemwbs_threshold"),
    (lambda d: d["letters"].update(partner_summary="{client_nhs_number}"), "letters.partner_summary"),
    (lambda d: d["letters"].update(my_letter="Hi"), "letters.my_letter"),
    (lambda d: d.update(colour="blue"), "file.colour"),
    (lambda d: d["sources"].append({"code": "gp", "name": "Again"}), "sources"),
    (lambda d: d["calendar"].append({"day": "someday", "working": False}), "calendar"),
]


def test_bad_file_refused_whole(ctx):
    import tomli_w

    before = config_io.export_config(ctx)
    for edit, where in BAD_EDITS:
        data = tomllib.loads(before)
        data["users"].append({"username": "fine", "name": "Fine", "role": "navigator", "lots": []})
        edit(data)
        with pytest.raises(ValidationErrors) as exc:
            config_io.import_config(ctx, tomli_w.dumps(data))
        assert any(k.startswith(where) for k in exc.value.errors), exc.value.errors
        assert config_io.export_config(ctx) == before  # nothing at all was applied ("fine" was not added)


def test_rule_failure_while_applying_rolls_everything_back(ctx):
    import tomli_w

    data = tomllib.loads(config_io.export_config(ctx))
    data["users"].append({"username": "fine", "name": "Fine", "role": "navigator", "lots": []})
    data["localities"].append({"name": "Nowhere", "lot": "Lot 42"})  # passes the shape check, fails the rule
    before = config_io.export_config(ctx)
    with pytest.raises(DomainError, match=r"localities\[\d+\]"):
        config_io.import_config(ctx, tomli_w.dumps(data))
    assert config_io.export_config(ctx) == before


def test_import_never_leaves_no_admin(ctx):
    import tomli_w

    data = tomllib.loads(config_io.export_config(ctx))
    data["users"] = [{"username": "admin", "name": "Admin", "role": "navigator"}]
    with pytest.raises(DomainError, match="admin"):
        config_io.import_config(ctx, tomli_w.dumps(data))
    # handing admin over to someone else in one file works
    data["users"].append({"username": "new.admin", "name": "New Admin", "role": "admin"})
    config_io.import_config(ctx, tomli_w.dumps(data))
    assert {u.username: u.role for u in admin.list_users(admin_ctx(ctx, "new.admin"))} == {
        "admin": "navigator",
        "new.admin": "admin",
    }


def admin_ctx(ctx, username):
    from navigator.services.context import Ctx

    return Ctx(ctx.store, username=username, today_fn=ctx.today_fn)


def test_not_toml(ctx):
    with pytest.raises(DomainError, match="not valid TOML"):
        config_io.import_config(ctx, "this is = = not toml")
    with pytest.raises(ValidationErrors) as exc:
        config_io.import_config(ctx, 'title = "something else"\n')
    assert "format" in exc.value.errors
