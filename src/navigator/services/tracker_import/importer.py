"""Importing a referral tracker (shared/spec/tracker-import.md, version 1).

All or nothing: every row is checked first (format, then the spec's rules, then
a replay of the journey through the domain's lifecycle rules, exactly as the
services would apply them); if any row is bad nothing is written and every bad
row is reported as (line, column, reason). A good file is written in ONE
transaction through the bulk writer, every record attributed in the audit log
to the importing user, plus one ``import`` event summarising the run.

Re-importing changes nothing already there: a journey is identified by
``client_ref`` + ``received_date``, and an existing one is skipped.

The tracker has no column for outcome evidence: a completed journey gets
``PROVENANCE`` as its evidence. An onward referral in the tracker means the
person consented to share their details (a referral is only made with
consent), so such a person is recorded with consent to share.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import tuple_, update
from sqlmodel import Session, select

from navigator.domain import lifecycle as L
from navigator.domain.dates import age_on, parse_date
from navigator.domain.errors import AccessDenied, DomainError
from navigator.domain.identifiers import (
    clean_text,
    fold_name,
    normalise_nhs_number,
    normalise_postcode,
)
from navigator.services.casework import bulk
from navigator.services.context import Ctx, protocol
from navigator.store.models import (
    Client,
    Journey,
    Locality,
    Partner,
    Programme,
    ReferralSource,
    User,
    UserLot,
)

PROVENANCE = "Recorded as completed in the imported tracker"
DEFAULT_PROGRAMME = "General referral"
KEEP_REPLAYS = 50_000  # rows: above this, journeys are replayed again when written instead of kept
USERNAME_RE = re.compile(r"^[a-z0-9._-]{1,64}$")

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
ONWARD_OUTCOMES = ("completed", "withdrew", "did_not_start", "declined")

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class ImportReport:
    """What an import found and did. ``errors`` and ``duplicates`` are (line, column or ref, reason)."""

    file: str
    rows: int
    errors: tuple[tuple[int, str, str], ...] = ()
    dry_run: bool = False
    written: bool = False
    clients_created: int = 0
    journeys_created: int = 0
    onward_created: int = 0
    users_created: tuple[str, ...] = ()
    partners_created: tuple[str, ...] = ()
    programmes_created: tuple[str, ...] = ()  # "Partner: Programme"
    duplicates: tuple[tuple[int, str, str], ...] = ()  # (line, client_ref, why it looks like someone known)
    skipped_existing: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_lines(self) -> int:
        return len({line for line, _, _ in self.errors})


class _Bad:
    """A cell that failed to parse (its error is already reported)."""


BAD = _Bad()


@dataclass
class _Row:
    line: int
    v: dict  # column -> parsed value (None for empty, BAD for unparseable)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def err(self, column: str, reason: str) -> None:
        self.errors.append((column, reason))

    def ok(self, *cols: str) -> bool:
        return all(self.v.get(c) is not BAD for c in cols)


# ---------------------------------------------------------------- reading the file


def _decode(data: bytes) -> tuple[str | None, list[tuple[int, str, str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [
            (
                line,
                "",
                f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x} on this line). "
                "Save it from the spreadsheet as 'CSV UTF-8' and import again.",
            )
        ]
    if not text.strip():
        return None, [(0, "", "The file is empty: expected a header row and one row per referral.")]
    return text, []


def _header(cells: list[str]) -> tuple[dict[str, int], list[tuple[int, str, str]]]:
    """Column name -> position. A column with no name is ignored if it stays empty (read_rows checks)."""
    errors: list[tuple[int, str, str]] = []
    index: dict[str, int] = {}
    for i, raw in enumerate(cells):
        name = raw.strip().lower()
        if not name:
            continue
        if name not in COLUMNS:
            near = difflib.get_close_matches(name, COLUMNS, n=1)
            hint = f" Did you mean '{near[0]}'?" if near else " See the tracker import format for the columns."
            errors.append((1, raw.strip(), f"Unknown column '{raw.strip()}'.{hint}"))
            continue
        if name in index:
            errors.append((1, name, f"The column '{name}' appears twice."))
            continue
        index[name] = i
    if not errors:
        for name in REQUIRED:
            if name not in index:
                errors.append((1, name, f"The required column '{name}' is missing."))
    return index, errors


def read_rows(data: bytes) -> tuple[dict[str, int], list[tuple[int, list[str]]], list[tuple[int, str, str]]]:
    """(header index, [(line, cells)], file-level errors)."""
    text, errors = _decode(data)
    if text is None:
        return {}, [], errors
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)
        if header is None:
            return {}, [], [(0, "", "The file is empty: expected a header row and one row per referral.")]
        header_line = reader.line_num
        index, errors = _header(header)
        if errors:
            return index, [], [(header_line if line == 1 else line, col, why) for line, col, why in errors]
        unnamed = [i for i, c in enumerate(header) if not c.strip()]
        last = reader.line_num
        for cells in reader:
            line = last + 1
            last = reader.line_num
            if not any(c.strip() for c in cells):
                continue  # a blank line
            if len(cells) > len(header) and not any(c.strip() for c in cells[len(header) :]):
                cells = cells[: len(header)]
            if len(cells) != len(header):
                errors.append((line, "", f"This row has {len(cells)} cells but the header has {len(header)}."))
                continue
            for i in unnamed:
                if cells[i].strip():
                    errors.append(
                        (
                            line,
                            f"column {i + 1}",
                            "This cell is in a column with no name in the header: name the column, or leave it empty.",
                        )
                    )
            rows.append((line, cells))
    except csv.Error as exc:
        errors.append((reader.line_num, "", f"The CSV cannot be read here ({exc}). Check the quotes on this line."))
        return index, rows, errors
    if not rows and not errors:
        errors.append((header_line, "", "The file has a header but no rows: there is nothing to import."))
    return index, rows, errors


# ---------------------------------------------------------------- checking one row


def _norm_code(value: str) -> str:
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


class _Checker:
    def __init__(self, s: Session, today: date) -> None:
        self.today = today
        self._dates: dict[str, date | str] = {}  # cell text -> date, or the reason it is not one
        self.localities = {loc.name.lower(): loc for loc in s.exec(select(Locality)).all()}
        self.lot_of = {loc.id: loc.lot_id for loc in self.localities.values()}
        self.sources: dict[str, int] = {}
        for src in s.exec(select(ReferralSource)).all():
            self.sources[src.code.lower()] = src.id
            self.sources.setdefault(src.name.lower(), src.id)

    def parse(self, line: int, cells: list[str], index: dict[str, int]) -> _Row:
        raw = {name: cells[i].strip() for name, i in index.items()}
        row = _Row(line, {})
        v = row.v
        today = self.today

        def text(col: str, max_len: int, required: bool = False):
            value = raw.get(col)
            if value and value.isascii() and value.isprintable() and len(value) <= max_len:
                # plain text: what clean_text would return, without its character-by-character pass
                v[col] = value if "  " not in value else re.sub(r" {2,}", " ", value)
                return
            try:
                v[col] = clean_text(value, col, max_len=max_len, required=required)
            except DomainError as exc:
                v[col] = BAD
                row.err(col, "Required: this cell is empty." if exc.message == "Required." else exc.message)

        dates = self._dates

        def a_date(col: str, value: str | None = None):
            value = raw.get(col) if value is None else value
            if not value:
                return None
            if col == "date_of_birth":  # a date of birth is not echoed back (personal data)
                d = dates.get(value)
                if d is None or isinstance(d, str):
                    try:
                        d = parse_date(value, today=today, relative=False, field=col)
                    except DomainError:
                        row.err(col, "Not a date of birth that exists: use YYYY-MM-DD or DD/MM/YYYY.")
                        return BAD
                if d > today:
                    row.err(col, "The date of birth is after today.")
                    return BAD
                return d
            d = dates.get(value)
            if d is None:
                try:
                    d = parse_date(value, today=today, relative=False, field=col)
                except DomainError as exc:
                    d = (
                        f"{exc.message.rstrip('.')} ('{value}'): use YYYY-MM-DD or DD/MM/YYYY."
                        if "no such date" not in exc.message
                        else exc.message
                    )
                dates[value] = d
            if isinstance(d, str):
                row.err(col, d)
                return BAD
            if d > today:
                row.err(col, f"{d.isoformat()} is after today: no date can be in the future.")
                return BAD
            return d

        def choice(col: str, allowed: Iterable[str]):
            value = raw.get(col)
            if not value:
                return None
            code = _norm_code(value)
            allowed = tuple(allowed)
            if code not in allowed:
                row.err(col, f"'{value}' is not one of: {', '.join(allowed)}.")
                return BAD
            return code

        def raw_total(col: str):
            value = raw.get(col)
            if not value:
                return None
            if not value.isdigit() or not 7 <= int(value) <= 35:
                row.err(col, f"'{value}' is not a SWEMWBS raw total (a whole number from 7 to 35).")
                return BAD
            return int(value)

        text("client_ref", 40, True)
        text("first_name", 100, True)
        text("last_name", 100, True)
        if not raw.get("date_of_birth"):
            row.err("date_of_birth", "Required: this cell is empty.")
            v["date_of_birth"] = BAD
        else:
            v["date_of_birth"] = a_date("date_of_birth")
        for col, fn in (("postcode", normalise_postcode), ("nhs_number", normalise_nhs_number)):
            try:
                v[col] = fn(raw.get(col) or None)
            except DomainError as exc:
                v[col] = BAD
                row.err(col, exc.message)
        imd = raw.get("imd_decile")
        v["imd_decile"] = None
        if imd:
            if imd.isdigit() and 1 <= int(imd) <= 10:
                v["imd_decile"] = int(imd)
            else:
                v["imd_decile"] = BAD
                row.err("imd_decile", f"'{imd}' is not an IMD decile (a whole number from 1 to 10).")
        loc = raw.get("locality")
        v["locality"] = BAD
        if not loc:
            row.err("locality", "Required: this cell is empty.")
        elif loc.lower() not in self.localities:
            near = difflib.get_close_matches(loc.lower(), list(self.localities), n=1)
            hint = f" Did you mean '{self.localities[near[0]].name}'?" if near else ""
            row.err("locality", f"'{loc}' is not a configured locality.{hint}")
        else:
            v["locality"] = self.localities[loc.lower()]
        nav = (raw.get("navigator") or "").lower()
        v["navigator"] = BAD
        if not nav:
            row.err("navigator", "Required: this cell is empty.")
        elif not USERNAME_RE.match(nav):
            row.err(
                "navigator",
                "A navigator is given by username: 1 to 64 letters, digits, dots, underscores "
                "or hyphens (for example 'asha.patel').",
            )
        else:
            v["navigator"] = nav
        src = raw.get("referral_source")
        v["referral_source"] = BAD
        if not src:
            row.err("referral_source", "Required: this cell is empty.")
        elif src.lower() in self.sources:
            v["referral_source"] = self.sources[src.lower()]
        elif _norm_code(src) in self.sources:
            v["referral_source"] = self.sources[_norm_code(src)]
        else:
            row.err(
                "referral_source",
                f"'{src}' is not a configured referral source (use its code, e.g. gp, self, cmht, or its name).",
            )
        if not raw.get("received_date"):
            row.err("received_date", "Required: this cell is empty.")
            v["received_date"] = BAD
        else:
            v["received_date"] = a_date("received_date")
        for col in (
            "first_contact_date",
            "decision_date",
            "start_date",
            "onward_referral_date",
            "onward_start_date",
            "onward_end_date",
            "end_date",
        ):
            v[col] = a_date(col)
        attempts = []
        for part in (raw.get("contact_attempts") or "").split(";"):
            if part.strip():
                d = a_date("contact_attempts", part.strip())
                attempts.append(d)
        v["contact_attempts"] = BAD if any(a is BAD for a in attempts) else sorted(attempts)
        v["decision"] = choice("decision", ("accepted", "rejected"))
        v["reject_reason"] = choice("reject_reason", [r.value for r in L.RejectReason])
        v["end_reason"] = choice("end_reason", [r.value for r in L.EndReason])
        v["onward_outcome"] = choice("onward_outcome", ONWARD_OUTCOMES)
        v["swemwbs_start"] = raw_total("swemwbs_start")
        v["swemwbs_end"] = raw_total("swemwbs_end")
        text("onward_partner", 200)
        text("onward_programme", 200)
        self._rules(row)
        return row

    def _rules(self, row: _Row) -> None:
        """The spec's rules across columns (each checked only when its cells parsed)."""
        v, err = row.v, row.err
        g = v.get
        # what goes with what
        if g("decision_date") is not None and g("decision") is None:
            err("decision", "decision_date is given but decision is empty: give accepted or rejected.")
        if g("decision") is not None and g("decision_date") is None:
            err("decision_date", "Required with decision.")
        if g("decision") == "rejected":
            if g("reject_reason") is None:
                err(
                    "reject_reason",
                    "Required for a rejected referral: " + ", ".join(r.value for r in L.RejectReason) + ".",
                )
            for col in ("start_date", "end_date", "end_reason"):
                if g(col) is not None:
                    err(col, f"A rejected referral is closed by its decision: it has no {col}.")
        elif g("reject_reason") is not None and g("decision") is not BAD:
            err("reject_reason", "A reject_reason goes only with decision 'rejected'.")
        if g("start_date") is not None and g("decision") not in ("accepted", BAD, "rejected"):
            err("start_date", "A start_date needs decision 'accepted' (and its decision_date).")
        if g("swemwbs_start") not in (None, BAD) and g("start_date") is None:
            err("swemwbs_start", "A start SWEMWBS needs a start_date.")
        if g("end_date") is not None and g("end_reason") is None and g("decision") != "rejected":
            err("end_reason", "Required with end_date.")
        if g("end_reason") is not None and g("end_date") is None and g("decision") != "rejected":
            err("end_date", "Required with end_reason.")
        if g("swemwbs_end") not in (None, BAD):
            if g("end_date") is None:
                err("swemwbs_end", "An end SWEMWBS needs an end_date.")
            elif g("start_date") is None:
                err("swemwbs_end", "An end SWEMWBS needs a journey that started (start_date).")
        reason = g("end_reason")
        if reason not in (None, BAD) and g("decision") != "rejected" and g("start_date") is not BAD:
            if g("start_date") is None and L.EndReason(reason) not in L.END_REASONS_WITHOUT_START:
                err(
                    "end_reason",
                    f"A journey with no start_date cannot end as '{reason}': it can end only with "
                    + ", ".join(r.value for r in L.END_REASONS_WITHOUT_START)
                    + ".",
                )
            elif g("start_date") is not None and L.EndReason(reason) not in L.END_REASONS_AFTER_START:
                err(
                    "end_reason",
                    f"A started journey cannot end as '{reason}': it can end only with "
                    + ", ".join(r.value for r in L.END_REASONS_AFTER_START)
                    + ".",
                )
        partner = g("onward_partner")
        if partner is None:
            for col in (
                "onward_programme",
                "onward_referral_date",
                "onward_start_date",
                "onward_end_date",
                "onward_outcome",
            ):
                if g(col) is not None:
                    err(col, f"{col} is given but onward_partner is empty.")
        elif partner is not BAD:
            if g("onward_referral_date") is None:
                err("onward_referral_date", "Required with onward_partner.")
            if g("start_date") is None and g("decision") != "rejected":
                err("onward_partner", "An onward referral needs a journey that started (start_date).")
            elif g("decision") == "rejected":
                err("onward_partner", "A rejected referral has no onward referral.")
            if g("onward_outcome") is not None and g("onward_end_date") is None:
                err("onward_end_date", "Required with onward_outcome.")
            if g("onward_end_date") is not None and g("onward_outcome") is None:
                err("onward_outcome", "Required with onward_end_date: " + ", ".join(ONWARD_OUTCOMES) + ".")
            outcome = g("onward_outcome")
            if outcome in ("completed", "withdrew") and g("onward_start_date") is None:
                err("onward_start_date", f"An onward outcome '{outcome}' needs the programme's onward_start_date.")
            if outcome in ("did_not_start", "declined") and g("onward_start_date") is not None:
                err(
                    "onward_outcome",
                    f"The person started the programme (onward_start_date), so the outcome cannot be '{outcome}'.",
                )
        # age on the received date
        dob, received = g("date_of_birth"), g("received_date")
        if dob not in (None, BAD) and received not in (None, BAD):
            if dob > received:
                err("date_of_birth", "The date of birth is after the referral was received.")
            elif age_on(dob, received) < L.MIN_AGE and not (
                g("decision") == "rejected" and g("reject_reason") == "under_17"
            ):
                err(
                    "date_of_birth",
                    f"The person was {age_on(dob, received)} on the received_date: a referral "
                    "of someone under 17 must be rejected with reject_reason under_17.",
                )
        # order of dates
        self._order(row)

    @staticmethod
    def _order(row: _Row) -> None:
        v, err = row.v, row.err

        def d(col):
            x = v.get(col)
            return None if x is BAD else x

        def after(col: str, floor_col: str) -> None:
            a, b = d(col), d(floor_col)
            if a is not None and b is not None and a < b:
                err(col, f"{col} ({a.isoformat()}) is before {floor_col} ({b.isoformat()}).")

        chain = ["received_date", "first_contact_date", "decision_date", "start_date", "end_date"]
        for i, col in enumerate(chain[1:], start=1):
            for floor_col in reversed(chain[:i]):
                if d(floor_col) is not None:
                    after(col, floor_col)
                    break
        attempts = v.get("contact_attempts")
        if attempts and attempts is not BAD:
            received, decision, end = d("received_date"), d("decision_date"), d("end_date")
            for a in attempts:
                if received and a < received:
                    err(
                        "contact_attempts",
                        f"An attempt ({a.isoformat()}) is before received_date ({received.isoformat()}).",
                    )
                elif decision and a > decision:
                    err(
                        "contact_attempts",
                        f"An attempt ({a.isoformat()}) is after decision_date ({decision.isoformat()}).",
                    )
                elif end and a > end:
                    err("contact_attempts", f"An attempt ({a.isoformat()}) is after end_date ({end.isoformat()}).")
        after("onward_referral_date", "start_date")
        referral, end = d("onward_referral_date"), d("end_date")
        if referral and end and referral > end:
            err(
                "onward_referral_date",
                f"onward_referral_date ({referral.isoformat()}) is after the journey's end_date ({end.isoformat()}).",
            )
        after("onward_start_date", "onward_referral_date")
        if d("onward_start_date") is not None:
            after("onward_end_date", "onward_start_date")
        else:
            after("onward_end_date", "onward_referral_date")


