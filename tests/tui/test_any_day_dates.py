"""Form date fields on every awkward day (the ``any_day`` clock): 'today', '+0', 'yesterday' and
'-2' are accepted where a date may not be in the future; '+3' is refused there and lands on a
working day elsewhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.app import App, ComposeResult

from navigator.domain.errors import DomainError
from navigator.domain.workdays import DEFAULT_CALENDAR as CAL
from navigator.tui.forms.fields import Clock, DateField


class _Form(App):
    def __init__(self, day) -> None:
        super().__init__()
        self.clock = Clock(lambda: day)

    def compose(self) -> ComposeResult:
        yield DateField("on", "Date", self.clock, not_future=True)
        yield DateField("due", "Due", self.clock, value=None, required=False)


async def test_typed_dates_on_any_day(any_day):
    app = _Form(any_day)
    async with app.run_test() as pilot:
        past, due = app.query(DateField)
        assert past.value() == any_day  # the default, "today", whatever day today is
        for typed, expected in (
            ("today", any_day),
            ("+0", any_day),
            ("yesterday", any_day - timedelta(days=1)),
            ("-2", CAL.add(CAL.add(any_day, -1), -1)),
        ):
            past.text = typed
            await pilot.pause()
            assert past.value() == expected, typed
        past.text = "+3"
        await pilot.pause()
        with pytest.raises(DomainError, match="future"):
            past.value()
        due.text = "+3"
        await pilot.pause()
        got = due.value()
        assert CAL.is_working_day(got) and CAL.count(any_day, got) == 3
