"""Mistakes corrected: amending a recorded step, and reopening a closed journey (issue 15).

``amend`` replaces one recorded step (the referral's date and referrer, a contact, the
decision, the start, a measure, a review, an onward referral or a partner's update, the
closure) with new values and a reason. The journey's history (history.py) is replayed with
the step replaced through the domain's rules (``domain/amend.py``), so an amended history
meets the same rules as a new entry; what differs between the two replays is written in one
transaction: the row itself, the journey's columns (state, the date it counts from, its
dates), the onward referrals' columns. Follow-ups are kept in step and an audit event holds
before, after and the reason. Its navigator, whoever recorded the row, or a team lead may.

``amend_preview`` says, before saving, which figures of returns already sent (``navigator
returns --final``) the amendment would move: the month's return computed by the measure SQL
(``db/measures/``) now and with the amendment written inside a transaction that is rolled back.

``reopen``: a team lead reopens a closed or rejected journey (``steps.Reopen``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from navigator.domain import amend as AM
from navigator.domain import lifecycle as L
from navigator.domain import referral
from navigator.domain import steps as S
from navigator.domain.errors import AccessDenied, DomainError
from navigator.services import access, audit
from navigator.services.casework.history import JOURNEY_KEYS, History, history, row_of
from navigator.services.casework.records import (
    JOURNEY_FIELDS,
    load_journey,
    snapshot,
    step_facts,
    sync_tasks,
    write_step,
)
from navigator.services.context import Ctx
from navigator.services.dto import JourneyRef
from navigator.services.returns.compute import compute
from navigator.services.returns.records import build_record_tables
from navigator.services.returns.results import MonthlyReturn, ReturnOptions
from navigator.services.returns.sent import FigureDrift
from navigator.store.ids import row_id
from navigator.store.models import Client, Journey, OnwardReferral, Programme, SentReturn

__all__ = [
    "AmendChoices",
    "AmendPreview",
    "AmendableItem",
    "Amendment",
    "MonthMoves",
    "amend",
    "amend_preview",
    "amendable",
    "reopen",
]

KIND_LABELS = {
    "journey:receive": "Referral received",
    "journey:decide": "Decision",
    "journey:start": "Start",
    "journey:close": "Closure",
    "contact": "Contact",
    "review": "Plan review",
    "measure": "Measure",
    "onward": "Onward referral",
    "partner_update": "Partner update",
}
_AMENDABLE_ROWS = ("contact", "review", "measure", "onward", "partner_update")
_JOURNEY_AUDIT = (*JOURNEY_FIELDS, "state_since", "referrer", "reason", "age_band")


# ---------------------------------------------------------------- what can be amended


@dataclass(frozen=True)
class AmendableItem:
    key: str  # "contact:12", "journey:start", ...
    kind: str  # "contact", "start", ... (the key's kind; the journey's own steps without "journey:")
    on: date
    label: str
    values: Mapping[str, Any]  # the step's recorded values, by the step's attribute names


@dataclass(frozen=True)
class AmendChoices:
    journey_id: int
    version: int
    state: str
    items: tuple[AmendableItem, ...]
    may_amend: bool
    may_reopen: bool  # a team lead, on a closed or rejected journey


def _kind(key: str) -> str:
    return key.split(":", 1)[1] if key.startswith("journey:") else key.split(":", 1)[0]


def _label_key(key: str) -> str:
    return key if key.startswith("journey:") else key.split(":", 1)[0]


def _summary(step: S.Step, programmes: Mapping[int, str], onwards: Mapping[int, str]) -> str:
    if isinstance(step, S.Receive):
        return f"from {step.referrer}" if step.referrer else ""
    if isinstance(step, S.Contact):
        return f"{step.method}, {step.outcome.replace('_', ' ')}"
    if isinstance(step, S.Decide):
        return step.decision + (f" ({step.reason.replace('_', ' ')})" if step.reason else "")
    if isinstance(step, S.Close):
        return step.reason.replace("_", " ")
    if isinstance(step, S.Measure):
        return f"{step.kind.upper()} at {step.point}"
    if isinstance(step, S.Onward):
        return programmes.get(step.programme_id or 0, "")
    if isinstance(step, S.PartnerReport):
        return f"{onwards.get(step.onward, '')}: {step.kind.replace('_', ' ')}"
    return ""


def _values(step: S.Step) -> dict[str, Any]:
    return {f.name: getattr(step, f.name) for f in fields(step) if f.name != "tag"}


def _amendable_keys(h: History) -> list[AM.Recorded]:
    return [r for r in h.steps if r.key in JOURNEY_KEYS or r.key.split(":", 1)[0] in _AMENDABLE_ROWS]


def _programmes(s: Session, journey: Journey) -> tuple[dict[int, str], dict[int, str]]:
    """Programme id -> its name, and onward referral id -> its programme's name, for labels."""
    by_programme: dict[int, str] = {}
    by_onward: dict[int, str] = {}
    for oid, pid, name in s.exec(
        select(col(OnwardReferral.id), col(Programme.id), col(Programme.name))
        .join(Programme, col(Programme.id) == col(OnwardReferral.programme_id))
        .where(OnwardReferral.journey_id == journey.id)
    ).all():
        by_onward[row_id(oid)] = name
        by_programme[row_id(pid)] = name
    return by_programme, by_onward


