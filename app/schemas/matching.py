"""Housing inventory, eligibility requirements, candidates and matches (DOMAIN 8 and 9)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from app.reference.matching import (
    CancelReason,
    DeclineReason,
    MatchStatus,
    OfflineReason,
    ParkReason,
    Polarity,
    ProviderResult,
    RequirementKind,
    StallReason,
    StallState,
    UnitEventKind,
    UnitStatus,
)
from app.schemas.codes import (
    CeEventType,
    FundingSource,
    LivingSituation,
    ProjectType,
    ReferralResult,
    RentalSubsidyType,
)
from app.schemas.common import JsonDecimal, ReadModel, RecordDate, WriteModel
from app.schemas.queue import PriorityRead

Note = Field(default=None, max_length=2000, description="Free text (no PII expected).")

# --- inventory --------------------------------------------------------------------------------


class UnitCreate(WriteModel):
    label: str = Field(min_length=1, max_length=100, description="Unit name or number.")
    bedrooms: int = Field(ge=0, le=20, description="0 for a studio / single room.")


class UnitUpdate(WriteModel):
    NOT_NULL = ("label", "bedrooms")

    label: str | None = Field(default=None, min_length=1, max_length=100)
    bedrooms: int | None = Field(default=None, ge=0, le=20)


class UnitRead(ReadModel):
    id: uuid.UUID
    project_id: uuid.UUID
    label: str
    bedrooms: int
    status: UnitStatus = Field(description="Moved only by the unit's events.")
    offline_reason: OfflineReason | None
    occupant_client_id: uuid.UUID | None = Field(
        description="The checked-in client; shown to the project's organization and admins."
    )
    status_changed_at: datetime
    active_match_id: uuid.UUID | None = Field(
        description="The unit's active (not over-referred) match, if any."
    )
    version: int


class CheckIn(WriteModel):
    client_id: uuid.UUID = Field(description="The client moving in (visible to you).")
    note: str | None = Note


class Reservation(WriteModel):
    """Hold the unit for a client not referred through CAS."""

    client_id: uuid.UUID | None = Field(
        default=None, description="The client the unit is held for, when on record."
    )
    note: str | None = Note


class TakeOffline(WriteModel):
    reason: OfflineReason
    note: str | None = Field(
        default=None, max_length=2000, description="Required with reason `other`."
    )


class UnitEventNote(WriteModel):
    note: str | None = Note


class UnitEventRead(ReadModel):
    id: uuid.UUID
    unit_id: uuid.UUID
    kind: UnitEventKind
    from_status: UnitStatus | None
    to_status: UnitStatus
    client_id: uuid.UUID | None = Field(
        description="The client; shown to the project's organization and admins."
    )
    match_id: uuid.UUID | None
    reason: str | None
    note: str | None = Field(description="Shown to the project's organization and admins.")
    actor_user_id: uuid.UUID | None
    acting_organization_id: uuid.UUID | None
    created_at: datetime


# --- project matching profile and requirements -------------------------------------------------


class RequirementIn(WriteModel):
    kind: RequirementKind
    polarity: Polarity = Polarity.MUST
    area: str | None = Field(
        default=None, max_length=50, description="`area_tie` only: a code of the CoC's area list."
    )
    min_value: JsonDecimal | None = Field(
        default=None, ge=0, le=99_999_999, description="`household_size`: fewest people."
    )
    max_value: JsonDecimal | None = Field(
        default=None,
        ge=0,
        le=99_999_999,
        description="`household_size`: most people; `income_ceiling`: monthly dollars.",
    )


class RequirementRead(ReadModel):
    id: uuid.UUID
    kind: RequirementKind
    polarity: Polarity
    area: str | None
    min_value: JsonDecimal | None
    max_value: JsonDecimal | None


class MatchingProfileUpdate(WriteModel):
    """The whole profile: what is sent replaces what was there."""

    funding_sources: list[FundingSource] = Field(default_factory=list, max_length=20)
    referrals_through_cas: bool
    stall_after_days: int | None = Field(
        default=None, ge=1, le=365, description="Overrides the CoC's policy; null: the CoC's."
    )
    requirements: list[RequirementIn] = Field(default_factory=list, max_length=30)


class MatchingProfileRead(ReadModel):
    project_id: uuid.UUID
    project_type: ProjectType
    funding_sources: list[FundingSource]
    referrals_through_cas: bool
    ehv: bool = Field(description="An Emergency Housing Voucher program (funding source 52).")
    referral_event: CeEventType | None = Field(
        description="HUD 4.20 event a match to this project records."
    )
    stall_after_days: int | None
    effective_stall_after_days: int
    requirements: list[RequirementRead]
    active_over_referrals: int = Field(description="Active over-referred matches (counted).")
    version: int


class MatchingPolicyUpdate(WriteModel):
    stall_after_days: int = Field(ge=1, le=365)
    warn_days_before: int = Field(ge=0, le=364)


class MatchingPolicyRead(ReadModel):
    stall_after_days: int
    warn_days_before: int
    version: int


# --- candidates and eligibility ----------------------------------------------------------------


class CandidateRead(ReadModel):
    queue_entry_id: uuid.UUID
    head_client_id: uuid.UUID
    household_id: uuid.UUID
    rank: int = Field(description="Position on the CoC's queue (1 = first).")
    priority_key: list[int]
    priority: PriorityRead = Field(
        description="The queue's why: rank, each key of the CoC's scheme with the household's "
        "value, the tie-breaker."
    )
    score: int | None
    chronic: bool
    days_homeless_3y: int
    placed_on: date
    veteran: bool
    family_with_children: bool
    youth: bool
    household_size: int


class RequirementCheck(ReadModel):
    requirement_id: uuid.UUID | None = Field(
        description="null for a built-in rule (an EHV program's area tie)."
    )
    kind: RequirementKind
    polarity: Polarity
    passed: bool
    value: str | None = Field(description="The data the check read (null: none recorded).")
    area: str | None
    min_value: JsonDecimal | None
    max_value: JsonDecimal | None


class EligibilityRead(ReadModel):
    unit_id: uuid.UUID
    project_id: uuid.UUID
    client_id: uuid.UUID
    queue_entry_id: uuid.UUID | None = Field(description="The client's open queue entry.")
    eligible: bool = Field(description="Every requirement passes and nothing below blocks.")
    requirements: list[RequirementCheck]
    on_queue: bool
    approved: bool
    parked: bool
    parked_until: date | None
    in_active_match: bool
    active_match_id: uuid.UUID | None
    declined_for_project: bool
    rank: int | None


# --- matches ----------------------------------------------------------------------------------


class MatchCreate(WriteModel):
    unit_id: uuid.UUID
    queue_entry_id: uuid.UUID
    over_referral: bool = Field(
        default=False,
        description="Refer to a unit that is not free (a unit will open soon); counted.",
    )
    note: str | None = Note


class MatchRead(ReadModel):
    id: uuid.UUID
    unit_id: uuid.UUID
    project_id: uuid.UUID
    organization_id: uuid.UUID
    queue_entry_id: uuid.UUID
    head_client_id: uuid.UUID
    ce_enrollment_id: uuid.UUID
    status: MatchStatus
    is_ehv: bool
    over_referral: bool
    note: str | None
    sent_at: datetime
    sent_on: date
    responded_at: datetime | None
    closed_at: datetime | None
    stall: StallState
    stall_due_at: datetime | None = Field(description="When a waiting match stalls.")
    referral_event_id: uuid.UUID | None
    referral_event: CeEventType | None
    provider_result: ProviderResult | None
    referral_result: ReferralResult | None = Field(description="HUD 4.20.D (1, 2, 3).")
    result_date: date | None
    program_enrollment_id: uuid.UUID | None
    decline_reason: DeclineReason | None
    decline_explanation: str | None
    park_reason: ParkReason | None
    park_explanation: str | None
    parked_until: date | None
    cancel_reason: CancelReason | None
    cancel_explanation: str | None
    voucher_issued_on: date | None
    rfta_submitted_on: date | None
    ehv_case_manager_organization_id: uuid.UUID | None
    ehv_case_manager_user_id: uuid.UUID | None
    ce_exit_flagged_at: datetime | None
    ce_exit_destination: LivingSituation | None
    ce_exit_subsidy_type: RentalSubsidyType | None
    version: int


class MatchEventRead(ReadModel):
    id: uuid.UUID
    match_id: uuid.UUID
    change: str
    from_status: MatchStatus | None
    to_status: MatchStatus
    note: str | None
    data: dict[str, str | int | bool | None]
    actor_user_id: uuid.UUID | None
    acting_organization_id: uuid.UUID | None
    created_at: datetime


class MatchAccept(WriteModel):
    """Accept and start the program intake: the head of household's program enrollment."""

    entry_date: RecordDate | None = Field(default=None, description="Default: today.")
    note: str | None = Note


