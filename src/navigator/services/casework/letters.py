"""Letters and messages: templates the admin edits, rendered from a journey to text or HTML.

Five templates, each for one recipient, each with an allow-list of fields:

- ``opt_in_letter`` (to the person, the protocol's last attempt): their name and address, the
  opt-in deadline, the service's contact details. No date of birth, NHS number or notes.
- ``closure_notice`` (to the referrer): who the person is (name, date of birth, NHS number:
  the referrer sent them and a GP matches on them), when the referral was received and closed,
  and why. Only for a closed journey. No contact details, no notes, no outcome evidence.
- ``rejection_notice`` (to the referrer, issue 15): as the closure notice, for a rejected referral,
  with the date and the reason it was rejected. Only for a rejected referral.
- ``no_response_notice`` (to the referrer, issue 15): as the closure notice, for a journey closed for
  no response, saying the person was contacted and did not reply. Only for such a journey.
- ``partner_summary`` (to a delivery partner, for one onward referral): only what the person
  consented to share for the referral: name, contact details, locality, the support areas,
  the programme. Refused when the person has not consented to share. Never the date of birth,
  NHS number, the reason for referral, the plan or any notes.

A template is plain text with named fields in braces, like ``{client_first_name}``; ``{{`` and
``}}`` are literal braces. Saving a template that names a field outside its allow-list (or uses
any format trick such as ``{x.attr}``, ``{x[0]}``, ``{x!r}`` or ``{x:>10}``) is refused. A line
whose fields are all empty (say a service phone not configured) is left out. HTML output
escapes everything. Rendering is recorded on the journey's timeline (audit ``letter.render``).
Producing one of the referrer's letters (``REFERRER_LETTERS``) also records that the referrer was told,
by letter, that day (casework/loops.py), which ends the "tell the referrer" follow-up.

Over 500 lines: most of it is the five letters' default wording, kept beside the fields they may use.
"""

from __future__ import annotations

import html
import string
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from navigator.domain import lifecycle as L
from navigator.domain.errors import DomainError, NotFound
from navigator.domain.identifiers import clean_text, format_nhs_number
from navigator.services import access, audit
from navigator.services.casework.loops import mark_referrer_told_in
from navigator.services.context import Ctx, get_setting, protocol, put_setting
from navigator.services.setup.common import admin_actor as _admin
from navigator.services.setup.settings import service_in as _service_in
from navigator.store.models import (
    Client,
    Journey,
    JourneySupportArea,
    Locality,
    OnwardReferral,
    Partner,
    Programme,
    ReferralSource,
    SupportArea,
    Task,
    User,
)

MAX_TEMPLATE = 20_000

FIELD_HELP = {
    "today": "today's date, e.g. 25 November 2026",
    "service_name": "the service's name (`navigator config service --name`)",
    "service_phone": "the service's phone number",
    "service_email": "the service's email address",
    "service_address": "the service's postal address",
    "navigator_name": "the journey's navigator",
    "client_ref": "the person's reference in navigator",
    "client_first_name": "the person's first name",
    "client_last_name": "the person's last name",
    "client_name": "the person's full name",
    "client_address": "the person's address",
    "client_postcode": "the person's postcode",
    "client_phone": "the person's phone number",
    "client_email": "the person's email address",
    "client_preferred_method": "how the person prefers to be contacted",
    "client_date_of_birth": "the person's date of birth",
    "client_nhs_number": "the person's NHS number (closure notice only)",
    "locality": "the person's locality",
    "received_date": "the date the referral was received",
    "referrer": "the referrer's name as recorded (else 'Colleague')",
    "referral_source": "the kind of referrer, e.g. GP / primary care",
    "opt_in_days": "the protocol's opt-in period in working days",
    "opt_in_deadline": "the last day to opt in (the scheduled no-response closure, else today plus the opt-in period)",
    "end_date": "the date the journey was closed",
    "closure_reason": "why it was closed, e.g. No response",
    "decision_date": "the date the referral was rejected",
    "rejection_reason": "why the referral was rejected, e.g. Out of area",
    "partner": "the delivery partner",
    "programme": "the partner's programme",
    "referral_date": "the date of the onward referral",
    "support_areas": "the support areas of the referral, e.g. Housing, Employment",
}

