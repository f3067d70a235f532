"""What a person typed is data on every screen: hostile values already in the store (Rich markup, balanced
and not, a link, ANSI escapes and other control characters, emoji, right-to-left text, combining characters,
a 500-character name) show exactly as typed, control characters visibly escaped, and never crash a render.

The values are written straight into the store (as an older version, an import or another tool might
have left them), so nothing on the way in can clean them: the screens must cope.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import text
from textual.widgets import DataTable, Input, Select

from navigator.services.casework import journeys as J
from navigator.tui.screens.audit import AuditHistoryScreen
from navigator.tui.screens.caseload import CaseloadScreen
from navigator.tui.screens.find import FindScreen
from navigator.tui.screens.help import HelpScreen
from navigator.tui.screens.journey import JourneyScreen
from navigator.tui.screens.partners import PartnersScreen
from navigator.tui.screens.return_preview import ReturnPreviewScreen
from navigator.tui.screens.stuck import StuckScreen
from navigator.tui.screens.team import TeamScreen
from navigator.tui.screens.today import TodayScreen
from navigator.tui.screens.trends import TrendsScreen

from .helpers import make_app, press, screen_text, settle

FIRST = "[bold red]Ann[/]"  # balanced markup: must not turn red
LAST = "Test[/bold]"  # unbalanced: MarkupError if parsed
REFERRER = "[link=https://x]a[/link]"
REASON = "Low \x1b[31mmood\x1b[0m\x07"  # ANSI escape and a bell, already stored
REASON_SHOWN = "Low ␛[31mmood␛[0m␇"
CONTACT_NOTE = "مريم قالت שלום"  # right to left
GOAL = "I go, Zoe\u0301 to cafe\u0301 [b]weekly"  # combining accents, an unclosed tag
GOAL_NOTE = "Went 👩🏽\u200d⚕️ 🎉 [/]"
PARTNER = "[i]Kent[/i] & [Co"
PROGRAMME = "Debt[/] advice"
LOCALITY = "Maid[stone]"
USER_NAME = "[red]Nina[/red] \x1b]8;;https://x\x1b\\link"  # an OSC 8 hyperlink escape
USER_NAME_SHOWN = "[red]Nina[/red] ␛]8;;https://x␛\\link"
LONG = "Q" * 500
SIZE = (220, 60)


def hostile_store(ctx) -> dict[str, str]:
    """Every user-text field of the fixed caseload set to a hostile value; returns a few refs."""
    # through the services first, so the timeline and the audit history (built from audit events) hold them
    dev = ctx.ids["dev"]
    J.log_contact(ctx, dev, date(2026, 11, 24), "phone", "spoke", note=CONTACT_NOTE)
    J.add_goal(ctx, dev, "economic", GOAL)
    J.update_goal(ctx, ctx.ids["dev_goal"], note=GOAL_NOTE, on=date(2026, 11, 24))
    with ctx.store.engine.begin() as db:
        run = db.execute
        run(text("UPDATE client SET first_name = :f, last_name = :l"), {"f": FIRST, "l": LAST})
        run(
            text("UPDATE client SET first_name = :long WHERE id = (SELECT client_id FROM journey WHERE id = :j)"),
            {"long": LONG, "j": ctx.ids["eve"]},
        )
        run(text("UPDATE journey SET referrer = :r, reason = :why"), {"r": REFERRER, "why": REASON})
        run(text("UPDATE journey SET outcome_evidence = :e WHERE outcome_evidence IS NOT NULL"), {"e": GOAL_NOTE})
        run(text("UPDATE contact_attempt SET note = :n"), {"n": CONTACT_NOTE})
        run(text("UPDATE plan_goal SET statement = :s"), {"s": GOAL})
        run(text("UPDATE goal_note SET note = :n"), {"n": GOAL_NOTE})
        run(text("UPDATE plan_review SET note = :n"), {"n": GOAL_NOTE})
        run(text("UPDATE partner_update SET note = :n"), {"n": REASON})
        run(text("UPDATE partner SET name = :n || ' ' || id"), {"n": PARTNER})
        run(text("UPDATE programme SET name = :n || ' ' || id"), {"n": PROGRAMME})
        run(text("UPDATE locality SET name = :n || ' ' || id"), {"n": LOCALITY})
        run(text("UPDATE lot SET name = :n || ' ' || id"), {"n": LOCALITY})
        run(text("UPDATE user SET name = :n"), {"n": USER_NAME})
        run(text("UPDATE task SET detail = :d WHERE detail IS NOT NULL"), {"d": GOAL})
        dev_ref = run(
            text("SELECT client_ref FROM client WHERE id = (SELECT client_id FROM journey WHERE id = :j)"),
            {"j": ctx.ids["dev"]},
        ).scalar_one()
    return {"dev_ref": dev_ref}


def _plain(value) -> str:
    return str(getattr(value, "plain", value))


def seen(app) -> str:
    """What the screen shows: its painted lines, and the full text of its tables' cells and pickers' options
    (a painted cell may be cut to its column's width)."""
    parts = [screen_text(app)]
    for table in app.screen.query(DataTable):
        for row in range(table.row_count):
            parts.extend(_plain(v) for v in table.get_row_at(row))
    for select in app.screen.query(Select):
        parts.extend(_plain(prompt) for prompt, _value in select._options)
    return "\n".join(parts)


def assert_safe(app, *expected: str) -> str:
    painted = screen_text(app)
    raw = re.findall(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", painted)  # \n joins the lines
    assert not raw, f"control characters reached the terminal on {type(app.screen).__name__}: {raw!r}"
    everything = seen(app)
    for value in expected:
        assert value in everything, f"{value!r} is not shown as typed on {type(app.screen).__name__}: " + " | ".join(
            line.strip() for line in painted.splitlines() if line.strip()
        )
    assert "Ann" not in everything.replace(FIRST, ""), "markup was read as markup (Ann without its tags)"
    return everything


@pytest.fixture
def hostile(tui_ctx):
    return tui_ctx, hostile_store(tui_ctx)


async def test_every_screen_shows_hostile_values_as_typed(hostile):
    ctx, refs = hostile
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        assert_safe(app, FIRST, LAST, GOAL)

        await press(pilot, "l")
        assert isinstance(app.screen, CaseloadScreen)
        shown = assert_safe(app, FIRST, LAST, LOCALITY)
        assert LONG[:50] in shown

        await press(pilot, "f")
        assert isinstance(app.screen, FindScreen)
        await pilot.press(*refs["dev_ref"], "enter")
        await settle(pilot)
        assert_safe(app, FIRST, LAST, LOCALITY)
        query = app.screen.query_one("#find-query", Input)
        query.value = ""
        query.focus()
        await press(pilot, *"[b]x[/]", "enter")  # a search that is markup itself, and finds no one
        assert_safe(app, "[b]x[/]")

        app.open_journey(ctx.ids["dev"])
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen)
        assert_safe(app, FIRST, LAST, REFERRER, REASON_SHOWN, LOCALITY, USER_NAME_SHOWN)
        for tab, expected in (
            ("2", (CONTACT_NOTE, GOAL)),
            ("3", (GOAL, GOAL_NOTE)),
            ("4", ()),
            ("5", (PARTNER, PROGRAMME, REASON_SHOWN)),
            ("1", (FIRST,)),
        ):
            await press(pilot, tab)
            assert_safe(app, *expected)

        await press(pilot, "H")
        assert isinstance(app.screen, AuditHistoryScreen)
        assert_safe(app, FIRST, LAST)
        await press(pilot, "escape")

        await press(pilot, "?")
        assert isinstance(app.screen, HelpScreen)
        assert_safe(app)
        await press(pilot, "escape")

        for key, screen_class, expected in (
            ("T", TeamScreen, (USER_NAME_SHOWN, LOCALITY)),
            ("W", StuckScreen, (FIRST, LAST)),
            ("R", TrendsScreen, (LOCALITY,)),
            ("P", PartnersScreen, (PARTNER, PROGRAMME)),
            ("M", ReturnPreviewScreen, (LOCALITY,)),
        ):
            await press(pilot, key)
            assert isinstance(app.screen, screen_class)
            assert_safe(app, *expected)

        await press(pilot, "A")
        for tab, expected in (
            ("1", (USER_NAME_SHOWN,)),
            ("2", (LOCALITY,)),
            ("3", (PARTNER, PROGRAMME)),
            ("4", ()),
            ("5", ()),
            ("6", ()),
            ("7", ()),
            ("8", ()),
        ):
            await press(pilot, tab)
            assert_safe(app, *expected)


async def test_notifications_and_the_header_show_user_text_as_typed(hostile):
    ctx, _refs = hostile
    app = make_app(ctx)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app.notify(LAST, title=FIRST)
        app.screen.notify(USER_NAME)  # a screen's notify goes through the app's
        await settle(pilot, 0.1)
        assert_safe(app, LAST, USER_NAME_SHOWN, FIRST)
        app.screen.sub_title = REASON
        await pilot.pause()
        assert_safe(app, REASON_SHOWN)


def test_displayable_makes_every_stored_string_visible_and_keeps_clean_results_as_they_are():
    from dataclasses import dataclass
    from typing import NamedTuple

    from navigator.tui.widgets import displayable, shown

    class Pair(NamedTuple):
        a: str
        b: int

    @dataclass(frozen=True, slots=True)
    class Leaf:
        text: str
        on: date

    @dataclass(frozen=True)
    class Tree:
        name: str
        leaves: tuple[Leaf, ...]
        pairs: list[Pair]
        extra: dict

    clean = Tree("Ann", (Leaf("note", date(2026, 1, 1)),), [Pair("x", 1)], {"k": "v"})
    assert displayable(clean) is clean  # nothing to change: the very same objects
    dirty = Tree("A\x1bnn", (Leaf("no\x07te\nline 2", date(2026, 1, 1)),), [Pair("\u202ex", 1)], {"k": "v\x9b"})
    shown_tree = displayable(dirty)
    assert shown_tree == Tree("A␛nn", (Leaf("no␇te\nline 2", date(2026, 1, 1)),), [Pair("�x", 1)], {"k": "v�"})
    assert isinstance(shown_tree.pairs[0], Pair)
    assert shown("tab\tand\nnewline stay") == "tab\tand\nnewline stay"
    assert shown(None) == ""
