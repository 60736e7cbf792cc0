from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Auth, World, assert_problem


async def test_audit_events_for_system_admins_with_filters(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    admin = await auth.headers("system_admin")
    r = await client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "email": "audited@demo.example",
            "full_name": "Audited Person",
            "organization_id": str(world.org_id("housing_1")),
            "role": "housing_provider",
        },
    )
    user_id = r.json()["id"]
    r = await client.get(
        "/api/v1/audit-events", headers=admin, params={"entity_type": "user", "entity_id": user_id}
    )
    assert r.status_code == 200
    events = r.json()["items"]
    assert [e["action"] for e in events] == ["user.invite"]
    event = events[0]
    assert event["actor_user_id"] == str(world.user_id("system_admin"))
    assert event["acting_organization_id"] == str(world.org_id("hmis_lead"))
    assert event["request_id"] == r.headers["x-request-id"] or event["request_id"]
    # PII values are redacted; non-PII fields are kept.
    assert event["changes"]["email"] == "[redacted]"
    assert event["changes"]["role"] == "housing_provider"
    assert "Audited" not in r.text

    r = await client.get(
        "/api/v1/audit-events",
        headers=admin,
        params={"actor_user_id": str(world.user_id("system_admin")), "action": "user.invite"},
    )
    assert len(r.json()["items"]) == 1


async def test_audit_events_refused_to_other_roles(client: httpx.AsyncClient, auth: Auth) -> None:
    for user in ("cas_admin", "agency_admin", "case_manager"):
        assert_problem(
            await client.get("/api/v1/audit-events", headers=await auth.headers(user)), 403
        )


async def test_audit_events_not_visible_across_cocs(client: httpx.AsyncClient, auth: Auth) -> None:
    created = await client.post(
        "/api/v1/organizations",
        headers=await auth.headers("system_admin"),
        json={"name": "Home Only"},
    )
    assert created.status_code == 201, created.text
    r = await client.get(
        "/api/v1/audit-events", headers=await auth.headers("system_admin", coc="other")
    )
    assert all(e["action"] != "organization.create" for e in r.json()["items"])


async def test_audit_trail_is_append_only(db: AsyncSession) -> None:
    await db.execute(
        text(
            "INSERT INTO audit_events (id, action, entity_type) "
            "VALUES (gen_random_uuid(), 'x', 'y')"
        )
    )
    for statement in (
        "UPDATE audit_events SET action = 'z'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.begin_nested():
                await db.execute(text(statement))