_COMMON = ("today", "service_name", "service_phone", "service_email", "service_address", "navigator_name", "client_ref")
# What every letter to the referrer may say: who the person is and the referral they sent.
_ABOUT_REFERRAL = _COMMON + (
    "client_first_name",
    "client_last_name",
    "client_name",
    "client_date_of_birth",
    "client_nhs_number",
    "received_date",
    "referrer",
    "referral_source",
)


# The service's letterhead and sign-off, the same on every letter.
_LETTERHEAD = """\
{service_name}
{service_address}
Telephone: {service_phone}
Email: {service_email}

{today}

"""
_SIGNATURE = """\
Yours sincerely,

{navigator_name}
Community Navigator, {service_name}
"""


@dataclass(frozen=True)
class TemplateKind:
    name: str
    title: str
    recipient: str
    fields: tuple[str, ...]
    default: str


OPT_IN_LETTER = (
    _LETTERHEAD
    + """\
{client_name}
{client_address}
{client_postcode}

Dear {client_first_name},

We received a referral for you on {received_date}, asking us to get in touch with you about support \
for your wellbeing. We have tried to contact you several times but have not been able to reach you.

We would still like to help. If you would like to talk to a community navigator, please contact us \
by {opt_in_deadline}, quoting your reference {client_ref}:
Telephone: {service_phone}
Email: {service_email}

If we have not heard from you by then, we will assume that you do not want support at the moment. \
We will close the referral and let the person who referred you know. You are welcome to contact us \
again at any time in the future.

If you are in crisis or feel unsafe, please call NHS 111 and choose the option for mental health, \
or call 999 in an emergency.

"""
    + _SIGNATURE
)

CLOSURE_NOTICE = (
    _LETTERHEAD
    + """\
Dear {referrer},

Re: {client_name}, date of birth {client_date_of_birth}
Our reference: {client_ref}

Thank you for your referral, which we received on {received_date}. We are writing to let you know \
that we closed this referral on {end_date}.

Reason for closure: {closure_reason}

If you have any questions, or if things change and you would like to refer again, please contact \
us using the details above.

"""
    + _SIGNATURE
)

REJECTION_NOTICE = (
    _LETTERHEAD
    + """\
Dear {referrer},

Re: {client_name}, date of birth {client_date_of_birth}
Our reference: {client_ref}

Thank you for your referral, which we received on {received_date}. We are sorry that we are not able \
to accept it: on {decision_date} we decided that it is not one our service can take on.

Reason: {rejection_reason}

If the person is in crisis or feels unsafe, they can call NHS 111 and choose the option for mental \
health, or call 999 in an emergency. If you have any questions, or if things change and you would \
like to refer again, please contact us using the details above.

"""
    + _SIGNATURE
)

NO_RESPONSE_NOTICE = (
    _LETTERHEAD
    + """\
Dear {referrer},

Re: {client_name}, date of birth {client_date_of_birth}
Our reference: {client_ref}

Thank you for your referral, which we received on {received_date}. We tried several times to contact \
{client_first_name}, by telephone and by letter, and offered them the chance to opt in to our \
service, but we did not hear back. We therefore closed the referral on {end_date}.

{client_first_name} is welcome to contact us directly at any time, and you are welcome to refer \
again if things change. If you have any questions, please contact us using the details above.

"""
    + _SIGNATURE
)

PARTNER_SUMMARY = """\
Onward referral from {service_name}

To: {partner}, {programme}
Date of referral: {referral_date}
From: {navigator_name}, Community Navigator
Telephone: {service_phone}
Email: {service_email}

Person referred
Name: {client_name}
Telephone: {client_phone}
Email: {client_email}
Address: {client_address}
Postcode: {client_postcode}
Prefers to be contacted by: {client_preferred_method}
Locality: {locality}

Support they are looking for: {support_areas}

{client_first_name} has agreed to this referral and to our sharing these details with you for it. \
Please let us know when they start, and tell us if they do not take up the place or stop attending, \
so that we can follow up with them.

Our reference: {client_ref}
"""

