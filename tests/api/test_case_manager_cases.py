"""A case manager's own cases: a user with an active case assignment on a client's enrollment
sees (and keeps current) that client whichever of their organizations they act for."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Auth, World, assert_problem
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, example, today


async def test_assigned_case_manager_sees_the_client_from_their_agency(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    # The intake is recorded acting for the CAS organization (as the seeds do it).
    cas = await auth.headers("case_manager", org="cas")
    r = await client.post(INTAKES, json=example("pending"), headers=cas)
    assert r.status_code == 201, r.text
    client_id = r.json()["client"]["id"]
    enrollment_id = r.json()["enrollment"]["id"]
    # Acting for their own agency, the assigned case manager sees the client and the enrollment
    # and records a contact on it.
    own = await auth.headers("case_manager", org="access_point_1")
    assert (await client.get(f"/api/v1/clients/{client_id}", headers=own)).status_code == 200
    e = await client.get(f"/api/v1/enrollments/{enrollment_id}", headers=own)
    assert e.status_code == 200, e.text
    contact = await client.post(
        f"/api/v1/enrollments/{enrollment_id}/current-living-situations",
        json={"current_living_situation": 116},
        headers=own,
    )
    assert contact.status_code == 201, contact.text
    # A colleague at that agency without the assignment does not.
    colleague = await auth.headers("agency_admin", org="access_point_1")
    assert_problem(await client.get(f"/api/v1/clients/{client_id}", headers=colleague), 404)
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    assert_problem(await client.get(f"/api/v1/clients/{client_id}", headers=ap2), 404)
    # Ending the assignment ends the sight it gave.
    cas_admin = await auth.headers("cas_admin", org="cas")
    [assignment] = e.json()["case_assignments"]
    assert assignment["user_id"] == str(world.user_id("case_manager"))
    end = await client.post(
        f"/api/v1/enrollments/{enrollment_id}/case-assignments/{assignment['id']}/end",
        json={"end_date": today().isoformat()},
        headers=cas_admin,
    )
    assert end.status_code == 200, end.text
    assert_problem(await client.get(f"/api/v1/clients/{client_id}", headers=own), 404)
    # A voided enrollment's assignment gives no sight either.
    other = example("pending", client={**example("pending")["client"], "first_name": "Kai"})
    r = await client.post(INTAKES, json=other, headers=cas)
    assert r.status_code == 201, r.text
    url = f"/api/v1/clients/{r.json()['client']['id']}"
    assert (await client.get(url, headers=own)).status_code == 200
    void = await client.post(
        f"/api/v1/enrollments/{r.json()['enrollment']['id']}/void",
        json={"reason": "Recorded in error"},
        headers={**cas_admin, **ANY_VERSION},
    )
    assert void.status_code == 200, void.text
    assert_problem(await client.get(url, headers=own), 404)
