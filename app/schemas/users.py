from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, EmailStr, Field

from app.permissions import Role
from app.schemas.common import WriteModel


class UserInvite(WriteModel):
    email: EmailStr
    full_name: str = Field(min_length=1, max_length=200)
    organization_id: uuid.UUID
    role: Role


class UserUpdate(WriteModel):
    NOT_NULL = ("full_name", "is_active")

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    is_active: bool | None = None


class MembershipCreate(WriteModel):
    organization_id: uuid.UUID
    role: Role


class MembershipRead(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    role: Role
    created_at: datetime


class FormerMembershipRead(BaseModel):
    organization_id: uuid.UUID
    organization_name: str
    role: Role
    member_since: datetime | None = Field(
        description="Unknown for memberships removed before former memberships were recorded."
    )
    removed_at: datetime


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    is_active: bool
    invitation_pending: bool
    memberships: list[MembershipRead]
    former_memberships: list[FormerMembershipRead] = Field(
        description="Removed memberships in your CoC, oldest first. An account whose last "
        "membership was removed stays visible to system admins and to admins of the "
        "organizations it left; inviting its address again gives it a membership back."
    )
    version: int
    created_at: datetime
    updated_at: datetime
