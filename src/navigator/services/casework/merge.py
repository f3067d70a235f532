"""Merging two records of one person (team leads, within their lots; admins).

The team lead keeps one record and merges the other into it (the rules: ``domain/merge.py``). In one
transaction:
- the merged record's journeys move to the kept person, and with them everything recorded on them
  (contacts, plan, measures, onward referrals and partner updates, follow-ups);
- reasons to look (Find's access grants) on the merged record move too;
- the kept record takes the details it lacks (NHS number, postcode, phone, email, address, preferred
  contact, IMD decile) and the consent to share if the merged record had it;
- the merged record stays, marked ``merged_into_id``: its name becomes "Merged into <ref>", its other
  details are cleared and its date of birth keeps only the year. What it held is in the merge's audit
  event (about the kept person, so the kept person's history, subject access export and retention
  cover it). Find, caseloads and duplicate checks never show it; its reference leads to the kept person
  (``resolve``).
- one audit event, ``client.merge``, with both references, what moved and the reason.

The audit log is append-only: earlier events about the merged record keep its id. Every audit history of
a person reads the events of the records merged into them too (``merged_ids``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from navigator.domain import lifecycle as L
from navigator.domain import merge as M
from navigator.domain.errors import AccessDenied, DomainError, NotFound
from navigator.domain.identifiers import clean_text, fold_name
from navigator.domain.text import check_text
from navigator.services import access, audit
from navigator.services.context import Actor, Ctx
from navigator.store.ids import row_id
from navigator.store.models import (
    AccessGrant,
    AuditEvent,
    Client,
    Journey,
    Locality,
    Measurement,
    OnwardReferral,
    PlanGoal,
    Task,
)

ACTION = "client.merge"


@dataclass(frozen=True)
class PersonBrief:
    """One of the two records, as the confirm dialog and the command show it."""

    id: int
    client_ref: str
    name: str
    date_of_birth: date
    nhs_number: str | None
    postcode: str | None
    locality: str
    journeys: int
    open_journey: date | None  # received date of the open journey, if any


@dataclass(frozen=True)
class MergePlan:
    """What a merge moves (before it is done, for the confirmation; after, as its result)."""

    keep: PersonBrief
    merged: PersonBrief
    journeys: int
    measures: int
    goals: int
    onward: int
    tasks: int
    grants: int
    filled: tuple[str, ...]  # the kept record's details taken from the merged one
    differs: tuple[str, ...] = ()  # details both have, with different values (the kept record's stay)

    def moves(self) -> str:
        """What moves, in words."""
        parts = [
            _count(self.journeys, "journey"),
            _count(self.measures, "measure"),
            _count(self.goals, "goal"),
            _count(self.onward, "onward referral"),
            _count(self.tasks, "follow-up"),
            _count(self.grants, "reason to look"),
        ]
        text = ", ".join(parts)
        if self.filled:
            text += "; the kept record takes: " + ", ".join(f.replace("_", " ") for f in self.filled)
        if self.differs:
            text += "; they differ in: " + ", ".join(self.differs) + " (the kept record's stay)"
        return text


@dataclass(frozen=True)
class MergeRecord:
    """A merge done, as listed (``merges``)."""

    event_id: int
    at: datetime
    username: str
    keep_ref: str
    merged_ref: str
    journeys: int
    reason: str | None


def _count(n: int, what: str) -> str:
    if what.endswith("look"):
        return f"{n} {'reasons' if n != 1 else 'reason'} to look"
    return f"{n} {what}{'s' if n != 1 else ''}"


# ---------------------------------------------------------------- lookups others use


def merged_ids(s: Session, client_id: int) -> list[int]:
    """The records merged into this person (a merge re-points earlier ones, so one level is all)."""
    return [row_id(i) for i in s.exec(select(Client.id).where(col(Client.merged_into_id) == client_id)).all()]


def resolve(s: Session, client: Client) -> Client:
    """The record a reference leads to: the kept person for a merged record, else the record itself."""
    seen = set()
    while client.merged_into_id is not None and client.id not in seen:
        seen.add(client.id)
        kept = s.get(Client, client.merged_into_id)
        if kept is None:
            break
        client = kept
    return client


def _by_ref(s: Session, ref: str, field: str) -> Client:
    text = (clean_text(ref, field, max_len=40) or "").strip()
    if not text:
        raise DomainError("Give the person's reference (e.g. NAV000123).", field=field)
    c = s.exec(select(Client).where(func.upper(col(Client.client_ref)) == text.upper())).first()
    if c is None:
        raise NotFound(f"There is no person with the reference {text}.")
    return c


# ---------------------------------------------------------------- checks


def _lots_of(s: Session, client: Client) -> set[int]:
    lots = {access.lot_of_locality(s, client.locality_id)}
    for loc in s.exec(select(Journey.locality_id).where(Journey.client_id == client.id)).all():
        lots.add(access.lot_of_locality(s, loc))
    return lots


def _require_lead(s: Session, actor: Actor, *clients: Client) -> None:
    """Team leads merge people whose records (and journeys) are all in their lots; admins anyone."""
    if actor.is_admin:
        return
    if actor.role != "team_lead":
        raise AccessDenied("Only a team lead or an admin can merge people.")
    for c in clients:
        if not all(access.in_my_lots(actor, lot) for lot in _lots_of(s, c)):
            raise AccessDenied(
                f"{c.client_ref} has a record or a journey outside your lots; ask their team lead or an admin."
            )


def _facts(s: Session, c: Client) -> M.PersonFacts:
    into = s.get(Client, c.merged_into_id) if c.merged_into_id is not None else None
    journeys = s.exec(select(col(Journey.received_date), col(Journey.state)).where(Journey.client_id == c.id)).all()
    open_ = sorted(d for d, state in journeys if state in L.OPEN_STATES)
    return M.PersonFacts(
        c.client_ref,
        c.nhs_number,
        into.client_ref if into is not None else ("?" if c.merged_into_id is not None else None),
        c.anonymised,
        open_[0] if open_ else None,
        frozenset(d for d, _ in journeys),
    )


def _brief(s: Session, c: Client) -> PersonBrief:
    journeys = s.exec(select(col(Journey.received_date), col(Journey.state)).where(Journey.client_id == c.id)).all()
    open_ = sorted(d for d, state in journeys if state in L.OPEN_STATES)
    loc = s.get(Locality, c.locality_id)
    return PersonBrief(
        row_id(c.id),
        c.client_ref,
        f"{c.first_name} {c.last_name}",
        c.date_of_birth,
        c.nhs_number,
        c.postcode,
        loc.name if loc is not None else "",
        len(journeys),
        open_[0] if open_ else None,
    )


def _details(c: Client) -> dict:
    return {k: getattr(c, k) for k in M.FILLABLE}


def _plan(s: Session, keep: Client, merged: Client) -> MergePlan:
    jids = list(s.exec(select(Journey.id).where(Journey.client_id == merged.id)).all())

    def count(model, column) -> int:
        if not jids:
            return 0
        return s.exec(select(func.count()).select_from(model).where(col(column).in_(jids))).one()

    grants = s.exec(select(func.count()).select_from(AccessGrant).where(AccessGrant.client_id == merged.id)).one()
    compared = {
        "first name": (keep.first_name_key, merged.first_name_key),
        "last name": (keep.last_name_key, merged.last_name_key),
        "date of birth": (keep.date_of_birth, merged.date_of_birth),
        **{f.replace("_", " "): (getattr(keep, f), getattr(merged, f)) for f in M.FILLABLE},
    }
    differs = tuple(k for k, (a, b) in compared.items() if a not in (None, "") and b not in (None, "") and a != b)
    return MergePlan(
        _brief(s, keep),
        _brief(s, merged),
        len(jids),
        count(Measurement, Measurement.journey_id),
        count(PlanGoal, PlanGoal.journey_id),
        count(OnwardReferral, OnwardReferral.journey_id),
        count(Task, Task.journey_id),
        grants,
        tuple(M.filled(_details(keep), _details(merged))),
        differs,
    )


def _load_pair(s: Session, ctx: Ctx, keep_ref: str, merged_ref: str) -> tuple[Client, Client]:
    actor = ctx.actor(s)
    access.require_team_lead(actor)
    keep = _by_ref(s, keep_ref, "keep_ref")
    merged = _by_ref(s, merged_ref, "merged_ref")
    M.check_merge(_facts(s, keep), _facts(s, merged))
    _require_lead(s, actor, keep, merged)
    return keep, merged


# ---------------------------------------------------------------- the actions


def preview(ctx: Ctx, keep_ref: str, merged_ref: str) -> MergePlan:
    """What merging ``merged_ref`` into ``keep_ref`` would move, or the refusal (nothing changes).
    Showing both people's details is audited as a view."""
    with ctx.write() as s:
        keep, merged = _load_pair(s, ctx, keep_ref, merged_ref)
        plan = _plan(s, keep, merged)
        audit.record(
            s,
            ctx,
            "view.merge",
            "client",
            merged.id,
            client_id=keep.id,
            after={"keep_ref": keep.client_ref, "merged_ref": merged.client_ref},
        )
        return plan


