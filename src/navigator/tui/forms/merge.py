"""Merge with… (team leads): this person's record and another record of the same person.

Opened from the Journey screen (M). The other record is found as in Find (name, reference, date of
birth, NHS number, postcode); choosing it shows both people and what would move, or why the merge is
refused. Saving asks once more in a dialog that shows both people and what moves, then merges
(services/casework/merge.py). Dismisses with the MergePlan of what moved.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Select, Static

from navigator.domain.errors import DomainError, ValidationErrors
from navigator.services.casework import merge, queries
from navigator.services.casework.merge import MergePlan, PersonBrief
from navigator.services.dto import FindHit
from navigator.tui.forms.base import FormScreen
from navigator.tui.forms.fields import SelectField, TextField
from navigator.tui.widgets import fmt_date


def describe(b: PersonBrief) -> str:
    born = fmt_date(b.date_of_birth)
    nhs = f", NHS {b.nhs_number}" if b.nhs_number else ""
    open_ = f"; open journey received {fmt_date(b.open_journey)}" if b.open_journey else ""
    return f"{b.client_ref} {b.name}, born {born}{nhs}, {b.locality}: {b.journeys} journey(s){open_}"


def plan_text(plan: MergePlan) -> str:
    return f"Keep:  {describe(plan.keep)}\nMerge: {describe(plan.merged)}\nMoves: {plan.moves()}."


class MergeConfirm(ModalScreen[bool]):
    """Both people and what moves; merge (m) or go back (escape). Dismisses with True to merge."""

    BINDINGS = [Binding("escape", "back", "Go back"), Binding("m", "merge", "Merge")]
    DEFAULT_CSS = """
    MergeConfirm { align: center middle; background: $background 60%; }
    MergeConfirm #merge-box { width: 90%; max-width: 100; height: auto; background: $surface;
        border: thick $warning; padding: 1 2; }
    MergeConfirm #merge-confirm-text { height: auto; margin: 0 0 1 0; }
    MergeConfirm Horizontal { height: auto; }
    MergeConfirm Button { margin: 0 2 0 0; }
    MergeConfirm Button:focus { text-style: bold reverse; }
    """

    def __init__(self, plan: MergePlan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical(id="merge-box"):
            yield Static(
                plan_text(self.plan) + f"\n\n{self.plan.merged.client_ref} will lead to {self.plan.keep.client_ref}. "
                "A merge cannot be undone.",
                id="merge-confirm-text",
                markup=False,
            )
            with Horizontal():
                yield Button("Go back", id="merge-back", variant="primary", compact=True)
                yield Button("Merge", id="merge-yes", variant="error", compact=True)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#merge-back", Button))

    def action_back(self) -> None:
        self.dismiss(False)

    def action_merge(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#merge-back")
    def _back(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(False)

    @on(Button.Pressed, "#merge-yes")
    def _yes(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(True)


class MergeForm(FormScreen[MergePlan]):
    """Merge this person's record and another one (team leads, within their lots)."""

    TITLE = "Merge with another record"
    SAVE_LABEL = "Merge…"
    FIELD_ALIASES = {"merged_ref": "other", "keep_ref": "other"}

    class Found(Message):
        def __init__(self, query: str, hits: list[FindHit] | BaseException) -> None:
            super().__init__()
            self.query = query
            self.hits = hits

    class Previewed(Message):
        def __init__(self, key: tuple, plan: MergePlan | BaseException) -> None:
            super().__init__()
            self.key = key
            self.plan = plan

    def __init__(self, ctx, client_ref: str) -> None:
        super().__init__(ctx)
        self.client_ref = client_ref
        self.plan: MergePlan | None = None  # the preview of the current choice
        self.refusal: DomainError | None = None  # or why it is refused
        self._search_timer: Timer | None = None
        self._checking: tuple[str, str] | None = None  # the pair last sent to be checked
        self._confirmed = False

    def compose_fields(self) -> ComposeResult:
        yield TextField(
            "search",
            "Find the other",
            placeholder="name, reference, date of birth, NHS number or postcode",
            hint="As in Find; the records found are listed below.",
        )
        yield SelectField("other", "Other record", required=True, prompt="Type in Find the other first…")
        yield SelectField("keep", "Keep", required=True)
        yield TextField("reason", "Why", required=True, placeholder="why these are the same person", max_len=400)
        yield Static("", id="merge-preview", markup=False)

    def load(self) -> None:
        return None

    def apply(self, data: None) -> None:
        self.set_context(f"Merging {self.client_ref} and another record of the same person.")
        self.set_note("#merge-preview", None)
        self._keep_options(None)

    def _keep_options(self, other: str | None) -> None:
        keep = self.field("keep")
        assert isinstance(keep, SelectField)
        options = [(f"This record ({self.client_ref}): the other merges into it", self.client_ref)]
        if other:
            options.append((f"The other record ({other}): this one merges into it", other))
        current = keep.selected if keep.selected in (self.client_ref, other) else self.client_ref
        keep.set_options(options, current)

    # ------------------------------------------------------------ finding the other record
    SEARCH_PAUSE_S = 0.4  # searched once typing pauses (each search is audited, as in Find)

    @on(Input.Changed, "#field-search Input")
    def _search_changed(self, event: Input.Changed) -> None:
        query = event.value.strip()
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None
        if len(query) >= 2:
            self._search_timer = self.set_timer(self.SEARCH_PAUSE_S, lambda: self._find(query))

    @work(thread=True, exclusive=True, group="merge-find")
    def _find(self, query: str) -> None:
        try:
            hits: list[FindHit] | BaseException = queries.find(self.ctx, query, limit=20)
        except Exception as exc:
            hits = exc
        self.post_message(self.Found(query, hits))

    @on(Found)
    def _found(self, message: Found) -> None:
        message.stop()
        search = self.field("search")
        if message.query != (search.control.value.strip() if isinstance(search.control, Input) else ""):
            return  # an older search
        other = self.field("other")
        assert isinstance(other, SelectField)
        if isinstance(message.hits, BaseException):
            other.set_error(str(message.hits))
            return
        hits = [h for h in message.hits if h.client_ref != self.client_ref]
        options = [
            (
                f"{h.client_ref} {h.name}"
                + (f", born {fmt_date(h.date_of_birth)}" if h.date_of_birth else "")
                + f", {h.locality}",
                h.client_ref,
            )
            for h in hits
        ]
        other.set_options(options, options[0][1] if len(options) == 1 else None)
        other.control.prompt = "Choose the other record…" if options else "Nobody found: try another search"
        if len(options) == 1:
            self._choice_changed()

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        if event.select.id in ("f-other", "f-keep"):
            if event.select.id == "f-other":
                other = self.field("other")
                assert isinstance(other, SelectField)
                self._keep_options(other.selected)
            self._choice_changed()

    def _pair(self) -> tuple[str, str] | None:
        other, keep = self.field("other"), self.field("keep")
        assert isinstance(other, SelectField) and isinstance(keep, SelectField)
        if not other.selected:
            return None
        kept = keep.selected or self.client_ref
        merged = other.selected if kept == self.client_ref else self.client_ref
        return kept, merged

    def _choice_changed(self) -> None:
        pair = self._pair()
        if pair is not None and pair == self._checking:
            return  # already checked (or being checked): a choice set in code also says it changed
        self._checking = pair
        self.plan = None
        self.refusal = None
        self._confirmed = False
        self.field("other").set_error(None)
        if pair is None:
            self.set_note("#merge-preview", None)
            return
        self.set_note("#merge-preview", "Checking…")
        self._preview(pair)

    @work(thread=True, exclusive=True, group="merge-preview")
    def _preview(self, pair: tuple[str, str]) -> None:
        try:
            plan: MergePlan | BaseException = merge.preview(self.ctx, *pair)
        except Exception as exc:
            plan = exc
        self.post_message(self.Previewed(pair, plan))

    @on(Previewed)
    def _previewed(self, message: Previewed) -> None:
        message.stop()
        if message.key != self._pair():
            return  # the choice changed meanwhile
        if isinstance(message.plan, BaseException):
            exc = message.plan
            text = exc.message if isinstance(exc, DomainError) else f"Cannot merge ({type(exc).__name__})."
            self.set_note("#merge-preview", f"Refused: {text}")
            self.refusal = exc if isinstance(exc, DomainError) else DomainError(text)
            if isinstance(exc, DomainError) and exc.field in self.FIELD_ALIASES:
                self.field("other").set_error(exc.message)
            return
        self.plan = message.plan
        self.set_note("#merge-preview", plan_text(message.plan))

    # ------------------------------------------------------------ saving
    def collect(self) -> dict:
        v = self.values("other", "keep", "reason")
        pair = self._pair()
        if pair is None:
            raise ValidationErrors({"other": "Choose the other record."})
        if self.refusal is not None:
            raise self.refusal
        if self.plan is None or (self.plan.keep.client_ref, self.plan.merged.client_ref) != pair:
            raise DomainError("Wait for the check of the two records (shown below) before merging.")
        return {"keep": pair[0], "merged": pair[1], "reason": v["reason"]}

    def action_save(self) -> None:
        """Ask first, in a dialog showing both people and what moves."""
        if self._confirmed or self.saving:
            super().action_save()
            return
        try:
            self.clear_errors()
            self.collect()
        except DomainError as exc:
            self.show_failure(exc)
            return
        assert self.plan is not None  # collect checked it

        def chosen(yes: bool | None) -> None:
            if yes:
                self._confirmed = True
                super(MergeForm, self).action_save()

        self.app.push_screen(MergeConfirm(self.plan), chosen)

    def save(self, v: dict) -> MergePlan:
        return merge.merge(self.ctx, v["keep"], v["merged"], v["reason"])

    def after_failure(self, exc: BaseException, extra) -> None:
        self._confirmed = False
        self._checking = None  # the records may have changed: check the pair again
        self._choice_changed()


__all__ = ["MergeConfirm", "MergeForm"]
