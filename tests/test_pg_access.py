"""Issue 14, PostgreSQL: access the database enforces (``navigator pg-setup``) and per-person logins.

A fresh database is set up by the administrator, people are added through the app (each gets their
own login in their role's group), journeys are received through the app as each navigator's login;
then a navigator connects with plain psycopg (as ``psql`` would) and every attack is refused.
"""

from __future__ import annotations

import uuid
from datetime import date

import psycopg
import pytest
from sqlalchemy.engine import make_url

from navigator.domain.errors import AccessDenied, StoreError
from navigator.services import audit
from navigator.services.casework import journeys as J
from navigator.services.casework import queries as Q
from navigator.services.casework.journeys import ClientInput, ReferralInput
from navigator.services.context import Ctx, identity
from navigator.services.operations.doctor import examine
from navigator.services.operations.pg_setup import check, set_up
from navigator.services.setup import users as U
from navigator.store import pg_setup as pg
from navigator.store.engine import open_store

pytestmark = pytest.mark.postgres

DAY = date(2026, 11, 25)  # a Wednesday
LATER = date(2027, 1, 29)  # everything of DAY's referrals is due by then


def as_login(url: str, login: str) -> str:
    """The same database, logged in as ``login`` (the test server trusts loopback logins)."""
    return make_url(url).set(username=login, password=None).render_as_string(hide_password=False)


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def open_as(url: str, login: str) -> tuple:
    """The app as ``login``: its user is the database's session_user."""
    store = open_store(as_login(url, login), create=False)
    ctx = Ctx(store, username=identity(store), today_fn=lambda: DAY)
    return store, ctx


@pytest.fixture
def team(pg_url):
    """A set-up database: an admin, a team lead of Lot 1, navigators in Lot 1 and Lot 2, a journey each."""
    tag = uuid.uuid4().hex[:8]
    names = {k: f"{k}_{tag}" for k in ("adm", "lead", "nav1", "nav2")}
    result = set_up(pg_url, admin=names["adm"], admin_name="Ada Admin")
    assert result.first_admin == names["adm"] and result.problems == ()
    stores = []
    s_adm, adm = open_as(pg_url, names["adm"])
    stores.append(s_adm)
    assert adm.username == names["adm"] and adm.actor().is_admin
    U.add_user(adm, names["lead"], "Tia Lead", "team_lead", ["Lot 1"])
    U.add_user(adm, names["nav1"], "Nia One", "navigator", ["Lot 1"])
    U.add_user(adm, names["nav2"], "Noa Two", "navigator", ["Lot 2"])
    ctxs = {"adm": adm}
    for who in ("lead", "nav1", "nav2"):
        store, ctx = open_as(pg_url, names[who])
        stores.append(store)
        assert ctx.username == names[who]
        ctxs[who] = ctx
    j1 = J.receive_referral(
        ctxs["nav1"],
        ReferralInput(DAY, "gp", client=ClientInput("Alice", "Ashford", date(1980, 1, 2), "Dartford")),
    ).journey_id
    j2 = J.receive_referral(
        ctxs["nav2"],
        ReferralInput(DAY, "gp", client=ClientInput("Bob", "Bexley", date(1975, 3, 4), "Maidstone")),
    ).journey_id
    yield {"url": pg_url, "names": names, "ctx": ctxs, "j1": j1, "j2": j2}
    for store in stores:
        store.dispose()


def test_pg_setup_is_idempotent_and_doctor_checks_it(team):
    url = team["url"]
    again = set_up(url)
    assert again.problems == () and again.first_admin is None and again.created_roles == ()
    assert check(url) == []
    report = examine(url)
    access = [f for f in report.findings if f.check == "database access"]
    assert access and access[0].ok, access
    chain = [f for f in report.findings if f.check.startswith("audit chain")]
    assert chain and chain[0].ok, chain  # the chain the database computed verifies in Python


