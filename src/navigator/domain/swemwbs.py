"""SWEMWBS scoring (docs/swemwbs.md). The app ships the scoring, not the wording."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from navigator.domain.errors import DomainError

ITEMS = 7
RESPONSE_LABELS = {
    1: "None of the time",
    2: "Rarely",
    3: "Some of the time",
    4: "Often",
    5: "All of the time",
}

# Raw total -> metric score (Rasch conversion, as published alongside the scale).
METRIC: dict[int, Decimal] = {
    raw: Decimal(value)
    for raw, value in {
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
    }.items()
}

DEFAULT_MEANINGFUL_CHANGE = Decimal("3")


def validate_items(items: Sequence[int | None]) -> tuple[int, ...]:
    """All seven items must be answered, each 1-5."""
    if len(items) != ITEMS or any(i is None for i in items):
        raise DomainError("SWEMWBS counts only when all 7 statements are answered.", field="items")
    out = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, int) or isinstance(item, bool) or not 1 <= item <= 5:
            raise DomainError(f"Statement {n}: answer 1 to 5.", field=f"item{n}")
        out.append(item)
    return tuple(out)


def metric_for_raw(raw: int) -> Decimal:
    if raw not in METRIC:
        raise DomainError("A SWEMWBS raw total is between 7 and 35.", field="raw")
    return METRIC[raw]


def score(items: Sequence[int | None]) -> tuple[int, Decimal]:
    """(raw total, metric score) for seven answered items."""
    valid = validate_items(items)
    raw = sum(valid)
    return raw, METRIC[raw]


def change_label(start: Decimal, end: Decimal, threshold: Decimal = DEFAULT_MEANINGFUL_CHANGE) -> str:
    diff = end - start
    if diff >= threshold:
        return "meaningful improvement"
    if diff <= -threshold:
        return "meaningful deterioration"
    if diff >= 0:
        return "maintained or improved"
    return "declined"


ONS4_QUESTIONS = (
    "Life satisfaction",
    "Worthwhile",
    "Happiness yesterday",
    "Anxiety yesterday",
)


def validate_ons4(items: Sequence[int | None]) -> tuple[int, ...]:
    if len(items) != 4 or any(i is None for i in items):
        raise DomainError("ONS4 needs all four answers.", field="items")
    for n, item in enumerate(items, start=1):
        if not isinstance(item, int) or not 0 <= item <= 10:
            raise DomainError(f"{ONS4_QUESTIONS[n - 1]}: answer 0 to 10.", field=f"item{n}")
    return tuple(int(i) for i in items)  # type: ignore[arg-type]
