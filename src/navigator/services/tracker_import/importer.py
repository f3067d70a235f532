"""Importing a referral tracker (docs/tracker-import.md, version 1).

All or nothing, and no one waits:

- ``reading``: the file's encoding, header and rows (its shape);
- ``cells``: each cell parsed to its type, and the cells that need each other;
- ``people``: rows grouped by ``client_ref`` and matched with the store (same person, NHS numbers);
- ``journey_steps``: each row as the journey's steps; the domain's rules (``domain/steps.py``, replayed
  by the bulk writer) accept or refuse them, and a refusal is reported on the CSV column it concerns;
- ``writing``: the write, in short batches, taken back if it cannot finish.

Everything is checked first in a read-only transaction; if any row is bad nothing is written and every
bad row is reported as (line, column, reason). A good file is then written in short transactions (see
``writing``), every record attributed in the audit log to the importing user, plus one ``import``
event summarising the run.

Re-importing changes nothing already there: a journey is identified by ``client_ref`` +
``received_date``, and an existing one is skipped. Each journey keeps the locality and IMD decile of its
own row (referral-time attributes, ``attributes_basis = 'import'``). The tracker has no column for outcome
evidence: a completed journey gets ``PROVENANCE``. An onward referral in the tracker means the person
consented to share their details, so such a person is recorded with consent to share. A blank onward
programme is the partner's "Not specified" programme (``NOT_SPECIFIED``), never a guess.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from navigator.domain import referral
from navigator.domain.errors import AccessDenied, DomainError
from navigator.services.casework import bulk
from navigator.services.context import Ctx
from navigator.services.tracker_import import writing
from navigator.services.tracker_import.cells import BAD, CellReader, Row
from navigator.services.tracker_import.columns import (
    COLUMNS,
    NOT_SPECIFIED,
    PROVENANCE,
    ImportReport,
    Problem,
    Progress,
    column_order,
)
from navigator.services.tracker_import.journey_steps import column_for, steps_of
from navigator.services.tracker_import.people import (
    Person,
    client_specs,
    group,
    likely_duplicates,
    match_store,
    refuse_shared_nhs_numbers,
)
from navigator.services.tracker_import.reading import read_rows
from navigator.store.ids import row_id
from navigator.store.models import Locality, Partner, Programme, ReferralSource, User

__all__ = ["COLUMNS", "NOT_SPECIFIED", "PROVENANCE", "ImportReport", "import_bytes", "import_file", "recover"]

KEEP_REPLAYS = 50_000  # rows: above this, journeys are replayed again when written instead of kept
recover = writing.recover


@dataclass
class _Plan:
    """What a checked file would write."""

    rows: list[Row]
    people: dict[str, Person] = field(default_factory=dict)
    new_users: dict[str, set[int]] = field(default_factory=dict)  # username -> lot ids of their rows
    new_partners: list[str] = field(default_factory=list)
    new_programmes: list[tuple[str, str]] = field(default_factory=list)  # (partner, programme)
    programme_of: dict[int, tuple[str, str]] = field(default_factory=dict)  # line -> (partner, programme)
    journeys: list[tuple[Row, bulk.JourneySpec, bulk.Replayed | None]] = field(default_factory=list)
    onward: int = 0
    skipped: int = 0
    duplicates: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)

    new_clients: int = 0

    def report(self, name: str, dry_run: bool, started: float, **kw) -> ImportReport:
        base: dict[str, Any] = dict(
            file=name,
            rows=len(self.rows),
            dry_run=dry_run,
            duplicates=tuple(self.duplicates),
            skipped_existing=self.skipped,
            seconds=time.perf_counter() - started,
        )
        if self.errors:
            return ImportReport(errors=tuple(self.errors), **base)
        return ImportReport(
            clients_created=self.new_clients,
            journeys_created=len(self.journeys),
            onward_created=self.onward,
            users_created=tuple(sorted(self.new_users)),
            partners_created=tuple(self.new_partners),
            programmes_created=tuple(f"{p}: {g}" for p, g in self.new_programmes),
            **(base | kw),
        )


def import_file(ctx: Ctx, path: str | Path, *, dry_run: bool = False, progress: Progress | None = None) -> ImportReport:
    """Check a tracker CSV and (unless dry_run, and only if every row is good) import it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DomainError(f"Cannot read {path}: {exc.strerror or exc}.", field="file") from None
    return import_bytes(ctx, data, name=path.name, dry_run=dry_run, progress=progress)


