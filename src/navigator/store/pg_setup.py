"""PostgreSQL: access the database itself enforces (``navigator pg-setup``), and per-person logins.

Run by a database administrator (a superuser, or a role with CREATEROLE that owns the database);
idempotent. It lays roles, grants and policies over the tables the usual migrations create:

- a ``navigator`` schema owned by ``navigator_owner``, a role nobody logs in as (NOLOGIN). The
  migrations run as that role (``SET ROLE``), so it owns every table; the database's search_path
  points at the schema. Tables an earlier ``migrate-store`` left in ``public`` are moved in.
- one group role per app role (``navigator_navigators``, ``navigator_team_leads``,
  ``navigator_admins``) with only the rights that role needs: no TRUNCATE, no DDL (nobody but the
  owner owns anything), no INSERT/UPDATE/DELETE on ``audit_event`` (admins may blank its text for
  retention only: the 0004 trigger still decides), no writes to ``user``/``user_lot``/reference
  data but by admins.
- each person logs in as their own role (a member of their group), so the app's user is the
  database's ``session_user``. ``navigator users add`` creates the login, ``users deactivate``
  makes it NOLOGIN (``sync_login``, a SECURITY DEFINER function only admins may run).
- row-level security on clients, journeys and everything under them: admins see everything; team
  leads the rows of their lots; navigators clients in their lots, and journeys (with what hangs
  off them) of their caseload plus people they opened through Find with a recorded reason
  (``access_grant``). A user with no lots works across the whole service, as in the app.
- audit events are written only by ``navigator.audit_append``, SECURITY DEFINER: it stamps
  ``session_user`` (an admin may act as someone else: then ``acting_as`` is the admin, checked
  here) and the database's clock, and computes the keyed chain itself (HMAC-SHA256 with the key in
  ``navigator_private``, a schema only the owner can read) exactly as ``services.audit`` does.

Everything is plain SQL (psycopg or SQLAlchemy); the policies use SECURITY DEFINER helpers so a
policy never recurses into another table's policy.

This module is ~760 lines: the roles, grants, policies and functions of pg-setup are SQL text, and
doctor's check of them mirrors the set-up line for line; keeping them together keeps them in step.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

SCHEMA = "navigator"
PRIVATE = "navigator_private"
OWNER = "navigator_owner"
GROUPS = {"navigator": "navigator_navigators", "team_lead": "navigator_team_leads", "admin": "navigator_admins"}
ALL_GROUPS = tuple(GROUPS.values())

# Tables every app role reads and nobody but admins writes.
REFERENCE_TABLES = (
    "user",
    "lot",
    "user_lot",
    "locality",
    "referral_source",
    "support_area",
    "personal_outcome",
    "partner",
    "programme",
    "programme_locality",
    "setting",
    "calendar_correction",
    "sent_return",
    "alembic_version",
)
# Casework: read and written by everyone, row by row as the policies allow.
CASEWORK_TABLES = (
    "client",
    "journey",
    "journey_support_area",
    "contact_attempt",
    "plan_goal",
    "goal_note",
    "plan_review",
    "measurement",
    "onward_referral",
    "partner_update",
    "partner_chase",
    "task",
    "access_grant",
)
# What the app deletes in everyday work (a journey's support areas are replaced; follow-ups retire).
CASEWORK_DELETES = ("journey_support_area", "task")
# Tables under row-level security, and how a row finds its journey: an index probe on the journey (or
# goal, onward referral) table, which that table's own policy filters for whoever asks. (EXISTS, not IN:
# IN would hash every visible journey once per statement, so a bulk insert would be quadratic.)
_VISIBLE_JOURNEY = "EXISTS (SELECT 1 FROM navigator.journey j WHERE j.id = journey_id)"
JOURNEY_CHILDREN = {
    "journey_support_area": _VISIBLE_JOURNEY,
    "contact_attempt": _VISIBLE_JOURNEY,
    "plan_goal": _VISIBLE_JOURNEY,
    "plan_review": _VISIBLE_JOURNEY,
    "measurement": _VISIBLE_JOURNEY,
    "onward_referral": _VISIBLE_JOURNEY,
    "task": _VISIBLE_JOURNEY,
    "goal_note": "EXISTS (SELECT 1 FROM navigator.plan_goal g WHERE g.id = goal_id)",
    "partner_update": "EXISTS (SELECT 1 FROM navigator.onward_referral o WHERE o.id = onward_id)",
    "partner_chase": "EXISTS (SELECT 1 FROM navigator.onward_referral o WHERE o.id = onward_id)",
}
RLS_TABLES = ("client", "journey", "access_grant", "audit_event", *JOURNEY_CHILDREN)


@dataclass(frozen=True)
class SetupResult:
    created_roles: tuple[str, ...]
    moved_tables: int


# ---------------------------------------------------------------- the SQL


def _helpers_sql() -> str:
    definer = "SECURITY DEFINER SET search_path = navigator, pg_temp"
    # The policies call these through scalar subqueries ("(SELECT navigator.my_id())"), which PostgreSQL
    # evaluates once per statement, not once per row: a team lead's 20,000 journeys cost one call. Who-am-I
    # and my localities read tables every group may read (no row security there), so they run as the
    # caller and PostgreSQL inlines them; only my Find grants (access_grant has row security) is a
    # SECURITY DEFINER function, so no policy recurses into another.
    return f"""
