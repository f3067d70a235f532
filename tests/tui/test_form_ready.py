"""Forms ready on their first frame (issue 16): a form whose data the app already holds (the journey on
the screen beneath, the reference data and measure settings it keeps) is filled before it is first
painted, so what is typed lands at once and nothing is laid out again when its load answers. The load
still runs; an answer that differs (someone changed the journey or the reference data meanwhile) is
applied, keeping what was chosen."""

from __future__ import annotations

import dataclasses
import threading

from navigator.services.casework import queries
from navigator.services.setup import reference as setup
from navigator.tui.forms import ContactForm, ReferralForm

from .helpers import field, keys, make_app, on_journey, settle_quiet, until


class Gate:
    """Holds every call of a service until opened: the form's load cannot answer meanwhile."""

    def __init__(self, monkeypatch, owner, name: str) -> None:
        self.real = getattr(owner, name)
        self.open_ = threading.Event()
        self.calls = 0

        def held(*args, **kwargs):
            self.calls += 1
            self.open_.wait(30)
            return self.real(*args, **kwargs)

        monkeypatch.setattr(owner, name, held)

    def release(self) -> None:
        self.open_.set()


def offered(pilot, name: str) -> list:
    """The values a drop-down offers (every one it accepts, tried in turn)."""
    from textual.widgets import Select

    control = field(pilot, name).control
    before = control.value
    values = []
    for candidate in range(1, 100):
        try:
            control.value = candidate
        except Exception:
            continue
        values.append(candidate)
    control.value = before if before is not None else Select.NULL
    return values


async def kept(pilot) -> None:
    app = pilot.app
    await until(lambda: app.kept_reference is not None and app.kept_measures is not None, "the app's kept data")


async def test_the_referral_form_is_filled_and_typed_into_before_its_load_answers(tui_ctx, monkeypatch):
    app = make_app(tui_ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle_quiet(pilot)
        await kept(pilot)
        gate = Gate(monkeypatch, setup, "reference")
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, ReferralForm) and form.ready  # before its load has answered
        assert gate.calls <= 1
        assert offered(pilot, "locality") == [loc.id for loc in app.kept_reference.localities]
        assert field(pilot, "navigator").selected == tui_ctx.username
        await keys(pilot, *"Ann")
        assert field(pilot, "first_name").control.value == "Ann"
        assert "Loading" not in str(form.query_one("#form-message").render())
        gate.release()
        await settle_quiet(pilot)
        assert field(pilot, "first_name").control.value == "Ann" and form.ready
        assert offered(pilot, "locality") == [loc.id for loc in app.kept_reference.localities]


async def test_reference_data_changed_meanwhile_is_applied_keeping_the_choices(tui_ctx, monkeypatch):
    app = make_app(tui_ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle_quiet(pilot)
        await kept(pilot)
        real = app.kept_reference
        # the app kept an older copy: one locality fewer than the store has now
        app.kept_reference = dataclasses.replace(real, localities=real.localities[:-1])
        gate = Gate(monkeypatch, setup, "reference")
        await pilot.press("n")
        first = real.localities[0]
        field(pilot, "locality").selected = first.id
        gate.release()
        await settle_quiet(pilot)
        assert offered(pilot, "locality") == [loc.id for loc in real.localities]  # the store's, now
        assert field(pilot, "locality").selected == first.id  # still chosen
        assert app.kept_reference == real


async def test_a_journey_form_starts_from_the_journey_on_screen(tui_ctx, monkeypatch):
    jid = tui_ctx.ids["cara"]
    app = make_app(tui_ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle_quiet(pilot)
        await kept(pilot)
        screen = await on_journey(pilot, jid)
        gate = Gate(monkeypatch, queries, "journey_detail")
        await pilot.press("c")
        form = app.screen
        assert isinstance(form, ContactForm) and form.ready and form.detail is screen.detail
        assert screen.detail.client.name in str(form.query_one("#form-context").render())
        gate.release()
        await settle_quiet(pilot)
        assert form.ready and "Reloaded" not in str(form.query_one("#form-message").render())


async def test_without_kept_data_a_form_loads_as_before(tui_ctx, monkeypatch):
    app = make_app(tui_ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle_quiet(pilot)
        await kept(pilot)
        app.kept_reference = None
        gate = Gate(monkeypatch, setup, "reference")
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, ReferralForm) and not form.ready  # "Loading…", keys held meanwhile
        gate.release()
        await settle_quiet(pilot)
        assert form.ready and app.kept_reference is not None
