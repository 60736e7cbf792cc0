"""Coordinated Entry records hung off an enrollment: disabilities (barriers), current living
situations (4.12), services, case notes, CE events (4.20), CE assessments (4.19), the diversion /
problem-solving assessment and the Housing Needs Assessment.

Records collected inside a workflow pass (intake, update, exit) point at that pass
(``assessment_id``), so editing the entry date moves them with it.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CocScoped, Timestamps, UUIDPk, coc_scope
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
from app.reference.income import (
    BENEFIT_SOURCE_COLUMNS,
    DV_STAGES,
    DV_WHEN_OCCURRED,
    INCOME_AMOUNT_COLUMNS,
    INCOME_SOURCE_COLUMNS,
    INCOME_SOURCES,
    INCOME_STAGES,
    INSURANCE_SOURCE_COLUMNS,
    INSURANCE_SOURCES,
    NO_INSURANCE_REASONS,
)
from app.reference.living_situations import (
    CURRENT_LIVING_SITUATIONS,
    LEAVE_SITUATION_ASKED,
    SUBSIDY_TYPES,
)

_YES_NO_REASONS = sql_list(YES_NO_REASONS)
_SUBSTANCE_USE_RESPONSES = sql_list(SUBSTANCE_USE_RESPONSES)


class CeRecord(UUIDPk, Timestamps, CocScoped):
    """What every CE record has: its enrollment and client, the workflow pass it was collected
    in, and who recorded it."""

    # The enrollment's CoC (the service sets it; a trigger copies it from the enrollment).
    coc_id: Mapped[uuid.UUID] = coc_scope()
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
        # HUD 4.12.B is required where it is asked; 4.12.C-F exactly when 4.12.B is 1.
        CheckConstraint(
            "leave_situation_14_days IS NOT NULL OR NOT "
            + in_list_sql("current_living_situation", LEAVE_SITUATION_ASKED),
            name="leave_situation_required",
        ),
        CheckConstraint(
            "CASE WHEN leave_situation_14_days = 1 THEN "
            "subsequent_residence IS NOT NULL AND resources_to_obtain IS NOT NULL AND "
            "lease_own_60_day IS NOT NULL AND moved_two_or_more IS NOT NULL ELSE "
            "subsequent_residence IS NULL AND resources_to_obtain IS NULL AND "
            "lease_own_60_day IS NULL AND moved_two_or_more IS NULL END",
            name="leave_follow_ups",
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


def _nullable_codes(column: str, values: frozenset[int]) -> str:
    return f"{column} IS NULL OR {in_list_sql(column, values)}"


def _all(columns: tuple[str, ...], test: str, joiner: str = " AND ") -> str:
    return "(" + joiner.join(f"{c} {test}" for c in columns) + ")"


def _source_group_checks(
    name: str, any_field: str, sources: tuple[str, ...], other: str, identify: str
) -> list[CheckConstraint]:
    """The rules of one "from any source" answer (``app.reference.income``): sources only with
    a Yes/No answer, at least one 1 for Yes, all 0 for No, the identify text with "other"."""
    return [
        CheckConstraint(_nullable_codes(any_field, YES_NO_REASONS), name=f"{name}_any_valid"),
        CheckConstraint(
            " AND ".join(f"({c} IS NULL OR {c} IN (0, 1))" for c in sources),
            name=f"{name}_sources_valid",
        ),
        CheckConstraint(
            f"COALESCE({any_field} IN (0, 1), FALSE) OR " + _all(sources, "IS NULL"),
            name=f"{name}_no_sources",
        ),
        CheckConstraint(
            f"{any_field} IS DISTINCT FROM 1 OR COALESCE({_all(sources, '= 1', ' OR ')}, FALSE)",
            name=f"{name}_yes_has_source",
        ),
        CheckConstraint(
            f"{any_field} IS DISTINCT FROM 0 OR COALESCE({_all(sources, '= 0')}, FALSE)",
            name=f"{name}_no_all_0",
        ),
        CheckConstraint(
            f"({identify} IS NULL AND {other} IS DISTINCT FROM 1) OR "
            f"({other} IS NOT DISTINCT FROM 1 AND {identify} IS NOT NULL)",
            name=f"{name}_identify_with_other",
        ),
    ]


_INCOME_TOTAL = " + ".join(f"COALESCE({a}, 0)" for a in INCOME_AMOUNT_COLUMNS)


class IncomeBenefits(CeRecord, Base):
    """HUD IncomeBenefits.csv: 4.02 Income and Sources (with monthly amounts and
    TotalMonthlyIncome), 4.03 Non-Cash Benefits, 4.04 Health Insurance, at entry (1), update
    (2), annual assessment (5) or exit (3). ``information_date`` is the seeds' "Income Assessment
    Date". The rules: ``app.reference.income``."""

    __tablename__ = "income_benefits"
    __table_args__ = (
        CheckConstraint(in_list_sql("data_collection_stage", INCOME_STAGES), name="stage_valid"),
        *_source_group_checks(
            "income",
            "income_from_any_source",
            INCOME_SOURCE_COLUMNS,
            "other_income_source",
            "other_income_source_identify",
        ),
        *(
            CheckConstraint(
                f"({a} IS NULL AND {s} IS DISTINCT FROM 1) OR "
                f"({s} IS NOT DISTINCT FROM 1 AND {a} IS NOT NULL AND {a} > 0)",
                name=f"{s}_amount",
            )
            for _, s, a in INCOME_SOURCES
        ),
        # 4.02.18: the total is the sum of the amounts (0 for "no sources"), empty otherwise.
        CheckConstraint(
            "CASE WHEN income_from_any_source IN (0, 1) THEN COALESCE(total_monthly_income = "
            f"{_INCOME_TOTAL}, FALSE) ELSE total_monthly_income IS NULL END",
            name="total_is_sum",
        ),
        *_source_group_checks(
            "benefits",
            "benefits_from_any_source",
            BENEFIT_SOURCE_COLUMNS,
            "other_benefits_source",
            "other_benefits_source_identify",
        ),
        *_source_group_checks(
            "insurance",
            "insurance_from_any_source",
            INSURANCE_SOURCE_COLUMNS,
            "other_insurance",
            "other_insurance_identify",
        ),
        *(
            CheckConstraint(
                f"{r} IS NULL OR ({s} IS NOT DISTINCT FROM 0 AND "
                f"{in_list_sql(r, NO_INSURANCE_REASONS)})",
                name=f"{r}_only_0",
            )
            for _, s, r in INSURANCE_SOURCES
            if r is not None
        ),
        CheckConstraint(
            "income_from_any_source IS NOT NULL OR benefits_from_any_source IS NOT NULL OR "
            "insurance_from_any_source IS NOT NULL",
            name="something_answered",
        ),
        # One entry and one exit record per enrollment.
        Index(
            "uq_income_benefits_entry_exit",
            "enrollment_id",
            "data_collection_stage",
            unique=True,
            postgresql_where=text("data_collection_stage IN (1, 3)"),
        ),
        Index("ix_income_benefits_enrollment", "enrollment_id", "information_date", "id"),
    )

    information_date: Mapped[date] = mapped_column(Date, nullable=False)
    data_collection_stage: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    # 4.02 Income and Sources
    income_from_any_source: Mapped[int | None] = mapped_column(SmallInteger)
    total_monthly_income: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    earned: Mapped[int | None] = mapped_column(SmallInteger)
    earned_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    unemployment: Mapped[int | None] = mapped_column(SmallInteger)
    unemployment_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    ssi: Mapped[int | None] = mapped_column(SmallInteger)
    ssi_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    ssdi: Mapped[int | None] = mapped_column(SmallInteger)
    ssdi_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    va_disability_service: Mapped[int | None] = mapped_column(SmallInteger)
    va_disability_service_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    va_disability_non_service: Mapped[int | None] = mapped_column(SmallInteger)
    va_disability_non_service_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    private_disability: Mapped[int | None] = mapped_column(SmallInteger)
    private_disability_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    workers_comp: Mapped[int | None] = mapped_column(SmallInteger)
    workers_comp_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    tanf: Mapped[int | None] = mapped_column(SmallInteger)
    tanf_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    ga: Mapped[int | None] = mapped_column(SmallInteger)
    ga_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    soc_sec_retirement: Mapped[int | None] = mapped_column(SmallInteger)
    soc_sec_retirement_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    pension: Mapped[int | None] = mapped_column(SmallInteger)
    pension_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    child_support: Mapped[int | None] = mapped_column(SmallInteger)
    child_support_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    alimony: Mapped[int | None] = mapped_column(SmallInteger)
    alimony_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    other_income_source: Mapped[int | None] = mapped_column(SmallInteger)
    other_income_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    other_income_source_identify: Mapped[str | None] = mapped_column(String(50))
    # 4.03 Non-Cash Benefits
    benefits_from_any_source: Mapped[int | None] = mapped_column(SmallInteger)
    snap: Mapped[int | None] = mapped_column(SmallInteger)
    wic: Mapped[int | None] = mapped_column(SmallInteger)
    tanf_child_care: Mapped[int | None] = mapped_column(SmallInteger)
    tanf_transportation: Mapped[int | None] = mapped_column(SmallInteger)
    other_tanf: Mapped[int | None] = mapped_column(SmallInteger)
    other_benefits_source: Mapped[int | None] = mapped_column(SmallInteger)
    other_benefits_source_identify: Mapped[str | None] = mapped_column(String(50))
    # 4.04 Health Insurance
    insurance_from_any_source: Mapped[int | None] = mapped_column(SmallInteger)
    medicaid: Mapped[int | None] = mapped_column(SmallInteger)
    no_medicaid_reason: Mapped[int | None] = mapped_column(SmallInteger)
    medicare: Mapped[int | None] = mapped_column(SmallInteger)
    no_medicare_reason: Mapped[int | None] = mapped_column(SmallInteger)
    schip: Mapped[int | None] = mapped_column(SmallInteger)
    no_schip_reason: Mapped[int | None] = mapped_column(SmallInteger)
    vha_services: Mapped[int | None] = mapped_column(SmallInteger)
    no_vha_reason: Mapped[int | None] = mapped_column(SmallInteger)
    employer_provided: Mapped[int | None] = mapped_column(SmallInteger)
    no_employer_provided_reason: Mapped[int | None] = mapped_column(SmallInteger)
    cobra: Mapped[int | None] = mapped_column(SmallInteger)
    no_cobra_reason: Mapped[int | None] = mapped_column(SmallInteger)
    private_pay: Mapped[int | None] = mapped_column(SmallInteger)
    no_private_pay_reason: Mapped[int | None] = mapped_column(SmallInteger)
    state_health_ins: Mapped[int | None] = mapped_column(SmallInteger)
    no_state_health_ins_reason: Mapped[int | None] = mapped_column(SmallInteger)
    indian_health_services: Mapped[int | None] = mapped_column(SmallInteger)
    no_indian_health_services_reason: Mapped[int | None] = mapped_column(SmallInteger)
    other_insurance: Mapped[int | None] = mapped_column(SmallInteger)
    other_insurance_identify: Mapped[str | None] = mapped_column(String(50))


