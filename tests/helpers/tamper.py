"""Edit the audit log behind navigator's back, the way an attacker with the file would."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def tamper_sqlite(path: Path | str, *statements: str) -> None:
    """Drop the append-only triggers, run ``statements``, put the triggers back."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        triggers = con.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_event'"
        ).fetchall()
        assert triggers, "the append-only triggers are missing"
        con.execute("BEGIN")
        for name, _ in triggers:
            con.execute(f"DROP TRIGGER {name}")
        for sql in statements:
            con.execute(sql)
        for _, sql in triggers:
            con.execute(sql)
        con.execute("COMMIT")
    finally:
        con.close()


def tamper_engine(engine, *statements: str) -> None:
    """The same on PostgreSQL: disable the triggers (as the table's owner), edit, enable."""
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        for sql in statements:
            conn.execute(text(sql))
        conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