KINDS: dict[str, TemplateKind] = {
    k.name: k
    for k in (
        TemplateKind(
            "opt_in_letter",
            "Opt-in letter",
            "the person referred",
            _COMMON
            + (
                "client_first_name",
                "client_last_name",
                "client_name",
                "client_address",
                "client_postcode",
                "received_date",
                "referrer",
                "referral_source",
                "opt_in_days",
                "opt_in_deadline",
            ),
            OPT_IN_LETTER,
        ),
        TemplateKind(
            "closure_notice",
            "Closure notice to the referrer",
            "the referrer",
            _ABOUT_REFERRAL
            + (
                "end_date",
                "closure_reason",
            ),
            CLOSURE_NOTICE,
        ),
        TemplateKind(
            "rejection_notice",
            "Rejection notice to the referrer",
            "the referrer",
            _ABOUT_REFERRAL
            + (
                "decision_date",
                "rejection_reason",
            ),
            REJECTION_NOTICE,
        ),
        TemplateKind(
            "no_response_notice",
            "No-response closure notice to the referrer",
            "the referrer",
            _ABOUT_REFERRAL
            + (
                "end_date",
                "closure_reason",
            ),
            NO_RESPONSE_NOTICE,
        ),
        TemplateKind(
            "partner_summary",
            "Onward-referral summary for a partner",
            "the delivery partner",
            _COMMON
            + (
                "client_first_name",
                "client_last_name",
                "client_name",
                "client_phone",
                "client_email",
                "client_address",
                "client_postcode",
                "client_preferred_method",
                "locality",
                "partner",
                "programme",
                "referral_date",
                "support_areas",
            ),
            PARTNER_SUMMARY,
        ),
    )
}


# The letters that tell the referrer (producing one records that they were told, by letter).
REFERRER_LETTERS = ("closure_notice", "rejection_notice", "no_response_notice")


def referrer_letter(state: str, end_reason: str | None) -> str | None:
    """The letter that tells the referrer of this journey's end: None while it is open."""
    s = L.State(state)
    if s == L.State.REJECTED:
        return "rejection_notice"
    if s.is_open:
        return None
    return "no_response_notice" if end_reason == L.EndReason.NO_RESPONSE.value else "closure_notice"


def referrer_letter_for(ctx: Ctx, journey_id: int) -> tuple[int, str | None]:
    """(the journey, the letter that tells its referrer of its end): for Today's "tell the referrer" item."""
    with ctx.read() as s:
        journey = s.get(Journey, journey_id)
        if journey is None:
            raise NotFound("That journey does not exist.", field="journey")
        access.require_journey(s, ctx.actor(s), journey)
        return journey_id, referrer_letter(journey.state, journey.end_reason)


@dataclass(frozen=True)
class LetterTemplate:
    name: str
    title: str
    recipient: str
    text: str
    customised: bool  # False: the built-in wording
    fields: tuple[str, ...]  # the fields it may use


def kind(name: str) -> TemplateKind:
    k = KINDS.get((name or "").strip().lower().replace("-", "_"))
    if k is None:
        raise NotFound(
            f"There is no letter template '{name}'. The templates are: {', '.join(KINDS)}.", field="template"
        )
    return k


def fields_used(text: str) -> list[str]:
    """The field names a template uses; refuses anything but plain {name} fields."""
    out: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        raise DomainError(
            "A brace is not closed. Fields look like {client_first_name}; write {{ or }} for a brace in the text.",
            field="template",
        ) from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            shown = "{" + name + ("!" + conversion if conversion else "") + (":" + spec if spec else "") + "}"
            raise DomainError(
                f"{shown} is not a field: fields are plain names such as {{client_first_name}}.", field="template"
            )
        if name not in out:
            out.append(name)
    return out


def check_template(name: str, text: str) -> str:
    """Clean and check a template: only the fields its recipient may see."""
    k = kind(name)
    body = clean_text(text.replace("\r\n", "\n"), "template", max_len=MAX_TEMPLATE, required=True, multiline=True)
    assert body is not None
    bad = [f for f in fields_used(body) if f not in k.fields]
    if bad:
        raise DomainError(
            f"The {k.title.lower()} may not use {', '.join('{' + b + '}' for b in bad)}: it goes to "
            f"{k.recipient}. Allowed fields: {', '.join(k.fields)}.",
            field="template",
        )
    return body + "\n"


def _overrides(s: Session) -> dict[str, str]:
    return dict(get_setting(s, "letter_templates") or {})


def _template_in(s: Session, name: str) -> LetterTemplate:
    k = kind(name)
    text = _overrides(s).get(k.name)
    return LetterTemplate(k.name, k.title, k.recipient, text or k.default, text is not None, k.fields)


def list_templates(ctx: Ctx) -> tuple[LetterTemplate, ...]:
    with ctx.read() as s:
        ctx.actor(s)
        return tuple(_template_in(s, n) for n in KINDS)


