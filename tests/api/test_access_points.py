"""Access Point approval (seed 000: approved by the Director of CAS): only approved Access
Points run the CAS & Diversion Intake; CAS and system admins manage the flag."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Auth, World, assert_problem
from tests.support.intake import INTAKES, counts, example, rows


def _url(world: World, org: str) -> str:
    return f"/api/v1/organizations/{world.org_id(org)}/access-point"


async def _set(
    http: httpx.AsyncClient, auth: Auth, world: World, org: str, value: bool, who: Any = None
) -> httpx.Response:
    headers = who or await auth.headers("cas_admin", org="cas")
    return await http.put(_url(world, org), json={"access_point": value}, headers=headers)


async def test_only_approved_access_points_run_the_intake(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    r = await _set(client, auth, world, "access_point_1", False)
    assert r.status_code == 200, r.text
    assert r.json()["access_point"] is False
    before = await counts(db)
    for org in ("access_point_1", "cas"):  # case_manager belongs to no approved access point now
        refused = await client.post(
            INTAKES, json=example("pending"), headers=await auth.headers("case_manager", org=org)
        )
        assert_problem(refused, 403, "access-point-not-approved")
    assert await counts(db) == before
    # Approved again (by a system admin this time): the intake runs, from the CAS organization
    # too (as a member of an approved access point).
    admin = await auth.headers("system_admin", org="hmis_lead")
    assert (await _set(client, auth, world, "access_point_1", True, admin)).status_code == 200
    for org, first in (("access_point_1", "Ana"), ("cas", "Bea")):
        body = example("pending", client={**example("pending")["client"], "first_name": first})
        ok = await client.post(
            INTAKES, json=body, headers=await auth.headers("case_manager", org=org)
        )
        assert ok.status_code == 201, ok.text
    events = await rows(
        db,
        "SELECT changes FROM audit_events WHERE action = 'organization.access_point' "
        "AND entity_id = :o ORDER BY occurred_at",
        o=world.org_id("access_point_1"),
    )
    assert [e["changes"]["access_point"]["new"] for e in events] == [False, True]


async def test_who_may_approve_access_points(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    for user, org in (
        ("case_manager", "access_point_1"),
        ("agency_admin", "access_point_1"),
        ("housing_provider", "housing_1"),
    ):
        r = await _set(client, auth, world, "housing_1", True, await auth.headers(user, org=org))
        assert_problem(r, 403)
    other = await auth.headers("system_admin", coc="other")
    assert_problem(await _set(client, auth, world, "housing_1", True, other), 404)
    # A victim service provider cannot be an access point; a stale version is refused.
    vsp = await _set(client, auth, world, "vsp", True)
    assert assert_problem(vsp, 422)["errors"][0]["loc"] == ["body", "access_point"]
    cas_admin = await auth.headers("cas_admin", org="cas")
    stale = await client.put(
        _url(world, "housing_1"),
        json={"access_point": True},
        headers={**cas_admin, "If-Match": '"999"'},
    )
    assert_problem(stale, 412)
    [org] = await rows(
        db, "SELECT access_point FROM organizations WHERE id = :o", o=world.org_id("housing_1")
    )
    assert org["access_point"] is False
    assert_problem(await client.put(_url(world, "housing_1"), json={}, headers=cas_admin), 422)
