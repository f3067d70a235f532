"""Replaying a journey for the bulk writer: what the caller describes, each step through the domain.

The import and the demo describe a person (``ClientSpec``) and a journey with its steps
(``JourneySpec``; the steps are ``domain/steps.py``'s). ``replay`` sends the referral
(``steps.Receive``) and every step through ``steps.apply`` in order and keeps what each
returns as ops for the writer (services/casework/bulk.py) -- or raises ``StepError`` with
the step's index (-1: the referral) and the field at fault. Nothing here decides a rule
and nothing touches a store: the import replays every row to report every refusal before
writing any.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import EllipsisType
from typing import Any

from navigator.domain import lifecycle as L
from navigator.domain import referral
from navigator.domain import steps as S
from navigator.domain.errors import DomainError
from navigator.domain.followups import (
    Attempt,
)
from navigator.domain.steps import (
    Swemwbs,
)
from navigator.services.casework.records import JOURNEY_FIELDS

__all__ = ["ClientSpec", "JourneySpec", "Replayed", "Step", "StepError", "measurement", "replay"]


# ---------------------------------------------------------------- what the caller describes


@dataclass(eq=False)
class ClientSpec:
    """A person. ``id`` is set once written (or given, for a person already in the store)."""

    client_ref: str
    first_name: str
    last_name: str
    date_of_birth: date
    locality_id: int
    postcode: str | None = None
    nhs_number: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    preferred_method: str | None = None
    imd_decile: int | None = None
    consent_to_share: bool = False
    id: int | None = None


# Steps (domain/steps.py), replayed in the order given (the caller keeps them in date order).
# ``tag`` is the caller's own label (the import puts the CSV column there). They are re-exported
# here so the import and the demo build them as ``bulk.Contact(...)``.
Step = S.Step


@dataclass(eq=False)
class JourneySpec:
    client: ClientSpec
    navigator_id: int
    source_id: int
    received_date: date
    locality_id: int | None = None  # default: the client's locality
    # the person's IMD decile when referred (None: unknown); default (...): the client's. The import gives its row's.
    imd_decile: int | EllipsisType | None = ...
    attributes_basis: str = referral.BASIS_RECEIVED  # domain/referral.py: received | import
    referrer: str | None = None
    reason: str | None = None
    support_area_ids: Sequence[int] = ()
    steps: Sequence[Step] = ()
    recorded_by: int | None = None  # user_id on contact/note/measure rows; default: the acting user
    id: int | None = None  # set once written


class StepError(DomainError):
    """A rule refused one step of a journey being replayed."""

    def __init__(self, index: int, step: Step | None, error: DomainError) -> None:
        super().__init__(error.message, field=error.field)
        self.index = index  # -1: the referral itself
        self.step = step
        self.error = error

    @property
    def tag(self) -> str | None:
        return getattr(self.step, "tag", None)


# ---------------------------------------------------------------- replay (pure)


@dataclass
class Replayed:
    """A journey after its steps went through the rules; rows still without ids."""

    spec: JourneySpec
    journey: dict  # JOURNEY_FIELDS plus version
    ops: list[tuple]  # (kind, payload...) in step order: what to write and audit
    goals: list[dict]
    onwards: list[dict]
    attempts: list[Attempt]
    facts: L.JourneyFacts  # the journey's facts after its last step

    @property
    def state(self) -> str:
        return self.journey["state"]


def measurement(point: str, on: date, value: Swemwbs) -> dict:
    """A SWEMWBS measurement row (no ids): items when given, raw, and the metric in hundredths."""
    return S.measurement("swemwbs", point, on, value)


def _set(j: dict, cols: Mapping[str, Any]) -> tuple[dict, dict]:
    """Write a step's journey columns into ``j`` (and count a version); the audit diff over JOURNEY_FIELDS."""
    before: dict = {}
    after: dict = {}
    for k, v in cols.items():
        old = j.get(k)
        if old != v:
            j[k] = v
            if k in _AUDITED:
                before[k] = old
                after[k] = v
    j["version"] += 1
    return before, after


_AUDITED = frozenset(JOURNEY_FIELDS)


