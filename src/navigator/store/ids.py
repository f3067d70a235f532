"""A stored row's id, for the type checker.

SQLModel types a table's primary key ``int | None`` (None only before the row is flushed). Rows
read from the database, or flushed, always have one: ``row_id(row.id)`` says so.
"""

from __future__ import annotations


def row_id(value: int | None) -> int:
    """The id of a row that is in the database (never None once flushed or loaded)."""
    assert value is not None, "the row has not been flushed"
    return value
