"""What a computed return is: options, figures (rows), partner rows, and what drift needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from navigator.domain.errors import DomainError

ALL = "ALL"
Progress = Callable[[str, int, int], None]  # (what is happening, steps done, steps in all)


@dataclass(frozen=True)
class ReturnOptions:
    suppress_under: int | None = None
    round_to: int | None = None

    def __post_init__(self) -> None:
        for name in ("suppress_under", "round_to"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise DomainError(f"--{name.replace('_', '-')} must be a whole number of 1 or more.", field=name)

    @property
    def any(self) -> bool:
        return bool(self.suppress_under and self.suppress_under > 1) or bool(self.round_to and self.round_to > 1)

    def as_dict(self) -> dict:
        return {"suppress_under": self.suppress_under, "round_to": self.round_to}

    @classmethod
    def from_dict(cls, data: dict | None) -> ReturnOptions:
        data = data or {}
        return cls(data.get("suppress_under"), data.get("round_to"))


@dataclass(frozen=True)
class ReturnRow:
    month: str
    lot: str
    locality: str
    measure: str
    value: Decimal | None  # the published figure (after suppression/rounding); None if blank
    suppressed: bool
    exact: Decimal | None  # the figure before suppression and rounding
    cases: int  # count measures: the count; means/percentages: how many cases were averaged
    kind: str = "count"
    decimals: int = 0
    place: tuple[int | None, int | None] = (None, None)  # (lot id, locality id): stable across renames

    @property
    def level(self) -> str:
        if self.lot == ALL:
            return "service"
        return "lot" if self.locality == ALL else "locality"

    @property
    def text(self) -> str:
        """The figure as people read it: '12', '3.5', '-0.25', blank for none, '*' if suppressed."""
        if self.suppressed:
            return "*"
        return format_value(self.value, self.kind, self.decimals)


def format_value(value: Decimal | None, kind: str = "count", decimals: int = 0) -> str:
    if value is None:
        return ""
    if kind == "count":
        return str(int(value))
    return str(value.quantize(Decimal(1).scaleb(-decimals)))


@dataclass(frozen=True)
class PartnerRow:
    month: str
    partner: str
    programme: str
    made: int | None
    started: int | None
    completed: int | None
    withdrew: int | None


@dataclass(frozen=True)
class MonthlyReturn:
    month: str
    options: ReturnOptions
    rows: tuple[ReturnRow, ...]
    onward_by_partner: tuple[PartnerRow, ...]
    measures: tuple[str, ...]
    lots: tuple[tuple[str, tuple[str, ...]], ...]  # (lot, its localities) in report order
    referrals: int = 0  # record-level rows behind the return
    onward_referrals: int = 0
    _index: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    def row(self, measure: str, lot: str = ALL, locality: str = ALL) -> ReturnRow:
        if not self._index:
            self._index.update({(r.measure, r.lot, r.locality): r for r in self.rows})
        try:
            return self._index[(measure, lot, locality)]
        except KeyError:
            raise KeyError(f"no figure for {measure} / {lot} / {locality}") from None

    def value(self, measure: str, lot: str = ALL, locality: str = ALL) -> Decimal | None:
        return self.row(measure, lot, locality).value

    @property
    def suppressed_count(self) -> int:
        return sum(1 for r in self.rows if r.suppressed)


@dataclass(frozen=True)
class Computed:
    """A return plus what drift needs: each measure's cases by internal journey id."""

    result: MonthlyReturn
    cases: dict[str, dict[int, int]]  # measure -> {journey id: x}
    places: dict[int, tuple[int, int]]  # journey id -> (lot id, locality id) of its referral
