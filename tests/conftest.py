"""Shared fixtures: a file store under tmp_path (never :memory:), a fixed clock, quick builders."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from navigator.services import journeys as J
from navigator.services.context import Ctx
from navigator.services.journeys import ClientInput, ReferralInput
from navigator.services.setup import open_ready

TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


@pytest.fixture
def store_url(db_path: Path) -> str:
    return f"sqlite:///{db_path}"


@pytest.fixture
def ctx(store_url: str):
    """The admin who created the store, on a fixed day."""
    store, ctx = open_ready(store_url, username="admin", today_fn=lambda: TODAY)
    yield ctx
    store.dispose()


def make_user(ctx: Ctx, username: str, role: str = "navigator", lots: tuple[str, ...] = ()) -> Ctx:
    """Add a user directly (the users service may not exist yet) and return a context for them."""
    from datetime import datetime, timezone

    from sqlmodel import select

    from navigator.services import audit
    from navigator.store.models import Lot, User, UserLot

    with ctx.write() as s:
        u = User(username=username, name=username.title(), role=role, active=True,
                 created_at=datetime.now(timezone.utc))
        s.add(u)
        s.flush()
        for code in lots:
            lot = s.exec(select(Lot).where(Lot.code == code)).one()
            s.add(UserLot(user_id=u.id, lot_id=lot.id))
        audit.record(s, ctx, "user.add", "user", u.id, after={"username": username, "role": role})
    return Ctx(ctx.store, username=username, today_fn=ctx.today_fn)


def new_referral(ctx: Ctx, *, first="Ann", last="Smith", dob=date(1980, 1, 1), received=date(2026, 11, 2),
                 locality="Maidstone", consent=True, navigator=None, nhs=None, source="gp"):
    return J.receive_referral(ctx, ReferralInput(
        received_date=received, source=source, navigator=navigator,
        client=ClientInput(first, last, dob, locality, consent_to_share=consent, nhs_number=nhs),
    ))


SWEMWBS_MID = [3, 3, 3, 3, 3, 3, 3]
SWEMWBS_HIGH = [4, 4, 4, 4, 4, 4, 4]