CREATE OR REPLACE FUNCTION navigator.my_user() RETURNS TABLE(id integer, role text)
  LANGUAGE sql STABLE AS $$
    SELECT u.id, u.role::text FROM navigator."user" u WHERE u.username = session_user::text AND u.active $$;

CREATE OR REPLACE FUNCTION navigator.my_id() RETURNS integer
  LANGUAGE sql STABLE AS $$
    SELECT u.id FROM navigator."user" u WHERE u.username = session_user::text AND u.active $$;

CREATE OR REPLACE FUNCTION navigator.my_role() RETURNS text
  LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT u.role::text FROM navigator."user" u WHERE u.username = session_user::text AND u.active),
                    'none') $$;

CREATE OR REPLACE FUNCTION navigator.is_admin() RETURNS boolean
  LANGUAGE sql STABLE AS $$ SELECT navigator.my_role() = 'admin' $$;

-- The localities of the lots this person works in (every locality for admins and for a user with no lots).
CREATE OR REPLACE FUNCTION navigator.my_localities() RETURNS integer[]
  LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(l.id), '{{}}') FROM navigator.locality l, navigator."user" m
    WHERE m.username = session_user::text AND m.active
      AND (m.role = 'admin'
           OR NOT EXISTS (SELECT 1 FROM navigator.user_lot ul WHERE ul.user_id = m.id)
           OR l.lot_id IN (SELECT ul.lot_id FROM navigator.user_lot ul WHERE ul.user_id = m.id)) $$;

-- People this person opened through Find with a recorded reason.
CREATE OR REPLACE FUNCTION navigator.my_grants() RETURNS integer[]
  LANGUAGE sql STABLE {definer} AS $$
    SELECT coalesce(array_agg(g.client_id), '{{}}') FROM navigator.access_grant g
    WHERE g.user_id = (SELECT id FROM navigator.my_user()) $$;

-- May this person put a journey on this client: someone in their lots, opened through Find, or already
-- in their caseload (else a navigator could attach a journey of their own to anyone, and so see them).
CREATE OR REPLACE FUNCTION navigator.may_use_client(p_client integer) RETURNS boolean
  LANGUAGE sql STABLE {definer} AS $$
    SELECT EXISTS (SELECT 1 FROM navigator.client c WHERE c.id = p_client
                   AND (c.locality_id = ANY (navigator.my_localities()) OR c.id = ANY (navigator.my_grants())))
        OR EXISTS (SELECT 1 FROM navigator.journey j WHERE j.client_id = p_client AND j.navigator_id = navigator.my_id()) $$;

-- Client references are numbered over every person, including those a navigator cannot see.
CREATE OR REPLACE FUNCTION navigator.next_client_ref() RETURNS text
  LANGUAGE plpgsql VOLATILE {definer} AS $$
DECLARE n bigint; ref text;
BEGIN
  SELECT count(*) + 1 INTO n FROM navigator.client;
  LOOP
    ref := 'NAV' || lpad(n::text, 6, '0');
    EXIT WHEN NOT EXISTS (SELECT 1 FROM navigator.client WHERE client_ref = ref);
    n := n + 1;
  END LOOP;
  RETURN ref;
END $$;
"""


def _audit_sql(crypto: str) -> str:
    definer = "SECURITY DEFINER SET search_path = navigator, pg_temp"
    return f"""
CREATE TABLE IF NOT EXISTS navigator_private.audit_key (only_one boolean PRIMARY KEY DEFAULT true CHECK (only_one),
                                                        key bytea NOT NULL);

