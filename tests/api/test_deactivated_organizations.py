"""A deactivated organization takes no new work: nobody is enrolled into its projects and nobody
is invited into it or given a membership there (409 naming the field, nothing written). Its
existing records stay readable, and it can be reactivated."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Auth, World
from tests.support.intake import INTAKES, example, rows

USERS = "/api/v1/users"
STATE = (
    "SELECT (SELECT count(*) FROM enrollments) AS enrollments, "
    "(SELECT count(*) FROM users) AS users, "
    "(SELECT count(*) FROM memberships) AS memberships, "
    "(SELECT count(*) FROM email_outbox) AS emails, "
    "(SELECT count(*) FROM case_assignments) AS assignments"
)


async def _set_active(db: AsyncSession, org: uuid.UUID, active: bool) -> None:
    await db.execute(
        text("UPDATE organizations SET is_active = :a WHERE id = :o"), {"a": active, "o": org}
    )


async def test_no_enrollment_into_a_deactivated_organizations_project(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    admin = await auth.headers("system_admin")
    intake = example("pending")
    r = await client.post(
        INTAKES, json=intake, headers=await auth.headers("case_manager", org="cas")
    )
    assert r.status_code == 201, r.text
    client_id = r.json()["client"]["id"]
    shelter = world.project_id("ap2_shelter")
    body = {
        "client_id": client_id,
        "project_id": str(shelter),
        "prior_living_situation": {"living_situation": 99},
    }
    org = world.org_id("access_point_2")
    await _set_active(db, org, False)
    [before] = await rows(db, STATE)
    r = await client.post("/api/v1/enrollments", json=body, headers=admin)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["errors"][0]["loc"] == ["body", "project_id"], r.text
    assert "deactivated" in problem["detail"] and problem["organization_id"] == str(org)
    assert await rows(db, STATE) == [before]
    await _set_active(db, org, True)
    r = await client.post("/api/v1/enrollments", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["project_id"] == str(shelter) and r.json()["client_id"] == client_id


async def test_no_invitation_or_membership_into_a_deactivated_organization(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    admin = await auth.headers("system_admin")
    org = world.org_id("access_point_2")
    invite: dict[str, Any] = {
        "email": f"new-{uuid.uuid4().hex[:6]}@demo.example",
        "full_name": "Nia New",
        "organization_id": str(org),
        "role": "case_manager",
    }
    existing = world.user_id("case_manager")
    membership = {"organization_id": str(org), "role": "case_manager"}
    await _set_active(db, org, False)
    [before] = await rows(db, STATE)
    r = await client.post(USERS, json=invite, headers=admin)
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "organization_id"], r.text
    assert "deactivated" in r.json()["detail"]
    r = await client.post(f"{USERS}/{existing}/memberships", json=membership, headers=admin)
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "organization_id"], r.text
    assert await rows(db, STATE) == [before]
    await _set_active(db, org, True)
    r = await client.post(USERS, json=invite, headers=admin)
    assert r.status_code == 201, r.text
    assert [m["organization_id"] for m in r.json()["memberships"]] == [str(org)]
