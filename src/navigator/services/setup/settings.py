"""Service settings: the no-response protocol, the service's own details (for letters), and calendar
corrections.

A protocol change applies to follow-ups scheduled after it: stored tasks keep their due dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from navigator.domain.errors import DomainError, NotFound
from navigator.domain.followups import Protocol
from navigator.domain.workdays import WorkingCalendar
from navigator.services import audit
from navigator.services.context import Ctx, get_setting, protocol, put_setting
from navigator.services.setup.common import admin_actor, checked_text
from navigator.store.models import (
    CalendarCorrection,
)


def get_protocol(ctx: Ctx) -> Protocol:
    with ctx.read() as s:
        ctx.actor(s)
        return protocol(s)


def protocol_from(current: Protocol, **changes) -> Protocol:
    """The current protocol with some values changed; the Protocol checks the whole."""
    data = current.to_dict()
    for key, value in changes.items():
        if value is None:
            continue
        if key not in data:
            raise DomainError(f"Unknown protocol setting '{key}'.", field=key)
        if key == "notify_referrer":
            if not isinstance(value, bool):
                raise DomainError("Whether closure notifies the referrer is true or false.", field=key)
        elif key == "auto_close_no_response":
            if not isinstance(value, bool):
                raise DomainError("Whether no-response closure is automatic is true or false.", field=key)
        elif key == "chase_limit":
            if isinstance(value, bool) or not isinstance(value, int):
                raise DomainError("Give the number of chases as a whole number.", field=key)
        elif key == "methods":
            if isinstance(value, str) or not all(isinstance(m, str) for m in value):
                raise DomainError("Give the methods as a list, one per attempt.", field=key)
        elif key == "gaps":
            if isinstance(value, str) or not all(isinstance(g, int) and not isinstance(g, bool) for g in value):
                raise DomainError("Give the gaps as whole numbers of working days.", field=key)
        elif isinstance(value, bool) or not isinstance(value, int):
            raise DomainError(
                "Give the number of attempts as a whole number."
                if key == "attempts"
                else "Give a whole number of working days.",
                field=key,
            )
        data[key] = value
    try:
        return Protocol.from_dict(data)
    except (TypeError, ValueError):
        raise DomainError("The protocol values are not valid numbers.", field="protocol") from None


def set_protocol_in(s: Session, ctx: Ctx, w: audit.AuditWriter, new: Protocol) -> bool:
    old = protocol(s)
    if old == new and get_setting(s, "protocol") is not None:
        return False
    put_setting(s, "protocol", new.to_dict(), ctx.now())
    b, a = audit.diff(old.to_dict(), new.to_dict())
    w.add("config.protocol", "setting", None, before=b, after=a)
    return True


def set_protocol(ctx: Ctx, **changes) -> Protocol:
    """Change the no-response protocol (attempts, first_within, gaps, methods, opt_in_days,
    notify_referrer, decide_within, review_every, partner_response_days, chase_limit,
    auto_close_no_response).

    Applies to follow-ups scheduled after the change: stored tasks keep their due dates."""
    with ctx.write() as s:
        admin_actor(s, ctx)
        new = protocol_from(protocol(s), **changes)
        set_protocol_in(s, ctx, audit.writer(s, ctx), new)
        return new


@dataclass(frozen=True)
class ServiceDetails:
    name: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None


DEFAULT_SERVICE_NAME = "the community navigation service"
SERVICE_FIELDS = ("name", "phone", "email", "address")


def service_in(s: Session) -> ServiceDetails:
    data = get_setting(s, "service") or {}
    return ServiceDetails(
        data.get("name") or DEFAULT_SERVICE_NAME, data.get("phone"), data.get("email"), data.get("address")
    )


def service_details(ctx: Ctx) -> ServiceDetails:
    with ctx.read() as s:
        return service_in(s)


def set_service_in(s: Session, ctx: Ctx, w: audit.AuditWriter, **values) -> bool:
    before = get_setting(s, "service") or {}
    after = dict(before)
    limits = {"name": 200, "phone": 40, "email": 200, "address": 400}
    for key, value in values.items():
        if key not in SERVICE_FIELDS:
            raise DomainError(f"Unknown service detail '{key}'.", field=key)
        if value is None:
            continue
        v = checked_text(value, key, max_len=limits[key], multiline=key == "address")
        if key == "email" and v and "@" not in v:
            raise DomainError("An email address has an @.", field="email")
        if v:
            after[key] = v
        else:
            after.pop(key, None)
    if after == before:
        return False
    put_setting(s, "service", after, ctx.now())
    b, a = audit.diff(before, after)
    for k in before:
        if k not in after:
            b[k], a[k] = before[k], None
    w.add("config.service", "setting", None, before=b, after=a)
    return True


def set_service_details(ctx: Ctx, **values) -> ServiceDetails:
    """The service's name, phone, email and address used in letters (None keeps; '' clears)."""
    with ctx.write() as s:
        admin_actor(s, ctx)
        set_service_in(s, ctx, audit.writer(s, ctx), **values)
        return service_in(s)


