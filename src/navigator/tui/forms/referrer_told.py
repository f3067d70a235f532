"""Recording that the referrer was told of a closure or rejection another way than the letter (issue 15).

Date and how (letter, phone, email, secure email, in person). Producing the referrer's letter on the
Journey screen (w) records it by itself; this form is for a call, an email or a letter sent elsewhere.
Either ends the "tell the referrer" follow-up (services/casework/loops.py).
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from navigator.domain.followups import MESSAGE_METHOD_LABELS, MessageMethod
from navigator.services.casework import loops
from navigator.services.dto import JourneyDetail, JourneyRef
from navigator.tui.forms.fields import DateField, SelectField, nice_date
from navigator.tui.forms.journey_base import JourneyForm

HOW_OPTIONS = [(label, m.value) for m, label in MESSAGE_METHOD_LABELS.items()]


class ReferrerToldForm(JourneyForm[JourneyRef]):
    """The referrer of a closed journey or a rejected referral was told: when and how."""

    TITLE = "Referrer told"
    FORM_HEIGHT = 16
    SAVE_LABEL = "Told"
    FIELD_ALIASES = {"on": "date"}

    def compose_fields(self) -> ComposeResult:
        yield Static("", id="told-text", classes="notice", markup=False)
        yield DateField("date", "Date told", self.clock, not_future=True)
        yield SelectField("how", "How", HOW_OPTIONS, required=True, prompt="Letter, phone, email…")

    def refresh_detail(self, detail: JourneyDetail, extra: Any) -> None:
        who = detail.referrer or detail.source
        ended = detail.end_date or detail.decision_date
        text = f"Referrer: {who}. {detail.state_label}" + (f" on {nice_date(ended)}." if ended else ".")
        if detail.referrer_told_date is not None:
            how = MESSAGE_METHOD_LABELS.get(MessageMethod(detail.referrer_told_how or "letter"), "")
            text += f"\nAlready told on {nice_date(detail.referrer_told_date)} ({how.lower()}): saving corrects it."
        elif detail.referrer_letter:
            text += "\nTo send the letter instead, press escape, then w on the journey."
        self.set_note("#told-text", text)

    def collect(self) -> dict:
        return self.values()

    def save(self, v: dict) -> JourneyRef:
        expected = self.detail.version if self.detail is not None else None
        return loops.tell_referrer(self.ctx, self.journey_id, v["date"], v["how"], expected_version=expected)