-- Appends events: [[action, entity, entity_id, client_id, journey_id, before_text, after_text], ...].
-- Stamps who (session_user; an admin acting as p_username is recorded as acting_as) and when (this
-- database's clock), and chains each event to the one before with the store's key (hash version 3,
-- byte for byte what services/audit.py computes and verifies). Returns the new head hash.
CREATE OR REPLACE FUNCTION navigator.audit_append(p_events json, p_username text, p_acting_as text)
  RETURNS text LANGUAGE plpgsql VOLATILE {definer} AS $$
DECLARE
  who text := session_user::text;
  acting text := NULL;
  k bytea;
  prev text;
  at_ts timestamp := clock_timestamp() AT TIME ZONE 'UTC';
  at_text text;
  e json;
  b text; a text; bh text; ah text; h text;
  trusted boolean;
BEGIN
  SELECT r.rolsuper OR pg_has_role(session_user, '{OWNER}', 'MEMBER') INTO trusted
    FROM pg_roles r WHERE r.rolname = session_user;
  IF coalesce(trusted, false) THEN  -- the database administrator (pg-setup, init): takes the app's word
    who := coalesce(p_username, who);
    acting := p_acting_as;
  ELSIF p_username IS NOT NULL AND p_username <> who THEN
    IF NOT navigator.is_admin() THEN
      RAISE EXCEPTION 'only an admin may act as another user' USING ERRCODE = '42501';
    END IF;
    acting := who;
    who := p_username;
  ELSIF NOT EXISTS (SELECT 1 FROM navigator.my_user()) THEN
    RAISE EXCEPTION 'this login is not an active user of the store' USING ERRCODE = '42501';
  END IF;
  SELECT key INTO k FROM navigator_private.audit_key;
  IF k IS NULL THEN RAISE EXCEPTION 'the audit key is missing (run navigator pg-setup)'; END IF;
  PERFORM pg_advisory_xact_lock(4242);
  SELECT hash INTO prev FROM navigator.audit_event ORDER BY id DESC LIMIT 1;
  prev := coalesce(prev, repeat('0', 64));
  at_text := to_char(at_ts, 'YYYY-MM-DD"T"HH24:MI:SS.US');
  FOR e IN SELECT value FROM json_array_elements(p_events) LOOP
    b := e->>5; a := e->>6;
    bh := CASE WHEN b IS NULL THEN NULL ELSE encode(sha256(convert_to(b, 'UTF8')), 'hex') END;
    ah := CASE WHEN a IS NULL THEN NULL ELSE encode(sha256(convert_to(a, 'UTF8')), 'hex') END;
    h := encode({crypto}.hmac(convert_to(json_build_array('v3', prev, at_text, who, acting, e->>0, e->>1,
            (e->>2)::bigint, (e->>3)::bigint, (e->>4)::bigint, bh, ah)::text, 'UTF8'), k, 'sha256'), 'hex');
    INSERT INTO navigator.audit_event (at, username, acting_as, action, entity, entity_id, client_id, journey_id,
        before, after, prev_hash, hash, before_hash, after_hash, redacted, hash_version)
      VALUES (at_ts, who, acting, e->>0, e->>1, (e->>2)::integer, (e->>3)::integer, (e->>4)::integer,
        b, a, prev, h, bh, ah, false, 3);
    prev := h;
  END LOOP;
  RETURN prev;
END $$;

-- A Find grant ("reason to look") counts only with its audit event, written in the same transaction
-- (checked at commit): a grant inserted behind the app's back is refused.
CREATE OR REPLACE FUNCTION navigator.access_grant_audited() RETURNS trigger
  LANGUAGE plpgsql {definer} AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM navigator.audit_event a WHERE a.client_id = NEW.client_id
                 AND a.action = 'access.grant' AND a.xmin::text = (txid_current() % 4294967296)::text) THEN
    RAISE EXCEPTION 'a reason to look must be recorded in the audit log' USING ERRCODE = '42501';
  END IF;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS access_grant_audited ON navigator.access_grant;
CREATE CONSTRAINT TRIGGER access_grant_audited AFTER INSERT ON navigator.access_grant
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION navigator.access_grant_audited();

-- The key, for admins checking the chain (navigator doctor, audit, retention).
CREATE OR REPLACE FUNCTION navigator.audit_key() RETURNS bytea
  LANGUAGE sql STABLE {definer} AS $$ SELECT key FROM navigator_private.audit_key WHERE navigator.is_admin()
    OR pg_has_role(session_user, '{OWNER}', 'MEMBER') $$;

