"""Forms about one journey: they load the journey (without auditing a view) and say whose it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from navigator.services import queries, setup
from navigator.services.dto import JourneyDetail
from navigator.tui.forms.base import FormScreen
from navigator.tui.forms.fields import SwemwbsField, nice_date

T = TypeVar("T")


@dataclass(frozen=True)
class JourneyData:
    detail: JourneyDetail
    extra: Any = None
    wording: dict | None = None


def journey_context(detail: JourneyDetail) -> str:
    c = detail.client
    return (f"{c.name} · {c.client_ref} · {detail.state_label} (since {nice_date(detail.state_since)})"
            f" · navigator {detail.navigator}")


class JourneyForm(FormScreen[T]):
    """A form on one journey. ``detail`` is set once loaded."""

    WANTS_WORDING = False

    def __init__(self, ctx, journey_id: int) -> None:
        super().__init__(ctx)
        self.journey_id = journey_id
        self.detail: JourneyDetail | None = None

    def journey_id_to_load(self) -> int:
        return self.journey_id

    def load(self) -> JourneyData:
        jid = self.journey_id_to_load()
        detail = queries.journey_detail(self.ctx, jid, audit_view=False)
        wording = setup.swemwbs_wording(self.ctx) if self.WANTS_WORDING else None
        return JourneyData(detail, self.load_extra(detail), wording)

    def load_extra(self, detail: JourneyDetail) -> Any:
        """Runs in the worker thread: anything else the form needs."""
        return None

    def apply(self, data: JourneyData) -> None:
        self.detail = data.detail
        self.journey_id = data.detail.id
        self.set_context(journey_context(data.detail))
        for f in self.query(SwemwbsField):
            f.set_wording(data.wording)
        self.apply_detail(data.detail, data.extra)

    def apply_detail(self, detail: JourneyDetail, extra: Any) -> None:
        """On the UI thread: fill the form from the journey."""
