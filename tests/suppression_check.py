"""An independent, exact check that a published return's suppression cannot be undone.

``check_file(path)`` reads a publication (monthly_return, onward_by_partner,
measure_definition, meta) and, for every count measure, builds the groups that
add up: localities within their lot, lots within the service, and for
onward_referrals_made / onward_referrals_completed the programmes of
onward_by_partner (made / completed) within the service's figure. Each cell gets
the set of values a reader could believe it has (exact sets, not intervals):

- a shown count: its value; or, when rounded to K, every v >= 0 that rounds to
  it, less 1..N-1 (a shown count was not small);
- a blanked count: 1..N-1 if it was a primary blank and at least N otherwise
  (the strong reader, who knows which blanks are primary: pass ``exact``); or,
  from the file alone, at least 1 (zero is never blanked).

The groups form a tree rooted at the service's cell, so the values each blank
can take given everything published are found exactly by two passes over the
tree with sets of integers (Python ints as bitsets): up (what each subtree's
total can be) and down (what the rest of the tree allows). A blank with fewer
than two possible values is disclosed. This is a different method from the
interval propagation in services/returns/suppression.py.

Means and percentages are not checked here (blanked over fewer than N cases;
their recovery through weighted averages is outside these groups).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

LINKED = {"onward_referrals_made": "made", "onward_referrals_completed": "completed"}


def _bits(lo: int, hi: int) -> int:
    return 0 if hi < lo else ((1 << (hi - lo + 1)) - 1) << lo


def _values(b: int) -> list[int]:
    out, i = [], 0
    while b:
        if b & 1:
            out.append(i)
        b >>= 1
        i += 1
    return out


@dataclass
class Node:
    name: tuple
    shown: int | None  # the published value (None: blank)
    exact: int | None = None
    groups: list[list[Node]] = field(default_factory=list)


class Checker:
    def __init__(self, n: int, k: int, cap: int, strong: bool) -> None:
        self.n, self.k, self.cap, self.strong = n, k, cap, strong
        self.mask = (1 << (cap + 1)) - 1

    def domain(self, node: Node) -> int:
        n, k = self.n, self.k
        if node.shown is not None:
            v = node.shown
            if k > 1:
                lo, hi = max(0, v - k // 2), v + (k + 1) // 2 - 1
                d = _bits(lo, hi)
            else:
                d = 1 << v
            if n > 1:
                d &= ~_bits(1, n - 1)
            return d & self.mask
        if self.strong and node.exact is not None:
            if 1 <= node.exact <= n - 1:
                return _bits(1, n - 1)
            return _bits(n, self.cap)
        return _bits(1, self.cap)

    def sumset(self, sets: list[int]) -> int:
        acc = 1  # {0}
        for s in sets:
            out = 0
            for a in _values(acc):
                out |= s << a
            acc = out & self.mask
        return acc

    def down(self, node: Node, memo: dict) -> int:
        d = self.domain(node)
        for g in node.groups:
            d &= self.sumset([self.down(m, memo) for m in g])
        memo[id(node)] = d
        return d

    def possible(self, root: Node) -> dict[tuple, list[int]]:
        """Every node's possible values given everything published."""
        memo: dict = {}
        self.down(root, memo)
        out: dict[tuple, list[int]] = {}

        def visit(node: Node, outside: int) -> None:
            out[node.name] = _values(outside & memo[id(node)])
            for gi, g in enumerate(node.groups):
                parent = outside & self.domain(node)
                for gj, other in enumerate(node.groups):
                    if gj != gi:
                        parent &= self.sumset([memo[id(m)] for m in other])
                for i, m in enumerate(g):
                    siblings = self.sumset([memo[id(x)] for j, x in enumerate(g) if j != i])
                    allowed = 0
                    for s in _values(siblings):
                        allowed |= parent >> s
                    visit(m, allowed & self.mask)

        visit(root, self.mask)
        return out


def _trees(conn: sqlite3.Connection, exact: dict | None):
    kinds = dict(conn.execute("SELECT measure, kind FROM measure_definition"))
    rows = conn.execute("SELECT lot, locality, measure, value, suppressed FROM monthly_return").fetchall()
    partners = conn.execute("SELECT partner, programme, made, started, completed, withdrew FROM onward_by_partner")
    partners = partners.fetchall()
    exact = exact or {}

    def node(name, value, suppressed):
        shown = None if suppressed or value is None else round(value)
        return Node(name, shown, exact.get(name))

    by_measure: dict[str, list] = {}
    for lot, locality, measure, value, suppressed in rows:
        if kinds[measure] == "count":
            by_measure.setdefault(measure, []).append((lot, locality, value, suppressed))
    trees = []
    for measure, cells in by_measure.items():
        root = None
        lots: dict[str, Node] = {}
        locs: dict[str, list[Node]] = {}
        for lot, locality, value, suppressed in cells:
            x = node((measure, lot, locality), value, suppressed)
            if lot == "ALL":
                root = x
            elif locality == "ALL":
                lots[lot] = x
            else:
                locs.setdefault(lot, []).append(x)
        for lot, members in locs.items():
            lots[lot].groups.append(members)
        root.groups.append(list(lots.values()))
        if measure in LINKED:
            col = ("made", "started", "completed", "withdrew").index(LINKED[measure]) + 2
            members = [
                node(("onward_by_partner", p[0], p[1], LINKED[measure]), p[col], p[col] is None) for p in partners
            ]
            if members:
                root.groups.append(members)
        trees.append(root)
    for col, name in ((3, "started"), (5, "withdrew")):  # no published total
        members = [node(("onward_by_partner", p[0], p[1], name), p[col], p[col] is None) for p in partners]
        trees.append(Node(("no total", name), None, None, [members] if members else []))
    return trees


def check_file(path: Path, exact: dict | None = None) -> list[tuple[tuple, list[int]]]:
    """The blanked cells a reader can narrow to one value (empty: suppression holds).

    ``exact``: {cell name: exact value} for the strong reader who knows which blanks are primary.
    """
    conn = sqlite3.connect(path)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        n = int(meta.get("suppress_under") or 0)
        k = int(meta.get("round_to") or 0)
        if n <= 1:
            return []
        trees = _trees(conn, exact)
        top = conn.execute("SELECT MAX(value) FROM monthly_return").fetchone()[0] or 0
        top = max([int(top), *(v for v in (exact or {}).values() if v is not None)])
    finally:
        conn.close()
    strong = exact is not None and n >= 3
    checker = Checker(n, k, cap=2 * top + 2 * n + 2 * k + 10, strong=strong)
    disclosed = []
    for root in trees:
        if root.name[0] == "no total":  # free cells: only their own domain
            for m in root.groups[0] if root.groups else []:
                if m.shown is None:
                    vals = _values(checker.domain(m))
                    if len(vals) < 2:
                        disclosed.append((m.name, vals))
            continue
        possible = checker.possible(root)
        blanks = [root]
        stack = [root]
        while stack:
            x = stack.pop()
            for g in x.groups:
                stack += g
                blanks += g
        for x in blanks:
            if x.shown is None and len(possible[x.name]) < 2:
                disclosed.append((x.name, possible[x.name]))
    return disclosed


def exact_cells(computed_rows, partner_rows) -> dict:
    """{cell name: exact value} from a return computed without suppression (names as check_file's)."""
    out = {}
    for r in computed_rows:
        if r.kind == "count":
            out[(r.measure, r.lot, r.locality)] = int(r.exact)
    for p in partner_rows:
        for col in ("made", "started", "completed", "withdrew"):
            out[("onward_by_partner", p.partner, p.programme, col)] = getattr(p, col)
    return out
