"""The wellbeing action plan: goals (add, edit, progress), reviews, and outcome measures."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Select, Static

from navigator.domain import lifecycle as L
from navigator.domain.errors import DomainError, ValidationErrors
from navigator.services.casework import journeys as J
from navigator.services.casework import queries
from navigator.services.dto import GoalView, JourneyDetail, JourneyRef
from navigator.services.setup import reference as setup
from navigator.tui.forms.fields import (
    DateField,
    NoteField,
    Ons4Field,
    SelectField,
    SwemwbsField,
    TextField,
    nice_date,
)
from navigator.tui.forms.journey_base import JourneyData, JourneyForm, journey_context, kept_reference

STATUS_OPTIONS = [(label, s.value) for s, label in L.GOAL_LABELS.items()]


def _find_goal(detail: JourneyDetail, goal_id: int | None) -> GoalView:
    goal = next((g for g in detail.goals if g.id == goal_id), None)
    if goal is None:
        raise DomainError("That goal is not in this journey's plan (it may have been removed).")
    return goal


# ---------------------------------------------------------------- goals


class GoalForm(JourneyForm[int]):
    """Add a goal to the plan, or edit one. Dismisses with the goal's id."""

    TITLE = "Plan goal"
    FORM_HEIGHT = 16

    def __init__(self, ctx, journey_id: int, goal_id: int | None = None) -> None:
        super().__init__(ctx, journey_id)
        self.goal_id = goal_id
        self.goal: GoalView | None = None

    def compose_fields(self) -> ComposeResult:
        yield SelectField("outcome", "Personal outcome", required=True, prompt="Choose the outcome…")
        yield TextField(
            "statement",
            "Goal",
            required=True,
            max_len=1000,
            placeholder="I want to…",
            parse=L.check_goal_statement,
            hint="An 'I' statement, in the person's own words",
        )
        yield DateField("target_date", "Target date", self.clock, value=None, required=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#form-title", Static).update("Edit plan goal" if self.goal_id else "Add a plan goal")

    def load_extra(self, detail: JourneyDetail) -> Any:
        return setup.reference(self.ctx)

    def preload(self) -> JourneyData | None:
        # a goal being edited fills its wording from the stored text: it waits for it
        return None if self.goal_id is not None else super().preload()

    def preload_extra(self, detail: JourneyDetail) -> Any:
        return kept_reference(self.app)

    def remember(self, data: Any) -> None:
        super().remember(data)
        self.keep(reference=data.extra)

    def apply_detail(self, detail: JourneyDetail, ref: Any) -> None:
        outcome = self.field("outcome")
        assert isinstance(outcome, SelectField)
        outcome.set_options([(o.name, o.code) for o in ref.outcomes])
        if self.goal_id is not None:
            goal = self.goal
            assert goal is not None  # refresh_detail found it
            code = next((o.code for o in ref.outcomes if o.name == goal.outcome), None)
            if code:
                outcome.selected = code
            self.field("statement").text = goal.statement  # type: ignore[attr-defined]
            if goal.target_date:
                self.field("target_date").text = goal.target_date.isoformat()  # type: ignore[attr-defined]
                self.set_context(journey_context(detail) + " · empty the target date to remove it")

    def refresh_detail(self, detail: JourneyDetail, extra: Any) -> None:
        if self.goal_id is not None:
            self.goal = _find_goal(detail, self.goal_id)

    def save(self, v: dict) -> int:
        if self.goal_id is None:
            return J.add_goal(self.ctx, self.journey_id, v["outcome"], v["statement"], v["target_date"])
        assert self.goal is not None
        J.update_goal(
            self.ctx,
            self.goal_id,
            statement=v["statement"],
            target_date=v["target_date"],
            outcome=v["outcome"],
            expected_version=self.goal.version,
            # a target date emptied is removed (issue 15); None alone would leave it as it is
            clear_target=v["target_date"] is None and self.goal.target_date is not None,
        )
        return self.goal_id


class GoalProgressForm(JourneyForm[int]):
    """Move a goal's status and/or add a progress note. Dismisses with the goal's id."""

    TITLE = "Goal progress"
    FORM_HEIGHT = 22
    FIELD_ALIASES = {"on": "on"}

    def __init__(self, ctx, goal_id: int) -> None:
        super().__init__(ctx, 0)
        self.goal_id = goal_id
        self.goal: GoalView | None = None

    def journey_id_to_load(self) -> int:
        return queries.journey_id_for(self.ctx, goal_id=self.goal_id)

    def compose_fields(self) -> ComposeResult:
        yield Static("", id="goal-text", classes="notice", markup=False)
        yield SelectField("status", "Status", STATUS_OPTIONS, required=True)
        yield DateField("on", "Date", self.clock, not_future=True)
        yield NoteField("note", "Progress note")

    def refresh_detail(self, detail: JourneyDetail, extra: Any) -> None:
        self.goal = _find_goal(detail, self.goal_id)
        g = self.goal
        target = f" · target {nice_date(g.target_date)}" if g.target_date else ""
        last = f"\nLast note ({nice_date(g.notes[-1][0])}): {g.notes[-1][1]}" if g.notes else ""
        self.set_note("#goal-text", f"{g.statement}\n{g.outcome} · {g.status_label}{target}{last}")

    def apply_detail(self, detail: JourneyDetail, extra: Any) -> None:
        assert self.goal is not None
        g = self.goal
        status = self.field("status")
        assert isinstance(status, SelectField)
        status.selected = g.status

    def collect(self) -> dict:
        v = self.values()
        assert self.goal is not None
        if v["status"] == self.goal.status and not v["note"]:
            raise ValidationErrors({"note": "Change the status or write a progress note."})
        return v

    def save(self, v: dict) -> int:
        assert self.goal is not None
        status = v["status"] if v["status"] != self.goal.status else None
        J.update_goal(
            self.ctx, self.goal_id, status=status, note=v["note"], on=v["on"], expected_version=self.goal.version
        )
        return self.goal_id


# ---------------------------------------------------------------- reviews and measures


class ReviewForm(JourneyForm[JourneyRef]):
    """A plan review, optionally with a SWEMWBS."""

    TITLE = "Plan review"
    FORM_HEIGHT = 30
    WANTS_MEASURES = True
    FIELD_ALIASES = {"on": "on", "items": "swemwbs"}

    def compose_fields(self) -> ComposeResult:
        yield DateField("on", "Review date", self.clock, not_future=True)
        yield NoteField("note", "Review note")
        yield SwemwbsField("swemwbs", "SWEMWBS", mode="optional", hint="Optional at a review: leave blank if not taken")

    def save(self, v: dict) -> JourneyRef:
        return J.record_review(self.ctx, self.journey_id, v["on"], v["note"], swemwbs_items=v["swemwbs"])


POINT_OPTIONS = [("Start", "start"), ("Review", "review"), ("End", "end")]
KIND_OPTIONS = [("SWEMWBS", "swemwbs"), ("ONS4 personal wellbeing", "ons4")]


class MeasureForm(JourneyForm[int]):
    """An outcome measure: SWEMWBS (or ONS4 where the service enabled it). Dismisses with its id."""

    TITLE = "Outcome measure"
    FORM_HEIGHT = 32
    WANTS_MEASURES = True
    FIELD_ALIASES = {"items": "swemwbs"}

    def compose_fields(self) -> ComposeResult:
        yield SelectField("point", "Point", POINT_OPTIONS, required=True, value="review")
        yield DateField("date", "Date", self.clock, not_future=True)
        with Vertical(id="kind-box"):
            yield SelectField("kind", "Measure", KIND_OPTIONS, required=True, value="swemwbs")
        with Vertical(id="swemwbs-box"):
            yield SwemwbsField("swemwbs", "SWEMWBS", mode="required")
        with Vertical(id="ons4-box"):
            yield Ons4Field("ons4", "ONS4")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#kind-box").display = False
        self.query_one("#ons4-box").display = False

    def apply_detail(self, detail: JourneyDetail, extra: Any) -> None:
        self.query_one("#kind-box").display = bool(self.measures and self.measures.ons4_enabled)
        if not any(m.point == "start" and m.kind == "swemwbs" for m in detail.measures):
            point = self.field("point")
            assert isinstance(point, SelectField)
            point.selected = "start"

    @on(Select.Changed, "#f-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self._show_kind(event.value)

    def choice_made(self, select: Select) -> None:
        if select.id == "f-kind":
            self._show_kind(select.value)

    def _show_kind(self, value: Any) -> None:
        ons4 = value == "ons4"
        self.query_one("#swemwbs-box").display = not ons4
        self.query_one("#ons4-box").display = ons4
        self.FIELD_ALIASES = {"items": "ons4" if ons4 else "swemwbs"}

    def collect(self) -> dict:
        v = self.values()
        kind = v.get("kind") or "swemwbs"
        v["kind"] = kind
        v["items"] = v["ons4"] if kind == "ons4" else v["swemwbs"]
        return v

    def save(self, v: dict) -> int:
        return J.record_measure(self.ctx, self.journey_id, v["point"], v["date"], list(v["items"]), kind=v["kind"])


__all__ = ["GoalForm", "GoalProgressForm", "MeasureForm", "ReviewForm", "journey_context"]
