"""Child process for the concurrency test: one user doing many writes (and audited reads) on a shared store.

    writer_child.py URL USERNAME ROLE COUNT GO_FILE

Waits for GO_FILE (so both children start together), then loops. Any error is printed as
"ERROR <type>: <message>" and the exit code is 1; success prints "DONE <n>".
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date

from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.context import Ctx
from navigator.store.engine import open_store


def main() -> int:
    url, username, role, count, go = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    store = open_store(url, create=False)
    ctx = Ctx(store, username=username, today_fn=lambda: date(2026, 11, 25))
    ctx.actor()
    deadline = time.monotonic() + 30
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            print("ERROR timeout waiting to start", flush=True)
            return 1
        time.sleep(0.005)
    done = 0
    try:
        for i in range(count):
            name = f"{username.title()}Person{i}"
            ref = J.receive_referral(
                ctx,
                J.ReferralInput(
                    received_date=date(2026, 11, 2),
                    source="gp",
                    navigator="nav",
                    client=J.ClientInput(name, "Concurrent", date(1980, 1, 1), "Maidstone"),
                ),
            )
            if role == "navigator":
                J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "spoke", f"spoke to {name}")
                Q.journey_detail(ctx, ref.journey_id)  # a view is a write too (audited)
                Q.today(ctx)
            else:
                J.decide(ctx, ref.journey_id, "accepted", date(2026, 11, 4))
                Q.caseload(ctx, "nav")
                Q.find(ctx, name)  # audited search
            done += 1
    except Exception as exc:
        print(f"ERROR {type(exc).__name__}: {exc}", flush=True)
        return 1
    finally:
        store.dispose()
    print(f"DONE {done}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
