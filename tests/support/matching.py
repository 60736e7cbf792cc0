"""Helpers of the matching tests: an approved queue entry, a unit, a match."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, example


async def place(
    client: httpx.AsyncClient,
    auth: Any,
    db: AsyncSession,
    *,
    approved: bool = True,
    **facts: Any,
) -> dict[str, uuid.UUID]:
    """A household placed on the queue (a new client), approved unless told, with ``facts``
    written on its entry (veteran, chronic_documented, score, ...)."""
    body = example("placed")
    tag = uuid.uuid4().hex[:8]
    body["client"] = {**body["client"], "first_name": f"Match{tag}", "last_name": f"Queue{tag}"}
    headers = await auth.headers("case_manager", org="cas")
    r = await client.post(INTAKES, json=body, headers=headers)
    assert r.status_code == 201, r.text
    entry_id = uuid.UUID(r.json()["queue_entry"]["id"])
    sets = dict(facts)
    if approved:
        sets["intake_status"] = "approved"
    if "score" in sets:
        sets["score_recorded_at"] = text("now()")
    if sets:
        assignments = ", ".join(
            f"{k} = now()" if k == "score_recorded_at" else f"{k} = :{k}" for k in sets
        )
        params = {k: v for k, v in sets.items() if k != "score_recorded_at"}
        await db.execute(
            text(f"UPDATE queue_entries SET {assignments} WHERE id = :id"),
            {**params, "id": entry_id},
        )
    row = (
        await db.execute(
            text("SELECT head_client_id, head_enrollment_id FROM queue_entries WHERE id = :id"),
            {"id": entry_id},
        )
    ).one()
    return {"entry": entry_id, "client": row.head_client_id, "enrollment": row.head_enrollment_id}


async def make_unit(
    client: httpx.AsyncClient, auth: Any, project_id: uuid.UUID, *, bedrooms: int = 1
) -> dict[str, Any]:
    headers = await auth.headers("housing_provider")
    r = await client.post(
        f"/api/v1/projects/{project_id}/units",
        json={"label": f"U-{uuid.uuid4().hex[:6]}", "bedrooms": bedrooms},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def send(
    client: httpx.AsyncClient, auth: Any, unit_id: Any, entry_id: Any, **extra: Any
) -> httpx.Response:
    headers = await auth.headers("cas_admin")
    return await client.post(
        "/api/v1/matches",
        json={"unit_id": str(unit_id), "queue_entry_id": str(entry_id), **extra},
        headers=headers,
    )


async def act(
    client: httpx.AsyncClient,
    auth: Any,
    match_id: Any,
    action: str,
    body: dict[str, Any] | None = None,
    *,
    user: str = "housing_provider",
    org: str | None = None,
) -> httpx.Response:
    headers = {**(await auth.headers(user, org=org)), **ANY_VERSION}
    return await client.post(
        f"/api/v1/matches/{match_id}/{action}", json=body or {}, headers=headers
    )
