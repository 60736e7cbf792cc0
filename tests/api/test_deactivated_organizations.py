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
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, example, rows
from tests.support.matching import act, make_unit, place, send

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


ACTIVE_MATCHES = (
    "SELECT m.id FROM matches m JOIN projects p ON p.id = m.project_id "
    "WHERE p.organization_id = :o AND m.status IN "
    "('sent', 'accepted', 'ehv_navigation', 'ehv_voucher_issued', 'ehv_rfta_submitted', "
    "'ehv_case_management') ORDER BY m.created_at, m.id"
)


async def test_a_provider_with_active_matches_is_not_deactivated(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """Nobody at a deactivated provider could answer a match sent to it: deactivating one that
    holds matches in progress is a 409 naming ``is_active`` and the matches (``match_ids``),
    nothing written; once the CAS admin has canceled them, the deactivation goes through."""
    person = await place(client, auth, db)
    unit = await make_unit(client, auth, world.project_id("h1_rrh"))
    r = await send(client, auth, unit["id"], person["entry"])
    assert r.status_code == 201, r.text
    sent = r.json()["id"]
    org = world.org_id("housing_1")
    url = f"/api/v1/organizations/{org}"
    held = [str(m) for m in (await db.scalars(text(ACTIVE_MATCHES), {"o": org})).all()]
    assert sent in held
    state = "SELECT is_active, version FROM organizations WHERE id = :o"
    [before] = await rows(db, state, o=org)
    # Only system admins deactivate organizations.
    r = await client.patch(
        url,
        json={"is_active": False},
        headers={**(await auth.headers("cas_admin")), **ANY_VERSION},
    )
    assert r.status_code == 403, r.text
    admin = {**(await auth.headers("system_admin")), **ANY_VERSION}
    r = await client.patch(url, json={"is_active": False}, headers=admin)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["errors"][0]["loc"] == ["body", "is_active"], problem
    assert problem["match_ids"] == held and "active match" in problem["detail"]
    assert await rows(db, state, o=org) == [before]
    # Other changes to the organization are not held up by its matches.
    r = await client.patch(url, json={"veteran_services": True}, headers=admin)
    assert r.status_code == 200, r.text
    for match_id in held:
        r = await act(
            client, auth, match_id, "cancel", {"reason": "sent_in_error"}, user="cas_admin"
        )
        assert r.status_code == 200, r.text
    r = await client.patch(url, json={"is_active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["is_active"] is False, r.text
    await _set_active(db, org, True)