def get_template(ctx: Ctx, name: str) -> LetterTemplate:
    with ctx.read() as s:
        ctx.actor(s)
        return _template_in(s, name)


def _set_template_in(s: Session, ctx: Ctx, w: audit.AuditWriter, name: str, text: str | None) -> bool:
    """Store a template's wording; None (or the built-in wording) goes back to the default."""
    k = kind(name)
    overrides = _overrides(s)
    before = overrides.get(k.name)
    new = check_template(k.name, text) if text is not None else None
    if new is not None and new == k.default:
        new = None
    if new == before:
        return False
    if new is None:
        overrides.pop(k.name, None)
    else:
        overrides[k.name] = new
    put_setting(s, "letter_templates", overrides, ctx.now())
    w.add(
        "letter.template",
        "setting",
        None,
        before={"template": k.name, "text": before},
        after={"template": k.name, "text": new},
    )
    return True


def set_template(ctx: Ctx, name: str, text: str) -> LetterTemplate:
    with ctx.write() as s:
        _admin(s, ctx)
        _set_template_in(s, ctx, audit.writer(s, ctx), name, text)
        return _template_in(s, name)


def reset_template(ctx: Ctx, name: str) -> LetterTemplate:
    with ctx.write() as s:
        _admin(s, ctx)
        _set_template_in(s, ctx, audit.writer(s, ctx), name, None)
        return _template_in(s, name)


# ---------------------------------------------------------------- rendering


def long_date(d: date | None) -> str:
    return f"{d.day} {d:%B %Y}" if d else ""


def _values(
    s: Session, ctx: Ctx, k: TemplateKind, journey: Journey, client: Client, onward_id: int | None
) -> dict[str, str]:
    service = _service_in(s)
    nav = s.get(User, journey.navigator_id)
    source = s.get(ReferralSource, journey.source_id)
    loc = s.get(Locality, client.locality_id)
    v: dict[str, str] = {
        "today": long_date(ctx.today()),
        "service_name": service.name,
        "service_phone": service.phone or "",
        "service_email": service.email or "",
        "service_address": service.address or "",
        "navigator_name": nav.name if nav else "",
        "client_ref": client.client_ref,
        "client_first_name": client.first_name,
        "client_last_name": client.last_name,
        "client_name": f"{client.first_name} {client.last_name}",
        "received_date": long_date(journey.received_date),
        "referrer": journey.referrer or "Colleague",
        "referral_source": source.name if source else "",
    }
    state = L.State(journey.state)
    if k.name == "opt_in_letter":
        if not state.is_open:
            raise DomainError(
                "This journey is closed: an opt-in letter is for a person still being contacted.", field="template"
            )
        p = protocol(s)
        task = s.exec(
            select(Task).where(Task.journey_id == journey.id, Task.status == "open", Task.kind == "no_response_close")
        ).first()
        deadline = task.due_date if task else ctx.calendar(s).add(ctx.today(), p.opt_in_days)
        v |= {
            "client_address": client.address or "",
            "client_postcode": client.postcode or "",
            "opt_in_days": str(p.opt_in_days),
            "opt_in_deadline": long_date(deadline),
        }
    elif k.name == "rejection_notice":
        if state != L.State.REJECTED:
            raise DomainError(
                "The referral was not rejected: this letter is for a rejected referral.", field="template"
            )
        reject = journey.reject_reason
        v |= {
            "client_date_of_birth": long_date(client.date_of_birth),
            "client_nhs_number": format_nhs_number(client.nhs_number),
            "decision_date": long_date(journey.decision_date),
            "rejection_reason": L.REJECT_LABELS.get(L.RejectReason(reject), reject) if reject else "",
        }
    elif k.name in ("closure_notice", "no_response_notice"):
        if state.is_open or journey.end_date is None:
            raise DomainError(
                "The journey is not closed yet: close it first, then produce the closure notice.", field="template"
            )
        if k.name == "no_response_notice" and journey.end_reason != L.EndReason.NO_RESPONSE.value:
            raise DomainError(
                "The journey was not closed for no response: produce the closure notice instead.", field="template"
            )
        reason = journey.end_reason
        label = L.END_LABELS.get(L.EndReason(reason), reason) if reason else ""
        v |= {
            "client_date_of_birth": long_date(client.date_of_birth),
            "client_nhs_number": format_nhs_number(client.nhs_number),
            "end_date": long_date(journey.end_date),
            "closure_reason": label,
        }
    elif k.name == "partner_summary":
        if not client.consent_to_share:
            raise DomainError(
                "The person has not consented to share their details, so no summary can go to a "
                "partner. Record their consent first (if they give it).",
                field="consent_to_share",
            )
        q = select(OnwardReferral).where(OnwardReferral.journey_id == journey.id)
        if onward_id is not None:
            q = q.where(OnwardReferral.id == onward_id)
        onward = s.exec(q.order_by(col(OnwardReferral.referral_date).desc(), col(OnwardReferral.id).desc())).first()
        if onward is None:
            raise DomainError(
                "There is no onward referral on this journey"
                + (" with that number" if onward_id is not None else "")
                + ": make the onward referral first.",
                field="onward",
            )
        prog = s.get(Programme, onward.programme_id)
        assert prog is not None  # foreign keys
        partner = s.get(Partner, prog.partner_id)
        assert partner is not None
        areas = s.exec(
            select(SupportArea.name)
            .join(JourneySupportArea, col(JourneySupportArea.support_area_id) == col(SupportArea.id))
            .where(JourneySupportArea.journey_id == journey.id)
            .order_by(col(SupportArea.id))
        ).all()
        v |= {
            "client_phone": client.phone or "",
            "client_email": client.email or "",
            "client_address": client.address or "",
            "client_postcode": client.postcode or "",
            "client_preferred_method": client.preferred_method or "",
            "locality": loc.name if loc else "",
            "partner": partner.name,
            "programme": prog.name,
            "referral_date": long_date(onward.referral_date),
            "support_areas": "; ".join(areas),
        }
    return {f: v.get(f, "") for f in k.fields}