def test_navigator_sees_only_their_lots_and_caseload(team):
    nav1, names = team["ctx"]["nav1"], team["names"]
    with psycopg.connect(libpq(as_login(team["url"], names["nav1"]))) as conn:
        assert conn.execute("SELECT session_user").fetchone()[0] == names["nav1"]
        people = {r[0] for r in conn.execute("SELECT last_name FROM client")}
        journeys = {r[0] for r in conn.execute("SELECT id FROM journey")}
        tasks = {r[0] for r in conn.execute("SELECT DISTINCT journey_id FROM task")}
        about = {r[0] for r in conn.execute("SELECT DISTINCT journey_id FROM audit_event WHERE journey_id IS NOT NULL")}
    assert people == {"Ashford"}
    assert journeys == {team["j1"]}
    assert tasks <= {team["j1"]} and team["j2"] not in about
    assert {r.journey_id for r in Q.caseload(nav1).rows} == {team["j1"]}
    assert {i.journey_id for i in Q.today(nav1, on=LATER).items} == {team["j1"]}
    with pytest.raises(Exception):  # noqa: B017 - not found or refused: either way nothing shown
        Q.journey_detail(nav1, team["j2"])
    # The team lead of Lot 1 sees Lot 1's journey, not Lot 2's; the admin sees both.
    with psycopg.connect(libpq(as_login(team["url"], names["lead"]))) as conn:
        assert {r[0] for r in conn.execute("SELECT id FROM journey")} == {team["j1"]}
    with psycopg.connect(libpq(as_login(team["url"], names["adm"]))) as conn:
        assert {r[0] for r in conn.execute("SELECT id FROM journey")} == {team["j1"], team["j2"]}


ATTACKS = [
    "UPDATE \"user\" SET role = 'admin' WHERE username = session_user",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
    "TRUNCATE journey CASCADE",
    "ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update",
    "DROP TRIGGER audit_event_no_delete ON audit_event",
    "INSERT INTO audit_event (at, username, action, entity, prev_hash, hash) "
    "VALUES (now(), 'someone', 'user.add', 'user', 'x', 'y')",
    "UPDATE audit_event SET after = NULL",
    'INSERT INTO user_lot (user_id, lot_id) SELECT id, 2 FROM "user" WHERE username = session_user',
    "CREATE TABLE navigator.mine (x int)",
    "ALTER TABLE client DISABLE ROW LEVEL SECURITY",
    "DROP POLICY client_read ON client",
    "SET ROLE navigator_admins",
    "SET ROLE navigator_owner",
    "SELECT navigator.sync_login(session_user::text)",
    "SELECT navigator.audit_append('[[\"user.add\", \"user\", null, null, null, null, null]]', 'someone.else', NULL)",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_navigator_login_is_refused(team, attack):
    with psycopg.connect(libpq(as_login(team["url"], team["names"]["nav1"]))) as conn:
        events = conn.execute("SELECT count(*) FROM audit_event").fetchone()[0]
        with pytest.raises(psycopg.Error) as info:
            conn.execute(attack)
        assert isinstance(info.value, (psycopg.errors.InsufficientPrivilege, psycopg.errors.RaiseException)), (
            type(info.value),
            str(info.value),
        )
    with psycopg.connect(libpq(team["url"])) as conn:  # nothing changed: seen by the administrator
        role = conn.execute('SELECT role FROM navigator."user" WHERE username = %s', (team["names"]["nav1"],))
        assert role.fetchone()[0] == "navigator"
        assert conn.execute("SELECT count(*) FROM navigator.audit_event").fetchone()[0] >= events
        triggers = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'navigator.audit_event'::regclass "
            "AND NOT tgisinternal AND tgenabled <> 'D'"
        ).fetchone()[0]
        assert triggers == 2
    assert check(team["url"]) == []


def test_invisible_rows_cannot_be_changed(team):
    with psycopg.connect(libpq(as_login(team["url"], team["names"]["nav1"]))) as conn:
        cur = conn.execute("UPDATE journey SET reason = 'mine now' WHERE id = %s", (team["j2"],))
        assert cur.rowcount == 0
        cur = conn.execute("UPDATE client SET last_name = 'X' WHERE last_name = 'Bexley'")
        assert cur.rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # a journey for someone else's lot
            conn.execute(
                'UPDATE journey SET navigator_id = (SELECT id FROM "user" WHERE username = %s) WHERE id = %s',
                (team["names"]["nav2"], team["j1"]),
            )


