"""Amend a recorded item of a journey (issue 15): choose it, correct its values, say why.

The same rules as a new entry apply (services/casework/corrections.py replays the journey's
history with the item amended); a refusal shows beside the field it names. When the change
would move figures of a monthly return already sent, the form says which month(s) and
figures before saving, and saves only once the person confirms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Select, Static

from navigator.domain import lifecycle as L
from navigator.domain.errors import DomainError
from navigator.services.casework import corrections as C
from navigator.services.dto import JourneyDetail, ReferenceData
from navigator.services.setup import reference as setup
from navigator.tui.forms.base import DiscardDialog
from navigator.tui.forms.fields import (
    DateField,
    NoteField,
    Ons4Field,
    SelectField,
    SwemwbsField,
    TextField,
    nice_date,
)
from navigator.tui.forms.journey_base import JourneyForm
from navigator.tui.forms.referral import METHOD_OPTIONS
from navigator.tui.forms.steps import DECISION_OPTIONS, OUTCOME_OPTIONS, REJECT_OPTIONS

END_OPTIONS = [(label, r.value) for r, label in L.END_LABELS.items()]
PARTNER_OPTIONS = [(label, k.value) for k, label in L.PARTNER_UPDATE_LABELS.items()]

# for each kind of item: this form's field -> the step's attribute it sets
KIND_FIELDS: dict[str, dict[str, str]] = {
    "receive": {"on": "received_date", "referrer": "referrer", "referral_reason": "reason"},
    "contact": {"on": "on", "method": "method", "outcome": "outcome", "note": "note"},
    "decide": {"on": "on", "decision": "decision", "reject_reason": "reason"},
    "start": {"on": "on"},
    "close": {"on": "on", "end_reason": "reason", "evidence": "evidence"},
    "review": {"on": "on", "note": "note"},
    "measure": {"on": "on", "swemwbs": "swemwbs", "ons4": "swemwbs"},
    "onward": {"on": "on", "programme_id": "programme_id", "note": "note"},
    "partner_update": {"on": "on", "kind": "kind", "note": "note"},
}
BOXES = ("receive", "contact", "decide", "close", "measure", "onward", "partner_update")
WITH_NOTE = ("contact", "review", "onward", "partner_update")
MAX_FIGURES = 8  # figures listed in the warning; the rest counted


class SentReturnsMove(DomainError):
    """The amendment would move figures of returns already sent: the person confirms first."""

    def __init__(self, preview: C.AmendPreview) -> None:
        super().__init__("This changes figures of a monthly return already sent.")
        self.preview = preview


def warning_text(preview: C.AmendPreview) -> str:
    """The months and figures an amendment moves, as the person reads them before saving."""
    lines = ["This changes figures of monthly returns already sent:"]
    shown = 0
    total = sum(len(m.figures) for m in preview.months)
    for m in preview.months:
        lines.append(f"{m.month} (sent {nice_date(m.sent_at.date())}):")
        for f in m.figures:
            if shown == MAX_FIGURES:
                break
            where = "service" if f.level == "service" else (f.lot if f.level == "lot" else f"{f.lot}, {f.locality}")
            lines.append(f"  {f.measure} ({where}): {f.sent_text or 'blank'} -> {f.today_text or 'blank'}")
            shown += 1
    if total > shown:
        lines.append(f"  ... and {total - shown} more")
    lines.append("The return already sent stays as it was; `navigator returns show` lists what moved.")
    return "\n".join(lines)


@dataclass(frozen=True)
class _Extra:
    choices: C.AmendChoices
    ref: ReferenceData


class AmendForm(JourneyForm[C.Amendment]):
    """Correct a recorded item (referral, contact, decision, start, measure, review, onward referral,
    partner update, closure) with a reason; warns before moving a return already sent."""

    TITLE = "Amend a record"
    SAVE_LABEL = "Amend"
    FORM_HEIGHT = 44
    WANTS_MEASURES = True

    def __init__(self, ctx, journey_id: int, key: str | None = None) -> None:
        super().__init__(ctx, journey_id)
        self.preselect = key
        self.items: dict[str, C.AmendableItem] = {}
        self.version: int | None = None
        self._confirmed: Any = None  # the payload the person confirmed despite the warning
        self._shown_item: str | None = None
        self.FIELD_ALIASES = {"why": "why"}

    def compose_fields(self) -> ComposeResult:
        yield SelectField("item", "Record to amend", required=True, prompt="Choose what to correct…")
        with Vertical(id="amend-fields"):
            yield DateField("on", "Date", self.clock, value=None, not_future=True)
            with Vertical(id="box-receive"):
                yield TextField("referrer", "Referrer", max_len=200)
                yield NoteField("referral_reason", "Reason for referral")
            with Vertical(id="box-contact"):
                yield SelectField("method", "Method", METHOD_OPTIONS, required=True, prompt="Choose the method…")
                yield SelectField("outcome", "Outcome", OUTCOME_OPTIONS, required=True, prompt="Choose the outcome…")
            with Vertical(id="box-decide"):
                yield SelectField("decision", "Decision", DECISION_OPTIONS, required=True, prompt="Accept or reject…")
                with Vertical(id="reject-box"):
                    yield SelectField("reject_reason", "Rejection reason", REJECT_OPTIONS, required=True)
            with Vertical(id="box-close"):
                yield SelectField("end_reason", "End reason", END_OPTIONS, required=True)
                yield NoteField("evidence", "Outcome evidence")
            with Vertical(id="box-measure"):
                yield SwemwbsField("swemwbs", "SWEMWBS")
                yield Ons4Field("ons4", "ONS4")
            with Vertical(id="box-onward"):
                yield SelectField("programme_id", "Programme", required=True, prompt="Choose the programme…")
            with Vertical(id="box-partner_update"):
                yield SelectField("kind", "Partner reported", PARTNER_OPTIONS, required=True)
            with Vertical(id="box-note"):
                yield NoteField("note", "Note")
        yield NoteField("why", "Reason for the change", required=True, hint="Why the record was wrong (audited)")
        yield Static("", id="sent-warning", classes="notice", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.set_note("#sent-warning", None)
        self._show_kind(None)

    # ------------------------------------------------------------ loading
    def load_extra(self, detail: JourneyDetail) -> _Extra:
        return _Extra(C.amendable(self.ctx, detail.id), setup.reference(self.ctx))

    def refresh_detail(self, detail: JourneyDetail, extra: Any) -> None:
        assert isinstance(extra, _Extra)
        self.version = extra.choices.version
        self.items = {i.key: i for i in extra.choices.items}
        item = self.field("item")
        assert isinstance(item, SelectField)
        item.set_options([(i.label, i.key) for i in extra.choices.items], value=item.selected)
        prog = self.field("programme_id")
        assert isinstance(prog, SelectField)
        prog.set_options([(p.label, p.id) for p in extra.ref.programmes], value=prog.selected)

    def apply_detail(self, detail: JourneyDetail, extra: Any) -> None:
        if not self.items:
            raise DomainError("This journey has nothing recorded that can be amended.")
        if self.preselect in self.items:
            item = self.field("item")
            assert isinstance(item, SelectField)
            item.selected = self.preselect
            self._fill(self.items[self.preselect])

    # ------------------------------------------------------------ the chosen item
    @on(Select.Changed, "#f-item")
    def _item_changed(self, event: Select.Changed) -> None:
        self._chosen(event.value)

    @on(Select.Changed, "#f-decision")
    def _decision_changed(self, event: Select.Changed) -> None:
        self.query_one("#reject-box").display = event.value == L.Decision.REJECTED.value

    def choice_made(self, select: Select) -> None:
        if select.id == "f-item":
            self._chosen(select.value)
        elif select.id == "f-decision":
            self.query_one("#reject-box").display = select.value == L.Decision.REJECTED.value

    def _chosen(self, key: Any) -> None:
        item = self.items.get(key) if isinstance(key, str) else None
        if item is None:
            self._show_kind(None)
        elif self._shown_item != item.key:
            self._fill(item)

    def _show_kind(self, item: C.AmendableItem | None) -> None:
        kind = item.kind if item else None
        self._shown_item = item.key if item else None
        self.query_one("#amend-fields").display = kind is not None
        for box in BOXES:
            self.query_one(f"#box-{box}").display = box == kind
        self.query_one("#box-note").display = kind in WITH_NOTE
        if kind == "measure" and item is not None:
            value = item.values.get("swemwbs")
            ons4 = item.values.get("kind") == "ons4"
            self.field("ons4").display = ons4
            self.field("swemwbs").display = not ons4 and not isinstance(value, int)
        if kind is not None:
            self.FIELD_ALIASES = {attr: name for name, attr in KIND_FIELDS[kind].items() if attr != "swemwbs"}
            self.FIELD_ALIASES["why"] = "why"
            if kind == "measure":
                self.FIELD_ALIASES["swemwbs"] = "ons4" if item and item.values.get("kind") == "ons4" else "swemwbs"
                self.FIELD_ALIASES["items"] = self.FIELD_ALIASES["swemwbs"]

    def _fill(self, item: C.AmendableItem) -> None:
        """Show the item's fields, holding what is recorded."""
        self._show_kind(item)
        self.set_note("#sent-warning", None)
        v = item.values
        on = self.field("on")
        assert isinstance(on, DateField)
        day = v.get("received_date") or v.get("on")
        on.text = day.isoformat() if isinstance(day, date) else ""
        for name, attr in KIND_FIELDS[item.kind].items():
            if name == "on":
                continue
            f = self.field(name)
            value = v.get(attr)
            if isinstance(f, SelectField):
                f.selected = value
            elif isinstance(f, TextField):
                f.text = value or ""
            elif isinstance(f, NoteField):
                f.control.load_text(value or "")
            elif isinstance(f, SwemwbsField) and isinstance(value, tuple):
                f.set_items(value)
            elif isinstance(f, Ons4Field) and isinstance(value, tuple):
                for inp, answer in zip(f.inputs, value, strict=False):
                    inp.value = "" if answer is None else str(answer)
        if item.kind == "decide":
            self.query_one("#reject-box").display = v.get("decision") == L.Decision.REJECTED.value

    # ------------------------------------------------------------ saving
    def collect(self) -> tuple[str, dict[str, Any], str]:
        v = self.values()
        item = self.items.get(v.get("item"))  # type: ignore[arg-type]
        if item is None:
            raise DomainError("Choose what to correct.", field="item")
        values: dict[str, Any] = {}
        for name, attr in KIND_FIELDS[item.kind].items():
            if name in v:
                values[attr] = v[name]
        if item.kind == "decide" and values.get("decision") != L.Decision.REJECTED.value:
            values["reason"] = None
        changed = {k: x for k, x in values.items() if item.values.get(k) != x}
        return item.key, changed, v["why"] or ""

    def save(self, payload: tuple[str, dict[str, Any], str]) -> C.Amendment:
        key, values, why = payload
        if payload != self._confirmed:
            preview = C.amend_preview(self.ctx, self.journey_id, key, values, why)
            if preview.moves_sent:
                raise SentReturnsMove(preview)
        return C.amend(self.ctx, self.journey_id, key, values, why, expected_version=self.version)

    def on_save_error(self, payload: Any, exc: BaseException) -> Any:
        return payload

    def after_failure(self, exc: BaseException, extra: Any) -> None:
        if not isinstance(exc, SentReturnsMove):
            return
        text = warning_text(exc.preview)
        self.set_note("#sent-warning", text)
        self.set_message("Returns already sent would change: confirm to save, or keep editing.", info=True)

        def chosen(go: bool | None) -> None:
            if go:
                self._confirmed = extra
                self.action_save()

        self.app.push_screen(DiscardDialog(text + "\n\nSave the amendment anyway?", action="Save anyway"), chosen)


__all__ = ["AmendForm", "SentReturnsMove", "warning_text"]
