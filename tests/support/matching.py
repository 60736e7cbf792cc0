"""Helpers of the matching tests: an approved queue entry, a unit, a match."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Membership
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, example


async def place(
    client: httpx.AsyncClient,
    auth: Any,
    db: AsyncSession,
    *,
    approved: bool = True,
    veteran: bool = False,
    score: int | None = None,
) -> dict[str, uuid.UUID]:
    """A household placed on the queue by the intake (a new client), a veteran if told, scored
    and approved by the CAS admin over HTTP unless told: its facts are the queue's own
    (computed from the records, ``app.services.queue.facts``), never written here."""
    body = example("placed")
    tag = uuid.uuid4().hex[:8]
    body["client"] = {
        **body["client"],
        "first_name": f"Match{tag}",
        "last_name": f"Queue{tag}",
        "veteran_status": 1 if veteran else 0,
    }
    headers = await auth.headers("case_manager", org="cas")
    r = await client.post(INTAKES, json=body, headers=headers)
    assert r.status_code == 201, r.text
    entry_id = uuid.UUID(r.json()["queue_entry"]["id"])
    admin = {**(await auth.headers("cas_admin")), **ANY_VERSION}
    url = f"/api/v1/queue-entries/{entry_id}"
    if score is not None:
        r = await client.put(
            f"{url}/score", json={"score": score, "reason": "VI-SPDAT"}, headers=admin
        )
        assert r.status_code == 200, r.text
    if approved:
        r = await client.post(f"{url}/transitions", json={"to_status": "approved"}, headers=admin)
        assert r.status_code == 200, r.text
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


async def ehv_contact(db: AsyncSession, world: Any) -> dict[str, str]:
    """An EHV case-manager agency contact who may record the outcome (``referrals:respond``):
    ``case_manager2`` is also a housing provider at Veterans Home Alliance (``housing_2``).
    The body of ``POST /matches/{id}/ehv-case-manager``."""
    db.add(
        Membership(
            user_id=world.user_id("case_manager2"),
            organization_id=world.org_id("housing_2"),
            role="housing_provider",
        )
    )
    await db.flush()
    return {
        "organization_id": str(world.org_id("housing_2")),
        "user_id": str(world.user_id("case_manager2")),
    }
