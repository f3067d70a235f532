"""Rounding a ratio half away from zero, exactly (in integers, no float), once for every figure.

The monthly return defines a mean or a percentage as ``ROUND_HALF_AWAY_FROM_ZERO(multiplier * total /
cases) / 10^decimals`` (``db/measures/``, each measure's header giving its multiplier and decimals); the
team view's averages and rates are rounded the same way.
"""

from __future__ import annotations

from decimal import Decimal


def round_half_away(total: int, cases: int, decimals: int = 1, multiplier: int | None = None) -> Decimal:
    """``multiplier * total / cases`` rounded half away from zero to a whole number, then divided by
    ``10**decimals``; without a multiplier (``10**decimals``), ``total / cases`` to ``decimals`` places.
    ``cases`` must be positive."""
    scaled = total * (10**decimals if multiplier is None else multiplier)
    q = (2 * abs(scaled) + cases) // (2 * cases)
    return Decimal(-q if scaled < 0 else q).scaleb(-decimals)
