"""SQLModel tables for everything in the domain.

Table models do not validate: the services validate before writing. Every
constraint is named (Alembic batch mode on SQLite needs it).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from pydantic_core import PydanticUndefined, PydanticUndefinedType
from sqlalchemy import (
    CheckConstraint,
    Column,
    Index,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlmodel import Field, SQLModel

if TYPE_CHECKING:  # pragma: no cover
    from sqlmodel.main import OnDeleteType

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata = MetaData(naming_convention=NAMING)
metadata = SQLModel.metadata


def fk(
    target: str,
    *,
    nullable: bool = False,
    index: bool = True,
    ondelete: OnDeleteType | PydanticUndefinedType = PydanticUndefined,  # sqlmodel's 'not given'
):
    return Field(default=None, foreign_key=target, nullable=nullable, index=index, ondelete=ondelete)


# ------------------------------------------------------------------ people & reference data


class User(SQLModel, table=True):
    __tablename__ = "user"
    __table_args__ = (CheckConstraint("role IN ('navigator','team_lead','admin')", name="role"),)
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    role: str = Field(default="navigator", max_length=16)
    active: bool = Field(default=True)
    created_at: datetime


class Lot(SQLModel, table=True):
    __tablename__ = "lot"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    active: bool = Field(default=True)


class UserLot(SQLModel, table=True):
    __tablename__ = "user_lot"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    lot_id: int = Field(foreign_key="lot.id", primary_key=True)


class Locality(SQLModel, table=True):
    __tablename__ = "locality"
    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = fk("lot.id")
    name: str = Field(unique=True, max_length=100)
    active: bool = Field(default=True)


class ReferralSource(SQLModel, table=True):
    __tablename__ = "referral_source"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    active: bool = Field(default=True)


class SupportArea(SQLModel, table=True):
    __tablename__ = "support_area"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    active: bool = Field(default=True)


class PersonalOutcome(SQLModel, table=True):
    __tablename__ = "personal_outcome"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    active: bool = Field(default=True)


class Partner(SQLModel, table=True):
    __tablename__ = "partner"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    contact: str | None = Field(default=None, sa_column=Column(Text))
    active: bool = Field(default=True)


class Programme(SQLModel, table=True):
    __tablename__ = "programme"
    __table_args__ = (UniqueConstraint("partner_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = fk("partner.id")
    name: str = Field(max_length=200)
    eligibility_notes: str | None = Field(default=None, sa_column=Column(Text))
    expected_response_days: int = Field(default=10)
    contact: str | None = Field(default=None, sa_column=Column(Text))
    active: bool = Field(default=True)


class ProgrammeLocality(SQLModel, table=True):
    __tablename__ = "programme_locality"
    programme_id: int = Field(foreign_key="programme.id", primary_key=True)
    locality_id: int = Field(foreign_key="locality.id", primary_key=True)


class Setting(SQLModel, table=True):
    """Configuration as JSON values: protocol, measures, wording, templates, secret."""

    __tablename__ = "setting"
    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime


class CalendarCorrection(SQLModel, table=True):
    __tablename__ = "calendar_correction"
    day: date = Field(primary_key=True)
    is_working_day: bool
    note: str | None = Field(default=None, max_length=200)


# ------------------------------------------------------------------ clients and journeys


class Client(SQLModel, table=True):
    __tablename__ = "client"
    __table_args__ = (
        CheckConstraint("imd_decile IS NULL OR imd_decile BETWEEN 1 AND 10", name="imd_decile"),
        Index("ix_client_name_dob", "last_name_key", "first_name_key", "date_of_birth"),
    )
    id: int | None = Field(default=None, primary_key=True)
    client_ref: str = Field(unique=True, max_length=40)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    first_name_key: str = Field(max_length=100)  # case/accent folded, for matching
    last_name_key: str = Field(max_length=100)
    date_of_birth: date
    postcode: str | None = Field(default=None, max_length=10, index=True)
    nhs_number: str | None = Field(default=None, max_length=10, index=True)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=400)
    preferred_method: str | None = Field(default=None, max_length=16)
    imd_decile: int | None = None
    consent_to_share: bool = Field(default=False)
    locality_id: int = fk("locality.id")
    anonymised: bool = Field(default=False)
    # Migration 0005: set when this record was merged into another person's (its journeys moved there).
    merged_into_id: int | None = fk("client.id", nullable=True)
    version: int = Field(default=1)
    created_at: datetime
    updated_at: datetime


class Journey(SQLModel, table=True):
    __tablename__ = "journey"
    __table_args__ = (
        UniqueConstraint("client_id", "received_date"),
        CheckConstraint(
            "state IN ('received','accepted','rejected','started','completed','closed_without_start','ended_early')",
            name="state",
        ),
        Index("ix_journey_navigator_state", "navigator_id", "state"),
        CheckConstraint("imd_decile IS NULL OR imd_decile BETWEEN 1 AND 10", name="imd_decile"),
    )
    id: int | None = Field(default=None, primary_key=True)
    client_id: int = fk("client.id")
    locality_id: int = fk("locality.id")  # the client's locality when referred
    # Migration 0003: the person's attributes at the time of the referral (domain/referral.py); every measure of
    # the monthly return reads these, never the person's current ones. attributes_basis: received | import |
    # current (filled by the migration from the person's values at upgrade time, not the referral's).
    lot_id: int | None = fk("lot.id", nullable=True)  # the lot of that locality when referred
    imd_decile: int | None = None  # the person's IMD decile when referred
    age_band: str | None = Field(default=None, max_length=16)  # on the received date
    attributes_basis: str = Field(default="received", max_length=16, sa_column_kwargs={"server_default": "received"})
    navigator_id: int = fk("user.id", index=False)
    source_id: int = fk("referral_source.id")
    referrer: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    received_date: date = Field(index=True)
    state: str = Field(default="received", max_length=24)
    state_since: date
    first_contact_date: date | None = Field(default=None, index=True)
    last_contact_date: date | None = None
    decision: str | None = Field(default=None, max_length=16)
    decision_date: date | None = Field(default=None, index=True)
    reject_reason: str | None = Field(default=None, max_length=32)
    start_date: date | None = Field(default=None, index=True)
    end_date: date | None = Field(default=None, index=True)
    end_reason: str | None = Field(default=None, max_length=32)
    outcome_evidence: str | None = Field(default=None, sa_column=Column(Text))
    last_review_date: date | None = None
    # Migration 0005: in crisis or at risk when referred (never closed for no response by the protocol),
    # where the person was signposted, and when and how the referrer was told of a closure or rejection.
    risk_flag: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    signposted_to: str | None = Field(default=None, sa_column=Column(Text))
    referrer_told_date: date | None = None
    referrer_told_how: str | None = Field(default=None, max_length=16)
    version: int = Field(default=1)
    created_at: datetime
    updated_at: datetime


class JourneySupportArea(SQLModel, table=True):
    __tablename__ = "journey_support_area"
    journey_id: int = Field(foreign_key="journey.id", primary_key=True)
    support_area_id: int = Field(foreign_key="support_area.id", primary_key=True)


class ContactAttempt(SQLModel, table=True):
    __tablename__ = "contact_attempt"
    id: int | None = Field(default=None, primary_key=True)
    journey_id: int = fk("journey.id")
    on_date: date
    method: str = Field(max_length=16)
    outcome: str = Field(max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text))
    user_id: int = fk("user.id", index=False)
    created_at: datetime


class PlanGoal(SQLModel, table=True):
    __tablename__ = "plan_goal"
    id: int | None = Field(default=None, primary_key=True)
    journey_id: int = fk("journey.id")
    outcome_id: int = fk("personal_outcome.id", index=False)
    statement: str = Field(sa_column=Column(Text, nullable=False))
    target_date: date | None = None
    status: str = Field(default="not_started", max_length=16)
    version: int = Field(default=1)
    created_at: datetime
    updated_at: datetime


class GoalNote(SQLModel, table=True):
    __tablename__ = "goal_note"
    id: int | None = Field(default=None, primary_key=True)
    goal_id: int = fk("plan_goal.id")
    on_date: date
    note: str = Field(sa_column=Column(Text, nullable=False))
    user_id: int = fk("user.id", index=False)
    created_at: datetime


class PlanReview(SQLModel, table=True):
    __tablename__ = "plan_review"
    id: int | None = Field(default=None, primary_key=True)
    journey_id: int = fk("journey.id")
    on_date: date
    note: str | None = Field(default=None, sa_column=Column(Text))
    user_id: int = fk("user.id", index=False)
    created_at: datetime


class Measurement(SQLModel, table=True):
    """An outcome measurement: SWEMWBS (7 items, 1-5) or ONS4 (4 items, 0-10)."""

    __tablename__ = "measurement"
    __table_args__ = (
        CheckConstraint("kind IN ('swemwbs','ons4')", name="kind"),
        CheckConstraint("point IN ('start','review','end')", name="point"),
    )
    id: int | None = Field(default=None, primary_key=True)
    journey_id: int = fk("journey.id")
    kind: str = Field(default="swemwbs", max_length=8)
    point: str = Field(max_length=8)
    on_date: date
    item1: int | None = None
    item2: int | None = None
    item3: int | None = None
    item4: int | None = None
    item5: int | None = None
    item6: int | None = None
    item7: int | None = None
    raw: int | None = None
    metric_x100: int | None = None  # metric score in hundredths: exact arithmetic
    user_id: int = fk("user.id", index=False)
    created_at: datetime


class OnwardReferral(SQLModel, table=True):
    __tablename__ = "onward_referral"
    id: int | None = Field(default=None, primary_key=True)
    journey_id: int = fk("journey.id")
    programme_id: int = fk("programme.id")
    referral_date: date = Field(index=True)
    status: str = Field(default="made", max_length=16)
    start_date: date | None = None
    end_date: date | None = Field(default=None, index=True)
    last_update_date: date | None = None
    first_update_date: date | None = None
    feedback_pending_since: date | None = None
    note: str | None = Field(default=None, sa_column=Column(Text))
    version: int = Field(default=1)
    created_at: datetime
    updated_at: datetime


class PartnerUpdateRow(SQLModel, table=True):
    __tablename__ = "partner_update"
    id: int | None = Field(default=None, primary_key=True)
    onward_id: int = fk("onward_referral.id")
    on_date: date
    kind: str = Field(max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text))
    user_id: int = fk("user.id", index=False)
    created_at: datetime


class PartnerChase(SQLModel, table=True):
    """A navigator chased a delivery partner about an onward referral (migration 0005)."""

    __tablename__ = "partner_chase"
    id: int | None = Field(default=None, primary_key=True)
    onward_id: int = fk("onward_referral.id")
    on_date: date
    method: str = Field(max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text))
    user_id: int = fk("user.id", index=False)
    created_at: datetime


class Task(SQLModel, table=True):
    """A follow-up: due on a date, for the journey's navigator."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_open_due", "status", "due_date"),
        Index("ix_task_journey_status", "journey_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    journey_id: int = Field(foreign_key="journey.id")
    kind: str = Field(max_length=24)
    key: str = Field(max_length=80)
    due_date: date
    detail: str | None = Field(default=None, max_length=200)
    status: str = Field(default="open", max_length=12)  # open, done
    created_at: datetime
    closed_at: datetime | None = None


class AccessGrant(SQLModel, table=True):
    """A navigator opened a journey outside their caseload through Find, with a reason."""

    __tablename__ = "access_grant"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = fk("user.id")
    client_id: int = fk("client.id")
    reason: str = Field(max_length=400)
    granted_at: datetime


# ------------------------------------------------------------------ audit and returns


class AuditEvent(SQLModel, table=True):
    """Append-only: the database refuses DELETE, and UPDATE except retention's redaction (migrations 0001, 0002)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_client_id", "client_id"),
        Index("ix_audit_event_journey_id", "journey_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    username: str = Field(max_length=64)
    acting_as: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=40)
    entity: str = Field(max_length=40)
    entity_id: int | None = None
    client_id: int | None = None
    journey_id: int | None = None
    before: str | None = Field(default=None, sa_column=Column(Text))
    after: str | None = Field(default=None, sa_column=Column(Text))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    # Migration 0002: version 2 events hash before/after separately and chain those hashes, so retention can
    # blank the content (redacted) while the chain still verifies. Version 1 hashes the content itself.
    before_hash: str | None = Field(default=None, max_length=64)
    after_hash: str | None = Field(default=None, max_length=64)
    redacted: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    hash_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class SentReturn(SQLModel, table=True):
    __tablename__ = "sent_return"
    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7, index=True)
    sent_at: datetime
    username: str = Field(max_length=64)
    options: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    figures: str = Field(sa_column=Column(Text, nullable=False))  # JSON rows of monthly_return


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core ``Table``."""
    return model.__table__  # type: ignore[attr-defined]  # set by SQLModel's metaclass; its stubs do not declare it
