"""The team lead's tools (issue 15): the lot's due and overdue list, a programme's referrals (no reply
first), reassigning within and across lots, and exports held to the lead's lots."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import SWEMWBS_MID, make_user, new_referral
from navigator.domain.errors import AccessDenied
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.casework import team_tools as TT

pytestmark = pytest.mark.both_backends


@pytest.fixture
def lots(ctx_on, any_day):
    """Lot 2 (Maidstone): two navigators, a lead; Lot 1 (Dartford): one navigator. Referrals received
    well before ``any_day`` (their first contact is overdue)."""
    ctx = ctx_on(any_day)
    make_user(ctx, "nia", "navigator", ("Lot 2",))
    make_user(ctx, "noa", "navigator", ("Lot 2",))
    make_user(ctx, "dan", "navigator", ("Lot 1",))
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    a = new_referral(ctx, first="Ann", received=date(2026, 11, 2), navigator="nia")
    b = new_referral(ctx, first="Bea", last="Jones", received=date(2026, 11, 3), navigator="noa")
    c = new_referral(ctx, first="Cal", last="Far", received=date(2026, 11, 4), locality="Dartford", navigator="dan")
    return {"ctx": ctx, "lead": lead, "a": a, "b": b, "c": c, "day": any_day}


def test_lot_today_holds_every_navigators_due_work_in_the_leads_lots(lots):
    lead, day = lots["lead"], lots["day"]
    view = TT.lot_today(lead)
    assert view.on == day and view.scope == ("West Kent",)
    refs = {i.client_ref for i in view.items}
    assert refs == {lots["a"].client_ref, lots["b"].client_ref}  # not Lot 1's
    assert {i.navigator for i in view.items} == {"nia", "noa"}
    assert [u for u, _ in view.navigators] == ["nia", "noa"]
    assert all(i.overdue_days > 0 for i in view.items)  # first contact due 2 working days after receipt
    # the same as each navigator's own Today, put together
    own = {i.task_id for n in ("nia", "noa") for i in Q.today(lead, n).items}
    assert {i.task_id for i in view.items} == own
    only = TT.lot_today(lead, navigator="noa")
    assert [i.client_ref for i in only.items] == [lots["b"].client_ref] and only.navigator == "noa"
    # an admin sees every lot
    assert {i.client_ref for i in TT.lot_today(lots["ctx"]).items} >= refs | {lots["c"].client_ref}
    with pytest.raises(AccessDenied):
        TT.lot_today(make_user(lots["ctx"], "nav9", "navigator", ("Lot 2",)))


def test_reassign_offers_the_lots_navigators_first_and_warns_across_lots(lots):
    choices = TT.reassign_choices(lots["lead"], [lots["a"].journey_id])
    assert choices.lots == ("West Kent",) and choices.journeys == 1 and choices.follow_ups == 1
    order = [c.username for c in choices.choices]
    assert order.index("noa") < order.index("dan") and order.index("nia") < order.index("dan")
    assert choices.across_lots("noa") is None
    warning = choices.across_lots("dan")
    assert warning is not None and "Across lots" in warning and "Dan works in Dartford, Gravesham" in warning
    refs = J.reassign(lots["lead"], [lots["a"].journey_id], "noa")
    assert TT.reassign_summary(refs, "Noa", choices.follow_ups) == (
        f"Moved 1 journey ({lots['a'].client_ref}) and 1 open follow-up to Noa."
    )


def test_programme_referrals_put_the_ones_with_no_reply_first(ctx):
    make_user(ctx, "nia", "navigator", ("Lot 2",))
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    lead1 = make_user(ctx, "lead1", "team_lead", ("Lot 1",))
    made = []
    for first, received, on in (
        ("Ann", date(2026, 10, 1), date(2026, 10, 12)),
        ("Bea", date(2026, 10, 2), date(2026, 10, 20)),
    ):
        r = new_referral(
            ctx, first=first, last="Smith" if first == "Ann" else "Jones", received=received, navigator="nia"
        )
        J.log_contact(ctx, r.journey_id, received, "phone", "spoke")
        J.decide(ctx, r.journey_id, "accepted", received)
        J.start(ctx, r.journey_id, received, SWEMWBS_MID)
        made.append((r, J.make_onward(ctx, r.journey_id, 1, on)))
    (ann, ann_onward), (bea, bea_onward) = made
    J.partner_update(ctx, bea_onward, "started", date(2026, 10, 27))
    from navigator.services.casework import chasing

    chasing.record_chase(ctx, ann_onward, date(2026, 10, 26), "phone", "no answer from the team")
    from navigator.services.casework import team

    row = next(r for r in team.partners(lead).rows if r.made)
    listed = TT.programme_referrals(lead, row.partner, row.programme)
    assert [r.client_ref for r in listed.rows] == [ann.client_ref, bea.client_ref]
    assert listed.rows[0].no_reply and not listed.rows[1].no_reply and listed.no_reply == 1
    assert listed.no_reply == row.no_reply  # the Partners figure it opens from
    assert [r.chases for r in listed.rows] == [1, 0]
    assert listed.rows[0].working_days == 32  # 12 Oct to 25 Nov, in working days
    assert listed.rows[1].last_update_date == date(2026, 10, 27)
    assert TT.programme_referrals(lead1, row.partner, row.programme).rows == ()  # another lot's lead
    assert TT.programme_referrals(lead, row.partner, row.programme, since=date(2026, 10, 15)).rows[0].client_ref == (
        bea.client_ref
    )


# ---------------------------------------------------------------- exports hold the lead's lots


def test_a_team_leads_export_holds_only_their_lots(ctx, tmp_path):
    import sqlite3

    from navigator.services.returns import export as E

    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    every = make_user(ctx, "every", "team_lead")  # no lots: leads every lot (services/access.py)
    a = new_referral(ctx, first="Ann", received=date(2026, 11, 2))  # Maidstone: Lot 2
    new_referral(ctx, first="Cal", last="Far", received=date(2026, 11, 4), locality="Dartford")  # Lot 1
    J.log_contact(ctx, a.journey_id, date(2026, 11, 3), "phone", "spoke")

    whole = E.export_month(ctx, "2026-11", tmp_path / "all.sqlite", product=E.ANALYSIS)
    assert whole.referrals == 2
    mine = E.export_month(lead, "2026-11", tmp_path / "lot2.sqlite", product=E.ANALYSIS)
    assert mine.referrals == 1
    conn = sqlite3.connect(mine.path)
    assert {r[0] for r in conn.execute("SELECT lot FROM referrals")} == {"Lot 2"}
    assert {r[0] for r in conn.execute("SELECT lot FROM locality")} == {"Lot 2"}
    assert {r[0] for r in conn.execute("SELECT lot FROM monthly_return")} <= {"Lot 2", "ALL"}
    received = conn.execute(
        "SELECT value FROM monthly_return WHERE measure = 'referrals_received' AND lot = 'ALL'"
    ).fetchone()
    assert received is not None and received[0] == 1  # the service total is the lead's lots' total
    assert dict(conn.execute("SELECT key, value FROM meta"))["scope"] == "lots Lot 2"
    conn.close()
    pub = E.export_month(lead, "2026-11", tmp_path / "pub.sqlite")
    conn = sqlite3.connect(pub.path)
    assert {r[0] for r in conn.execute("SELECT lot FROM monthly_return")} <= {"Lot 2", "ALL"}
    conn.close()
    with pytest.raises(AccessDenied):  # a return sent as final is the whole service's
        E.export_month(lead, "2026-11", tmp_path / "final.sqlite", final=True)
    assert not (tmp_path / "final.sqlite").exists()
    assert E.export_month(every, "2026-11", tmp_path / "every.sqlite", product=E.ANALYSIS).referrals == 2


# ---------------------------------------------------------------- audit history in words


def test_audit_history_in_words_names_people_and_labels_codes(ctx, capsys, db_path, backend, monkeypatch):
    from navigator.cli import main
    from navigator.services.operations import audit_words

    make_user(ctx, "nia", "navigator", ("Lot 2",))
    make_user(ctx, "noa", "navigator", ("Lot 2",))
    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    a = new_referral(ctx, navigator="nia")
    J.log_contact(ctx, a.journey_id, date(2026, 11, 3), "phone", "no_answer", "rang twice")
    J.reassign(lead, [a.journey_id], "noa")
    J.decide(ctx, a.journey_id, "rejected", date(2026, 11, 4), "out_of_area")
    history = audit_words.person_history(lead, a.client_ref)
    by_code = {e.code: e for e in history.events}
    assert by_code["journey.reassign"].action == "Reassigned"
    assert by_code["journey.reassign"].lines == ("navigator: Nia (nia) → Noa (noa)",)
    assert by_code["journey.reassign"].who == "Lead (lead)"
    decided = by_code["journey.decide"].lines
    assert "state: Received → Rejected" in decided and "reject reason: Out of area" in decided
    assert "decision date: 4 Nov 2026" in decided
    contact = by_code["journey.contact"].lines
    assert any(line.startswith("contact: ") and "No answer" in line and "rang twice" in line for line in contact)
    received = by_code["journey.receive"].lines
    assert "navigator: Nia (nia)" in received and any(line.startswith("source: ") for line in received)
    for e in history.events:
        assert not any("_id" in line or "{" in line for line in e.lines), e.lines

    monkeypatch.setattr("navigator.services.context.os_username", lambda: "lead")
    db = ["--db", str(db_path)] if backend == "sqlite" else ["--db-url", ctx.store.url]
    assert main([*db, "audit", "--client", a.client_ref]) == 0
    out = capsys.readouterr().out
    assert "Reassigned" in out and "Nia (nia) → Noa (noa)" in out and "navigator_id" not in out


def test_a_team_leads_drift_names_only_their_lots_people(ctx, tmp_path):
    """A sent return moved by late edits in two lots: the lead of Lot 2 sees every moved figure, and the
    people behind them only in Lot 2; an admin sees everyone."""
    from navigator.services.returns import export as E
    from navigator.services.returns import figures as R

    lead = make_user(ctx, "lead", "team_lead", ("Lot 2",))
    a = new_referral(ctx, first="Ann", received=date(2026, 10, 2))  # Maidstone: Lot 2
    c = new_referral(ctx, first="Cal", last="Far", received=date(2026, 10, 5), locality="Dartford")  # Lot 1
    sent = E.export_month(ctx, "2026-10", tmp_path / "oct.sqlite", final=True)
    for ref in (a, c):  # contacts recorded late, dated in October
        J.log_contact(ctx, ref.journey_id, date(2026, 10, 6), "phone", "spoke")
    admin_refs = {j.client_ref for f in R.drift(ctx, sent.sent_id).moved for j in f.journeys}
    assert admin_refs == {a.client_ref, c.client_ref}
    lead_drift = R.drift(lead, sent.sent_id)
    assert len(lead_drift.moved) == len(R.drift(ctx, sent.sent_id).moved)  # the figures themselves
    assert {j.client_ref for f in lead_drift.moved for j in f.journeys} == {a.client_ref}
