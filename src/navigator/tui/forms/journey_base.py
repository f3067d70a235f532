"""Forms about one journey: they load the journey (without auditing a view) and say whose it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from textual.binding import Binding

from navigator.services.casework import queries
from navigator.services.dto import JourneyDetail
from navigator.services.setup import admin
from navigator.services.setup.admin import MeasureSettings
from navigator.tui.forms.base import FormScreen
from navigator.tui.forms.fields import SwemwbsField, nice_date

T = TypeVar("T")


@dataclass(frozen=True)
class JourneyData:
    detail: JourneyDetail
    extra: Any = None
    measures: MeasureSettings | None = None  # SWEMWBS wording, ONS4 switch (forms that take measures)


def journey_context(detail: JourneyDetail) -> str:
    c = detail.client
    return (
        f"{c.name} · {c.client_ref} · {detail.state_label} (since {nice_date(detail.state_since)})"
        f" · navigator {detail.navigator}"
    )


class JourneyForm(FormScreen[T]):
    """A form on one journey. ``detail`` is set once loaded.

    ctrl+r reloads the journey (say after someone else changed it) and keeps what was typed:
    ``apply_detail`` fills the fields on the first load only (every load when ``REAPPLY``);
    ``refresh_detail`` runs on every load (to pick up new versions).
    """

    WANTS_MEASURES = False  # load the measure settings (SWEMWBS wording, ONS4)
    REAPPLY = False
    BINDINGS = [Binding("ctrl+r", "reload_journey", "Reload")]

    def __init__(self, ctx, journey_id: int) -> None:
        super().__init__(ctx)
        self.journey_id = journey_id
        self.detail: JourneyDetail | None = None
        self.measures: MeasureSettings | None = None
        self._applied = False

    def journey_id_to_load(self) -> int:
        return self.journey_id

    def load(self) -> JourneyData:
        jid = self.journey_id_to_load()
        detail = queries.journey_detail(self.ctx, jid, audit_view=False)
        measures = admin.measure_settings(self.ctx) if self.WANTS_MEASURES else None
        return JourneyData(detail, self.load_extra(detail), measures)

    def load_extra(self, detail: JourneyDetail) -> Any:
        """Runs in the worker thread: anything else the form needs."""
        return None

    def apply(self, data: JourneyData) -> None:
        self.detail = data.detail
        self.journey_id = data.detail.id
        self.set_context(journey_context(data.detail))
        self.measures = data.measures
        if data.measures is not None:
            for f in self.query(SwemwbsField):
                f.set_wording(data.measures.wording)
        self.refresh_detail(data.detail, data.extra)
        if not self._applied or self.REAPPLY:
            self.apply_detail(data.detail, data.extra)
        elif self.load_error is None:
            self.set_message("Reloaded: what you typed is kept.", info=True)
        self._applied = True

    def apply_detail(self, detail: JourneyDetail, extra: Any) -> None:
        """On the UI thread: fill the form from the journey (first load)."""

    def refresh_detail(self, detail: JourneyDetail, extra: Any) -> None:
        """On the UI thread, on every load: keep what the save needs (versions) current."""

    def action_reload_journey(self) -> None:
        if not self.saving:
            self.reload()
