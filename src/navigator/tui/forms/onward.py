"""Onward referrals to delivery partners: making one (with consent), partner updates, follow-up."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Button, Static

from navigator.domain import lifecycle as L
from navigator.domain.errors import DomainError, ValidationErrors
from navigator.services.casework import journeys as J
from navigator.services.casework import queries
from navigator.services.dto import JourneyDetail, OnwardView
from navigator.services.setup import reference as setup
from navigator.tui.forms.base import shown
from navigator.tui.forms.fields import DateField, NoteField, SelectField, nice_date
from navigator.tui.forms.journey_base import JourneyForm, kept_reference

UPDATE_OPTIONS = [(label, k.value) for k, label in L.PARTNER_UPDATE_LABELS.items()]


def onward_summary(o: OnwardView) -> str:
    text = f"{o.partner}: {o.programme} · referred {nice_date(o.referral_date)} · {o.status.replace('_', ' ')}"
    if o.updates:
        on_, kind, note = o.updates[-1]
        text += f"\nLast update {nice_date(on_)}: {kind.replace('_', ' ')}" + (f" ({note})" if note else "")
    return text


class OnwardForm(JourneyForm[int]):
    """Refer the person on to a partner's programme (only with their consent). Dismisses with its id."""

    TITLE = "Onward referral"
    FORM_HEIGHT = 22
    REAPPLY = True  # after consent is recorded, the fields appear
    FIELD_ALIASES = {"programme": "programme"}
    BINDINGS = [Binding("ctrl+e", "edit_person", "Person's details")]

    DEFAULT_CSS = """
    OnwardForm #consent-box { height: auto; border: round $warning; padding: 0 1; margin: 0 0 1 0; }
    OnwardForm #consent-text { color: $warning; text-style: bold; }
    """

    def compose_fields(self) -> ComposeResult:
        with Vertical(id="consent-box"):
            yield Static("", id="consent-text", markup=False)
            yield Button("Record consent… (ctrl+e)", id="record-consent", compact=True)
        with Vertical(id="onward-fields"):
            yield SelectField("programme", "Programme", required=True, prompt="Choose the partner's programme…")
            yield DateField("referral_date", "Referral date", self.clock, not_future=True)
            yield NoteField("note", "Note")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#consent-box").display = False

    def load_extra(self, detail: JourneyDetail) -> Any:
        return setup.reference(self.ctx)

    def preload_extra(self, detail: JourneyDetail) -> Any:
        return kept_reference(self.app)

    def remember(self, data: Any) -> None:
        super().remember(data)
        self.keep(reference=data.extra)

    @property
    def consented(self) -> bool:
        return bool(self.detail and self.detail.client.consent_to_share)

    def apply_detail(self, detail: JourneyDetail, ref: Any) -> None:
        prog = self.field("programme")
        assert isinstance(prog, SelectField)
        prog.set_options([(p.label, p.id) for p in ref.programmes], value=prog.selected)
        box = self.query_one("#consent-box")
        fields = self.query_one("#onward-fields")
        self.query_one("#record-consent", Button).disabled = detail.client.consent_to_share
        if not detail.client.consent_to_share:
            box.display = True
            fields.display = False
            self.query_one("#consent-text", Static).update(
                f"{detail.client.name} has not consented to share their details with partners, so there is "
                "nothing to refer yet. If they now consent, record it in their details first."
            )
        else:
            box.display = False
            fields.display = True
            self.call_after_refresh(self._refocus)  # consent was just recorded: on to the programme

    def _refocus(self) -> None:
        focused = self.focused
        if focused is None or focused.disabled or not shown(focused):
            self.focus_first()

    def on_screen_resume(self) -> None:
        self.call_after_refresh(self._refocus)

    def focus_first(self) -> None:
        if self.detail is not None and not self.consented:
            self.set_focus(self.query_one("#record-consent", Button))
        else:
            super().focus_first()

    def action_edit_person(self) -> None:
        if self.detail is None:
            return
        from navigator.tui.forms.person import ClientEditForm

        def after(result: Any) -> None:
            if result is not None:
                self.reload()
                changed = getattr(self.app, "data_changed", None)  # the desk's screens reload too
                if changed is not None:
                    changed(self.journey_id)

        self.app.push_screen(ClientEditForm(self.ctx, self.detail.client.id), after)

    @on(Button.Pressed, "#record-consent")
    def _record_consent(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_edit_person()

    def collect(self) -> dict:
        if not self.consented:
            raise ValidationErrors(
                {"consent": "No consent to share: record the person's consent before referring on (ctrl+e)."}
            )
        return self.values()

    def save(self, v: dict) -> int:
        return J.make_onward(self.ctx, self.journey_id, v["programme"], v["referral_date"], v["note"])


class _OnwardItemForm(JourneyForm[Any]):
    """A form on one onward referral."""

    def __init__(self, ctx, onward_id: int) -> None:
        super().__init__(ctx, 0)
        self.onward_id = onward_id
        self.onward: OnwardView | None = None

    def journey_id_to_load(self) -> int:
        return queries.journey_id_for(self.ctx, onward_id=self.onward_id)

    def shows(self, detail: JourneyDetail) -> bool:
        return any(o.id == self.onward_id for o in detail.onward)

    def refresh_detail(self, detail: JourneyDetail, extra: Any) -> None:
        self.onward = next((o for o in detail.onward if o.id == self.onward_id), None)
        if self.onward is None:
            raise DomainError("That onward referral is not in this journey (it may have been removed).")
        self.set_note("#onward-text", onward_summary(self.onward))
        self.apply_onward(self.onward)

    def apply_onward(self, o: OnwardView) -> None:
        pass


class PartnerUpdateForm(_OnwardItemForm):
    """What the partner reported. Dismisses with the onward referral's new status."""

    TITLE = "Partner update"
    FORM_HEIGHT = 20
    FIELD_ALIASES = {"on": "date"}

    def compose_fields(self) -> ComposeResult:
        yield Static("", id="onward-text", classes="notice", markup=False)
        yield SelectField("kind", "Partner reported", UPDATE_OPTIONS, required=True, prompt="What happened…")
        yield DateField("date", "Date", self.clock, not_future=True)
        yield NoteField("note", "Note")

    def save(self, v: dict) -> str:
        assert self.onward is not None
        return J.partner_update(
            self.ctx, self.onward_id, v["kind"], v["date"], v["note"], expected_version=self.onward.version
        )


class FeedbackFollowUpForm(_OnwardItemForm):
    """The navigator followed the person up after a partner said they stopped. Dismisses with the onward id."""

    TITLE = "Follow up the partner's feedback"
    FORM_HEIGHT = 18
    SAVE_LABEL = "Followed up"

    def compose_fields(self) -> ComposeResult:
        yield Static("", id="onward-text", classes="notice", markup=False)
        yield NoteField("note", "What happened", hint="How you followed the person up, and what they said")

    def apply_onward(self, o: OnwardView) -> None:
        if o.feedback_pending_since is None:
            self.set_note("#onward-text", onward_summary(o) + "\nThere is no partner feedback waiting.")
        else:
            self.set_note(
                "#onward-text",
                onward_summary(o) + f"\nWaiting for follow-up since {nice_date(o.feedback_pending_since)}.",
            )

    def save(self, v: dict) -> int:
        J.follow_up_feedback(self.ctx, self.onward_id, v["note"])
        return self.onward_id
