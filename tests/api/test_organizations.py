from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent, Coc, Organization, Project
from tests.conftest import Auth, World, assert_problem

ORGS = "/api/v1/organizations"
PROJECTS = "/api/v1/projects"


async def count(db: AsyncSession, model: type) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def test_system_admin_creates_and_updates_an_organization(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    admin = await auth.headers("system_admin")
    r = await client.post(
        ORGS,
        headers=admin,
        json={"name": "Northside Outreach", "access_point": True, "veteran_services": True},
    )
    assert r.status_code == 201, r.text
    org = r.json()
    assert org["coc_id"] == str(world.home.coc.id)
    assert org["kind"] == "agency" and org["access_point"] and org["veteran_services"]
    assert r.headers["etag"] == '"1"'

    r = await client.patch(
        f"{ORGS}/{org['id']}", headers={**admin, "If-Match": '"1"'}, json={"housing_provider": True}
    )
    assert r.status_code == 200, r.text
    assert r.json()["housing_provider"] is True and r.json()["version"] == 2
    assert r.headers["etag"] == '"2"'
    # A stale ETag is refused and changes nothing.
    r = await client.patch(
        f"{ORGS}/{org['id']}", headers={**admin, "If-Match": '"1"'}, json={"name": "Renamed"}
    )
    assert assert_problem(r, 412)["current_etag"] == '"2"'
    stored = await db.get(Organization, org["id"], populate_existing=True)
    assert stored is not None and stored.name == "Northside Outreach"
    actions = (
        await db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_id == stored.id)
            .order_by(AuditEvent.occurred_at)
        )
    ).all()
    assert actions == ["organization.create", "organization.update"]