# ---------------------------------------------------------------- the journey as steps

_STEP_PRIORITY = {bulk.Contact: 0, bulk.Decide: 2, bulk.Start: 3, bulk.Onward: 4, bulk.PartnerReport: 5, bulk.Close: 7}
_FIELD_COLUMNS = {
    "decision": "decision",
    "reject_reason": "reject_reason",
    "decision_date": "decision_date",
    "start_date": "start_date",
    "end_date": "end_date",
    "end_reason": "end_reason",
    "received_date": "received_date",
    "date_of_birth": "date_of_birth",
}


def _steps(v: dict, programme_id: int | None) -> list[bulk.Step]:
    dated: list[tuple[date, int, bulk.Step]] = []
    for a in v.get("contact_attempts") or ():
        dated.append((a, 0, bulk.Contact(a, "phone", "no_answer", tag="contact_attempts")))
    if v.get("first_contact_date"):
        d = v["first_contact_date"]
        dated.append((d, 1, bulk.Contact(d, "phone", "spoke", tag="first_contact_date")))
    if v.get("decision"):
        d = v["decision_date"]
        dated.append((d, 2, bulk.Decide(d, v["decision"], v.get("reject_reason"), tag="decision")))
    if v.get("start_date"):
        d = v["start_date"]
        dated.append((d, 3, bulk.Start(d, v.get("swemwbs_start"), tag="start_date")))
    if programme_id is not None:
        d = v["onward_referral_date"]
        dated.append((d, 4, bulk.Onward(programme_id, d, tag="onward_referral_date")))
        if v.get("onward_start_date"):
            s = v["onward_start_date"]
            dated.append((s, 5, bulk.PartnerReport(0, "started", s, tag="onward_start_date")))
        if v.get("onward_end_date"):
            e = v["onward_end_date"]
            dated.append((e, 6, bulk.PartnerReport(0, v["onward_outcome"], e, tag="onward_outcome")))
    if v.get("end_date"):
        d = v["end_date"]
        reason = v["end_reason"]
        dated.append(
            (
                d,
                7,
                bulk.Close(
                    d, reason, PROVENANCE if reason == "completed" else None, v.get("swemwbs_end"), tag="end_reason"
                ),
            )
        )
    dated.sort(key=lambda x: (x[0], x[1]))
    return [s for _, _, s in dated]


