"""A person's or a journey's audit history in words, for team leads: who (their name), what (the action
in words), and each change as "field: before → after" with names and labels, never ids, enum codes or
Python dicts. `navigator audit` and the TUI's audit screen both read it.

The events themselves are ``sar.audit_history`` / ``sar.journey_audit_history`` (access and the audited
view happen there); this module only names what they hold. Records merged into the person (see
services/casework/merge.py) are part of their history there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from navigator.domain import lifecycle as L
from navigator.services.context import Ctx
from navigator.services.operations import sar
from navigator.store.models import (
    Locality,
    Lot,
    Partner,
    PersonalOutcome,
    Programme,
    ReferralSource,
    SupportArea,
    User,
)

ACTIONS = {
    "client.create": "Person added",
    "client.update": "Person's details changed",
    "client.merge": "Records merged",
    "journey.receive": "Referral received",
    "journey.contact": "Contact logged",
    "journey.decide": "Decision recorded",
    "journey.start": "Journey started",
    "journey.close": "Journey closed",
    "journey.reassign": "Reassigned",
    "journey.review": "Plan reviewed",
    "journey.amend": "Record corrected",
    "journey.reopen": "Journey reopened",
    "journey.referrer_told": "Referrer told",
    "journey.referral_attached": "Another referral added to this journey",
    "journey.risk": "Risk flag changed",
    "onward.chase": "Partner chased",
    "goal.add": "Goal added",
    "goal.update": "Goal updated",
    "measure.record": "Measure recorded",
    "onward.make": "Onward referral made",
    "onward.update": "Partner update",
    "onward.followed_up": "Partner feedback followed up",
    "access.grant": "Opened through Find with a reason",
    "letter.render": "Letter produced",
    "sar.export": "Subject access export",
    "retention.anonymise": "Anonymised by retention",
    "view.journey": "Viewed the journey",
    "view.audit": "Viewed the audit history",
    "view.merge": "Looked at a merge of records",
    "search": "Searched",
    "import": "Imported from a tracker",
}

# A field's value, by the field's name: a label for an enum's code.
_LABELS: dict[str, dict[str, str]] = {
    "state": {str(k): v for k, v in L.STATE_LABELS.items()},
    "end_reason": {str(k): v for k, v in L.END_LABELS.items()},
    "reject_reason": {str(k): v for k, v in L.REJECT_LABELS.items()},
    "outcome": {str(k): v for k, v in L.OUTCOME_LABELS.items()},
    "kind": {str(k): v for k, v in L.PARTNER_UPDATE_LABELS.items()},
    "status": {
        **{str(k): k.value.replace("_", " ").capitalize() for k in L.OnwardStatus},
        **{str(k): v for k, v in L.GOAL_LABELS.items()},
    },
}
_WORDS = {
    "navigator_id": "navigator",
    "user_id": "by",
    "support_area_ids": "support areas",
    "source_id": "source",
    "locality_id": "locality",
    "programme_id": "programme",
    "outcome_id": "personal outcome",
    "lot_id": "lot",
    "partner_id": "partner",
    "nhs_number": "NHS number",
    "imd_decile": "IMD decile",
    "date_of_birth": "date of birth",
    "client_ref": "reference",
    "keep_ref": "kept record",
    "merged_ref": "merged record",
    "raw": "score",
    "on": "date",
}
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class WordedEvent:
    id: int
    at: datetime  # timezone-aware, UTC
    who: str  # "Nia One (nia)", and who acted for them
    action: str  # in words
    code: str  # the stored action, e.g. journey.reassign
    journey_id: int | None
    lines: tuple[str, ...]  # "navigator: Nia One → Noa Two"
    raw: sar.AuditRow  # the event as stored (for --json)


@dataclass(frozen=True)
class WordedHistory:
    client_ref: str
    client_name: str
    events: tuple[WordedEvent, ...]


class Names:
    """Ids to names and labels, read once per history."""

    def __init__(self, s: Session) -> None:
        self.users = {u.username: u.name for u in s.exec(select(User)).all()}
        self.by_id: dict[str, dict[Any, str]] = {
            "navigator_id": {u.id: f"{u.name} ({u.username})" for u in s.exec(select(User)).all()},
            "locality_id": {r.id: r.name for r in s.exec(select(Locality)).all()},
            "lot_id": {r.id: r.name for r in s.exec(select(Lot)).all()},
            "source_id": {r.id: r.name for r in s.exec(select(ReferralSource)).all()},
            "outcome_id": {r.id: r.name for r in s.exec(select(PersonalOutcome)).all()},
            "support_area_ids": {r.id: r.name for r in s.exec(select(SupportArea)).all()},
            "partner_id": {r.id: r.name for r in s.exec(select(Partner)).all()},
            "programme_id": {
                p.id: f"{partner.name}: {p.name}"
                for p, partner in s.exec(
                    select(Programme, Partner).join(Partner, col(Partner.id) == col(Programme.partner_id))
                ).all()
            },
        }
        self.by_id["user_id"] = self.by_id["navigator_id"]

    def who(self, username: str, acting_as: str | None) -> str:
        name = self.users.get(username)
        text = f"{name} ({username})" if name else username
        if acting_as:
            real = self.users.get(acting_as)
            text += f", by {real} ({acting_as}) acting as them" if real else f", by {acting_as} acting as them"
        return text

    def value(self, field: str, v: Any) -> str:
        if v is None or v == "" or v == []:
            return "—"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if field == "journeys" and isinstance(v, list):
            return str(len(v))  # a merge's journeys moved: how many (their ids mean nothing to a reader)
        ids = self.by_id.get(field)
        if ids is not None:
            if isinstance(v, list):
                return ", ".join(ids.get(x, f"#{x}") for x in v)
            return ids.get(v, f"#{v}")
        labels = _LABELS.get(field)
        if labels is not None and isinstance(v, str):
            return labels.get(v, v.replace("_", " "))
        if isinstance(v, str) and _ISO_DAY.match(v):
            try:
                d = date.fromisoformat(v)
                return f"{d.day} {d:%b %Y}"  # as the app shows dates: 4 Nov 2026
            except ValueError:
                return v
        if isinstance(v, list):
            return ", ".join(self.value(field, x) for x in v)
        if isinstance(v, dict):
            return "; ".join(f"{field_words(k)} {self.value(k, x)}" for k, x in v.items() if k != "id")
        return str(v)


def field_words(field: str) -> str:
    return _WORDS.get(field, field.replace("_", " "))


def action_words(action: str) -> str:
    return ACTIONS.get(action) or action.replace(".", " ").replace("_", " ").capitalize()


def _lines(names: Names, changes: Sequence[sar.Change], prefix: str = "") -> list[str]:
    out: list[str] = []
    for c in changes:
        if c.before is None and c.after is None:
            continue
        label = f"{prefix}{field_words(c.field)}"
        if isinstance(c.before, dict) or (isinstance(c.after, dict) and c.before is not None):
            b = c.before if isinstance(c.before, dict) else {}
            a = c.after if isinstance(c.after, dict) else {}
            keys = list(dict.fromkeys([*a, *b]))
            out += _lines(names, [sar.Change(k, b.get(k), a.get(k)) for k in keys if k != "id"], f"{label} ")
            continue
        if c.field == "id":
            continue
        after = names.value(c.field, c.after)
        if c.before is None and c.after in ("", []):
            continue  # nothing was there and nothing is
        if c.before is None:
            out.append(f"{label}: {after}")
        else:
            out.append(f"{label}: {names.value(c.field, c.before)} → {after}")
    return out


def worded(s: Session, history: sar.AuditHistory) -> WordedHistory:
    names = Names(s)
    return WordedHistory(
        history.client_ref,
        history.client_name,
        tuple(
            WordedEvent(
                e.id,
                e.at,
                names.who(e.username, e.acting_as),
                action_words(e.action),
                e.action,
                e.journey_id,
                tuple(_lines(names, e.changes)),
                e,
            )
            for e in history.events
        ),
    )


def person_history(ctx: Ctx, client_ref: str) -> WordedHistory:
    """``sar.audit_history`` (team leads of the person's lots, admins; audited) in words."""
    history = sar.audit_history(ctx, client_ref)
    with ctx.read() as s:
        return worded(s, history)


def journey_history(ctx: Ctx, journey_id: int) -> WordedHistory:
    """``sar.journey_audit_history`` (team leads, admins; audited) in words."""
    history = sar.journey_audit_history(ctx, journey_id)
    with ctx.read() as s:
        return worded(s, history)