-- A person's login follows their account: created in their app role's group, moved when the role
-- changes, NOLOGIN when deactivated. Admins only (checked here and by EXECUTE).
CREATE OR REPLACE FUNCTION navigator.sync_login(p_username text) RETURNS text
  LANGUAGE plpgsql VOLATILE {definer} AS $$
DECLARE
  u record; r record; grp text; other text;
BEGIN
  IF NOT (navigator.is_admin() OR pg_has_role(session_user, '{OWNER}', 'MEMBER')) THEN
    RAISE EXCEPTION 'only an admin may manage logins' USING ERRCODE = '42501';
  END IF;
  SELECT username, role, active INTO u FROM navigator."user" WHERE username = p_username;
  IF u.username IS NULL THEN RAISE EXCEPTION 'no such user'; END IF;
  grp := CASE u.role WHEN 'admin' THEN '{GROUPS["admin"]}' WHEN 'team_lead' THEN '{GROUPS["team_lead"]}'
         ELSE '{GROUPS["navigator"]}' END;
  SELECT rolsuper, rolcanlogin INTO r FROM pg_roles WHERE rolname = u.username;
  IF r IS NULL THEN
    EXECUTE format('CREATE ROLE %I LOGIN', u.username);
  ELSIF r.rolsuper THEN
    RETURN 'superuser';  -- a database administrator who is also a user: left as the DBA made it
  END IF;
  FOREACH other IN ARRAY ARRAY['{GROUPS["navigator"]}', '{GROUPS["team_lead"]}', '{GROUPS["admin"]}'] LOOP
    IF other <> grp AND pg_has_role(u.username, other, 'MEMBER') THEN
      EXECUTE format('REVOKE %I FROM %I', other, u.username);
    END IF;
  END LOOP;
  EXECUTE format('GRANT %I TO %I', grp, u.username);
  EXECUTE format('ALTER ROLE %I %s', u.username, CASE WHEN u.active THEN 'LOGIN' ELSE 'NOLOGIN' END);
  RETURN grp;