async def test_only_system_admins_manage_organizations(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    before = await count(db, Organization)
    for user in ("cas_admin", "agency_admin", "case_manager", "housing_provider"):
        r = await client.post(ORGS, headers=await auth.headers(user), json={"name": "X"})
        assert_problem(r, 403)
        r = await client.patch(
            f"{ORGS}/{world.org_id('access_point_1')}",
            headers=await auth.headers(user),
            json={"name": "X"},
        )
        assert_problem(r, 403)
    assert await count(db, Organization) == before


async def test_one_cas_organization_per_coc(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    before = await count(db, Organization)
    r = await client.post(
        ORGS, headers=await auth.headers("system_admin"), json={"name": "Second CAS", "kind": "cas"}
    )
    assert_problem(r, 409)
    assert await count(db, Organization) == before


async def test_organization_bad_input(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    admin = await auth.headers("system_admin")
    before = await count(db, Organization)
    for body in (
        {"name": ""},
        {"name": "X", "kind": "club"},
        {"name": "X", "color": "red"},
        {"name": 5},
        {},
    ):
        assert_problem(await client.post(ORGS, headers=admin, json=body), 422)
    assert await count(db, Organization) == before


async def test_organizations_are_scoped_to_the_coc(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    headers = await auth.headers("case_manager")
    r = await client.get(ORGS, headers=headers, params={"limit": 200})
    names = {o["name"] for o in r.json()["items"]}
    assert "Bridge Access Point" in names and len(names) == len(world.home.orgs)
    r = await client.get(f"{ORGS}/{world.org_id('cas', coc='other')}", headers=headers)
    assert_problem(r, 404)
    r = await client.get(ORGS, headers=headers, params={"housing_provider": "true"})
    assert {o["name"] for o in r.json()["items"]} == {
        "Hope Housing Partners",
        "Veterans Home Alliance",
    }


async def test_organization_list_pages_with_a_cursor(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    headers = await auth.headers("case_manager")
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(ORGS, headers=headers, params=params)).json()
        seen += [o["name"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == len(world.home.orgs)
    assert_problem(await client.get(ORGS, headers=headers, params={"cursor": "garbage"}), 422)
    assert_problem(await client.get(ORGS, headers=headers, params={"limit": 201}), 422)


async def test_project_crud_and_codes(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    admin = await auth.headers("system_admin")
    body = {
        "organization_id": str(world.org_id("housing_1")),
        "name": "Hope EHV",
        "project_type": 9,
        "funding_source": 52,
        "referrals_through_cas": True,
        "operating_start_date": "2024-01-01",
    }
    r = await client.post(PROJECTS, headers=admin, json=body)
    assert r.status_code == 201, r.text
    project = r.json()
    assert project["project_type"] == 9 and project["referrals_through_cas"] is True
    r = await client.patch(
        f"{PROJECTS}/{project['id']}", headers=admin, json={"operating_end_date": "2023-12-31"}
    )
    assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", "operating_end_date"]

    before = await count(db, Project)
    for bad in (
        {"project_type": 5},
        {"funding_source": 47},
        {"operating_start_date": "soon"},
        {"operating_end_date": "2019-01-01"},
        {"organization_id": "not-a-uuid"},
    ):
        r = await client.post(PROJECTS, headers=admin, json=body | bad)
        assert_problem(r, 422)
    assert await count(db, Project) == before


async def test_agency_admin_manages_only_own_projects(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    agency_admin = await auth.headers("agency_admin")
    own = {
        "organization_id": str(world.org_id("access_point_1")),
        "name": "Bridge Shelter",
        "project_type": 0,
        "operating_start_date": "2024-01-01",
    }
    assert (await client.post(PROJECTS, headers=agency_admin, json=own)).status_code == 201
    before = await count(db, Project)
    other = own | {"organization_id": str(world.org_id("housing_1"))}
    assert_problem(await client.post(PROJECTS, headers=agency_admin, json=other), 403)
    r = await client.patch(
        f"{PROJECTS}/{world.project_id('h1_psh')}", headers=agency_admin, json={"name": "Mine now"}
    )
    assert_problem(r, 403)
    cm = await auth.headers("case_manager")
    assert_problem(await client.post(PROJECTS, headers=cm, json=own), 403)
    assert await count(db, Project) == before
    # Another CoC's organization is not found at all.
    foreign = own | {"organization_id": str(world.org_id("access_point_1", coc="other"))}
    assert_problem(
        await client.post(PROJECTS, headers=await auth.headers("system_admin"), json=foreign), 404
    )


async def test_projects_filter_by_type(client: httpx.AsyncClient, auth: Auth, world: World) -> None:
    r = await client.get(
        PROJECTS, headers=await auth.headers("case_manager"), params={"project_type": 14}
    )
    assert [p["id"] for p in r.json()["items"]] == [str(world.project_id("ce"))]


async def test_coc_create_makes_lead_org_and_admin(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    admin = await auth.headers("system_admin")
    r = await client.post(
        "/api/v1/cocs",
        headers=admin,
        json={"code": "TX-600", "name": "Dallas", "hmis_lead_name": "Lead"},
    )
    assert r.status_code == 201, r.text
    coc_id = r.json()["id"]
    listed = (await client.get("/api/v1/cocs", headers=admin)).json()["items"]
    assert coc_id in {c["id"] for c in listed}
    lead = await db.scalar(select(Organization).where(Organization.coc_id == coc_id))
    assert lead is not None and lead.kind == "hmis_lead"
    before = await count(db, Coc)
    for body in ({"code": "TX-600", "name": "Dup", "hmis_lead_name": "L"},):
        assert_problem(await client.post("/api/v1/cocs", headers=admin, json=body), 409)
    for body in (
        {"code": "tx-600", "name": "A", "hmis_lead_name": "L"},
        {"code": "TX600", "name": "A", "hmis_lead_name": "L"},
    ):
        assert_problem(await client.post("/api/v1/cocs", headers=admin, json=body), 422)
    assert await count(db, Coc) == before
    assert_problem(
        await client.post(
            "/api/v1/cocs",
            headers=await auth.headers("cas_admin"),
            json={"code": "TX-601", "name": "A", "hmis_lead_name": "L"},
        ),
        403,
    )


async def test_idempotent_create_replays_and_rejects_a_different_body(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    admin = await auth.headers("system_admin") | {"Idempotency-Key": "load-2026-11-21-org-1"}
    body = {"name": "Eastside Agency", "access_point": True}
    first = await client.post(ORGS, headers=admin, json=body)
    assert first.status_code == 201
    before = await count(db, Organization)
    again = await client.post(
        ORGS, headers=admin, json={"access_point": True, "name": "Eastside Agency"}
    )
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    assert await count(db, Organization) == before
    different = await client.post(ORGS, headers=admin, json={"name": "Westside Agency"})
    assert_problem(different, 422)
    assert await count(db, Organization) == before


async def test_coc_update_needs_acting_coc(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    admin = await auth.headers("system_admin")
    r = await client.patch(
        f"/api/v1/cocs/{world.home.coc.id}", headers=admin, json={"name": "Home Continuum"}
    )
    assert r.status_code == 200 and r.json()["name"] == "Home Continuum"
    r = await client.get(f"/api/v1/cocs/{world.other.coc.id}", headers=admin)
    assert_problem(r, 404)


async def test_a_logged_out_token_does_not_replay(client: httpx.AsyncClient, auth: Auth) -> None:
    headers = await auth.headers("system_admin") | {"Idempotency-Key": "after-logout-1"}
    first = await client.post(ORGS, headers=headers, json={"name": "Replay Me"})
    assert first.status_code == 201
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    again = await client.post(ORGS, headers=headers, json={"name": "Replay Me"})
    assert_problem(again, 401)
    assert "idempotent-replayed" not in again.headers