def fill(text: str, values: dict[str, str]) -> str:
    """Put the values in; a line whose fields all came out empty is left out."""
    out_lines = []
    for line in text.split("\n"):
        parsed = list(string.Formatter().parse(line)) if ("{" in line or "}" in line) else [(line, None, None, None)]
        pieces = []
        names = []
        for literal, name, _spec, _conv in parsed:
            pieces.append(literal)
            if name is not None:
                names.append(name)
                pieces.append(values.get(name, ""))
        if names and not any(values.get(n) for n in names):
            continue
        out_lines.append("".join(pieces))
    return "\n".join(out_lines)


def to_html(title: str, text: str) -> str:
    paragraphs = [p for p in text.strip("\n").split("\n\n")]
    body = "\n".join(
        "<p>" + "<br>\n".join(html.escape(line, quote=True) for line in p.split("\n")) + "</p>"
        for p in paragraphs
        if p.strip()
    )
    return (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title, quote=True)}</title>\n"
        "<style>body{font-family:Arial,Helvetica,sans-serif;font-size:12pt;line-height:1.45;max-width:42em;"
        "margin:2em auto;padding:0 1em}p{margin:0 0 1em}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )


def render(ctx: Ctx, journey_id: int, template: str, fmt: str = "text", *, onward_id: int | None = None) -> str:
    """The letter for a journey as text (``fmt='text'``) or an HTML page (``fmt='html'``).

    Anyone who may see the journey may produce its letters; it is recorded on the timeline."""
    if fmt not in ("text", "html"):
        raise DomainError("The format is text or html.", field="fmt")
    k = kind(template)
    with ctx.write() as s:
        journey = s.get(Journey, journey_id)
        if journey is None:
            raise NotFound("That journey does not exist.", field="journey")
        access.require_journey(s, ctx.actor(s), journey)
        client = s.get(Client, journey.client_id)
        assert client is not None  # the journey's person (a foreign key)
        tpl = _template_in(s, k.name)
        text = fill(tpl.text, _values(s, ctx, k, journey, client, onward_id)).rstrip("\n") + "\n"
        if k.name in REFERRER_LETTERS:  # issue 15: the referrer is told by this letter (the first time)
            mark_referrer_told_in(s, ctx, journey, client, ctx.today(), "letter", via=k.name)
        audit.record(
            s,
            ctx,
            "letter.render",
            "journey",
            journey.id,
            client_id=client.id,
            journey_id=journey.id,
            after={"template": k.name, "format": fmt},
        )
    return to_html(k.title, text) if fmt == "html" else text
