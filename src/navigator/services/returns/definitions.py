"""The return's definitions (db/measures/*.sql, one measure a file) and its months.

docs/monthly-return.md is the contract. Each measure is a view over the
record-level tables ``referrals`` and ``onward_referrals`` (db/measures/00_schema.sql);
its header says its kind (count, or mean: means and percentages), decimals and
multiplier, and its one-line definition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from navigator.domain.dates import add_months, month_end
from navigator.domain.dates import month_key as month_of
from navigator.domain.errors import DomainError, StoreError
from navigator.store.paths import db_dir

DEFINITIONS_VERSION = "2"


@dataclass(frozen=True)
class MeasureDef:
    position: int
    measure: str
    kind: str  # 'count' or 'mean' (means and percentages)
    decimals: int
    multiplier: int
    definition: str
    view: str
    sql: str

    @property
    def scale(self) -> int:
        return 10**self.decimals

    @property
    def is_count(self) -> bool:
        return self.kind == "count"


@dataclass(frozen=True)
class Definitions:
    schema: str
    base: tuple[tuple[str, str], ...]  # (view, sql)
    measures: tuple[MeasureDef, ...]
    rollups: tuple[tuple[str, str], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.measure for m in self.measures)

    def get(self, measure: str) -> MeasureDef:
        for m in self.measures:
            if m.measure == measure:
                return m
        raise KeyError(measure)

    def cases_view_sql(self) -> str:
        """The union of every measure's cases: (measure, journey_key, lot, locality, x)."""
        parts = [f"SELECT '{m.measure}' AS measure, journey_key, lot, locality, x FROM {m.view}" for m in self.measures]
        return (
            "-- view: measure_cases\n-- One row per case of each measure (generated from the measure views).\n"
            "CREATE VIEW measure_cases AS\n" + "\nUNION ALL\n".join(parts) + ";\n"
        )


_HEADER = re.compile(r"^--\s*([a-z_]+):\s*(.*?)\s*$")


def _header(sql: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in sql.splitlines():
        if not line.startswith("--"):
            if line.strip():
                break
            continue
        m = _HEADER.match(line)
        if m and m.group(1) not in out:
            out[m.group(1)] = m.group(2)
    return out


def measures_dir() -> Path:
    return db_dir() / "measures"


@lru_cache(maxsize=4)
def _load(folder: str) -> Definitions:
    path = Path(folder)
    files = sorted(path.glob("*.sql"))
    if not files:
        raise StoreError(f"The return's definitions are missing ({path}); reinstall navigator.")
    schema, base, rollups = [], [], []
    measures: list[MeasureDef] = []
    for f in files:
        sql = f.read_text(encoding="utf-8")
        head = _header(sql)
        if "measure" in head:
            name = head["measure"]
            measures.append(
                MeasureDef(
                    position=len(measures) + 1,
                    measure=name,
                    kind=head.get("kind", "count"),
                    decimals=int(head.get("decimals", "0")),
                    multiplier=int(head.get("multiplier", "1")),
                    definition=head.get("definition", ""),
                    view=f"measure_{name}",
                    sql=sql,
                )
            )
        elif head.get("part") == "schema":
            schema.append(sql)
        elif head.get("part") == "rollup":
            rollups.append((head.get("view", f.stem), sql))
        else:
            base.append((head.get("view", f.stem), sql))
    return Definitions("\n".join(schema), tuple(base), tuple(measures), tuple(rollups))


def definitions() -> Definitions:
    return _load(str(measures_dir()))


def iter_measure_sql() -> Iterable[tuple[str, str]]:
    """(view name, SQL) of every definition shipped in the record-level file, in creation order."""
    defs = definitions()
    yield from defs.base
    for m in defs.measures:
        yield m.view, m.sql
    yield "measure_cases", defs.cases_view_sql()
    yield from defs.rollups


# ---------------------------------------------------------------- months

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str | None) -> str:
    """'YYYY-MM' -> 'YYYY-MM' (checked); DomainError with what to type otherwise."""
    m = _MONTH.match((text or "").strip())
    if not m or not (1 <= int(m.group(2)) <= 12) or int(m.group(1)) < 1900:
        raise DomainError(f"Give the month as YYYY-MM (for example 2026-10), not '{text}'.", field="month")
    return m.group(0)


def _first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def month_bounds(month: str) -> tuple[date, date]:
    first = _first_day(month)
    return first, month_end(first)


def previous_month(month: str) -> str:
    return month_of(add_months(_first_day(month), -1))


def same_month_last_year(month: str) -> str:
    return month_of(add_months(_first_day(month), -12))
