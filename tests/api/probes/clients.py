"""Probe ids for clients and households: created as case_manager at access_point_1."""

from __future__ import annotations

import uuid

from tests.api.probes import ProbeContext

PRIVATE = {"client_id", "household_id"}


async def arrange(ctx: ProbeContext) -> dict[str, uuid.UUID]:
    headers = await ctx.auth.headers("case_manager", org="access_point_1")
    r = await ctx.client.post(
        "/api/v1/clients",
        json={"first_name": "Probe", "last_name": "Person", "ssn": "123-45-6789"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    client_id = uuid.UUID(r.json()["id"])
    r = await ctx.client.post(
        "/api/v1/households",
        json={"members": [{"client_id": str(client_id), "relationship_to_hoh": 1}]},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return {"client_id": client_id, "household_id": uuid.UUID(r.json()["id"])}
