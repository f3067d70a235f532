"""Move a store to another database (a team's SQLite file to PostgreSQL).

The target gets the schema through the same migrations, then every row of every
table in dependency order, in one transaction: reference data, users, people,
journeys and everything under them, and the audit log copied verbatim (same ids,
times and hashes, so its chain still verifies). PostgreSQL's id sequences are
moved past the copied ids. Then row counts are compared table by table and the
audit chain is verified on the target. The source is never changed, apart from
one audit event saying who moved it and where.

A copy interrupted half-way (killed, or the server gone) leaves the target's schema
marked half-migrated: ``open_store`` refuses it (nobody adopts an empty schema as
their new store and becomes its admin), and running migrate-store again resumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, func, insert, select, text
from sqlmodel import Session

from navigator.domain.errors import StoreError
from navigator.services import access, audit
from navigator.services.context import Ctx
from navigator.store import anchor
from navigator.store.engine import MIGRATING_KEY, Store, describe, open_store
from navigator.store.models import metadata
from navigator.store.paths import audit_key_path

BATCH = 2000


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True)
class MigrationResult:
    target: str  # described without any password
    tables: tuple[TableCount, ...]
    chain_problems: int

    @property
    def ok(self) -> bool:
        return self.chain_problems == 0 and all(t.ok for t in self.tables)


def _tables():
    return [t for t in metadata.sorted_tables]


def _is_empty(store: Store) -> bool:
    with store.engine.connect() as conn:
        for t in ("user", "client", "journey", "audit_event"):
            if conn.execute(select(func.count()).select_from(metadata.tables[t])).scalar_one():
                return False
    return True


def _fix_row(row: dict, tz_columns: list[str]) -> dict:
    for c in tz_columns:
        v = row.get(c)
        if isinstance(v, datetime) and v.tzinfo is None:
            row[c] = v.replace(tzinfo=UTC)  # SQLite keeps UTC times without their zone
    return row


def migrate_store(ctx: Ctx, target_url: str, *, progress=None) -> MigrationResult:
    """Copy everything from ctx's store into the empty database at ``target_url`` and verify it."""
    source = ctx.store
    with ctx.write() as s:
        access.require_admin(ctx.actor(s))
    if source.url == target_url:
        raise StoreError("The target is the store itself; give another database URL.")
    target = open_store(target_url, create=True, allow_half_migrated=True)
    try:
        if not _is_empty(target):
            raise StoreError(
                f"{describe(target_url)} already holds navigator data. Give an empty database "
                "(moving into a used one would mix two teams' records). Nothing was copied."
            )
        # The copied log is signed with the source's key: the target verifies it with the same key.
        key = anchor.load_key(audit_key_path(source.path, source.url))
        if key is not None:
            anchor.install_key(audit_key_path(target.path, target.url), key)
        # Mark the target half-migrated (committed) before copying; the copy's transaction removes the mark.
        # A copy killed half-way leaves an empty schema with the mark: nobody adopts it as their new store
        # (open_store refuses it), and running migrate-store again resumes (the target is still empty).
        setting = metadata.tables["setting"]
        with target.write_engine.begin() as dst:
            dst.execute(setting.delete().where(setting.c.key == MIGRATING_KEY))
            dst.execute(insert(setting).values(key=MIGRATING_KEY, value='"copying"', updated_at=datetime.now(UTC)))
        # Say who moved the store and where: this event is copied too.
        with ctx.write() as s:
            audit.record(s, ctx, "store.migrate", "store", None, after={"to": describe(target_url)})
        counts: list[TableCount] = []
        with source.engine.connect() as src, target.write_engine.begin() as dst:
            if target.engine.dialect.name == "postgresql":
                dst.execute(text("SELECT pg_advisory_xact_lock(4242)"))
            dst.execute(setting.delete().where(setting.c.key == MIGRATING_KEY))
            for table in _tables():
                tz_cols = [c.name for c in table.columns if isinstance(c.type, DateTime)]
                order = list(table.primary_key.columns)
                n = 0
                result = src.execution_options(yield_per=BATCH).execute(select(table).order_by(*order))
                for part in result.partitions(BATCH):
                    rows = [_fix_row(dict(r._mapping), tz_cols) for r in part]
                    dst.execute(insert(table), rows)
                    n += len(rows)
                if progress:
                    progress(table.name, n)
            if target.engine.dialect.name == "postgresql":
                for table in _tables():
                    if (
                        "id" in table.columns
                        and table.columns["id"].primary_key
                        and table.columns["id"].autoincrement in (True, "auto")
                    ):
                        dst.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                                f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
                            )
                        )
        with source.engine.connect() as src, target.engine.connect() as dst:
            for table in _tables():
                a = src.execute(select(func.count()).select_from(table)).scalar_one()
                b = dst.execute(select(func.count()).select_from(table)).scalar_one()
                counts.append(TableCount(table.name, a, b))
        with Session(target.engine) as s:
            problems = audit.verify_chain(s)
        if not problems:
            target.checkpoint(reset=True)
        return MigrationResult(describe(target_url), tuple(counts), len(problems))
    finally:
        target.dispose()
