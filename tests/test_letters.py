"""Letter templates: allow-listed fields, refusals on save, rendering to text and HTML, timeline."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import select

from conftest import make_user, new_referral
from navigator.domain.errors import AccessDenied, DomainError
from navigator.services.casework import journeys as J
from navigator.services.casework import letters
from navigator.services.casework import queries as Q
from navigator.services.setup import admin
from navigator.services.setup.reference import reference
from navigator.store.models import AuditEvent


@pytest.fixture
def nav(ctx):
    admin.set_service_details(ctx, name="Live Well Kent", phone="0800 000 0000", email="lwk@example.org")
    return make_user(ctx, "nav", "navigator", ("Lot 2",))


def test_defaults_use_only_allowed_fields():
    for k in letters.KINDS.values():
        assert set(letters.fields_used(k.default)) <= set(k.fields)
        assert letters.check_template(k.name, k.default) == k.default  # saving a default is a no-op
        assert set(k.fields) <= set(letters.FIELD_HELP)


BAD_TEMPLATES = [
    ("partner_summary", "NHS {client_nhs_number}", "may not use"),
    ("partner_summary", "Born {client_date_of_birth}", "may not use"),
    ("opt_in_letter", "{client_nhs_number}", "may not use"),
    ("opt_in_letter", "{nonsense}", "may not use"),
    ("opt_in_letter", "{client_name.__class__}", "not a field"),
    ("opt_in_letter", "{client_name[0]}", "not a field"),
    ("opt_in_letter", "{client_name!r}", "not a field"),
    ("opt_in_letter", "{client_name:>40}", "not a field"),
    ("opt_in_letter", "Dear {client_name", "brace"),
    ("opt_in_letter", "   ", "Required"),
    ("letter_bomb", "Hello", "no letter template"),
]


def test_bad_templates_refused(ctx):
    before = letters.list_templates(ctx)
    for name, text, match in BAD_TEMPLATES:
        with pytest.raises(DomainError, match=match):
            letters.set_template(ctx, name, text)
    assert letters.list_templates(ctx) == before


def test_set_reset_and_audit(ctx):
    t = letters.set_template(ctx, "opt_in_letter", "Dear {client_first_name},\r\n{{not a field}}\x1b[31m\n")
    assert t.customised and t.text == "Dear {client_first_name},\n{{not a field}}\n"
    with ctx.read() as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "letter.template")).all()[-1]
    assert json.loads(ev.after)["text"] == t.text and json.loads(ev.before)["text"] is None
    t = letters.reset_template(ctx, "opt_in_letter")
    assert not t.customised and t.text == letters.OPT_IN_LETTER


def _started_with_onward(nav, consent=True, **kw):
    ref = new_referral(nav, consent=consent, **kw)
    J.log_contact(nav, ref.journey_id, date(2026, 11, 3), "phone", "spoke")
    J.decide(nav, ref.journey_id, "accepted", date(2026, 11, 3))
    J.start(nav, ref.journey_id, date(2026, 11, 4))
    return ref


def test_opt_in_letter_text_and_timeline(ctx, nav):
    ref = new_referral(nav, first="Ann", last="O'Brien")
    for d in (date(2026, 11, 4), date(2026, 11, 6), date(2026, 11, 10)):
        J.log_contact(nav, ref.journey_id, d, "phone", "no_answer")
    due = next(t for t in Q.journey_detail(nav, ref.journey_id).tasks if t.kind == "no_response_close").due_date
    text = letters.render(nav, ref.journey_id, "opt_in_letter")
    assert "Dear Ann," in text and "Live Well Kent" in text
    assert f"{due.day} {due:%B %Y}" in text  # the deadline is the scheduled closure
    assert "Telephone: 0800 000 0000" in text
    assert "{" not in text and "1980" not in text  # no date of birth
    # lines whose fields are all empty (no address configured, no client address) are left out
    assert "\n\n\n" not in text
    timeline = Q.journey_detail(nav, ref.journey_id).timeline
    assert [e.text for e in timeline if e.kind == "letter"] == ["Letter produced: opt_in_letter"]
    with ctx.read() as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "letter.render")).one()
    assert json.loads(ev.after)["template"] == "opt_in_letter" and ev.journey_id == ref.journey_id


def test_html_escapes_everything(ctx, nav):
    ref = new_referral(nav, first="<script>alert(1)</script>", last="Smith & Sons")
    letters.set_template(ctx, "opt_in_letter", '<b>Dear</b> {client_name}\n\n"Quote" & {service_name}\n')
    html = letters.render(nav, ref.journey_id, "opt_in_letter", "html")
    assert "<script>" not in html and "&lt;script&gt;" in html and "Smith &amp; Sons" in html
    assert "<b>" not in html and "&lt;b&gt;Dear&lt;/b&gt;" in html and "&quot;Quote&quot; &amp;" in html
    assert html.startswith("<!DOCTYPE html>")


def test_closure_notice_only_when_closed(ctx, nav):
    ref = new_referral(nav, nhs="9434765919")
    with pytest.raises(DomainError, match="not closed"):
        letters.render(nav, ref.journey_id, "closure_notice")
    J.close(nav, ref.journey_id, date(2026, 11, 20), "declined")
    text = letters.render(nav, ref.journey_id, "closure_notice")
    assert "Reason for closure: Declined" in text and "Dear Colleague," in text
    assert "1 January 1980" in text and "20 November 2026" in text
    letters.set_template(ctx, "closure_notice", "NHS number {client_nhs_number}\n")
    assert letters.render(nav, ref.journey_id, "closure_notice") == "NHS number 943 476 5919\n"
    with pytest.raises(DomainError, match="closed"):
        letters.render(nav, ref.journey_id, "opt_in_letter")


def test_partner_summary_needs_consent_and_onward(ctx, nav):
    ref = _started_with_onward(nav, consent=True)
    with pytest.raises(DomainError, match="onward referral"):
        letters.render(nav, ref.journey_id, "partner_summary")
    prog = next(x for x in reference(ctx).programmes if x.name == "Debt advice")
    J.make_onward(nav, ref.journey_id, prog.id, date(2026, 11, 5), note="private note for us")
    text = letters.render(nav, ref.journey_id, "partner_summary")
    assert "To: Kent Money Advice, Debt advice" in text and "Ann Smith" in text
    assert "private note" not in text and "1980" not in text

    other = _started_with_onward(nav, consent=False, first="Noc", last="Onsent")
    with pytest.raises(DomainError, match="consent"):
        letters.render(nav, other.journey_id, "partner_summary")


def test_render_needs_access(ctx, nav):
    ref = new_referral(nav)
    stranger = make_user(ctx, "stranger", "navigator", ("Lot 1",))
    with pytest.raises(AccessDenied):
        letters.render(stranger, ref.journey_id, "opt_in_letter")
    with pytest.raises(DomainError):
        letters.render(nav, ref.journey_id, "opt_in_letter", "pdf")
