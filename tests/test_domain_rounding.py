"""The one rounding of a ratio (domain/rounding.py) and the one name of a month (dates.month_key), shared by
the monthly return and the team view."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from navigator.domain.dates import month_key
from navigator.domain.rounding import round_half_away


@pytest.mark.parametrize(
    "total,cases,decimals,multiplier,expected",
    [
        (1, 2, 0, None, "1"),  # a half goes up
        (-1, 2, 0, None, "-1"),  # and away from zero below it
        (5, 4, 1, None, "1.3"),  # 1.25
        (-5, 4, 1, None, "-1.3"),
        (1, 3, 1, None, "0.3"),
        (2, 3, 1, 1000, "66.7"),  # a percentage to one place, as the return's headers say
        (1, 8, 1, 1000, "12.5"),
        (7, 3, 2, 1, "0.02"),  # the multiplier is in the return's units (10^-decimals), not a scale
        (0, 5, 1, None, "0.0"),
    ],
)
def test_round_half_away(total, cases, decimals, multiplier, expected):
    assert round_half_away(total, cases, decimals, multiplier) == Decimal(expected)
    assert str(round_half_away(total, cases, decimals, multiplier)) == expected


@given(
    st.integers(-(10**9), 10**9), st.integers(1, 10**6), st.integers(0, 3), st.sampled_from([None, 1, 10, 100, 1000])
)
def test_round_half_away_is_the_exact_ratio_rounded_half_up_in_magnitude(total, cases, decimals, multiplier):
    m = 10**decimals if multiplier is None else multiplier
    exact = Fraction(total * m, cases)
    units = Decimal(exact.numerator) / Decimal(exact.denominator)
    expected = units.quantize(Decimal(1), rounding=ROUND_HALF_UP).scaleb(-decimals)  # HALF_UP is away from 0
    # (Decimal division is exact enough here: 28 digits against at most 13 in the ratio's integer part)
    assert round_half_away(total, cases, decimals, multiplier) == expected


@pytest.mark.parametrize(
    "d,key", [(date(2026, 1, 1), "2026-01"), (date(2026, 12, 31), "2026-12"), (date(999, 5, 9), "0999-05")]
)
def test_month_key(d, key):
    assert month_key(d) == key
