"""A county on one PostgreSQL database (issue 14): N navigators, each logged in as their own database
role, working for a set time while one admin imports a large tracker.

    python benchmarks/pg_load.py [--server-url URL] [--navigators 50] [--minutes 10] [--import-rows 20000]
                                 [--processes 4] [--think 0.5] [--seed 1] [--json FILE] [--keep]

``--server-url``: a superuser on a PostgreSQL server on this machine (default: NAVIGATOR_TEST_PG_URL, e.g.
from ``tests/helpers/pg_cluster.sh start DIR``); loopback only. It creates a fresh database, runs
``pg-setup``, adds the navigators through the app (each gets their login), then each navigator (a thread,
in ``--processes`` worker processes) repeats a realistic mix with exponential think time: open Today,
open a journey, log a contact, receive a referral, and move journeys on (decide, start, refer on,
close). Meanwhile the admin imports ``--import-rows`` tracker rows. It reports saves/s, p50/p95/p99
save latency, lock waits (sampled from pg_stat_activity), errors; then checks that every acknowledged
save is in the database and that the audit chain verifies. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

LOCALITIES = {
    "Lot 1": ["Dartford", "Gravesham", "Swale"],
    "Lot 2": ["Maidstone", "Tonbridge & Malling", "Tunbridge Wells"],
    "Lot 3": ["Ashford", "Canterbury"],
    "Lot 4": ["Thanet", "Dover"],
}
MID = [3, 3, 3, 3, 3, 3, 3]
HIGH = [4, 4, 4, 4, 4, 4, 4]
SAVES = ("contact", "receive", "decide", "start", "onward", "close")


def login_url(url: str, login: str) -> str:
    return make_url(url).set(username=login, password=None).render_as_string(hide_password=False)


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = q * (len(ordered) - 1)
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# ---------------------------------------------------------------- one navigator


def navigator_loop(url: str, login: str, deadline: float, think: float, seed: int, out: dict) -> None:
    """One navigator at work until ``deadline``; appends to ``out`` (latencies, acks, errors)."""
    from navigator.domain.errors import DomainError
    from navigator.services.casework import journeys as J
    from navigator.services.casework import queries as Q
    from navigator.services.casework.journeys import ClientInput, ReferralInput
    from navigator.services.context import Ctx, identity
    from navigator.store.engine import open_store

    rnd = random.Random(seed)
    store = open_store(login_url(url, login), create=False)
    ctx = Ctx(store, username=identity(store))
    today = date.today()
    stage: dict[int, str] = {}  # journey id -> the next step: decide, start, onward, close, done
    n = 0
    programme = None

    def save(kind: str, fn):
        nonlocal n
        t0 = time.perf_counter()
        try:
            result = fn()
        except DomainError as exc:
            out["refused"].append((kind, type(exc).__name__))
            return None
        except Exception as exc:
            out["errors"].append((kind, type(exc).__name__, str(exc)[:160]))
            return None
        out["lat"].setdefault(kind, []).append(time.perf_counter() - t0)
        n += 1
        return result

    def receive():
        first = rnd.choice(["Ana", "Ben", "Cai", "Dee", "Eli", "Fay", "Gus", "Hal"])
        locality = rnd.choice(out["localities"])
        ref = save(
            "receive",
            lambda: J.receive_referral(
                ctx,
                ReferralInput(
                    today,
                    "gp",
                    client=ClientInput(
                        first,
                        f"Load{seed}x{n}",
                        date(1950 + rnd.randrange(50), 1 + rnd.randrange(12), 1 + rnd.randrange(28)),
                        locality,
                        consent_to_share=True,
                    ),
                ),
            ),
        )
        if ref is not None:
            stage[ref.journey_id] = "contact"
            out["acks"]["journeys"].append(ref.journey_id)

    try:
        for _ in range(3):  # a caseload to start with (not timed as saves of the run)
            receive()
        out["lat"].clear()
        with ctx.read() as s:
            from sqlmodel import select

            from navigator.store.models import Programme

            programme = s.exec(select(Programme.id).where(Programme.active == True)).first()  # noqa: E712
        while time.monotonic() < deadline:
            time.sleep(rnd.expovariate(1 / think) if think > 0 else 0)
            roll = rnd.random()
            live = [j for j, st in stage.items() if st != "done"]
            if roll < 0.25:
                t0 = time.perf_counter()
                try:
                    Q.today(ctx)
                    out["reads"].setdefault("today", []).append(time.perf_counter() - t0)
                except Exception as exc:
                    out["errors"].append(("today", type(exc).__name__, str(exc)[:160]))
            elif roll < 0.45 and live:
                t0 = time.perf_counter()
                try:
                    Q.journey_detail(ctx, rnd.choice(live))
                    out["reads"].setdefault("journey", []).append(time.perf_counter() - t0)
                except Exception as exc:
                    out["errors"].append(("journey", type(exc).__name__, str(exc)[:160]))
            elif roll < 0.65 and live:
                j = rnd.choice(live)
                token = f"ld-{seed}-{n}"
                if save("contact", lambda j=j, token=token: J.log_contact(ctx, j, today, "phone", "spoke", token)):
                    out["acks"]["contacts"].append(token)
                    if stage[j] == "contact":
                        stage[j] = "decide"
            elif roll < 0.75 or len(live) < 2:
                receive()
            else:
                ready = [j for j in live if stage[j] != "contact"]
                if not ready:
                    continue
                j = rnd.choice(ready)
                step = stage[j]
                if step == "decide":
                    done = save("decide", lambda j=j: J.decide(ctx, j, "accepted", today))
                    nxt = "start"
                elif step == "start":
                    done = save("start", lambda j=j: J.start(ctx, j, today, MID))
                    nxt = "onward"
                elif step == "onward":
                    done = save("onward", lambda j=j: J.make_onward(ctx, j, programme, today, "load"))
                    if done:
                        out["acks"]["onwards"].append(done)
                    nxt = "close"
                else:
                    done = save("close", lambda j=j: J.close(ctx, j, today, "completed", "Goals met", HIGH))
                    nxt = "done"
                    if done:
                        out["acks"]["closed"].append(j)
                if done:
                    stage[j] = nxt
    finally:
        store.dispose()


def worker(url: str, logins: list[str], localities: list[list[str]], deadline_in: float, think: float, seed, q):
    """A process running several navigators as threads; puts its results on ``q``."""
    deadline = time.monotonic() + deadline_in
    outs = []
    threads = []
    for i, login in enumerate(logins):
        out = {
            "lat": {},
            "reads": {},
            "errors": [],
            "refused": [],
            "acks": {"journeys": [], "contacts": [], "onwards": [], "closed": []},
            "localities": localities[i],
        }
        outs.append(out)
        t = threading.Thread(
            target=_guarded, args=(url, login, deadline, think, seed * 1000 + i, out), name=login, daemon=True
        )
        threads.append(t)
        t.start()
    for t in threads:
        t.join()
    for out in outs:
        out.pop("localities")
    q.put(outs)


def _guarded(url, login, deadline, think, seed, out):
    try:
        navigator_loop(url, login, deadline, think, seed, out)
    except Exception as exc:
        out["errors"].append(("session", type(exc).__name__, str(exc)[:160]))


# ---------------------------------------------------------------- the admin's import


def tracker_csv(path: Path, rows: int, navigator: str, seed: int) -> None:
    rnd = random.Random(seed)
    today = date.today()
    places = [p for ps in LOCALITIES.values() for p in ps]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "client_ref",
                "first_name",
                "last_name",
                "date_of_birth",
                "locality",
                "navigator",
                "referral_source",
                "received_date",
                "first_contact_date",
                "decision",
                "decision_date",
            ]
        )
        for i in range(rows):
            received = today - timedelta(days=30 + rnd.randrange(700))
            contacted = received + timedelta(days=2) if rnd.random() < 0.7 else None
            accepted = contacted + timedelta(days=3) if contacted and rnd.random() < 0.6 else None
            w.writerow(
                [
                    f"IMP{seed % 1000:03d}{i:07d}",
                    rnd.choice(["Ivy", "Jon", "Kit", "Lou", "Max", "Ned"]),
                    f"Imported{i}",
                    date(1940 + rnd.randrange(60), 1 + rnd.randrange(12), 1 + rnd.randrange(28)).isoformat(),
                    rnd.choice(places),
                    navigator,
                    "gp",
                    received.isoformat(),
                    contacted.isoformat() if contacted else "",
                    "accepted" if accepted else "",
                    accepted.isoformat() if accepted else "",
                ]
            )


def run_import(url: str, admin: str, path: Path, result: dict) -> None:
    from navigator.services.context import Ctx, identity
    from navigator.services.tracker_import import importer
    from navigator.store.engine import open_store

    store = open_store(login_url(url, admin), create=False)
    try:
        ctx = Ctx(store, username=identity(store))
        t0 = time.perf_counter()
        report = importer.import_file(ctx, path)
        result["import_s"] = time.perf_counter() - t0
        result["import_report"] = {k: v for k, v in vars(report).items() if isinstance(v, (int, float, str, bool))}
    except Exception as exc:
        result["import_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        store.dispose()


# ---------------------------------------------------------------- lock waits


def sample_locks(server: str, db: str, stop: threading.Event, out: dict) -> None:
    import psycopg

    samples = waiting = peak = 0
    with psycopg.connect(server, autocommit=True) as conn:
        while not stop.wait(0.25):
            n = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", (db,)
            ).fetchone()[0]
            samples += 1
            waiting += n
            peak = max(peak, n)
    out.update(lock_samples=samples, lock_waiting_mean=waiting / samples if samples else 0.0, lock_waiting_peak=peak)


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server-url", default=os.environ.get("NAVIGATOR_TEST_PG_URL"))
    p.add_argument("--navigators", type=int, default=50)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--import-rows", type=int, default=20000)
    p.add_argument("--processes", type=int, default=4)
    p.add_argument("--think", type=float, default=0.5, help="mean think time between actions, seconds")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = p.parse_args(argv)
    if not args.server_url:
        p.error("give --server-url (a superuser on a local server) or set NAVIGATOR_TEST_PG_URL")
    server = make_url(args.server_url)
    if server.host not in (None, "", "127.0.0.1", "localhost", "::1"):
        p.error("the load test runs against a server on this machine only (loopback)")

    import psycopg

    from navigator.services import audit
    from navigator.services.context import Ctx, identity
    from navigator.services.operations.pg_setup import set_up
    from navigator.services.setup import users as U
    from navigator.store.engine import open_store

    tag = uuid.uuid4().hex[:6]
    db = f"navload_{tag}"
    admin_libpq = server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    url = server.set(database=db).render_as_string(hide_password=False)
    with psycopg.connect(admin_libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    result: dict = {
        "navigators": args.navigators,
        "minutes": args.minutes,
        "import_rows": args.import_rows,
        "processes": args.processes,
        "think_s": args.think,
        "python": sys.version.split()[0],
    }
    try:
        admin = f"load_admin_{tag}"
        print(f"setting up {db} ...", flush=True)
        set_up(url, admin=admin, admin_name="Load Admin")
        store = open_store(login_url(url, admin), create=False)
        actx = Ctx(store, username=identity(store))
        lots = list(LOCALITIES)
        logins = []
        localities = []
        for i in range(args.navigators):
            lot = lots[i % len(lots)]
            name = f"load_nav_{tag}_{i:03d}"
            U.add_user(actx, name, f"Navigator {i}", "navigator", [lot])
            logins.append(name)
            localities.append(LOCALITIES[lot])
        importer_nav = f"load_imp_{tag}"
        U.add_user(actx, importer_nav, "Imported caseload", "navigator", [])
        with psycopg.connect(server.set(drivername="postgresql", database=db).render_as_string(False)) as conn:
            result["server"] = conn.execute("SHOW server_version").fetchone()[0]
        store.dispose()

        seconds = args.minutes * 60
        q: mp.Queue = mp.get_context("spawn").Queue()
        procs = []
        ctx_mp = mp.get_context("spawn")
        per = max(1, args.processes)
        for k in range(per):
            mine = list(range(k, args.navigators, per))
            if not mine:
                continue
            pr = ctx_mp.Process(
                target=worker,
                args=(
                    url,
                    [logins[i] for i in mine],
                    [localities[i] for i in mine],
                    seconds,
                    args.think,
                    args.seed * 100 + k,
                    q,
                ),
            )
            procs.append(pr)
        stop = threading.Event()
        locks: dict = {}
        sampler = threading.Thread(
            target=sample_locks,
            args=(server.set(drivername="postgresql", database=db).render_as_string(False), db, stop, locks),
        )
        print(f"{args.navigators} navigators for {args.minutes} min; importing {args.import_rows} rows", flush=True)
        t_start = time.monotonic()
        for pr in procs:
            pr.start()
        sampler.start()
        imp: dict = {}
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = Path(tmp) / "tracker.csv"
            tracker_csv(csv_path, args.import_rows, importer_nav, args.seed)
            time.sleep(min(15.0, seconds / 4))  # the navigators are at work before the import starts
            imp_thread = threading.Thread(target=run_import, args=(url, admin, csv_path, imp))
            imp_thread.start()
            outs = []
            for _ in procs:
                outs.extend(q.get())
            for pr in procs:
                pr.join()
            imp_thread.join()
        elapsed = time.monotonic() - t_start
        stop.set()
        sampler.join()

        lat = {k: [] for k in SAVES}
        reads: dict[str, list[float]] = {}
        errors, refused = [], []
        acks = {"journeys": [], "contacts": [], "onwards": [], "closed": []}
        for out in outs:
            for k, v in out["lat"].items():
                lat.setdefault(k, []).extend(v)
            for k, v in out["reads"].items():
                reads.setdefault(k, []).extend(v)
            errors += out["errors"]
            refused += out["refused"]
            for k in acks:
                acks[k] += out["acks"][k]
        all_saves = [x for v in lat.values() for x in v]
        result.update(
            elapsed_s=elapsed,
            saves=len(all_saves),
            saves_per_s=len(all_saves) / elapsed if elapsed else 0.0,
            save_p50_ms=pct(all_saves, 0.50) * 1000,
            save_p95_ms=pct(all_saves, 0.95) * 1000,
            save_p99_ms=pct(all_saves, 0.99) * 1000,
            save_max_ms=max(all_saves, default=0.0) * 1000,
            saves_over_1s=sum(1 for x in all_saves if x > 1.0),
            by_kind={k: {"n": len(v), "p95_ms": pct(v, 0.95) * 1000} for k, v in lat.items()},
            reads={
                k: {"n": len(v), "p50_ms": pct(v, 0.5) * 1000, "p95_ms": pct(v, 0.95) * 1000} for k, v in reads.items()
            },
            errors=len(errors),
            error_kinds=sorted({f"{k}: {t}" for k, t, _ in errors}),
            error_examples=[e[2] for e in errors[:5]],
            refused=len(refused),
            **locks,
            **imp,
        )

        # After: every acknowledged save is there, and the chain verifies (the administrator's session).
        with psycopg.connect(server.set(drivername="postgresql", database=db).render_as_string(False)) as conn:
            notes = {r[0] for r in conn.execute("SELECT note FROM navigator.contact_attempt WHERE note LIKE 'ld-%'")}
            journeys = {r[0] for r in conn.execute("SELECT id FROM navigator.journey")}
            onwards = {r[0] for r in conn.execute("SELECT id FROM navigator.onward_referral")}
            closed = {r[0] for r in conn.execute("SELECT id FROM navigator.journey WHERE state = 'completed'")}
            result["events"] = conn.execute("SELECT count(*) FROM navigator.audit_event").fetchone()[0]
            result["journeys_in_db"] = len(journeys)
        lost = (
            len(set(acks["contacts"]) - notes)
            + len(set(acks["journeys"]) - journeys)
            + len(set(acks["onwards"]) - onwards)
            + len(set(acks["closed"]) - closed)
        )
        result["acknowledged"] = sum(len(v) for v in acks.values())
        result["lost_writes"] = lost
        store = open_store(url, create=False)
        try:
            with Ctx(store, username=admin).read() as s:
                problems = audit.verify_chain(s)
            result["chain_problems"] = len(problems)
        finally:
            store.dispose()
    finally:
        if not args.keep:
            with psycopg.connect(admin_libpq, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    ok = result["errors"] == 0 and result["lost_writes"] == 0 and result["chain_problems"] == 0
    return 0 if ok else 1


def print_table(r: dict) -> None:
    rows = [
        ("navigators (own logins) / processes", f"{r['navigators']} / {r['processes']}"),
        ("duration", f"{r['elapsed_s']:.0f} s"),
        (
            "import",
            f"{r['import_rows']:,} rows in {r.get('import_s', float('nan')):.1f} s"
            + (f" (failed: {r['import_error']})" if "import_error" in r else ""),
        ),
        ("saves / saves per second", f"{r['saves']:,} / {r['saves_per_s']:.1f}"),
        (
            "save p50 / p95 / p99 / max",
            f"{r['save_p50_ms']:.0f} / {r['save_p95_ms']:.0f} / {r['save_p99_ms']:.0f} / {r['save_max_ms']:.0f} ms",
        ),
        ("saves over 1 s", str(r["saves_over_1s"])),
        ("sessions waiting on a lock (mean / peak)", f"{r['lock_waiting_mean']:.2f} / {r['lock_waiting_peak']}"),
        ("errors / refused by the rules", f"{r['errors']} / {r['refused']}"),
        ("acknowledged saves checked / lost", f"{r['acknowledged']:,} / {r['lost_writes']}"),
        ("audit events / chain problems", f"{r['events']:,} / {r['chain_problems']}"),
    ]
    for k, v in (r.get("reads") or {}).items():
        rows.append((f"read: {k} p50 / p95", f"{v['p50_ms']:.0f} / {v['p95_ms']:.0f} ms"))
    print("| figure | value |\n| --- | --- |")
    for k, v in rows:
        print(f"| {k} | {v} |")
    if r.get("error_kinds"):
        print("errors:", "; ".join(r["error_kinds"]))


if __name__ == "__main__":
    sys.exit(main())
