"""The journey's steps: contact attempt, decision, start (with the first SWEMWBS), close, reassign."""

from __future__ import annotations

import re
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Select, Static

from navigator.domain import lifecycle as L
from navigator.domain.errors import DomainError, ValidationErrors
from navigator.services.casework import closing, team_tools
from navigator.services.casework import journeys as J
from navigator.services.dto import JourneyDetail, JourneyRef
from navigator.tui.forms.base import FormScreen
from navigator.tui.forms.fields import (
    DateField,
    NoteField,
    SelectField,
    SwemwbsField,
    nice_date,
)
from navigator.tui.forms.journey_base import JourneyData, JourneyForm
from navigator.tui.forms.referral import METHOD_OPTIONS

OUTCOME_OPTIONS = [(label, o.value) for o, label in L.OUTCOME_LABELS.items()]
_ATTEMPT = re.compile(r"Attempt (\d+) of (\d+): (\w+)")


# ---------------------------------------------------------------- contact


class ContactForm(JourneyForm[JourneyRef]):
    """A contact attempt: date, method, outcome, note."""

    TITLE = "Contact attempt"
    FORM_HEIGHT = 18
    FIELD_ALIASES = {"on": "date"}

    def compose_fields(self) -> ComposeResult:
        yield Static("", id="task-hint", classes="notice", markup=False)
        yield DateField("date", "Date", self.clock, not_future=True)
        yield SelectField("method", "Method", METHOD_OPTIONS, required=True, prompt="Choose the method…")
        yield SelectField("outcome", "Outcome", OUTCOME_OPTIONS, required=True, prompt="Choose the outcome…")
        yield NoteField("note", "Note")

    def on_mount(self) -> None:
        super().on_mount()
        self.set_note("#task-hint", None)

    def apply_detail(self, detail: JourneyDetail, extra: Any) -> None:
        suggested = None
        for t in detail.tasks:
            m = _ATTEMPT.search(t.detail or "")
            if m:
                suggested = m.group(3)
                self.set_note("#task-hint", f"Next: {t.detail} (due {nice_date(t.due_date)})")
                break
        method = self.field("method")
        assert isinstance(method, SelectField)
        default = suggested or detail.client.preferred_method
        if method.selected is None and default in L.ContactMethod.__members__.values():
            method.selected = default

    def collect(self) -> dict:
        return self.values()

    def save(self, v: dict) -> JourneyRef:
        return J.log_contact(self.ctx, self.journey_id, v["date"], v["method"], v["outcome"], v["note"])


# ---------------------------------------------------------------- decision

DECISION_OPTIONS = [("Accepted", L.Decision.ACCEPTED.value), ("Rejected", L.Decision.REJECTED.value)]
REJECT_OPTIONS = [(label, r.value) for r, label in L.REJECT_LABELS.items()]


class DecisionForm(JourneyForm[JourneyRef]):
    """Accept or reject the referral (a rejection needs a reason)."""

    TITLE = "Decision"
    FORM_HEIGHT = 16

    def compose_fields(self) -> ComposeResult:
        yield Static("", id="age-warning", classes="notice", markup=False)
        yield SelectField("decision", "Decision", DECISION_OPTIONS, required=True, prompt="Accept or reject…")
        yield DateField("decision_date", "Date", self.clock, not_future=True)
        with Vertical(id="reject-box"):
            yield SelectField("reject_reason", "Reason", REJECT_OPTIONS, required=True, prompt="Why is it rejected…")

    def on_mount(self) -> None:
        super().on_mount()
        self.set_note("#age-warning", None)
        self.query_one("#reject-box").display = False

    def apply_detail(self, detail: JourneyDetail, extra: Any) -> None:
        if detail.under_17:
            self.set_note(
                "#age-warning",
                f"Under {L.MIN_AGE} when the referral was received: it can only be "
                f"rejected, with reason '{L.REJECT_LABELS[L.RejectReason.UNDER_17]}'.",
            )
            decision = self.field("decision")
            assert isinstance(decision, SelectField)
            decision.selected = L.Decision.REJECTED.value
            reason = self.field("reject_reason")
            assert isinstance(reason, SelectField)
            reason.selected = L.RejectReason.UNDER_17.value

    @on(Select.Changed, "#f-decision")
    def _decision_changed(self, event: Select.Changed) -> None:
        self._show_reason(event.value)

    def choice_made(self, select: Select) -> None:
        if select.id == "f-decision":
            self._show_reason(select.value)

    def _show_reason(self, value: Any) -> None:
        self.query_one("#reject-box").display = value == L.Decision.REJECTED.value

    def collect(self) -> dict:
        v = self.values()
        if v["decision"] != L.Decision.REJECTED.value:
            v["reject_reason"] = None
        return v

    def save(self, v: dict) -> JourneyRef:
        assert self.detail is not None
        return J.decide(
            self.ctx,
            self.journey_id,
            v["decision"],
            v["decision_date"],
            v["reject_reason"],
            expected_version=self.detail.version,
        )


