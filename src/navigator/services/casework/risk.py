"""The risk (crisis) flag on a journey, set or cleared after intake (the rule: domain/risk.py)."""

from __future__ import annotations

from navigator.domain import lifecycle as L
from navigator.domain import risk
from navigator.services import audit
from navigator.services.casework.records import load_journey, sync_tasks
from navigator.services.context import Ctx
from navigator.services.dto import JourneyRef
from navigator.store.ids import row_id


def set_risk(
    ctx: Ctx, journey_id: int, risk_flag: bool, signposted_to: str | None, expected_version: int | None = None
) -> JourneyRef:
    """Set or clear a journey's risk flag and what the person was signposted to (audited ``journey.risk``)."""
    flagged, signposted = risk.check_risk(risk_flag, signposted_to)
    with ctx.write() as s:
        journey, client = load_journey(s, ctx, journey_id, expected_version)
        before = {"risk_flag": bool(journey.risk_flag), "signposted_to": journey.signposted_to}
        after = {"risk_flag": flagged, "signposted_to": signposted}
        b, a = audit.diff(before, after)
        if a:
            journey.risk_flag = flagged
            journey.signposted_to = signposted
            journey.version += 1
            journey.updated_at = ctx.now()
            s.add(journey)
            s.flush()
            if L.State(journey.state).is_open:
                sync_tasks(s, ctx, journey, client)
            audit.record(
                s,
                ctx,
                "journey.risk",
                "journey",
                journey.id,
                client_id=client.id,
                journey_id=journey.id,
                before=b,
                after=a,
            )
        return JourneyRef(row_id(journey.id), row_id(client.id), client.client_ref, journey.state)
