"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25

Every table of the case store, and the audit log made append-only in the
database itself (SQLite triggers; PostgreSQL rules).
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('acting_as', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('journey_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_client_id', ['client_id'], unique=False)
        batch_op.create_index('ix_audit_event_journey_id', ['journey_id'], unique=False)

    op.create_table('calendar_correction',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_working_day', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_correction'))
    )
    op.create_table('lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot')),
    sa.UniqueConstraint('code', name=op.f('uq_lot_code'))
    )
    op.create_table('partner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contact', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner')),
    sa.UniqueConstraint('name', name=op.f('uq_partner_name'))
    )
    op.create_table('personal_outcome',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_outcome')),
    sa.UniqueConstraint('code', name=op.f('uq_personal_outcome_code'))
    )
    op.create_table('referral_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_source')),
    sa.UniqueConstraint('code', name=op.f('uq_referral_source_code'))
    )
    op.create_table('sent_return',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('options', sa.Text(), nullable=False),
    sa.Column('figures', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sent_return'))
    )
    with op.batch_alter_table('sent_return', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sent_return_month'), ['month'], unique=False)

    op.create_table('setting',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_setting'))
    )
    op.create_table('support_area',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_area')),
    sa.UniqueConstraint('code', name=op.f('uq_support_area_code'))
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('navigator','team_lead','admin')", name=op.f('ck_user_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('username', name=op.f('uq_user_username'))
    )
    op.create_table('locality',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_locality_lot_id_lot')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_locality')),
    sa.UniqueConstraint('name', name=op.f('uq_locality_name'))
    )
    with op.batch_alter_table('locality', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_locality_lot_id'), ['lot_id'], unique=False)

    op.create_table('programme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('eligibility_notes', sa.Text(), nullable=True),
    sa.Column('expected_response_days', sa.Integer(), nullable=False),
    sa.Column('contact', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_programme_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme')),
    sa.UniqueConstraint('partner_id', 'name', name=op.f('uq_programme_partner_id_name'))
    )
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programme_partner_id'), ['partner_id'], unique=False)

    op.create_table('user_lot',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_user_lot_lot_id_lot')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_user_lot_user_id_user')),
    sa.PrimaryKeyConstraint('user_id', 'lot_id', name=op.f('pk_user_lot'))
    )
    op.create_table('client',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_ref', sa.String(length=40), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('first_name_key', sa.String(length=100), nullable=False),
    sa.Column('last_name_key', sa.String(length=100), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('postcode', sa.String(length=10), nullable=True),
    sa.Column('nhs_number', sa.String(length=10), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=400), nullable=True),
    sa.Column('preferred_method', sa.String(length=16), nullable=True),
    sa.Column('imd_decile', sa.Integer(), nullable=True),
    sa.Column('consent_to_share', sa.Boolean(), nullable=False),
    sa.Column('locality_id', sa.Integer(), nullable=False),
    sa.Column('anonymised', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('imd_decile IS NULL OR imd_decile BETWEEN 1 AND 10', name=op.f('ck_client_imd_decile')),
    sa.ForeignKeyConstraint(['locality_id'], ['locality.id'], name=op.f('fk_client_locality_id_locality')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client')),
    sa.UniqueConstraint('client_ref', name=op.f('uq_client_client_ref'))
    )
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_locality_id'), ['locality_id'], unique=False)
        batch_op.create_index('ix_client_name_dob', ['last_name_key', 'first_name_key', 'date_of_birth'], unique=False)
        batch_op.create_index(batch_op.f('ix_client_nhs_number'), ['nhs_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_client_postcode'), ['postcode'], unique=False)

    op.create_table('programme_locality',
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('locality_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['locality_id'], ['locality.id'], name=op.f('fk_programme_locality_locality_id_locality')),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], name=op.f('fk_programme_locality_programme_id_programme')),
    sa.PrimaryKeyConstraint('programme_id', 'locality_id', name=op.f('pk_programme_locality'))
    )
    op.create_table('access_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=400), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_access_grant_client_id_client')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_access_grant_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_grant'))
    )
    with op.batch_alter_table('access_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_grant_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_grant_user_id'), ['user_id'], unique=False)

    op.create_table('journey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('locality_id', sa.Integer(), nullable=False),
    sa.Column('navigator_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('referrer', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('received_date', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('state_since', sa.Date(), nullable=False),
    sa.Column('first_contact_date', sa.Date(), nullable=True),
    sa.Column('last_contact_date', sa.Date(), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decision_date', sa.Date(), nullable=True),
    sa.Column('reject_reason', sa.String(length=32), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.String(length=32), nullable=True),
    sa.Column('outcome_evidence', sa.Text(), nullable=True),
    sa.Column('last_review_date', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('received','accepted','rejected','started','completed','closed_without_start','ended_early')", name=op.f('ck_journey_state')),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_journey_client_id_client')),
    sa.ForeignKeyConstraint(['locality_id'], ['locality.id'], name=op.f('fk_journey_locality_id_locality')),
    sa.ForeignKeyConstraint(['navigator_id'], ['user.id'], name=op.f('fk_journey_navigator_id_user')),
    sa.ForeignKeyConstraint(['source_id'], ['referral_source.id'], name=op.f('fk_journey_source_id_referral_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey')),
    sa.UniqueConstraint('client_id', 'received_date', name=op.f('uq_journey_client_id_received_date'))
    )
    with op.batch_alter_table('journey', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journey_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_journey_decision_date'), ['decision_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_journey_end_date'), ['end_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_journey_first_contact_date'), ['first_contact_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_journey_locality_id'), ['locality_id'], unique=False)
        batch_op.create_index('ix_journey_navigator_state', ['navigator_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_journey_received_date'), ['received_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_journey_source_id'), ['source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_journey_start_date'), ['start_date'], unique=False)

    op.create_table('contact_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['journey_id'], ['journey.id'], name=op.f('fk_contact_attempt_journey_id_journey')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_contact_attempt_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_attempt'))
    )
    with op.batch_alter_table('contact_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_attempt_journey_id'), ['journey_id'], unique=False)

    op.create_table('journey_support_area',
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('support_area_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['journey_id'], ['journey.id'], name=op.f('fk_journey_support_area_journey_id_journey')),
    sa.ForeignKeyConstraint(['support_area_id'], ['support_area.id'], name=op.f('fk_journey_support_area_support_area_id_support_area')),
    sa.PrimaryKeyConstraint('journey_id', 'support_area_id', name=op.f('pk_journey_support_area'))
    )
    op.create_table('measurement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('point', sa.String(length=8), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('item1', sa.Integer(), nullable=True),
    sa.Column('item2', sa.Integer(), nullable=True),
    sa.Column('item3', sa.Integer(), nullable=True),
    sa.Column('item4', sa.Integer(), nullable=True),
    sa.Column('item5', sa.Integer(), nullable=True),
    sa.Column('item6', sa.Integer(), nullable=True),
    sa.Column('item7', sa.Integer(), nullable=True),
    sa.Column('raw', sa.Integer(), nullable=True),
    sa.Column('metric_x100', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('swemwbs','ons4')", name=op.f('ck_measurement_kind')),
    sa.CheckConstraint("point IN ('start','review','end')", name=op.f('ck_measurement_point')),
    sa.ForeignKeyConstraint(['journey_id'], ['journey.id'], name=op.f('fk_measurement_journey_id_journey')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_measurement_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measurement'))
    )
    with op.batch_alter_table('measurement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measurement_journey_id'), ['journey_id'], unique=False)

    op.create_table('onward_referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('referral_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('last_update_date', sa.Date(), nullable=True),
    sa.Column('first_update_date', sa.Date(), nullable=True),
    sa.Column('feedback_pending_since', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['journey_id'], ['journey.id'], name=op.f('fk_onward_referral_journey_id_journey')),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], name=op.f('fk_onward_referral_programme_id_programme')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onward_referral'))
    )
    with op.batch_alter_table('onward_referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_onward_referral_end_date'), ['end_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_onward_referral_journey_id'), ['journey_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_onward_referral_programme_id'), ['programme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_onward_referral_referral_date'), ['referral_date'], unique=False)

    op.create_table('plan_goal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('outcome_id', sa.Integer(), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('target_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['journey_id'], ['journey.id'], name=op.f('fk_plan_goal_journey_id_journey')),
    sa.ForeignKeyConstraint(['outcome_id'], ['personal_outcome.id'], name=op.f('fk_plan_goal_outcome_id_personal_outcome')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_goal'))
    )
    with op.batch_alter_table('plan_goal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_goal_journey_id'), ['journey_id'], unique=False)

    op.create_table('plan_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['journey_id'], ['journey.id'], name=op.f('fk_plan_review_journey_id_journey')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_plan_review_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_review'))
    )
    with op.batch_alter_table('plan_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_review_journey_id'), ['journey_id'], unique=False)

    op.create_table('task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['journey_id'], ['journey.id'], name=op.f('fk_task_journey_id_journey')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task'))
    )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index('ix_task_journey_status', ['journey_id', 'status'], unique=False)
        batch_op.create_index('ix_task_open_due', ['status', 'due_date'], unique=False)

    op.create_table('goal_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('goal_id', sa.Integer(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['plan_goal.id'], name=op.f('fk_goal_note_goal_id_plan_goal')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_goal_note_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_goal_note'))
    )
    with op.batch_alter_table('goal_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goal_note_goal_id'), ['goal_id'], unique=False)

    op.create_table('partner_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('onward_id', sa.Integer(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['onward_id'], ['onward_referral.id'], name=op.f('fk_partner_update_onward_id_onward_referral')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_partner_update_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_update'))
    )
    with op.batch_alter_table('partner_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_update_onward_id'), ['onward_id'], unique=False)

    _append_only_audit()


