"""The tracker's columns (docs/tracker-import.md) and what an import reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

REQUIRED = (
    "client_ref",
    "first_name",
    "last_name",
    "date_of_birth",
    "locality",
    "navigator",
    "referral_source",
    "received_date",
)
OPTIONAL = (
    "postcode",
    "nhs_number",
    "imd_decile",
    "first_contact_date",
    "contact_attempts",
    "decision",
    "decision_date",
    "reject_reason",
    "start_date",
    "swemwbs_start",
    "onward_partner",
    "onward_programme",
    "onward_referral_date",
    "onward_start_date",
    "onward_end_date",
    "onward_outcome",
    "end_date",
    "end_reason",
    "swemwbs_end",
)
COLUMNS = REQUIRED + OPTIONAL
DATE_COLUMNS = (
    "received_date",
    "first_contact_date",
    "decision_date",
    "start_date",
    "onward_referral_date",
    "onward_start_date",
    "onward_end_date",
    "end_date",
)
TEXT_COLUMNS = ("client_ref", "first_name", "last_name", "onward_partner", "onward_programme")
ONWARD_OUTCOMES = ("completed", "withdrew", "did_not_start", "declined")

# What the tracker has no column for.
PROVENANCE = "Recorded as completed in the imported tracker"  # a completed journey's outcome evidence
NOT_SPECIFIED = "Not specified"  # the programme of an onward referral whose tracker row names none

Progress = Callable[[str, int, int], None]  # (phase, done, total)
Problem = tuple[int, str, str]  # (line, column, reason); line 0: the file as a whole


@dataclass(frozen=True)
class ImportReport:
    """What an import found and did. ``errors`` and ``duplicates`` are (line, column or ref, reason)."""

    file: str
    rows: int
    errors: tuple[Problem, ...] = ()
    dry_run: bool = False
    written: bool = False
    clients_created: int = 0
    journeys_created: int = 0
    onward_created: int = 0
    users_created: tuple[str, ...] = ()
    partners_created: tuple[str, ...] = ()
    programmes_created: tuple[str, ...] = ()  # "Partner: Programme"
    duplicates: tuple[Problem, ...] = ()  # (line, client_ref, why it looks like someone known)
    skipped_existing: int = 0
    seconds: float = 0.0
    batches: int = 0  # write transactions the rows went in

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_lines(self) -> int:
        return len({line for line, _, _ in self.errors})


def column_order(problem: Problem) -> tuple[int, int]:
    line, column, _ = problem
    return line, COLUMNS.index(column) if column in COLUMNS else -1