@dataclass(frozen=True)
class CalendarRow:
    day: date
    is_working_day: bool
    note: str | None


_PLAIN_CALENDAR = WorkingCalendar()


def list_calendar(ctx: Ctx) -> tuple[CalendarRow, ...]:
    with ctx.read() as s:
        ctx.actor(s)
        rows = s.exec(select(CalendarCorrection).order_by(col(CalendarCorrection.day))).all()
        return tuple(CalendarRow(r.day, bool(r.is_working_day), r.note) for r in rows)


def set_day_in(s: Session, ctx: Ctx, w: audit.AuditWriter, day: date, working: bool, note: str | None) -> bool:
    if not isinstance(day, date) or not 1900 <= day.year <= 2200:
        raise DomainError("Give a date between 1900 and 2200.", field="day")
    note_ = checked_text(note, "note", max_len=200)
    row = s.get(CalendarCorrection, day)
    if _PLAIN_CALENDAR.is_working_day(day) == bool(working):
        if row is None:
            kind = "a working day" if working else "not a working day (weekend or bank holiday)"
            raise DomainError(f"{day.isoformat()} is already {kind}: no correction is needed.", field="day")
        # The correction is no longer needed: removing it has the same effect.
        return remove_day_in(s, ctx, w, day)
    after = {"day": day, "is_working_day": bool(working), "note": note_}
    if row is None:
        s.add(CalendarCorrection(day=day, is_working_day=bool(working), note=note_))
        before = None
    else:
        before = {"day": row.day, "is_working_day": bool(row.is_working_day), "note": row.note}
        if before == after:
            return False
        row.is_working_day = bool(working)
        row.note = note_
        s.add(row)
    s.flush()
    w.add("calendar.set", "calendar_correction", None, before=before, after=after)
    return True


def remove_day_in(s: Session, ctx: Ctx, w: audit.AuditWriter, day: date) -> bool:
    row = s.get(CalendarCorrection, day)
    if row is None:
        return False
    before = {"day": row.day, "is_working_day": bool(row.is_working_day), "note": row.note}
    s.delete(row)
    s.flush()
    w.add("calendar.remove", "calendar_correction", None, before=before, after=None)
    return True


def set_calendar_day(ctx: Ctx, day: date, *, working: bool, note: str | None = None) -> CalendarRow | None:
    """Mark a day as an extra non-working day (a one-off bank holiday) or as a working day after all.

    Counts of working days (response and waiting times) use it from now on; follow-ups already
    scheduled keep their dates."""
    with ctx.write() as s:
        admin_actor(s, ctx)
        set_day_in(s, ctx, audit.writer(s, ctx), day, working, note)
        row = s.get(CalendarCorrection, day)
    ctx.forget_calendar()
    return CalendarRow(row.day, bool(row.is_working_day), row.note) if row is not None else None


def remove_calendar_day(ctx: Ctx, day: date) -> None:
    with ctx.write() as s:
        admin_actor(s, ctx)
        if not remove_day_in(s, ctx, audit.writer(s, ctx), day):
            raise NotFound(f"There is no calendar correction on {day.isoformat()}.", field="day")
    ctx.forget_calendar()