def _column_for(exc: bulk.StepError) -> str:
    field_ = exc.field or ""
    step = exc.step
    if field_ == "raw" or field_.startswith("item") or field_ == "swemwbs":
        return "swemwbs_end" if isinstance(step, bulk.Close) else "swemwbs_start"
    if field_ in _FIELD_COLUMNS and not isinstance(step, (bulk.Contact, bulk.PartnerReport, bulk.Onward)):
        return _FIELD_COLUMNS[field_]
    return exc.tag or field_ or "received_date"


# ---------------------------------------------------------------- the import


@dataclass
class _Person:
    ref: str
    rows: list[_Row]
    spec: bulk.ClientSpec | None = None
    existing: Client | None = None


def _username_to_name(username: str) -> str:
    parts = [p for p in re.split(r"[._\-]+", username) if p]
    return " ".join(p[:1].upper() + p[1:] for p in parts) or username


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
    index, raw_rows, file_errors = read_rows(data)
    if file_errors and not raw_rows and not index:
        return ImportReport(name, 0, tuple(file_errors), dry_run, seconds=time.perf_counter() - started)
    if file_errors and not raw_rows:
        return ImportReport(name, 0, tuple(sorted(file_errors)), dry_run, seconds=time.perf_counter() - started)
    opener = ctx.read if dry_run else ctx.write
    with bulk.gc_paused(), opener() as s:
        actor = ctx.actor(s)
        if not actor.is_admin:
            raise AccessDenied("Only an admin can import a tracker (it creates people, users and partners).")
        report = _run(s, ctx, name, index, raw_rows, file_errors, dry_run, progress, started)
    return report


