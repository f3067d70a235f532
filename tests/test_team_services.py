"""Team leads' services (services/casework/team.py) on a small store built through services.journeys.

Today is Wednesday 2026-11-25. No bank holidays fall between September and November 2026, so the
working-day counts below are weekdays, counted by hand (the count from A to B: days d, A < d <= B).
Working days per month: September 2026 has 22, October 22, November 1-25 has 18.

Lot 2 (nina, vic; team lead "lea"):
  A  Maidstone        received 2 Nov, no contact                      awaiting first contact (due 4 Nov)
  B  Sevenoaks        received 1 Oct, three attempts unanswered       no-response closure due 22 Oct
  C  Tunbridge Wells  accepted Fri 6 Nov                              waiting 13 working days (9-13, 16-20, 23-25)
  D  Maidstone        accepted 5 Oct, started 12 Oct (wait 5), completed 20 Nov
                      onward: Resilience 13 Oct, declined 20 Oct (5 working days to the first update)
  E  Maidstone        accepted Thu 3 Sep, started 10 Sep (wait 5), no review:
                      54 working days since the start (14 in Sep, 22 in Oct, 18 in Nov), 24 past the 30
                      onward: Debt advice 15 Sep, no update: 51 working days (11 + 22 + 18);
                              chase due 22 Sep (5 working days) - past due
                      onward: Resilience 16 Nov, started 18 Nov: 5 working days silent, first update after 2
  I  Tunbridge Wells  accepted Fri 2 Oct, started Wed 14 Oct (wait 8); 30 working days since: review due today
  H  Maidstone        received 16 Nov for vic, who is then deactivated
Lot 3 (omar):
  F  Ashford          received 10 Nov, no contact
  G  Canterbury       received 1 Dec 2025, closed as no response 5 Jan 2026
"""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import SWEMWBS_HIGH, SWEMWBS_MID, TODAY, make_user, new_referral
from navigator.domain.errors import AccessDenied, DomainError
from navigator.services.casework import journeys as J
from navigator.services.casework import team
from navigator.services.context import Ctx, put_setting
from navigator.services.setup import admin
from navigator.services.setup.reference import open_ready, reference

D = date


def _accept(ctx, jid, spoke, accepted):
    J.log_contact(ctx, jid, spoke, "phone", "spoke")
    J.decide(ctx, jid, "accepted", accepted)


def build(ctx: Ctx) -> dict[str, int]:
    ids: dict[str, int] = {}
    make_user(ctx, "nina", "navigator", ("Lot 2",))
    make_user(ctx, "vic", "navigator", ("Lot 2",))
    make_user(ctx, "omar", "navigator", ("Lot 3",))
    make_user(ctx, "lea", "team_lead", ("Lot 2",))
    make_user(ctx, "tess", "navigator", ("Lot 2",))  # nothing open: still listed for a Lot 2 lead
    ref = reference(ctx)
    debt = next(p for p in ref.programmes if p.name == "Debt advice")
    resilience = next(p for p in ref.programmes if p.name.startswith("Resilience"))

    def r(key, first, received, locality, navigator="nina"):
        ids[key] = new_referral(
            ctx, first=first, last="Test", received=received, locality=locality, navigator=navigator
        ).journey_id
        return ids[key]

    r("A", "Ann", D(2026, 11, 2), "Maidstone")
    b = r("B", "Bea", D(2026, 10, 1), "Sevenoaks")
    for on, method, outcome in (
        (D(2026, 10, 2), "phone", "no_answer"),
        (D(2026, 10, 6), "phone", "no_answer"),
        (D(2026, 10, 8), "letter", "sent"),
    ):
        J.log_contact(ctx, b, on, method, outcome)
    c = r("C", "Cal", D(2026, 11, 3), "Tunbridge Wells")
    _accept(ctx, c, D(2026, 11, 5), D(2026, 11, 6))
    d = r("D", "Dee", D(2026, 10, 1), "Maidstone")
    _accept(ctx, d, D(2026, 10, 2), D(2026, 10, 5))
    J.start(ctx, d, D(2026, 10, 12), SWEMWBS_MID)
    od = J.make_onward(ctx, d, resilience.id, D(2026, 10, 13))
    J.partner_update(ctx, od, "declined", D(2026, 10, 20))
    J.follow_up_feedback(ctx, od)
    J.close(ctx, d, D(2026, 11, 20), "completed", evidence="Goals met", swemwbs_end=SWEMWBS_HIGH)
    e = r("E", "Eli", D(2026, 9, 1), "Maidstone")
    _accept(ctx, e, D(2026, 9, 2), D(2026, 9, 3))
    J.start(ctx, e, D(2026, 9, 10), SWEMWBS_MID)
    ids["E_debt"] = J.make_onward(ctx, e, debt.id, D(2026, 9, 15))
    ids["E_res"] = J.make_onward(ctx, e, resilience.id, D(2026, 11, 16))
    J.partner_update(ctx, ids["E_res"], "started", D(2026, 11, 18))
    i = r("I", "Ivy", D(2026, 10, 1), "Tunbridge Wells")
    _accept(ctx, i, D(2026, 10, 1), D(2026, 10, 2))
    J.start(ctx, i, D(2026, 10, 14), SWEMWBS_MID)
    r("H", "Hal", D(2026, 11, 16), "Maidstone", navigator="vic")
    r("F", "Fin", D(2026, 11, 10), "Ashford", navigator="omar")
    g = r("G", "Gil", D(2025, 12, 1), "Canterbury", navigator="omar")
    for on, method, outcome in (
        (D(2025, 12, 2), "phone", "no_answer"),
        (D(2025, 12, 4), "phone", "no_answer"),
        (D(2025, 12, 8), "letter", "sent"),
    ):
        J.log_contact(ctx, g, on, method, outcome)
    J.close(ctx, g, D(2026, 1, 5), "no_response")
    admin.deactivate_user(ctx, "vic")
    return ids


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("team-template") / "store.sqlite3"
    store, ctx = open_ready(f"sqlite:///{path}", username="admin", today_fn=lambda: TODAY)
    ids = build(ctx)
    store.dispose()
    return path, ids


