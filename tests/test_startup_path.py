"""The app's start-up path stays light: a current SQLite store is opened, and Today and Caseload are read,
without SQLAlchemy, SQLModel or Alembic; the migrations' head is read from their text (as Alembic reads
it); the CLI opens the app without discovering its sub-commands; the daily backup waits for the first
screen (benchmark: issue 7)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from conftest import TODAY, make_user, new_referral
from navigator import cli
from navigator.services.context import Ctx
from navigator.store import engine as E
from navigator.store import paths as P

ROOT = Path(__file__).resolve().parents[1]


def test_today_and_caseload_need_no_orm(ctx, db_path):
    """In a fresh process: open the store, read Today and a Caseload page; no ORM module gets imported."""
    nina = make_user(ctx, "nina", "navigator", ("Lot 1",))
    new_referral(nina, first="Ann", received=date(2026, 11, 2))
    ctx.store.dispose()
    code = textwrap.dedent(f"""
        import sys
        from datetime import date
        from navigator.services.casework import queries
        from navigator.services.context import Ctx
        from navigator.store.engine import open_store
        store = open_store({f"sqlite:///{db_path}"!r})
        ctx = Ctx(store, username="nina", today_fn=lambda: date(2026, 11, 25))
        today = queries.today(ctx)
        page = queries.caseload(ctx)
        assert [i.client_name for i in today.items] == ["Ann Smith"], today
        assert page.total == 1 and page.rows[0].client_name == "Ann Smith", page
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "sqlmodel", "alembic"))
        assert not heavy, heavy
        store.dispose()
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_head_revision_from_the_files_is_alembics():
    from alembic.script import ScriptDirectory

    graph = E._scan_revisions()
    assert graph is not None  # navigator's own migrations are in the plain form
    assert E.head_revision() == ScriptDirectory.from_config(E.alembic_config()).get_heads()[0]
    assert all(E._known_revision(rev) for rev in graph)
    assert not E._known_revision("9999_from_the_future")


def test_a_migration_not_in_the_plain_form_is_left_to_alembic(tmp_path, monkeypatch):
    """A merge revision (a tuple down_revision): the text scan gives up, and Alembic answers instead."""
    db = tmp_path / "db"
    shutil.copytree(P.db_dir() / "migrations", db / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    head = E.head_revision()
    (db / "migrations" / "versions" / "9002_merge.py").write_text(
        textwrap.dedent(f'''
        """test: a merge point"""
        revision = "9002_merge"
        down_revision = ("{head}",)
        branch_labels = None
        depends_on = None


        def upgrade() -> None:
            pass


        def downgrade() -> None:
            pass
        ''')
    )
    monkeypatch.setattr(E, "db_dir", lambda: db)
    assert E._scan_revisions() is None
    assert E.head_revision() == "9002_merge"


def test_a_current_store_is_opened_without_migrating(ctx, db_path, monkeypatch):
    ctx.store.dispose()

    def refuse(store):  # pragma: no cover - must not be called
        raise AssertionError("migrate() called on a store at head")

    monkeypatch.setattr(E, "migrate", refuse)
    store = E.open_store(f"sqlite:///{db_path}")
    try:
        assert store._engine is None and store._write_engine is None  # made on first use
        assert Ctx(store, username="admin", today_fn=lambda: TODAY).actor().is_admin
        assert E.current_revision(store.engine) == E.head_revision()
    finally:
        store.dispose()


def test_the_app_path_skips_sub_command_discovery(monkeypatch):
    def boom():  # pragma: no cover - must not be called
        raise AssertionError("sub-commands discovered")

    monkeypatch.setattr(cli, "build_parser", boom)
    args = cli.parse_args(["--db", "some.sqlite3", "--as", "nina"])
    assert (args.command, args.db, args.as_user, getattr(args, "handler", None)) == (None, "some.sqlite3", "nina", None)
    monkeypatch.undo()
    args = cli.parse_args(["--db", "some.sqlite3", "users", "list"])
    assert args.command == "users" and args.db == "some.sqlite3"
    with pytest.raises(SystemExit):
        cli.parse_args(["--no-such-option"])


async def test_after_start_runs_once_the_first_screen_shows_its_data(ctx):
    from navigator.tui.app import NavigatorApp

    calls: list[int] = []

    def after_start() -> str:
        calls.append(1)
        return "today's backup was not taken: the disk is full"

    app = NavigatorApp(ctx, after_start=after_start)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(20):
            await pilot.pause(0.05)
            await app.workers.wait_for_complete()
            if calls and app._notifications:
                break
        assert calls == [1] and app.background_started
        assert any("disk is full" in n.message for n in app._notifications)
