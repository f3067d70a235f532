"""Casework loops that close themselves (issue 15): the referrer told, no-response closure on time.

- ``tell_referrer``: the referrer of a closed journey or a rejected referral was told, on a day and
  how (letter, phone, email, secure email, in person): ``journey.referrer_told_date`` / ``_how``,
  audited. That ends the "tell the referrer" follow-up (domain/followups.py, ``TELL_REFERRER``).
  Producing the referrer's letter (letters.render) records it too, as told by letter that day.
- ``close_due_no_response``: every journey whose opt-in period has ended with no reply (its
  no-response task due) is closed for no response (``steps.Close``), dated the task's due date,
  a working day that is never after today. The app runs it at start (in a worker) and so does
  every ``navigator`` command that opens the store for work, when the protocol says the closure is
  automatic; otherwise Today's "close all due" key runs it. A journey at risk is never closed here:
  its task waits for the team lead (followups.closes_automatically). Each closure is audited as done
  by the protocol on behalf of the journey's navigator (``acting_as`` "protocol" where the store
  records it, and ``by: protocol`` in the event), in short transactions of ``BATCH`` journeys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from navigator.domain import lifecycle as L
from navigator.domain import steps as S
from navigator.domain.errors import AccessDenied, DomainError
from navigator.domain.followups import TaskKind, check_referrer_told, closes_automatically
from navigator.services import access, audit
from navigator.services.casework.records import (
    load_journey,
    step_facts,
    sync_tasks,
    write_step,
)
from navigator.services.context import Actor, Ctx, protocol
from navigator.services.dto import JourneyRef
from navigator.store.ids import row_id
from navigator.store.models import Client, Journey, Task, User

PROTOCOL = "protocol"  # who the audit says closed a journey for no response by itself
BATCH = 20  # journeys closed per transaction


# ---------------------------------------------------------------- the referrer told


def mark_referrer_told_in(
    s: Session, ctx: Ctx, journey: Journey, client: Client, on: date, how: str, *, via: str | None = None
) -> bool:
    """Record (in the caller's transaction) that the referrer was told; False when they already were."""
    if journey.referrer_told_date is not None and via is not None:
        return False  # a letter produced again: the first telling stands
    method = check_referrer_told(step_facts(s, journey, client), on, how, ctx.today())
    before = {"referrer_told_date": journey.referrer_told_date, "referrer_told_how": journey.referrer_told_how}
    journey.referrer_told_date = on
    journey.referrer_told_how = method.value
    journey.version += 1
    journey.updated_at = ctx.now()
    s.add(journey)
    s.flush()
    sync_tasks(s, ctx, journey, client)
    after = {"referrer_told_date": on, "referrer_told_how": method.value} | ({"via": via} if via else {})
    audit.record(
        s,
        ctx,
        "journey.referrer_told",
        "journey",
        journey.id,
        client_id=client.id,
        journey_id=journey.id,
        before=before,
        after=after,
    )
    return True


def tell_referrer(ctx: Ctx, journey_id: int, on: date, how: str, expected_version: int | None = None) -> JourneyRef:
    """The referrer of a closed journey (or a rejected referral) was told ``on`` a day, ``how``."""
    with ctx.write() as s:
        journey, client = load_journey(s, ctx, journey_id, expected_version)
        mark_referrer_told_in(s, ctx, journey, client, on, how)
        return JourneyRef(row_id(journey.id), row_id(client.id), client.client_ref, journey.state)


# ---------------------------------------------------------------- no-response closure


@dataclass(frozen=True)
class DueClosures:
    """Journeys whose no-response closure is due today for the acting user."""

    journey_ids: tuple[int, ...]  # to close (not at risk)
    at_risk: int  # due, but flagged at risk: left for the team lead


@dataclass(frozen=True)
class ClosedForNoResponse:
    closed: tuple[JourneyRef, ...]
    at_risk: int  # due but at risk: not closed
    refused: int  # due, but the journey's rules refused the closure now (left on Today)
    automatic: bool  # False: the protocol says closure waits for "close all due" (nothing was done)


def _due(s: Session, ctx: Ctx, actor: Actor, *, everyone: bool) -> DueClosures:
    """Due no-response tasks the actor may close: their own journeys', and with ``everyone`` (the
    automatic run by a team lead or an admin) those of every journey they may see. On PostgreSQL only an
    admin may write an audit event for another navigator, so a team lead closes only their own there."""
    on = ctx.today()
    q = (
        select(Task.key, Journey)
        .join(Journey, col(Journey.id) == col(Task.journey_id))
        .where(
            Task.status == "open",
            Task.kind == TaskKind.NO_RESPONSE_CLOSE.value,
            col(Task.due_date) <= on,
            col(Journey.state).in_([s.value for s in L.OPEN_STATES]),
        )
        .order_by(col(Task.due_date), col(Task.id))
    )
    wide = everyone and actor.is_team_lead and (ctx.store.is_sqlite or actor.is_admin)
    if not wide:
        q = q.where(Journey.navigator_id == actor.id)
    ids: list[int] = []
    at_risk = 0
    for key, journey in s.exec(q).all():
        try:
            access.require_journey(s, actor, journey)
        except AccessDenied:
            continue
        if journey.risk_flag or not closes_automatically(key):
            at_risk += 1
        elif row_id(journey.id) not in ids:
            ids.append(row_id(journey.id))
    return DueClosures(tuple(ids), at_risk)


def due_no_response(ctx: Ctx) -> DueClosures:
    """What "close all due" on Today would close now (the acting user's own journeys)."""
    with ctx.read() as s:
        return _due(s, ctx, ctx.actor(s), everyone=False)


def _close_one(s: Session, ctx: Ctx, journey_id: int) -> JourneyRef | None:
    journey, client = load_journey(s, ctx, journey_id)
    if journey.risk_flag:
        return None
    task = s.exec(
        select(Task).where(
            Task.journey_id == journey.id,
            Task.status == "open",
            Task.kind == TaskKind.NO_RESPONSE_CLOSE.value,
            col(Task.due_date) <= ctx.today(),
        )
    ).first()
    if task is None or not closes_automatically(task.key):
        return None
    # the day the opt-in period ended (a working day, never after today), not the day this runs
    ch = S.apply(step_facts(s, journey, client), S.Close(task.due_date, L.EndReason.NO_RESPONSE.value), ctx.today())
    b, a = write_step(s, ctx, journey, client, ch)  # the task is done; telling the referrer is due
    navigator = s.get(User, journey.navigator_id)
    audit.AuditWriter(s, navigator.username if navigator else ctx.username, PROTOCOL, ctx.now()).add(
        "journey.close",
        "journey",
        journey.id,
        client_id=client.id,
        journey_id=journey.id,
        before=b,
        after=a | {"by": PROTOCOL, "run_by": ctx.acting_as or ctx.username, "task_due": task.due_date},
    )
    return JourneyRef(row_id(journey.id), row_id(client.id), client.client_ref, journey.state)


def close_due_no_response(ctx: Ctx, *, manual: bool = False) -> ClosedForNoResponse:
    """Close for no response every journey whose opt-in period is over, on its task's due date.

    Automatic (the app's start, a ``navigator`` command): only when the protocol says so, for every
    journey the acting user may close. ``manual`` (Today's "close all due"): the acting user's own,
    whatever the setting. Journeys at risk are never closed; a closure the rules refuse now (a step
    recorded after the due date) is left on Today. Short transactions of ``BATCH`` journeys each."""
    with ctx.read() as s:
        actor = ctx.actor(s)
        automatic = protocol(s).auto_close_no_response
        if not manual and not automatic:
            return ClosedForNoResponse((), 0, 0, False)
        due = _due(s, ctx, actor, everyone=not manual)
    closed: list[JourneyRef] = []
    refused = 0
    ids = list(due.journey_ids)
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        with ctx.write() as s:
            for jid in batch:
                try:
                    with s.begin_nested():  # a refused closure leaves the others of the batch
                        ref = _close_one(s, ctx, jid)
                except (DomainError, AccessDenied):
                    refused += 1
                    continue
                if ref is not None:
                    closed.append(ref)
    return ClosedForNoResponse(tuple(closed), due.at_risk, refused, True)
