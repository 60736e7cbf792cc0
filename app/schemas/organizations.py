from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import Field, field_validator
from typing_extensions import TypeAliasType

from app.clock import DEFAULT_TIME_ZONE, check_time_zone
from app.schemas.codes import FundingSource, ProjectType
from app.schemas.common import ReadModel, RecordDate, WriteModel

CocCode = Field(
    pattern=r"^[A-Z]{2}-[0-9]{3}$",
    examples=["TX-600"],
    description="HUD CoC code, two letters, a dash, three digits.",
)
GEOCODE_DESCRIPTION = (
    "HUD 2.03.2 Geocode of the project's principal location (six digits); HMIS CSV exports "
    "need it (ProjectCoC.csv)."
)
GEOCODE = Field(
    default=None, pattern=r"^[0-9]{6}$", examples=["481138"], description=GEOCODE_DESCRIPTION
)
OrgKind = TypeAliasType("OrgKind", Literal["hmis_lead", "agency", "cas"])
TIME_ZONE_DESCRIPTION = (
    'IANA time zone of the CoC (e.g. America/Chicago). Its date is the CoC\'s "today": dates '
    'that default to today and every "not in the future" or "expired" check use it.'
)


class _TimeZone(WriteModel):
    @field_validator("time_zone", check_fields=False)
    @classmethod
    def _time_zone(cls, v: str | None) -> str:
        if v is None:  # only when sent as null: leaving it out keeps the zone
            raise ValueError("time_zone cannot be null")
        return check_time_zone(v)


class CocCreate(_TimeZone):
    code: str = CocCode
    name: str = Field(min_length=1, max_length=200)
    hmis_lead_name: str = Field(
        min_length=1, max_length=200, description="Name of the CoC's HMIS lead organization."
    )
    time_zone: str = Field(
        default=DEFAULT_TIME_ZONE,
        max_length=64,
        examples=[DEFAULT_TIME_ZONE],
        description=TIME_ZONE_DESCRIPTION,
    )


class CocUpdate(_TimeZone):
    NOT_NULL = ("name", "time_zone")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = Field(
        default=None, max_length=64, examples=[DEFAULT_TIME_ZONE], description=TIME_ZONE_DESCRIPTION
    )


class CocRead(ReadModel):
    id: uuid.UUID
    code: str
    name: str
    time_zone: str = Field(description=TIME_ZONE_DESCRIPTION)
    version: int
    created_at: datetime
    updated_at: datetime


class OrganizationCreate(WriteModel):
    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind = "agency"
    victim_service_provider: bool = False
    access_point: bool = False
    housing_provider: bool = False
    veteran_services: bool = False


class OrganizationUpdate(WriteModel):
    NOT_NULL = (
        "name",
        "victim_service_provider",
        "access_point",
        "housing_provider",
        "veteran_services",
        "is_active",
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    victim_service_provider: bool | None = None
    access_point: bool | None = None
    housing_provider: bool | None = None
    veteran_services: bool | None = None
    is_active: bool | None = None


class AccessPointApproval(WriteModel):
    access_point: bool = Field(
        description="true: an approved Access Point (its users run the CAS & Diversion Intake); "
        "false: the approval is withdrawn."
    )


class OrganizationRead(ReadModel):
    id: uuid.UUID
    coc_id: uuid.UUID
    name: str
    kind: OrgKind
    victim_service_provider: bool
    access_point: bool
    housing_provider: bool
    veteran_services: bool
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class ProjectCreate(WriteModel):
    organization_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    project_type: ProjectType = Field(description="14 = Coordinated Entry.")
    funding_source: FundingSource | None = Field(default=None, description="HUD Funder.")
    referrals_through_cas: bool = Field(
        default=False, description="Referrals to this project must come through CAS."
    )
    operating_start_date: RecordDate
    operating_end_date: RecordDate | None = None
    geocode: str | None = GEOCODE


class ProjectUpdate(WriteModel):
    NOT_NULL = ("name", "project_type", "referrals_through_cas", "operating_start_date")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    project_type: ProjectType | None = None
    funding_source: FundingSource | None = None
    referrals_through_cas: bool | None = None
    operating_start_date: RecordDate | None = None
    operating_end_date: RecordDate | None = None
    geocode: str | None = GEOCODE


class ProjectRead(ReadModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    project_type: ProjectType
    funding_source: FundingSource | None
    referrals_through_cas: bool
    operating_start_date: date
    operating_end_date: date | None
    geocode: str | None = Field(description=GEOCODE_DESCRIPTION)
    version: int
    created_at: datetime
    updated_at: datetime