def test_a_navigator_cannot_attach_a_journey_to_someone_outside_their_lots(team):
    """Else a journey of their own on another lot's person would make that person visible to them."""
    with psycopg.connect(libpq(team["url"])) as conn:
        other = conn.execute("SELECT client_id FROM navigator.journey WHERE id = %s", (team["j2"],)).fetchone()[0]
    nav1 = libpq(as_login(team["url"], team["names"]["nav1"]))
    with psycopg.connect(nav1) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(
            "INSERT INTO journey (client_id, locality_id, navigator_id, source_id, received_date, state, "
            "state_since, version, created_at, updated_at, attributes_basis) VALUES (%s, 1, "
            "(SELECT id FROM \"user\" WHERE username = session_user), 1, now(), 'received', now(), 1, now(), "
            "now(), 'received')",
            (other,),
        )


def test_a_reason_to_look_counts_only_with_its_audit_event(team):
    """Find's grant ("reason to look") written behind the app's back is refused at commit; through the
    app (with its audit event) it opens the person, and only within the navigator's lots."""
    nav1, names = team["ctx"]["nav1"], team["names"]
    j3 = J.receive_referral(
        team["ctx"]["lead"],
        ReferralInput(
            DAY, "gp", client=ClientInput("Eve", "Erith", date(1988, 2, 3), "Dartford"), navigator=names["lead"]
        ),
    ).journey_id
    with psycopg.connect(libpq(team["url"])) as conn:
        eve = conn.execute("SELECT client_id FROM navigator.journey WHERE id = %s", (j3,)).fetchone()[0]
    conn = psycopg.connect(libpq(as_login(team["url"], names["nav1"])))
    try:
        assert conn.execute("SELECT count(*) FROM journey WHERE id = %s", (j3,)).fetchone()[0] == 0
        conn.execute(
            "INSERT INTO access_grant (user_id, client_id, reason, granted_at) "
            "VALUES ((SELECT id FROM \"user\" WHERE username = session_user), %s, 'curious', now())",
            (eve,),
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.commit()
    finally:
        conn.close()
    Q.open_with_reason(nav1, eve, "Her GP phoned about her")
    Q.journey_detail(nav1, j3)


def test_the_app_works_as_a_navigator_login_and_the_database_stamps_who(team):
    nav1, names = team["ctx"]["nav1"], team["names"]
    assert {i.journey_id for i in Q.today(nav1, on=LATER).items} == {team["j1"]}
    Q.journey_detail(nav1, team["j1"])
    J.log_contact(nav1, team["j1"], DAY, "phone", "spoke", "Talked it through")
    ref = J.receive_referral(
        nav1, ReferralInput(DAY, "gp", client=ClientInput("Cara", "Chatham", date(1990, 5, 6), "Gravesham"))
    )
    adm = team["ctx"]["adm"]
    with adm.read() as s:
        rows = s.execute(
            audit.AuditEvent.__table__.select().where(audit.AuditEvent.__table__.c.journey_id == ref.journey_id)
        ).all()
        assert rows and {r.username for r in rows} == {names["nav1"]} and {r.acting_as for r in rows} == {None}
        assert audit.verify_chain(s) == []
    # A navigator cannot act as someone else: the database refuses the audit event, so nothing is saved.
    forged = Ctx(nav1.store, username=names["nav2"], today_fn=lambda: DAY)
    forged._actor = nav1.actor()
    with pytest.raises(StoreError):
        J.log_contact(forged, team["j1"], DAY, "phone", "no_answer")
    # An admin may (--as): recorded as acting_as, checked by the database.
    as_nav = Ctx(adm.store, username=names["nav1"], acting_as=names["adm"], today_fn=lambda: DAY)
    J.log_contact(as_nav, team["j1"], DAY, "phone", "no_answer")
    with adm.read() as s:
        last = s.execute(audit.AuditEvent.__table__.select().order_by(audit.AuditEvent.__table__.c.id.desc())).first()
        assert (last.username, last.acting_as) == (names["nav1"], names["adm"])
        assert audit.verify_chain(s) == []


def test_users_deactivate_disables_the_login_and_role_changes_move_groups(team):
    adm, names, url = team["ctx"]["adm"], team["names"], team["url"]
    U.edit_user(adm, names["nav2"], role="team_lead")
    with psycopg.connect(libpq(url)) as conn:
        groups = {
            r[0]
            for r in conn.execute(
                "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
                (names["nav2"],),
            )
        }
    assert groups == {pg.GROUPS["team_lead"]}
    U.deactivate_user(adm, names["nav2"])
    with psycopg.connect(libpq(url)) as conn:
        assert conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (names["nav2"],)).fetchone() == (
            False,
        )
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(libpq(as_login(url, names["nav2"]))).close()
    U.reactivate_user(adm, names["nav2"])
    psycopg.connect(libpq(as_login(url, names["nav2"]))).close()


def test_a_navigator_cannot_manage_users(team):
    nav1 = team["ctx"]["nav1"]
    with pytest.raises((AccessDenied, StoreError)):
        U.add_user(nav1, f"evil_{uuid.uuid4().hex[:6]}", "Evil", "admin")


def test_a_login_that_is_not_a_user_is_nobody(team):
    """After pg-setup the app's user is session_user: a login without an account cannot borrow an OS name."""
    stranger = f"stranger_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(team["url"]), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{stranger}" LOGIN IN ROLE {pg.GROUPS["navigator"]}')
    store, ctx = open_as(team["url"], stranger)
    try:
        assert ctx.username == stranger
        with pytest.raises(AccessDenied):
            ctx.actor()
        with psycopg.connect(libpq(as_login(team["url"], stranger))) as conn:  # and the database shows nothing
            assert conn.execute("SELECT count(*) FROM journey").fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM client").fetchone()[0] == 0
    finally:
        store.dispose()


def test_retention_by_an_admin_login_redacts_and_the_chain_verifies(team):
    from navigator.services.operations import retention

    adm = team["ctx"]["adm"]
    old = J.receive_referral(
        adm, ReferralInput(date(2016, 2, 1), "gp", client=ClientInput("Olga", "Old", date(1950, 1, 1), "Dartford"))
    )
    J.decide(adm, old.journey_id, "rejected", date(2016, 2, 3), "out_of_area")
    report = retention.apply(adm)
    assert report.anonymised == 1
    with adm.read() as s:
        assert audit.verify_chain(s) == []
        assert audit.redacted_count(s) > 0


def test_pg_setup_command(pg_url):
    from navigator.cli import main

    admin = f"first_{uuid.uuid4().hex[:8]}"
    assert main(["pg-setup", "--db-url", pg_url, "--admin", admin, "--admin-name", "First Admin"]) == 0
    assert main(["pg-setup", "--db-url", pg_url]) == 0  # idempotent
    assert main(["doctor", "--db-url", pg_url]) == 0
    assert main(["users", "list", "--db-url", as_login(pg_url, admin)]) == 0
    nav = f"navx_{uuid.uuid4().hex[:8]}"
    assert main(["users", "add", nav, "--name", "Nav X", "--lot", "Lot 1", "--db-url", as_login(pg_url, admin)]) == 0
    # The new login opens the store as itself; it cannot add users (refused: exit 3).
    assert main(["users", "add", "evil", "--name", "Evil", "--role", "admin", "--db-url", as_login(pg_url, nav)]) == 3


