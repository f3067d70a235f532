"""Every use of SQLAlchemy's private API, in one place (as ``tui/compat.py`` is for Textual's).

SQLAlchemy may change its internals in any release. Each workaround here names what it relies on, and
``tests/test_store_compat.py`` checks it still exists and still does what the public API would, so an
upgrade that breaks one fails there, loudly, instead of storing something different in a bulk write.

What is here and why:

- ``bind_processor``: a column type's bind processor for a dialect (what SQLAlchemy does to a value
  before the driver sees it: a date to ISO text on SQLite, say), cached on the dialect
  (``TypeEngine._cached_bind_processor``). The bulk writer (``services/casework/bulk.py``) converts rows
  itself and hands them to the driver, and must store exactly what SQLAlchemy would. The public
  equivalent, ``type_.dialect_impl(dialect).bind_processor(dialect)``, builds a new processor each call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

__all__ = ["bind_processor"]


def bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The dialect's bind processor for ``type_`` (None: values go to the driver as they are), built once
    per dialect and type and then reused, as SQLAlchemy's own statements use it."""
    return type_._cached_bind_processor(dialect)
