"""QA of issue 11: names chosen in a form's drop-down are shown as typed, in the drop-down's own line.

Found from a terminal: a user named ``Root [/bold]`` (an unbalanced closing tag) crashed the app
with a MarkupError the moment ``n`` opened the new-referral form, where the navigator drop-down shows
the current user; a balanced ``[red]Nina[/red]`` showed a red "Nina" there."""

from __future__ import annotations

import pytest

from navigator.services.setup import admin
from navigator.tui.forms import ReferralForm

from .helpers import TYPEAHEAD_SIZE as SIZE
from .helpers import make_app, until
from .helpers import settle_quiet as settle


@pytest.mark.parametrize("name", ["Root [/bold]", "[red]Nina[/red]", "[link=https://x]a[/link]"])
async def test_a_hostile_user_name_in_the_referral_forms_navigator_drop_down(ctx, name):
    admin.edit_user(ctx, ctx.username, name=name)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, ReferralForm) and app.screen.ready, "the form")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ReferralForm)
        label = form.query_one("#field-navigator SelectCurrent #label")
        shown = str(label.render())
        assert name in shown, shown