# ---------------------------------------------------------------- start


class StartForm(JourneyForm[JourneyRef]):
    """The person signs up: start date and the first SWEMWBS."""

    TITLE = "Start (sign-up) with the first SWEMWBS"
    FORM_HEIGHT = 28
    WANTS_MEASURES = True
    FIELD_ALIASES = {"items": "swemwbs", "date": "start_date"}

    def compose_fields(self) -> ComposeResult:
        yield DateField("start_date", "Start date", self.clock, not_future=True)
        yield SwemwbsField("swemwbs", "SWEMWBS", mode="skippable", skip_text="Not taken at start")

    def save(self, v: dict) -> JourneyRef:
        assert self.detail is not None
        return J.start(
            self.ctx, self.journey_id, v["start_date"], swemwbs_items=v["swemwbs"], expected_version=self.detail.version
        )


# ---------------------------------------------------------------- close


class CloseForm(JourneyForm[JourneyRef]):
    """Close: a reason that fits the state; completed asks for outcome evidence and the end SWEMWBS.

    Goals still being worked on and onward referrals the partner has not ended are listed (issue 15),
    each with what happened to it (a choice required for each); the answers are saved with the close,
    in one transaction (``casework/closing.py``).
    """

    TITLE = "Close the journey"
    FORM_HEIGHT = 40
    WANTS_MEASURES = True
    FIELD_ALIASES = {"items": "swemwbs", "date": "end_date"}

    def compose_fields(self) -> ComposeResult:
        yield SelectField("end_reason", "Reason", required=True, prompt="Why is it closing…")
        yield DateField("end_date", "End date", self.clock, not_future=True)
        with Vertical(id="completed-box"):
            yield NoteField(
                "evidence",
                "Outcome evidence",
                required=True,
                hint="What the person achieved (goals met, SWEMWBS change, partners completed)",
            )
            yield SwemwbsField("swemwbs", "End SWEMWBS", mode="skippable", skip_text="Not taken at the end")
        with Vertical(id="loose-box"):
            yield Static("", id="loose-text", classes="notice", markup=False)
            kept = self.kept_data()  # the journey is on hand: its questions are laid out with the form
            if isinstance(kept, JourneyData):
                self._composed_loose = closing.loose_ends(kept.detail.goals, kept.detail.onward)
                yield from self._loose_fields(self._composed_loose)
        yield Static("", id="close-note", classes="notice", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.loose: tuple[closing.LooseEnd, ...] = ()
        self.query_one("#completed-box").display = False
        self.query_one("#loose-box").display = False
        self.set_note("#close-note", None)

    @staticmethod
    def _loose_fields(ends: tuple[closing.LooseEnd, ...]) -> list[SelectField]:
        goals = onwards = 0
        fields = []
        for e in ends:
            if e.kind == "goal":
                goals += 1
                label, hint = f"Goal {goals}", f"{e.label} (now {e.status_label.lower()})"
            else:
                onwards += 1
                label, hint = f"Onward {onwards}", f"{e.label} (now {e.status_label})"
            fields.append(SelectField(e.field, label, e.choices, required=True, prompt="What happened…", hint=hint))
        return fields

    async def _ask_about(self, ends: tuple[closing.LooseEnd, ...]) -> None:
        """One required choice per open goal and onward referral: laid out with the form when the journey
        was on hand (compose_fields), else mounted once it is loaded."""
        box = self.query_one("#loose-box", Vertical)
        if ends != getattr(self, "_composed_loose", None):
            await box.query(SelectField).remove()  # laid out for another answer (the journey changed)
            self._composed_loose = ends
            await box.mount_all(self._loose_fields(ends))
        self._show_loose(ends)

    def _show_loose(self, ends: tuple[closing.LooseEnd, ...]) -> None:
        n = len(ends)
        self.query_one("#loose-text", Static).update(
            f"Still open: {n} item{'s' if n != 1 else ''}. Say what happened to each; it is saved with the close."
        )
        self.query_one("#loose-box", Vertical).display = True

    def snapshot(self) -> Any:
        # the questions about open items appear after loading: unanswered, they are not a change
        return tuple(
            (name, value)
            for name, value in super().snapshot()
            if not (name.startswith(("goal_", "onward_")) and value is None)
        )

    def apply_detail(self, detail: JourneyDetail, extra: Any) -> None:
        if not detail.end_reasons:
            raise DomainError(f"This journey is {detail.state_label.lower()}: there is nothing to close.")
        reason = self.field("end_reason")
        assert isinstance(reason, SelectField)
        reason.set_options([(L.END_LABELS[L.EndReason(r)], r) for r in detail.end_reasons], value=reason.selected)
        if detail.state == L.State.STARTED.value:
            self.set_note("#close-note", "A started journey ends as completed or ends early.")
        else:
            self.set_note("#close-note", "A journey that never started closes without start.")
        self.loose = closing.loose_ends(detail.goals, detail.onward)
        if self.loose and self.loose == getattr(self, "_composed_loose", None):
            self._show_loose(self.loose)  # laid out with the form: shown in its first frame
        elif self.loose:
            self.call_later(self._ask_about, self.loose)

    @on(Select.Changed, "#f-end_reason")
    def _reason_changed(self, event: Select.Changed) -> None:
        self._show_for_reason(event.value)

    def choice_made(self, select: Select) -> None:
        if select.id == "f-end_reason":
            self._show_for_reason(select.value)

    def _show_for_reason(self, value: Any) -> None:
        completed = value == L.EndReason.COMPLETED.value
        self.query_one("#completed-box").display = completed
        if value == L.EndReason.NO_RESPONSE.value:
            self.set_note("#close-note", "Closing for no response: Today will ask you to tell the referrer (w, i).")

    def collect(self) -> dict:
        v = self.values()
        v.setdefault("evidence", None)
        v.setdefault("swemwbs", None)
        v["goals"] = {e.id: v.pop(e.field) for e in self.loose if e.kind == "goal" and e.field in v}
        v["onwards"] = {e.id: v.pop(e.field) for e in self.loose if e.kind == "onward" and e.field in v}
        return v

    def save(self, v: dict) -> JourneyRef:
        assert self.detail is not None
        return closing.close_with_loose_ends(
            self.ctx,
            self.journey_id,
            v["end_date"],
            v["end_reason"],
            evidence=v["evidence"],
            swemwbs_end=v["swemwbs"],
            goals=v["goals"],
            onwards=v["onwards"],
            expected_version=self.detail.version,
        )


# ---------------------------------------------------------------- reassign


class ReassignForm(FormScreen[list]):
    """Move one or many journeys to another navigator. Dismisses with the list of JourneyRefs.

    The navigators of the journeys' lots come first; choosing someone outside those lots shows a
    warning before saving; after saving, a message says what moved (services/casework/team_tools.py)."""

    TITLE = "Reassign"
    FORM_HEIGHT = 12
    SAVE_LABEL = "Reassign"
    FIELD_ALIASES = {"journeys": "navigator"}

    def __init__(self, ctx, journey_ids: list[int]) -> None:
        super().__init__(ctx)
        self.journey_ids = list(journey_ids)
        self.choices: team_tools.ReassignChoices | None = None

    def compose_fields(self) -> ComposeResult:
        yield SelectField("navigator", "To navigator", required=True, prompt="Choose the navigator…")

    def on_mount(self) -> None:
        super().on_mount()
        n = len(self.journey_ids)
        self.set_context(f"{n} journey{'s' if n != 1 else ''} selected; their follow-ups move with them.")

    def load(self) -> team_tools.ReassignChoices:
        return team_tools.reassign_choices(self.ctx, self.journey_ids)

    def apply(self, data: team_tools.ReassignChoices) -> None:
        self.choices = data
        nav = self.field("navigator")
        assert isinstance(nav, SelectField)
        lots = ", ".join(data.lots)
        nav.set_options(
            [
                (f"{c.name} ({c.username})" + ("" if c.in_lot else f", {', '.join(c.lots) or 'no lot'}"), c.username)
                for c in data.choices
            ]
        )
        if lots:
            nav.set_hint(f"{lots} first; the others work in other lots.")
        n, f = data.journeys, data.follow_ups
        self.set_context(
            f"{n} journey{'s' if n != 1 else ''} selected ({lots or 'no lot'}); "
            f"their {f} open follow-up{'s' if f != 1 else ''} move with them."
        )

    @on(Select.Changed, "#f-navigator")
    def _navigator_chosen(self, event: Select.Changed) -> None:
        nav = self.field("navigator")
        if self.choices is None or event.value is Select.NULL:
            nav.set_hint(None)
            return
        warning = self.choices.across_lots(str(event.value))
        nav.set_hint(warning, warning=bool(warning))

    def collect(self) -> dict:
        if not self.journey_ids:
            raise ValidationErrors({"journeys": "Choose at least one journey to reassign."})
        return self.values()

    def save(self, v: dict) -> list[JourneyRef]:
        return J.reassign(self.ctx, self.journey_ids, v["navigator"])

    @on(FormScreen.Saved)
    def _say_what_moved(self, message: FormScreen.Saved) -> None:
        """Runs before the form closes (the base class's handler dismisses it): a message says what moved."""
        refs = message.result
        if refs and self.choices is not None:
            nav = self.field("navigator")
            assert isinstance(nav, SelectField)
            name = next((c.name for c in self.choices.choices if c.username == nav.selected), "them")
            self.app.notify(team_tools.reassign_summary(refs, name, self.choices.follow_ups), title="Reassigned")


__all__ = ["CloseForm", "ContactForm", "DecisionForm", "ReassignForm", "StartForm"]
