"""navigator's benchmark: county-scale timings against the targets in the README.

    python benchmarks/run.py --clients N [--seed S] [--json FILE] [--reps R] [--cache-dir DIR]

Builds (or reuses, by N and seed) a store with the demo generator, then measures
each figure over several repetitions (median; p95 where it applies). The TUI
figures (start-up, filter keystroke, open journey, forms, quit, peak RSS) and
their floors (bare Textual apps, measured the same way in the same run) are
measured in fresh child processes, so start-up is a real cold start and peak
RSS is the app's own: benchmarks/tui_bench.py runs them, in-process through
Textual's pilot (benchmarks/tui_probe.py) and outside-in, the app in a
pseudo-terminal (benchmarks/pty_probe.py, the ``pty_*`` figures and quit).
A probe that fails records its error under ``errors``; the run goes on.
Every target is in TARGETS (by size; 2,000 clients get the 20,000 ones) and
the JSON's ``verdicts`` say which are met.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
USER = "bench"  # the store's admin (it builds the store); the probes act as the busiest navigator


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    k = 0.95 * (len(ordered) - 1)
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_store(clients: int, seed: int, today: date, cache: Path = CACHE) -> tuple[Path, float | None]:
    """The demo store for (N, seed), built once and reused."""
    from navigator.services.demo import generator as demo
    from navigator.services.setup.reference import open_ready

    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"store-n{clients}-s{seed}-{today.isoformat()}.sqlite3"
    if path.exists():
        return path, None
    tmp = path.with_suffix(".building")
    for p in cache.glob(tmp.name + "*"):
        p.unlink()
    store, ctx = open_ready(f"sqlite:///{tmp}", username=USER, today_fn=lambda: today)
    t0 = time.perf_counter()
    demo.generate(ctx, clients=clients, seed=seed)
    built = time.perf_counter() - t0
    store.dispose()
    con = sqlite3.connect(tmp)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    for suffix in (".audit-key", ".audit-checkpoint"):  # the audit log's key and checkpoint go with the store
        companion = Path(str(tmp) + suffix)
        if companion.exists():
            companion.rename(str(path) + suffix)
    tmp.rename(path)
    return path, built


def busiest_navigator(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return con.execute(
            "SELECT u.username FROM journey j JOIN user u ON u.id = j.navigator_id "
            "WHERE j.state IN ('received','accepted','started') GROUP BY u.username "
            "ORDER BY count(*) DESC, u.username LIMIT 1"
        ).fetchone()[0]
    finally:
        con.close()


# The same rows as services.queries.caseload's first page (sorted by the next task's due date), written by
# hand as one statement. The next open task is found through ix_task_journey_status: "+t.due_date" keeps
# SQLite's planner from walking ix_task_open_due instead (a correlated min(due_date) subquery does that,
# and takes seconds on a county store) - what someone tuning it by hand would write.
RAW_CASELOAD_SQL = """
SELECT j.id, c.id, c.client_ref, c.first_name || ' ' || c.last_name, loc.name, j.state, j.state_since,
       nt.kind, nt.due_date, j.last_contact_date, u.username
FROM journey j JOIN client c ON c.id = j.client_id JOIN locality loc ON loc.id = j.locality_id
JOIN user u ON u.id = j.navigator_id
LEFT JOIN task nt ON nt.id = (SELECT t.id FROM task t WHERE t.journey_id = j.id AND t.status = 'open'
                              ORDER BY +t.due_date, t.id LIMIT 1)
