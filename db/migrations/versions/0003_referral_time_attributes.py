"""referral-time attributes on the journey

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

A journey carries its person's locality, lot, IMD decile and age band *at the
time of the referral* (docs/monthly-return.md, version 2), and every
measure of the monthly return reads them from the journey, so a later move or a
corrected decile no longer rewrites past months.

``journey.locality_id`` was already the locality when referred. This adds:

- ``lot_id``: the lot of that locality when referred (a locality may later move
  to another lot);
- ``imd_decile``: the person's IMD decile when referred (NULL: unknown);
- ``age_band``: the person's age band on the received date;
- ``attributes_basis``: where these came from: ``received`` (recorded when the
  referral was received), ``import`` (the tracker import's row), ``current``
  (this migration).

Existing journeys are filled from the best evidence the store holds: the lot of
the journey's locality, the age band from the date of birth and the received
date, and the person's *current* IMD decile (the store never kept the decile of
the time), all marked ``attributes_basis = 'current'``.

SQLite: plain ``ALTER TABLE ... ADD COLUMN`` (no table rebuild: other tables
reference journey, and foreign keys are on).
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH = 5000

# A frozen copy of navigator.domain.referral.AGE_BANDS (a migration must not change when the app does).
_AGE_BANDS = (
    (0, 16, "under 17"),
    (17, 24, "17-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, 74, "65-74"),
    (75, None, "75+"),
)


def _as_date(v):
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


def _age_band(dob, on):
    dob, on = _as_date(dob), _as_date(on)
    age = on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))
    for lo, hi, label in _AGE_BANDS:
        if age >= lo and (hi is None or age <= hi):
            return label
    return _AGE_BANDS[0][2]


def _fill(conn) -> None:
    conn.execute(
        sa.text(
            "UPDATE journey SET lot_id = (SELECT locality.lot_id FROM locality WHERE locality.id = journey.locality_id),"
            " imd_decile = (SELECT client.imd_decile FROM client WHERE client.id = journey.client_id),"
            " attributes_basis = 'current'"
        )
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT journey.id, client.date_of_birth, journey.received_date FROM journey"
                " JOIN client ON client.id = journey.client_id WHERE journey.id > :last ORDER BY journey.id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        conn.execute(
            sa.text("UPDATE journey SET age_band = :band WHERE id = :id"),
            [{"id": r[0], "band": _age_band(r[1], r[2])} for r in rows],
        )
        last = rows[-1][0]


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for ddl in (
            "ALTER TABLE journey ADD COLUMN lot_id INTEGER CONSTRAINT fk_journey_lot_id_lot REFERENCES lot (id)",
            "ALTER TABLE journey ADD COLUMN imd_decile INTEGER CONSTRAINT ck_journey_imd_decile"
            " CHECK (imd_decile IS NULL OR imd_decile BETWEEN 1 AND 10)",
            "ALTER TABLE journey ADD COLUMN age_band VARCHAR(16)",
            "ALTER TABLE journey ADD COLUMN attributes_basis VARCHAR(16) DEFAULT 'received' NOT NULL",
        ):
            op.execute(ddl)
    else:
        op.add_column("journey", sa.Column("lot_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_journey_lot_id_lot"), "journey", "lot", ["lot_id"], ["id"])
        op.add_column("journey", sa.Column("imd_decile", sa.Integer(), nullable=True))
        op.create_check_constraint(
            op.f("ck_journey_imd_decile"), "journey", "imd_decile IS NULL OR imd_decile BETWEEN 1 AND 10"
        )
        op.add_column("journey", sa.Column("age_band", sa.String(length=16), nullable=True))
        op.add_column(
            "journey",
            sa.Column("attributes_basis", sa.String(length=16), server_default="received", nullable=False),
        )
    op.create_index(op.f("ix_journey_lot_id"), "journey", ["lot_id"], unique=False)
    _fill(conn)


def downgrade() -> None:
    op.drop_index(op.f("ix_journey_lot_id"), table_name="journey")
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_journey_imd_decile"), "journey", type_="check")
        op.drop_constraint(op.f("fk_journey_lot_id_lot"), "journey", type_="foreignkey")
    for col in ("attributes_basis", "age_band", "imd_decile", "lot_id"):
        op.execute(f"ALTER TABLE journey DROP COLUMN {col}")
