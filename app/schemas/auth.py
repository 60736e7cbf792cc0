from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.permissions import Role
from app.schemas.common import WriteModel
from app.schemas.organizations import OrgKind


class LoginRequest(WriteModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)
    organization_id: uuid.UUID | None = Field(
        default=None, description="Organization to act for; defaults to the first membership."
    )


class RefreshRequest(WriteModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class SwitchOrganizationRequest(WriteModel):
    organization_id: uuid.UUID


class TokenResponse(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Access token lifetime in seconds.")
    organization_id: uuid.UUID


class PasswordResetRequest(WriteModel):
    email: EmailStr


class PasswordResetConfirm(WriteModel):
    token: str = Field(min_length=1, max_length=512)
    new_password: str = Field(min_length=1, max_length=1024)


class InvitationAccept(WriteModel):
    token: str = Field(min_length=1, max_length=512)
    password: str = Field(min_length=1, max_length=1024)


class Accepted(BaseModel):
    detail: str


class OrganizationBrief(BaseModel):
    id: uuid.UUID
    name: str
    kind: OrgKind
    coc_id: uuid.UUID
    victim_service_provider: bool
    access_point: bool
    housing_provider: bool
    veteran_services: bool


class MembershipBrief(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    role: Role


class MeUser(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str


class MeResponse(BaseModel):
    user: MeUser
    organization: OrganizationBrief
    role: Role
    permissions: list[str]
    memberships: list[MembershipBrief] = Field(description="Other organizations you may switch to.")
