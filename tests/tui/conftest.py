"""A small, fixed caseload for the TUI tests, built through the services once and copied per test.

Today is 2026-11-25 (a Wednesday) and the clock is fixed, so audit times (and the timeline dates
that come from them) are the same on every run: snapshots stay stable.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from conftest import SWEMWBS_HIGH, SWEMWBS_MID, TODAY, make_user
from navigator.services.casework import journeys as J
from navigator.services.casework.journeys import ClientInput, ReferralInput
from navigator.services.context import Ctx
from navigator.services.setup.reference import open_ready, reference

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def fixed(ctx: Ctx) -> Ctx:
    ctx.today_fn = lambda: TODAY
    ctx.now_fn = lambda: NOW
    return ctx


def referral(
    ctx: Ctx,
    first: str,
    last: str,
    received: date,
    *,
    dob=date(1980, 1, 1),
    locality="Maidstone",
    navigator=None,
    source="gp",
    client_id=None,
    consent=True,
    **kw,
):
    client = (
        None
        if client_id
        else ClientInput(
            first,
            last,
            dob,
            locality,
            consent_to_share=consent,
            postcode=kw.pop("postcode", None),
            phone=kw.pop("phone", None),
        )
    )
    return J.receive_referral(
        ctx,
        ReferralInput(
            received_date=received,
            source=source,
            navigator=navigator,
            client=client,
            client_id=client_id,
            referrer=kw.pop("referrer", None),
            reason=kw.pop("reason", None),
            support_areas=kw.pop("support_areas", ()),
        ),
    )


def build_store(ctx: Ctx) -> dict[str, int]:
    """The fixed caseload. Returns journey ids by a short name."""
    ids: dict[str, int] = {}
    make_user(ctx, "nina", "navigator", ("Lot 2",))

    # Awaiting first contact (due 4 Nov: overdue)
    ids["ann"] = referral(
        ctx,
        "Ann",
        "Smith",
        date(2026, 11, 2),
        postcode="ME14 1AA",
        reason="Low mood since losing her job",
        support_areas=("employment",),
    ).journey_id
    # One unanswered attempt: attempt 2 due
    ids["bob"] = referral(
        ctx, "Bob", "Jones", date(2026, 11, 16), locality="Tonbridge & Malling", source="self"
    ).journey_id
    J.log_contact(ctx, ids["bob"], date(2026, 11, 18), "phone", "no_answer")
    # Three unanswered attempts: due for no-response closure
    ids["fay"] = referral(ctx, "Fay", "Green", date(2026, 10, 1), locality="Sevenoaks").journey_id
    for on, method in ((date(2026, 10, 2), "phone"), (date(2026, 10, 6), "phone"), (date(2026, 10, 8), "letter")):
        J.log_contact(ctx, ids["fay"], on, method, "no_answer" if method == "phone" else "sent")
    # Accepted, waiting to start
    ids["cara"] = referral(
        ctx, "Cara", "Patel", date(2026, 11, 3), locality="Tunbridge Wells", source="cmht"
    ).journey_id
    J.log_contact(ctx, ids["cara"], date(2026, 11, 5), "phone", "spoke")
    J.decide(ctx, ids["cara"], "accepted", date(2026, 11, 6))
    # Not due yet (first contact due 26 Nov)
    ids["eve"] = referral(ctx, "Eve", "Brown", date(2026, 11, 24), locality="Maidstone").journey_id

    # Dev: an earlier, completed journey, and a started one with a plan, measures and onward referrals
    old = referral(
        ctx,
        "Dev",
        "Kumar",
        date(2024, 3, 4),
        dob=date(1975, 6, 15),
        postcode="TN9 1AB",
        phone="07700 900123",
        referrer="Dr Shah",
        reason="Isolation after bereavement",
    )
    J.log_contact(ctx, old.journey_id, date(2024, 3, 5), "phone", "spoke")
    J.decide(ctx, old.journey_id, "accepted", date(2024, 3, 6))
    J.start(ctx, old.journey_id, date(2024, 3, 11), SWEMWBS_MID)
    J.close(
        ctx, old.journey_id, date(2024, 6, 28), "completed", evidence="Joined a walking group", swemwbs_end=SWEMWBS_HIGH
    )
    ids["dev_old"] = old.journey_id
    ids["dev"] = referral(
        ctx,
        "",
        "",
        date(2026, 9, 21),
        client_id=old.client_id,
        referrer="Dr Shah",
        reason="Debt worries and low mood",
        support_areas=("money", "wellbeing"),
    ).journey_id
    J.log_contact(ctx, ids["dev"], date(2026, 9, 22), "phone", "voicemail")
    J.log_contact(ctx, ids["dev"], date(2026, 9, 23), "phone", "spoke", note="Keen to start")
    J.decide(ctx, ids["dev"], "accepted", date(2026, 9, 24))
    J.start(ctx, ids["dev"], date(2026, 10, 1), [2, 3, 3, 2, 3, 3, 2])
    goal1 = J.add_goal(ctx, ids["dev"], "economic", "I want to get my debts under control", date(2027, 1, 29))
    J.add_goal(ctx, ids["dev"], "connect", "I would like to meet people who share my interests")
    J.update_goal(ctx, goal1, status="in_progress", note="Booked a debt advice appointment", on=date(2026, 10, 20))
    J.record_review(ctx, ids["dev"], date(2026, 11, 10), note="Going well", swemwbs_items=[3, 4, 3, 4, 3, 4, 3])
    ref = reference(ctx)
    debt = next(p for p in ref.programmes if p.name == "Debt advice")
    active = next(p for p in ref.programmes if p.name.startswith("Resilience"))
    o1 = J.make_onward(ctx, ids["dev"], debt.id, date(2026, 10, 5))
    J.partner_update(ctx, o1, "started", date(2026, 10, 12))
    o2 = J.make_onward(ctx, ids["dev"], active.id, date(2026, 10, 6))
    J.partner_update(ctx, o2, "declined", date(2026, 11, 20), note="No longer wishes to attend")
    ids["dev_goal"] = goal1
    ids["dev_onward_pending"] = o2

    # Someone else's caseload (nina): for Find
    nina = fixed(Ctx(ctx.store, username="nina"))
    ids["gus"] = referral(nina, "Gus", "Grey", date(2026, 11, 9), locality="Maidstone", navigator="nina").journey_id
    return ids


@pytest.fixture(scope="session")
def tui_template(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("tui-template") / "store.sqlite3"
    store, ctx = open_ready(f"sqlite:///{path}", username="admin", today_fn=lambda: TODAY, now_fn=lambda: NOW)
    ids = build_store(ctx)
    store.dispose()
    return path, ids


@pytest.fixture
def tui_store(tui_template, tmp_path) -> tuple[str, dict[str, int]]:
    """A fresh copy of the fixed store: (url, journey ids)."""
    src, ids = tui_template
    dst = tmp_path / "store.sqlite3"
    for path in src.parent.glob(src.name + "*"):  # the store, its -wal/-shm, and any file kept beside it
        shutil.copy(path, str(dst) + path.name.removeprefix(src.name))
    return f"sqlite:///{dst}", ids


@pytest.fixture
def tui_ctx(tui_store):
    url, ids = tui_store
    store, ctx = open_ready(url, username="admin", today_fn=lambda: TODAY, now_fn=lambda: NOW)
    ctx.ids = ids  # type: ignore[attr-defined] - handy in tests
    yield ctx
    store.dispose()