WHERE j.navigator_id = ? AND j.state IN ('received','accepted','started')
ORDER BY nt.due_date IS NULL, nt.due_date, j.id LIMIT 100
"""


def service_queries(path: Path, today: date, reps: int) -> dict:
    from navigator.services.casework import queries
    from navigator.services.context import Ctx
    from navigator.store.engine import open_store

    nav = busiest_navigator(path)
    store = open_store(f"sqlite:///{path}")
    ctx = Ctx(store, username=USER, today_fn=lambda: today)
    # sub-millisecond figures: at least 50 timed calls each (medians of a handful are mostly noise), after one
    # untimed call each (the app has made them by then: the calendar, the prepared statements)
    reps = max(reps, 50)
    queries.today(ctx, navigator=nav)
    queries.caseload(ctx, navigator=nav, limit=100)
    today_t = timed(lambda: queries.today(ctx, navigator=nav), reps)
    caseload_t = timed(lambda: queries.caseload(ctx, navigator=nav, limit=100), reps)
    with ctx.read() as s:
        nav_id = s.exec(__import__("sqlmodel").text("SELECT id FROM user WHERE username = :u").bindparams(u=nav)).one()[
            0
        ]
    store.dispose()
    con = sqlite3.connect(path)
    con.execute(RAW_CASELOAD_SQL, (nav_id,)).fetchall()
    raw_t = timed(lambda: con.execute(RAW_CASELOAD_SQL, (nav_id,)).fetchall(), reps)
    con.close()
    total = queries_caseload_total(path, nav_id)
    return {
        "navigator_caseload": total,
        "today_query_s": statistics.median(today_t),
        "today_query_p95_s": p95(today_t),
        "caseload_query_s": statistics.median(caseload_t),
        "caseload_query_p95_s": p95(caseload_t),
        "caseload_raw_sql_s": statistics.median(raw_t),
        "caseload_query_ratio": statistics.median(caseload_t) / statistics.median(raw_t),
    }


def queries_caseload_total(path: Path, nav_id: int) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute(
            "SELECT count(*) FROM journey WHERE navigator_id = ? AND state IN ('received','accepted','started')",
            (nav_id,),
        ).fetchone()[0]
    finally:
        con.close()


def returns_and_export(path: Path, today: date, reps: int) -> dict:
    from navigator.services.context import Ctx
    from navigator.services.returns import export
    from navigator.services.returns import figures as returns
    from navigator.store.engine import open_store

    store = open_store(f"sqlite:///{path}")
    ctx = Ctx(store, username=USER, today_fn=lambda: today)
    month = returns.previous_month(returns.month_of(today))
    ret_t = timed(lambda: returns.preview(ctx, month), reps)
    exp_t = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(max(1, reps // 2)):
            out = Path(tmp) / f"return-{i}.sqlite"
            t0 = time.perf_counter()
            export.export_month(ctx, month, out)
            exp_t.append(time.perf_counter() - t0)
    store.dispose()
    return {
        "return_month": month,
        "return_month_s": statistics.median(ret_t),
        "return_month_p95_s": p95(ret_t),
        "export_month_s": statistics.median(exp_t),
    }


def tracker_csv(path: Path, out: Path, rows: int) -> int:
    """A tracker CSV of `rows` journeys, written from the demo store in the import format."""
    con = sqlite3.connect(path)
    q = """
    SELECT c.client_ref, c.first_name, c.last_name, c.date_of_birth, c.postcode, c.nhs_number, c.imd_decile,
           loc.name, u.username, rs.code, j.received_date, j.first_contact_date, j.decision, j.decision_date,
           j.reject_reason, j.start_date, j.end_date, j.end_reason,
           (SELECT m.raw FROM measurement m WHERE m.journey_id = j.id AND m.point = 'start' AND m.kind = 'swemwbs'
            ORDER BY m.id LIMIT 1),
           (SELECT m.raw FROM measurement m WHERE m.journey_id = j.id AND m.point = 'end' AND m.kind = 'swemwbs'
            ORDER BY m.id DESC LIMIT 1),
           (SELECT group_concat(a.on_date, ';') FROM contact_attempt a WHERE a.journey_id = j.id
              AND a.outcome != 'spoke' AND (j.first_contact_date IS NULL OR a.on_date <= j.first_contact_date)
              AND (j.decision_date IS NULL OR a.on_date <= j.decision_date))
    FROM journey j JOIN client c ON c.id = j.client_id JOIN locality loc ON loc.id = j.locality_id
    JOIN user u ON u.id = j.navigator_id JOIN referral_source rs ON rs.id = j.source_id
    ORDER BY j.id LIMIT ?
    """
    header = [
        "client_ref",
        "first_name",
        "last_name",
        "date_of_birth",
        "postcode",
        "nhs_number",
        "imd_decile",
        "locality",
        "navigator",
        "referral_source",
        "received_date",
        "first_contact_date",
        "decision",
        "decision_date",
        "reject_reason",
        "start_date",
        "end_date",
        "end_reason",
        "swemwbs_start",
        "swemwbs_end",
        "contact_attempts",
    ]
    n = 0
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in con.execute(q, (rows,)):
            row = list(row)
            if row[12] == "rejected":  # a rejected journey is closed by its decision
                row[16] = row[17] = None
            if row[15] is None:  # no start: no start measure column
                row[18] = None
            w.writerow(["" if v is None else v for v in row])
            n += 1
    con.close()
    return n


def import_speed(path: Path, rows: int, today: date) -> dict:
    from navigator.services.setup.reference import open_ready
    from navigator.services.tracker_import import importer

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "tracker.csv"
        n = tracker_csv(path, csv_path, rows)
        db = Path(tmp) / "import.sqlite3"
        store, ctx = open_ready(f"sqlite:///{db}", username=USER, today_fn=lambda: today)
        stop = Path(tmp) / "stop"
        # another writer, in its own process, takes the write lock every 10 ms during the import: the longest
        # it waited is how long a navigator's save would wait
        waiter = subprocess.Popen(
            [sys.executable, "-c", WRITER_WAIT_PROBE, str(db), str(stop)], stdout=subprocess.PIPE, text=True
        )
        t0 = time.perf_counter()
        try:
            report = importer.import_file(ctx, csv_path)
        finally:
            seconds = time.perf_counter() - t0
            stop.touch()
            worst, probes = (waiter.communicate(timeout=120)[0].split() + ["nan", "0"])[:2]
        store.dispose()
    errors = len(getattr(report, "errors", ()) or ())
    return {
        "import_rows": n,
        "import_s": seconds,
        "import_rows_per_s": n / seconds if seconds else 0.0,
        "import_max_writer_wait_s": float(worst),
        "import_writer_probes": int(probes),
        "import_errors": errors,
    }


WRITER_WAIT_PROBE = """
import os, sqlite3, sys, time
db, stop = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db, timeout=120, isolation_level=None)
worst, n = 0.0, 0
while not os.path.exists(stop):
    t0 = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    worst = max(worst, time.perf_counter() - t0)
    con.execute("ROLLBACK")
    n += 1
    time.sleep(0.01)