@pytest.fixture
def store(template, tmp_path):
    src, ids = template
    dst = tmp_path / "store.sqlite3"
    for suffix in ("", "-wal", "-shm", ".audit-key"):  # the audit key signs the copied log
        if Path(str(src) + suffix).exists():
            shutil.copy(str(src) + suffix, str(dst) + suffix)
    store, ctx = open_ready(f"sqlite:///{dst}", username="admin", today_fn=lambda: TODAY)
    ctx.ids = ids  # type: ignore[attr-defined]
    yield ctx
    store.dispose()


def as_user(ctx: Ctx, username: str) -> Ctx:
    return Ctx(ctx.store, username=username, today_fn=ctx.today_fn)


# ---------------------------------------------------------------- Team


def test_team_per_navigator_by_hand(store):
    view = team.team(store)
    rows = {n.username: n for n in view.navigators}
    assert set(rows) == {"nina", "omar", "tess", "vic"}  # admin and lea hold no journeys
    nina = rows["nina"].load
    assert nina == team.Load(
        open=5,
        active=3,
        awaiting_contact=2,
        waiting_to_start=1,
        longest_wait=13,
        overdue=5,
        due_no_response=1,
        completions=1,
    )
    # overdue: A first contact (4 Nov), B closure (22 Oct), C waiting (6 Nov), E review, E chase debt advice;
    # I's review falls due today (not overdue yet)
    assert rows["omar"].load == team.Load(
        open=1,
        active=0,
        awaiting_contact=1,
        waiting_to_start=0,
        longest_wait=None,
        overdue=1,
        due_no_response=0,
        completions=0,
    )
    assert rows["tess"].load == team.Load()
    assert rows["vic"].active is False and rows["vic"].load.open == 1
    assert view.navigators[-1].username == "vic"  # deactivated accounts last
    assert view.month == "2026-11"


def test_team_totals_per_locality_lot_and_service(store):
    view = team.team(store)
    loc = {p.locality: p.load for p in view.localities}
    assert loc["Maidstone"].open == 3  # A, E, H
    assert loc["Maidstone"].awaiting_contact == 2  # A, H
    assert loc["Maidstone"].completions == 1  # D
    assert loc["Tunbridge Wells"] == team.Load(
        open=2,
        active=2,
        awaiting_contact=0,
        waiting_to_start=1,
        longest_wait=13,
        overdue=1,
        due_no_response=0,
        completions=0,
    )
    assert loc["Dartford"] == team.Load()  # every locality is listed
    lots = {p.lot: p.load for p in view.lots}
    assert lots["Lot 2"].open == 6 and lots["Lot 2"].overdue == 6 and lots["Lot 2"].due_no_response == 1
    assert lots["Lot 3"].open == 1 and lots["Lot 3"].awaiting_contact == 1
    assert view.total.level == "service"
    assert view.total.load.open == 7 and view.total.load.completions == 1 and view.total.load.longest_wait == 13


