"""Coordinated Entry projects (HUD ProjectType 14) belong to the CoC's CAS organization and are
created or changed only by system and CAS admins; enrolling into another organization's project
is never allowed just because its type is 14 -- only the CoC's CE project is open to every
agency."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Membership, Project
from tests.api.test_clients import count
from tests.conftest import Auth, World, assert_problem
from tests.support.access import give_roi, new_client
from tests.support.intake import counts

PROJECTS = "/api/v1/projects"


def _project(org: uuid.UUID, project_type: int = 14) -> dict[str, object]:
    return {
        "organization_id": str(org),
        "name": "Rogue Coordinated Entry",
        "project_type": project_type,
        "operating_start_date": "2024-01-01",
    }


async def test_only_the_cas_organization_owns_ce_projects(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    agency_admin = await auth.headers("agency_admin", org="access_point_1")
    system_admin = await auth.headers("system_admin")
    before = await count(db, Project)
    for headers in (agency_admin, system_admin):
        r = await client.post(
            PROJECTS, headers=headers, json=_project(world.org_id("access_point_1"))
        )
        problem = assert_problem(r, 422, "validation-error")
        assert problem["errors"][0]["loc"] == ["body", "project_type"]
    # Turning an agency's project into a CE project is refused the same way.
    own = await client.post(
        PROJECTS, headers=agency_admin, json=_project(world.org_id("access_point_1"), 1)
    )
    assert own.status_code == 201, own.text
    r = await client.patch(
        f"{PROJECTS}/{own.json()['id']}", headers=agency_admin, json={"project_type": 14}
    )
    assert_problem(r, 422, "validation-error")
    assert await count(db, Project) == before + 1
    r = await client.get(f"{PROJECTS}/{own.json()['id']}", headers=agency_admin)
    assert r.json()["project_type"] == 1


async def test_only_system_and_cas_admins_create_or_change_ce_projects(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    cas_org = world.org_id("cas")
    # An agency admin acting for the CAS organization manages its other projects, not CE ones.
    db.add(
        Membership(
            user_id=world.home.users["agency_admin"].id,
            organization_id=cas_org,
            role="agency_admin",
        )
    )
    await db.flush()
    cas_agency_admin = await auth.headers("agency_admin", org="cas")
    before = await count(db, Project)
    assert_problem(
        await client.post(PROJECTS, headers=cas_agency_admin, json=_project(cas_org)), 403
    )
    ce = f"{PROJECTS}/{world.project_id('ce')}"
    for change in ({"name": "Mine now"}, {"project_type": 1}):
        assert_problem(await client.patch(ce, headers=cas_agency_admin, json=change), 403)
    assert await count(db, Project) == before
    r = await client.get(ce, headers=cas_agency_admin)
    assert r.json()["project_type"] == 14 and r.json()["name"] != "Mine now"
    other = await client.post(
        PROJECTS, headers=cas_agency_admin, json=_project(cas_org, 1) | {"name": "CAS Outreach"}
    )
    assert other.status_code == 201, other.text

    for user in ("cas_admin", "system_admin"):
        headers = await auth.headers(user, org="cas" if user == "cas_admin" else None)
        r = await client.post(PROJECTS, headers=headers, json=_project(cas_org) | {"name": user})
        assert r.status_code == 201, r.text
        assert r.json()["project_type"] == 14
        r = await client.patch(ce, headers=headers, json={"name": f"Coordinated Entry ({user})"})
        assert r.status_code == 200, r.text


async def test_another_organizations_type_14_project_is_not_open_to_enrollment(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """A type-14 project that is not the CoC's CE project (made before this rule existed) is
    enrolled into only by its own organization: another agency may not use it to gain access
    to clients."""
    rogue = uuid.uuid4()
    await db.execute(
        text(
            "INSERT INTO projects (id, organization_id, name, project_type, "
            "referrals_through_cas, operating_start_date, version, created_at, updated_at) "
            "VALUES (:id, :org, 'Rogue CE', 14, false, '2024-01-01', 1, now(), now())"
        ),
        {"id": rogue, "org": world.org_id("access_point_2")},
    )
    bridge = await auth.headers("case_manager", org="access_point_1")
    person = await new_client(client, bridge, "Rita", "Rogue")
    await give_roi(db, person)
    harbor = await auth.headers("case_manager2", org="access_point_2")
    before = await counts(db)
    r = await client.post(
        "/api/v1/enrollments",
        json={
            "client_id": person,
            "project_id": str(rogue),
            "prior_living_situation": {"living_situation": 99},
        },
        headers=bridge,
    )
    assert_problem(r, 403, "forbidden")
    assert await counts(db) == before
    # The CoC's CE project stays open to every agency.
    theirs = await new_client(client, harbor, "Hal", "Harbor")
    await give_roi(db, theirs)
    r = await client.post(
        "/api/v1/enrollments",
        json={"client_id": theirs, "prior_living_situation": {"living_situation": 99}},
        headers=bridge,
    )
    assert r.status_code == 201, r.text
    assert r.json()["project_id"] == str(world.project_id("ce"))
