"""One row's cells: each parsed to its type (text, date, code, number), and which cells go together.

Only the CSV's shape is checked here (a cell's format, a column that needs another to mean anything).
The journey's rules (date order, ages, which end reason fits, what a partner may report) are the
domain's: the rows become steps (``journey_steps``) and ``domain`` refuses or accepts them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from navigator.domain import lifecycle as L
from navigator.domain.dates import parse_date
from navigator.domain.errors import DomainError
from navigator.domain.identifiers import clean_text, normalise_nhs_number, normalise_postcode
from navigator.services.setup.users import USERNAME_RE
from navigator.services.tracker_import.columns import DATE_COLUMNS, ONWARD_OUTCOMES
from navigator.store.ids import row_id
from navigator.store.models import Locality, ReferralSource

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
REQUIRED_EMPTY = "Required: this cell is empty."


class _Bad:
    """A cell that failed to parse (its error is already reported)."""

    def __repr__(self) -> str:
        return "BAD"


BAD = _Bad()


@dataclass
class Row:
    line: int
    v: dict  # column -> parsed value (None for empty, BAD for unparseable)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def err(self, column: str, reason: str) -> None:
        self.errors.append((column, reason))

    def ok(self, *cols: str) -> bool:
        return all(self.v.get(c) is not BAD for c in cols)

    def good(self, col: str):
        """The parsed value, or None when empty or unparseable."""
        x = self.v.get(col)
        return None if x is BAD else x


def norm_code(value: str) -> str:
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


class CellReader:
    """Parses rows against the store's reference lists (read once)."""

    def __init__(self, localities: Iterable[Locality], sources: Iterable[ReferralSource], today: date) -> None:
        self.today = today
        self._dates: dict[str, date | str | None] = {}  # cell text -> date (None: blank), or why it is not one
        self.localities = {loc.name.lower(): loc for loc in localities}
        self.sources: dict[str, int] = {}
        for src in sources:
            self.sources[src.code.lower()] = row_id(src.id)
            self.sources.setdefault(src.name.lower(), row_id(src.id))

    # ------------------------------------------------------------ cells by type
    def _text(self, row: Row, raw: dict, col: str, max_len: int, required: bool = False) -> None:
        value = raw.get(col)
        if value and value.startswith(FORMULA_START):
            row.v[col] = BAD
            row.err(col, "This cell looks like a spreadsheet formula: give the value itself, not a formula.")
            return
        if value and value.isascii() and value.isprintable() and len(value) <= max_len:
            # plain text: what clean_text would return, without its character-by-character pass
            row.v[col] = value if "  " not in value else re.sub(r" {2,}", " ", value)
            return
        try:
            row.v[col] = clean_text(value, col, max_len=max_len, required=required)
        except DomainError as exc:
            row.v[col] = BAD
            row.err(col, REQUIRED_EMPTY if exc.message == "Required." else exc.message)

    def _date(self, row: Row, col: str, value: str | None):
        if not value:
            return None
        d = self._dates.get(value)
        if d is None:
            try:
                d = parse_date(value, today=self.today, relative=False, field=col)
            except DomainError as exc:
                d = (
                    f"{exc.message.rstrip('.')} ('{value[:40]}'): use YYYY-MM-DD or DD/MM/YYYY."
                    if "no such date" not in exc.message
                    else exc.message
                )
            self._dates[value] = d
        if isinstance(d, str):
            if col == "date_of_birth":  # a date of birth is not echoed back (personal data)
                d = "Not a date of birth that exists: use YYYY-MM-DD or DD/MM/YYYY."
            row.err(col, d)
            return BAD
        return d

    @staticmethod
    def _choice(row: Row, raw: dict, col: str, allowed: Iterable[str]):
        value = raw.get(col)
        if not value:
            return None
        code = norm_code(value)
        allowed = tuple(allowed)
        if code not in allowed:
            row.err(col, f"'{value[:40]}' is not one of: {', '.join(allowed)}.")
            return BAD
        return code

    @staticmethod
    def _number(row: Row, raw: dict, col: str, lo: int, hi: int, what: str):
        value = raw.get(col)
        if not value:
            return None
        if not value.isdigit() or not lo <= int(value) <= hi:
            row.err(col, f"'{value[:20]}' is not {what} (a whole number from {lo} to {hi}).")
            return BAD
        return int(value)

    def _required(self, row: Row, raw: dict, col: str) -> str | None:
        value = raw.get(col)
        if not value:
            row.err(col, REQUIRED_EMPTY)
            row.v[col] = BAD
        return value or None

    # ------------------------------------------------------------ a row
    def parse(self, line: int, cells: list[str], index: dict[str, int]) -> Row:
        raw = {name: cells[i].strip() for name, i in index.items()}
        row = Row(line, {})
        v = row.v
        self._text(row, raw, "client_ref", 40, True)
        self._text(row, raw, "first_name", 100, True)
        self._text(row, raw, "last_name", 100, True)
        if self._required(row, raw, "date_of_birth"):
            v["date_of_birth"] = self._date(row, "date_of_birth", raw["date_of_birth"])
        for col, fn in (("postcode", normalise_postcode), ("nhs_number", normalise_nhs_number)):
            try:
                v[col] = fn(raw.get(col) or None)
            except DomainError as exc:
                v[col] = BAD
                row.err(col, exc.message)
        v["imd_decile"] = self._number(row, raw, "imd_decile", 1, 10, "an IMD decile")
        self._locality(row, raw)
        self._navigator(row, raw)
        self._source(row, raw)
        if self._required(row, raw, "received_date"):
            v["received_date"] = self._date(row, "received_date", raw["received_date"])
        for col in DATE_COLUMNS[1:]:
            v[col] = self._date(row, col, raw.get(col))
        attempts = [
            self._date(row, "contact_attempts", part.strip())
            for part in (raw.get("contact_attempts") or "").split(";")
            if part.strip()
        ]
        v["contact_attempts"] = BAD if any(a is BAD for a in attempts) else sorted(attempts)
        v["decision"] = self._choice(row, raw, "decision", [d.value for d in L.Decision])
        v["reject_reason"] = self._choice(row, raw, "reject_reason", [r.value for r in L.RejectReason])
        v["end_reason"] = self._choice(row, raw, "end_reason", [r.value for r in L.EndReason])
        v["onward_outcome"] = self._choice(row, raw, "onward_outcome", ONWARD_OUTCOMES)
        v["swemwbs_start"] = self._number(row, raw, "swemwbs_start", 7, 35, "a SWEMWBS raw total")
        v["swemwbs_end"] = self._number(row, raw, "swemwbs_end", 7, 35, "a SWEMWBS raw total")
        self._text(row, raw, "onward_partner", 200)
        self._text(row, raw, "onward_programme", 200)
        together(row)
        return row

    def _locality(self, row: Row, raw: dict) -> None:
        loc = self._required(row, raw, "locality")
        row.v["locality"] = BAD
        if not loc:
            return
        if loc.lower() in self.localities:
            row.v["locality"] = self.localities[loc.lower()]
            return
        near = difflib.get_close_matches(loc.lower(), list(self.localities), n=1)
        hint = f" Did you mean '{self.localities[near[0]].name}'?" if near else ""
        row.err("locality", f"'{loc[:60]}' is not a configured locality.{hint}")

    def _navigator(self, row: Row, raw: dict) -> None:
        nav = (self._required(row, raw, "navigator") or "").lower()
        row.v["navigator"] = BAD
        if not nav:
            return
        if USERNAME_RE.match(nav):
            row.v["navigator"] = nav
            return
        row.err(
            "navigator",
            "A navigator is given by username: 1 to 64 letters, digits, dots, underscores "
            "or hyphens (for example 'asha.patel').",
        )

    def _source(self, row: Row, raw: dict) -> None:
        src = self._required(row, raw, "referral_source")
        row.v["referral_source"] = BAD
        if not src:
            return
        found = self.sources.get(src.lower(), self.sources.get(norm_code(src)))
        if found is not None:
            row.v["referral_source"] = found
            return
        row.err(
            "referral_source",
            f"'{src[:60]}' is not a configured referral source (use its code, e.g. gp, self, cmht, or its name).",
        )