def test_team_lead_sees_only_their_lots(store):
    lea = as_user(store, "lea")
    view = team.team(lea)
    assert {n.username for n in view.navigators} == {"nina", "tess", "vic"}
    assert {p.lot for p in view.lots} == {"Lot 2"}
    assert {p.locality for p in view.localities} == {"Maidstone", "Tonbridge & Malling", "Tunbridge Wells", "Sevenoaks"}
    assert view.total.load.open == 6


def test_navigator_is_refused_everywhere(store):
    nina = as_user(store, "nina")
    for call in (team.team, team.waiting_and_stuck, team.trends, team.partners):
        with pytest.raises(AccessDenied):
            call(nina)


# ---------------------------------------------------------------- Waiting and stuck


def test_waiting_and_stuck_by_hand(store):
    ids = store.ids
    view = team.waiting_and_stuck(store)
    assert view.partner_days == 10 and view.review_every == 30
    assert [(w.journey_id, w.waited, w.decision_date) for w in view.waiting] == [(ids["C"], 13, D(2026, 11, 6))]
    assert view.waiting_total == 1
    # E's debt advice referral: no update for 51 working days; the resilience one was updated 5 days ago
    assert [(o.onward_id, o.silent, o.last_update, o.journey_id) for o in view.onward] == [
        (ids["E_debt"], 51, None, ids["E"])
    ]
    assert view.onward[0].partner == "Kent Money Advice" and view.onward[0].programme == "Debt advice"
    # E: 54 working days since the start; I: exactly 30 (due today, not missed)
    assert [(r.journey_id, r.since, r.overdue_by) for r in view.reviews] == [(ids["E"], 54, 24)]


def test_stuck_partner_days_parameter_and_setting(store):
    ids = store.ids
    view = team.waiting_and_stuck(store, partner_days=5)
    assert [o.onward_id for o in view.onward] == [ids["E_debt"], ids["E_res"]]  # longest silent first
    assert view.onward[1].silent == 5 and view.onward[1].last_update == D(2026, 11, 18)
    assert [o.onward_id for o in team.waiting_and_stuck(store, partner_days=6).onward] == [ids["E_debt"]]
    with store.write() as s:
        put_setting(s, "stuck_partner_days", 5, store.now())
    view = team.waiting_and_stuck(store)
    assert view.partner_days == 5 and len(view.onward) == 2
    with pytest.raises(DomainError):
        team.waiting_and_stuck(store, partner_days=0)


def test_reviews_follow_the_latest_review(store):
    ids = store.ids
    J.record_review(store, ids["E"], D(2026, 11, 2))  # 17 working days ago: within the period
    assert team.waiting_and_stuck(store).reviews == ()


def test_stuck_is_limited_to_the_leads_lots(store):
    lea = as_user(store, "lea")
    assert team.waiting_and_stuck(lea).waiting_total == 1
    omar_journey = store.ids["F"]
    J.log_contact(store, omar_journey, D(2026, 11, 11), "phone", "spoke")
    J.decide(store, omar_journey, "accepted", D(2026, 11, 12))
    assert team.waiting_and_stuck(store).waiting_total == 2
    assert team.waiting_and_stuck(lea).waiting_total == 1


# ---------------------------------------------------------------- Trends


def test_trends_service_by_hand(store):
    view = team.trends(store)
    assert next(m.month for m in view.months) == "2025-12" and view.months[-1].month == "2026-11"
    by = {m.month: m for m in view.months}
    assert len(by) == 12
    assert (by["2025-12"].received, by["2026-01"].no_response) == (1, 1)
    assert by["2026-09"] == team.TrendMonth("2026-09", 1, 1, 0, 0, Decimal("5.0"))
    # October: B, D, I received; D (wait 5) and I (wait 8) started: mean 6.5
    assert by["2026-10"] == team.TrendMonth("2026-10", 3, 2, 0, 0, Decimal("6.5"))
    assert by["2026-11"] == team.TrendMonth("2026-11", 4, 0, 1, 0, None, partial=True)  # A, C, H, F
    assert by["2026-03"] == team.TrendMonth("2026-03", 0, 0, 0, 0, None)


def test_trends_lot_and_locality_scopes(store):
    lot3 = {m.month: m for m in team.trends(store, ("lot", "Lot 3")).months}
    assert (lot3["2025-12"].received, lot3["2026-01"].no_response, lot3["2026-11"].received) == (1, 1, 1)
    assert sum(m.starts for m in lot3.values()) == 0
    tw = team.trends(store, ("locality", "tunbridge wells"))
    assert tw.place == "Tunbridge Wells" and tw.level == "locality"
    oct_ = next(m for m in tw.months if m.month == "2026-10")
    assert (oct_.received, oct_.starts, oct_.mean_wait) == (1, 1, Decimal("8.0"))
    assert len(team.trends(store, ("service", None), months=3).months) == 3


