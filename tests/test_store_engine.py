"""Opening the store (store/engine.py, store/paths.py): safe settings, migrations, clear refusals."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import textwrap
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import select

from conftest import new_referral
from navigator.domain.errors import DomainError, StoreError
from navigator.services.context import Ctx
from navigator.services.setup.reference import open_ready
from navigator.store import engine as E
from navigator.store import paths as P
from navigator.store.models import Client


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def checkpoint(path: Path) -> None:
    """Fold the WAL into the main file so its bytes say everything."""
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def url(path: Path) -> str:
    return f"sqlite:///{path}"


# ---------------------------------------------------------------- a new store


def test_new_file_is_owner_only(tmp_path):
    path = tmp_path / "new" / "sub" / "store.sqlite3"
    store = E.open_store(url(path))
    try:
        assert path.is_file()
        assert mode(path) == 0o600
        assert mode(path.parent) == 0o700  # folders it had to create are private too
        assert E.current_revision(store.engine) == E.head_revision()
        for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if extra.exists():
                assert mode(extra) & 0o077 == 0, extra  # SQLite copies the database file's mode
    finally:
        store.dispose()


def test_new_file_is_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        store = E.open_store(url(tmp_path / "store.sqlite3"))
        store.dispose()
    finally:
        os.umask(old)
    assert mode(tmp_path / "store.sqlite3") == 0o600


@pytest.mark.parametrize("which", ["engine", "write_engine"])
def test_sqlite_settings(tmp_path, which):
    store = E.open_store(url(tmp_path / "store.sqlite3"))
    try:
        with getattr(store, which).connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == E.BUSY_TIMEOUT_MS
            assert E.BUSY_TIMEOUT_MS >= 5000
    finally:
        store.dispose()


def test_foreign_keys_are_enforced(ctx):
    with pytest.raises(DomainError, match="does not exist"), ctx.write() as s:
        s.execute(text("INSERT INTO locality (lot_id, name, active) VALUES (9999, 'Nowhere', 1)"))


def test_writes_take_the_lock_up_front(ctx):
    """A write transaction begins IMMEDIATE: another writer is refused at once, not half-way through."""
    other = sqlite3.connect(ctx.store.path, timeout=0, isolation_level=None)
    try:
        with ctx.write() as s:
            s.execute(text("SELECT 1"))  # nothing written yet, but the write lock is held
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once the transaction ends
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_memory_database_refused():
    with pytest.raises(StoreError, match="file"):
        E.open_store("sqlite:///:memory:")
    with pytest.raises(StoreError):
        E.open_store("sqlite://")


def test_missing_file_without_create(tmp_path):
    path = tmp_path / "absent.sqlite3"
    with pytest.raises(StoreError) as info:
        E.open_store(url(path), create=False)
    assert "navigator init" in str(info.value) or "navigator demo" in str(info.value)
    assert not path.exists()


def test_unwritable_folder(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    with pytest.raises(StoreError, match="Cannot create"):
        E.open_store(url(folder / "store.sqlite3"))


# ---------------------------------------------------------------- refusals leave the file untouched


def test_directory_path_refused(tmp_path):
    folder = tmp_path / "a folder"
    folder.mkdir()
    with pytest.raises(StoreError) as info:
        E.open_store(url(folder))
    assert "folder" in str(info.value) and "--db" in str(info.value)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("content", [b"name,dob\nAnn,1980-01-01\n", b"\x00" * 4096, b"SQLite format 2\x00garbage"])
def test_non_sqlite_file_refused_untouched(tmp_path, content):
    path = tmp_path / "tracker.csv"
    path.write_bytes(content)
    os.chmod(path, 0o644)
    with pytest.raises(StoreError) as info:
        E.open_store(url(path))
    assert "not a navigator database" in str(info.value)
    assert path.read_bytes() == content
    assert mode(path) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tracker.csv"]


def test_newer_database_refused_untouched(tmp_path):
    path = tmp_path / "store.sqlite3"
    store, ctx = open_ready(url(path), username="admin")
    new_referral(ctx, received=ctx.today())
    store.dispose()
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    con.commit()
    con.close()
    checkpoint(path)
    before = digest(path)
    with pytest.raises(StoreError) as info:
        E.open_store(url(path))
    msg = str(info.value)
    assert "newer version" in msg and "Upgrade navigator" in msg and "nothing was changed" in msg
    checkpoint(path)
    assert digest(path) == before
    assert not list(tmp_path.glob("*.bak"))


def test_foreign_sqlite_database_refused_untouched(tmp_path):
    path = tmp_path / "other.sqlite3"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE contacts (name TEXT)")
    con.execute("INSERT INTO contacts VALUES ('x')")
    con.commit()
    con.close()
    before = digest(path)
    with pytest.raises(StoreError, match="not a navigator database"):
        E.open_store(url(path))
    assert digest(path) == before
    con = sqlite3.connect(path)
    assert con.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall() == [("contacts",)]
    con.close()


def test_without_upgrade_an_old_schema_is_refused(tmp_path):
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()
    with pytest.raises(StoreError, match="not current"):
        E.open_store(url(path), upgrade=False)


# ---------------------------------------------------------------- migrations


@pytest.fixture
def newer_migrations(tmp_path, monkeypatch):
    """navigator's migrations plus one more revision, as a later release would ship them."""
    db = tmp_path / "release2" / "db"
    shutil.copytree(P.db_dir() / "migrations", db / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    head = E.head_revision()
    (db / "migrations" / "versions" / "9001_test_extra.py").write_text(
        textwrap.dedent(f'''
        """test: a later release adds a table"""
        from alembic import op
        import sqlalchemy as sa

        revision = "9001_test"
        down_revision = "{head}"
        branch_labels = None
        depends_on = None


        def upgrade() -> None:
            op.create_table("test_extra", sa.Column("id", sa.Integer(), nullable=False),
                            sa.PrimaryKeyConstraint("id", name=op.f("pk_test_extra")))


        def downgrade() -> None:
            op.drop_table("test_extra")
        ''')
    )
    return lambda: monkeypatch.setattr(E, "db_dir", lambda: db)


def test_older_database_is_backed_up_then_upgraded(tmp_path, newer_migrations):
    path = tmp_path / "store.sqlite3"
    store, ctx = open_ready(url(path), username="admin")
    old_head = E.head_revision()
    ref = new_referral(ctx, received=ctx.today())
    assert store.backup_taken is None  # nothing to back up when creating
    store.dispose()

    newer_migrations()  # now "navigator" is a release with one more migration
    assert E.head_revision() == "9001_test"
    store = E.open_store(url(path))
    try:
        assert E.current_revision(store.engine) == "9001_test"
        backup = store.backup_taken
        assert backup is not None and backup.parent == path.parent
        assert backup.name.startswith("store.sqlite3.pre-9001_test-") and backup.suffix == ".bak"
        assert mode(backup) == 0o600
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM test_extra")).scalar() == 0
        ctx2 = Ctx(store, username="admin")
        with ctx2.read() as s:
            assert s.get(Client, ref.client_id).client_ref == ref.client_ref  # data kept
    finally:
        store.dispose()
    con = sqlite3.connect(backup)
    try:
        assert con.execute("SELECT version_num FROM alembic_version").fetchone() == (old_head,)
        assert con.execute("SELECT count(*) FROM client").fetchone() == (1,)
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert not con.execute("SELECT 1 FROM sqlite_master WHERE name='test_extra'").fetchall()
    finally:
        con.close()
    # opening again at head: no second backup
    store = E.open_store(url(path))
    store.dispose()
    assert len(list(tmp_path.glob("*.bak"))) == 1


def test_store_downgraded_to_base_opens_and_is_upgraded(tmp_path):
    path = tmp_path / "store.sqlite3"
    store = E.open_store(url(path))
    cfg = E.alembic_config()
    with store.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert E.current_revision(store.engine) is None
    store.dispose()
    store = E.open_store(url(path))
    try:
        assert E.current_revision(store.engine) == E.head_revision()
        with store.engine.connect() as conn:
            names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
        assert {"client", "journey", "audit_event", "task"} <= names
    finally:
        store.dispose()


def test_migrations_round_trip(tmp_path):
    """upgrade -> downgrade -> upgrade leaves the same schema (the migration is reversible)."""
    path = tmp_path / "store.sqlite3"
    store = E.open_store(url(path))

    def schema():
        with store.engine.connect() as conn:
            return sorted(
                conn.execute(
                    text("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
                ).all(),
                key=lambda r: (r[0], r[1]),
            )

    first = schema()
    cfg = E.alembic_config()
    with store.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
        command.upgrade(cfg, "head")
    assert schema() == first
    store.dispose()


def test_audit_triggers_exist(ctx):
    with ctx.store.engine.connect() as conn:
        names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'"))}
    assert {"audit_event_no_update", "audit_event_no_delete"} <= names


# ---------------------------------------------------------------- network filesystems

MOUNTS = textwrap.dedent("""\
    /dev/sda1 / ext4 rw,relatime 0 0
    proc /proc proc rw 0 0
    server:/export /mnt/share nfs4 rw,vers=4.2 0 0
    //fs/team /mnt/team\\040drive cifs rw 0 0
    /dev/sdb1 /mnt/share/local ext4 rw 0 0
    tmpfs /tmp tmpfs rw 0 0
    """)


@pytest.fixture
def mounts(tmp_path) -> str:
    f = tmp_path / "mounts"
    f.write_text(MOUNTS)
    return str(f)


@pytest.mark.parametrize(
    "where,fstype,network",
    [
        ("/home/nina/navigator.sqlite3", "ext4", False),
        ("/mnt/share/navigator.sqlite3", "nfs4", True),
        ("/mnt/share", "nfs4", True),
        ("/mnt/shared/navigator.sqlite3", "ext4", False),  # a prefix of the name is not the mount
        ("/mnt/team drive/x.sqlite3", "cifs", True),  # escaped spaces in mount points
        ("/mnt/share/local/x.sqlite3", "ext4", False),  # the longest mount wins
        ("/tmp/x.sqlite3", "tmpfs", False),
    ],
)
def test_filesystem_type_from_mounts(mounts, where, fstype, network):
    assert P.filesystem_type(Path(where), mounts) == fstype
    assert P.is_network_filesystem(Path(where), mounts) is network


def test_unreadable_mounts_file_is_not_network(tmp_path):
    assert P.filesystem_type(tmp_path, str(tmp_path / "no-such-mounts")) is None
    assert P.is_network_filesystem(tmp_path, str(tmp_path / "no-such-mounts")) is False


def test_network_filesystem_refused(tmp_path, monkeypatch, mounts):
    share = tmp_path / "share"
    share.mkdir()
    fake = Path(mounts)
    fake.write_text(MOUNTS + f"server:/export {share} nfs rw 0 0\n")
    real = P.is_network_filesystem
    monkeypatch.setattr(E, "is_network_filesystem", lambda p: real(p, str(fake)))
    path = share / "navigator.sqlite3"
    with pytest.raises(StoreError) as info:
        E.open_store(url(path))
    assert "network filesystem" in str(info.value) and "PostgreSQL" in str(info.value)
    assert not path.exists()
    # a folder not yet created under the share is refused too
    with pytest.raises(StoreError, match="network filesystem"):
        E.open_store(url(share / "new" / "navigator.sqlite3"))
    assert not (share / "new").exists()
    # the local disk is fine
    E.open_store(url(tmp_path / "local.sqlite3")).dispose()


# ---------------------------------------------------------------- URLs and messages


def test_resolve_url(tmp_path, monkeypatch):
    monkeypatch.delenv("NAVIGATOR_DATABASE_URL", raising=False)
    monkeypatch.delenv("NAVIGATOR_DB", raising=False)
    assert E.resolve_url(tmp_path / "a.sqlite3") == f"sqlite:///{tmp_path / 'a.sqlite3'}"
    monkeypatch.setenv("NAVIGATOR_DB", str(tmp_path / "env.sqlite3"))
    assert E.resolve_url() == f"sqlite:///{tmp_path / 'env.sqlite3'}"
    assert E.resolve_url(tmp_path / "flag.sqlite3").endswith("flag.sqlite3")  # --db beats the variable
    monkeypatch.delenv("NAVIGATOR_DB")
    assert E.resolve_url().endswith("navigator.sqlite3")  # the user's data directory
    assert E.resolve_url(db_url="postgresql://u:secret@h/db") == "postgresql://u:secret@h/db"
    assert "secret" not in E.describe("postgresql://u:secret@h/db")


@pytest.mark.parametrize(
    "orig,expect",
    [
        ("database is locked", "locked by another program"),
        ("file is not a database", "damaged"),
        ("attempt to write a readonly database", "read-only"),
        ("unable to open database file", "cannot be opened"),
        ("database or disk is full", "disk is full"),
        ("something else", "navigator doctor"),
    ],
)
def test_database_errors_become_clear_messages(tmp_path, orig, expect):
    store = E.Store("sqlite:///x", None, None, tmp_path / "x.sqlite3")
    assert expect in E.db_error_message(store, Exception(orig))


def test_damaged_file_gives_store_error(tmp_path):
    path = tmp_path / "store.sqlite3"
    store = E.open_store(url(path))
    store.dispose()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the schema page, keep the header
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as info:
        E.open_store(url(path))
    assert "damaged" in str(info.value) or "not a navigator database" in str(info.value)


def test_store_error_is_not_a_domain_error():
    assert not issubclass(StoreError, DomainError)  # the CLI reports both, but they mean different things
    with pytest.raises(StoreError):
        raise StoreError("x")


def test_write_errors_roll_back(ctx):
    with pytest.raises(DomainError), ctx.write() as s:
        s.add(
            Client(
                client_ref="X1",
                first_name="A",
                last_name="B",
                first_name_key="a",
                last_name_key="b",
                date_of_birth=__import__("datetime").date(1980, 1, 1),
                locality_id=1,
                created_at=ctx.now(),
                updated_at=ctx.now(),
            )
        )
        s.flush()
        raise DomainError("refused after a write")
    with ctx.read() as s:
        assert s.exec(select(Client).where(Client.client_ref == "X1")).first() is None