def import_bytes(
    ctx: Ctx, data: bytes, *, name: str = "tracker.csv", dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    started = time.perf_counter()
    tell = progress or (lambda phase, done, total: None)
    index, raw_rows, file_errors = read_rows(data)
    if file_errors and not raw_rows:
        return ImportReport(name, 0, tuple(sorted(file_errors)), dry_run, seconds=time.perf_counter() - started)
    with bulk.gc_paused():
        with ctx.read() as s:  # every check reads; nothing waits on it
            if not ctx.actor(s).is_admin:
                raise AccessDenied("Only an admin can import a tracker (it creates people, users and partners).")
            plan = _check(s, ctx, index, raw_rows, file_errors, tell)
        if plan.errors or dry_run:
            return plan.report(name, dry_run, started)
        return _write(ctx, plan, name, tell, started)


# ---------------------------------------------------------------- checking (read-only)


def _check(
    s: Session,
    ctx: Ctx,
    index: dict[str, int],
    raw_rows: list,
    file_errors: list[Problem],
    tell: Progress,
) -> _Plan:
    today = ctx.today()
    reader = CellReader(s.exec(select(Locality)).all(), s.exec(select(ReferralSource)).all(), today)
    total = len(raw_rows)
    tick = max(total // 100, 1)
    rows: list[Row] = []
    for n in range(total):
        line, cells = raw_rows[n]
        raw_rows[n] = None  # the parsed row replaces the cells (memory, for big files)
        rows.append(reader.parse(line, cells, index))
        if n % tick == 0:
            tell("Checking", n, total)
    plan = _Plan(rows)
    plan.people = group(rows)
    existing_journeys = match_store(s, plan.people)
    refuse_shared_nhs_numbers(s, plan.people)
    users = {u.username.lower(): u for u in s.exec(select(User)).all()}
    _navigators(plan, users)
    _onward_targets(s, plan)
    client_specs(plan.people)
    _replay(plan, users, existing_journeys, today, tell)
    plan.new_clients = len({id(spec.client) for _, spec, _ in plan.journeys if spec.client.id is None})
    plan.duplicates = likely_duplicates(s, plan.people)
    errors = list(file_errors)
    for row in rows:
        errors.extend((row.line, col, why) for col, why in row.errors)
    plan.errors = sorted(errors, key=column_order)
    return plan


def _navigators(plan: _Plan, users: dict[str, User]) -> None:
    """Unknown navigators will be created (in the lots of their rows); a deactivated one cannot hold an
    open journey."""
    for row in plan.rows:
        nav = row.good("navigator")
        if nav is None:
            continue
        u = users.get(nav)
        if u is None:
            lots = plan.new_users.setdefault(nav, set())
            if row.good("locality") is not None:
                lots.add(row.v["locality"].lot_id)
        elif not u.active and row.v.get("end_date") is None and row.v.get("decision") != "rejected":
            row.err(
                "navigator",
                f"{nav} is deactivated: an open journey needs an active navigator "
                "(reactivate them, or give another navigator).",
            )


def _onward_targets(s: Session, plan: _Plan) -> None:
    """Each onward referral's programme: the named one, or the partner's 'Not specified'; unknown partners
    and programmes will be created."""
    partners = {p.name.lower(): p for p in s.exec(select(Partner)).all()}
    programmes = {(partners_name.lower(), g.name.lower()) for g, partners_name in _programme_names(s)}
    new_partners: dict[str, str] = {}
    new_programmes: dict[tuple[str, str], tuple[str, str]] = {}
    for row in plan.rows:
        partner = row.good("onward_partner")
        if partner is None or not row.ok("onward_programme"):
            continue
        programme = row.good("onward_programme") or NOT_SPECIFIED
        known = partners.get(partner.lower())
        if known is not None:
            partner = known.name
        elif partner.lower() not in new_partners:
            new_partners[partner.lower()] = partner
        partner = new_partners.get(partner.lower(), partner)
        key = (partner.lower(), programme.lower())
        if key not in programmes and key not in new_programmes:
            new_programmes[key] = (partner, programme)
        plan.programme_of[row.line] = new_programmes.get(key, (partner, programme))
    plan.new_partners = list(new_partners.values())
    plan.new_programmes = list(new_programmes.values())


def _programme_names(s: Session):
    return s.exec(select(Programme, Partner.name).join(Partner, col(Partner.id) == col(Programme.partner_id))).all()


def _replay(plan: _Plan, users: dict[str, User], existing: set[tuple[int, date]], today: date, tell: Progress) -> None:
    """Every new journey through the domain's rules (as the bulk writer replays them)."""
    keep = len(plan.rows) <= KEEP_REPLAYS  # a big file's replays are not kept (memory): replayed again when written
    total = len(plan.rows)
    tick = max(total // 100, 1)
    for n, row in enumerate(plan.rows):
        if n % tick == 0:
            tell("Checking rules", n, total)
        if row.errors:
            continue
        person = plan.people.get(row.v["client_ref"])
        if person is None or person.spec is None:
            continue
        if person.existing is not None and (person.existing.id, row.v["received_date"]) in existing:
            plan.skipped += 1
            continue
        user = users.get(row.v["navigator"])
        spec = _spec(row, person.spec, row_id(user.id) if user else -1, -1 if row.line in plan.programme_of else None)
        try:
            replayed = bulk.replay(spec, today)
        except bulk.StepError as exc:
            row.err(column_for(exc), exc.message)
            continue
        plan.onward += len(replayed.onwards)
        plan.journeys.append((row, spec, replayed if keep else None))


def _spec(row: Row, client: bulk.ClientSpec, navigator_id: int, programme_id: int | None) -> bulk.JourneySpec:
    v = row.v
    return bulk.JourneySpec(
        client=client,
        navigator_id=navigator_id,
        source_id=v["referral_source"],
        received_date=v["received_date"],
        locality_id=v["locality"].id,
        imd_decile=v.get("imd_decile") if v.get("imd_decile") is not BAD else None,
        attributes_basis=referral.BASIS_IMPORT,
        steps=steps_of(row, programme_id),
    )


# ---------------------------------------------------------------- writing (short transactions)


def _write(ctx: Ctx, plan: _Plan, name: str, tell: Progress, started: float) -> ImportReport:
    importing = {id(spec.client) for _, spec, _ in plan.journeys}
    consent = [  # known people who now have an onward referral: they consented to share
        row_id(p.existing.id)
        for p in plan.people.values()
        if p.existing is not None
        and p.spec is not None
        and id(p.spec) in importing
        and p.spec.consent_to_share
        and not p.existing.consent_to_share
    ]
    tell("Writing", 0, len(plan.journeys))  # everything is checked: from here on, short write transactions
    marker, user_ids, programme_ids = writing.begin(
        ctx, name, plan.new_users, plan.new_partners, plan.new_programmes, consent
    )
    today = ctx.today()

    def prepare(item) -> tuple[bulk.JourneySpec, bulk.Replayed]:
        row, spec, replayed = item
        spec.navigator_id = user_ids[row.v["navigator"]]
        programme_id = None
        if row.line in plan.programme_of:
            partner, programme = plan.programme_of[row.line]
            programme_id = programme_ids[(partner.lower(), programme.lower())]
            spec.steps = steps_of(row, programme_id)
        if replayed is None:
            replayed = bulk.replay(spec, today)
        elif programme_id is not None:  # checked with a placeholder: the programme exists now
            for onward in replayed.onwards:
                onward["programme_id"] = programme_id
        replayed.journey["navigator_id"] = spec.navigator_id
        return spec, replayed

    batches = writing.Batches(ctx, marker)
    try:
        batches.write(plan.journeys, prepare, lambda done, total: tell("Writing", done, total))
        report = plan.report(name, False, started, written=True, batches=batches.count)
        writing.finish(
            ctx,
            marker,
            {
                "file": name,
                "rows": report.rows,
                "clients_created": report.clients_created,
                "journeys_created": report.journeys_created,
                "onward_created": report.onward_created,
                "users_created": list(report.users_created),
                "partners_created": list(report.partners_created),
                "programmes_created": list(report.programmes_created),
                "skipped_existing": report.skipped_existing,
                "duplicates": len(report.duplicates),
                "batches": batches.count,
            },
        )
    except BaseException:
        writing.abandon(ctx, marker)
        raise
    return report