def test_trends_lead_scope(store):
    lea = as_user(store, "lea")
    assert team.trends(lea, ("lot", "Lot 2")).place == "Lot 2"
    assert sum(m.received for m in team.trends(lea).months) == 9  # the service as a whole, counts only
    with pytest.raises(AccessDenied):
        team.trends(lea, ("lot", "Lot 3"))
    with pytest.raises(AccessDenied):
        team.trends(lea, ("locality", "Ashford"))
    with pytest.raises(DomainError):
        team.trends(store, ("county", "Kent"))


# ---------------------------------------------------------------- Partners


def test_partners_by_hand(store):
    view = team.partners(store)
    rows = {r.programme: r for r in view.rows}
    assert len(rows) == 8  # every active programme, with or without referrals
    res = rows["Resilience and Physical Wellbeing Programme"]
    assert (res.made, res.open, res.started, res.completed, res.withdrew, res.declined) == (2, 1, 1, 0, 0, 1)
    assert res.acceptance_rate == Decimal("50.0")  # 1 started of 1 started + 1 declined
    assert res.median_first_update == Decimal("3.5") and res.updated == 2  # median of 5 and 2
    assert res.waiting_past_expected == 0  # its chase falls due on 2 Dec
    debt = rows["Debt advice"]
    assert (debt.made, debt.open, debt.started, debt.acceptance_rate, debt.median_first_update) == (1, 1, 0, None, None)
    assert debt.waiting_past_expected == 1  # chase due 22 Sep
    assert rows["Yoga"].made == 0


def test_partners_since_and_lead_scope(store):
    rows = {r.programme: r for r in team.partners(store, since=D(2026, 11, 1)).rows}
    assert rows["Resilience and Physical Wellbeing Programme"].made == 1
    assert rows["Debt advice"].made == 0 and rows["Debt advice"].waiting_past_expected == 1
    lea = as_user(store, "lea")
    assert {r.programme: r.made for r in team.partners(lea).rows}["Debt advice"] == 1


def test_cutoff_matches_the_count(store):
    cal = store.calendar()
    on = D(2026, 12, 29)  # around Christmas bank holidays
    for n in (1, 5, 10, 30):
        c = team.cutoff(cal, on, n)
        assert cal.count(c, on) >= n
        assert cal.count(c + (D(2000, 1, 2) - D(2000, 1, 1)), on) < n


def test_open_journey_ids_for_reassignment(store):
    ids = store.ids
    assert team.open_journey_ids(store, "nina") == (ids["E"], ids["B"], ids["I"], ids["A"], ids["C"])
    assert team.open_journey_ids(as_user(store, "lea"), "omar") == ()  # not in lea's lots
    assert team.open_journey_ids(store, "vic") == (ids["H"],)
    with pytest.raises(AccessDenied):
        team.open_journey_ids(as_user(store, "nina"), "vic")


@pytest.mark.both_backends
def test_the_same_figures_on_sqlite_and_postgresql(ctx):
    """The grouped queries give the hand-worked figures on both backends (dates come back as text on SQLite)."""
    ids = build(ctx)
    nina = {n.username: n for n in team.team(ctx).navigators}["nina"].load
    assert nina == team.Load(
        open=5,
        active=3,
        awaiting_contact=2,
        waiting_to_start=1,
        longest_wait=13,
        overdue=5,
        due_no_response=1,
        completions=1,
    )
    stuck = team.waiting_and_stuck(ctx)
    assert [(w.journey_id, w.waited) for w in stuck.waiting] == [(ids["C"], 13)]
    assert [(o.onward_id, o.silent) for o in stuck.onward] == [(ids["E_debt"], 51)]
    assert [(r.journey_id, r.since) for r in stuck.reviews] == [(ids["E"], 54)]
    october = next(m for m in team.trends(ctx).months if m.month == "2026-10")
    assert october == team.TrendMonth("2026-10", 3, 2, 0, 0, Decimal("6.5"))
    res = {r.programme: r for r in team.partners(ctx).rows}["Resilience and Physical Wellbeing Programme"]
    assert (res.made, res.acceptance_rate, res.median_first_update) == (2, Decimal("50.0"), Decimal("3.5"))
    assert team.open_journey_ids(as_user(ctx, "lea"), "vic") == (ids["H"],)