class MatchDecline(WriteModel):
    reason: DeclineReason
    explanation: str | None = Field(
        default=None, max_length=2000, description="Required with reason `other`."
    )


class MatchPark(WriteModel):
    reason: ParkReason
    parked_until: RecordDate | None = Field(
        default=None,
        description="Natural end date (required for short_incarceration); blank for indefinite "
        "reasons; default 30 days for disengaged. Not in the past, at most a year ahead.",
    )
    explanation: str | None = Field(
        default=None, max_length=2000, description="Required with reason `other`."
    )


class MatchCancel(WriteModel):
    reason: CancelReason
    explanation: str | None = Field(
        default=None, max_length=2000, description="Required with reason `other`."
    )


class MatchOutcome(WriteModel):
    provider_result: ProviderResult
    result_date: RecordDate | None = Field(default=None, description="Default: today.")
    note: str | None = Note


class MatchResult(WriteModel):
    """Reject / no show."""

    result_date: RecordDate | None = Field(default=None, description="Default: today.")
    note: str | None = Note


class MatchNote(WriteModel):
    note: str | None = Note


class VoucherIssued(WriteModel):
    issued_on: RecordDate
    note: str | None = Note


class RftaSubmitted(WriteModel):
    submitted_on: RecordDate
    note: str | None = Note


class EhvCaseManagerAssign(WriteModel):
    organization_id: uuid.UUID = Field(description="The EHV case-manager agency.")
    user_id: uuid.UUID = Field(description="The agency's contact (a member of it).")
    note: str | None = Note


class StallResponseCreate(WriteModel):
    engaging: bool
    reason: StallReason
    client_last_seen_on: RecordDate | None = Field(
        default=None, description="Default: the match date (never contacted)."
    )
    note: str | None = Field(
        default=None, max_length=2000, description="Required with reason `other`."
    )


class StallResponseRead(ReadModel):
    id: uuid.UUID
    match_id: uuid.UUID
    engaging: bool
    reason: StallReason
    client_last_seen_on: date
    note: str | None
    responded_by_user_id: uuid.UUID | None
    created_at: datetime
