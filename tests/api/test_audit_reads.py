"""Reads of client data in the audit trail: one event per response listing the clients shown
(``subject_ids``), still found by client, GIN-indexed, append-only."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent
from app.services.platform import audit
from tests.conftest import Auth, World, assert_problem

URL = "/api/v1/clients"


async def _new(client: httpx.AsyncClient, headers: dict[str, str], first: str, last: str) -> str:
    r = await client.post(URL, json={"first_name": first, "last_name": last}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_audit_events_by_client_find_batched_and_single_reads(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    other = await _new(client, cm, "Ines", "Carvalhal")
    ines = await _new(client, cm, "Ines", "Carvalho")  # lists ``other`` as a possible duplicate
    search = await client.post(f"{URL}/search", json={"name": "Ines Carvalho"}, headers=cm)
    assert {h["client"]["id"] for h in search.json()["items"]} == {ines, other}
    single = await client.get(f"{URL}/{ines}", headers=cm)
    assert single.status_code == 200

    admin = await auth.headers("system_admin")
    r = await client.get(
        "/api/v1/audit-events",
        headers=admin,
        params={"entity_id": ines, "action": "pii.read"},
    )
    assert r.status_code == 200, r.text
    reads = r.json()["items"]
    by_request = {e["request_id"]: e for e in reads}
    assert set(by_request) == {search.headers["x-request-id"], single.headers["x-request-id"]}
    batched = by_request[search.headers["x-request-id"]]
    assert batched["entity_type"] == "client" and batched["entity_id"] is None
    assert set(batched["subject_ids"]) == {ines, other}
    assert batched["changes"] == {"fields": ["dob", "name", "ssn_masked"]}
    assert batched["actor_user_id"] == str(world.user_id("case_manager"))
    one = by_request[single.headers["x-request-id"]]
    assert one["entity_id"] == ines and one["subject_ids"] == [ines]

    # With entity_type too (the client's whole trail), and not from another CoC.
    r = await client.get(
        "/api/v1/audit-events", headers=admin, params={"entity_type": "client", "entity_id": ines}
    )
    assert {e["action"] for e in r.json()["items"]} == {"client.created", "pii.read"}
    r = await client.get(
        "/api/v1/audit-events",
        headers=await auth.headers("system_admin", coc="other"),
        params={"entity_id": ines},
    )
    assert r.status_code == 200 and r.json()["items"] == []
    assert_problem(
        await client.get("/api/v1/audit-events", headers=cm, params={"entity_id": ines}), 403
    )
    assert_problem(
        await client.get("/api/v1/audit-events", headers=admin, params={"entity_id": "x"}), 422
    )


async def test_who_saw_a_client_is_one_indexed_query(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    ines = uuid.UUID(await _new(client, cm, "Ines", "Carvalho"))
    found = await client.post(f"{URL}/search", json={"name": "Ines Carvalho"}, headers=cm)
    assert found.status_code == 200, found.text
    assert str(ines) in [hit["client"]["id"] for hit in found.json()["items"]]
    listed = await client.get(URL, headers=cm)
    assert listed.status_code == 200, listed.text
    assert str(ines) in [c["id"] for c in listed.json()["items"]]

    who_saw = select(AuditEvent).where(AuditEvent.subject_ids.contains([ines]))
    seen = (await db.scalars(who_saw)).all()
    assert len(seen) == 2 and all(e.action == "pii.read" for e in seen)

    await db.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        (
            await db.execute(
                text(f"EXPLAIN SELECT id FROM audit_events WHERE subject_ids @> '{{{ines}}}'")
            )
        ).scalars()
    )
    assert "ix_audit_events_subject_ids" in plan
    await db.execute(text("SET LOCAL enable_seqscan = on"))

    # The filter the API uses reaches both shapes of read.
    about = (await db.scalars(select(AuditEvent).where(audit.about_entity(ines)))).all()
    assert {e.action for e in about} == {"client.created", "pii.read"}


async def test_batched_reads_stay_append_only(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    await _new(client, cm, "Ines", "Carvalho")
    r = await client.post(f"{URL}/search", json={"name": "Ines Carvalho"}, headers=cm)
    event_id = await db.scalar(
        select(AuditEvent.id).where(AuditEvent.request_id == r.headers["x-request-id"])
    )
    for statement in (
        "UPDATE audit_events SET subject_ids = '{}' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.begin_nested():
                await db.execute(text(statement), {"id": event_id})
