"""Table dumps for "the stored data is exactly as it was" assertions."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def dump_sqlite(path: Path | str) -> dict[str, list[tuple]]:
    """Every row of every table (sorted), read through a private read-only connection."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def dump_engine(engine) -> dict[str, list[tuple]]:
    """The same through SQLAlchemy (works on PostgreSQL too)."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        tables = sorted(inspect(conn).get_table_names())
        return {t: sorted((tuple(r) for r in conn.execute(text(f'SELECT * FROM "{t}"'))), key=repr) for t in tables}
