from __future__ import annotations

import base64
import json
import uuid

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


async def test_inviting_another_cocs_address_does_not_confirm_the_account(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """An address already in use by an account of another CoC only: refused without saying
    why (accounts are not shared between CoCs by invitation), and nothing changes; an address
    known in the caller's CoC keeps its plain 409."""
    other = await db.get(User, world.user_id("case_manager", coc="other"))
    assert other is not None
    before_user = (other.full_name, other.version, other.password_hash)
    before = await db.scalar(select(func.count()).select_from(Membership))
    users_before = await db.scalar(select(func.count()).select_from(User))
    headers = await auth.headers("agency_admin")
    body = {
        "email": other.email.upper(),
        "full_name": "Someone New",
        "organization_id": str(world.org_id("access_point_1")),
        "role": "case_manager",
    }
    r = await client.post(USERS, headers=headers, json=body)
    problem = assert_problem(r, 409)
    assert "exist" not in problem["detail"].lower()
    assert str(other.id) not in r.text and other.full_name not in r.text
    assert problem["errors"][0]["loc"] == ["body", "email"]
    assert await db.scalar(select(func.count()).select_from(Membership)) == before
    assert await db.scalar(select(func.count()).select_from(User)) == users_before
    await db.refresh(other)
    assert (other.full_name, other.version, other.password_hash) == before_user
    # The same for a system admin of this CoC.
    r = await client.post(USERS, headers=await auth.headers("system_admin"), json=body)
    assert assert_problem(r, 409)["detail"] == problem["detail"]
    # An account of this CoC (another agency's) is the plain duplicate.
    r = await client.post(
        USERS, headers=headers, json=body | {"email": "case_manager2@demo.example"}
    )
    assert "already exists" in assert_problem(r, 409)["detail"]


async def test_the_users_cursor_holds_no_email(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    headers = await auth.headers("system_admin")
    everyone = await client.get(USERS, headers=headers, params={"limit": 200})
    expected = [u["email"] for u in everyone.json()["items"]]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(USERS, headers=headers, params=params)
        assert r.status_code == 200, r.text
        seen += [u["email"] for u in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.urlsafe_b64decode(padded).decode()
        assert "@" not in decoded and "demo" not in decoded, decoded
    assert seen == expected == sorted(expected)
    # A cursor naming no user of the list is refused like any other bad cursor.
    for someone in (uuid.uuid4(), world.user_id("case_manager", coc="other")):
        bogus = base64.urlsafe_b64encode(json.dumps([{"u": str(someone)}]).encode()).decode()
        assert_problem(await client.get(USERS, headers=headers, params={"cursor": bogus}), 422)
