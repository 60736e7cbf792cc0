"""``can_write_enrollment``: the write rule on its own (no database)."""

from __future__ import annotations

import uuid

import pytest

from app.context import ActingOrganization, Actor
from app.permissions import Role, permissions_for
from app.services.ce.policy import EnrollmentFacts, can_write_enrollment

COC = uuid.uuid4()
OTHER_COC = uuid.uuid4()
PROJECT_ORG = uuid.uuid4()
CREATOR_ORG = uuid.uuid4()
ASSIGNED_ORG = uuid.uuid4()
CAS_ORG = uuid.uuid4()
STRANGER_ORG = uuid.uuid4()


def actor(
    org: uuid.UUID,
    role: Role = Role.CASE_MANAGER,
    *,
    coc: uuid.UUID = COC,
    kind: str = "agency",
    vsp: bool = False,
) -> Actor:
    return Actor(
        user_id=uuid.uuid4(),
        email="someone@example.org",
        full_name="Someone",
        organization=ActingOrganization(
            id=org,
            coc_id=coc,
            name="Org",
            kind=kind,
            victim_service_provider=vsp,
            access_point=True,
            housing_provider=False,
            veteran_services=False,
            time_zone="America/Chicago",
        ),
        role=role,
        permissions=permissions_for(role),
        session_id=uuid.uuid4(),
    )


def facts(*, ce: bool = True) -> EnrollmentFacts:
    return EnrollmentFacts(
        coc_id=COC,
        project_organization_id=PROJECT_ORG,
        is_coordinated_entry=ce,
        created_by_organization_id=CREATOR_ORG,
        assigned_organization_ids=frozenset({ASSIGNED_ORG}),
    )


@pytest.mark.parametrize(
    ("who", "ce", "allowed"),
    [
        (actor(PROJECT_ORG), False, True),
        (actor(CREATOR_ORG), False, True),
        (actor(ASSIGNED_ORG), False, True),
        (actor(CAS_ORG, kind="cas"), True, True),
        (actor(CAS_ORG, kind="cas"), False, False),  # the CAS organization: CE only
        (actor(STRANGER_ORG), True, False),
        (actor(STRANGER_ORG, Role.AGENCY_ADMIN), True, False),
        (actor(STRANGER_ORG, Role.CAS_ADMIN), False, True),
        (actor(STRANGER_ORG, Role.SYSTEM_ADMIN), False, True),
        # Another CoC's admin or same-id organization: never.
        (actor(STRANGER_ORG, Role.SYSTEM_ADMIN, coc=OTHER_COC), True, False),
        (actor(PROJECT_ORG, coc=OTHER_COC), True, False),
        # A victim service provider never writes identifiable client records.
        (actor(CREATOR_ORG, vsp=True), True, False),
    ],
)
def test_can_write_enrollment(who: Actor, ce: bool, allowed: bool) -> None:
    assert can_write_enrollment(who, facts(ce=ce)) is allowed
