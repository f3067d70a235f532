"""Small-number suppression that cannot be undone from the published figures.

The rules (docs/monthly-return.md, "Small-number suppression"):

- primary: every count 1 <= v < N is blanked, and every mean or percentage over
  1..N-1 cases; zero is never blanked;
- secondary: whatever further counts it takes, fewest first and next-smallest
  first, so that no blanked count can be narrowed to a single value from what is
  published: the group's total, its other cells, the rounding of shown cells, and
  what the rule itself tells a reader: a shown count is 0 or at least N (counts
  1..N-1 are all blanked) and a blank is at least 1 (zero is never blanked). The
  file does not say which blanks are primary, so a primary blank's 1..N-1 is,
  to its reader, "at least 1". (A reader who knew which blanks are primary could
  sometimes do better, e.g. a lot of two localities with 1 each and all three
  blank; nothing published can prevent that, so it is not the test.)
- a mean whose cases are a published count (``MEAN_CASES``) is blanked where that
  count is;
- ``--round-to K``: every shown count rounded to the nearest K (halves up).

The groups that add up: localities within their lot, lots within the service
(per count measure), and the programmes of ``onward_by_partner`` within the
service's ``onward_referrals_made`` / ``onward_referrals_completed`` (``made`` and
``completed`` add up to those); ``started`` and ``withdrew`` have no published
total.

How it is proved here: each group is a sum constraint ``total = sum(members)``
over cells with a known range (a shown cell: its value or its rounding interval;
a blank: as above). Ranges are narrowed by propagation over every group until
nothing changes (the groups form a tree, so the ranges reached are the exact
ranges the published figures allow); a blank whose range is one value is
exposed. While one is, the smallest non-zero shown cell of a group it belongs
to that makes it safe is blanked too (else the smallest of them).
tests/suppression_check.py proves the result with an independent exact method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from navigator.services.returns.results import ALL, PartnerRow, ReturnOptions, ReturnRow

INF = None  # no upper bound
LINKED = {"made": "onward_referrals_made", "completed": "onward_referrals_completed"}
# Means whose cases are a published count: where that count is blanked, so is the mean (else the lot's
# mean times its count, less the other localities' means times theirs, gives the blanked one's total).
MEAN_CASES = {
    "mean_wait_working_days": "starts",
    "swemwbs_maintained_or_improved_pct": "swemwbs_paired",
    "swemwbs_mean_change": "swemwbs_paired",
}
PARTNER_COLUMNS = ("made", "started", "completed", "withdrew")


def round_to(v: int, k: int) -> int:
    """The nearest multiple of k, halves up (v >= 0)."""
    return ((2 * v + k) // (2 * k)) * k


def rounding_range(r: int, k: int) -> tuple[int, int]:
    """Every v >= 0 with round_to(v, k) == r."""
    return max(0, r - k // 2), r + (k + 1) // 2 - 1


@dataclass
class CellSystem:
    """Count cells and the groups that add up (total cell index or None, member indexes)."""

    exact: list[int]
    groups: list[tuple[int | None, list[int]]]

    def bounds(
        self, blank: set[int], primary: set[int], n: int, k: int, *, strong: bool = False
    ) -> list[tuple[int, int | None]]:
        """Each cell's range given what is published (propagated over the groups until stable).

        ``strong``: the reader also knows which blanks are primary (1..N-1; others at least N).
        """
        lo: list[int] = []
        hi: list[int | None] = []
        for i, v in enumerate(self.exact):
            if i in blank:
                if not strong or n < 3:
                    a, b = 1, INF
                elif i in primary:
                    a, b = 1, n - 1
                else:
                    a, b = n, INF
            elif k > 1:
                a, b = rounding_range(round_to(v, k), k)
                if n > 1:  # a shown count is 0 or at least n
                    if 1 <= a <= n - 1:
                        a = n
                    if b < n:
                        b = 0
            else:
                a, b = v, v
            lo.append(a)
            hi.append(b)
        changed = True
        while changed:
            changed = False
            for total, members in self.groups:
                if total is None:
                    continue
                s_lo = sum(lo[m] for m in members)
                unbounded = sum(1 for m in members if hi[m] is None)
                finite = sum(h for m in members if (h := hi[m]) is not None)
                # the total lies within the members' sum range
                if lo[total] < s_lo:
                    lo[total], changed = s_lo, True
                hi_total = hi[total]
                if not unbounded and (hi_total is None or hi_total > finite):
                    hi[total], changed = finite, True
                # each member: the total less the others (hi_total, hi_m: the current bounds, named
                # so the type checker sees them checked for None)
                for m in members:
                    hi_total, hi_m = hi[total], hi[m]
                    if hi_total is not None:
                        new_hi = hi_total - (s_lo - lo[m])
                        if hi_m is None or new_hi < hi_m:
                            hi[m], changed = new_hi, True
                    hi_m = hi[m]
                    if hi_m is None:
                        others_hi = finite if unbounded == 1 else None
                    else:
                        others_hi = None if unbounded else finite - hi_m
                    if others_hi is not None and lo[total] - others_hi > lo[m]:
                        lo[m], changed = lo[total] - others_hi, True
                    if hi_m is not None and hi_m < lo[m]:
                        raise ValueError("inconsistent published figures")  # the truth always fits
        return list(zip(lo, hi))

    def exposed(self, blank: set[int], primary: set[int], n: int, k: int) -> list[int]:
        b = self.bounds(blank, primary, n, k)
        return sorted((i for i in blank if b[i][0] == b[i][1]), key=lambda i: (self.exact[i], i))

    def suppress(self, primary: set[int], n: int, k: int) -> set[int]:
        """primary blanks plus the fewest secondary ones (next-smallest first) that leave no blank exposed.

        Each round looks for one further cell, then a pair, that leaves nothing exposed (candidates in
        order of value); failing that, it blanks the smallest cell beside the smallest exposed blank
        and goes round again.
        """
        blank = set(primary)
        hopeless: set[int] = set()
        while True:
            exposed = [i for i in self.exposed(blank, primary, n, k) if i not in hopeless]
            if not exposed:
                return blank
            cands = sorted(
                (c for c in range(len(self.exact)) if c not in blank and self.exact[c] > 0),
                key=lambda c: (self.exact[c], c),
            )
            fix = self._fix(blank, primary, n, k, cands, hopeless)
            if fix:
                blank |= fix
                continue
            x = exposed[0]
            near = [c for c in cands if any(x in g and c in g for g in self._cells)]
            if not near:
                hopeless.add(x)  # nothing shown around it is non-zero: nothing to blank (the checker says so)
                continue
            blank.add(near[0])

    @property
    def _cells(self) -> list[set[int]]:
        return [set(members) | ({total} if total is not None else set()) for total, members in self.groups]

    def _fix(self, blank, primary, n, k, cands, hopeless) -> set[int] | None:
        def ok(extra: set[int]) -> bool:
            return not [i for i in self.exposed(blank | extra, primary, n, k) if i not in hopeless]

        for c in cands:
            if ok({c}):
                return {c}
        pairs = sorted(
            ((a, b) for i, a in enumerate(cands) for b in cands[i + 1 :]),
            key=lambda p: (self.exact[p[0]] + self.exact[p[1]], p),
        )
        for a, b in pairs[:400]:
            if ok({a, b}):
                return {a, b}
        return None


def primary_blanks(values: Sequence[int], n: int) -> set[int]:
    return {i for i, v in enumerate(values) if n > 1 and 1 <= v < n}


def apply_suppression(
    rows: Sequence[ReturnRow], partners: Sequence[PartnerRow], options: ReturnOptions
) -> tuple[list[ReturnRow], list[PartnerRow]]:
    """The published monthly_return and onward_by_partner rows (unchanged without options)."""
    rows, partners = list(rows), list(partners)
    n = options.suppress_under or 0
    k = options.round_to or 0
    if n <= 1 and k <= 1:
        return rows, partners
    blank_rows: set[int] = set()
    blank_partner: set[tuple[int, str]] = set()
    if n > 1:
        for i, r in enumerate(rows):
            if r.kind != "count" and 1 <= r.cases < n:
                blank_rows.add(i)
        by_measure: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            if r.kind == "count":
                by_measure.setdefault(r.measure, []).append(i)
        linked = {m: c for c, m in LINKED.items()}
        for measure, idx in by_measure.items():
            system, where = _system(rows, idx, partners, linked.get(measure))
            primary = primary_blanks(system.exact, n)
            for cell in system.suppress(primary, n, k):
                kind, ref = where[cell]
                if kind == "row":
                    blank_rows.add(ref)
                else:
                    blank_partner.add(ref)
        blanked_counts = {(rows[i].measure, rows[i].lot, rows[i].locality) for i in blank_rows}
        for i, r in enumerate(rows):
            twin = MEAN_CASES.get(r.measure)
            if twin and r.cases and (twin, r.lot, r.locality) in blanked_counts:
                blank_rows.add(i)
        for col in PARTNER_COLUMNS:
            if col in LINKED:
                continue
            values = [getattr(p, col) or 0 for p in partners]
            system = CellSystem(values, [(None, list(range(len(values))))])
            blank_partner |= {(i, col) for i in system.suppress(primary_blanks(values, n), n, k)}
    out_rows = []
    for i, r in enumerate(rows):
        if i in blank_rows:
            out_rows.append(replace(r, value=None, suppressed=True))
        elif r.kind == "count" and k > 1 and r.exact is not None:
            out_rows.append(replace(r, value=Decimal(round_to(int(r.exact), k))))
        else:
            out_rows.append(r)
    out_partners = []
    for i, p in enumerate(partners):
        changes: dict[str, Any] = {}
        for col in PARTNER_COLUMNS:
            v = getattr(p, col)
            if (i, col) in blank_partner:
                changes[col] = None
            elif k > 1 and v is not None:
                changes[col] = round_to(v, k)
        out_partners.append(replace(p, **changes))
    return out_rows, out_partners


def _system(rows: list[ReturnRow], idx: list[int], partners: list[PartnerRow], column: str | None):
    """One count measure's cells: service, lots, localities (and the linked partner column)."""
    exact: list[int] = []
    where: list[tuple[str, object]] = []
    service = None
    lots: dict[str, int] = {}
    localities: dict[str, list[int]] = {}
    for i in idx:
        r = rows[i]
        cell = len(exact)
        exact.append(int(r.exact or 0))
        where.append(("row", i))
        if r.lot == ALL:
            service = cell
        elif r.locality == ALL:
            lots[r.lot] = cell
        else:
            localities.setdefault(r.lot, []).append(cell)
    groups: list[tuple[int | None, list[int]]] = []
    if service is not None and lots:
        groups.append((service, list(lots.values())))
    for lot, members in localities.items():
        if lot in lots:
            groups.append((lots[lot], members))
    if column is not None and partners:
        members = []
        for pi, p in enumerate(partners):
            members.append(len(exact))
            exact.append(int(getattr(p, column) or 0))
            where.append(("partner", (pi, column)))
        groups.append((service, members))
    return CellSystem(exact, groups), where