def merge(ctx: Ctx, keep_ref: str, merged_ref: str, reason: str) -> MergePlan:
    """Merge the record ``merged_ref`` into ``keep_ref`` (see the module docstring). Returns what moved."""
    why = check_text(reason, "reason", max_len=400, required=True)
    if len((why or "").strip()) < 5:
        raise DomainError("Say why these two records are the same person.", field="reason")
    with ctx.write() as s:
        keep, merged = _load_pair(s, ctx, keep_ref, merged_ref)
        plan = _plan(s, keep, merged)
        now = ctx.now()
        jids = list(s.exec(select(Journey.id).where(Journey.client_id == merged.id)).all())
        for j in s.exec(select(Journey).where(Journey.client_id == merged.id)).all():
            j.client_id = row_id(keep.id)
            j.version += 1
            j.updated_at = now
            s.add(j)
        s.flush()
        s.execute(update(AccessGrant).where(col(AccessGrant.client_id) == merged.id).values(client_id=keep.id))
        # earlier merges into the merged record now lead to the kept one
        s.execute(update(Client).where(col(Client.merged_into_id) == merged.id).values(merged_into_id=keep.id))
        fill = M.filled(_details(keep), _details(merged))
        kept_before = {k: getattr(keep, k) for k in fill}
        for k, v in fill.items():
            setattr(keep, k, v)
        if merged.consent_to_share and not keep.consent_to_share:
            kept_before["consent_to_share"] = False
            keep.consent_to_share = True
        keep.version += 1
        keep.updated_at = now
        s.add(keep)
        merged_before = {
            "client_ref": merged.client_ref,
            "first_name": merged.first_name,
            "last_name": merged.last_name,
            "date_of_birth": merged.date_of_birth,
            **{k: getattr(merged, k) for k in M.CLEARED},
        }
        merged.first_name, merged.last_name = "Merged", f"into {keep.client_ref}"
        merged.first_name_key, merged.last_name_key = fold_name(merged.first_name), fold_name(merged.last_name)
        merged.date_of_birth = date(merged.date_of_birth.year, 1, 1)
        for k in M.CLEARED:
            setattr(merged, k, None)
        merged.merged_into_id = row_id(keep.id)
        merged.version += 1
        merged.updated_at = now
        s.add(merged)
        s.flush()
        audit.record(
            s,
            ctx,
            ACTION,
            "client",
            merged.id,
            client_id=keep.id,
            before={"merged": merged_before, "kept": kept_before},
            after={
                "keep_ref": keep.client_ref,
                "merged_ref": merged_before["client_ref"],
                "journeys": sorted(row_id(j) for j in jids),
                "measures": plan.measures,
                "goals": plan.goals,
                "onward": plan.onward,
                "tasks": plan.tasks,
                "grants": plan.grants,
                "filled": sorted({**fill, **({"consent_to_share": True} if "consent_to_share" in kept_before else {})}),
                "reason": why,
            },
        )
        return plan


