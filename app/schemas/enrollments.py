"""Coordinated Entry: enrollments, the CAS & Diversion Intake, update assessments, CE records,
exits and case assignments.

Living-situation codes are plain integers here: which codes a field accepts depends on the field
(3.917 / 4.12 / 3.12 exclude different codes of list 3.12.1), so the service checks them and
names the field in the problem.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator
from typing_extensions import TypeAliasType

from app.reference.ce import DiversionService, Outcome
from app.reference.income import (
    BENEFIT_SOURCE_COLUMNS,
    DV_STAGES,
    INCOME_SOURCE_COLUMNS,
    INCOME_STAGES,
    INSURANCE_SOURCE_COLUMNS,
)
from app.reference.queue import IntakeStatus
from app.schemas.clients import ClientCreate, ClientRead, DuplicateCandidate
from app.schemas.codes import (
    CeAssessmentLevel,
    CeAssessmentType,
    CeEventType,
    DataCollectionStage,
    DisabilityResponse,
    DisabilityType,
    DvWhenOccurred,
    LengthOfStay,
    LivingSituation,
    MonthsHomeless,
    NoInsuranceReason,
    PrioritizationStatus,
    ReferralResult,
    RelationshipToHoH,
    RentalSubsidyType,
    TimesHomeless,
    YesNo,
    YesNoReasons,
)
from app.schemas.common import JsonDecimal, ReadModel, RecordDate, WriteModel

Relationship = RelationshipToHoH
ExitReason = TypeAliasType(
    "ExitReason",
    Literal["no_longer_needs_permanent_housing", "left_coc_area", "enrolled_in_permanent_housing"],
)
CaseAssignmentStatus = TypeAliasType("CaseAssignmentStatus", Literal["active", "inactive"])


class CEWriteModel(WriteModel):
    """Request bodies of this module (WriteModel already refuses text PostgreSQL can't store)."""


# --- pieces shared by the intake, the update assessment and the individual resources -----------


class PriorLivingSituationIn(CEWriteModel):
    """3.917 Prior Living Situation, with HUD's skip logic (LOSUnderThreshold is derived from the
    length of stay when left out)."""

    living_situation: LivingSituation = Field(
        description="3.917.1, list 3.12.1 except 312, 313, 327, 422, 423, 426, 30, 17, 24, 37.",
        examples=[116],
    )
    rental_subsidy_type: RentalSubsidyType | None = Field(default=None, description="3.12.A")
    length_of_stay: LengthOfStay | None = Field(default=None, description="3.917.2", examples=[5])
    los_under_threshold: YesNo | None = None
    previous_street_essh: YesNo | None = None
    date_to_street_essh: RecordDate | None = None
    times_homeless_past_three_years: TimesHomeless | None = Field(
        default=None, description="3.917.4"
    )
    months_homeless_past_three_years: MonthsHomeless | None = Field(
        default=None, description="3.917.5"
    )


class TranslationIn(CEWriteModel):
    """C4 Translation assistance."""

    translation_needed: YesNoReasons
    preferred_language: int | None = Field(
        default=None,
        ge=1,
        le=999,
        description="C4.A (HUD language list); only when translation_needed=1.",
    )
    preferred_language_different: str | None = Field(
        default=None, max_length=100, description="C4.B; only when preferred_language is 21."
    )


class BarrierIn(CEWriteModel):
    """One condition of the Barriers page (HUD Disabilities): 5 physical, 6 developmental,
    7 chronic health, 8 HIV/AIDS, 9 mental health, 10 substance use (response list 4.10.2:
    1 alcohol, 2 drug, 3 both)."""

    disability_type: DisabilityType
    disability_response: DisabilityResponse
    indefinite_and_impairs: YesNoReasons | None = Field(
        default=None,
        description="Required when a physical, chronic health, mental health or substance use "
        "condition is present (it counts as disabling only when indefinite and impairing).",
    )


class CurrentLivingSituationIn(CEWriteModel):
    """4.12 Current Living Situation."""

    information_date: RecordDate | None = Field(
        default=None, description="Defaults to the assessment / entry / exit date."
    )
    current_living_situation: LivingSituation = Field(
        description="4.12.2, list 3.12.1 except 312, 313, 327, 422, 423, 426, 30, 24.",
        examples=[116],
    )
    cls_subsidy_type: RentalSubsidyType | None = Field(default=None, description="4.12.A")
    verified_by: str | None = Field(
        default=None,
        max_length=200,
        description="4.12.3: project name when another project reported the situation.",
    )
    leave_situation_14_days: YesNoReasons | None = None
    subsequent_residence: YesNoReasons | None = None
    resources_to_obtain: YesNoReasons | None = None
    lease_own_60_day: YesNoReasons | None = None
    moved_two_or_more: YesNoReasons | None = None
    location_details: str | None = Field(default=None, max_length=250)


class DiversionAssessmentIn(CEWriteModel):
    """The Diversion / Problem Solving assessment."""

    assessment_date: RecordDate | None = Field(
        default=None, description="Defaults to the entry date."
    )
    housing_crisis_onset: RecordDate | None = None
    last_stable_housing_date: RecordDate | None = Field(
        default=None,
        description="When the client last stayed with family or friends or had a place of their "
        "own.",
    )
    assistance_needed: str | None = Field(
        default=None,
        max_length=2000,
        description="Assistance needed to stay at an alternative or previous housing destination.",
    )


class HousingNeedsIn(CEWriteModel):
    """The CAS Housing Needs Assessment (answers use HUD list 1.8)."""

    assessment_date: RecordDate | None = None
    sex_offender_registry: YesNoReasons = Field(
        description="On a lifetime sex offender registry in any state."
    )
    meth_manufacturing_conviction: YesNoReasons = Field(
        description="Convicted of manufacturing methamphetamine on public housing property."
    )
    behavioral_health_interest: YesNoReasons = Field(
        description="Interested in being connected to behavioral health services."
    )
    hud_vash_eligible: YesNoReasons | None = Field(
        default=None,
        description="Eligible for HUD-VASH: only users acting for a veteran-services "
        "organization may set it.",
    )
    violence_trauma_or_unsafe: YesNoReasons = Field(
        description="Anyone in the household experiencing trauma or a lack of safety related to "
        "violence or its threat in the current housing situation."
    )


# 4.02-4.04 pieces: a source is list 1.7 without 99 (0 or 1), amounts are monthly dollars.
Money = Annotated[JsonDecimal, Field(ge=0, le=Decimal("99999999.99"), decimal_places=2)]
SOURCE_FIELDS = INCOME_SOURCE_COLUMNS + BENEFIT_SOURCE_COLUMNS + INSURANCE_SOURCE_COLUMNS


class IncomeBenefitsIn(CEWriteModel):
    """4.02 Income and Sources, 4.03 Non-Cash Benefits, 4.04 Health Insurance (HUD
    IncomeBenefits.csv columns). Each "from any source" answer decides its sources: 1 (Yes) --
    answer the sources (unanswered ones are 0), at least one is 1, each income source that is
    1 with its monthly amount; 0 (No, no sources) -- every source 0; 8/9/99 -- no sources.
    ``total_monthly_income`` is the sum of the amounts."""

    information_date: RecordDate | None = Field(
        default=None,
        description="The Income Assessment Date; defaults to (and at entry / exit must be) the "
        "entry, assessment or exit date of the pass it is recorded in.",
    )
    # 4.02 Income and Sources
    income_from_any_source: YesNoReasons | None = Field(default=None, description="4.02.2")
    total_monthly_income: Money | None = Field(
        default=None,
        description="4.02.18; computed (the sum of the amounts); a value sent must match.",
    )
    earned: YesNo | None = Field(default=None, description="4.02.3")
    earned_amount: Money | None = None
    unemployment: YesNo | None = Field(default=None, description="4.02.4")
    unemployment_amount: Money | None = None
    ssi: YesNo | None = Field(default=None, description="4.02.5")
    ssi_amount: Money | None = None
    ssdi: YesNo | None = Field(default=None, description="4.02.6")
    ssdi_amount: Money | None = None
    va_disability_service: YesNo | None = Field(default=None, description="4.02.7")
    va_disability_service_amount: Money | None = None
    va_disability_non_service: YesNo | None = Field(default=None, description="4.02.8")
    va_disability_non_service_amount: Money | None = None
    private_disability: YesNo | None = Field(default=None, description="4.02.9")
    private_disability_amount: Money | None = None
    workers_comp: YesNo | None = Field(default=None, description="4.02.10")
    workers_comp_amount: Money | None = None
    tanf: YesNo | None = Field(default=None, description="4.02.11")
    tanf_amount: Money | None = None
    ga: YesNo | None = Field(default=None, description="4.02.12")
    ga_amount: Money | None = None
    soc_sec_retirement: YesNo | None = Field(default=None, description="4.02.13")
    soc_sec_retirement_amount: Money | None = None
    pension: YesNo | None = Field(default=None, description="4.02.14")
    pension_amount: Money | None = None
    child_support: YesNo | None = Field(default=None, description="4.02.15")
    child_support_amount: Money | None = None
    alimony: YesNo | None = Field(default=None, description="4.02.16")
    alimony_amount: Money | None = None
    other_income_source: YesNo | None = Field(default=None, description="4.02.17")
    other_income_amount: Money | None = None
    other_income_source_identify: str | None = Field(
        default=None, max_length=50, description="4.02.P"
    )
    # 4.03 Non-Cash Benefits
    benefits_from_any_source: YesNoReasons | None = Field(default=None, description="4.03.2")
    snap: YesNo | None = Field(default=None, description="4.03.3")
    wic: YesNo | None = Field(default=None, description="4.03.4")
    tanf_child_care: YesNo | None = Field(default=None, description="4.03.5")
    tanf_transportation: YesNo | None = Field(default=None, description="4.03.6")
    other_tanf: YesNo | None = Field(default=None, description="4.03.7")
    other_benefits_source: YesNo | None = Field(default=None, description="4.03.8")
    other_benefits_source_identify: str | None = Field(
        default=None, max_length=50, description="4.03.A"
    )
    # 4.04 Health Insurance
    insurance_from_any_source: YesNoReasons | None = Field(default=None, description="4.04.2")
    medicaid: YesNo | None = Field(default=None, description="4.04.3")
    no_medicaid_reason: NoInsuranceReason | None = Field(
        default=None, description="4.04.3A; only when medicaid is 0."
    )
    medicare: YesNo | None = Field(default=None, description="4.04.4")
    no_medicare_reason: NoInsuranceReason | None = Field(
        default=None, description="4.04.4A; only when medicare is 0."
    )
    schip: YesNo | None = Field(default=None, description="4.04.5")
    no_schip_reason: NoInsuranceReason | None = Field(
        default=None, description="4.04.5A; only when schip is 0."
    )
    vha_services: YesNo | None = Field(default=None, description="4.04.6")
    no_vha_reason: NoInsuranceReason | None = Field(
        default=None, description="4.04.6A; only when vha_services is 0."
    )
    employer_provided: YesNo | None = Field(default=None, description="4.04.7")
    no_employer_provided_reason: NoInsuranceReason | None = Field(
        default=None, description="4.04.7A; only when employer_provided is 0."
    )
    cobra: YesNo | None = Field(default=None, description="4.04.8")
    no_cobra_reason: NoInsuranceReason | None = Field(
        default=None, description="4.04.8A; only when cobra is 0."
    )
    private_pay: YesNo | None = Field(default=None, description="4.04.9")
    no_private_pay_reason: NoInsuranceReason | None = Field(
        default=None, description="4.04.9A; only when private_pay is 0."
    )
    state_health_ins: YesNo | None = Field(default=None, description="4.04.10")
    no_state_health_ins_reason: NoInsuranceReason | None = Field(
        default=None, description="4.04.10A; only when state_health_ins is 0."
    )
    indian_health_services: YesNo | None = Field(default=None, description="4.04.11")
    no_indian_health_services_reason: NoInsuranceReason | None = Field(
        default=None, description="4.04.11A; only when indian_health_services is 0."
    )
    other_insurance: YesNo | None = Field(default=None, description="4.04.12")
    other_insurance_identify: str | None = Field(
        default=None, max_length=50, description="4.04.12A"
    )

    @field_validator(*SOURCE_FIELDS)
    @classmethod
    def _source_answered(cls, value: int | None) -> int | None:
        if value is not None and value not in (0, 1):
            raise ValueError("a source is 0 (No) or 1 (Yes) (list 1.7 without 99)")
        return value


class IncomeBenefitsCreate(IncomeBenefitsIn):
    """An income, benefits and health insurance record on its own."""

    information_date: RecordDate | None = Field(
        default=None,
        description="The Income Assessment Date: the entry date at entry (stage 1), the exit "
        "date at exit (3), within 30 days of the anniversary of the head's entry for an annual "
        "assessment (5); defaults to today.",
    )
    data_collection_stage: DataCollectionStage = Field(
        default=2, description="5.03.1: 1 entry, 2 update, 5 annual assessment, 3 exit."
    )

    @field_validator("data_collection_stage")
    @classmethod
    def _income_stage(cls, value: int) -> int:
        if value not in INCOME_STAGES:
            raise ValueError("must be 1 (entry), 2 (update), 5 (annual assessment) or 3 (exit)")
        return value


class IncomeBenefitsRead(ReadModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    client_id: uuid.UUID
    assessment_id: uuid.UUID | None
    information_date: date
    data_collection_stage: DataCollectionStage
    income_from_any_source: YesNoReasons | None
    total_monthly_income: float | None
    earned: YesNo | None
    earned_amount: float | None
    unemployment: YesNo | None
    unemployment_amount: float | None
    ssi: YesNo | None
    ssi_amount: float | None
    ssdi: YesNo | None
    ssdi_amount: float | None
    va_disability_service: YesNo | None
    va_disability_service_amount: float | None
    va_disability_non_service: YesNo | None
    va_disability_non_service_amount: float | None
    private_disability: YesNo | None
    private_disability_amount: float | None
    workers_comp: YesNo | None
    workers_comp_amount: float | None
    tanf: YesNo | None
    tanf_amount: float | None
    ga: YesNo | None
    ga_amount: float | None
    soc_sec_retirement: YesNo | None
    soc_sec_retirement_amount: float | None
    pension: YesNo | None
    pension_amount: float | None
    child_support: YesNo | None
    child_support_amount: float | None
    alimony: YesNo | None
    alimony_amount: float | None
    other_income_source: YesNo | None
    other_income_amount: float | None
    other_income_source_identify: str | None
    benefits_from_any_source: YesNoReasons | None
    snap: YesNo | None
    wic: YesNo | None
    tanf_child_care: YesNo | None
    tanf_transportation: YesNo | None
    other_tanf: YesNo | None
    other_benefits_source: YesNo | None
    other_benefits_source_identify: str | None
    insurance_from_any_source: YesNoReasons | None
    medicaid: YesNo | None
    no_medicaid_reason: NoInsuranceReason | None
    medicare: YesNo | None
    no_medicare_reason: NoInsuranceReason | None
    schip: YesNo | None
    no_schip_reason: NoInsuranceReason | None
    vha_services: YesNo | None
    no_vha_reason: NoInsuranceReason | None
    employer_provided: YesNo | None
    no_employer_provided_reason: NoInsuranceReason | None
    cobra: YesNo | None
    no_cobra_reason: NoInsuranceReason | None
    private_pay: YesNo | None
    no_private_pay_reason: NoInsuranceReason | None
    state_health_ins: YesNo | None
    no_state_health_ins_reason: NoInsuranceReason | None
    indian_health_services: YesNo | None
    no_indian_health_services_reason: NoInsuranceReason | None
    other_insurance: YesNo | None
    other_insurance_identify: str | None
    created_at: datetime


class DomesticViolenceIn(CEWriteModel):
    """4.11 Domestic Violence (HUD HealthAndDV.csv): when_occurred and currently_fleeing are
    asked, and required, exactly when domestic_violence_survivor is 1."""

    information_date: RecordDate | None = Field(
        default=None, description="Defaults to the entry or assessment date of the pass."
    )
    domestic_violence_survivor: YesNoReasons = Field(description="4.11.2")
    when_occurred: DvWhenOccurred | None = Field(default=None, description="4.11.A (list 4.11.A)")
    currently_fleeing: YesNoReasons | None = Field(default=None, description="4.11.B")


class DomesticViolenceCreate(DomesticViolenceIn):
    """A 4.11 record on its own (collected at project start and update)."""

    data_collection_stage: DataCollectionStage = Field(
        default=2, description="5.03.1: 1 project start, 2 update."
    )

    @field_validator("data_collection_stage")
    @classmethod
    def _dv_stage(cls, value: int) -> int:
        if value not in DV_STAGES:
            raise ValueError("must be 1 (project start) or 2 (update)")
        return value


class DomesticViolenceRead(ReadModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    client_id: uuid.UUID
    assessment_id: uuid.UUID | None
    information_date: date
    data_collection_stage: DataCollectionStage
    domestic_violence_survivor: YesNoReasons
    when_occurred: DvWhenOccurred | None
    currently_fleeing: YesNoReasons | None
    created_at: datetime


class AreaTieIn(CEWriteModel):
    tie_date: RecordDate
    area: str = Field(min_length=1, max_length=50, description="A code of the CoC's area list.")
    how: str = Field(min_length=1, max_length=50, description="A code of the CoC's 'how' list.")


class ServiceIn(CEWriteModel):
    service_type: DiversionService
    date_provided: RecordDate | None = Field(default=None, description="Defaults to the exit date.")


class CeAssessmentOptions(CEWriteModel):
    """4.19 fields of the CE assessment recorded on placement."""

    assessment_location: str | None = Field(
        default=None, max_length=250, description="Defaults to the acting organization's name."
    )
    assessment_type: CeAssessmentType = Field(default=3, description="4.19.3 (3 = in person).")
    assessment_level: CeAssessmentLevel = Field(
        default=2, description="4.19.4 (2 = housing needs assessment)."
    )


class DiversionExitIn(CEWriteModel):
    """The CAS exit after a successful diversion."""

    exit_date: RecordDate | None = Field(
        default=None, description="Defaults to the assessment date."
    )
    destination: LivingSituation = Field(
        description="3.12.1 except 335, 336, 37 (a 4xx permanent situation for diversion).",
        examples=[422],
    )
    destination_subsidy_type: RentalSubsidyType | None = Field(default=None, description="3.12.A")
    other_destination: str | None = Field(default=None, max_length=50)
    services: list[ServiceIn] = Field(
        default_factory=list,
        max_length=20,
        description="At least one service that led to the diversion.",
    )
    case_note: str | None = Field(
        default=None,
        max_length=10000,
        description="Required when a service is successful_diversion_other.",
    )
    exit_current_living_situation: CurrentLivingSituationIn | None = Field(
        default=None,
        description="Required: the living situation at exit, corresponding to the destination "
        "(e.g. 422 -> 335, 410 -> 410).",
    )
    income_benefits: IncomeBenefitsIn | None = Field(
        default=None, description="4.02-4.04 at exit (stage 3), dated the exit date."
    )


class OutcomeFields(CEWriteModel):
    """What the intake and the update assessment say about the outcome."""

    ready_for_outcome: bool = Field(
        default=False, description="No: the outcome stays pending (enrolled, not queued)."
    )
    diverted: bool | None = Field(
        default=None,
        description="Required when ready_for_outcome: true = exit as diverted, false = place "
        "the household on the prioritization list.",
    )
    diversion: DiversionExitIn | None = Field(default=None, description="When diverted.")
    area_ties: list[AreaTieIn] = Field(default_factory=list, max_length=50)
    housing_needs: HousingNeedsIn | None = Field(
        default=None, description="Required when the household is placed on the queue."
    )
    ce_assessment: CeAssessmentOptions | None = Field(
        default=None,
        description="4.19 fields of the CE assessment this pass records (PrioritizationStatus 1 "
        "when placed, 2 otherwise); given on an update that keeps the outcome, it records a "
        "re-assessment.",
    )


# --- the intake --------------------------------------------------------------------------------


class FamilyMemberIn(CEWriteModel):
    client_id: uuid.UUID | None = Field(default=None, description="An existing client ...")
    client: ClientCreate | None = Field(default=None, description="... or a new one.")
    relationship_to_hoh: Relationship | None = Field(
        default=None,
        description="3.15.1; required for a new household, taken from the household otherwise.",
    )
    enroll: bool = Field(default=True, description="Enrolls into Coordinated Entry with them.")
    disabling_condition: YesNoReasons = 99
    prior_living_situation: PriorLivingSituationIn | None = None


class IntakeCreate(OutcomeFields):
    """The CAS & Diversion Intake (DOMAIN 5 steps 1-9) as one all-or-nothing request."""

    client_id: uuid.UUID | None = Field(default=None, description="An existing client ...")
    client: ClientCreate | None = Field(default=None, description="... or a new one.")
    relationship_to_hoh: Relationship | None = Field(
        default=None, description="The client's 3.15.1; 1 (head) for a new household by default."
    )
    household_id: uuid.UUID | None = Field(
        default=None,
        description="An existing household of the client; without it a household is created "
        "from the client and family_members.",
    )
    family_members: list[FamilyMemberIn] = Field(default_factory=list, max_length=20)
    entry_date: RecordDate | None = Field(default=None, description="Defaults to today.")
    case_manager_user_id: uuid.UUID | None = Field(
        default=None, description="Assigned case manager; defaults to you."
    )
    disabling_condition: YesNoReasons
    prior_living_situation: PriorLivingSituationIn
    translation: TranslationIn | None = None
    barriers: list[BarrierIn] = Field(default_factory=list, max_length=6)
    current_living_situation: CurrentLivingSituationIn
    diversion_assessment: DiversionAssessmentIn | None = None
    income_benefits: IncomeBenefitsIn | None = Field(
        default=None,
        description="4.02-4.04 at entry (stage 1) of the client, dated the entry date.",
    )
    domestic_violence: DomesticViolenceIn | None = Field(
        default=None, description="4.11 at entry (stage 1) of the client."
    )


class AssessmentCreate(OutcomeFields):
    """An Update (or Annual) Assessment on an open CE enrollment."""

    assessment_date: RecordDate
    data_collection_stage: DataCollectionStage = Field(
        default=2,
        description="2 update, 5 annual (within 30 days of the anniversary of the head of "
        "household's entry date).",
    )
    current_living_situation: CurrentLivingSituationIn
    barriers: list[BarrierIn] = Field(default_factory=list, max_length=6)
    diversion_assessment: DiversionAssessmentIn | None = None
    income_benefits: IncomeBenefitsIn | None = Field(
        default=None, description="4.02-4.04 of the enrollment's client at this stage."
    )
    domestic_violence: DomesticViolenceIn | None = Field(
        default=None, description="4.11 of the enrollment's client (an update, stage 2)."
    )

    @field_validator("data_collection_stage")
    @classmethod
    def _update_or_annual(cls, value: int) -> int:
        if value not in (2, 5):
            raise ValueError("must be 2 (update) or 5 (annual assessment)")
        return value


# --- reads -------------------------------------------------------------------------------------


class ExitRead(ReadModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    exit_date: date
    destination: LivingSituation
    destination_subsidy_type: RentalSubsidyType | None
    other_destination: str | None
    exit_reason: str
    created_at: datetime


class CaseAssignmentRead(ReadModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    client_id: uuid.UUID
    user_id: uuid.UUID
    organization_id: uuid.UUID
    start_date: date
    end_date: date | None
    status: CaseAssignmentStatus
    version: int


class QueueEntryRead(ReadModel):
    id: uuid.UUID
    household_id: uuid.UUID
    head_client_id: uuid.UUID
    head_enrollment_id: uuid.UUID
    intake_status: IntakeStatus
    placed_on: date
    closed_at: datetime | None
    closed_reason: str | None
    version: int


class EnrollmentRead(ReadModel):
    id: uuid.UUID
    client_id: uuid.UUID
    project_id: uuid.UUID
    is_coordinated_entry: bool
    household_id: uuid.UUID
    household_group_id: uuid.UUID = Field(description="HUD HouseholdID (the head's enrollment).")
    relationship_to_hoh: RelationshipToHoH
    entry_date: date
    enrollment_coc: str
    disabling_condition: YesNoReasons
    living_situation: LivingSituation | None
    rental_subsidy_type: RentalSubsidyType | None
    length_of_stay: LengthOfStay | None
    los_under_threshold: YesNo | None
    previous_street_essh: YesNo | None
    date_to_street_essh: date | None
    times_homeless_past_three_years: TimesHomeless | None
    months_homeless_past_three_years: MonthsHomeless | None
    translation_needed: YesNoReasons | None
    preferred_language: int | None
    preferred_language_different: str | None
    move_in_date: date | None
    outcome: Outcome
    exit_date: date | None
    voided_at: datetime | None = Field(
        default=None,
        description="Set when a CAS or system admin voided the enrollment (recorded in error).",
    )
    void_reason: str | None = None
    exit: ExitRead | None
    case_assignments: list[CaseAssignmentRead]
    queue_entry: QueueEntryRead | None = Field(
        description="The household's queue entry (open, or the last one) when placed."
    )
    last_contact_at: datetime | None = Field(description="Latest CLS, assessment or service.")
    inactive: bool = Field(description="No contact for 90 days (the client stays enrolled).")
    version: int
    created_at: datetime
    updated_at: datetime


class IntakeRead(ReadModel):
    outcome: Outcome
    client: ClientRead
    possible_duplicates: list[DuplicateCandidate]
    enrollment: EnrollmentRead = Field(description="The client's CE enrollment.")
    household_enrollments: list[EnrollmentRead] = Field(
        description="Every enrollment of this intake (one per enrolled household member)."
    )
    household_id: uuid.UUID
    assessment_id: uuid.UUID = Field(description="The intake's workflow assessment.")
    queue_entry: QueueEntryRead | None
    exit: ExitRead | None


class AssessmentRead(ReadModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    data_collection_stage: DataCollectionStage
    assessment_date: date
    ready_for_outcome: bool | None
    outcome_before: Outcome | None
    outcome: Outcome | None
    created_by_user_id: uuid.UUID | None
    created_at: datetime


class AssessmentResult(ReadModel):
    assessment: AssessmentRead
    enrollment: EnrollmentRead
    queue_entry: QueueEntryRead | None
    exit: ExitRead | None


# --- enrollments and individual resources ------------------------------------------------------


class EnrollmentCreate(CEWriteModel):
    """Enroll a household's members into a project (the CoC's CE project by default)."""

    client_id: uuid.UUID
    project_id: uuid.UUID | None = Field(default=None, description="Default: the CE project.")
    household_id: uuid.UUID | None = Field(
        default=None, description="Default: a new household of the client alone."
    )
    family_members: list[FamilyMemberIn] = Field(default_factory=list, max_length=20)
    relationship_to_hoh: Relationship | None = None
    entry_date: RecordDate | None = None
    case_manager_user_id: uuid.UUID | None = None
    disabling_condition: YesNoReasons = 99
    prior_living_situation: PriorLivingSituationIn | None = None
    translation: TranslationIn | None = None


class EnrollmentUpdate(CEWriteModel):
    """Edit the entry: changing entry_date moves the entry-stage records' dates with it."""

    NOT_NULL = ("entry_date", "disabling_condition")

    entry_date: RecordDate | None = None
    disabling_condition: YesNoReasons | None = None
    prior_living_situation: PriorLivingSituationIn | None = None
    translation: TranslationIn | None = None
    move_in_date: RecordDate | None = None


class ExitCreate(CEWriteModel):
    exit_date: RecordDate
    destination: LivingSituation = Field(description="3.12.1 except 335, 336, 37.", examples=[410])
    destination_subsidy_type: RentalSubsidyType | None = Field(default=None, description="3.12.A")
    other_destination: str | None = Field(default=None, max_length=50)
    exit_reason: ExitReason
    current_living_situation: CurrentLivingSituationIn | None = Field(
        default=None, description="The living situation at exit (recorded as a contact)."
    )
    income_benefits: IncomeBenefitsIn | None = Field(
        default=None, description="4.02-4.04 at exit (stage 3) of this enrollment's client."
    )


class CaseAssignmentCreate(CEWriteModel):
    user_id: uuid.UUID = Field(description="A user of the acting or the CAS organization.")
    start_date: RecordDate | None = Field(default=None, description="Defaults to today.")
    end_date: RecordDate | None = None


class CaseAssignmentEnd(CEWriteModel):
    end_date: RecordDate | None = Field(default=None, description="Defaults to today.")


class CurrentLivingSituationRead(ReadModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    client_id: uuid.UUID
    assessment_id: uuid.UUID | None
    information_date: date
    current_living_situation: LivingSituation
    cls_subsidy_type: RentalSubsidyType | None
    verified_by: str | None
    leave_situation_14_days: YesNoReasons | None
    subsequent_residence: YesNoReasons | None
    resources_to_obtain: YesNoReasons | None
    lease_own_60_day: YesNoReasons | None
    moved_two_or_more: YesNoReasons | None
    location_details: str | None
    created_at: datetime


class ServiceCreate(CEWriteModel):
    service_type: DiversionService
    date_provided: RecordDate


class ServiceRead(ReadModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    client_id: uuid.UUID
    date_provided: date
    service_type: DiversionService
    created_at: datetime


class CaseNoteCreate(CEWriteModel):
    note_date: RecordDate
    note: str = Field(min_length=1, max_length=10000)
    service_id: uuid.UUID | None = None


class CaseNoteRead(ReadModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    note_date: date
    note: str
    service_id: uuid.UUID | None
    created_by_user_id: uuid.UUID | None
    created_at: datetime


class CeEventCreate(CEWriteModel):
    """4.20: the result fields must belong to the event type (2 -> prob_sol_div_rr_result;
    5 -> referral_case_manage_after; 10-15, 17, 18 -> referral_result, result_date,
    location_crisis_or_ph_housing)."""

    event_date: RecordDate
    event: CeEventType = Field(description="4.20.2", examples=[2])
    prob_sol_div_rr_result: YesNo | None = None
    referral_case_manage_after: YesNo | None = None
    location_crisis_or_ph_housing: str | None = Field(default=None, max_length=250)
    referral_result: ReferralResult | None = None
    result_date: RecordDate | None = None


class CeEventRead(ReadModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    client_id: uuid.UUID
    event_date: date
    event: CeEventType
    prob_sol_div_rr_result: YesNo | None
    referral_case_manage_after: YesNo | None
    location_crisis_or_ph_housing: str | None
    referral_result: ReferralResult | None
    result_date: date | None
    created_at: datetime


class CeAssessmentCreate(CEWriteModel):
    assessment_date: RecordDate
    assessment_location: str = Field(min_length=1, max_length=250)
    assessment_type: CeAssessmentType
    assessment_level: CeAssessmentLevel
    prioritization_status: PrioritizationStatus


class CeAssessmentRead(ReadModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    client_id: uuid.UUID
    assessment_id: uuid.UUID | None
    assessment_date: date
    assessment_location: str
    assessment_type: CeAssessmentType
    assessment_level: CeAssessmentLevel
    prioritization_status: PrioritizationStatus
    created_at: datetime


class DisabilityRead(ReadModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    information_date: date
    disability_type: DisabilityType
    disability_response: DisabilityResponse
    indefinite_and_impairs: YesNoReasons | None
    data_collection_stage: DataCollectionStage


class DisabilitiesCreate(CEWriteModel):
    information_date: RecordDate
    data_collection_stage: DataCollectionStage = Field(default=2, description="1, 2, 3 or 5.")
    barriers: list[BarrierIn] = Field(min_length=1, max_length=6)

    @field_validator("data_collection_stage")
    @classmethod
    def _recorded_stage(cls, value: int) -> int:
        if value not in (1, 2, 3, 5):
            raise ValueError("must be 1, 2, 3 or 5 (6 is not used)")
        return value


class DiversionAssessmentRead(ReadModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    assessment_date: date
    housing_crisis_onset: date | None
    last_stable_housing_date: date | None
    assistance_needed: str | None
    created_at: datetime


class HousingNeedsRead(ReadModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    assessment_date: date
    sex_offender_registry: YesNoReasons
    meth_manufacturing_conviction: YesNoReasons
    behavioral_health_interest: YesNoReasons
    hud_vash_eligible: YesNoReasons | None
    violence_trauma_or_unsafe: YesNoReasons
    created_at: datetime


class AreaTieRead(ReadModel):
    id: uuid.UUID
    client_id: uuid.UUID
    tie_date: date
    area: str
    how: str
    enrollment_id: uuid.UUID | None
    created_at: datetime


class LatestValues(ReadModel):
    """The latest recorded answers, to prefill an update assessment ("default last
    assessment"). Always confirm them with the client."""

    enrollment_id: uuid.UUID
    disabling_condition: YesNoReasons
    prior_living_situation: PriorLivingSituationIn | None
    translation: TranslationIn | None
    barriers: list[DisabilityRead]
    current_living_situation: CurrentLivingSituationRead | None
    diversion_assessment: DiversionAssessmentRead | None
    housing_needs: HousingNeedsRead | None
    income_benefits: IncomeBenefitsRead | None = None
    domestic_violence: DomesticViolenceRead | None = Field(
        default=None,
        description="Only for admins, the CAS organization and the enrolling organization.",
    )
    area_ties: list[AreaTieRead]
    last_assessment: AssessmentRead | None


class EnrollmentVoid(CEWriteModel):
    reason: str = Field(
        min_length=3,
        max_length=500,
        description="Why the enrollment is void (e.g. 'intake recorded for the wrong client').",
    )


# Area ties recorded outside the intake (no docstring: it would become the schema's description).
class AreaTiesCreate(WriteModel):
    area_ties: list[AreaTieIn] = Field(min_length=1, max_length=50)


class AreaTieOptionIn(CEWriteModel):
    code: str = Field(pattern=r"^[a-z0-9_]{1,50}$")
    label: str = Field(min_length=1, max_length=200)


class AreaTieOptionsUpdate(CEWriteModel):
    areas: list[AreaTieOptionIn] = Field(min_length=1, max_length=200)
    how: list[AreaTieOptionIn] = Field(min_length=1, max_length=50)


class AreaTieOptionRead(ReadModel):
    code: str
    label: str


class AreaTieOptionsRead(ReadModel):
    areas: list[AreaTieOptionRead]
    how: list[AreaTieOptionRead]
    configured: bool = Field(description="False while the CoC uses the built-in default lists.")