def _run(
    s: Session,
    ctx: Ctx,
    name: str,
    index: dict[str, int],
    raw_rows: list[tuple[int, list[str]]],
    file_errors: list[tuple[int, str, str]],
    dry_run: bool,
    progress: Progress | None,
    started: float,
) -> ImportReport:
    today = ctx.today()
    checker = _Checker(s, today)
    total = len(raw_rows)
    tick = max(total // 100, 1)
    errors: list[tuple[int, str, str]] = list(file_errors)
    rows: list[_Row] = []
    for n in range(total):
        line, cells = raw_rows[n]
        raw_rows[n] = None  # the parsed row replaces the cells (memory, for big files)
        row = checker.parse(line, cells, index)
        rows.append(row)
        if progress is not None and n % tick == 0:
            progress("Checking", n, total)

    # people: the same client_ref must carry the same name and date of birth
    people: dict[str, _Person] = {}
    seen_journeys: dict[tuple[str, date], int] = {}
    for row in rows:
        v = row.v
        if not row.ok("client_ref") or v["client_ref"] is None:
            continue
        ref = v["client_ref"]
        person = people.get(ref)
        if person is None:
            people[ref] = _Person(ref, [row])
        else:
            first = person.rows[0]
            for col in ("first_name", "last_name", "date_of_birth"):
                a, b = first.v.get(col), v.get(col)
                if a is BAD or b is BAD:
                    continue
                same = (fold_name(a) == fold_name(b)) if isinstance(a, str) and isinstance(b, str) else a == b
                if not same:
                    row.err(
                        col,
                        f"client_ref {ref} has a different {col.replace('_', ' ')} on line {first.line}: "
                        "the same client_ref must be the same person.",
                    )
            person.rows.append(row)
        received = v.get("received_date")
        if received not in (None, BAD):
            key = (ref, received)
            if key in seen_journeys:
                row.err(
                    "received_date",
                    f"Line {seen_journeys[key]} has the same client_ref and received_date "
                    "(a journey is identified by both).",
                )
            else:
                seen_journeys[key] = row.line

    # what the store already holds
    refs = list(people)
    existing: dict[str, Client] = {}
    for chunk in _chunks(refs, 500):
        for c in s.exec(select(Client).where(Client.client_ref.in_(chunk))).all():
            existing[c.client_ref] = c
    existing_journeys: set[tuple[int, date]] = set()
    ids = [c.id for c in existing.values()]
    for chunk in _chunks(ids, 500):
        existing_journeys.update(
            s.exec(select(Journey.client_id, Journey.received_date).where(Journey.client_id.in_(chunk))).all()
        )
    users = {u.username.lower(): u for u in s.exec(select(User)).all()}
    partners = {p.name.lower(): p for p in s.exec(select(Partner)).all()}
    programmes: dict[int, dict[str, Programme]] = defaultdict(dict)
    for prog in s.exec(select(Programme)).all():
        programmes[prog.partner_id][prog.name.lower()] = prog

    for ref, person in people.items():
        c = existing.get(ref)
        if c is None:
            continue
        person.existing = c
        for row in person.rows:
            v = row.v
            if row.ok("first_name") and v.get("first_name") and fold_name(v["first_name"]) != c.first_name_key:
                row.err("first_name", f"client_ref {ref} is already in the store with a different first name.")
            if row.ok("last_name") and v.get("last_name") and fold_name(v["last_name"]) != c.last_name_key:
                row.err("last_name", f"client_ref {ref} is already in the store with a different last name.")
            if row.ok("date_of_birth") and v.get("date_of_birth") and v["date_of_birth"] != c.date_of_birth:
                row.err("date_of_birth", f"client_ref {ref} is already in the store with a different date of birth.")

    # navigators: unknown ones will be created; a deactivated one cannot hold an open journey
    new_users: dict[str, set[int]] = {}
    for row in rows:
        nav = row.v.get("navigator")
        if nav in (None, BAD):
            continue
        u = users.get(nav)
        if u is None:
            lots = new_users.setdefault(nav, set())
            if row.ok("locality"):
                lots.add(row.v["locality"].lot_id)
        elif not u.active and row.v.get("end_date") is None and row.v.get("decision") != "rejected":
            row.err(
                "navigator",
                f"{nav} is deactivated: an open journey needs an active navigator "
                "(reactivate them, or give another navigator).",
            )

    # partners and programmes: unknown ones will be created
    new_partners: list[str] = []
    new_programmes: list[tuple[str, str]] = []
    wanted_programme: dict[int, tuple[str, str]] = {}  # line -> (partner name, programme name)
    for row in rows:
        partner = row.v.get("onward_partner")
        if partner in (None, BAD) or not row.ok("onward_programme"):
            continue
        prog_name = row.v.get("onward_programme")
        p = partners.get(partner.lower())
        if prog_name is None:
            known = [pr for pr in programmes.get(p.id, {}).values()] if p is not None else []
            prog_name = known[0].name if len(known) == 1 else DEFAULT_PROGRAMME
        if p is None and partner.lower() not in {x.lower() for x in new_partners}:
            new_partners.append(partner)
        if (p is None or prog_name.lower() not in programmes.get(p.id, {})) and (
            partner.lower(),
            prog_name.lower(),
        ) not in {(a.lower(), b.lower()) for a, b in new_programmes}:
            new_programmes.append((partner, prog_name))
        wanted_programme[row.line] = (partner, prog_name)

    # the client each row belongs to (details from the person's latest row)
    for ref, person in people.items():
        good = [
            r
            for r in person.rows
            if r.ok("date_of_birth", "first_name", "last_name", "locality", "received_date")
            and r.v.get("received_date")
        ]
        consent = any(r.v.get("onward_partner") not in (None, BAD) for r in person.rows)
        if person.existing is not None:
            c = person.existing
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
        if not good:
            continue
        good.sort(key=lambda r: r.v["received_date"])
        latest = good[-1].v
        extra = {}
        for col in ("postcode", "nhs_number", "imd_decile"):
            for r in good:
                if r.v.get(col) not in (None, BAD):
                    extra[col] = r.v[col]
        person.spec = bulk.ClientSpec(
            ref,
            good[0].v["first_name"],
            good[0].v["last_name"],
            good[0].v["date_of_birth"],
            latest["locality"].id,
            consent_to_share=consent,
            **extra,
        )

    # replay every new journey through the lifecycle rules
    placeholder_programme = -1
    # a big file's replays are not kept (memory): they are replayed again, identically, when written
    keep = total <= KEEP_REPLAYS
    replays: list[tuple[_Row, bulk.JourneySpec, bulk.Replayed | None]] = []
    onward = 0
    skipped = 0
    for n, row in enumerate(rows):
        if progress is not None and n % tick == 0:
            progress("Checking rules", n, total)
        v = row.v
        if row.errors:
            continue
        person = people.get(v["client_ref"])
        if person is None or person.spec is None:
            continue
        if person.existing is not None and (person.existing.id, v["received_date"]) in existing_journeys:
            skipped += 1
            continue
        prog = None
        if row.line in wanted_programme:
            partner, prog_name = wanted_programme[row.line]
            p = partners.get(partner.lower())
            found = programmes.get(p.id, {}).get(prog_name.lower()) if p is not None else None
            prog = found.id if found is not None else placeholder_programme
        user = users.get(v["navigator"])
        spec = bulk.JourneySpec(
            client=person.spec,
            navigator_id=user.id if user else -1,
            source_id=v["referral_source"],
            received_date=v["received_date"],
            locality_id=v["locality"].id,
            steps=_steps(v, prog),
        )
        try:
            r = bulk.replay(spec, today)
        except bulk.StepError as exc:
            row.err(_column_for(exc), exc.message)
            continue
        onward += len(r.onwards)
        replays.append((row, spec, r if keep else None))

    # duplicates: a new person who looks like someone already known (reported, not refused)
    duplicates = _duplicates(s, people)

    for row in rows:
        for col, why in row.errors:
            errors.append((row.line, col, why))
    errors.sort(key=lambda e: (e[0], COLUMNS.index(e[1]) if e[1] in COLUMNS else -1))
    new_clients = {id(spec.client) for _, spec, _ in replays if spec.client.id is None}
    base = dict(
        file=name,
        rows=total,
        dry_run=dry_run,
        duplicates=tuple(duplicates),
        skipped_existing=skipped,
        users_created=tuple(sorted(new_users)),
        partners_created=tuple(new_partners),
        programmes_created=tuple(f"{p}: {g}" for p, g in new_programmes),
    )
    if errors:
        return ImportReport(
            errors=tuple(errors),
            seconds=time.perf_counter() - started,
            **(base | dict(users_created=(), partners_created=(), programmes_created=())),
        )
    if dry_run:
        return ImportReport(
            clients_created=len(new_clients),
            journeys_created=len(replays),
            onward_created=onward,
            seconds=time.perf_counter() - started,
            **base,
        )

    # ---- write: everything in this one transaction
    writer = bulk.BulkWriter(s, ctx)
    now = ctx.now()
    lots = {lot_id for lot_id in checker.lot_of.values()}
    for username, lot_ids in sorted(new_users.items()):
        u = User(username=username, name=_username_to_name(username), role="navigator", active=True, created_at=now)
        s.add(u)
        s.flush()
        for lot_id in sorted(lot_ids & lots):
            s.add(UserLot(user_id=u.id, lot_id=lot_id))
        users[username] = u
        writer.event(
            "user.add",
            "user",
            u.id,
            after={"username": username, "name": u.name, "role": "navigator", "active": True, "source": "import"},
        )
    days = protocol(s).partner_response_days or 10
    for partner in new_partners:
        p = Partner(name=partner, active=True)
        s.add(p)
        s.flush()
        partners[partner.lower()] = p
        writer.event("partner.add", "partner", p.id, after={"name": partner, "active": True, "source": "import"})
    for partner, prog_name in new_programmes:
        p = partners[partner.lower()]
        prog = Programme(partner_id=p.id, name=prog_name, expected_response_days=days, active=True)
        s.add(prog)
        s.flush()
        programmes[p.id][prog_name.lower()] = prog
        writer.event(
            "programme.add",
            "programme",
            prog.id,
            after={"partner": p.name, "name": prog_name, "expected_response_days": days, "source": "import"},
        )
    s.flush()
    writer.refresh_programmes()
    consent_updates = [
        p.existing
        for p in people.values()
        if p.existing is not None and p.spec is not None and p.spec.consent_to_share and not p.existing.consent_to_share
    ]
    importing = {id(spec.client) for _, spec, _ in replays}
    for c in consent_updates:
        if id(people[c.client_ref].spec) in importing:
            s.execute(
                update(Client)
                .where(Client.id == c.id)
                .values(consent_to_share=True, version=Client.version + 1, updated_at=now)
            )
            writer.event(
                "client.update",
                "client",
                c.id,
                client_id=c.id,
                before={"consent_to_share": False},
                after={"consent_to_share": True},
            )
    total_w = len(replays)
    for n in range(total_w):
        row, spec, r = replays[n]
        replays[n] = None
        spec.navigator_id = users[row.v["navigator"]].id
        if r is None:
            r = bulk.replay(spec, today)
        r.journey["navigator_id"] = spec.navigator_id
        if row.line in wanted_programme:
            partner, prog_name = wanted_programme[row.line]
            prog_id = programmes[partners[partner.lower()].id][prog_name.lower()].id
            for o in r.onwards:
                o["programme_id"] = prog_id
        writer.add_journey(spec, r)
        if progress is not None and n % tick == 0:
            progress("Writing", n, total_w)
    writer.flush()
    report = ImportReport(
        clients_created=len(new_clients),
        journeys_created=len(replays),
        onward_created=onward,
        written=True,
        seconds=time.perf_counter() - started,
        **base,
    )
    writer.event(
        "import",
        "import",
        None,
        after={
            "file": name,
            "rows": total,
            "clients_created": report.clients_created,
            "journeys_created": report.journeys_created,
            "onward_created": report.onward_created,
            "users_created": list(report.users_created),
            "partners_created": list(report.partners_created),
            "programmes_created": list(report.programmes_created),
            "skipped_existing": skipped,
            "duplicates": len(duplicates),
        },
    )
    writer.flush()
    if progress is not None:
        progress("Writing", total_w, total_w)
    return report


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _duplicates(s: Session, people: dict[str, _Person]) -> list[tuple[int, str, str]]:
    """New people who look like someone already in the store or elsewhere in the file."""
    out: list[tuple[int, str, str]] = []
    new = [p for p in people.values() if p.existing is None and p.spec is not None]
    by_key: dict[tuple, list[_Person]] = defaultdict(list)
    by_nhs: dict[str, list[_Person]] = defaultdict(list)
    for p in new:
        by_key[(fold_name(p.spec.last_name), fold_name(p.spec.first_name), p.spec.date_of_birth)].append(p)
        if p.spec.nhs_number:
            by_nhs[p.spec.nhs_number].append(p)
    # against the store
    store_by_key: dict[tuple, list[str]] = defaultdict(list)
    keys = list(by_key)
    for chunk in _chunks(keys, 300):
        for ref, last, first, dob in s.exec(
            select(Client.client_ref, Client.last_name_key, Client.first_name_key, Client.date_of_birth).where(
                tuple_(Client.last_name_key, Client.first_name_key, Client.date_of_birth).in_(chunk)
            )
        ).all():
            store_by_key[(last, first, dob)].append(ref)
    store_by_nhs: dict[str, list[str]] = defaultdict(list)
    for chunk in _chunks(list(by_nhs), 500):
        for ref, nhs in s.exec(select(Client.client_ref, Client.nhs_number).where(Client.nhs_number.in_(chunk))).all():
            store_by_nhs[nhs].append(ref)
    for key, group in by_key.items():
        for p in group:
            line = p.rows[0].line
            for ref in store_by_key.get(key, ()):
                out.append((line, p.ref, f"Same name and date of birth as {ref}, already in the store."))
            for other in group:
                if other is not p and other.rows[0].line < line:
                    out.append(
                        (line, p.ref, f"Same name and date of birth as {other.ref} (line {other.rows[0].line}).")
                    )
    for nhs, group in by_nhs.items():
        for p in group:
            line = p.rows[0].line
            for ref in store_by_nhs.get(nhs, ()):
                out.append((line, p.ref, f"Same NHS number as {ref}, already in the store."))
            for other in group:
                if other is not p and other.rows[0].line < line:
                    out.append((line, p.ref, f"Same NHS number as {other.ref} (line {other.rows[0].line})."))
    out.sort()
    return out
