"""Chasing a delivery partner about an onward referral (issue 15): when, how, a note.

Opened from the Journey screen (the selected onward referral) and from Today's "Chase partner"
item. The chase is the navigator's own activity: the partner's updates and figures do not move;
the next chase is scheduled from it (services/casework/chasing.py).
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from navigator.domain.errors import DomainError
from navigator.domain.followups import MESSAGE_METHOD_LABELS
from navigator.services.casework import chasing, queries
from navigator.services.casework.chasing import ChaseResult
from navigator.services.dto import JourneyDetail, OnwardView
from navigator.tui.forms.fields import DateField, NoteField, SelectField, nice_date
from navigator.tui.forms.journey_base import JourneyForm
from navigator.tui.forms.onward import onward_summary

CHASE_METHOD_OPTIONS = [(label, m.value) for m, label in MESSAGE_METHOD_LABELS.items()]


def chase_summary(o: OnwardView) -> str:
    text = onward_summary(o)
    if o.chases:
        on_, method, _note = o.chases[-1]
        text += f"\nChased {len(o.chases)} time{'s' if len(o.chases) != 1 else ''}, last {nice_date(on_)} by "
        text += method.replace("_", " ")
        if o.unanswered_chases:
            text += f" ({o.unanswered_chases} unanswered)"
    else:
        text += "\nNot chased yet."
    return text


class ChaseForm(JourneyForm[ChaseResult]):
    """The navigator chased the partner of one open onward referral. Dismisses with the ChaseResult."""

    TITLE = "Chase the partner"
    FORM_HEIGHT = 20
    SAVE_LABEL = "Chased"
    FIELD_ALIASES = {"on": "date"}

    def __init__(self, ctx, onward_id: int) -> None:
        super().__init__(ctx, 0)
        self.onward_id = onward_id
        self.onward: OnwardView | None = None

    def compose_fields(self) -> ComposeResult:
        yield Static("", id="onward-text", classes="notice", markup=False)
        yield DateField("date", "Date", self.clock, not_future=True)
        yield SelectField("method", "How", CHASE_METHOD_OPTIONS, required=True, prompt="Phone, email…")
        yield NoteField("note", "Note", hint="Who you spoke to, what they said")

    def journey_id_to_load(self) -> int:
        return queries.journey_id_for(self.ctx, onward_id=self.onward_id)

    def refresh_detail(self, detail: JourneyDetail, extra: Any) -> None:
        self.onward = next((o for o in detail.onward if o.id == self.onward_id), None)
        if self.onward is None:
            raise DomainError("That onward referral is not in this journey (it may have been removed).")
        self.set_note("#onward-text", chase_summary(self.onward))

    def apply_detail(self, detail: JourneyDetail, extra: Any) -> None:
        method = self.field("method")
        assert isinstance(method, SelectField)
        if method.selected is None and self.onward is not None and self.onward.chases:
            method.selected = self.onward.chases[-1][1]  # as the last chase, to start with

    def collect(self) -> dict:
        return self.values()

    def save(self, v: dict) -> ChaseResult:
        return chasing.record_chase(self.ctx, self.onward_id, v["date"], v["method"], v["note"])


def chase_message(result: ChaseResult) -> str:
    """What a saved chase means, for a notification."""
    text = "Chase recorded."
    if result.next_due is not None:
        text += f" Next chase due {nice_date(result.next_due)}."
    if result.team_lead_told:
        text += f" {result.unanswered} chases unanswered: the team lead is told."
    return text
