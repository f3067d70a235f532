"""Retention: closed journeys past the retention period are reviewed, then anonymised in place.

The period is the setting ``retention_years`` (default 8). Eight years after a
journey closed follows the NHS Records Management Code of Practice for adult
health and care records not covered by a longer rule ("8 years after the
conclusion of treatment"); a service whose contract or data protection impact
assessment says otherwise sets its own number (admins: ``retention_years``).

A person is anonymised only when **every** journey they have had is closed
(rejected, completed, closed without start, or ended early) and the most recent
closure is older than the period. Anyone with a journey still open, or closed
more recently, is left alone.

What anonymising does (in place, audited; each person in one transaction, people in short
batches so that nobody else's save waits long, see ``apply``):
- gone: first and last name (become "Anonymised"), postcode, NHS number, phone,
  email, address, preferred contact method; free text: referral reason and
  referrer, what the person was signposted to (the risk flag itself is kept),
  contact notes, outcome evidence, goal statements and progress notes,
  plan review notes, onward referral notes, partner update notes, and the
  reasons people gave for opening the record;
- kept (so past monthly returns still add up): client reference, locality (and
  so lot), IMD decile, consent flag, every date, state, decision, reason code,
  support area, measure and onward referral status;
- date of birth is coarsened, not removed: it becomes the earliest date in the
  birth year that gives the same age on every date of every journey (received,
  decided, started, ended): 1 January when no journey date falls between then
  and the birthday, else the day after the latest such date. The birth day is
  gone, yet age bands in past returns (and the under-17 rule) come out exactly
  as before.

The audit log keeps every event (who did what, when, to which record), but
the person's text goes from it too, in the same transaction: a
``retention.anonymise`` event is written first (it carries no personal data:
counts, dates of the period), then every earlier event about the person (their
client id, or one of their journeys) that still holds before/after text is
redacted (``audit.redact_events``: text blanked, ``redacted`` = 1), and so is
the text of every search whose words were their name, NHS number, postcode,
phone or email. The hash chain still verifies: version 2 events chain the hash
of their text, not the text (see services/audit.py and migration 0002). The
database allows that one kind of change, and only after a later retention event
about the person. Version 1 events (written before migration 0002 on a store
whose log failed its check then) cannot be redacted without breaking the chain:
how many about the person still hold text is counted in the result
(``audit_unredactable``) and in the retention event. Records merged into the person
(services/casework/merge.py) go with them: each gets its own retention event, and its events' text
is redacted too.

On SQLite the transaction runs with ``secure_delete`` on (removed text is
overwritten with zeros in the file, not just unlinked), rebuilds the client
table's indexes (their inner pages keep copies of deleted keys), and is
followed by a WAL checkpoint that truncates the -wal file. Free space left by edits made
*before* retention may still hold old bytes until the file is vacuumed, and
backups taken before retention still hold everything until they roll off.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from navigator.domain import lifecycle as L
from navigator.domain.dates import add_years
from navigator.domain.errors import DomainError
from navigator.domain.identifiers import fold_name
from navigator.services import access, audit
from navigator.services.casework import merge
from navigator.services.context import Ctx, get_setting, put_setting
from navigator.store.ids import row_id
from navigator.store.models import (
    AccessGrant,
    AuditEvent,
    Client,
    ContactAttempt,
    GoalNote,
    Journey,
    Locality,
    OnwardReferral,
    PartnerChase,
    PartnerUpdateRow,
    PlanGoal,
    PlanReview,
)

DEFAULT_RETENTION_YEARS = 8
CLOSED_STATES = tuple(sorted(s.value for s in L.FINISHED_STATES))  # closed or rejected: nothing more happens
ANONYMISED = "Anonymised"


@dataclass(frozen=True)
class Candidate:
    client_id: int
    client_ref: str
    journeys: int
    last_closed: date
    locality: str
    states: tuple[str, ...]


@dataclass(frozen=True)
class RetentionReport:
    years: int
    cutoff: date  # journeys closed before this date are past retention
    candidates: tuple[Candidate, ...]
    dry_run: bool = True
    anonymised: int = 0
    audit_redacted: int = 0  # audit events whose text was removed
    audit_unredactable: int = 0  # version 1 audit events about these people that still hold text


def retention_years(s: Session) -> int:
    value = get_setting(s, "retention_years", DEFAULT_RETENTION_YEARS)
    try:
        years = int(value)
    except (TypeError, ValueError):
        raise DomainError(
            "The retention_years setting is not a whole number of years; ask an admin to fix it."
        ) from None
    if years < 1:
        raise DomainError("The retention_years setting must be at least 1.")
    return years


def set_retention_years(ctx: Ctx, years: int) -> int:
    """Admins: set the retention period in whole years (1 to 100). Audited."""
    if not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= 100:
        raise DomainError("The retention period is a whole number of years, 1 to 100.", field="retention_years")
    with ctx.write() as s:
        access.require_admin(ctx.actor(s))
        before = get_setting(s, "retention_years", DEFAULT_RETENTION_YEARS)
        put_setting(s, "retention_years", years, ctx.now())
        audit.record(
            s,
            ctx,
            "config.retention",
            "setting",
            None,
            before={"retention_years": before},
            after={"retention_years": years},
        )
    return years


def cutoff_date(today: date, years: int) -> date:
    return add_years(today, -years)  # 29 February gives 28 February in a common year


def _closed_on(j: Journey) -> date:
    return j.end_date or j.decision_date or j.state_since


def _candidates(s: Session, cutoff: date) -> list[Candidate]:
    open_or_recent: set[int] = set()
    by_client: dict[int, list[Journey]] = {}
    for j in s.exec(select(Journey).order_by(col(Journey.client_id), col(Journey.id))).all():
        by_client.setdefault(j.client_id, []).append(j)
        if j.state not in CLOSED_STATES or _closed_on(j) >= cutoff:
            open_or_recent.add(j.client_id)
    eligible = [cid for cid in by_client if cid not in open_or_recent]
    if not eligible:
        return []
    out = []
    for c, loc in s.exec(
        select(Client, Locality.name)
        .join(Locality, col(Locality.id) == col(Client.locality_id))
        .where(col(Client.id).in_(eligible), Client.anonymised == False)  # noqa: E712
        .order_by(Client.client_ref)
    ).all():
        js = by_client[row_id(c.id)]
        out.append(
            Candidate(
                row_id(c.id), c.client_ref, len(js), max(_closed_on(j) for j in js), loc, tuple(j.state for j in js)
            )
        )
    return out


def review(ctx: Ctx) -> RetentionReport:
    """People whose every journey closed before the retention cutoff (admins). Audited."""
    with ctx.write() as s:
        access.require_admin(ctx.actor(s))
        years = retention_years(s)
        cutoff = cutoff_date(ctx.today(), years)
        found = _candidates(s, cutoff)
        audit.record(
            s,
            ctx,
            "retention.list",
            "client",
            None,
            after={"retention_years": years, "cutoff": cutoff, "people": len(found)},
        )
        return RetentionReport(years, cutoff, tuple(found))


def coarse_birth_date(dob: date, dates: list[date]) -> date:
    """The earliest date in the birth year giving the same age as ``dob`` on every one of ``dates``."""
    md = (dob.month, dob.day)
    earlier = [(d.month, d.day) for d in dates if (d.month, d.day) < md]
    if not earlier:
        return date(dob.year, 1, 1)
    m, d = max(earlier)
    if (m, d) == (2, 29):
        return date(dob.year, 3, 1)
    return date(dob.year, m, d) + timedelta(days=1)


BATCH_SECONDS = 0.25  # one write transaction anonymises people for about this long...
PAUSE_SECONDS = 0.11  # ...then lets go of the lock this long (longer than SQLite's busy-handler sleep)


def apply(ctx: Ctx, *, dry_run: bool = False) -> RetentionReport:
    """Anonymise everyone past retention (admins). ``dry_run`` changes nothing.

    Who is due is worked out in a read transaction; then people are anonymised in short write
    transactions (about ``BATCH_SECONDS`` each, a pause between them), so another user's save never
    waits long. Each person is all or nothing: their details, their journeys' text, their retention
    event and the redaction of their audit text commit together (a person whose journeys changed
    meanwhile is left alone). A run that is interrupted leaves everyone either anonymised or untouched,
    and the next run finishes the rest."""
    import time

    if dry_run:
        return review(ctx)
    with ctx.read() as s:  # validated outside any write transaction
        access.require_admin(ctx.actor(s))
        years = retention_years(s)
        cutoff = cutoff_date(ctx.today(), years)
        found = _candidates(s, cutoff)
        searches = _searches(s) if found else []
    sqlite = ctx.store.is_sqlite
    todo = list(found)
    done: list[Candidate] = []
    redacted = unredactable = 0
    while todo:
        with ctx.write() as s:
            access.require_admin(ctx.actor(s))
            if sqlite:
                s.connection().exec_driver_sql("PRAGMA secure_delete = ON")  # removed text is zeroed in the file
            try:
                w = audit.writer(s, ctx)
                began = time.monotonic()
                while todo and time.monotonic() - began < BATCH_SECONDS:
                    cand = todo.pop(0)
                    if not _still_due(s, cand.client_id, cutoff):
                        continue
                    n, v1, searches = _anonymise_person(s, ctx, w, cand, years, cutoff, searches)
                    redacted += n
                    unredactable += v1
                    done.append(cand)
                s.flush()
            finally:
                if sqlite:
                    s.connection().exec_driver_sql("PRAGMA secure_delete = OFF")
        if todo:
            time.sleep(PAUSE_SECONDS)
    with ctx.write() as s:
        if sqlite and done:
            s.connection().exec_driver_sql("PRAGMA secure_delete = ON")
            # The people's details were keys of client's indexes, and an index's inner pages keep copies of
            # keys as dividers after the entries go: rebuilt, the old pages are freed (and zeroed).
            s.connection().exec_driver_sql("REINDEX client")
            s.connection().exec_driver_sql("PRAGMA secure_delete = OFF")
        audit.record(
            s,
            ctx,
            "retention.apply",
            "client",
            None,
            after={
                "retention_years": years,
                "cutoff": cutoff,
                "anonymised": len(done),
                "audit_events_redacted": redacted,
                "audit_events_unredactable": unredactable,
            },
        )
    if sqlite and done:
        _truncate_wal(ctx)
    return RetentionReport(
        years,
        cutoff,
        tuple(done),
        dry_run=False,
        anonymised=len(done),
        audit_redacted=redacted,
        audit_unredactable=unredactable,
    )


def _still_due(s: Session, client_id: int, cutoff: date) -> bool:
    """Re-checked inside the write: not anonymised yet, and every journey still closed before the cutoff."""
    client = s.get(Client, client_id)
    if client is None or client.anonymised:
        return False
    journeys = s.exec(select(Journey).where(Journey.client_id == client_id)).all()
    return bool(journeys) and all(j.state in CLOSED_STATES and _closed_on(j) < cutoff for j in journeys)


def _anonymise_person(s: Session, ctx: Ctx, w, cand: Candidate, years: int, cutoff: date, searches):
    """One person, inside the caller's transaction: (events redacted, version 1 events left, searches left)."""
    client = s.get(Client, cand.client_id)
    assert client is not None  # a candidate is a stored person
    tokens = _identifying(client)
    jids = _anonymise(s, ctx, cand.client_id)
    ids, v1 = audit.events_about(s, cand.client_id, jids)
    hits = [(eid, version) for eid, version, query in searches if _mentions(query, tokens)]
    search_ids = [eid for eid, version in hits if version >= 2]
    v1 += len(hits) - len(search_ids)
    hit_ids = {eid for eid, _ in hits}
    searches = [row for row in searches if row[0] not in hit_ids]
    # Records merged into the person (services/casework/merge.py): their own events (their creation, edits)
    # still carry their client id; each gets its retention event, so those can be redacted too.
    merged = merge.merged_ids(s, cand.client_id)
    merged_ids: list[int] = []
    for mid in merged:
        m_ids, m_v1 = audit.events_about(s, mid, [])
        merged_ids += m_ids
        v1 += m_v1
    # The event first: the database allows a redaction only after a retention event about the person.
    w.add(
        "retention.anonymise",
        "client",
        cand.client_id,
        client_id=cand.client_id,
        after={
            "journeys": cand.journeys,
            "last_closed": cand.last_closed,
            "retention_years": years,
            "cutoff": cutoff,
            "audit_events_redacted": len(ids) + len(merged_ids),
            "searches_redacted": len(search_ids),
            "audit_events_unredactable": v1,
        },
    )
    for mid in merged:
        w.add("retention.anonymise", "client", mid, client_id=mid, after={"merged_into": cand.client_ref})
    s.flush()
    return audit.redact_events(s, ids + merged_ids + search_ids), v1, searches