def _append_only_audit() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql"
        )
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_event_no_{verb}" + (" ON audit_event" if dialect == "postgresql" else ""))
    with op.batch_alter_table('partner_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_update_onward_id'))

    op.drop_table('partner_update')
    with op.batch_alter_table('goal_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_goal_note_goal_id'))

    op.drop_table('goal_note')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_open_due')
        batch_op.drop_index('ix_task_journey_status')

    op.drop_table('task')
    with op.batch_alter_table('plan_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_review_journey_id'))

    op.drop_table('plan_review')
    with op.batch_alter_table('plan_goal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_goal_journey_id'))

    op.drop_table('plan_goal')
    with op.batch_alter_table('onward_referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_onward_referral_referral_date'))
        batch_op.drop_index(batch_op.f('ix_onward_referral_programme_id'))
        batch_op.drop_index(batch_op.f('ix_onward_referral_journey_id'))
        batch_op.drop_index(batch_op.f('ix_onward_referral_end_date'))

    op.drop_table('onward_referral')
    with op.batch_alter_table('measurement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measurement_journey_id'))

    op.drop_table('measurement')
    op.drop_table('journey_support_area')
    with op.batch_alter_table('contact_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_attempt_journey_id'))

    op.drop_table('contact_attempt')
    with op.batch_alter_table('journey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journey_start_date'))
        batch_op.drop_index(batch_op.f('ix_journey_source_id'))
        batch_op.drop_index(batch_op.f('ix_journey_received_date'))
        batch_op.drop_index('ix_journey_navigator_state')
        batch_op.drop_index(batch_op.f('ix_journey_locality_id'))
        batch_op.drop_index(batch_op.f('ix_journey_first_contact_date'))
        batch_op.drop_index(batch_op.f('ix_journey_end_date'))
        batch_op.drop_index(batch_op.f('ix_journey_decision_date'))
        batch_op.drop_index(batch_op.f('ix_journey_client_id'))

    op.drop_table('journey')
    with op.batch_alter_table('access_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_grant_user_id'))
        batch_op.drop_index(batch_op.f('ix_access_grant_client_id'))

    op.drop_table('access_grant')
    op.drop_table('programme_locality')
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_postcode'))
        batch_op.drop_index(batch_op.f('ix_client_nhs_number'))
        batch_op.drop_index('ix_client_name_dob')
        batch_op.drop_index(batch_op.f('ix_client_locality_id'))

    op.drop_table('client')
    op.drop_table('user_lot')
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programme_partner_id'))

    op.drop_table('programme')
    with op.batch_alter_table('locality', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_locality_lot_id'))

    op.drop_table('locality')
    op.drop_table('user')
    op.drop_table('support_area')
    op.drop_table('setting')
    with op.batch_alter_table('sent_return', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sent_return_month'))

    op.drop_table('sent_return')
    op.drop_table('referral_source')
    op.drop_table('personal_outcome')
    op.drop_table('partner')
    op.drop_table('lot')
    op.drop_table('calendar_correction')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_journey_id')
        batch_op.drop_index('ix_audit_event_client_id')

    op.drop_table('audit_event')
