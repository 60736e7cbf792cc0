"""Who is acting, for which organization, in which request: passed from routers to services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.permissions import ADMIN_ROLES, Permission, Role


@dataclass(frozen=True)
class ActingOrganization:
    id: uuid.UUID
    coc_id: uuid.UUID
    name: str
    kind: str
    victim_service_provider: bool
    access_point: bool
    housing_provider: bool
    veteran_services: bool
    time_zone: str  # the CoC's IANA time zone: ``app.clock.today(actor)``

    @property
    def is_cas(self) -> bool:
        return self.kind == "cas"


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    email: str
    full_name: str
    organization: ActingOrganization
    role: Role
    permissions: frozenset[Permission]
    session_id: uuid.UUID
    request_id: str | None = None
    ip_address: str | None = None

    @property
    def organization_id(self) -> uuid.UUID:
        return self.organization.id

    @property
    def coc_id(self) -> uuid.UUID:
        return self.organization.coc_id

    @property
    def time_zone(self) -> str:
        return self.organization.time_zone

    @property
    def is_admin(self) -> bool:
        """system_admin and cas_admin see everything in their CoC."""
        return self.role in ADMIN_ROLES

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class RequestMeta:
    """Request facts for the audit trail when there is no authenticated actor (login, reset)."""

    request_id: str | None = None
    ip_address: str | None = None
