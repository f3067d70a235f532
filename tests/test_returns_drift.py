"""Returns that stay true: a return exported --final is recorded; later edits that move its figures
are shown figure by figure, with the journeys and the audited edits (who, when, what) behind them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from conftest import make_user
from navigator.domain.errors import AccessDenied, NotFound
from navigator.services.casework import journeys as J
from navigator.services.casework.journeys import ClientInput, ReferralInput
from navigator.services.context import Ctx, os_username
from navigator.services.returns import export as E
from navigator.services.returns import figures as R
from navigator.services.setup.reference import open_ready

MID = [3, 3, 3, 3, 3, 3, 3]  # 19.25
HIGH = [4, 4, 4, 4, 4, 4, 4]  # 25.03
SEPT = "2026-09"


def referral(ctx, first, locality, received):
    return J.receive_referral(
        ctx,
        ReferralInput(
            received_date=received, source="gp", client=ClientInput(first, "Drift", date(1985, 6, 1), locality)
        ),
    ).journey_id


@pytest.fixture
def sent(tmp_path):
    """September's caseload, sent as final on 5 October; then edited on 20 October by a team lead."""
    path = tmp_path / "drift.sqlite3"
    store, admin = open_ready(f"sqlite:///{path}", username=os_username(), today_fn=lambda: date(2026, 10, 5))
    a = referral(admin, "Alpha", "Maidstone", date(2026, 9, 1))
    J.log_contact(admin, a, date(2026, 9, 2), "phone", "spoke")
    J.decide(admin, a, "accepted", date(2026, 9, 3))
    J.start(admin, a, date(2026, 9, 8), MID)
    b = referral(admin, "Bravo", "Maidstone", date(2026, 9, 10))
    c = referral(admin, "Charlie", "Dartford", date(2026, 9, 14))
    J.decide(admin, c, "accepted", date(2026, 9, 15))
    J.start(admin, c, date(2026, 9, 21))
    res = E.export_month(admin, SEPT, tmp_path / "sept.sqlite", final=True)
    # September as sent: received 3; accepted 2; starts 2; response A 1 Sep -> 2 Sep = 1 working day
    # over 1 case: 1.0; active at 30 Sep: A (Maidstone), C (Dartford) = 2; completions 0.
    sent_return = R.preview(admin, SEPT)
    assert sent_return.value("mean_response_working_days") == Decimal("1.0")
    assert sent_return.value("active_caseload_end") == 2

    make_user(admin, "tess", "team_lead")
    lead = Ctx(store, username="tess", today_fn=lambda: date(2026, 10, 20))
    # Tess records, late, what happened in September:
    J.close(lead, a, date(2026, 9, 29), "completed", evidence="Secret evidence text", swemwbs_end=HIGH)
    J.log_contact(lead, b, date(2026, 9, 15), "phone", "spoke", note="Secret contact note")
    yield {"admin": admin, "lead": lead, "sent_id": res.sent_id, "a": a, "b": b, "c": c, "path": path}
    store.dispose()


def figure(drift, measure, lot="ALL", locality="ALL"):
    return next(f for f in drift.figures if (f.measure, f.lot, f.locality) == (measure, lot, locality))


