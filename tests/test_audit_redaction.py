"""Retention removes a person's text from the audit log too; the chain still proves nothing else changed.

Version 2 events chain the hash of their before/after text, so retention can blank the text (redacted) and
``verify_chain`` still checks every event; the database allows that one change and only after a retention
event about the person. Migration 0002 rehashes older events (when their chain checks) so they can be
redacted too. Runs on SQLite and (with NAVIGATOR_TEST_PG_URL) on PostgreSQL.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from conftest import TODAY, make_user, new_referral, sound
from helpers.tamper import tamper_engine, tamper_sqlite
from navigator.cli import main
from navigator.services import audit
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.context import Ctx
from navigator.services.operations import retention
from navigator.services.operations.doctor import examine
from navigator.store import engine as E
from navigator.store.models import metadata

both = pytest.mark.both_backends

# Everything that identifies Zelda or that she told us; none of it may survive retention, anywhere.
SECRETS = (
    "Zelda",
    "Quimby",
    "ME14 1XX",
    "ME141XX",
    "9434765919",
    "943 476 5919",
    "07700 900123",
    "07700 900456",
    "zelda.quimby",
    "Lantern Row",
    "Hollowell",
    "Pettigrew",
    "Ferncastle",
    "Oswin",
    "Gildersleeve",
    "Philippa",
)


def _zelda(ctx: Ctx):
    """A person whose only journey closed in 2017, with every kind of text, searched for, opened with a
    reason, and with details corrected once (so old values sit in an update's "before")."""
    d = date(2017, 3, 1)
    client = J.ClientInput(
        "Zelda",
        "Quimby",
        date(1970, 9, 15),
        "Maidstone",
        postcode="ME14 1XX",
        nhs_number="9434765919",
        phone="07700 900123",
        email="zelda.quimby@example.org",
        address="1 Lantern Row",
        consent_to_share=True,
    )
    ref = J.receive_referral(
        ctx,
        J.ReferralInput(
            d, "gp", client=client, referrer="Dr Hollowell", reason="worried about her landlord Mr Pettigrew"
        ),
    )
    jid = ref.journey_id
    J.log_contact(ctx, jid, d + timedelta(days=1), "phone", "spoke", "spoke about the Ferncastle debt")
    J.decide(ctx, jid, "accepted", d + timedelta(days=2))
    J.start(ctx, jid, d + timedelta(days=3), [3] * 7)
    goal = J.add_goal(ctx, jid, "economic", "I will clear the Ferncastle catalogue")
    J.update_goal(ctx, goal, status="in_progress", note="rang Ferncastle Credit", on=d + timedelta(days=10))
    J.record_review(ctx, jid, d + timedelta(days=20), "review with her brother Oswin")
    onward = J.make_onward(ctx, jid, 2, d + timedelta(days=21), "lives above the Gildersleeve bakery")
    J.partner_update(ctx, onward, "started", d + timedelta(days=25), "seen at the Gildersleeve flat")
    J.close(ctx, jid, d + timedelta(days=60), "completed", "cleared the Ferncastle arrears", [4] * 7)
    Q.find(ctx, "Quimby")
    Q.find(ctx, "943 476 5919")
    Q.journey_detail(ctx, jid)
    nav = make_user(ctx, "nav", "navigator", ("Lot 2",))
    Q.open_with_reason(nav, ref.client_id, "Zelda's sister Philippa phoned")
    J.update_client(
        ctx,
        ref.client_id,
        J.ClientInput(
            "Zelda",
            "Quimby",
            date(1970, 9, 15),
            "Maidstone",
            postcode="ME14 1XX",
            nhs_number="9434765919",
            phone="07700 900456",
            email="zelda.quimby@example.org",
            address="2 Lantern Row",
            consent_to_share=True,
        ),
    )
    return ref


@pytest.fixture
def people(ctx):
    zelda = _zelda(ctx)
    bob = new_referral(ctx, first="Bob", last="Jones")  # current: left alone
    J.log_contact(ctx, bob.journey_id, date(2026, 11, 3), "phone", "spoke", "Bob asked about the choir")
    Q.find(ctx, "Jones")
    return {"zelda": zelda, "bob": bob}


def _text_everywhere(engine) -> str:
    """Every value of every table, as one text (case folded)."""
    parts = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                parts += [str(v) for v in row if v is not None]
    return "\n".join(parts).casefold()


def _file_bytes(path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")) if p.is_file())


def _found_in_bytes(data: bytes) -> list[str]:
    return [s for s in SECRETS if any(v.encode() in data for v in {s, s.lower(), s.upper()})]


def _events(engine, where="1=1"):
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT * FROM audit_event WHERE {where} ORDER BY id")).all()


def _refused(ctx, statement):
    with pytest.raises(DBAPIError, match="append-only"), ctx.store.write_engine.begin() as conn:
        conn.execute(text(statement))


# ---------------------------------------------------------------- what retention removes


@both
def test_retention_leaves_nothing_of_the_person_anywhere(ctx, people, backend, db_path):
    folded = _text_everywhere(ctx.store.engine)
    assert all(s.casefold() in folded for s in SECRETS if s not in ("ME141XX",))  # the test sees them first
    if backend == "sqlite":
        assert _found_in_bytes(_file_bytes(db_path))

    report = retention.apply(ctx)
    assert report.anonymised == 1 and report.audit_unredactable == 0
    assert report.audit_redacted >= 14  # create, receive, contact, ..., access.grant, update, two searches

    folded = _text_everywhere(ctx.store.engine)
    assert [s for s in SECRETS if s.casefold() in folded] == []
    assert "bob asked about the choir" in folded and '"query": "jones"' in folded  # others' text stays
    with Session(ctx.store.engine) as s:
        assert audit.verify_chain(s) == []
        assert audit.redacted_count(s) == report.audit_redacted
    zid = people["zelda"].client_id
    redacted = _events(ctx.store.engine, "redacted = " + ("1" if backend == "sqlite" else "true"))
    assert len(redacted) == report.audit_redacted
    assert all(e.before is None and e.after is None for e in redacted)
    assert {e.client_id for e in redacted} == {zid, None}  # hers, and the searches for her
    assert {e.action for e in redacted if e.client_id is None} == {"search"}
    # Who did what, when, to which record, is all still there.
    assert {"client.create", "journey.contact", "goal.update", "access.grant", "client.update"} <= {
        e.action for e in redacted
    }
    anonymise = _events(ctx.store.engine, "action = 'retention.anonymise'")
    assert len(anonymise) == 1 and anonymise[0].client_id == zid
    after = json.loads(anonymise[0].after)
    assert after["audit_events_redacted"] + after["searches_redacted"] == report.audit_redacted
    assert after["searches_redacted"] == 2 and after["audit_events_unredactable"] == 0

    report_doctor = examine(ctx.store.url, min_free_bytes=0)
    assert sound(report_doctor), report_doctor.problems
    chain = next(f for f in report_doctor.findings if f.check == "audit chain")
    assert f"{report.audit_redacted} with personal data removed by retention" in chain.detail

    if backend == "sqlite":
        # secure_delete + a truncating checkpoint: the removed text is gone from the file's bytes too
        # (free space left by edits made *before* retention would need a VACUUM; see retention.py).
        assert _found_in_bytes(_file_bytes(db_path)) == []
        ctx.store.dispose()
        con = sqlite3.connect(db_path)
        con.execute("VACUUM")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        assert _found_in_bytes(_file_bytes(db_path)) == []


@both
def test_events_about_others_are_untouched(ctx, people):
    others = [e for e in _events(ctx.store.engine) if e.client_id != people["zelda"].client_id and e.action != "search"]
    retention.apply(ctx)
    after = {e.id: e for e in _events(ctx.store.engine)}
    assert all(after[e.id] == e for e in others)


# ---------------------------------------------------------------- what the database allows


@both
def test_the_database_allows_only_retentions_redaction(ctx, people, backend):
    zid, bob = people["zelda"].client_id, people["bob"]
    yes = "1" if backend == "sqlite" else "true"
    hers = _events(ctx.store.engine, f"client_id = {zid} AND after IS NOT NULL")[0].id
    # Before retention, not even her events can be blanked.
    _refused(ctx, f"UPDATE audit_event SET after = NULL, before = NULL, redacted = {yes} WHERE id = {hers}")
    retention.apply(ctx)
    bobs = _events(ctx.store.engine, f"client_id = {bob.client_id} AND after IS NOT NULL")[0].id
    config = _events(ctx.store.engine, "client_id IS NULL AND action <> 'search' AND after IS NOT NULL")[0].id
    jones = _events(ctx.store.engine, "action = 'search' AND after IS NOT NULL")[-1].id
    later = _events(ctx.store.engine, "action = 'retention.apply'")[0].id
    for statement in (
        f"UPDATE audit_event SET username = 'mallory' WHERE id = {hers}",  # anything else, even on hers
        f"UPDATE audit_event SET redacted = {'0' if backend == 'sqlite' else 'false'} WHERE id = {hers}",
        f"UPDATE audit_event SET after = '{{}}', redacted = {yes} WHERE id = {hers}",  # new text
        f"UPDATE audit_event SET after_hash = NULL, redacted = {yes} WHERE id = {hers}",
        f"UPDATE audit_event SET after = NULL, redacted = {yes} WHERE id = {bobs}",  # someone not retained
        f"UPDATE audit_event SET after = NULL, redacted = {yes} WHERE id = {config}",  # about no one
        f"UPDATE audit_event SET after = NULL, redacted = {yes} WHERE id = {later}",  # no retention after it
        f"UPDATE audit_event SET after = NULL, client_id = {zid}, redacted = {yes} WHERE id = {bobs}",
        f"UPDATE audit_event SET hash_version = 1 WHERE id = {jones}",
        f"DELETE FROM audit_event WHERE id = {hers}",
        "DELETE FROM audit_event",
    ):
        before = _events(ctx.store.engine)
        _refused(ctx, statement)
        assert _events(ctx.store.engine) == before, statement
    # A search can be blanked once a later retention event exists (its words may name anyone), still
    # recorded as redacted, and the chain still verifies.
    with ctx.store.write_engine.begin() as conn:
        conn.execute(text(f"UPDATE audit_event SET after = NULL, redacted = {yes} WHERE id = {jones}"))
    with Session(ctx.store.engine) as s:
        assert audit.verify_chain(s) == []


def test_raw_sqlite_is_refused_too(ctx, people, db_path):
    retention.apply(ctx)
    bobs = _events(ctx.store.engine, f"client_id = {people['bob'].client_id} AND after IS NOT NULL")[0].id
    con = sqlite3.connect(db_path)
    try:
        for statement in (
            f"UPDATE audit_event SET after = NULL, redacted = 1 WHERE id = {bobs}",
            "UPDATE audit_event SET username = 'x'",
            "DELETE FROM audit_event WHERE id = 1",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(statement)
    finally:
        con.close()


# ---------------------------------------------------------------- what verify_chain catches


def _tamper(ctx, backend, db_path, *statements):
    if backend == "sqlite":
        ctx.store.dispose()
        tamper_sqlite(db_path, *statements)
    else:
        tamper_engine(ctx.store.engine, *statements)


def _problems(ctx):
    with Session(ctx.store.engine) as s:
        return [(p.event_id, p.problem) for p in audit.verify_chain(s)]


@both
def test_an_edited_text_is_still_detected(ctx, people, backend, db_path):
    target = _events(ctx.store.engine, "action = 'journey.contact' AND after LIKE '%choir%'")[0].id
    _tamper(ctx, backend, db_path, f"UPDATE audit_event SET after = REPLACE(after, 'choir', 'gym') WHERE id = {target}")
    assert _problems(ctx) == [(target, audit.CHANGED)]


@both
def test_an_edited_text_with_its_hash_recomputed_still_breaks_the_chain(ctx, people, backend, db_path):
    row = _events(ctx.store.engine, "action = 'journey.contact' AND after LIKE '%choir%'")[0]
    forged = row.after.replace("choir", "gym")
    _tamper(
        ctx,
        backend,
        db_path,
        f"UPDATE audit_event SET after = '{forged}', after_hash = '{audit.content_hash(forged)}' WHERE id = {row.id}",
    )
    assert _problems(ctx) == [(row.id, audit.CHANGED)]


@both
def test_text_removed_behind_navigators_back_is_detected(ctx, people, backend, db_path):
    bobs = _events(ctx.store.engine, f"client_id = {people['bob'].client_id} AND after IS NOT NULL")
    yes = "1" if backend == "sqlite" else "true"
    _tamper(
        ctx,
        backend,
        db_path,
        f"UPDATE audit_event SET after = NULL WHERE id = {bobs[0].id}",  # not marked as redacted
        f"UPDATE audit_event SET after = NULL, redacted = {yes} WHERE id = {bobs[1].id}",
    )  # no retention
    assert _problems(ctx) == [(bobs[0].id, audit.CHANGED), (bobs[1].id, audit.UNAUTHORISED)]


@both
def test_retention_redaction_verifies_and_a_removed_event_still_shows(ctx, people, backend, db_path):
    retention.apply(ctx)
    assert _problems(ctx) == []
    ids = [e.id for e in _events(ctx.store.engine)]
    _tamper(ctx, backend, db_path, f"DELETE FROM audit_event WHERE id = {ids[5]}")
    assert _problems(ctx) == [(ids[6], audit.UNLINKED)]


# ---------------------------------------------------------------- migration 0002


def _migrate(store, target):
    cfg = E.alembic_config()
    with store.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if target == "head":
            command.upgrade(cfg, target)
        else:
            command.downgrade(cfg, target)


def _columns(engine):
    with engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("audit_event")}


def _reopen(url):
    store = E.open_store(url)
    return store, Ctx(store, username="admin", today_fn=lambda: TODAY)


@both
def test_a_store_at_0001_is_backed_up_rehashed_and_then_fully_redactable(ctx, people, store_url, backend):
    _migrate(ctx.store, "0001")  # an older store: version 1 hashes, 0001's triggers, no new columns
    assert E.current_revision(ctx.store.engine) == "0001"
    assert not {"before_hash", "after_hash", "redacted", "hash_version"} & _columns(ctx.store.engine)
    with Session(ctx.store.engine) as s:
        assert audit.verify_chain(s) == []  # verify_chain checks a 0001 store as version 1
    assert examine(store_url, min_free_bytes=0).problems[0].check == "schema"  # older: upgrade pending
    old = _events(ctx.store.engine)
    _refused(ctx, f"UPDATE audit_event SET after = NULL WHERE id = {old[-1].id}")
    ctx.store.dispose()

    store, ctx2 = _reopen(store_url)
    try:
        assert E.current_revision(store.engine) == E.head_revision()
        if backend == "sqlite":
            assert store.backup_taken is not None and store.backup_taken.exists()
        new = _events(store.engine)
        assert len(new) == len(old) + 1
        assert {e.hash_version for e in new} == {2}
        for o, n in zip(old, new):  # same events, same text; only the hashes moved to version 2
            assert (n.id, n.action, n.client_id, n.before, n.after) == (o.id, o.action, o.client_id, o.before, o.after)
            assert n.after_hash == audit.content_hash(o.after)
        rehash = new[-1]
        assert rehash.action == "audit.rehash"
        assert json.loads(rehash.after) == {
            "events": len(old),
            "hash_version": 2,
            "schema": "0002",
            "v1_last_hash": old[-1].hash,
        }
        with Session(store.engine) as s:
            assert audit.verify_chain(s) == []
        assert sound(examine(store_url, min_free_bytes=0))
        report = retention.apply(ctx2)  # events written before the upgrade are redacted too
        assert report.anonymised == 1 and report.audit_unredactable == 0 and report.audit_redacted >= 14
        folded = _text_everywhere(store.engine)
        assert [s for s in SECRETS if s.casefold() in folded] == []
        with Session(store.engine) as s:
            assert audit.verify_chain(s) == []
        # Schema 0001 cannot hold a redacted event: the downgrade refuses and changes nothing.
        before = _events(store.engine)
        with pytest.raises(RuntimeError, match="Cannot downgrade"):
            _migrate(store, "0001")
        assert E.current_revision(store.engine) == E.head_revision() and _events(store.engine) == before
    finally:
        store.dispose()


@both
def test_a_0001_store_whose_log_fails_its_check_is_kept_as_evidence(
    ctx, people, store_url, backend, db_path, monkeypatch, capsys
):
    _migrate(ctx.store, "0001")
    old = _events(ctx.store.engine)
    victim = next(e for e in old if e.action == "journey.contact" and "choir" in (e.after or ""))
    _tamper(
        ctx, backend, db_path, f"UPDATE audit_event SET after = REPLACE(after, 'choir', 'gym') WHERE id = {victim.id}"
    )
    ctx.store.dispose()

    store, ctx2 = _reopen(store_url)  # upgraded, but nothing rehashed: the evidence stays as it was
    try:
        new = _events(store.engine)
        assert {e.hash_version for e in new} == {1} and [e.hash for e in new] == [e.hash for e in old]
        rehashed = [json.loads(e.after)["schema"] for e in new if e.action == "audit.rehash"]
        assert rehashed == ["0001"]  # the downgrade's own event only
        with Session(store.engine) as s:
            assert [(p.event_id, p.problem) for p in audit.verify_chain(s)] == [(victim.id, audit.CHANGED)]
        J.log_contact(ctx2, people["bob"].journey_id, date(2026, 11, 4), "phone", "no_answer", "left a message")
        last = _events(store.engine)[-1]
        assert last.hash_version == (3 if backend == "sqlite" else 2) and last.prev_hash == new[-1].hash
        with Session(store.engine) as s:
            assert [p.event_id for p in audit.verify_chain(s)] == [victim.id]
        # Retention anonymises, and says how many older events about her it could not redact.
        monkeypatch.setattr("navigator.services.context.os_username", lambda: "admin")
        db = ["--db", str(db_path)] if backend == "sqlite" else ["--db-url", store_url]
        assert main(db + ["retention", "apply", "--yes"]) == 0
        out = " ".join(capsys.readouterr().out.split())
        kept = len([e for e in old if e.client_id == people["zelda"].client_id and (e.before or e.after)])
        searches = 2
        assert f"{kept + searches} older audit event(s) about them still hold personal data" in out
        with Session(store.engine) as s:
            assert [p.event_id for p in audit.verify_chain(s)] == [victim.id]
    finally:
        store.dispose()


def test_upgrade_downgrade_upgrade_keeps_a_verifiable_chain(ctx, people):
    for target in ("0001", "head", "0001", "head"):
        _migrate(ctx.store, target)
        with Session(ctx.store.engine) as s:
            assert audit.verify_chain(s) == [], target
    rehashes = _events(ctx.store.engine, "action = 'audit.rehash'")
    assert [json.loads(e.after)["schema"] for e in rehashes] == ["0001", "0002", "0001", "0002"]
    with ctx.store.engine.connect() as conn:
        triggers = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'"))}
    assert triggers == {"audit_event_no_update", "audit_event_no_delete"}


# ---------------------------------------------------------------- moving to PostgreSQL


def test_migrate_store_copies_redacted_events_verbatim(ctx, people, pg_url):
    from navigator.services.operations.migrate_store import migrate_store

    retention.apply(ctx)
    result = migrate_store(ctx, pg_url)
    assert result.ok and result.chain_problems == 0
    target = E.open_store(pg_url, create=False)
    try:
        cols = ("id", "before", "after", "before_hash", "after_hash", "redacted", "hash_version", "hash")
        q = text(f"SELECT {', '.join(chr(34) + c + chr(34) for c in cols)} FROM audit_event ORDER BY id")
        with ctx.store.engine.connect() as a, target.engine.connect() as b:
            src = [tuple(bool(v) if c == "redacted" else v for c, v in zip(cols, r)) for r in a.execute(q)]
            assert [tuple(r) for r in b.execute(q)] == src
        assert [s for s in SECRETS if s.casefold() in _text_everywhere(target.engine)] == []
        assert sound(examine(pg_url))
    finally:
        target.dispose()
