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
from navigator.tui.widgets import displayable

T = TypeVar("T")
_NOT_KEPT = object()  # JourneyForm.preload_extra: the app does not hold it


@dataclass(frozen=True)
class JourneyData:
    detail: JourneyDetail
    extra: Any = None
    measures: MeasureSettings | None = None  # SWEMWBS wording, ONS4 switch (forms that take measures)


def kept_reference(app) -> Any:
    """The reference data the app keeps, for ``preload_extra`` (``_NOT_KEPT`` if it keeps none yet)."""
    ref = getattr(app, "kept_reference", None)
    return _NOT_KEPT if ref is None else ref


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

    # ---- ready on the first frame: the journey as the screen beneath shows it (issue 16)
    PRELOAD = True  # False: a form that fills its text from the journey (it waits for the stored text)

    def preload(self) -> JourneyData | None:
        """The journey as a screen beneath already shows it (and what else the form needs, if the app
        keeps it). The load still runs: a journey changed meanwhile is applied as a reload."""
        if not self.PRELOAD:
            return None
        detail = next(
            (
                d
                for screen in reversed(self.app.screen_stack)
                if isinstance(d := getattr(screen, "detail", None), JourneyDetail) and self.shows(d)
            ),
            None,
        )
        if detail is None:
            return None
        measures = getattr(self.app, "kept_measures", None) if self.WANTS_MEASURES else None
        if self.WANTS_MEASURES and measures is None:
            return None
        extra = self.preload_extra(detail)
        if extra is _NOT_KEPT:
            return None
        return JourneyData(detail, extra, measures)

    def shows(self, detail: JourneyDetail) -> bool:
        """Whether ``detail`` is the journey this form is about."""
        return detail.id == self.journey_id

    def preload_extra(self, detail: JourneyDetail) -> Any:
        """What ``load_extra`` would return, if the app keeps it (``_NOT_KEPT`` if not)."""
        return None if type(self).load_extra is JourneyForm.load_extra else _NOT_KEPT

    def same_data(self, kept: Any, loaded: Any) -> bool:
        # the screen's journey is as displayed (control characters made visible): compare it so
        return isinstance(loaded, JourneyData) and kept == displayable(loaded)

    def remember(self, data: Any) -> None:
        if isinstance(data, JourneyData) and data.measures is not None:
            self.keep(measures=data.measures)

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