END $$;
"""


def _policies_sql() -> list[str]:
    out: list[str] = []

    def policy(table: str, name: str, command: str, using: str | None, check: str | None = None) -> None:
        out.append(f'DROP POLICY IF EXISTS {name} ON navigator."{table}"')
        sql = f'CREATE POLICY {name} ON navigator."{table}" FOR {command} TO {", ".join(ALL_GROUPS)}'
        if using is not None:
            sql += f" USING ({using})"
        if check is not None:
            sql += f" WITH CHECK ({check})"
        out.append(sql)

    for table in RLS_TABLES:
        out.append(f'ALTER TABLE navigator."{table}" ENABLE ROW LEVEL SECURITY')
    role, me = "(SELECT navigator.my_role())", "(SELECT navigator.my_id())"
    admin = f"{role} = 'admin'"
    mine_lots = "locality_id = ANY (CAST((SELECT navigator.my_localities()) AS integer[]))"
    # The journey rule (services/access.py): admins all; team leads their lots; navigators their caseload,
    # plus people in their lots they opened through Find with a recorded reason.
    journey_rule = (
        f"{admin} OR ({role} = 'navigator' AND navigator_id = {me}) OR ({mine_lots} AND "
        f"({role} = 'team_lead' OR client_id = ANY (CAST((SELECT navigator.my_grants()) AS integer[]))))"
    )
    client_rule = (
        f"{admin} OR {mine_lots} OR EXISTS (SELECT 1 FROM navigator.journey j WHERE j.client_id = client.id "
        f"AND j.navigator_id = {me})"
    )
    policy("client", "client_read", "SELECT", client_rule)
    policy("client", "client_add", "INSERT", None, mine_lots)
    policy("client", "client_change", "UPDATE", client_rule, client_rule)
    policy("client", "client_remove", "DELETE", admin)
    policy("journey", "journey_read", "SELECT", journey_rule)
    journey_check = f"({journey_rule}) AND ({admin} OR navigator.may_use_client(client_id))"
    policy("journey", "journey_add", "INSERT", None, journey_check)
    policy("journey", "journey_change", "UPDATE", journey_rule, journey_check)
    policy("journey", "journey_remove", "DELETE", admin)
    for table, rule in JOURNEY_CHILDREN.items():
        policy(table, f"{table}_read", "SELECT", rule)
        policy(table, f"{table}_add", "INSERT", None, rule)
        policy(table, f"{table}_change", "UPDATE", rule, rule)
        policy(table, f"{table}_remove", "DELETE", rule if table in CASEWORK_DELETES else admin)
    visible_client = "EXISTS (SELECT 1 FROM navigator.client c WHERE c.id = client_id)"
    policy(
        "access_grant", "access_grant_read", "SELECT", f"user_id = {me} OR ({role} <> 'navigator' AND {visible_client})"
    )
    policy("access_grant", "access_grant_add", "INSERT", None, f"user_id = {me} AND {visible_client}")
    # A team lead's merge of two people in their lots moves the merged record's reasons to look to the kept one.
    lead_grant = f"{role} <> 'navigator' AND {visible_client}"
    policy("access_grant", "access_grant_change", "UPDATE", lead_grant, lead_grant)
    policy("access_grant", "access_grant_remove", "DELETE", admin)
    # The log: admins all; others their own events and events about what they may see.
    policy(
        "audit_event",
        "audit_event_read",
        "SELECT",
        f"{admin} OR username = session_user::text "
        "OR EXISTS (SELECT 1 FROM navigator.journey j WHERE j.id = audit_event.journey_id) "
        "OR EXISTS (SELECT 1 FROM navigator.client c WHERE c.id = audit_event.client_id)",
    )
    policy("audit_event", "audit_event_redact", "UPDATE", admin, admin)
    return out


def _grants_sql() -> list[str]:
    groups = ", ".join(ALL_GROUPS)
    admins = GROUPS["admin"]
    out = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA navigator FROM PUBLIC, {groups}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA navigator FROM PUBLIC, {groups}",
        f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA navigator FROM PUBLIC, {groups}",
        f"REVOKE ALL ON SCHEMA navigator FROM PUBLIC, {groups}",
        f"REVOKE ALL ON SCHEMA navigator_private FROM PUBLIC, {groups}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA navigator_private FROM PUBLIC, {groups}",
        f"GRANT USAGE ON SCHEMA navigator TO {groups}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA navigator TO {groups}",
        f"GRANT UPDATE ON ALL SEQUENCES IN SCHEMA navigator TO {admins}",  # the bulk import's setval
        f"GRANT SELECT ON audit_event TO {groups}",
        f"GRANT UPDATE (before, after, redacted) ON audit_event TO {admins}",
    ]
    for t in REFERENCE_TABLES:
        out.append(f'GRANT SELECT ON "{t}" TO {groups}')
        out.append(f'GRANT INSERT, UPDATE, DELETE ON "{t}" TO {admins}')
    for t in CASEWORK_TABLES:
        out.append(f'GRANT SELECT, INSERT, UPDATE ON "{t}" TO {groups}')
        out.append(f'GRANT DELETE ON "{t}" TO {groups if t in CASEWORK_DELETES else admins}')
    for fn in (
        "my_user()",
        "my_id()",
        "my_role()",
        "is_admin()",
        "my_localities()",
        "my_grants()",
        "may_use_client(integer)",
        "next_client_ref()",
        "audit_append(json, text, text)",
    ):
        out.append(f"GRANT EXECUTE ON FUNCTION navigator.{fn} TO {groups}")
    # The 0001/0002/0004 trigger functions run as whoever fires them.
    out.append(f"GRANT EXECUTE ON FUNCTION navigator.audit_event_append_only() TO {groups}")
    out.append(f"GRANT EXECUTE ON FUNCTION navigator.audit_event_redact_only() TO {groups}")
    out.append(f"GRANT EXECUTE ON FUNCTION navigator.audit_key() TO {admins}")
    out.append(f"GRANT EXECUTE ON FUNCTION navigator.sync_login(text) TO {admins}")
    return out


# ---------------------------------------------------------------- setting up


def setup(
    url: str,
    *,
    key: bytes | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> SetupResult:
    """Create (or bring up to date) the schema, roles, grants, policies and audit function at ``url``,
    connected as a database administrator. ``key``: the audit key of a store copied
    here by ``migrate-store`` (its events are signed with it); else the one already here, else new."""
    from sqlalchemy import create_engine, text

    from navigator.domain.errors import StoreError
    from navigator.store.engine import alembic_config, describe

    engine = create_engine(url)
    created: list[str] = []
    moved = 0
    try:
        with engine.begin() as conn:
            sup = conn.execute(
                text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = session_user")
            ).scalar()
            if not sup:
                raise StoreError(
                    "pg-setup must be run by a database administrator (a superuser, or a role with CREATEROLE "
                    "that owns the database)."
                )
            progress("roles")
            for role in (OWNER, *ALL_GROUPS):
                if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is None:
                    try:
                        with conn.begin_nested():
                            conn.execute(text(f"CREATE ROLE {role} NOLOGIN"))
                        created.append(role)
                    except Exception:  # made at the same moment by another pg-setup on this server
                        pass
            # Only what differs is altered: two set-ups on one server at once must not update a role together.
            owner_ok = conn.execute(
                text("SELECT NOT rolcanlogin AND rolcreaterole FROM pg_roles WHERE rolname = :r"), {"r": OWNER}
            ).scalar()
            if not owner_ok:
                conn.execute(text(f"ALTER ROLE {OWNER} NOLOGIN CREATEROLE"))
            for group in ALL_GROUPS:
                if conn.execute(text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": group}).scalar():
                    conn.execute(text(f"ALTER ROLE {group} NOLOGIN"))
            if not conn.execute(text(f"SELECT pg_has_role(current_user, '{OWNER}', 'USAGE')")).scalar():
                conn.execute(text(f"GRANT {OWNER} TO current_user"))  # to SET ROLE for the migrations
            db = conn.execute(text("SELECT current_database()")).scalar()
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS navigator AUTHORIZATION {OWNER}"))
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS navigator_private AUTHORIZATION {OWNER}"))
            conn.execute(text(f"ALTER SCHEMA navigator OWNER TO {OWNER}"))
            conn.execute(text(f"ALTER SCHEMA navigator_private OWNER TO {OWNER}"))
            conn.execute(text(f'ALTER DATABASE "{db}" SET search_path = navigator'))
            conn.execute(text("SET search_path = navigator"))
            conn.execute(text(f'REVOKE CREATE, TEMPORARY ON DATABASE "{db}" FROM PUBLIC'))
            conn.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
            crypto = _pgcrypto(conn)
            moved = _adopt_public_tables(conn)
            _own_everything(conn)
        progress("schema")
        with engine.begin() as conn:
            conn.execute(text("SET search_path = navigator"))
            conn.execute(text(f"SET ROLE {OWNER}"))
            from alembic import command

            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.execute(text("SET search_path = navigator"))
            progress("access")
            conn.exec_driver_sql(_helpers_sql().replace("%", "%%"))
            conn.exec_driver_sql(_audit_sql(crypto).replace("%", "%%"))
            have = conn.execute(text("SELECT count(*) FROM navigator_private.audit_key")).scalar()
            if not have:
                if key is None:
                    key = _file_key(url)
                if key is None:
                    conn.execute(
                        text(f"INSERT INTO navigator_private.audit_key (key) VALUES ({crypto}.gen_random_bytes(32))")
                    )
                else:
                    conn.execute(text("INSERT INTO navigator_private.audit_key (key) VALUES (:k)"), {"k": key})
            for sql in _policies_sql() + _grants_sql():
                conn.execute(text(sql))
            conn.execute(text("RESET ROLE"))
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(
            f"pg-setup could not finish on {describe(url)} ({type(exc).__name__}: {_first_line(exc)}). "
            "Nothing half-done is kept in the step that failed; run it again after fixing the cause."
        ) from None
    finally:
        engine.dispose()
    return SetupResult(tuple(created), moved)


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", exc)
    return str(orig).strip().splitlines()[0][:200] if str(orig).strip() else ""


def _pgcrypto(conn) -> str:
    """The (quoted) schema pgcrypto lives in, created in navigator_private if it is not installed."""
    from sqlalchemy import text

    schema = conn.execute(
        text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pgcrypto'"
        )
    ).scalar()
    if schema is None:
        conn.execute(text("CREATE EXTENSION pgcrypto WITH SCHEMA navigator_private"))
        schema = PRIVATE
    else:
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {OWNER}'))
    return f'"{schema}"'


def _adopt_public_tables(conn) -> int:
    """A store that ``migrate-store`` (or an older set-up) made in ``public`` moves into the schema."""
    from sqlalchemy import text

    here = conn.execute(text("SELECT to_regclass('navigator.alembic_version')")).scalar()
    there = conn.execute(text("SELECT to_regclass('public.alembic_version')")).scalar()
    if here is not None or there is None:
        return 0
    tables = [
        r[0]
        for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"))
    ]
    for t in tables:
        conn.execute(text(f'ALTER TABLE public."{t}" SET SCHEMA navigator'))
    for fn in ("audit_event_append_only()", "audit_event_redact_only()"):
        exists = conn.execute(text(f"SELECT to_regprocedure('public.{fn}')")).scalar()
        if exists is not None:
            conn.execute(text(f"ALTER FUNCTION public.{fn} SET SCHEMA navigator"))
    return len(tables)


def _own_everything(conn) -> None:
    """Every table, sequence and function in the schema belongs to the owner role."""
    from sqlalchemy import text

    for kind, rows in (
        (
            "TABLE",
            f"SELECT format('%I', tablename) FROM pg_tables WHERE schemaname = 'navigator' AND tableowner <> '{OWNER}'",
        ),
        (
            "SEQUENCE",
            "SELECT format('%I', sequencename) FROM pg_sequences WHERE schemaname = 'navigator' "
            f"AND sequenceowner <> '{OWNER}'",
        ),
        (
            "FUNCTION",
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            f"WHERE n.nspname = 'navigator' AND pg_get_userbyid(p.proowner) <> '{OWNER}'",
        ),
    ):
        for (name,) in conn.execute(text(rows)).all():
            target = name if kind == "FUNCTION" else f"navigator.{name}"
            conn.execute(text(f"ALTER {kind} {target} OWNER TO {OWNER}"))


def _file_key(url: str) -> bytes | None:
    """The audit key file ``migrate-store`` signed with on this machine (store/anchor.py), if any."""
    from sqlalchemy.engine import make_url

    from navigator.store import anchor
    from navigator.store.paths import audit_key_path

    try:
        return anchor.load_key(audit_key_path(None, make_url(url).render_as_string(hide_password=True)))
    except Exception:
        return None


# ---------------------------------------------------------------- at run time


_INSTALLED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


# Advisory locks (PostgreSQL) that order writers without one database-wide lock per save:
# CHAIN_LOCK is taken (exclusively, to the end of the transaction) just before an audit event is
# chained or a client reference counted; audit_append takes it too. BULK_LOCK is taken shared by every
# ordinary write transaction and exclusively by a bulk writer (import, demo), which picks row ids
# itself: one bulk batch at a time excludes ordinary saves, ordinary saves never exclude each other.
CHAIN_LOCK = 4242
BULK_LOCK = 4243


def lock(session, key: int, *, shared: bool = False) -> None:
    """Take a transaction-level advisory lock on PostgreSQL (nothing on SQLite, whose writes are serial)."""
    from sqlalchemy import text

    if session.get_bind().dialect.name == "postgresql":
        fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        session.execute(text(f"SELECT {fn}({int(key)})"))


def installed(bind) -> bool:
    """Has pg-setup been run on this PostgreSQL database (the audit function exists)? Cached per engine."""
    engine = getattr(bind, "engine", bind)
    if engine.dialect.name != "postgresql":
        return False
    found = _INSTALLED.get(engine)
    if found is None:
        from sqlalchemy import text

        with engine.connect() as conn:
            found = conn.execute(text("SELECT to_regprocedure('navigator.audit_append(json, text, text)')")).scalar()
        found = found is not None
        _INSTALLED[engine] = found
    return found


def append_events(session, username: str, acting_as: str | None, events: Iterable[tuple]) -> str | None:
    """Write events through ``navigator.audit_append`` (the database stamps who and when and chains
    them). ``events``: (action, entity, entity_id, client_id, journey_id, before_text, after_text)."""
    import json

    from sqlalchemy import text

    rows = [list(e) for e in events]
    if not rows:
        return None
    return session.execute(
        text("SELECT navigator.audit_append(CAST(:e AS json), :u, :a)"),
        {"e": json.dumps(rows, ensure_ascii=False), "u": username, "a": acting_as},
    ).scalar()


def database_key(session) -> bytes | None:
    """The audit key held in the database, for an admin (None for anyone else, or before pg-setup)."""
    from sqlalchemy import text

    if not installed(session.get_bind()):
        return None
    try:
        with session.begin_nested():
            key = session.execute(text("SELECT navigator.audit_key()")).scalar()
    except Exception:
        return None
    return bytes(key) if key is not None else None


def adopt_database_key(engine, url: str) -> bytes | None:
    """For an admin (or the administrator) on a set-up database: the database's audit key, also kept in
    this account's key file for ``url`` (0600), so checkpoints outside the database can be signed and
    checked here (store/anchor.py). None for anyone else, or before pg-setup."""
    from sqlalchemy import text

    from navigator.store import anchor
    from navigator.store.paths import audit_key_path

    if not installed(engine):
        return None
    try:
        with engine.connect() as conn:
            key = conn.execute(text("SELECT navigator.audit_key()")).scalar()
    except Exception:
        return None
    if key is None:
        return None
    key = bytes(key)
    anchor.install_key(audit_key_path(None, url), key)
    return key


def sync_login(session, username: str) -> None:
    """Create or update ``username``'s login to match their account (no-op on SQLite or before pg-setup)."""
    from sqlalchemy import text

    if installed(session.get_bind()):
        session.execute(text("SELECT navigator.sync_login(:u)"), {"u": username})


