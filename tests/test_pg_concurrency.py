"""PostgreSQL: saves run side by side instead of one database-wide lock per save (issue 14's load test).

Ordinary saves take a shared lock and the journey's own row; the audit chain is ordered only while events
are appended; a bulk batch (import, demo: it picks row ids itself) excludes ordinary saves. Each test holds
one transaction open and watches what a second navigator's save does meanwhile.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest

from conftest import make_user, new_referral
from navigator.services import audit
from navigator.services.casework import journeys as J
from navigator.services.casework.records import load_journey

pytestmark = pytest.mark.postgres

WAIT = 20.0  # seconds: generous for a noisy machine; a blocked save never finishes while the lock is held
BLOCKED = 1.0  # how long a save must stay blocked to count as waiting on the lock


def _in_thread(fn) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except Exception as exc:  # reported to the test
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def _two_journeys(ctx):
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    a = new_referral(ctx, first="Ann", navigator="nav")
    b = new_referral(ctx, first="Bob", last="Jones", navigator="nav")
    return nav, a, b


def test_saves_on_different_journeys_do_not_wait_for_each_other(pg_ctx):
    nav, a, b = _two_journeys(pg_ctx)
    with pg_ctx.write() as s:
        load_journey(s, pg_ctx, a.journey_id)  # a save on Ann's journey, still open
        t, out = _in_thread(lambda: J.log_contact(nav, b.journey_id, date(2026, 11, 3), "phone", "spoke"))
        t.join(WAIT)
        assert not t.is_alive(), "a save on another journey waited for an unrelated open save"
        assert "error" not in out, out.get("error")
    assert out["value"].journey_id == b.journey_id


def test_two_saves_on_one_journey_take_turns_and_both_count(pg_ctx):
    nav, a, _ = _two_journeys(pg_ctx)
    with pg_ctx.write() as s:
        journey, _client = load_journey(s, pg_ctx, a.journey_id)
        journey.referrer = "Dr Changed"
        journey.version += 1
        s.add(journey)
        s.flush()
        audit.record(s, pg_ctx, "journey.edit", "journey", journey.id, after={"referrer": "Dr Changed"})
        t, out = _in_thread(lambda: J.log_contact(nav, a.journey_id, date(2026, 11, 3), "phone", "spoke"))
        t.join(BLOCKED)
        assert t.is_alive(), "a second save on the same journey did not wait for the first"
    t.join(WAIT)
    assert not t.is_alive() and "error" not in out, out.get("error")
    with pg_ctx.read() as s:  # the first save's change survived the second, and the second counted
        journey, client = load_journey(s, pg_ctx, a.journey_id)
        assert journey.referrer == "Dr Changed"
        assert J.facts(journey, client).first_contact_date == date(2026, 11, 3)
        assert journey.version >= 3
    with pg_ctx.read() as s:
        assert audit.verify_chain(s) == []


def test_a_bulk_batch_excludes_ordinary_saves_until_it_commits(pg_ctx):
    nav, _a, b = _two_journeys(pg_ctx)
    with pg_ctx.write(bulk=True):
        t, out = _in_thread(lambda: J.log_contact(nav, b.journey_id, date(2026, 11, 3), "phone", "spoke"))
        t.join(BLOCKED)
        assert t.is_alive(), "an ordinary save ran beside a bulk batch that picks row ids"
    t.join(WAIT)
    assert not t.is_alive() and "error" not in out, out.get("error")


def test_referrals_received_at_the_same_moment_get_distinct_references_and_one_chain(pg_ctx):
    make_user(pg_ctx, "nav", "navigator", ("Lot 2",))
    names = ["Ann", "Bob", "Cy", "Dee", "Eve", "Fay"]
    barrier = threading.Barrier(len(names))

    def receive(first: str):
        barrier.wait(WAIT)
        return new_referral(pg_ctx, first=first, last="Same", navigator="nav")

    runs = [_in_thread(lambda f=f: receive(f)) for f in names]
    for t, _ in runs:
        t.join(WAIT)
    errors = [out["error"] for _, out in runs if "error" in out]
    assert errors == []
    refs = [out["value"].client_ref for _, out in runs]
    assert len(set(refs)) == len(names)
    with pg_ctx.read() as s:
        assert audit.verify_chain(s) == []
