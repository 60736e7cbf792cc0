from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Membership, User
from tests.conftest import Auth, World, assert_problem

USERS = "/api/v1/users"


async def test_system_admin_lists_users_of_the_coc(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    r = await client.get(USERS, headers=await auth.headers("system_admin"), params={"limit": 200})
    emails = {u["email"] for u in r.json()["items"]}
    assert "case_manager@demo.example" in emails
    assert not any(e.endswith("other.example") for e in emails)


async def test_agency_admin_sees_only_own_org_users(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    headers = await auth.headers("agency_admin")
    r = await client.get(USERS, headers=headers)
    emails = {u["email"] for u in r.json()["items"]}
    assert emails == {"agency_admin@demo.example", "case_manager@demo.example"}
    r = await client.get(f"{USERS}/{world.user_id('housing_provider')}", headers=headers)
    assert_problem(r, 404)


async def test_case_managers_cannot_manage_users(client: httpx.AsyncClient, auth: Auth) -> None:
    assert_problem(await client.get(USERS, headers=await auth.headers("case_manager")), 403)


async def test_agency_admin_may_not_grant_admin_roles_or_other_orgs(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    headers = await auth.headers("agency_admin")
    before = await db.scalar(select(func.count()).select_from(User))
    for org, role in (
        ("access_point_1", "system_admin"),
        ("access_point_1", "cas_admin"),
        ("housing_1", "case_manager"),
    ):
        r = await client.post(
            USERS,
            headers=headers,
            json={
                "email": f"x-{role}@demo.example",
                "full_name": "X",
                "organization_id": str(world.org_id(org)),
                "role": role,
            },
        )
        assert_problem(r, 403)
    assert await db.scalar(select(func.count()).select_from(User)) == before


async def test_duplicate_email_and_bad_role(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    headers = await auth.headers("system_admin")
    body = {
        "email": "CASE_MANAGER@demo.example",
        "full_name": "Dup",
        "organization_id": str(world.org_id("access_point_1")),
        "role": "case_manager",
    }
    assert_problem(await client.post(USERS, headers=headers, json=body), 409)
    assert_problem(await client.post(USERS, headers=headers, json=body | {"role": "boss"}), 422)


async def test_membership_add_remove_and_deactivate(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    admin = await auth.headers("system_admin")
    uid = world.user_id("case_manager2")
    r = await client.post(
        f"{USERS}/{uid}/memberships",
        headers=admin,
        json={"organization_id": str(world.org_id("cas")), "role": "case_manager"},
    )
    assert r.status_code == 201, r.text
    memberships = r.json()["memberships"]
    assert {m["organization_id"] for m in memberships} == {
        str(world.org_id("access_point_2")),
        str(world.org_id("cas")),
    }
    again = await client.post(
        f"{USERS}/{uid}/memberships",
        headers=admin,
        json={"organization_id": str(world.org_id("cas")), "role": "cas_admin"},
    )
    assert_problem(again, 409)
    cas_membership = next(
        m for m in memberships if m["organization_id"] == str(world.org_id("cas"))
    )
    r = await client.delete(f"{USERS}/{uid}/memberships/{cas_membership['id']}", headers=admin)
    assert r.status_code == 204
    assert (
        await db.scalar(
            select(func.count()).select_from(Membership).where(Membership.user_id == uid)
        )
        == 1
    )

    r = await client.patch(f"{USERS}/{uid}", headers=admin, json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = await client.patch(
        f"{USERS}/{uid}", headers=await auth.headers("agency_admin"), json={"is_active": True}
    )
    assert_problem(r, 404)  # not in the agency admin's organization
    r = await client.patch(
        f"{USERS}/{world.user_id('case_manager')}",
        headers=await auth.headers("agency_admin"),
        json={"is_active": False},
    )
    assert_problem(r, 403)
    r = await client.patch(
        f"{USERS}/{world.user_id('system_admin')}", headers=admin, json={"is_active": False}
    )
    assert_problem(r, 422)


async def test_resend_invitation_only_for_pending(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    admin = await auth.headers("system_admin")
    r = await client.post(f"{USERS}/{world.user_id('case_manager')}/invitation", headers=admin)
    assert_problem(r, 409)
    r = await client.post(
        USERS,
        headers=admin,
        json={
            "email": "pending@demo.example",
            "full_name": "Pending",
            "organization_id": str(world.org_id("housing_1")),
            "role": "housing_provider",
        },
    )
    r = await client.post(f"{USERS}/{r.json()['id']}/invitation", headers=admin)
    assert r.status_code == 204
