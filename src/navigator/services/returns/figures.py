"""The monthly return: measures defined once, in SQL, over pseudonymised record-level tables.

docs/monthly-return.md (version 2) is the contract. This module gathers
the return's parts for callers (the preview screen, the CLI, the export):

- ``definitions``: db/measures/*.sql (one measure a file) and months;
- ``records``: the record-level tables of a month, in a private SQLite database;
- ``compute``: the figures (``preview``, ``compute_for``);
- ``suppression``: small-number suppression that cannot be undone;
- ``sent``: returns recorded as sent, and drift;
- ``export``: the two products (the publication, the record-level analysis file).
"""

from __future__ import annotations

from navigator.domain.referral import AGE_BANDS, age_band
from navigator.services.returns.compute import compute, compute_for, exact_value, preview
from navigator.services.returns.definitions import (
    DEFINITIONS_VERSION,
    Definitions,
    MeasureDef,
    definitions,
    iter_measure_sql,
    measures_dir,
    month_bounds,
    month_of,
    parse_month,
    previous_month,
    same_month_last_year,
)
from navigator.services.returns.records import (
    Pseudonymiser,
    RecordSet,
    build_record_tables,
    create_schema,
    install_measures,
    pseudonym,
)
from navigator.services.returns.results import (
    ALL,
    Computed,
    MonthlyReturn,
    PartnerRow,
    Progress,
    ReturnOptions,
    ReturnRow,
    format_value,
)
from navigator.services.returns.sent import (
    Drift,
    FigureDrift,
    JourneyEdit,
    MovedJourney,
    SentReturnInfo,
    drift,
    latest_sent,
    moved_figures,
    record_sent,
    sent_returns,
)
from navigator.services.returns.suppression import apply_suppression, round_to

__all__ = [
    "AGE_BANDS",
    "ALL",
    "DEFINITIONS_VERSION",
    "Computed",
    "Definitions",
    "Drift",
    "FigureDrift",
    "JourneyEdit",
    "MeasureDef",
    "MonthlyReturn",
    "MovedJourney",
    "PartnerRow",
    "Progress",
    "Pseudonymiser",
    "RecordSet",
    "ReturnOptions",
    "ReturnRow",
    "SentReturnInfo",
    "age_band",
    "apply_suppression",
    "build_record_tables",
    "compute",
    "compute_for",
    "create_schema",
    "definitions",
    "drift",
    "exact_value",
    "format_value",
    "install_measures",
    "iter_measure_sql",
    "latest_sent",
    "measures_dir",
    "month_bounds",
    "month_of",
    "moved_figures",
    "parse_month",
    "preview",
    "previous_month",
    "pseudonym",
    "record_sent",
    "round_to",
    "same_month_last_year",
    "sent_returns",
]
