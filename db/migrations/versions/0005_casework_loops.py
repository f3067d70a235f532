"""casework loops: risk flag, signposting, referrer told, partner chases, merged people

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

What the loops around a journey need to record (docs/domain.md):

- ``journey.risk_flag``: the person was in crisis or at risk when referred (a
  flagged journey is never closed for no response by the protocol; it goes to
  the team lead), and ``journey.signposted_to``: where they were signposted;
- ``journey.referrer_told_date`` / ``referrer_told_how``: when and how the
  referrer was told of the closure or rejection (letter, phone, email, ...);
- ``partner_chase``: each time a navigator chased a delivery partner about an
  onward referral (date, method, note);
- ``client.merged_into_id``: a person record merged into another (its
  journeys moved there; the row stays so its audit history still points
  somewhere, and Find leads to the person kept).

All columns are new and nullable (or defaulted), so existing rows are valid as
they are. SQLite: plain ``ALTER TABLE ... ADD COLUMN`` (no table rebuild).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for ddl in (
            "ALTER TABLE journey ADD COLUMN risk_flag BOOLEAN DEFAULT 0 NOT NULL",
            "ALTER TABLE journey ADD COLUMN signposted_to TEXT",
            "ALTER TABLE journey ADD COLUMN referrer_told_date DATE",
            "ALTER TABLE journey ADD COLUMN referrer_told_how VARCHAR(16)",
            "ALTER TABLE client ADD COLUMN merged_into_id INTEGER"
            " CONSTRAINT fk_client_merged_into_id_client REFERENCES client (id)",
        ):
            op.execute(ddl)
    else:
        op.add_column("journey", sa.Column("risk_flag", sa.Boolean(), server_default=sa.false(), nullable=False))
        op.add_column("journey", sa.Column("signposted_to", sa.Text(), nullable=True))
        op.add_column("journey", sa.Column("referrer_told_date", sa.Date(), nullable=True))
        op.add_column("journey", sa.Column("referrer_told_how", sa.String(length=16), nullable=True))
        op.add_column("client", sa.Column("merged_into_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_client_merged_into_id_client"), "client", "client", ["merged_into_id"], ["id"])
    op.create_index(op.f("ix_client_merged_into_id"), "client", ["merged_into_id"], unique=False)
    op.create_table(
        "partner_chase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("onward_id", sa.Integer(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["onward_id"], ["onward_referral.id"], name=op.f("fk_partner_chase_onward_id_onward_referral")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_partner_chase_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_chase")),
    )
    op.create_index(op.f("ix_partner_chase_onward_id"), "partner_chase", ["onward_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_partner_chase_onward_id"), table_name="partner_chase")
    op.drop_table("partner_chase")
    op.drop_index(op.f("ix_client_merged_into_id"), table_name="client")
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_client_merged_into_id_client"), "client", type_="foreignkey")
    op.execute("ALTER TABLE client DROP COLUMN merged_into_id")
    for col in ("referrer_told_how", "referrer_told_date", "signposted_to", "risk_flag"):
        op.execute(f"ALTER TABLE journey DROP COLUMN {col}")
