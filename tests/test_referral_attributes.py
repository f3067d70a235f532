"""A journey fixes its person's locality, lot, IMD decile and age band when it is received (migration 0003)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from alembic import command
from sqlalchemy import inspect, text

from conftest import new_referral
from navigator.domain import referral
from navigator.services.casework import bulk
from navigator.services.casework import journeys as J
from navigator.services.returns import figures as R
from navigator.services.setup.reference import reference
from navigator.store import engine as E
from navigator.store.models import Client, Journey, Locality

NEW = ("lot_id", "imd_decile", "age_band", "attributes_basis")


def _journey_attrs(ctx, jid):
    with ctx.read() as s:
        j = s.get(Journey, jid)
        lot = s.get(Locality, j.locality_id).lot_id
        return (j.locality_id, j.lot_id, j.imd_decile, j.age_band, j.attributes_basis), lot


def test_age_band_and_imd_group_rules():
    assert referral.age_band(date(2000, 6, 2), date(2017, 6, 1)) == "under 17"
    assert referral.age_band(date(2000, 6, 1), date(2017, 6, 1)) == "17-24"
    assert referral.age_band(date(1940, 1, 1), date(2026, 1, 1)) == "75+"
    assert [referral.imd_group(d) for d in (None, 1, 4, 5, 10)] == ["unknown", "1-4", "1-4", "5-10", "5-10"]


def test_receive_fixes_the_referral_time_attributes_and_a_later_edit_changes_only_later_journeys(ctx):
    first = new_referral(ctx, dob=date(1990, 3, 1), received=date(2026, 11, 2))
    with ctx.write() as s:
        s.exec(text("UPDATE client SET imd_decile = 2 WHERE id = :c").bindparams(c=first.client_id))
    attrs, lot = _journey_attrs(ctx, first.journey_id)
    assert attrs[1:] == (lot, None, "35-44", "received")
    # the person moves to another lot and their decile is corrected: the first journey keeps its own
    with ctx.read() as s:
        c = s.get(Client, first.client_id)
        current = J.ClientInput(
            c.first_name, c.last_name, c.date_of_birth, "Canterbury", imd_decile=7, consent_to_share=True
        )
    J.update_client(ctx, first.client_id, current)
    assert _journey_attrs(ctx, first.journey_id)[0] == attrs
    later = J.receive_referral(
        ctx,
        J.ReferralInput(received_date=date(2026, 11, 20), source="gp", client_id=first.client_id, second_journey=True),
    )
    attrs2, lot2 = _journey_attrs(ctx, later.journey_id)
    assert attrs2[0] != attrs[0] and attrs2[1:] == (lot2, 7, "35-44", "received")


def test_bulk_writer_fills_them_and_takes_the_import_rows_decile(ctx):
    ref = reference(ctx)
    loc = next(x.id for x in ref.localities if x.name == "Maidstone")
    with ctx.write() as s:
        w = bulk.BulkWriter(s, ctx)
        client = bulk.ClientSpec("NAV000101", "Bo", "Ng", date(1950, 5, 5), loc, imd_decile=9)
        spec = bulk.JourneySpec(
            client=client, navigator_id=ctx.actor(s).id, source_id=ref.sources[0].id, received_date=date(2026, 9, 1)
        )
        w.add_journey(spec)
        spec2 = replace(
            spec, received_date=date(2026, 10, 1), imd_decile=3, attributes_basis=referral.BASIS_IMPORT, id=None
        )
        w.add_journey(spec2)
        w.flush()
    a1, lot = _journey_attrs(ctx, spec.id)
    a2, _ = _journey_attrs(ctx, spec2.id)
    assert a1[1:] == (lot, 9, "75+", "received")
    assert a2[1:] == (lot, 3, "75+", "import")


def _migrate(store, target):
    cfg = E.alembic_config()
    with store.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.upgrade if target == "head" else command.downgrade)(cfg, target)


def test_migration_0003_fills_existing_journeys_from_the_current_values_and_says_so(ctx, store_url):
    a = new_referral(ctx, dob=date(2001, 12, 1), received=date(2026, 11, 2))
    with ctx.write() as s:
        s.exec(text("UPDATE client SET imd_decile = 4 WHERE id = :c").bindparams(c=a.client_id))
    _migrate(ctx.store, "0002")
    with ctx.store.engine.connect() as conn:
        assert not set(NEW) & {c["name"] for c in inspect(conn).get_columns("journey")}
    ctx.store.dispose()
    store = E.open_store(store_url)  # upgrades (after a backup)
    try:
        assert E.current_revision(store.engine) == E.head_revision()
        with store.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT j.lot_id, l.lot_id, j.imd_decile, j.age_band, j.attributes_basis FROM journey j "
                    "JOIN locality l ON l.id = j.locality_id WHERE j.id = :j"
                ),
                {"j": a.journey_id},
            ).one()
        assert row[0] == row[1] and row[2:] == (4, "17-24", "current")
        _migrate(store, "0002")  # and back down
        with store.engine.connect() as conn:
            assert not set(NEW) & {c["name"] for c in inspect(conn).get_columns("journey")}
            assert conn.execute(text("SELECT COUNT(*) FROM journey")).scalar() == 1
    finally:
        store.dispose()


def test_an_imported_person_who_moved_keeps_each_journeys_own_decile_and_locality(ctx, tmp_path):
    """Two referrals of one person: the first in Maidstone at decile 2, the second in Thanet at decile 8."""
    importer = pytest.importorskip("navigator.services.tracker_import.importer")
    path = tmp_path / "tracker.csv"
    path.write_text(
        "client_ref,first_name,last_name,date_of_birth,locality,navigator,referral_source,received_date,"
        "decision,decision_date,start_date,imd_decile\n"
        "T1,Ivy,Moved,1975-05-05,Maidstone,admin,gp,2026-03-02,accepted,2026-03-03,2026-03-09,2\n"
        "T1,Ivy,Moved,1975-05-05,Thanet,admin,gp,2026-09-01,accepted,2026-09-02,2026-09-07,8\n",
        encoding="utf-8",
    )
    report = importer.import_file(ctx, path)
    assert report.ok, report.errors[:3]
    with ctx.read() as s:
        rows = s.exec(text("SELECT imd_decile, attributes_basis FROM journey ORDER BY received_date")).all()
    assert [tuple(r) for r in rows] == [(2, "import"), (8, "import")]
    march, september = R.preview(ctx, "2026-03"), R.preview(ctx, "2026-09")
    assert march.value("starts", "Lot 2", "Maidstone") == 1 and march.value("starts_imd_q1_q2_pct") == 100
    assert september.value("starts", "Lot 4", "Thanet") == 1 and september.value("starts_imd_q1_q2_pct") == 0