def test_drift_shows_each_moved_figure_and_the_edit_that_moved_it(sent):
    d = R.drift(sent["admin"], sent["sent_id"])
    assert d.sent.month == SEPT and d.sent.username == os_username()
    assert len(d.figures) == len(R.definitions().measures) * 19

    # completions: A closed as completed on 29 Sep, recorded on 20 Oct by tess
    for lot, loc in (("ALL", "ALL"), ("Lot 2", "ALL"), ("Lot 2", "Maidstone")):
        f = figure(d, "completions", lot, loc)
        assert f.moved and (f.sent_value, f.today_value) == (0, 1)
        assert [j.journey_id for j in f.journeys] == [sent["a"]]
        j = f.journeys[0]
        assert (j.sent_x, j.today_x) == (None, 1)
        assert [e.action for e in j.edits] == ["journey.close"]  # only edits after sending
        edit = j.edits[0]
        assert edit.username == "tess"
        assert "end_date: None -> 2026-09-29" in edit.what
        assert "end_reason: None -> completed" in edit.what
        assert "Secret" not in edit.what  # free text is named, not shown
    # active at the end of September: 2 -> 1 (A ended on the 29th)
    f = figure(d, "active_caseload_end")
    assert (f.sent_text, f.today_text) == ("2", "1")
    assert [(j.journey_id, j.sent_x, j.today_x) for j in f.journeys] == [(sent["a"], 1, None)]
    # SWEMWBS: A is now a pair, 19.25 -> 25.03
    assert figure(d, "swemwbs_mean_change").today_value == Decimal("5.78")
    assert figure(d, "swemwbs_mean_change").sent_value is None
    # mean response: B's first successful contact 10 -> 15 Sep = 3 working days; (1 + 3) / 2 = 2.0
    f = figure(d, "mean_response_working_days")
    assert (f.sent_text, f.today_text) == ("1.0", "2.0")
    assert [(j.journey_id, j.sent_x, j.today_x) for j in f.journeys] == [(sent["b"], None, 3)]
    edit = f.journeys[0].edits[0]
    assert edit.action == "journey.contact" and edit.username == "tess"
    assert "first_contact_date: None -> 2026-09-15" in edit.what and "Secret" not in edit.what

    # what did not move: received, and everything in Dartford / Lot 1
    assert not figure(d, "referrals_received").moved
    assert not any(f.moved for f in d.figures if f.lot == "Lot 1")
    moved = {(f.measure, f.lot, f.locality) for f in d.moved}
    assert ("completions", "Lot 2", "Maidstone") in moved
    assert ("referrals_received", "ALL", "ALL") not in moved
    assert R.moved_figures(sent["admin"], SEPT) == len(d.moved)
    assert R.moved_figures(sent["admin"], "2026-08") is None


def test_a_new_final_return_has_no_drift(sent, tmp_path):
    res = E.export_month(sent["lead"], SEPT, tmp_path / "again.sqlite", final=True)
    assert R.latest_sent(sent["admin"], SEPT).id == res.sent_id
    assert R.drift(sent["admin"], res.sent_id).moved == ()
    assert len(R.sent_returns(sent["admin"])) == 2


def test_drift_keeps_the_options_the_return_was_sent_with(sent, tmp_path):
    res = E.export_month(
        sent["admin"], SEPT, tmp_path / "sup.sqlite", final=True, options=R.ReturnOptions(suppress_under=3)
    )
    d = R.drift(sent["admin"], res.sent_id)
    assert d.sent.options == R.ReturnOptions(3, None)
    f = figure(d, "active_caseload_end", "Lot 1", "Dartford")  # C: 1 when sent and today, so blank
    assert f.sent_suppressed and f.today_suppressed and not f.moved and f.sent_value is None
    J.close(sent["lead"], sent["c"], date(2026, 9, 30), "withdrew")
    d = R.drift(sent["admin"], res.sent_id)
    f = figure(d, "active_caseload_end", "Lot 1", "Dartford")  # 1 (blank) -> 0 (shown)
    assert f.moved and f.sent_suppressed and not f.today_suppressed and f.today_value == 0
    assert [e.action for e in f.journeys[0].edits] == ["journey.close"]


def test_drift_is_for_team_leads(sent):
    nav = make_user(sent["admin"], "navvy", "navigator")
    with pytest.raises(AccessDenied):
        R.drift(nav, sent["sent_id"])
    with pytest.raises(AccessDenied):
        R.sent_returns(nav)
    with pytest.raises(NotFound, match="no sent return"):
        R.drift(sent["admin"], 9999)


def test_cli_lists_sent_returns_and_shows_what_moved(sent, capsys):
    from navigator.cli import main

    rc = main(["--db", str(sent["path"]), "returns"])
    out = capsys.readouterr().out
    assert rc == 0 and SEPT in out and "Sent returns" in out
    rc = main(["--db", str(sent["path"]), "returns", "show", SEPT])
    out = " ".join(capsys.readouterr().out.split())
    assert rc == 0
    assert "have moved since" in out
    assert "completions: service 0 -> 1; Lot 2 0 -> 1; Maidstone 0 -> 1" in out
    assert "tess: journey.close - end_date: None -> 2026-09-29" in out
    assert "mean_response_working_days: service 1.0 -> 2.0" in out
    assert "now counted (3 working days)" in out
    assert "active_caseload_end: service 2 -> 1; Lot 2 1 -> 0; Maidstone 1 -> 0" in out
    assert "referrals_received:" not in out
    assert "Secret" not in out
    rc = main(["--db", str(sent["path"]), "returns", "show", "2026-01"])
    assert rc == 2 and "No return for 2026-01" in " ".join(capsys.readouterr().err.split())


