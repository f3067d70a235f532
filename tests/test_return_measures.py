"""The monthly return's measures, checked against a caseload built by hand through the services.

Month M is May 2026. Calendar facts used below: 1 May 2026 is a Friday; Monday
4 May (early May bank holiday) and Monday 25 May (spring bank holiday) are not
working days; 6 April 2026 is Easter Monday. Working days from A to B count the
working days d with A < d <= B.

SWEMWBS metric scores (conversion table): raw 21 -> 19.25, raw 22 -> 19.98,
raw 28 -> 25.03.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from navigator.domain.errors import AccessDenied, DomainError
from navigator.services.casework import journeys as J
from navigator.services.casework import loops
from navigator.services.casework.journeys import ClientInput, ReferralInput
from navigator.services.returns import figures as R
from navigator.services.setup.reference import open_ready
from navigator.store.models import Partner, Programme

MONTH = "2026-05"
TODAY = date(2026, 11, 25)

MID = [3, 3, 3, 3, 3, 3, 3]  # raw 21 -> 19.25
MID_PLUS = [4, 3, 3, 3, 3, 3, 3]  # raw 22 -> 19.98
HIGH = [4, 4, 4, 4, 4, 4, 4]  # raw 28 -> 25.03


def nhs_number(seed: int) -> str:
    """A valid NHS number (Modulus 11) built from a seed."""
    n = 400000000 + seed * 7919
    while True:
        digits = f"{n:09d}"
        total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1)))
        check = 11 - total % 11
        check = 0 if check == 11 else check
        if check != 10 and len(set(digits)) > 1:
            return digits + str(check)
        n += 1


@dataclass
class Caseload:
    ctx: object
    j: dict[str, int] = field(default_factory=dict)  # label -> journey id
    onward: dict[str, int] = field(default_factory=dict)
    pii: list[str] = field(default_factory=list)  # every identifier and free text put in


def _programme(ctx, partner: str) -> int:
    with ctx.read() as s:
        return s.exec(
            select(Programme.id).join(Partner, Partner.id == Programme.partner_id).where(Partner.name == partner)
        ).first()


def person(
    cl: Caseload, label: str, locality: str, received: date, *, dob=date(1980, 3, 14), imd=None, consent=True
) -> int:
    n = len(cl.j) + 1
    first, last = f"Firstname{label}", f"Surname{label}q"
    postcode = f"ME{n} {n}AB" if n < 10 else f"TN{n - 9} {n - 9}XY"
    nhs = nhs_number(n)
    phone = f"07700 900{n:03d}"
    email = f"person{label.lower()}@example.org"
    address = f"{n} Acacia Avenue{label}"
    referrer = f"Dr Referrer{label}"
    reason = f"Low mood reason{label} after bereavement"
    ref = J.receive_referral(
        cl.ctx,
        ReferralInput(
            received_date=received,
            source="gp",
            referrer=referrer,
            reason=reason,
            client=ClientInput(
                first,
                last,
                dob,
                locality,
                postcode=postcode,
                nhs_number=nhs,
                phone=phone,
                email=email,
                address=address,
                imd_decile=imd,
                consent_to_share=consent,
            ),
        ),
    )
    cl.j[label] = ref.journey_id
    cl.pii += [
        first,
        last,
        postcode,
        postcode.replace(" ", ""),
        nhs,
        phone,
        email,
        address,
        referrer,
        reason,
        dob.isoformat(),
        dob.strftime("%d/%m/%Y"),
        ref.client_ref,
    ]
    return ref.journey_id


def note(cl: Caseload, text: str) -> str:
    cl.pii.append(text)
    return text


def build_may_caseload(ctx) -> Caseload:
    """The hand-built caseload: every figure of May 2026 is worked out in EXPECTED below."""
    cl = Caseload(ctx)
    d = date
    # ---- Maidstone (Lot 2)
    j = person(cl, "J1", "Maidstone", d(2026, 4, 30), imd=2)
    J.log_contact(ctx, j, d(2026, 5, 5), "phone", "spoke", note=note(cl, "Spoke to J1 about housing"))
    J.decide(ctx, j, "accepted", d(2026, 5, 6))
    J.start(ctx, j, d(2026, 5, 12), MID)
    J.add_goal(ctx, j, "connect", note(cl, "I want to join a walking group J1"))
    J.close(ctx, j, d(2026, 5, 28), "completed", evidence=note(cl, "Evidence J1 joined group"), swemwbs_end=HIGH)

    j = person(cl, "J2", "Maidstone", d(2026, 5, 1), imd=7)
    J.log_contact(ctx, j, d(2026, 5, 1), "phone", "spoke")
    J.decide(ctx, j, "accepted", d(2026, 5, 1))
    J.start(ctx, j, d(2026, 5, 26), HIGH)
    J.close(ctx, j, d(2026, 5, 29), "completed", evidence=note(cl, "Evidence J2 done"), swemwbs_end=MID_PLUS)

    j = person(cl, "J3", "Maidstone", d(2026, 5, 11))
    J.log_contact(ctx, j, d(2026, 5, 12), "phone", "no_answer", note=note(cl, "No answer J3 voicemail full"))
    J.close(ctx, j, d(2026, 5, 29), "no_response")

    j = person(cl, "J4", "Maidstone", d(2026, 5, 18))
    J.log_contact(ctx, j, d(2026, 5, 20), "phone", "spoke")
    J.decide(ctx, j, "rejected", d(2026, 5, 20), "out_of_area")

    j = person(cl, "J5", "Maidstone", d(2026, 3, 2))
    J.log_contact(ctx, j, d(2026, 3, 3), "phone", "spoke")
    J.decide(ctx, j, "accepted", d(2026, 3, 3))
    J.start(ctx, j, d(2026, 3, 10), MID)
    o = J.make_onward(
        ctx, j, _programme(ctx, "Kent Active Wellbeing"), d(2026, 5, 7), note=note(cl, "Onward note J5 knee problems")
    )
    J.partner_update(ctx, o, "started", d(2026, 5, 14), note=note(cl, "Partner says J5 attended"))
    J.partner_update(ctx, o, "completed", d(2026, 5, 27))
    cl.onward["O1"] = o

    j = person(cl, "J6", "Maidstone", d(2026, 4, 1))
    J.log_contact(ctx, j, d(2026, 4, 2), "phone", "spoke")
    J.decide(ctx, j, "accepted", d(2026, 4, 2))
    J.start(ctx, j, d(2026, 4, 20))
    J.close(ctx, j, d(2026, 5, 15), "withdrew")

    j = person(cl, "J7", "Maidstone", d(2026, 5, 20))
    J.decide(ctx, j, "accepted", d(2026, 5, 21))

    person(cl, "J15", "Maidstone", d(2026, 6, 1))  # June: not in May at all

    # ---- Sevenoaks (Lot 2)
    j = person(cl, "J8", "Sevenoaks", d(2026, 5, 4), imd=3)
    J.log_contact(ctx, j, d(2026, 5, 6), "phone", "spoke")
    J.decide(ctx, j, "accepted", d(2026, 5, 6))
    J.start(ctx, j, d(2026, 5, 6), MID)
    o = J.make_onward(ctx, j, _programme(ctx, "Peer Connect"), d(2026, 5, 20))
    J.partner_update(ctx, o, "started", d(2026, 5, 21))
    J.partner_update(ctx, o, "withdrew", d(2026, 5, 28), note=note(cl, "J8 no longer wishes to attend"))
    cl.onward["O2"] = o

    j = person(cl, "J9", "Sevenoaks", d(2026, 5, 27))
    J.log_contact(ctx, j, d(2026, 5, 29), "phone", "spoke")

    j = person(cl, "J10", "Sevenoaks", d(2026, 4, 1))
    J.decide(ctx, j, "accepted", d(2026, 4, 1))
    J.start(ctx, j, d(2026, 4, 7))
    J.close(ctx, j, d(2026, 5, 12), "completed", evidence=note(cl, "Evidence J10"), swemwbs_end=HIGH)

    # ---- Dartford (Lot 1)
    j = person(cl, "J11", "Dartford", d(2026, 5, 5), imd=4)
    J.log_contact(ctx, j, d(2026, 5, 5), "phone", "spoke")
    J.decide(ctx, j, "accepted", d(2026, 5, 5))
    J.start(ctx, j, d(2026, 5, 7), MID)
    J.close(ctx, j, d(2026, 5, 29), "completed", evidence=note(cl, "Evidence J11"), swemwbs_end=MID)

    j = person(cl, "J12", "Dartford", d(2026, 5, 5))
    J.log_contact(ctx, j, d(2026, 5, 6), "letter", "sent")
    J.close(ctx, j, d(2026, 5, 8), "declined")

    j = person(cl, "J13", "Dartford", d(2026, 4, 27), dob=d(2010, 1, 1))  # 16 when referred
    J.decide(ctx, j, "rejected", d(2026, 5, 1), "under_17")

    j = person(cl, "J14", "Dartford", d(2026, 3, 2))  # all before May
    J.decide(ctx, j, "accepted", d(2026, 3, 3))
    J.start(ctx, j, d(2026, 3, 4))
    J.close(ctx, j, d(2026, 4, 30), "completed", evidence=note(cl, "Evidence J14"))

    # ---- the referrers told (every referral above names its referrer)
    for label, on in (("J1", 29), ("J4", 21), ("J10", 13), ("J12", 8), ("J14", 1)):
        loops.tell_referrer(ctx, cl.j[label], d(2026, 5, on), "phone")
    loops.tell_referrer(ctx, cl.j["J2"], d(2026, 6, 2), "letter")  # told in June: not by the end of May
    return cl


MEASURES = (
    "referrals_received",
    "referrals_accepted",
    "referrals_rejected",
    "starts",
    "unable_to_start",
    "unable_to_start_no_response",
    "completions",
    "ended_early",
    "mean_response_working_days",
    "mean_wait_working_days",
    "onward_referrals_made",
    "onward_referrals_completed",
    "swemwbs_paired",
    "swemwbs_maintained_or_improved_pct",
    "swemwbs_mean_change",
    "active_caseload_end",
    "starts_imd_q1_q2_pct",
    "referrers_told_pct",
)


def fig(
    received,
    accepted,
    rejected,
    starts,
    unable,
    unable_nr,
    completions,
    ended_early,
    response,
    wait,
    onward_made,
    onward_completed,
    paired,
    pct,
    change,
    active,
    imd_pct,
    told_pct,
):
    values = (
        received,
        accepted,
        rejected,
        starts,
        unable,
        unable_nr,
        completions,
        ended_early,
        response,
        wait,
        onward_made,
        onward_completed,
        paired,
        pct,
        change,
        active,
        imd_pct,
        told_pct,
    )
    return {m: (None if v is None else Decimal(v)) for m, v in zip(MEASURES, values)}


# Worked out by hand (see the caseload above):
# Maidstone: received J2 J3 J4 J7 = 4; accepted J1 (6 May) J2 (1 May) J7 (21 May) = 3; rejected J4 = 1;
#   starts J1 J2 = 2; unable to start J3 (no response) = 1; completions J1 J2 = 2; ended early J6 = 1;
#   response: J1 30 Apr->5 May = 2 (1 May, 5 May; 4 May is a bank holiday), J2 0, J4 18->20 May = 2:
#   4/3 = 1.33 -> 1.3; wait: J1 6->12 May = 4 (7, 8, 11, 12), J2 1->26 May = 15 (4 and 25 May are bank
#   holidays): 19/2 = 9.5; onward made/completed J5 = 1/1; paired J1 (+5.78) J2 (19.98-25.03 = -5.05) = 2;
#   maintained 1/2 = 50.0; mean change (578 - 505)/2 = 36.5 hundredths -> 0.37 (half away from zero);
#   active at 31 May: J5 (started in March) J7 (accepted) = 2; IMD: J1 decile 2 yes, J2 decile 7 no: 50.0.
# Sevenoaks: received J8 (4 May) J9 = 2; accepted J8 = 1; starts J8 = 1; completions J10 (no start
#   SWEMWBS: not paired) = 1; response J8 4->6 May = 2, J9 27->29 May = 2: 2.0; wait J8 same day = 0.0;
#   onward made J8 = 1 (withdrew, not completed); active J8 = 1; IMD J8 decile 3: 100.0.
# Dartford: received J11 J12 = 2; accepted J11 = 1; rejected J13 (under 17) = 1; starts J11 = 1;
#   unable to start J12 (declined, not no response) = 1; completions J11 = 1; response 0.0; wait J11
#   5->7 May = 2.0; paired J11 = 1, maintained (equal) 100.0, change 0.00; active 0; IMD decile 4: 100.0.
# Lot 2 = Maidstone + Sevenoaks: response (2+0+2+2+2)/5 = 1.6; wait (4+15+0)/3 = 6.33 -> 6.3;
#   IMD J1, J8 of J1, J2, J8 = 66.67 -> 66.7.
# Service: response (2+0+2+2+2+0)/6 = 1.33 -> 1.3; wait (4+15+0+2)/4 = 5.25 -> 5.3 (half away from zero);
#   paired J1 J2 J11: maintained 2/3 = 66.67 -> 66.7; change (578-505+0)/3 = 24.33 -> 0.24;
#   IMD 3 of 4 = 75.0.
# Referrers told by 31 May, of the journeys closed in May: Maidstone J1 (29 May) and J4 (rejected, told
#   21 May) of J1 J2 (told 2 June: too late) J3 J4 J6 = 40.0; Sevenoaks J10 of J10 = 100.0; Dartford
#   J12 of J11 J12 J13 = 33.3; Lot 2 3 of 6 = 50.0; the service 4 of 9 = 44.4 (J14 closed in April).
EXPECTED = {
    ("Lot 2", "Maidstone"): fig(4, 3, 1, 2, 1, 1, 2, 1, "1.3", "9.5", 1, 1, 2, "50.0", "0.37", 2, "50.0", "40.0"),
    ("Lot 2", "Sevenoaks"): fig(2, 1, 0, 1, 0, 0, 1, 0, "2.0", "0.0", 1, 0, 0, None, None, 1, "100.0", "100.0"),
    ("Lot 2", "Tonbridge & Malling"): fig(0, 0, 0, 0, 0, 0, 0, 0, None, None, 0, 0, 0, None, None, 0, None, None),
    ("Lot 1", "Dartford"): fig(2, 1, 1, 1, 1, 0, 1, 0, "0.0", "2.0", 0, 0, 1, "100.0", "0.00", 0, "100.0", "33.3"),
    ("Lot 3", "Ashford"): fig(0, 0, 0, 0, 0, 0, 0, 0, None, None, 0, 0, 0, None, None, 0, None, None),
    ("Lot 2", "ALL"): fig(6, 4, 1, 3, 1, 1, 3, 1, "1.6", "6.3", 2, 1, 2, "50.0", "0.37", 3, "66.7", "50.0"),
    ("Lot 1", "ALL"): fig(2, 1, 1, 1, 1, 0, 1, 0, "0.0", "2.0", 0, 0, 1, "100.0", "0.00", 0, "100.0", "33.3"),
    ("Lot 3", "ALL"): fig(0, 0, 0, 0, 0, 0, 0, 0, None, None, 0, 0, 0, None, None, 0, None, None),
    ("ALL", "ALL"): fig(8, 5, 2, 4, 2, 1, 4, 1, "1.3", "5.3", 2, 1, 3, "66.7", "0.24", 3, "75.0", "44.4"),
}


@pytest.fixture(scope="module")
def may(tmp_path_factory):
    path: Path = tmp_path_factory.mktemp("returns") / "store.sqlite3"
    store, ctx = open_ready(f"sqlite:///{path}", username="admin", today_fn=lambda: TODAY)
    cl = build_may_caseload(ctx)
    yield cl
    store.dispose()


@pytest.fixture(scope="module")
def may_return(may):
    return R.preview(may.ctx, MONTH)


@pytest.mark.parametrize("scope", list(EXPECTED), ids=lambda s: "/".join(s))
def test_every_measure_for_localities_lots_and_the_service(may_return, scope):
    lot, locality = scope
    got = {m: may_return.value(m, lot, locality) for m in MEASURES}
    assert got == EXPECTED[scope]
    assert not any(may_return.row(m, lot, locality).suppressed for m in MEASURES)


def test_decimals_are_as_the_spec_states(may_return):
    assert may_return.row("mean_wait_working_days").text == "5.3"
    assert may_return.row("swemwbs_mean_change").text == "0.24"
    assert may_return.row("swemwbs_mean_change", "Lot 1", "Dartford").text == "0.00"
    assert may_return.row("starts_imd_q1_q2_pct", "Lot 2").text == "66.7"
    assert may_return.row("referrals_received").text == "8"
    assert may_return.row("swemwbs_mean_change", "Lot 3").text == ""  # no cases: NULL


def test_cases_behind_means(may_return):
    assert may_return.row("mean_response_working_days").cases == 6
    assert may_return.row("mean_wait_working_days").cases == 4
    assert may_return.row("swemwbs_mean_change").cases == 3
    assert may_return.row("starts_imd_q1_q2_pct").cases == 4


def test_one_row_per_measure_for_every_locality_lot_and_the_service(may_return):
    lots = dict(may_return.lots)
    assert lots["Lot 1"] == ("Dartford", "Gravesham", "Swanley", "Swale")
    assert len(lots) == 4
    n_localities = sum(len(v) for v in lots.values())
    assert n_localities == 14
    assert len(may_return.rows) == len(MEASURES) * (1 + 4 + 14)
    assert may_return.measures == MEASURES
    keys = [(r.lot, r.locality, r.measure) for r in may_return.rows]
    assert len(set(keys)) == len(keys)
    # the service first, then each lot followed by its localities; measures in the spec's order
    assert keys[0] == ("ALL", "ALL", "referrals_received")
    assert keys[len(MEASURES)] == ("Lot 1", "ALL", "referrals_received")
    assert keys[2 * len(MEASURES)] == ("Lot 1", "Dartford", "referrals_received")
    assert {r.month for r in may_return.rows} == {MONTH}


def test_onward_by_partner(may_return):
    rows = {(p.partner, p.programme): p for p in may_return.onward_by_partner}
    kaw = rows[("Kent Active Wellbeing", "Resilience and Physical Wellbeing Programme")]
    assert (kaw.made, kaw.started, kaw.completed, kaw.withdrew) == (1, 1, 1, 0)
    peer = rows[("Peer Connect", "Peer support groups")]
    assert (peer.made, peer.started, peer.completed, peer.withdrew) == (1, 1, 0, 1)
    assert len(rows) == 2


def test_other_months_see_their_own_figures(may):
    april = R.preview(may.ctx, "2026-04")
    # April: received J1 (30th), J6, J10, J13 (27th); accepted J6, J10; starts J6 (20th), J10 (7th);
    # completions J14 (30th); active at 30 April: J5, J6, J10 = 3 (J1 was accepted in May; J14 ended
    # on the 30th).
    assert april.value("referrals_received") == 4
    assert april.value("referrals_accepted") == 2
    assert april.value("starts") == 2
    assert april.value("completions") == 1
    assert april.value("active_caseload_end") == 3
    # wait: J6 2 -> 20 Apr: 3rd is Good Friday and 6th Easter Monday, so 7-10 (4), 13-17 (5), 20 (1) = 10;
    # J10 1 -> 7 Apr: 2nd and 7th = 2. Mean (10 + 2) / 2 = 6.0.
    assert april.value("mean_wait_working_days") == Decimal("6.0")
    june = R.preview(may.ctx, "2026-06")
    assert june.value("referrals_received") == 1  # J15
    # active at 30 June: J5, J7, J8 (nothing closed them) = 3
    assert june.value("active_caseload_end") == 3


def test_preview_is_for_team_leads_and_admins(may):
    from conftest import make_user

    nav = make_user(may.ctx, "nav_returns", "navigator")
    with pytest.raises(AccessDenied):
        R.preview(nav, MONTH)
    lead = make_user(may.ctx, "lead_returns", "team_lead", ("Lot 1",))
    assert R.preview(lead, MONTH).value("referrals_received") == 8  # the return is service-wide


def test_months():
    assert R.parse_month("2026-05") == "2026-05"
    for bad in ("2026-13", "2026-5", "May 2026", "", None, "2026-00"):
        with pytest.raises(DomainError):
            R.parse_month(bad)
    assert R.previous_month("2026-01") == "2025-12"
    assert R.previous_month("2026-05") == "2026-04"
    assert R.same_month_last_year("2026-05") == "2025-05"
    assert R.month_bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert R.month_bounds("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))


def test_age_bands():
    assert R.age_band(date(2010, 1, 1), date(2026, 4, 27)) == "under 17"
    assert R.age_band(date(2009, 4, 27), date(2026, 4, 27)) == "17-24"
    assert R.age_band(date(2009, 4, 28), date(2026, 4, 27)) == "under 17"
    assert R.age_band(date(1980, 3, 14), date(2026, 5, 1)) == "45-54"
    assert R.age_band(date(1940, 1, 1), date(2026, 5, 1)) == "75+"


def test_every_measure_has_a_definition_file():
    defs = R.definitions()
    assert defs.names == MEASURES
    for m in defs.measures:
        assert f"CREATE VIEW {m.view} AS" in m.sql
        assert m.definition
        assert m.kind in ("count", "mean")
    kinds = {m.measure: (m.kind, m.decimals, m.multiplier) for m in defs.measures}
    assert kinds["mean_response_working_days"] == ("mean", 1, 10)
    assert kinds["swemwbs_maintained_or_improved_pct"] == ("mean", 1, 1000)
    assert kinds["swemwbs_mean_change"] == ("mean", 2, 1)


def test_referrers_told_counts_only_endings_the_app_asked_to_tell(tmp_path):
    """History from a tracker does not say whether the referrer was told: it is left out rather than
    counted as not told. A desk closure is counted; telling the referrer by the month's end counts it told."""
    from navigator.services.tracker_import.importer import import_bytes

    store, ctx = open_ready(f"sqlite:///{tmp_path / 's.sqlite3'}", username="admin", today_fn=lambda: TODAY)
    try:
        header = (
            "client_ref,first_name,last_name,date_of_birth,postcode,nhs_number,imd_decile,locality,navigator,"
            "referral_source,received_date,first_contact_date,contact_attempts,decision,decision_date,"
            "reject_reason,start_date,swemwbs_start,onward_partner,onward_programme,onward_referral_date,"
            "onward_start_date,onward_end_date,onward_outcome,end_date,end_reason,swemwbs_end\n"
        )
        row = "TRK001,Ann,Smith,1980-01-01,,,,Maidstone,admin,gp,2026-05-01,2026-05-02,,rejected,2026-05-04,"
        import_bytes(ctx, (header + row + "out_of_area,,,,,,,,,,,\n").encode())
        assert R.preview(ctx, MONTH).row("referrers_told_pct").cases == 0  # imported: not known
        cl = Caseload(ctx)
        j = person(cl, "D1", "Maidstone", date(2026, 5, 6))
        J.decide(ctx, j, "rejected", date(2026, 5, 7), "out_of_area")
        got = R.preview(ctx, MONTH).row("referrers_told_pct")
        assert (got.cases, got.value) == (1, Decimal("0.0"))
        loops.tell_referrer(ctx, j, date(2026, 5, 29), "email")
        got = R.preview(ctx, MONTH).row("referrers_told_pct")
        assert (got.cases, got.value) == (1, Decimal("100.0"))
    finally:
        store.dispose()