def _may_amend(actor, journey: Journey, recorded_by: int | None) -> bool:
    return (
        actor.is_team_lead or journey.navigator_id == actor.id or (recorded_by is not None and recorded_by == actor.id)
    )


def amendable(ctx: Ctx, journey_id: int) -> AmendChoices:
    """The journey's recorded steps that can be amended, newest first, with their values."""
    with ctx.read() as s:
        journey, client = load_journey(s, ctx, journey_id)
        actor = ctx.actor(s)
        h = history(s, journey, client)
        programmes, onwards = _programmes(s, journey)
        items = []
        for r in _amendable_keys(h):
            on = AM.date_of(r.step)
            assert on is not None  # every amendable step is dated
            what = KIND_LABELS[_label_key(r.key)]
            summary = _summary(r.step, programmes, onwards)
            label = f"{on.isoformat()}  {what}" + (f": {summary}" if summary else "")
            items.append(AmendableItem(r.key, _kind(r.key), on, label, _values(r.step)))
        items.sort(key=lambda i: i.on, reverse=True)
        finished = L.State(journey.state) in L.FINISHED_STATES
        return AmendChoices(
            row_id(journey.id),
            journey.version,
            journey.state,
            tuple(items),
            _may_amend(actor, journey, None) or any(v == actor.id for v in h.recorded_by.values()),
            actor.is_team_lead and finished,
        )


# ---------------------------------------------------------------- amending


@dataclass(frozen=True)
class Amendment:
    ref: JourneyRef
    changed: tuple[str, ...]  # the step's attributes that changed


def _step_with(old: S.Step, values: Mapping[str, Any]) -> S.Step:
    names = {f.name for f in fields(old)} - {"tag"}
    unknown = set(values) - names
    if unknown:
        raise TypeError(f"not fields of {type(old).__name__}: {sorted(unknown)}")
    new = dict(values)
    if isinstance(new.get("swemwbs"), list):
        new["swemwbs"] = tuple(new["swemwbs"])
    return replace(old, **new)


def _check(s: Session, ctx: Ctx, journey: Journey, client: Client, key: str, values: Mapping[str, Any], why: str):
    h = history(s, journey, client)
    rec = h.get(key)
    if rec is None or not (key in JOURNEY_KEYS or key.split(":", 1)[0] in _AMENDABLE_ROWS):
        raise DomainError("That record is no longer there (or cannot be amended): reload the journey.", field="item")
    if not _may_amend(ctx.actor(s), journey, h.recorded_by.get(key)):
        raise AccessDenied("Only the journey's navigator, whoever recorded it, or a team lead can amend it.")
    return AM.amend(h.base, h.steps, AM.Amend(key, _step_with(rec.step, values), why), ctx.today())