def test_a_locality_added_after_sending_is_not_drift(sent):
    from sqlmodel import select

    from navigator.store.models import Locality, Lot

    with sent["admin"].write() as s:
        lot = s.exec(select(Lot).where(Lot.code == "Lot 3")).one()
        s.add(Locality(lot_id=lot.id, name="New Town"))
    d = R.drift(sent["admin"], sent["sent_id"])
    assert not any(f.locality == "New Town" for f in d.figures)
    assert not any(f.moved for f in d.figures if f.lot == "Lot 3")
    assert len(d.figures) == len(R.definitions().measures) * 19


def _fresh_final(sent, tmp_path, **kw):
    """A return of September sent again now (after Tess's edits): nothing has moved since."""
    res = E.export_month(sent["admin"], SEPT, tmp_path / "again.sqlite", final=True, **kw)
    assert not R.drift(sent["admin"], res.sent_id).moved
    return res.sent_id


def test_a_rename_moves_nothing_and_returns_show_is_empty(sent, tmp_path, capsys):
    from navigator.cli import main
    from navigator.services.setup.reference_data import rename_reference

    sent_id = _fresh_final(sent, tmp_path)
    rename_reference(sent["admin"], "locality", "Maidstone", "Maidstone Town")
    d = R.drift(sent["admin"], sent_id)
    assert d.moved == () and len(d.figures) == len(R.definitions().measures) * 19
    assert figure(d, "starts", "Lot 2", "Maidstone Town").sent_value == 1  # shown under today's name
    rc = main(["--db", str(sent["path"]), "returns", "show", SEPT])
    out = " ".join(capsys.readouterr().out.split())
    assert (
        rc == 0
        and f"0 of {len(R.definitions().measures) * 19} figures have moved since" in out
        and "no longer counted" not in out
    )


def test_a_person_who_moves_later_moves_no_figure(sent, tmp_path):
    sent_id = _fresh_final(sent, tmp_path)
    with sent["admin"].read() as s:
        from navigator.store.models import Journey

        client_id = s.get(Journey, sent["c"]).client_id
    J.update_client(sent["admin"], client_id, ClientInput("Charlie", "Drift", date(1985, 6, 1), "Thanet", imd_decile=1))
    assert R.drift(sent["admin"], sent_id).moved == ()


def test_drift_is_in_the_sent_returns_own_rounding_and_lists_only_edits(sent, tmp_path):
    sent_id = _fresh_final(sent, tmp_path, options=R.ReturnOptions(round_to=5))
    # one more September referral in Maidstone: received 3 -> 4, still 5 when rounded to 5
    d_id = referral(sent["lead"], "Delta", "Maidstone", date(2026, 9, 25))
    J.log_contact(sent["lead"], d_id, date(2026, 9, 28), "phone", "spoke")
    from navigator.services.casework import queries as Q

    Q.journey_detail(sent["lead"], d_id)  # a view: audited, but not an edit
    d = R.drift(sent["admin"], sent_id)
    service = figure(d, "referrals_received")
    assert (service.sent_value, service.today_value, service.moved) == (5, 5, False)
    assert service not in d.moved
    moved = {(f.measure, f.lot, f.locality) for f in d.moved}
    assert ("referrals_received", "Lot 2", "Maidstone") in moved  # 2 -> 3: 0 -> 5 when rounded
    for f in d.moved:
        assert f.sent_text != f.today_text
        for j in f.journeys:
            assert not any(e.action.startswith(("view.", "client.")) for e in j.edits)
            assert j.journey_id == d_id and "journey.receive" in [e.action for e in j.edits]