print(worst, n)
"""


def versions() -> dict:
    from navigator import __version__

    out: dict = {"navigator": __version__}  # the distribution is navigator-casework; the package is navigator
    for pkg in ("textual", "sqlmodel", "sqlalchemy", "alembic", "rich", "holidays"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    out["sqlite"] = sqlite3.sqlite_version
    out["python"] = platform.python_version()
    return out


def machine() -> dict:
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            mem = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cpu = platform.processor() or None
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": mem, "platform": platform.platform()}


def counts(path: Path) -> dict:
    con = sqlite3.connect(path)
    try:
        q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        events = sum(
            q(f"SELECT count(*) FROM {t}")
            for t in (
                "journey",
                "contact_attempt",
                "measurement",
                "onward_referral",
                "partner_update",
                "plan_goal",
                "goal_note",
                "plan_review",
            )
        )
        return {
            "clients": q("SELECT count(*) FROM client"),
            "journeys": q("SELECT count(*) FROM journey"),
            "events": events,
            "audit_events": q("SELECT count(*) FROM audit_event"),
        }
    finally:
        con.close()


TARGETS_20K = {
    "startup_ratio": ("<=", 1.5),
    "caseload_query_ratio": ("<=", 2),
    "filter_keystroke_p95_s": ("<=", 0.05),
    "filter_keystroke_ratio": ("<=", 1.3),  # p95 / the bare Input's p95
    "open_journey_s": ("<=", 0.08),
    "open_journey_ratio": ("<=", 2),  # median / the bare push's median
    "form_ready_s": ("<=", 0.05),
    "form_ready_max_s": ("<=", 0.05),
    "form_relayouts": ("<=", 0),
    "quit_s": ("<=", 0.3),
    "quit_first_of_day_s": ("<=", 0.3),
    "return_month_s": ("<=", 0.5),
    "export_month_s": ("<=", 2),
    "import_rows_per_s": (">=", 3000),
    "import_max_writer_wait_s": ("<=", 1.0),
    "peak_rss_mb": ("<=", 250),
}
TARGETS = {
    2_000: TARGETS_20K,
    20_000: TARGETS_20K,
    200_000: {
        "startup_ratio": ("<=", 1.5),
        "filter_keystroke_ratio": ("<=", 1.5),
        "open_journey_p95_ratio": ("<=", 3),  # p95 / the bare push's p95
        "form_ready_s": ("<=", 0.05),
        "form_ready_max_s": ("<=", 0.05),
        "form_relayouts": ("<=", 0),
        "quit_s": ("<=", 0.3),
        "quit_first_of_day_s": ("<=", 0.3),
        "return_month_s": ("<=", 0.3),
        "export_month_s": ("<=", 1),
        "import_rows_per_s": (">=", 3000),
        "import_max_writer_wait_s": ("<=", 1.0),
    },
}


def verdicts(result: dict, clients: int) -> dict:
    targets = TARGETS.get(clients)
    if not targets:
        return {}
    out = {}
    for key, (op, limit) in targets.items():
        value = result.get(key)
        if value is None:
            out[key] = "not measured"
        else:
            ok = value <= limit if op == "<=" else value >= limit
            out[key] = f"{'met' if ok else 'MISSED'} ({value:.4g} {op} {limit})"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", dest="json_path")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument(
        "--tui-reps",
        type=int,
        default=None,
        help="journeys opened, pushes, forms and pty repetitions (default: 20, or 2 with --reps under 5)",
    )
    ap.add_argument("--import-rows", type=int, default=None, help="rows in the import CSV (default: N)")
    ap.add_argument("--skip", default="", help="comma-separated groups to skip: tui,import,export")
    ap.add_argument("--cache-dir", default=str(CACHE), help="where built stores are kept (default: %(default)s)")
    args = ap.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    today = date.today()
    result: dict = {"clients": args.clients, "seed": args.seed, "today": today.isoformat()}
    log(f"store: {args.clients:,} clients, seed {args.seed} ...")
    path, built = build_store(args.clients, args.seed, today, Path(args.cache_dir))
    result.update(counts(path))
    result["store_build_s"] = built
    result["store_mb"] = round(path.stat().st_size / 1e6, 1)
    log(
        f"  {result['journeys']:,} journeys, {result['events']:,} events ({f'built in {built:.1f}s' if built else 'reused'})"
    )
    log("service queries ...")
    result.update(service_queries(path, today, args.reps))
    if "export" not in skip:
        log("return and export ...")
        result.update(returns_and_export(path, today, args.reps))
    if "import" not in skip:
        log("import ...")
        result.update(import_speed(path, args.import_rows or args.clients, today))
    if "tui" not in skip:
        import tui_bench

        nav = busiest_navigator(path)
        result["probe_user"] = nav
        tui_reps = args.tui_reps or (20 if args.reps >= 5 else 2)
        result.update(tui_bench.run(path, today, nav, args.reps, tui_reps, log))
    result["machine"] = machine()
    result["versions"] = versions()
    result["verdicts"] = verdicts(result, args.clients)
    text = json.dumps(result, indent=2, sort_keys=True, default=str)
    if args.json_path:
        Path(args.json_path).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent / "src"))
    raise SystemExit(main())