def _write(s: Session, ctx: Ctx, journey: Journey, client: Client, a: AM.Amended) -> None:
    """Write what differs between the history as stored and as amended."""
    delta = AM.journey_delta(a)
    if "received_date" in delta and journey.attributes_basis == referral.BASIS_RECEIVED:
        delta["age_band"] = referral.age_band(client.date_of_birth, delta["received_date"])
    for k, v in delta.items():
        setattr(journey, k, v)
    ch = a.after.changes[a.key]
    row = row_of(s, a.key)
    kind = a.key.split(":", 1)[0]
    if row is not None:
        if kind in ("contact", "review", "partner_update"):
            cols: Mapping[str, Any] = ch.record or {}
        elif kind == "measure":
            cols = ch.measure or {}
        else:  # an onward referral: its note here, its dates and status below
            cols = {"note": (ch.onward or {}).get("note")}
        for k, v in cols.items():
            setattr(row, k, v)
        if hasattr(row, "version"):
            row.version += 1
            row.updated_at = ctx.now()
        s.add(row)
    for key in a.moved:  # the measures taken with a start or closure whose date moved
        mrow = row_of(s, key)
        assert mrow is not None  # in the history just read
        for k, v in (a.after.changes[key].measure or {}).items():
            setattr(mrow, k, v)
        s.add(mrow)
    for ref, ocols in AM.onward_delta(a).items():
        o = s.get(OnwardReferral, ref)
        assert o is not None  # it is in the history just read
        for k, v in ocols.items():
            setattr(o, k, v)
        if o is not row:
            o.version += 1
            o.updated_at = ctx.now()
        s.add(o)
    journey.version += 1
    journey.updated_at = ctx.now()
    s.add(journey)
    s.flush()


def amend(
    ctx: Ctx,
    journey_id: int,
    key: str,
    values: Mapping[str, Any],
    why: str,
    expected_version: int | None = None,
) -> Amendment:
    """Amend the recorded step ``key`` (see ``amendable``) with ``values`` (the step's attribute
    names), because of ``why``. Refusals are ``DomainError`` naming the attribute (``why``: the reason)."""
    with ctx.write() as s:
        journey, client = load_journey(s, ctx, journey_id, expected_version)
        a = _check(s, ctx, journey, client, key, values, why)
        before = snapshot(journey, _JOURNEY_AUDIT)
        _write(s, ctx, journey, client, a)
        sync_tasks(s, ctx, journey, client)
        b, after = audit.diff(before, snapshot(journey, _JOURNEY_AUDIT))
        old = {k: getattr(a.old, k) for k in a.changed}
        new = {k: getattr(a.step, k) for k in a.changed}
        audit.record(
            s,
            ctx,
            "journey.amend",
            "journey",
            journey.id,
            client_id=client.id,
            journey_id=journey.id,
            before=b | {"amended": {"item": key, **old}},
            after=after
            | {"amended": {"item": key, **new}, "reason": a.why}
            | ({"measures_moved_with_it": len(a.moved)} if a.moved else {}),
        )
        ref = JourneyRef(row_id(journey.id), row_id(client.id), client.client_ref, journey.state)
        return Amendment(ref, a.changed)


# ---------------------------------------------------------------- returns already sent


@dataclass(frozen=True)
class MonthMoves:
    """A return already sent whose figures the amendment moves. In each ``FigureDrift`` (sent.py)
    the ``sent_*`` side is the figure as the month computes now, ``today_*`` with the amendment."""

    month: str
    sent_at: datetime
    figures: tuple[FigureDrift, ...]


@dataclass(frozen=True)
class AmendPreview:
    months: tuple[MonthMoves, ...]

    @property
    def moves_sent(self) -> bool:
        return bool(self.months)


class _RollBack(Exception):
    """Leaves the preview's transaction without writing anything."""

    def __init__(self, preview: AmendPreview) -> None:
        super().__init__("rolled back")
        self.preview = preview


def _sent_months(s: Session, since: date) -> dict[str, SentReturn]:
    """The last return sent for each month from ``since``'s month on."""
    out: dict[str, SentReturn] = {}
    for row in s.exec(
        select(SentReturn).where(col(SentReturn.month) >= since.strftime("%Y-%m")).order_by(col(SentReturn.id))
    ).all():
        out[row.month] = row
    return out