def replay(spec: JourneySpec, today: date) -> Replayed:
    """Run every step of a journey through the domain's ``steps.apply``, in order. Raises StepError.

    Nothing here decides anything: each step's changes come from the domain and are only kept
    as rows (and audit events, shaped like the services') to write.
    """
    client = spec.client
    f = L.JourneyFacts.unreceived(client.date_of_birth, client.consent_to_share)
    try:
        ch = S.apply(f, S.Receive(spec.received_date, spec.referrer, spec.reason), today)
    except DomainError as exc:
        raise StepError(-1, None, exc) from None
    j: dict[str, Any] = dict.fromkeys(JOURNEY_FIELDS)
    j.update(ch.journey, navigator_id=spec.navigator_id, version=1)
    f = ch.facts
    ops: list[tuple] = []
    goals: list[dict] = []
    onwards: list[dict] = []
    attempts: list[Attempt] = []
    for index, step in enumerate(spec.steps):
        try:
            ch = S.apply(f, step, today)
        except DomainError as exc:
            raise StepError(index, step, exc) from None
        except (ValueError, KeyError, IndexError, TypeError):
            raise StepError(index, step, DomainError("That step does not fit this journey.")) from None
        f = ch.facts
        _keep(step, ch, j, ops, goals, onwards, attempts)
    return Replayed(spec, j, ops, goals, onwards, attempts, f)


def _keep(step: Step, ch: S.Changes, j: dict, ops: list, goals: list, onwards: list, attempts: list) -> None:
    """What one applied step writes, kept as an op (in step order) for the writer."""
    kind = type(step)
    if kind is S.Contact:
        row = dict(ch.record or {})
        attempts.append(Attempt(row["on_date"], L.ContactOutcome(row["outcome"]).successful))
        ops.append(("contact", row, *_set(j, ch.journey)))
    elif kind is S.Decide:
        ops.append(("decide", *_set(j, ch.journey)))
    elif kind is S.Start or kind is S.Close:
        ops.append(("start" if kind is S.Start else "close", ch.measure, *_set(j, ch.journey)))
    elif kind is S.Review:
        ops.append(("review", dict(ch.record or {}), ch.measure, *_set(j, ch.journey)))
    elif kind is S.Measure:
        ops.append(("measure", dict(ch.measure or {})))
    elif kind is S.Goal:
        goals.append({**(ch.goal or {}), "version": 1})
        ops.append(("goal", ch.key, dict(goals[-1])))
    elif kind is S.GoalUpdate:
        goal = goals[ch.key]  # type: ignore[index]
        cols = dict(ch.goal or {})
        before = {k: goal[k] for k in cols}
        after = dict(cols)
        goal.update(cols)
        note = dict(ch.record) if ch.record else None
        if note is not None:
            after["note"] = note["note"]
        if after:
            goal["version"] += 1
            ops.append(("goal_update", ch.key, before, after, note))
    elif kind is S.Onward:
        onwards.append({**(ch.onward or {}), "version": 1})
        ops.append(("onward", ch.key))
    elif kind is S.PartnerReport:
        o = onwards[ch.key]  # type: ignore[index]
        before = {"status": o["status"], "start_date": o["start_date"], "end_date": o["end_date"]}
        o.update(ch.onward or {})
        o["version"] += 1
        up = dict(ch.record or {})
        after = {
            "status": o["status"],
            "start_date": o["start_date"],
            "end_date": o["end_date"],
            "kind": up["kind"],
            "on": up["on_date"],
            "note": up["note"],
        }
        ops.append(("partner_update", ch.key, up, before, after))
    elif kind is S.FollowUp:
        o = onwards[ch.key]  # type: ignore[index]
        o.update(ch.onward or {})
        o["version"] += 1
        ops.append(("followed_up", ch.key, (ch.record or {}).get("note")))
    elif kind is S.Chase:  # issue 15: a partner chased (the referral's own columns do not move)
        ops.append(("chase", ch.key, dict(ch.record or {})))
    else:  # pragma: no cover - a step the bulk path cannot write yet
        raise TypeError(f"the bulk writer cannot write {type(step).__name__}")
