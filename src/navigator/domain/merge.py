"""Merging two records of one person: when it is allowed, and what the kept record takes.

A team lead keeps one record and merges the other into it: the merged record's journeys (and with them
everything recorded on them) move to the kept one, and the merged record stays, marked as merged into the
kept one. The rules here are pure (no store, no clock); ``services/casework/merge.py`` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from navigator.domain.errors import DomainError

#: Details the kept record takes from the merged one where it has none (everything else stays as kept).
FILLABLE = ("nhs_number", "postcode", "phone", "email", "address", "preferred_method", "imd_decile")
#: Details cleared on the merged record: they now live on the kept one (or in the merge's audit event).
CLEARED = ("nhs_number", "postcode", "phone", "email", "address", "preferred_method", "imd_decile")


@dataclass(frozen=True)
class PersonFacts:
    """What the rules ask about one of the two records."""

    ref: str
    nhs_number: str | None
    merged_into_ref: str | None  # set when this record was merged into another already
    anonymised: bool
    open_journey: date | None  # the received date of an open journey, if any
    received_dates: frozenset[date]  # every journey's received date (a person has one journey a day)


def check_merge(keep: PersonFacts, merged: PersonFacts) -> None:
    """Refuse a merge that cannot be right, naming the field at fault (DomainError)."""
    if keep.ref == merged.ref:
        raise DomainError("A record cannot be merged into itself: choose the other record.", field="merged_ref")
    if keep.merged_into_ref:
        raise DomainError(
            f"{keep.ref} was merged into {keep.merged_into_ref} already: keep {keep.merged_into_ref} instead.",
            field="keep_ref",
        )
    if merged.merged_into_ref:
        raise DomainError(
            f"{merged.ref} was merged into {merged.merged_into_ref} already; there is nothing left to merge.",
            field="merged_ref",
        )
    for who, field in ((keep, "keep_ref"), (merged, "merged_ref")):
        if who.anonymised:
            raise DomainError(f"{who.ref} was anonymised by retention; it cannot be merged.", field=field)
    if keep.nhs_number and merged.nhs_number and keep.nhs_number != merged.nhs_number:
        raise DomainError(
            f"{keep.ref} and {merged.ref} have different NHS numbers, so they are different people "
            "(if one number is wrong, correct it on that person first).",
            field="nhs_number",
        )
    if keep.open_journey is not None and merged.open_journey is not None:
        raise DomainError(
            f"Both have an open journey ({keep.ref} received {keep.open_journey:%d/%m/%Y}, {merged.ref} received "
            f"{merged.open_journey:%d/%m/%Y}): close one of them first, then merge.",
            field="journey",
        )
    same_day = sorted(keep.received_dates & merged.received_dates)
    if same_day:
        raise DomainError(
            f"Both have a journey received on {same_day[0]:%d/%m/%Y} (a person has one referral a day): "
            "correct the received date of one of them first (or close the repeated one), then merge.",
            field="received_date",
        )


def filled(keep: dict, merged: dict) -> dict:
    """The details the kept record takes from the merged one: those it lacks and the merged one has."""
    return {k: merged[k] for k in FILLABLE if keep.get(k) in (None, "") and merged.get(k) not in (None, "")}