@dataclass(frozen=True)
class _Tokens:
    names: frozenset[str]
    digits: tuple[str, ...]  # NHS number, phone
    compact: tuple[str, ...]  # postcode, email (no spaces, upper case)


def _identifying(c: Client) -> _Tokens:
    """What a search for this person would have typed: a name word, NHS number, postcode, phone, email."""
    names = frozenset(w for w in fold_name(f"{c.first_name} {c.last_name}").split() if len(w) >= 2)
    digits = tuple(d for d in (re.sub(r"\D", "", v or "") for v in (c.nhs_number, c.phone)) if len(d) >= 6)
    compact = tuple(v.replace(" ", "").upper() for v in (c.postcode, c.email) if v and len(v.replace(" ", "")) >= 5)
    return _Tokens(names, digits, compact)


def _mentions(query: str, t: _Tokens) -> bool:
    if {fold_name(w) for w in query.split()} & t.names:
        return True
    digits = re.sub(r"\D", "", query)
    compact = query.replace(" ", "").upper()
    return any(d in digits for d in t.digits) or any(v in compact for v in t.compact)


def _searches(s: Session) -> list[tuple[int, int, str]]:
    """Recorded searches that still hold their query: (event id, hash version, query)."""
    rows = s.exec(
        select(AuditEvent.id, AuditEvent.hash_version, AuditEvent.after).where(
            AuditEvent.action == "search",
            AuditEvent.client_id == None,  # noqa: E711
            col(AuditEvent.after).is_not(None),  # was `AuditEvent.after is not None`: always true in Python
        )
    ).all()
    out = []
    for eid, version, after in rows:
        assert after is not None  # filtered on
        try:
            query = json.loads(after).get("query")
        except (ValueError, AttributeError):
            continue
        if isinstance(query, str):
            out.append((row_id(eid), version, query))
    return out


