"""What a journey fixes about its person at the time of the referral.

A journey carries the locality (and so the lot), the IMD decile and the age
band of its person *when it was received* (docs/monthly-return.md,
"Measures"): a later move or a corrected decile changes later journeys only.
Every measure of the monthly return reads these from the journey;
``journey.attributes_basis`` says where they came from (one of ``BASES``).
"""

from __future__ import annotations

from datetime import date

from navigator.domain.dates import age_on

# Where a journey's referral-time attributes came from.
BASIS_RECEIVED = "received"  # recorded when the referral was received (the desk, bulk loads)
BASIS_IMPORT = "import"  # the tracker import's own row for that referral
BASIS_CURRENT = "current"  # migration 0003: the person's value at the time of the upgrade, not of the referral
BASES = (BASIS_RECEIVED, BASIS_IMPORT, BASIS_CURRENT)

AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 16, "under 17"),
    (17, 24, "17-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, 74, "65-74"),
    (75, None, "75+"),
)

# The IMD grouping the return needs: starts_imd_q1_q2_pct counts deciles 1-4 (quintiles 1-2).
IMD_GROUPS = ("1-4", "5-10", "unknown")


def age_band(dob: date, on: date) -> str:
    """The age band on a date (age in whole years, as on a birthday)."""
    age = age_on(dob, on)
    for lo, hi, label in AGE_BANDS:
        if age >= lo and (hi is None or age <= hi):
            return label
    return AGE_BANDS[0][2]


def imd_group(decile: int | None) -> str:
    """'1-4' (quintiles 1-2), '5-10', or 'unknown'."""
    if decile is None:
        return "unknown"
    return "1-4" if 1 <= decile <= 4 else "5-10"
