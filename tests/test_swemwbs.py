"""SWEMWBS scoring (domain/swemwbs.py against docs/swemwbs.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from navigator.domain import swemwbs as S
from navigator.domain.errors import DomainError

# The published table, copied from the spec (not from the code under test).
SPEC_TABLE = {
    7: "7.00",
    8: "9.51",
    9: "11.25",
    10: "12.40",
    11: "13.33",
    12: "14.08",
    13: "14.75",
    14: "15.32",
    15: "15.84",
    16: "16.36",
    17: "16.88",
    18: "17.43",
    19: "17.98",
    20: "18.59",
    21: "19.25",
    22: "19.98",
    23: "20.73",
    24: "21.54",
    25: "22.35",
    26: "23.21",
    27: "24.11",
    28: "25.03",
    29: "26.02",
    30: "27.03",
    31: "28.13",
    32: "29.31",
    33: "30.70",
    34: "32.55",
    35: "35.00",
}


@pytest.mark.parametrize(
    "raw,metric", [(7, "7.00"), (21, "19.25"), (35, "35.00"), (8, "9.51"), (30, "27.03"), (33, "30.70"), (34, "32.55")]
)
def test_spot_checks(raw, metric):
    assert S.metric_for_raw(raw) == Decimal(metric)
    assert str(S.metric_for_raw(raw)) == metric  # exact two-decimal value


def test_whole_table_matches_spec():
    assert {raw: str(v) for raw, v in S.METRIC.items()} == SPEC_TABLE
    assert all(isinstance(v, Decimal) for v in S.METRIC.values())
    values = [S.METRIC[r] for r in range(7, 36)]
    assert values == sorted(values) and len(set(values)) == 29  # strictly increasing


def test_score_sums_items_and_converts():
    assert S.score([1] * 7) == (7, Decimal("7.00"))
    assert S.score([5] * 7) == (35, Decimal("35.00"))
    assert S.score([3, 3, 3, 3, 3, 3, 3]) == (21, Decimal("19.25"))
    assert S.score([1, 2, 3, 4, 5, 4, 3]) == (22, Decimal("19.98"))
    assert S.score((4, 4, 4, 4, 4, 4, 4)) == (28, Decimal("25.03"))


@pytest.mark.parametrize("items", [[], [3] * 6, [3] * 8, [3, 3, 3, None, 3, 3, 3]])
def test_all_seven_needed(items):
    with pytest.raises(DomainError) as info:
        S.score(items)
    assert "all 7" in info.value.message


@pytest.mark.parametrize(
    "bad,pos",
    [
        ([0, 3, 3, 3, 3, 3, 3], 1),
        ([3, 3, 3, 3, 3, 3, 6], 7),
        ([3, 3, -1, 3, 3, 3, 3], 3),
        ([3, 3, 3, 2.5, 3, 3, 3], 4),
        ([3, "3", 3, 3, 3, 3, 3], 2),
        ([3, 3, 3, 3, True, 3, 3], 5),
    ],
)
def test_items_are_1_to_5(bad, pos):
    with pytest.raises(DomainError) as info:
        S.validate_items(bad)
    assert info.value.field == f"item{pos}"
    assert f"Statement {pos}" in info.value.message and "1 to 5" in info.value.message


@pytest.mark.parametrize("raw", [6, 36, 0, -7])
def test_raw_outside_table(raw):
    with pytest.raises(DomainError):
        S.metric_for_raw(raw)


def test_change_labels_exact_decimal():
    start = S.metric_for_raw(21)  # 19.25
    assert S.change_label(start, S.metric_for_raw(21)) == "maintained or improved"
    assert S.change_label(start, S.metric_for_raw(22)) == "maintained or improved"  # +0.73
    assert S.change_label(start, S.metric_for_raw(20)) == "declined"
    assert S.change_label(start, S.metric_for_raw(25)) == "meaningful improvement"  # +3.10
    assert S.change_label(start, S.metric_for_raw(17)) == "declined"  # -2.37
    assert S.change_label(start, S.metric_for_raw(15)) == "meaningful deterioration"  # -3.41
    # exactly the threshold counts as meaningful (decimal, no float fuzz)
    assert S.change_label(Decimal("19.25"), Decimal("22.25")) == "meaningful improvement"
    assert S.change_label(Decimal("19.25"), Decimal("16.25")) == "meaningful deterioration"
    assert S.change_label(Decimal("19.25"), Decimal("22.24")) == "maintained or improved"
    assert S.change_label(start, S.metric_for_raw(22), threshold=Decimal("0.5")) == "meaningful improvement"


def test_ons4():
    assert S.validate_ons4([0, 10, 5, 7]) == (0, 10, 5, 7)
    with pytest.raises(DomainError):
        S.validate_ons4([0, 10, 5])
    with pytest.raises(DomainError):
        S.validate_ons4([0, 11, 5, 7])
    with pytest.raises(DomainError):
        S.validate_ons4([0, None, 5, 7])