def next_client_ref(session) -> str | None:
    """The next client reference over every person (None: not set up; the caller counts itself)."""
    from sqlalchemy import text

    if not installed(session.get_bind()):
        return None
    return session.execute(text("SELECT navigator.next_client_ref()")).scalar()


# ---------------------------------------------------------------- checking (navigator doctor)


def set_up_here(conn) -> bool:
    """Has pg-setup been run on this database (its schema or its group roles exist here)?"""
    from sqlalchemy import text

    return conn.execute(text("SELECT to_regnamespace('navigator') IS NOT NULL")).scalar()


def check(conn) -> list[str]:
    """What is missing or wrong in the access set-up, as sentences (empty: all in place)."""
    from sqlalchemy import text

    problems: list[str] = []
    if conn.execute(text("SELECT to_regnamespace('navigator')")).scalar() is None:
        return ["there is no navigator schema: run `navigator pg-setup` as the database administrator"]
    q = lambda sql, **p: conn.execute(text(sql), p).all()  # noqa: E731
    owner = q(
        "SELECT r.rolname, r.rolcanlogin FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner "
        "WHERE n.nspname = 'navigator'"
    )
    if not owner or owner[0][0] != OWNER:
        problems.append(f"the navigator schema is not owned by {OWNER}")
    elif owner[0][1]:
        problems.append(f"{OWNER} can log in: it must be NOLOGIN")
    for group in ALL_GROUPS:
        if not q("SELECT 1 FROM pg_roles WHERE rolname = :g", g=group):
            problems.append(f"the group role {group} is missing")
    foreign = q("SELECT tablename FROM pg_tables WHERE schemaname = 'navigator' AND tableowner <> :o", o=OWNER)
    if foreign:
        problems.append(f"{len(foreign)} table(s) are not owned by {OWNER} (e.g. {foreign[0][0]})")
    no_rls = [
        t
        for t in RLS_TABLES
        if not q(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'navigator' AND c.relname = :t AND c.relrowsecurity",
            t=t,
        )
    ]
    if no_rls:
        problems.append(f"row-level security is off on {', '.join(no_rls)}")
    import re

    expected = {
        m.groups() for sql in _policies_sql() if (m := re.match(r'CREATE POLICY (\w+) ON navigator\."(\w+)"', sql))
    }
    found = {(r[1], r[0]) for r in q("SELECT tablename, policyname FROM pg_policies WHERE schemaname = 'navigator'")}
    missing = sorted(f"{name} on {table}" for name, table in expected - found)
    if missing:
        problems.append(f"policies are missing: {', '.join(missing)}")
    for group in ALL_GROUPS:
        if not q("SELECT 1 FROM pg_roles WHERE rolname = :g", g=group):
            continue
        bad = q(
            "SELECT privilege_type FROM information_schema.role_table_grants WHERE table_schema = 'navigator' "
            "AND table_name = 'audit_event' AND grantee = :g AND privilege_type IN ('INSERT','DELETE','TRUNCATE')",
            g=group,
        )
        bad += q(
            "SELECT privilege_type FROM information_schema.role_table_grants WHERE table_schema = 'navigator' "
            "AND grantee = :g AND privilege_type IN ('TRUNCATE','TRIGGER','REFERENCES')",
            g=group,
        )
        if bad:
            problems.append(f"{group} holds {', '.join(sorted({r[0] for r in bad}))} it must not have")
    fn = q(
        "SELECT p.prosecdef FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'navigator' AND p.proname = 'audit_append'"
    )
    if not fn or not fn[0][0]:
        problems.append("the audit function navigator.audit_append is missing or not SECURITY DEFINER")
    audited = q(
        "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass('navigator.access_grant') "
        "AND tgname = 'access_grant_audited' AND tgenabled <> 'D'"
    )
    if not audited:
        problems.append("the trigger that ties a Find grant to its audit event is missing or disabled")
    public_grants = q(
        "SELECT 1 FROM information_schema.role_table_grants WHERE table_schema = 'navigator' AND grantee = 'PUBLIC'"
    )
    if public_grants:
        problems.append("PUBLIC holds rights on navigator's tables")
    return problems
