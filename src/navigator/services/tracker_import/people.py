"""The people in a tracker: rows grouped by ``client_ref``, matched with the store.

The same ``client_ref`` must be the same person on every row and in the store. A second person with
an NHS number someone else already has is refused (as the desk refuses it); a new person with the
same name and date of birth as someone known is only reported as a likely duplicate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from navigator.domain.identifiers import fold_name
from navigator.services.casework import bulk, merge
from navigator.services.tracker_import.cells import BAD, Row
from navigator.services.tracker_import.columns import Problem
from navigator.store.models import Client, Journey

_SAME = ("first_name", "last_name", "date_of_birth")


@dataclass
class Person:
    ref: str
    rows: list[Row]
    spec: bulk.ClientSpec | None = None
    existing: Client | None = None
    lines: list[int] = field(default_factory=list)

    @property
    def first_line(self) -> int:
        return self.rows[0].line


def chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _same(a, b) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return fold_name(a) == fold_name(b)
    return a == b


def group(rows: list[Row]) -> dict[str, Person]:
    """People by client_ref; a row that contradicts its person's first row, or repeats a journey, is refused."""
    people: dict[str, Person] = {}
    seen_journeys: dict[tuple[str, date], int] = {}
    for row in rows:
        ref = row.good("client_ref")
        if ref is None:
            continue
        person = people.get(ref)
        if person is None:
            people[ref] = Person(ref, [row])
        else:
            first = person.rows[0]
            for column in _SAME:
                a, b = first.v.get(column), row.v.get(column)
                if a is not BAD and b is not BAD and not _same(a, b):
                    row.err(
                        column,
                        f"client_ref {ref} has a different {column.replace('_', ' ')} on line {first.line}: "
                        "the same client_ref must be the same person.",
                    )
            person.rows.append(row)
        received = row.good("received_date")
        if received is not None:
            key = (ref, received)
            if key in seen_journeys:
                row.err(
                    "received_date",
                    f"Line {seen_journeys[key]} has the same client_ref and received_date "
                    "(a journey is identified by both).",
                )
            else:
                seen_journeys[key] = row.line
    return people


def match_store(s: Session, people: dict[str, Person]) -> set[tuple[int, date]]:
    """Mark the people already in the store (their rows must agree with it); their journeys' keys."""
    existing: dict[str, Client] = {}
    for chunk in chunks(list(people), 500):
        for c in s.exec(select(Client).where(col(Client.client_ref).in_(chunk))).all():
            existing[c.client_ref] = merge.resolve(s, c)  # a merged record's rows are the kept person's
    journeys: set[tuple[int, date]] = set()
    for chunk in chunks([c.id for c in existing.values()], 500):
        journeys.update(
            s.exec(
                select(col(Journey.client_id), col(Journey.received_date)).where(col(Journey.client_id).in_(chunk))
            ).all()
        )
    for ref, c in existing.items():
        person = people[ref]
        person.existing = c
        stored = {"first_name": c.first_name_key, "last_name": c.last_name_key, "date_of_birth": c.date_of_birth}
        for row in person.rows:
            for column in _SAME:
                value = row.good(column)
                if value is None:
                    continue
                if (fold_name(value) if isinstance(value, str) else value) != stored[column]:
                    what = column.replace("_", " ")
                    row.err(column, f"client_ref {ref} is already in the store with a different {what}.")
    return journeys


def refuse_shared_nhs_numbers(s: Session, people: dict[str, Person]) -> None:
    """A new person whose NHS number belongs to someone else (in the store, or earlier in the file)."""
    first_holder: dict[str, tuple[str, int]] = {}  # nhs -> (client_ref, line) in the file
    wanted: dict[str, list[tuple[Person, Row]]] = defaultdict(list)
    for person in people.values():
        for row in person.rows:
            nhs = row.good("nhs_number")
            if nhs is None:
                continue
            holder = first_holder.setdefault(nhs, (person.ref, row.line))
            if holder[0] != person.ref:
                row.err(
                    "nhs_number",
                    f"Another person in this file (client_ref {holder[0]}, line {holder[1]}) has this NHS number.",
                )
            elif person.existing is None:
                wanted[nhs].append((person, row))
    for chunk in chunks(list(wanted), 500):
        for ref, nhs in s.exec(
            select(Client.client_ref, Client.nhs_number).where(col(Client.nhs_number).in_(chunk))
        ).all():
            assert nhs is not None  # it matched one in the chunk
            for person, row in wanted[nhs]:
                if ref != person.ref:
                    row.err("nhs_number", f"Another person ({ref}) already has this NHS number.")


def client_specs(people: dict[str, Person]) -> None:
    """Each person's details: from the store for a known person; else from their rows (the latest wins)."""
    for ref, person in people.items():
        consent = any(r.good("onward_partner") is not None for r in person.rows)
        c = person.existing
        if c is not None:
            person.spec = bulk.ClientSpec(
                c.client_ref,
                c.first_name,
                c.last_name,
                c.date_of_birth,
                c.locality_id,
                consent_to_share=c.consent_to_share or consent,
                id=c.id,
            )
            continue
        good = [
            r
            for r in person.rows
            if r.ok("date_of_birth", "first_name", "last_name", "locality", "received_date")
            and r.v.get("received_date")
        ]
        if not good:
            continue
        good.sort(key=lambda r: r.v["received_date"])
        extra = {}
        for column in ("postcode", "nhs_number", "imd_decile"):
            for r in good:
                if r.good(column) is not None:
                    extra[column] = r.v[column]
        person.spec = bulk.ClientSpec(
            ref,
            good[0].v["first_name"],
            good[0].v["last_name"],
            good[0].v["date_of_birth"],
            good[-1].v["locality"].id,
            consent_to_share=consent,
            **extra,
        )


# Where a likely duplicate is resolved: the message names the command and the TUI action, with both refs.
_MERGE = (
    "If they are the same person, a team lead merges them after the import: "
    "`navigator people merge {keep} {merged} --reason ...`, or D (merge with…) on either's journey screen."
)


def likely_duplicates(s: Session, people: dict[str, Person]) -> list[Problem]:
    """New people with the same name and date of birth as someone in the store or earlier in the file;
    each message says how to merge the two (services/casework/merge.py)."""
    out: list[Problem] = []
    by_key: dict[tuple, list[Person]] = defaultdict(list)
    for p in people.values():
        if p.existing is None and p.spec is not None:
            by_key[(fold_name(p.spec.last_name), fold_name(p.spec.first_name), p.spec.date_of_birth)].append(p)
    in_store: dict[tuple, list[str]] = defaultdict(list)
    for chunk in chunks(list(by_key), 300):
        for ref, last, first, dob in s.exec(
            select(
                col(Client.client_ref), col(Client.last_name_key), col(Client.first_name_key), col(Client.date_of_birth)
            ).where(tuple_(Client.last_name_key, Client.first_name_key, Client.date_of_birth).in_(chunk))
        ).all():
            in_store[(last, first, dob)].append(ref)
    for key, group_ in by_key.items():
        for p in group_:
            for ref in in_store.get(key, ()):
                out.append(
                    (
                        p.first_line,
                        p.ref,
                        f"Same name and date of birth as {ref}, already in the store. "
                        + _MERGE.format(keep=ref, merged=p.ref),
                    )
                )
            for other in group_:
                if other is not p and other.first_line < p.first_line:
                    out.append(
                        (
                            p.first_line,
                            p.ref,
                            f"Same name and date of birth as {other.ref} (line {other.first_line}). "
                            + _MERGE.format(keep=other.ref, merged=p.ref),
                        )
                    )
    out.sort()
    return out