def merges(ctx: Ctx, limit: int = 200) -> list[MergeRecord]:
    """Merges done, newest first: a team lead's those of people in their lots; an admin's all. Audited."""
    import json

    with ctx.write() as s:
        actor = ctx.actor(s)
        access.require_team_lead(actor)
        rows = s.exec(
            select(AuditEvent).where(AuditEvent.action == ACTION).order_by(col(AuditEvent.id).desc()).limit(limit * 4)
        ).all()
        out = []
        for e in rows:
            kept = s.get(Client, e.client_id) if e.client_id is not None else None
            if kept is None:
                continue
            if not actor.is_admin and not any(access.in_my_lots(actor, lot) for lot in _lots_of(s, kept)):
                continue
            try:
                after = json.loads(e.after) if e.after else {}
            except ValueError:
                after = {}
            journeys = after.get("journeys")
            out.append(
                MergeRecord(
                    row_id(e.id),
                    e.at,
                    e.username,
                    str(after.get("keep_ref") or kept.client_ref),
                    str(after.get("merged_ref") or "?"),
                    len(journeys) if isinstance(journeys, list) else 0,
                    after.get("reason") if isinstance(after.get("reason"), str) else None,
                )
            )
            if len(out) >= limit:
                break
        audit.record(s, ctx, "view.merges", "client", None, after={"merges": len(out)})
        return out