def test_a_store_copied_by_migrate_store_is_adopted(tmp_path, pg_url):
    """migrate-store copies a SQLite store into public; pg-setup moves it into the schema, keeps the
    copied log verifying (the same key, now held by the database) and gives every user a login."""
    from navigator.services.operations.migrate_store import migrate_store
    from navigator.services.setup.reference import open_ready

    tag = uuid.uuid4().hex[:8]
    admin, nav = f"mig_adm_{tag}", f"mig_nav_{tag}"
    store, ctx = open_ready(f"sqlite:///{tmp_path / 'team.sqlite3'}", username=admin, today_fn=lambda: DAY)
    try:
        U.add_user(ctx, nav, "Nav Migrated", "navigator", ["Lot 1"])
        J.receive_referral(
            ctx,
            ReferralInput(DAY, "gp", client=ClientInput("Dee", "Deal", date(1970, 7, 8), "Dartford"), navigator=nav),
        )
        assert migrate_store(ctx, pg_url).ok
    finally:
        store.dispose()
    result = set_up(pg_url)
    assert result.moved_tables > 10 and result.problems == ()
    s_nav, nav_ctx = open_as(pg_url, nav)
    s_adm, adm_ctx = open_as(pg_url, admin)
    try:
        rows = Q.caseload(nav_ctx).rows
        assert len(rows) == 1  # their own journey, copied from the SQLite store
        J.log_contact(nav_ctx, rows[0].journey_id, DAY, "phone", "spoke")
        with adm_ctx.read() as s:
            assert audit.verify_chain(s) == []
    finally:
        s_nav.dispose()
        s_adm.dispose()


async def test_the_desk_works_end_to_end_as_a_navigator_login(team):
    """The Textual app on a navigator's own login: Today, a new referral typed in, a contact logged."""
    from navigator.tui.screens.today import TodayScreen
    from tui.helpers import make_app
    from tui.test_pilot_journeys import contact, new_referral, press, settle, shown

    nav2 = team["ctx"]["nav2"]  # Lot 2: the form's Maidstone is theirs
    nav2.today_fn = lambda: DAY
    app = make_app(nav2)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TodayScreen)
        jid = await new_referral(pilot, "Maya", "Okafor", "14/03/1990", "2026-11-02")
        await contact(pilot, "03/11/2026", "Phone", "Spoke")
        await press(pilot, "t")
        assert isinstance(app.screen, TodayScreen) and "Nothing is due" not in await shown(pilot)
    d = Q.journey_detail(nav2, jid, audit_view=False)
    assert d.first_contact_date == date(2026, 11, 3)
    with team["ctx"]["adm"].read() as s:
        who = {
            r.username
            for r in s.execute(
                audit.AuditEvent.__table__.select().where(audit.AuditEvent.__table__.c.journey_id == jid)
            ).all()
        }
        assert who == {team["names"]["nav2"]}


def test_doctor_finds_access_taken_apart(team):
    """Row security switched off, a policy dropped, a group given TRUNCATE: doctor says what and exits 1."""
    from navigator.cli import main

    url = team["url"]
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("ALTER TABLE navigator.client DISABLE ROW LEVEL SECURITY")
        conn.execute("DROP POLICY journey_read ON navigator.journey")
        conn.execute(f"GRANT TRUNCATE ON navigator.audit_event TO {pg.GROUPS['navigator']}")
    problems = check(url)
    assert any("row-level security is off on client" in p for p in problems)
    assert any("TRUNCATE" in p for p in problems)
    assert any("journey_read on journey" in p for p in problems)
    access = next(f for f in examine(url).findings if f.check == "database access")
    assert not access.ok and "pg-setup" in access.fix
    assert main(["doctor", "--db-url", url]) == 1
    assert set_up(url).problems == ()  # running pg-setup again puts it all back
    assert check(url) == []


def test_an_everyday_command_on_an_empty_database_creates_nothing(pg_url, capsys):
    """Only the commands that make a store lay the schema in an empty database (issue 14)."""
    import sqlalchemy as sa

    from navigator.cli import main

    assert main(["doctor", "--db-url", pg_url]) != 0
    assert main(["users", "list", "--db-url", pg_url]) == 4
    assert "no navigator store" in capsys.readouterr().err
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []  # nothing was created
    finally:
        engine.dispose()
    assert main(["init", "--db-url", pg_url, "--template", "blank"]) == 0
    assert main(["users", "list", "--db-url", pg_url]) == 0
