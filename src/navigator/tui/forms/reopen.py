"""Reopen a closed or rejected journey (team leads, issue 15): with a reason, audited.

The journey goes back to the state before it ended (started if it had started, else accepted
or received; a rejection is undone) and its follow-ups resume. The services refuse it for
anyone but a team lead, for an open journey, and when the person has another open journey.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from navigator.domain import lifecycle as L
from navigator.domain.errors import DomainError
from navigator.services.casework import corrections as C
from navigator.services.dto import JourneyDetail, JourneyRef
from navigator.tui.forms.fields import NoteField, nice_date
from navigator.tui.forms.journey_base import JourneyForm


class ReopenForm(JourneyForm[JourneyRef]):
    """A team lead reopens the journey: the reason is required and kept in the audit trail."""

    TITLE = "Reopen the journey"
    SAVE_LABEL = "Reopen"
    FORM_HEIGHT = 16
    REAPPLY = True

    def compose_fields(self) -> ComposeResult:
        yield Static("", id="reopen-note", classes="notice", markup=False)
        yield NoteField("reason", "Reason for reopening", required=True, hint="Why it should not have ended (audited)")

    def on_mount(self) -> None:
        super().on_mount()
        self.set_note("#reopen-note", None)

    def apply_detail(self, detail: JourneyDetail, extra: Any) -> None:
        state = L.State(detail.state)
        if state not in L.FINISHED_STATES:
            raise DomainError(f"This journey is {detail.state_label.lower()}: there is nothing to reopen.")
        if state == L.State.REJECTED:
            back = "received again (the decision is undone)"
        elif detail.start_date is not None:
            back = f"started again (since {nice_date(detail.start_date)}); the end date and reason are cleared"
        else:
            back = "open again; the end date and reason are cleared"
        self.set_note("#reopen-note", f"{detail.state_label} since {nice_date(detail.state_since)}: it will be {back}.")

    def save(self, v: dict) -> JourneyRef:
        assert self.detail is not None
        return C.reopen(self.ctx, self.journey_id, v["reason"], expected_version=self.detail.version)


__all__ = ["ReopenForm"]