def _truncate_wal(ctx: Ctx) -> None:
    """Best effort: copy the WAL into the file and empty it, so the old page images go too (a few tries:
    a reader still on an older snapshot keeps the WAL until it finishes)."""
    import time

    try:
        raw = ctx.store.write_engine.raw_connection()
        try:
            conn = raw.driver_connection
            assert conn is not None  # an open pooled connection has its driver's
            for _ in range(5):
                busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                if not busy:
                    return
                time.sleep(0.2)
        finally:
            raw.close()
    except Exception:
        pass


def _anonymise(s: Session, ctx: Ctx, client_id: int) -> list[int]:
    now = ctx.now()
    client = s.get(Client, client_id)
    assert client is not None  # the caller found this person
    journeys = s.exec(select(Journey).where(Journey.client_id == client_id)).all()
    dates = [d for j in journeys for d in (j.received_date, j.decision_date, j.start_date, j.end_date) if d]
    client.first_name = client.last_name = ANONYMISED
    client.first_name_key = client.last_name_key = ANONYMISED.casefold()
    client.postcode = client.nhs_number = client.phone = client.email = client.address = None
    client.preferred_method = None
    client.date_of_birth = coarse_birth_date(client.date_of_birth, dates)
    client.anonymised = True
    client.version += 1
    client.updated_at = now
    s.add(client)
    jids = [row_id(j.id) for j in journeys]
    for j in journeys:
        j.referrer = j.reason = j.outcome_evidence = None
        j.signposted_to = None
        j.version += 1
        j.updated_at = now
        s.add(j)
    for row in s.exec(select(ContactAttempt).where(col(ContactAttempt.journey_id).in_(jids))).all():
        row.note = None
        s.add(row)
    goal_ids = []
    for g in s.exec(select(PlanGoal).where(col(PlanGoal.journey_id).in_(jids))).all():
        g.statement = ""
        g.version += 1
        g.updated_at = now
        goal_ids.append(g.id)
        s.add(g)
    if goal_ids:
        for n in s.exec(select(GoalNote).where(col(GoalNote.goal_id).in_(goal_ids))).all():
            n.note = ""
            s.add(n)
    for r in s.exec(select(PlanReview).where(col(PlanReview.journey_id).in_(jids))).all():
        r.note = None
        s.add(r)
    onward_ids = []
    for o in s.exec(select(OnwardReferral).where(col(OnwardReferral.journey_id).in_(jids))).all():
        o.note = None
        o.version += 1
        o.updated_at = now
        onward_ids.append(o.id)
        s.add(o)
    if onward_ids:
        for u in s.exec(select(PartnerUpdateRow).where(col(PartnerUpdateRow.onward_id).in_(onward_ids))).all():
            u.note = None
            s.add(u)
        for c in s.exec(select(PartnerChase).where(col(PartnerChase.onward_id).in_(onward_ids))).all():
            c.note = None  # issue 15: what was said when the partner was chased
            s.add(c)
    for grant in s.exec(select(AccessGrant).where(AccessGrant.client_id == client_id)).all():
        grant.reason = ANONYMISED
        s.add(grant)
    s.flush()
    return jids
