"""Clients (HUD FY2026 Universal Data Elements), find-client, duplicates, merge, households.

Single-field rules (code lists, formats, date ranges) are checked here; rules that relate several
fields (data quality against the value, RaceNone against the race flags, ROI dates) are checked
by ``app.services.clients.core`` on the merged record, so a PATCH is validated like a create.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Any

from pydantic import ConfigDict, EmailStr, Field, field_validator, model_validator

from app.reference import codes
from app.reference.clients import Gender
from app.reference.data_quality import ssn_is_sequential_or_repeated
from app.schemas.codes import (
    DobDataQuality,
    NameDataQuality,
    ReasonsMissing,
    RelationshipToHoH,
    Sex,
    SsnDataQuality,
    YesNoReasons,
)
from app.schemas.common import ReadModel, RecordDate, WriteModel

RELATIONSHIP_TO_HOH_CODES = codes("3.15.1")

RACE_FIELDS = (
    "am_ind_ak_native",
    "asian",
    "black_af_american",
    "hispanic_latinao",
    "mid_east_n_african",
    "native_hi_pacific",
    "white",
)


_SSN_CHARS = re.compile(r"^[0-9xX]{9}$")


def normalize_ssn(value: str) -> str:
    """Digits (or ``x`` for unknown digits of a partial SSN), dashes and spaces removed."""
    return value.replace("-", "").replace(" ", "").lower()


def check_full_ssn(digits: str) -> str | None:
    """Why a 9-digit SSN is impossible (SSA rules), or None when it is accepted. A repeated-digit
    or sequential SSN (``111111111``, ``123456789``) is accepted as HUD does and flagged as a
    data-quality issue (``app.reference.data_quality``)."""
    if ssn_is_sequential_or_repeated(digits):
        return None
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area == "000" or area == "666" or area.startswith("9"):
        return "SSN area number (first 3 digits) cannot be 000, 666 or 900-999"
    if group == "00":
        return "SSN group number (digits 4-5) cannot be 00"
    if serial == "0000":
        return "SSN serial number (last 4 digits) cannot be 0000"
    return None


class _ClientFields(WriteModel):
    # 3.01 Name
    first_name: str | None = Field(default=None, min_length=1, max_length=50)
    middle_name: str | None = Field(default=None, max_length=50)
    last_name: str | None = Field(default=None, min_length=1, max_length=50)
    name_suffix: str | None = Field(default=None, max_length=50)
    name_data_quality: NameDataQuality | None = Field(
        default=None, description="3.01.5; derived (1) when first and last name are given."
    )
    # 3.02 SSN
    ssn: str | None = Field(
        default=None,
        description=(
            "Nine digits (dashes allowed). A partial SSN uses `x` for unknown digits and data "
            "quality 2. Stored encrypted; responses show it masked."
        ),
        examples=["123-45-6789"],
    )
    ssn_data_quality: SsnDataQuality | None = Field(
        default=None, description="3.02.2; derived (1) when a full valid SSN is given."
    )
    # 3.03 DOB
    dob: RecordDate | None = None
    dob_data_quality: DobDataQuality | None = Field(
        default=None, description="3.03.2; derived (1) when a DOB is given (2 = approximate)."
    )
    # 3.04 Race and ethnicity
    am_ind_ak_native: bool | None = None
    asian: bool | None = None
    black_af_american: bool | None = None
    hispanic_latinao: bool | None = None
    mid_east_n_african: bool | None = None
    native_hi_pacific: bool | None = None
    white: bool | None = None
    race_none: ReasonsMissing | None = Field(
        default=None, description="1.6; only when no race is selected (99 when none is given)."
    )
    additional_race_ethnicity: str | None = Field(default=None, max_length=100)
    # 4.21 Sex and the optional FY2024 gender multi-select
    sex: Sex | None = None
    gender: list[Gender] | None = Field(default=None, max_length=7)
    gender_none: ReasonsMissing | None = Field(
        default=None, description="Only when gender is empty."
    )
    different_identity_text: str | None = Field(default=None, max_length=100)
    # 3.07 Veteran status
    veteran_status: YesNoReasons | None = Field(default=None, description="99 when not given.")
    # Contact information
    phone: str | None = Field(default=None, max_length=30, pattern=r"^[0-9+() .\-x]{7,30}$")
    email: EmailStr | None = None
    address_line1: str | None = Field(default=None, max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")
    postal_code: str | None = Field(default=None, pattern=r"^[0-9]{5}(-[0-9]{4})?$")
    # CoC-wide release of information
    roi_start_date: RecordDate | None = None
    roi_end_date: RecordDate | None = None

    @field_validator("ssn")
    @classmethod
    def _ssn(cls, v: str | None) -> str | None:
        if v is None:
            return None
        digits = normalize_ssn(v)
        if not _SSN_CHARS.match(digits):
            raise ValueError("SSN must be 9 digits (use x for unknown digits of a partial SSN)")
        if digits.isdigit():
            problem = check_full_ssn(digits)
            if problem:
                raise ValueError(problem)
        elif digits.count("x") == 9:
            raise ValueError("a partial SSN needs at least one known digit")
        return digits

    @field_validator("dob")
    @classmethod
    def _dob(cls, v: date | None) -> date | None:
        # "Not in the future" depends on the CoC's date: checked by the service (check_dob).
        if v is None:
            return None
        if v < date(1900, 1, 1):
            raise ValueError("date of birth cannot be before 1900-01-01")
        return v

    @field_validator("state")
    @classmethod
    def _state(cls, v: str | None) -> str | None:
        return v.upper() if v else v

    @field_validator("gender")
    @classmethod
    def _gender(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("each gender may be listed once")
        return v


class ClientCreate(_ClientFields):
    """A new client. Nothing is required: HUD lets every element be 'not collected'."""


class ClientUpdate(_ClientFields):
    """Changed fields only; ``null`` clears a value. Data quality is re-derived for the elements
    whose values change unless it is sent too."""


class ClientRead(ReadModel):
    id: uuid.UUID
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    name_suffix: str | None
    name_data_quality: NameDataQuality
    ssn: str | None = Field(description="Masked: `***-**-1234`. Full value: GET .../ssn.")
    ssn_data_quality: SsnDataQuality
    dob: date | None
    dob_data_quality: DobDataQuality
    am_ind_ak_native: bool
    asian: bool
    black_af_american: bool
    hispanic_latinao: bool
    mid_east_n_african: bool
    native_hi_pacific: bool
    white: bool
    race_none: ReasonsMissing | None
    additional_race_ethnicity: str | None
    sex: Sex | None
    gender: list[Gender] | None
    gender_none: ReasonsMissing | None
    different_identity_text: str | None
    veteran_status: YesNoReasons
    phone: str | None
    email: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    roi_start_date: date | None
    roi_end_date: date | None
    roi_active: bool
    last_contact_at: datetime | None
    created_by_organization_id: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime


class ClientSummary(ReadModel):
    """What a search hit or duplicate candidate shows: enough to tell people apart."""

    id: uuid.UUID
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    dob: date | None
    ssn: str | None = Field(description="Masked: `***-**-1234`.")
    veteran_status: YesNoReasons


class DuplicateCandidate(ReadModel):
    client: ClientSummary
    score: float = Field(ge=0, le=100, description="0-100; higher is a likelier match.")
    reasons: list[str] = Field(description="Why it matched, e.g. `same SSN`, `name sounds like`.")


class ClientCreated(ClientRead):
    possible_duplicates: list[DuplicateCandidate] = Field(
        description="Visible clients that may be the same person (creation never blocks)."
    )


class ClientSsnRead(ReadModel):
    client_id: uuid.UUID
    ssn: str | None = Field(description="Full SSN, formatted `123-45-6789` (partial: x digits).")
    ssn_data_quality: SsnDataQuality


# --- find client --------------------------------------------------------------------------------


class ClientSearch(WriteModel):
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        description="Free text: `First Last`, `Last, First` or one name. Typo-tolerant.",
        examples=["Jon Smyth"],
    )
    dob: RecordDate | None = None
    client_id: uuid.UUID | None = None
    ssn_last4: str | None = Field(default=None, pattern=r"^[0-9]{4}$")
    limit: int = Field(default=20, ge=1, le=100)

    @model_validator(mode="after")
    def _some_criterion(self) -> ClientSearch:
        if not (self.name or self.dob or self.client_id or self.ssn_last4):
            raise ValueError("give at least one of name, dob, client_id, ssn_last4")
        return self


class ClientSearchHit(ReadModel):
    client: ClientSummary
    score: float = Field(ge=0, le=100)
    reasons: list[str]


# --- merge --------------------------------------------------------------------------------------


class ClientMergeRequest(WriteModel):
    duplicate_client_id: uuid.UUID = Field(
        description="The record to fold into the client in the path (the survivor)."
    )


class ClientUnmergeRequest(WriteModel):
    duplicate_client_id: uuid.UUID = Field(
        description="The merged record to restore out of the client in the path."
    )


class MovedRows(ReadModel):
    table: str
    column: str
    count: int


class ClientMergeRead(ReadModel):
    id: uuid.UUID
    survivor_id: uuid.UUID
    duplicate_id: uuid.UUID
    merged_at: datetime
    merged_by_user_id: uuid.UUID | None
    unmerged_at: datetime | None
    unmerged_by_user_id: uuid.UUID | None
    moved: list[MovedRows] = Field(description="Rows re-pointed from the duplicate, per table.")
    dropped: int = Field(description="Duplicate rows dropped because the survivor had them.")


# --- history ------------------------------------------------------------------------------------


class ClientHistoryEntry(ReadModel):
    id: uuid.UUID
    occurred_at: datetime
    action: str
    client_id: uuid.UUID | None = Field(description="The record the event was about.")
    actor_user_id: uuid.UUID | None
    actor_name: str | None
    acting_organization_id: uuid.UUID | None
    changes: dict[str, Any] | None = Field(description="Changed fields; PII values redacted.")


# --- households ---------------------------------------------------------------------------------


def _relationship(v: int) -> int:
    if v not in RELATIONSHIP_TO_HOH_CODES:
        raise ValueError(
            "must be a HUD 3.15.1 RelationshipToHoH code: "
            + ", ".join(str(c) for c in sorted(RELATIONSHIP_TO_HOH_CODES))
        )
    return v


class HouseholdMemberIn(WriteModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"client_id": "5f0c2a53-8a0e-4a8e-9a55-2d1c1c7e4f10", "relationship_to_hoh": 2}
            ]
        }
    )

    client_id: uuid.UUID | None = Field(default=None, description="An existing client...")
    client: ClientCreate | None = Field(default=None, description="...or a new one.")
    relationship_to_hoh: RelationshipToHoH = Field(
        description="3.15.1: 1 self (head), 2 child, 3 spouse or "
        "partner, 4 other relation, 5 non-relation, 99"
    )

    @field_validator("relationship_to_hoh")
    @classmethod
    def _rel(cls, v: int) -> int:
        return _relationship(v)

    @model_validator(mode="after")
    def _one_client(self) -> HouseholdMemberIn:
        if (self.client_id is None) == (self.client is None):
            raise ValueError("give exactly one of client_id (existing) or client (new)")
        return self


class HouseholdCreate(WriteModel):
    members: list[HouseholdMemberIn] = Field(
        min_length=1, max_length=30, description="Exactly one member has relationship 1 (head)."
    )


class HouseholdMemberUpdate(WriteModel):
    relationship_to_hoh: RelationshipToHoH
    previous_head_relationship_to_hoh: RelationshipToHoH | None = Field(
        default=None,
        description=(
            "When making this member the head, the current head's new relationship (2-99)."
        ),
    )

    @field_validator("relationship_to_hoh")
    @classmethod
    def _rel(cls, v: int) -> int:
        return _relationship(v)

    @field_validator("previous_head_relationship_to_hoh")
    @classmethod
    def _prev(cls, v: int | None) -> int | None:
        if v is None:
            return None
        if v == 1:
            raise ValueError("the previous head cannot stay head (a household has one head)")
        return _relationship(v)


class HouseholdMemberRead(ReadModel):
    client_id: uuid.UUID
    relationship_to_hoh: RelationshipToHoH
    first_name: str | None
    last_name: str | None
    added_at: datetime


class HouseholdRead(ReadModel):
    id: uuid.UUID
    head_of_household_id: uuid.UUID | None
    members: list[HouseholdMemberRead] = Field(
        description="Members you may see (others are left out)."
    )
    created_by_organization_id: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime
