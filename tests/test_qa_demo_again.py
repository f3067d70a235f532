"""QA of issue 11: the README's first command run a second time (a person who quit and comes back).

``navigator demo`` refused with exit 3 ("This store already holds 600 people, so no demo data was
added") instead of opening the demo it had made. On its own demo file it now says the demo is there
and opens it; a store named with --db is still never filled on top of its data."""

from __future__ import annotations

import pytest


@pytest.fixture
def own_demo_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NAVIGATOR_DB", raising=False)
    monkeypatch.delenv("NAVIGATOR_DATABASE_URL", raising=False)
    return tmp_path / "xdg" / "navigator" / "demo.sqlite3"


def test_navigator_demo_again_opens_the_demo_it_made(own_demo_file, capsys, monkeypatch):
    from navigator.cli import main
    from navigator.tui import app as tui_app

    opened = []
    monkeypatch.setattr(tui_app, "run_app", lambda ctx, *a, **k: opened.append(ctx.username) or 0)
    assert main(["demo", "--clients", "20"]) == 0
    capsys.readouterr()
    assert main(["demo", "--clients", "20"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "already" in said and "--fresh" in said, said
    assert len(opened) == 2  # opened both times
    assert main(["demo", "--no-open"]) == 0


def test_a_named_store_with_data_is_still_refused(tmp_path, capsys):
    from navigator.cli import main

    db = tmp_path / "mine.sqlite3"
    assert main(["--db", str(db), "demo", "--clients", "20", "--no-open"]) == 0
    assert main(["--db", str(db), "demo", "--clients", "20", "--no-open"]) == 3
    assert "already holds" in " ".join(capsys.readouterr().err.split())
