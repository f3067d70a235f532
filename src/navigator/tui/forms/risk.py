"""The risk (crisis) flag of a journey and what the person was signposted to, edited after intake (issue 15).

Saved with a version check and audited (``journey.risk``); the rule (signposting required while
flagged) is ``domain/risk.py``, checked as you type and again by the service.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Checkbox

from navigator.domain import risk
from navigator.services.casework import risk as R
from navigator.services.dto import JourneyDetail, JourneyRef
from navigator.tui.forms.fields import CheckField, NoteField
from navigator.tui.forms.journey_base import JourneyForm

SIGNPOSTED_HINT = "Where they were signposted: crisis line, GP, A&E, crisis team…"


class RiskForm(JourneyForm[JourneyRef]):
    """Set or clear the journey's risk flag; the signposting is required while it is set."""

    TITLE = "Risk flag and signposting"
    FORM_HEIGHT = 16

    def compose_fields(self) -> ComposeResult:
        yield CheckField("risk_flag", "Risk", f"In crisis or at risk (marked {risk.MARKER})")
        yield NoteField("signposted_to", "Signposted to", hint=SIGNPOSTED_HINT)

    PRELOAD = False  # the signposting is filled from the stored text

    def apply_detail(self, detail: JourneyDetail, extra: Any) -> None:
        self.field("risk_flag").control.value = detail.risk_flag  # type: ignore[attr-defined]
        self.field("signposted_to").control.text = detail.signposted_to or ""  # type: ignore[attr-defined]

    @on(Checkbox.Changed, "#f-risk_flag")
    def _flag_changed(self, event: Checkbox.Changed) -> None:
        signposted = self.field("signposted_to")
        signposted.required = bool(event.value)
        signposted.set_class(bool(event.value), "-required")
        if not event.value:
            signposted.set_error(None)

    def collect(self) -> dict:
        v = self.values()
        risk.check_risk(v["risk_flag"], v["signposted_to"])  # beside the field, before the save
        return v

    def save(self, v: dict) -> JourneyRef:
        assert self.detail is not None
        return R.set_risk(
            self.ctx, self.journey_id, v["risk_flag"], v["signposted_to"], expected_version=self.detail.version
        )
