"""Child process for the crash-safety test: service writes in a loop until it is killed.

Prints one line per committed write, *after* the service call (one transaction) has returned:
    J <name> <journey_id> <client_id>     a referral received (person, journey, tasks, audit events)
    C <name> <journey_id> <contact_id>    a contact attempt logged on it
"""

from __future__ import annotations

import sys
from datetime import date

from sqlmodel import select

from navigator.services.casework import journeys as J
from navigator.services.context import Ctx
from navigator.store.engine import open_store
from navigator.store.models import ContactAttempt


def main() -> None:
    url, run = sys.argv[1], sys.argv[2]
    store = open_store(url, create=False)
    ctx = Ctx(store, username="admin", today_fn=lambda: date(2026, 11, 25))
    ctx.actor()
    print("READY", flush=True)
    i = 0
    while True:
        name = f"Crash{run}x{i}"
        ref = J.receive_referral(
            ctx,
            J.ReferralInput(
                received_date=date(2026, 11, 2),
                source="gp",
                reason=f"reason of {name}",
                support_areas=("money",),
                client=J.ClientInput(name, "Test", date(1980, 1, 1), "Maidstone", phone="01622 000000"),
            ),
        )
        print(f"J {name} {ref.journey_id} {ref.client_id}", flush=True)
        J.log_contact(ctx, ref.journey_id, date(2026, 11, 3), "phone", "no_answer", f"note of {name}")
        with ctx.read() as s:
            cid = s.exec(select(ContactAttempt.id).where(ContactAttempt.journey_id == ref.journey_id)).one()
        print(f"C {name} {ref.journey_id} {cid}", flush=True)
        i += 1


if __name__ == "__main__":
    main()
