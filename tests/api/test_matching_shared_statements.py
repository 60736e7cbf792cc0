"""Candidates and explanations run statements built once per requirement shape: two projects
whose requirements have the same shape but other values each get their own answer (no value
of one request stays in the shared statement)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Auth, World
from tests.support.http import ANY_VERSION
from tests.support.matching import place


async def _unit_with(
    client: httpx.AsyncClient, auth: Auth, project: Any, requirements: list[dict[str, Any]]
) -> str:
    admin = await auth.headers("cas_admin")
    r = await client.put(
        f"/api/v1/projects/{project}/matching-profile",
        json={"funding_sources": [], "referrals_through_cas": True, "requirements": requirements},
        headers={**admin, **ANY_VERSION},
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/projects/{project}/units", json={"label": "S1", "bedrooms": 1}, headers=admin
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_same_shape_other_values_other_answers(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    single = await place(client, auth, db, score=9)  # a household of one
    # The same shape (a household size with a minimum, a must_not), other values.
    strict = await _unit_with(
        client,
        auth,
        world.project_id("h1_psh"),
        [{"kind": "household_size", "min_value": 2}, {"kind": "veteran", "polarity": "must_not"}],
    )
    loose = await _unit_with(
        client,
        auth,
        world.project_id("h1_rrh"),
        [{"kind": "household_size", "min_value": 1}, {"kind": "veteran", "polarity": "must_not"}],
    )
    admin = await auth.headers("cas_admin")
    shown = {}
    for unit in (strict, loose, strict):
        r = await client.get(f"/api/v1/units/{unit}/candidates?limit=200", headers=admin)
        assert r.status_code == 200, r.text
        shown[unit] = {i["queue_entry_id"] for i in r.json()["items"]}
    assert str(single["entry"]) not in shown[strict]
    assert str(single["entry"]) in shown[loose]

    verdicts = {}
    for unit in (strict, loose):
        r = await client.get(f"/api/v1/units/{unit}/eligibility/{single['client']}", headers=admin)
        assert r.status_code == 200, r.text
        why = r.json()
        size = why["requirements"][0]
        assert size["kind"] == "household_size" and size["value"] == "1"
        verdicts[unit] = (why["eligible"], size["passed"], why["project_id"])
    assert verdicts[strict] == (False, False, str(world.project_id("h1_psh")))
    assert verdicts[loose] == (True, True, str(world.project_id("h1_rrh")))
