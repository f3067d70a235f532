"""Sent returns (``--final``) and drift: which later edits moved which figure.

A sent return keeps, in the store only, each figure as published (in its own
suppression and rounding) with its exact value and cases, and each case's
internal journey id and the (lot id, locality id) of its referral. Drift
recomputes the month with the same definitions and options and compares figure
by figure by those stable ids, never by names: renaming a lot or a locality
moves nothing. A figure moved when what was published changed (its value in
the return's own rounding, or whether it was blank); for each, the journeys
whose part changed and their edits since sending (views of a journey are not
edits).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session, col

from navigator.domain.errors import NotFound
from navigator.services import access, audit
from navigator.services.context import Ctx
from navigator.services.returns.compute import compute_for
from navigator.services.returns.definitions import DEFINITIONS_VERSION, definitions, parse_month
from navigator.services.returns.results import ALL, Computed, ReturnOptions, format_value
from navigator.store.ids import row_id
from navigator.store.models import AuditEvent, Client, Journey, Locality, SentReturn

NOT_EDITS = ("view.", "access.", "search", "return.", "letter.")  # audit actions that change no figure

# ---------------------------------------------------------------- sent returns


@dataclass(frozen=True)
class SentReturnInfo:
    id: int
    month: str
    sent_at: datetime
    username: str
    options: ReturnOptions


def _figures_json(computed: Computed, audit_id: int) -> str:
    r = computed.result
    return json.dumps(
        {
            "definitions_version": DEFINITIONS_VERSION,
            "rows": [
                {
                    "lot": x.lot,
                    "locality": x.locality,
                    "lot_id": x.place[0],
                    "locality_id": x.place[1],
                    "measure": x.measure,
                    "value": None if x.value is None else str(x.value),
                    "suppressed": int(x.suppressed),
                    "exact": None if x.exact is None else str(x.exact),
                    "cases": x.cases,
                }
                for x in r.rows
            ],
            "onward_by_partner": [
                {
                    "partner": p.partner,
                    "programme": p.programme,
                    "made": p.made,
                    "started": p.started,
                    "completed": p.completed,
                    "withdrew": p.withdrew,
                }
                for p in r.onward_by_partner
            ],
            "cases": {m: sorted([jid, x] for jid, x in c.items()) for m, c in sorted(computed.cases.items())},
            "places": {str(jid): list(p) for jid, p in sorted(computed.places.items())},  # (lot id, locality id)
            "places_by": "id",
            "audit_id": audit_id,
        },
        sort_keys=True,
    )


def record_sent(s: Session, ctx: Ctx, computed: Computed, *, file_name: str | None = None) -> int:
    """Record a return as sent (inside the caller's write transaction), with an audit event."""
    r = computed.result
    sent = SentReturn(
        month=r.month,
        sent_at=ctx.now(),
        username=ctx.username,
        options=json.dumps(r.options.as_dict(), sort_keys=True),
        figures="{}",
    )
    s.add(sent)
    s.flush()
    audit.record(
        s,
        ctx,
        "return.final",
        "sent_return",
        sent.id,
        after={"month": r.month, "options": r.options.as_dict(), "figures": len(r.rows), "file": file_name},
    )
    audit_id = s.execute(select(func.max(AuditEvent.id))).scalar_one()
    sent.figures = _figures_json(computed, audit_id)
    s.add(sent)
    s.flush()
    return row_id(sent.id)


def _info(row: SentReturn) -> SentReturnInfo:
    return SentReturnInfo(
        row_id(row.id), row.month, row.sent_at, row.username, ReturnOptions.from_dict(json.loads(row.options or "{}"))
    )


def sent_returns(ctx: Ctx) -> tuple[SentReturnInfo, ...]:
    """Every return recorded as sent, newest month first."""
    with ctx.read() as s:
        access.require_team_lead(ctx.actor(s))
        rows = s.execute(select(SentReturn).order_by(col(SentReturn.month).desc(), col(SentReturn.id).desc())).scalars()
        return tuple(_info(r) for r in rows)


def latest_sent(ctx: Ctx, month: str) -> SentReturnInfo | None:
    """The last return sent for that month, if any."""
    month = parse_month(month)
    with ctx.read() as s:
        access.require_team_lead(ctx.actor(s))
        row = (
            s.execute(
                select(SentReturn).where(col(SentReturn.month) == month).order_by(col(SentReturn.id).desc()).limit(1)
            )
            .scalars()
            .first()
        )
        return _info(row) if row else None


@dataclass(frozen=True)
class JourneyEdit:
    at: datetime
    username: str
    acting_as: str | None
    action: str
    what: str  # the fields that changed (values of codes and dates; free text shown only as "(text)")


@dataclass(frozen=True)
class MovedJourney:
    journey_id: int
    client_ref: str
    sent_x: int | None  # its part in the figure when sent (None: not counted then)
    today_x: int | None  # and today
    edits: tuple[JourneyEdit, ...]  # audit events for it written after the return was sent


@dataclass(frozen=True)
class FigureDrift:
    lot: str
    locality: str
    measure: str
    kind: str
    decimals: int
    sent_value: Decimal | None
    sent_suppressed: bool
    sent_exact: Decimal | None
    today_value: Decimal | None
    today_suppressed: bool
    today_exact: Decimal | None
    journeys: tuple[MovedJourney, ...] = ()

    @property
    def moved(self) -> bool:
        """What was published changed: the value in the return's own rounding, or whether it was blank."""
        return (self.sent_suppressed, None if self.sent_suppressed else self.sent_value) != (
            self.today_suppressed,
            None if self.today_suppressed else self.today_value,
        )

    @property
    def level(self) -> str:
        if self.lot == ALL:
            return "service"
        return "lot" if self.locality == ALL else "locality"

    @property
    def sent_text(self) -> str:
        return "*" if self.sent_suppressed else format_value(self.sent_value, self.kind, self.decimals)

    @property
    def today_text(self) -> str:
        return "*" if self.today_suppressed else format_value(self.today_value, self.kind, self.decimals)


@dataclass(frozen=True)
class Drift:
    sent: SentReturnInfo
    figures: tuple[FigureDrift, ...]

    @property
    def moved(self) -> tuple[FigureDrift, ...]:
        return tuple(f for f in self.figures if f.moved)


FREE_TEXT_KEYS = frozenset(
    {
        "note",
        "reason",
        "referrer",
        "outcome_evidence",
        "evidence",
        "statement",
        "first_name",
        "last_name",
        "address",
        "phone",
        "email",
        "postcode",
        "nhs_number",
        "date_of_birth",
    }
)


def _summarise_change(before: str | None, after: str | None) -> str:
    try:
        b = json.loads(before) if before else {}
        a = json.loads(after) if after else {}
    except ValueError:
        return ""
    if not isinstance(b, dict) or not isinstance(a, dict):
        return ""
    parts = []
    for key in sorted(set(b) | set(a)):
        old, new = b.get(key), a.get(key)
        if key in FREE_TEXT_KEYS:
            parts.append(f"{key} changed")
        elif isinstance(new, dict):
            inner = ", ".join(
                f"{k}={v}"
                for k, v in sorted(new.items())
                if k not in FREE_TEXT_KEYS and not isinstance(v, (dict, list)) and v is not None
            )
            parts.append(f"{key} ({inner})" if inner else key)
        elif key in b:
            parts.append(f"{key}: {old} -> {new}")
        else:
            parts.append(f"{key}: {new}")
    return "; ".join(parts)


def _parse_dec(v) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def drift(ctx: Ctx, sent_id: int) -> Drift:
    """What was sent vs what the same definitions (and options) give today, figure by figure,
    with the journeys whose edits moved each moved figure (audit events written after sending)."""
    with ctx.read() as s:
        access.require_team_lead(ctx.actor(s))
        row = s.get(SentReturn, sent_id)
        if row is None:
            raise NotFound(f"There is no sent return {sent_id}. `navigator returns` lists them.")
        info = _info(row)
        figures = json.loads(row.figures or "{}")
    today = compute_for(ctx, info.month, info.options)
    defs = definitions()
    by_name = {m.measure: m for m in defs.measures}
    by_id = figures.get("places_by") == "id"  # returns sent before ids were kept are matched by names

    def key_of(measure: str, lot: str, locality: str, place) -> tuple:
        if not by_id:
            return (measure, lot, locality)
        return (measure, place[0], place[1])

    sent_rows = {
        key_of(r["measure"], r["lot"], r["locality"], (r.get("lot_id"), r.get("locality_id"))): r
        for r in figures.get("rows", [])
    }
    today_rows = {key_of(r.measure, r.lot, r.locality, r.place): r for r in today.result.rows}
    sent_cases = {m: {int(j): int(x) for j, x in c} for m, c in figures.get("cases", {}).items()}
    sent_places = {int(j): tuple(p) for j, p in figures.get("places", {}).items()}
    if by_id:
        today_places: dict = today.places
    else:
        names = {r.place: (r.lot, r.locality) for r in today.result.rows if r.place[1] is not None}
        today_places = {j: names.get(p) for j, p in today.places.items()}
    audit_id = int(figures.get("audit_id") or 0)

    out: list[FigureDrift] = []
    wanted: set[int] = set()
    pending: list[tuple[FigureDrift, list[tuple[int, int | None, int | None]]]] = []
    # the figures that were sent (a locality added since was not sent, so it cannot have moved)
    keys = [k for k in today_rows if k in sent_rows]
    keys += [k for k in sent_rows if k not in today_rows]
    for key in keys:
        sr = sent_rows.get(key)
        tr = today_rows.get(key)
        measure = key[0]
        if tr:
            lot, locality = tr.lot, tr.locality
        else:
            assert sr is not None  # the key is in one of the two
            lot, locality = sr["lot"], sr["locality"]
        m = by_name.get(measure)
        kind, decimals = (m.kind, m.decimals) if m else ("count", 0)
        fig = FigureDrift(
            lot,
            locality,
            measure,
            kind,
            decimals,
            _parse_dec(sr["value"]) if sr else None,
            bool(sr["suppressed"]) if sr else False,
            _parse_dec(sr["exact"]) if sr else None,
            tr.value if tr else None,
            tr.suppressed if tr else False,
            tr.exact if tr else None,
        )
        if not fig.moved:
            out.append(fig)
            continue
        scope = key[1:]

        def in_scope(place, scope=scope) -> bool:
            if place is None:
                return False
            want_lot, want_loc = scope
            if want_lot in (None, ALL):
                return True
            return place[0] == want_lot and (want_loc in (None, ALL) or place[1] == want_loc)

        before = {j: x for j, x in sent_cases.get(measure, {}).items() if in_scope(sent_places.get(j))}
        now = {j: x for j, x in today.cases.get(measure, {}).items() if in_scope(today_places.get(j))}
        changed = [
            (j, before.get(j), now.get(j)) for j in sorted(set(before) | set(now)) if before.get(j) != now.get(j)
        ]
        wanted.update(j for j, _, _ in changed)
        pending.append((fig, changed))
        out.append(fig)

    if not pending:
        return Drift(info, tuple(out))
    refs: dict[int, tuple[str, int]] = {}
    hidden: set[int] = set()  # journeys of other lots than a team lead's
    edits: dict[int, list[JourneyEdit]] = {}
    with ctx.read() as s:
        ids = sorted(wanted)
        actor = ctx.actor(s)  # issue 15: a team lead's list names only their lots' people
        lots = None if actor.is_admin or not actor.lot_ids else actor.lot_ids
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            for jid, ref, cid, lot in s.execute(
                select(col(Journey.id), col(Client.client_ref), col(Client.id), col(Locality.lot_id))
                .join(Client, col(Client.id) == col(Journey.client_id))
                .join(Locality, col(Locality.id) == col(Journey.locality_id))
                .where(col(Journey.id).in_(chunk))
            ).all():
                if lots is None or lot in lots:
                    refs[jid] = (ref, cid)
                else:
                    hidden.add(jid)
        ids = [j for j in ids if j not in hidden]
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            for ev in s.execute(
                select(AuditEvent)
                .where(col(AuditEvent.id) > audit_id, col(AuditEvent.journey_id).in_(chunk))
                .order_by(col(AuditEvent.id))
            ).scalars():
                if _is_edit(ev):  # the journey's own events: a person's details no longer move a figure
                    edits.setdefault(ev.journey_id, []).append(_edit(ev))
    final: list[FigureDrift] = []
    changed_for = {id(fig): changed for fig, changed in pending}

    for fig in out:
        moved = changed_for.get(id(fig))
        if moved is None:
            final.append(fig)
            continue
        journeys = tuple(
            MovedJourney(j, refs.get(j, ("?", 0))[0], sx, tx, tuple(sorted(edits.get(j, []), key=lambda e: e.at)))
            for j, sx, tx in moved
            if j not in hidden  # another lot's journey is not named to a team lead
        )
        final.append(replace(fig, journeys=journeys))
    return Drift(info, tuple(final))


def _is_edit(ev: AuditEvent) -> bool:
    return not ev.action.startswith(NOT_EDITS)


def _edit(ev: AuditEvent) -> JourneyEdit:
    return JourneyEdit(ev.at, ev.username, ev.acting_as, ev.action, _summarise_change(ev.before, ev.after))


def moved_figures(ctx: Ctx, month: str) -> int | None:
    """For the preview: how many figures of the last return sent for the month have moved (None: not sent)."""
    info = latest_sent(ctx, month)
    if info is None:
        return None
    return len(drift(ctx, info.id).moved)
