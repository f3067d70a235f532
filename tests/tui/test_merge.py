"""Merge people through the real app (issue 15): the tracker import reports a likely duplicate that
names the merge; a team lead merges from the Journey screen (D, find the other record, a reason, the
confirmation showing both people and what moves); the journeys and the audit history move, and the
import's duplicate is resolved."""

from __future__ import annotations

import json

from sqlmodel import select

from navigator.services.casework import merge as MG
from navigator.services.operations import sar
from navigator.services.tracker_import.importer import import_bytes
from navigator.store.models import AuditEvent, Client, Journey
from navigator.tui.forms.merge import MergeConfirm, MergeForm
from navigator.tui.screens.journey import JourneyScreen

from .helpers import make_app, press, screen_text, settle

HEADER = (
    "client_ref,first_name,last_name,date_of_birth,postcode,nhs_number,imd_decile,locality,navigator,"
    "referral_source,received_date,first_contact_date,contact_attempts,decision,decision_date,reject_reason,"
    "start_date,swemwbs_start,onward_partner,onward_programme,onward_referral_date,onward_start_date,"
    "onward_end_date,onward_outcome,end_date,end_reason,swemwbs_end\n"
)
# Ann Smith (born 1 January 1980, as in the test store) again, under the tracker's own reference: a
# referral in the spring, rejected as out of area.
TRACKER = (
    HEADER + "TRK001,Ann,Smith,1980-01-01,,,,Maidstone,nina,gp,2026-04-01,2026-04-02,,rejected,2026-04-02,"
    "out_of_area,,,,,,,,,,,\n"
)


async def found_and_checked(pilot) -> None:
    """Wait for the search (once typing pauses) and the check of the chosen pair (a loaded machine is slow)."""
    for _ in range(40):
        await settle(pilot, 0.1)
        form = pilot.app.screen
        if isinstance(form, MergeForm) and (form.plan is not None or form.refusal is not None):
            break
    await settle(pilot)


async def test_a_team_lead_merges_an_imported_duplicate_from_the_journey_screen(tui_ctx):
    ctx = tui_ctx  # the store's admin: a team lead too
    report = import_bytes(ctx, TRACKER.encode())
    assert report.ok, report.errors
    ann_ref = sar.journey_audit_history(ctx, tui_ctx.ids["ann"]).client_ref
    (dup,) = report.duplicates
    assert dup[1] == "TRK001" and f"navigator people merge {ann_ref} TRK001" in dup[2] and "D (merge with" in dup[2]
    with ctx.read() as s:
        imported = s.exec(select(Client).where(Client.client_ref == "TRK001")).one()
        (imported_journey,) = s.exec(select(Journey).where(Journey.client_id == imported.id)).all()

    app = make_app(ctx)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        app.push_screen(JourneyScreen(tui_ctx.ids["ann"]))
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen) and "Ann Smith" in screen_text(app)
        await press(pilot, "D")
        assert isinstance(app.screen, MergeForm)
        for ch in "TRK001":
            await pilot.press(ch)
        await found_and_checked(pilot)  # searched once typing pauses, then checked
        text = screen_text(app)
        assert "TRK001 Ann Smith" in text  # found, chosen (the only one), and checked:
        assert "Moves: 1 journey" in text and f"Keep:  {ann_ref} Ann Smith" in text
        await press(pilot, "tab", "tab", "tab")  # to the reason
        for ch in "imported twice":
            await pilot.press(ch)
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, MergeConfirm)
        confirm = screen_text(app)
        assert "Merge: TRK001 Ann Smith" in confirm and "1 journey" in confirm and "cannot be undone" in confirm
        await press(pilot, "m")
        await settle(pilot, 0.3)
        assert isinstance(app.screen, JourneyScreen)
        assert "Merged TRK001 into" in screen_text(app)

    with ctx.read() as s:
        moved = s.get(Journey, imported_journey.id)
        assert moved is not None and moved.client_id == tui_ctx_client(ctx, ann_ref)
        gone = s.get(Client, imported.id)
        assert gone is not None and gone.merged_into_id == moved.client_id
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "client.merge")).one()
        searches = s.exec(select(AuditEvent).where(AuditEvent.action == "search")).all()
        assert [json.loads(e.after or "{}")["query"] for e in searches] == ["TRK001"]  # once typing paused
        assert json.loads(event.after or "{}")["reason"] == "imported twice"
    # the audit history moved: Ann's history holds the imported record's events and its journey's
    history = sar.audit_history(ctx, ann_ref)
    assert any(e.journey_id == imported_journey.id for e in history.events)  # the imported journey's events
    assert any(e.action == "client.merge" for e in history.events)
    # the import's duplicate is resolved: the same tracker again finds no likely duplicate
    again = import_bytes(ctx, TRACKER.encode(), dry_run=True)
    assert again.ok and again.duplicates == ()
    assert (again.skipped_existing, again.journeys_created, again.clients_created) == (1, 0, 0)  # found, not doubled
    assert [m.merged_ref for m in MG.merges(ctx)] == ["TRK001"]


def tui_ctx_client(ctx, client_ref: str) -> int:
    with ctx.read() as s:
        c = s.exec(select(Client).where(Client.client_ref == client_ref)).one()
        assert c.id is not None
        return c.id


async def test_a_navigator_has_no_merge(tui_ctx):
    from navigator.services.context import Ctx

    nina = Ctx(tui_ctx.store, username="nina", today_fn=tui_ctx.today_fn, now_fn=tui_ctx.now_fn)
    app = make_app(nina)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.push_screen(JourneyScreen(tui_ctx.ids["gus"]))
        await settle(pilot)
        await press(pilot, "D")
        assert isinstance(app.screen, JourneyScreen)
        assert not any(isinstance(s, MergeForm) for s in app.screen_stack)


async def test_a_refused_merge_says_why_and_saves_nothing(tui_ctx):
    """Ann and Gus both have an open journey: the check says so (close one first) and ctrl+s merges nothing."""
    app = make_app(tui_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(JourneyScreen(tui_ctx.ids["ann"]))
        await settle(pilot)
        await press(pilot, "D")
        for ch in "Gus Grey":
            await pilot.press(ch if ch != " " else "space")
        await found_and_checked(pilot)
        text = screen_text(app)
        assert "Refused: Both have an open journey" in text and "close one of them first" in text
        await press(pilot, "tab", "tab", "tab")
        for ch in "same":
            await pilot.press(ch)
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, MergeForm)  # no confirmation: nothing to confirm
        assert "Not saved: Both have an open journey" in screen_text(app)
    assert MG.merges(tui_ctx) == []


async def test_help_and_palette_list_merge_and_the_lead_screens(tui_ctx):
    from navigator.tui.app import NavigatorCommands

    app = make_app(tui_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        names = [name for name, _cb, _help in NavigatorCommands(app.screen)._commands()]
        assert "Team lead: Due in my lots" in names
        app.push_screen(JourneyScreen(tui_ctx.ids["ann"]))
        await settle(pilot)
        names = [name for name, _cb, _help in NavigatorCommands(app.screen)._commands()]
        assert "Journey: Merge with… (team leads)" in names
        await press(pilot, "question_mark")
        own = {d: (k, ok) for k, d, ok in app.screen.sections()[0][1]}
        assert own["Merge with… (team leads)"] == ("D", True)