def _earliest(a: AM.Amended) -> date:
    """The first day whose figures the amendment may move."""
    days = [AM.date_of(a.old), AM.date_of(a.step)]
    old = AM.journey_columns(a.before.facts)
    for k, v in AM.journey_delta(a).items():
        days += [v, old.get(k)]
    for ref, cols in AM.onward_delta(a).items():
        before = a.before.onward(ref)
        for k, v in cols.items():
            days += [v, getattr(before, k)]
    return min(d for d in days if isinstance(d, date))


def _figures(s: Session, ctx: Ctx, month: str, options: ReturnOptions) -> MonthlyReturn:
    conn = sqlite3.connect(":memory:")
    try:
        rs = build_record_tables(conn, s, ctx, month, steps=2, pseudonymise=False)
        return compute(conn, month, options, places=rs.places).result
    finally:
        conn.close()


def _moves(before: MonthlyReturn, after: MonthlyReturn) -> tuple[FigureDrift, ...]:
    now = {(r.measure, r.place, r.lot, r.locality): r for r in before.rows}
    out = []
    for r in after.rows:
        b = now.get((r.measure, r.place, r.lot, r.locality))
        if b is None:
            continue
        fig = FigureDrift(
            r.lot,
            r.locality,
            r.measure,
            r.kind,
            r.decimals,
            b.value,
            b.suppressed,
            b.exact,
            r.value,
            r.suppressed,
            r.exact,
        )
        if fig.moved:
            out.append(fig)
    return tuple(out)


def amend_preview(ctx: Ctx, journey_id: int, key: str, values: Mapping[str, Any], why: str) -> AmendPreview:
    """The figures of returns already sent that the amendment would move (none: an empty preview).

    Refuses as ``amend`` would (``DomainError`` naming the field); writes nothing."""
    with ctx.read() as s:
        journey, client = load_journey(s, ctx, journey_id)
        a = _check(s, ctx, journey, client, key, values, why)
        if not _sent_months(s, _earliest(a)):
            return AmendPreview(())
    try:
        with ctx.write() as s:
            journey, client = load_journey(s, ctx, journey_id)
            a = _check(s, ctx, journey, client, key, values, why)
            sent = _sent_months(s, _earliest(a))
            opts = {m: ReturnOptions.from_dict(json.loads(r.options or "{}")) for m, r in sent.items()}
            now = {m: _figures(s, ctx, m, opts[m]) for m in sent}
            _write(s, ctx, journey, client, a)
            months = []
            for m, row in sorted(sent.items()):
                moved = _moves(now[m], _figures(s, ctx, m, opts[m]))
                if moved:
                    months.append(MonthMoves(m, row.sent_at, moved))
            raise _RollBack(AmendPreview(tuple(months)))
    except _RollBack as done:
        return done.preview


# ---------------------------------------------------------------- reopening


def reopen(ctx: Ctx, journey_id: int, reason: str, expected_version: int | None = None) -> JourneyRef:
    """A team lead reopens a closed or rejected journey (``steps.Reopen``); its follow-ups resume."""
    with ctx.write() as s:
        journey, client = load_journey(s, ctx, journey_id, expected_version)
        access.require_team_lead(ctx.actor(s))
        open_states = [st.value for st in L.OPEN_STATES]
        other = s.exec(
            select(col(Journey.id)).where(
                Journey.client_id == client.id, col(Journey.id) != journey.id, col(Journey.state).in_(open_states)
            )
        ).first()
        step = S.Reopen(reason, open_elsewhere=other is not None)
        ch = S.apply(step_facts(s, journey, client), step, ctx.today())
        b, after = write_step(s, ctx, journey, client, ch, (*JOURNEY_FIELDS, "state_since"))
        audit.record(
            s,
            ctx,
            "journey.reopen",
            "journey",
            journey.id,
            client_id=client.id,
            journey_id=journey.id,
            before=b,
            after=after | {"reason": (reason or "").strip()},
        )
        return JourneyRef(row_id(journey.id), row_id(client.id), client.client_ref, journey.state)
