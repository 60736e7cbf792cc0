"""Actors for unit tests of domain rules (no database, no token)."""

from __future__ import annotations

import uuid

from app.context import ActingOrganization, Actor
from app.permissions import Role, permissions_for

COC = uuid.UUID("00000000-0000-4000-8000-000000000001")


def make_actor(
    role: Role = Role.CASE_MANAGER,
    org: uuid.UUID | None = None,
    *,
    coc: uuid.UUID = COC,
    kind: str = "agency",
    vsp: bool = False,
    veteran_services: bool = False,
    org_name: str = "Org",
    user_id: uuid.UUID | None = None,
) -> Actor:
    """An actor of ``role`` acting for organization ``org`` (a new one by default)."""
    return Actor(
        user_id=user_id or uuid.uuid4(),
        email="someone@example.org",
        full_name="Someone",
        organization=ActingOrganization(
            id=org or uuid.uuid4(),
            coc_id=coc,
            name=org_name,
            kind=kind,
            victim_service_provider=vsp,
            access_point=True,
            housing_provider=False,
            veteran_services=veteran_services,
            time_zone="America/Chicago",
        ),
        role=role,
        permissions=permissions_for(role),
        session_id=uuid.uuid4(),
    )
