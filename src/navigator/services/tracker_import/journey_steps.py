"""A tracker row as the journey's steps, and a refused step as the CSV column to blame.

The steps go in the order a journey lives them (contacts, decision, start, onward referral and the
partner's reports, close), so that the domain's rules compare each date with the one before it and
say which date is out of order. The steps are the domain's (``domain/steps.py``); each carries its CSV
column as its ``tag``, and a ``DomainError``'s ``field`` with that tag gives the column to report.
"""

from __future__ import annotations

from navigator.domain import steps as S
from navigator.services.casework import bulk
from navigator.services.tracker_import.cells import Row
from navigator.services.tracker_import.columns import PROVENANCE

# A step's fields at fault -> the column, where it is not the step's own column (its tag).
_FIELD_COLUMN = {
    ("decision", "decision_date"): "decision_date",
    ("decision", "reject_reason"): "reject_reason",
    ("start_date", "swemwbs"): "swemwbs_start",
    ("onward_referral_date", "state"): "onward_partner",
    ("onward_referral_date", "consent"): "onward_partner",
    ("onward_end_date", "kind"): "onward_outcome",
    ("onward_start_date", "kind"): "onward_outcome",
    ("end_date", "end_reason"): "end_reason",
    ("end_date", "evidence"): "end_reason",
    ("end_date", "swemwbs"): "swemwbs_end",
}
_SWEMWBS_FIELDS = ("swemwbs", "raw") + tuple(f"item{i}" for i in range(1, 8))


def steps_of(row: Row, programme_id: int | None) -> list[S.Step]:
    """The row's steps (``programme_id`` None: the row has no onward referral)."""
    v = row.v
    out: list = []
    contacts = [
        (a, S.Contact(a, "phone", "no_answer", tag="contact_attempts")) for a in v.get("contact_attempts") or ()
    ]
    if v.get("first_contact_date"):
        d = v["first_contact_date"]
        contacts.append((d, S.Contact(d, "phone", "spoke", tag="first_contact_date")))
    out.extend(step for _, step in sorted(contacts, key=lambda c: (c[0], c[1].outcome != "no_answer")))
    if v.get("decision"):
        out.append(S.Decide(v["decision_date"], v["decision"], v.get("reject_reason"), tag="decision"))
    if v.get("start_date"):
        out.append(S.Start(v["start_date"], v.get("swemwbs_start"), tag="start_date"))
    if programme_id is not None:
        out.append(S.Onward(programme_id, v["onward_referral_date"], tag="onward_referral_date"))
        if v.get("onward_start_date"):
            out.append(S.PartnerReport(0, "started", v["onward_start_date"], tag="onward_start_date"))
        if v.get("onward_end_date"):
            out.append(S.PartnerReport(0, v["onward_outcome"], v["onward_end_date"], tag="onward_end_date"))
    if v.get("end_date"):
        reason = v["end_reason"]
        evidence = PROVENANCE if reason == "completed" else None
        out.append(S.Close(v["end_date"], reason, evidence, v.get("swemwbs_end"), tag="end_date"))
    return out


def column_for(exc: bulk.StepError) -> str:
    """The CSV column a refused step points at."""
    field_ = exc.field or ""
    tag = exc.tag
    if tag is None:  # the referral itself
        return field_ if field_ in ("date_of_birth", "received_date") else "received_date"
    if field_ in _SWEMWBS_FIELDS or field_.startswith("item"):
        field_ = "swemwbs"
    return _FIELD_COLUMN.get((tag, field_), tag)