class HealthAndDv(CeRecord, Base):
    """HUD HealthAndDV.csv, 4.11 Domestic Violence: survivor, when it occurred, currently
    fleeing (at project start or update). Sensitive: read only by whom
    ``ce.policy.can_see_domestic_violence`` names."""

    __tablename__ = "health_and_dv"
    __table_args__ = (
        CheckConstraint(in_list_sql("data_collection_stage", DV_STAGES), name="stage_valid"),
        CheckConstraint(
            in_list_sql("domestic_violence_survivor", YES_NO_REASONS), name="survivor_valid"
        ),
        CheckConstraint(_nullable_codes("when_occurred", DV_WHEN_OCCURRED), name="when_valid"),
        CheckConstraint(_nullable_codes("currently_fleeing", YES_NO_REASONS), name="fleeing_valid"),
        # 4.11.A and 4.11.B are asked (and required) exactly when 4.11.2 is Yes.
        CheckConstraint(
            "CASE WHEN domestic_violence_survivor = 1 THEN when_occurred IS NOT NULL AND "
            "currently_fleeing IS NOT NULL ELSE when_occurred IS NULL AND "
            "currently_fleeing IS NULL END",
            name="follow_ups_only_for_survivor",
        ),
        Index(
            "uq_health_and_dv_entry",
            "enrollment_id",
            unique=True,
            postgresql_where=text("data_collection_stage = 1"),
        ),
        Index("ix_health_and_dv_enrollment", "enrollment_id", "information_date", "id"),
    )

    information_date: Mapped[date] = mapped_column(Date, nullable=False)
    data_collection_stage: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    domestic_violence_survivor: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    when_occurred: Mapped[int | None] = mapped_column(SmallInteger)
    currently_fleeing: Mapped[int | None] = mapped_column(SmallInteger)
