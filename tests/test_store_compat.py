"""Each use of SQLAlchemy's private API (navigator.store.compat) still finds what it relies on and still does
what the public API does. A failure here after upgrading SQLAlchemy names the workaround to revisit."""

from __future__ import annotations

import inspect
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeEngine
from sqlmodel import SQLModel

import navigator.store.models  # noqa: F401  (the tables, for the store's own column types)
from navigator.store import compat

SAMPLES = {
    sa.Date: [date(2026, 11, 2), date(2024, 2, 29), date(1, 1, 1)],
    sa.DateTime: [datetime(2026, 11, 2, 13, 5, 7, 123456), datetime(2026, 1, 1)],
    sa.Boolean: [True, False],
    sa.Integer: [0, 1, -7, 2**40],
    sa.String: ["", "Ann", "Zoë O'Brien", "x" * 300],
    sa.Text: ["a note\nwith lines"],
    sa.Numeric: [Decimal("1.5"), Decimal("-0.25")],
    sa.Float: [1.5, -0.25],
}
DIALECTS = [sqlite.dialect(), postgresql.dialect()]


def public_bind_processor(type_: TypeEngine, dialect):
    """What SQLAlchemy's public API gives: the dialect's implementation of the type, and its processor."""
    return type_.dialect_impl(dialect).bind_processor(dialect)


def test_the_private_cached_bind_processor_is_still_there_with_the_same_signature():
    assert hasattr(TypeEngine, "_cached_bind_processor"), "SQLAlchemy dropped TypeEngine._cached_bind_processor"
    assert list(inspect.signature(TypeEngine._cached_bind_processor).parameters) == ["self", "dialect"]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize("kind", list(SAMPLES), ids=lambda k: k.__name__)
def test_bind_processor_does_what_the_public_api_does(kind, dialect):
    type_ = kind()
    ours, public = compat.bind_processor(type_, dialect), public_bind_processor(type_, dialect)
    assert (ours is None) == (public is None), f"{kind.__name__} on {dialect.name}"
    if ours is not None and public is not None:
        for value in SAMPLES[kind]:
            assert ours(value) == public(value), (kind.__name__, dialect.name, value)
    assert compat.bind_processor(type_, dialect) is ours  # cached: built once per dialect and type


def test_on_sqlite_dates_and_times_become_the_text_sqlalchemy_stores():
    """What the bulk writer relies on: the same stored text as SQLAlchemy's own inserts."""
    d = sqlite.dialect()
    to_date = compat.bind_processor(sa.Date(), d)
    to_datetime = compat.bind_processor(sa.DateTime(), d)
    assert to_date is not None and to_datetime is not None
    assert to_date(date(2026, 11, 2)) == "2026-11-02"
    assert to_datetime(datetime(2026, 11, 2, 13, 5, 7, 123456)) == "2026-11-02 13:05:07.123456"


def test_every_column_type_of_the_store_agrees_with_the_public_api():
    d = sqlite.dialect()
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            ours, public = compat.bind_processor(column.type, d), public_bind_processor(column.type, d)
            assert (ours is None) == (public is None), f"{table.name}.{column.name}"