# Cells that mean something only with another one: (column, the column it needs, the reason).
_NEEDS = (
    ("decision_date", "decision", "decision_date is given but decision is empty: give accepted or rejected."),
    ("decision", "decision_date", "Required with decision."),
    ("swemwbs_start", "start_date", "A start SWEMWBS needs a start_date."),
    ("end_date", "end_reason", "Required with end_date."),
    ("end_reason", "end_date", "Required with end_reason."),
    ("swemwbs_end", "end_date", "An end SWEMWBS needs an end_date."),
    ("onward_programme", "onward_partner", "onward_programme is given but onward_partner is empty."),
    ("onward_referral_date", "onward_partner", "onward_referral_date is given but onward_partner is empty."),
    ("onward_start_date", "onward_partner", "onward_start_date is given but onward_partner is empty."),
    ("onward_end_date", "onward_partner", "onward_end_date is given but onward_partner is empty."),
    ("onward_outcome", "onward_partner", "onward_outcome is given but onward_partner is empty."),
    ("onward_partner", "onward_referral_date", "Required with onward_partner."),
    ("onward_outcome", "onward_end_date", "Required with onward_outcome."),
    ("onward_end_date", "onward_outcome", "Required with onward_end_date: " + ", ".join(ONWARD_OUTCOMES) + "."),
)


def together(row: Row) -> None:
    """Each cell that needs another to make a step (a decision needs its date...). Reported on the
    empty cell, or on the given one when the missing one is what explains it."""
    v = row.v
    for col, needs, reason in _NEEDS:
        if v.get(col) is None or v.get(col) is BAD or v.get(needs) is not None:
            continue
        at = needs if reason.startswith("Required") else col
        row.err(at, reason)
    if v.get("decision") == L.Decision.REJECTED and v.get("reject_reason") is None:
        row.err(
            "reject_reason", "Required for a rejected referral: " + ", ".join(r.value for r in L.RejectReason) + "."
        )
    if v.get("reject_reason") not in (None, BAD) and v.get("decision") is None:
        row.err("reject_reason", "A reject_reason goes only with decision 'rejected'.")
