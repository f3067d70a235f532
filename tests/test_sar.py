"""Subject access requests: everything held about a person, who viewed and changed it; leads and admins only."""

from __future__ import annotations

import json
import stat
from datetime import date

import pytest
from sqlmodel import select

from conftest import make_user, new_referral
from navigator.cli import main
from navigator.domain.errors import AccessDenied, NotFound
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.operations.sar import subject_access
from navigator.store.models import AuditEvent

pytestmark = pytest.mark.both_backends


def _full_journey(ctx, nav):
    """A person with a rich record: contacts, plan, measures, onward referral, partner update."""
    ref = new_referral(ctx, first="Zoë", last="<script>alert(1)</script>", navigator="nav", nhs="9434765919")
    jid = ref.journey_id
    J.log_contact(nav, jid, date(2026, 11, 3), "phone", "no_answer", "rang twice & left a message")
    J.log_contact(nav, jid, date(2026, 11, 4), "phone", "spoke", "keen to start")
    J.decide(nav, jid, "accepted", date(2026, 11, 4))
    J.start(nav, jid, date(2026, 11, 5), [3] * 7)
    goal = J.add_goal(nav, jid, "connect", "I will go to the café group")
    J.update_goal(nav, goal, status="in_progress", note="went once")
    J.record_review(nav, jid, date(2026, 11, 20), "plan still right")
    onward = J.make_onward(nav, jid, 1, date(2026, 11, 21), "referred by email")
    J.partner_update(nav, onward, "started", date(2026, 11, 23), "first session attended")
    return ref


def test_sar_holds_everything_and_who_viewed_and_changed_it(ctx, tmp_path):
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    ref = _full_journey(ctx, nav)
    Q.journey_detail(lead, ref.journey_id)  # a view by the team lead

    out = tmp_path / "sar"
    result = subject_access(lead, ref.client_ref, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for p in (result.json_path, result.html_path):
        assert p.parent == out and stat.S_IMODE(p.stat().st_mode) == 0o600

    data = json.loads(result.json_path.read_text(encoding="utf-8"))
    person = data["person"]
    assert (person["first_name"], person["nhs_number"], person["client_ref"]) == ("Zoë", "9434765919", ref.client_ref)
    (j,) = data["journeys"]
    assert j["state"] == "started" and j["navigator"] == "Nav (nav)"
    assert [c["note"] for c in j["contacts"]] == ["rang twice & left a message", "keen to start"]
    assert j["plan_goals"][0]["statement"] == "I will go to the café group"
    assert j["plan_goals"][0]["notes"][0]["note"] == "went once"
    assert j["plan_reviews"][0]["note"] == "plan still right"
    assert j["measurements"][0]["raw"] == 21
    assert j["onward_referrals"][0]["updates"][0]["note"] == "first session attended"
    assert j["follow_ups"]
    history = data["audit_history"]
    actions = [(e["who"], e["action"]) for e in history]
    assert ("admin", "client.create") in actions and ("nav", "journey.contact") in actions
    assert ("lead", "view.journey") in actions  # who viewed it
    assert actions[-1] == ("lead", "sar.export")  # and this request itself
    assert data["subject_access_request"]["generated_by"] == "lead"


def test_sar_html_is_readable_and_escaped(ctx, tmp_path):
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    ref = _full_journey(ctx, nav)
    page = subject_access(ctx, ref.client_ref, tmp_path).html_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "rang twice &amp; left a message" in page
    assert "Zoë" in page and "Who viewed and changed this record" in page


def test_sar_opened_with_reason_is_listed(ctx, tmp_path):
    ref = new_referral(ctx)
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    Q.open_with_reason(nav, ref.client_id, "Duty cover this week")
    data = json.loads(subject_access(ctx, ref.client_ref, tmp_path).json_path.read_text(encoding="utf-8"))
    assert data["record_opened_with_reason"][0]["reason"] == "Duty cover this week"
    assert data["record_opened_with_reason"][0]["user"] == "Nav (nav)"


@pytest.mark.parametrize("who", ["navigator", "other_lead"])
def test_sar_refused_to_navigators_and_leads_of_other_lots(ctx, tmp_path, who):
    ref = new_referral(ctx, navigator=None)
    actor = (
        make_user(ctx, "nav", "navigator", ("Lot 2",))
        if who == "navigator"
        else make_user(ctx, "lead1", "team_lead", ("Lot 1",))
    )
    with ctx.read() as s:
        n = len(s.exec(select(AuditEvent)).all())
    with pytest.raises(AccessDenied):
        subject_access(actor, ref.client_ref, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with ctx.read() as s:
        assert len(s.exec(select(AuditEvent)).all()) == n  # nothing recorded, nothing written


def test_sar_unknown_reference(ctx, tmp_path):
    with pytest.raises(NotFound, match="NAV999999"):
        subject_access(ctx, "NAV999999", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_sar_command(ctx, db_path, backend, tmp_path, monkeypatch, capsys):
    ref = new_referral(ctx)
    monkeypatch.setattr("navigator.services.context.os_username", lambda: "admin")
    db = ["--db", str(db_path)] if backend == "sqlite" else ["--db-url", ctx.store.url]
    out = tmp_path / "requests"
    assert main(db + ["sar", ref.client_ref, "--out", str(out)]) == 0
    text_ = capsys.readouterr().out
    assert ref.client_ref in text_ and ".html" in text_
    assert len(list(out.glob("*.json"))) == 1 and len(list(out.glob("*.html"))) == 1
    # An unknown, hostile reference: a clear message, no escape sequences echoed, nothing written.
    assert main(db + ["sar", "\x1b[31mNAV\x07", "--out", str(tmp_path / "x")]) == 3
    err = capsys.readouterr().err
    assert "no person with the reference" in err and "\x1b" not in err and "\x07" not in err
    assert not (tmp_path / "x").exists()
