"""Coordinated Entry records hung off an enrollment: disabilities (barriers), current living
situations (4.12), services, case notes, CE events (4.20), CE assessments (4.19), the diversion /
problem-solving assessment and the Housing Needs Assessment.

Records collected inside a workflow pass (intake, update, exit) point at that pass
(``assessment_id``), so editing the entry date moves them with it.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPk
from app.reference import YES_NO, YES_NO_REASONS, in_list_sql, sql_list
from app.reference.ce import (
    CE_ASSESSMENT_LEVELS,
    CE_ASSESSMENT_TYPES,
    CE_EVENTS,
    DISABILITY_TYPES,
    DIVERSION_SERVICES,
    EVENTS_WITH_REFERRAL_RESULT,
    PRIORITIZATION_STATUSES,
    REFERRAL_RESULTS,
    STAGES,
    SUBSTANCE_USE_RESPONSES,
)
from app.reference.living_situations import (
    CURRENT_LIVING_SITUATIONS,
    LEAVE_SITUATION_ASKED,
    SUBSIDY_TYPES,
)

_YES_NO_REASONS = sql_list(YES_NO_REASONS)
_SUBSTANCE_USE_RESPONSES = sql_list(SUBSTANCE_USE_RESPONSES)


class CeRecord(UUIDPk, Timestamps):
    """What every CE record has: its enrollment and client, the workflow pass it was collected
    in, and who recorded it."""

    enrollment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrollments.id"), nullable=False)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("enrollment_assessments.id"))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_by_organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )


class Disability(CeRecord, Base):
    """HUD Disabilities.csv: DisabilityType 5-10 (10 = substance use, response list 4.10.2)."""

    __tablename__ = "disabilities"
    __table_args__ = (
        CheckConstraint(in_list_sql("disability_type", DISABILITY_TYPES), name="type_valid"),
        CheckConstraint(
            f"disability_type = 10 AND disability_response IN {_SUBSTANCE_USE_RESPONSES} OR "
            f"disability_type <> 10 AND disability_response IN {_YES_NO_REASONS}",
            name="response_valid",
        ),
        CheckConstraint(
            f"indefinite_and_impairs IS NULL OR indefinite_and_impairs IN {_YES_NO_REASONS}",
            name="indefinite_valid",
        ),
        CheckConstraint(in_list_sql("data_collection_stage", STAGES), name="stage_valid"),
        Index("ix_disabilities_enrollment_id", "enrollment_id", "information_date", "id"),
    )

    information_date: Mapped[date] = mapped_column(Date, nullable=False)
    disability_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    disability_response: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    indefinite_and_impairs: Mapped[int | None] = mapped_column(SmallInteger)
    data_collection_stage: Mapped[int] = mapped_column(SmallInteger, nullable=False)


class CurrentLivingSituation(CeRecord, Base):
    """4.12 Current Living Situation: one per contact."""

    __tablename__ = "current_living_situations"
    __table_args__ = (
        CheckConstraint(
            in_list_sql("current_living_situation", CURRENT_LIVING_SITUATIONS),
            name="situation_valid",
        ),
        CheckConstraint(
            "(current_living_situation = 435) = (cls_subsidy_type IS NOT NULL)",
            name="subsidy_only_for_435",
        ),
        CheckConstraint(
            "cls_subsidy_type IS NULL OR " + in_list_sql("cls_subsidy_type", SUBSIDY_TYPES),
            name="subsidy_valid",
        ),
        CheckConstraint(
            "leave_situation_14_days IS NULL OR "
            + in_list_sql("current_living_situation", LEAVE_SITUATION_ASKED),
            name="leave_situation_asked",
        ),
        Index("ix_current_living_situations_enrollment", "enrollment_id", "information_date", "id"),
        Index("ix_current_living_situations_client", "client_id", "information_date"),
    )

    information_date: Mapped[date] = mapped_column(Date, nullable=False)
    current_living_situation: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    cls_subsidy_type: Mapped[int | None] = mapped_column(SmallInteger)
    verified_by: Mapped[str | None] = mapped_column(String(200))
    leave_situation_14_days: Mapped[int | None] = mapped_column(SmallInteger)
    subsequent_residence: Mapped[int | None] = mapped_column(SmallInteger)
    resources_to_obtain: Mapped[int | None] = mapped_column(SmallInteger)
    lease_own_60_day: Mapped[int | None] = mapped_column(SmallInteger)
    moved_two_or_more: Mapped[int | None] = mapped_column(SmallInteger)
    location_details: Mapped[str | None] = mapped_column(String(250))


class Service(CeRecord, Base):
    """A service provided on the CE enrollment (the diversion "Quick Services" list)."""

    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint(
            "service_type IN ('" + "', '".join(DIVERSION_SERVICES) + "')", name="type_valid"
        ),
        Index("ix_services_enrollment_id", "enrollment_id", "date_provided", "id"),
        Index("ix_services_client_id", "client_id", "date_provided"),
    )

    date_provided: Mapped[date] = mapped_column(Date, nullable=False)
    service_type: Mapped[str] = mapped_column(String(50), nullable=False)


class CaseNote(CeRecord, Base):
    __tablename__ = "case_notes"
    __table_args__ = (Index("ix_case_notes_enrollment_id", "enrollment_id", "note_date", "id"),)

    note_date: Mapped[date] = mapped_column(Date, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("services.id"))


class CeEvent(CeRecord, Base):
    """4.20 Coordinated Entry Event with the result fields belonging to its type."""

    __tablename__ = "ce_events"
    __table_args__ = (
        CheckConstraint(in_list_sql("event", CE_EVENTS), name="event_valid"),
        CheckConstraint(
            "prob_sol_div_rr_result IS NULL OR event = 2 AND "
            + in_list_sql("prob_sol_div_rr_result", YES_NO),
            name="diversion_result_only_event_2",
        ),
        CheckConstraint(
            "referral_case_manage_after IS NULL OR "
            "event = 5 AND " + in_list_sql("referral_case_manage_after", YES_NO),
            name="case_manage_after_only_event_5",
        ),
        CheckConstraint(
            "referral_result IS NULL OR "
            + in_list_sql("event", EVENTS_WITH_REFERRAL_RESULT)
            + " AND "
            + in_list_sql("referral_result", REFERRAL_RESULTS),
            name="referral_result_only_referrals",
        ),
        CheckConstraint(
            "location_crisis_or_ph_housing IS NULL OR "
            + in_list_sql("event", EVENTS_WITH_REFERRAL_RESULT),
            name="location_only_referrals",
        ),
        # 4.20.E ResultDate goes with 4.20.D ReferralResult, on or after the event.
        CheckConstraint("(result_date IS NULL) = (referral_result IS NULL)", name="result_date"),
        CheckConstraint(
            "result_date IS NULL OR result_date >= event_date", name="result_after_event"
        ),
        Index("ix_ce_events_enrollment_id", "enrollment_id", "event_date", "id"),
    )

    event_date: Mapped[date] = mapped_column(Date, nullable=False)
    event: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    prob_sol_div_rr_result: Mapped[int | None] = mapped_column(SmallInteger)
    referral_case_manage_after: Mapped[int | None] = mapped_column(SmallInteger)
    location_crisis_or_ph_housing: Mapped[str | None] = mapped_column(String(250))
    referral_result: Mapped[int | None] = mapped_column(SmallInteger)
    result_date: Mapped[date | None] = mapped_column(Date)


class CeAssessment(CeRecord, Base):
    """4.19 Coordinated Entry Assessment."""

    __tablename__ = "ce_assessments"
    __table_args__ = (
        CheckConstraint(in_list_sql("assessment_type", CE_ASSESSMENT_TYPES), name="type_valid"),
        CheckConstraint(in_list_sql("assessment_level", CE_ASSESSMENT_LEVELS), name="level_valid"),
        CheckConstraint(
            in_list_sql("prioritization_status", PRIORITIZATION_STATUSES),
            name="prioritization_valid",
        ),
        Index("ix_ce_assessments_enrollment_id", "enrollment_id", "assessment_date", "id"),
    )

    assessment_date: Mapped[date] = mapped_column(Date, nullable=False)
    assessment_location: Mapped[str] = mapped_column(String(250), nullable=False)
    assessment_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    assessment_level: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    prioritization_status: Mapped[int] = mapped_column(SmallInteger, nullable=False)


class DiversionAssessment(CeRecord, Base):
    """The CAS Diversion / Problem Solving assessment (DOMAIN 5 step 6)."""

    __tablename__ = "diversion_assessments"
    __table_args__ = (
        Index("ix_diversion_assessments_enrollment", "enrollment_id", "assessment_date", "id"),
    )

    assessment_date: Mapped[date] = mapped_column(Date, nullable=False)
    housing_crisis_onset: Mapped[date | None] = mapped_column(Date)
    last_stable_housing_date: Mapped[date | None] = mapped_column(Date)
    assistance_needed: Mapped[str | None] = mapped_column(Text)


class HousingNeedsAssessment(CeRecord, Base):
    """The CAS Housing Needs Assessment (DOMAIN 5 step 9); answers use HUD list 1.8."""

    __tablename__ = "housing_needs_assessments"
    __table_args__ = (
        CheckConstraint(
            f"sex_offender_registry IN {_YES_NO_REASONS} AND "
            f"meth_manufacturing_conviction IN {_YES_NO_REASONS} AND "
            f"behavioral_health_interest IN {_YES_NO_REASONS} AND "
            f"violence_trauma_or_unsafe IN {_YES_NO_REASONS} AND "
            f"(hud_vash_eligible IS NULL OR hud_vash_eligible IN {_YES_NO_REASONS})",
            name="answers_valid",
        ),
        Index("ix_housing_needs_assessments_enrollment", "enrollment_id", "assessment_date", "id"),
    )

    assessment_date: Mapped[date] = mapped_column(Date, nullable=False)
    sex_offender_registry: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    meth_manufacturing_conviction: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    behavioral_health_interest: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    # Editable only by users acting for a veteran-services organization.
    hud_vash_eligible: Mapped[int | None] = mapped_column(SmallInteger)
    violence_trauma_or_unsafe: Mapped[int] = mapped_column(SmallInteger, nullable=False)
