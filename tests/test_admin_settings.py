"""Protocol, measures (wording, threshold, ONS4), the service's details, calendar corrections."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from navigator.domain.errors import DomainError, NotFound
from navigator.services.context import get_setting
from navigator.services.setup import admin
from navigator.services.setup.reference import meaningful_threshold
from navigator.store.models import AuditEvent

WORDING = "\n".join(
    ["# licensed wording", ""] + [f"Statement text {i}" for i in range(1, 8)] + ["(c) Test copyright line", ""]
)


def last_event(ctx, action):
    with ctx.read() as s:
        return s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())).first()


def test_protocol_set_and_audited(ctx):
    p = admin.set_protocol(ctx, attempts=2, gaps=[3], methods=["phone", "letter"], opt_in_days=5, notify_referrer=False)
    assert (p.attempts, p.gaps, p.methods, p.opt_in_days, p.notify_referrer) == (2, (3,), ("phone", "letter"), 5, False)
    assert admin.get_protocol(ctx) == p
    ev = last_event(ctx, "config.protocol")
    assert json.loads(ev.before)["attempts"] == 3 and json.loads(ev.after)["attempts"] == 2
    with ctx.read() as s:
        assert get_setting(s, "protocol")["methods"] == ["phone", "letter"]


def test_protocol_refusals_keep_it(ctx):
    before = admin.get_protocol(ctx)
    for changes in (
        {"attempts": 2},  # gaps and methods no longer fit
        {"attempts": 0, "gaps": [], "methods": []},
        {"methods": ["phone", "pigeon", "letter"]},
        {"opt_in_days": -1},
        {"gaps": "2,2"},
        {"notify_referrer": "yes"},
        {"review_every": True},
        {"colour": 3},
    ):
        with pytest.raises(DomainError):
            admin.set_protocol(ctx, **changes)
        assert admin.get_protocol(ctx) == before, changes


def test_wording_plain_and_toml(ctx):
    w = admin.swemwbs_wording(ctx)
    assert not w.configured and w.statement(3) == "Statement 3"
    w = admin.load_wording(ctx, WORDING)
    assert w.configured and w.statements[0] == "Statement text 1" and w.copyright == "(c) Test copyright line"
    with ctx.read() as s:
        assert get_setting(s, "swemwbs_wording") == {
            "statements": [f"Statement text {i}" for i in range(1, 8)],
            "copyright": "(c) Test copyright line",
        }
    toml_text = "statements = [" + ", ".join(f'"T{i}"' for i in range(1, 8)) + ']\ncopyright = "(c) T"\n'
    w = admin.load_wording(ctx, toml_text)
    assert w.labels() == tuple(f"T{i}" for i in range(1, 8))
    assert json.loads(last_event(ctx, "config.wording").before)["statements"][0] == "Statement text 1"
    admin.set_wording(ctx, None, None)
    assert not admin.swemwbs_wording(ctx).configured


def test_bad_wording_refused(ctx):
    for text in (
        "one\ntwo\n",
        "\n".join(f"S{i}" for i in range(1, 8)),  # no copyright line
        "\n".join(["Same"] * 7 + ["(c)"]),
        'statements = ["a", "b"]\ncopyright = "c"\n',
        'statements = ["a", "b", "c", "d", "e", "f", "g"]\n',
        "statements = [\n",
    ):
        with pytest.raises(DomainError):
            admin.load_wording(ctx, text)
        assert not admin.swemwbs_wording(ctx).configured, text


def test_threshold_and_ons4(ctx):
    assert admin.measure_settings(ctx).threshold == Decimal("3")
    assert admin.set_threshold(ctx, "2.5") == Decimal("2.5")
    with ctx.read() as s:
        assert get_setting(s, "swemwbs_threshold") == "2.5"
        assert meaningful_threshold(s) == Decimal("2.5")
    assert admin.set_threshold(ctx, "3.00") == Decimal("3")
    with ctx.read() as s:
        assert get_setting(s, "swemwbs_threshold") == "3"
    for bad in ("0", "-1", "abc", "NaN", "29", "1.234"):
        with pytest.raises(DomainError):
            admin.set_threshold(ctx, bad)
    assert admin.measure_settings(ctx).ons4_enabled is False
    admin.set_ons4(ctx, True)
    assert admin.measure_settings(ctx).ons4_enabled is True
    assert json.loads(last_event(ctx, "config.ons4").after) == {"ons4_enabled": True}


def test_service_details(ctx):
    assert admin.service_details(ctx).name == admin.DEFAULT_SERVICE_NAME
    svc = admin.set_service_details(
        ctx, name="Live Well Kent", phone="0800 000 0000", email="lwk@example.org", address="1 High Street\nMaidstone"
    )
    assert svc.address == "1 High Street\nMaidstone"
    svc = admin.set_service_details(ctx, email="")
    assert svc.email is None and svc.phone == "0800 000 0000"
    with pytest.raises(DomainError):
        admin.set_service_details(ctx, email="not-an-address")


def test_calendar_corrections(ctx):
    cal = ctx.calendar()
    assert cal.is_working_day(date(2026, 5, 8))
    admin.set_calendar_day(ctx, date(2026, 5, 8), working=False, note="Extra bank holiday")
    assert not ctx.calendar().is_working_day(date(2026, 5, 8))  # the context forgot its old calendar
    assert admin.list_calendar(ctx)[0].note == "Extra bank holiday"
    admin.set_calendar_day(ctx, date(2026, 12, 28), working=True, note="Open after all")
    assert ctx.calendar().is_working_day(date(2026, 12, 28))
    with pytest.raises(DomainError, match="already"):
        admin.set_calendar_day(ctx, date(2026, 5, 9), working=False)  # a Saturday
    with pytest.raises(DomainError, match="already"):
        admin.set_calendar_day(ctx, date(2026, 5, 11), working=True)  # an ordinary Monday
    admin.remove_calendar_day(ctx, date(2026, 5, 8))
    assert ctx.calendar().is_working_day(date(2026, 5, 8))
    with pytest.raises(NotFound):
        admin.remove_calendar_day(ctx, date(2026, 5, 8))
    assert [r.day for r in admin.list_calendar(ctx)] == [date(2026, 12, 28)]
    ev = last_event(ctx, "calendar.remove")
    assert json.loads(ev.before)["day"] == "2026-05-08"
