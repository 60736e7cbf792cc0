"""Matching rules under concurrency, on committed transactions (separate connections): a unit
gets one active match whatever the number of simultaneous referrals, and one move of a match
wins among simultaneous accepts and declines."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock
from app.db import create_sessionmaker
from app.services.demo import demo_uuid
from app.services.matching import notices
from tests.api.test_concurrency import committed  # the committed database (module fixture)
from tests.conftest import PASSWORD
from tests.support.intake import INTAKES, example

__all__ = ["committed"]


async def _login(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _approved_entries(
    client: httpx.AsyncClient, engine: AsyncEngine, n: int
) -> list[uuid.UUID]:
    cm = await _login(client, "case_manager@demo.example")
    # Act for the CAS organization, as the intake expects.
    r = await client.post(
        "/api/v1/auth/switch-organization",
        json={"organization_id": str(demo_uuid("XX-501", "organization", "cas"))},
        headers=cm,
    )
    if r.status_code == 200:
        cm = {"Authorization": f"Bearer {r.json()['access_token']}"}
    ids = []
    for _ in range(n):
        body: dict[str, Any] = example("placed")
        tag = uuid.uuid4().hex[:8]
        body["client"] = {**body["client"], "first_name": f"Race{tag}", "last_name": f"Unit{tag}"}
        r = await client.post(INTAKES, json=body, headers=cm)
        assert r.status_code == 201, r.text
        ids.append(uuid.UUID(r.json()["queue_entry"]["id"]))
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE queue_entries SET intake_status = 'approved' WHERE id = ANY(:ids)"),
            {"ids": ids},
        )
    return ids


async def _unit(client: httpx.AsyncClient) -> str:
    hp = await _login(client, "housing_provider@demo.example")
    project = demo_uuid("XX-501", "project", "h1_psh")
    r = await client.post(
        f"/api/v1/projects/{project}/units",
        json={"label": f"Race-{uuid.uuid4().hex[:6]}", "bedrooms": 1},
        headers=hp,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_fifty_simultaneous_matches_for_one_unit_one_wins(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    client, engine = committed
    entries = await _approved_entries(client, engine, 50)
    unit_id = await _unit(client)
    admin = await _login(client, "cas_admin@demo.example")
    results = await asyncio.gather(
        *[
            client.post(
                "/api/v1/matches",
                json={"unit_id": unit_id, "queue_entry_id": str(e)},
                headers=admin,
            )
            for e in entries
        ]
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * 49, [r.text for r in results if r.status_code != 409]
    for r in results:
        if r.status_code == 409:
            assert r.headers["content-type"].startswith("application/problem+json")
    async with engine.connect() as conn:
        active = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM matches WHERE unit_id = :u AND status IN "
                    "('sent', 'accepted')"
                ),
                {"u": uuid.UUID(unit_id)},
            )
        ).scalar_one()
    assert active == 1


async def test_twenty_simultaneous_accepts_and_declines_one_wins(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    client, engine = committed
    [entry] = await _approved_entries(client, engine, 1)
    unit_id = await _unit(client)
    admin = await _login(client, "cas_admin@demo.example")
    r = await client.post(
        "/api/v1/matches", json={"unit_id": unit_id, "queue_entry_id": str(entry)}, headers=admin
    )
    assert r.status_code == 201, r.text
    match = r.json()
    hp = await _login(client, "housing_provider@demo.example")
    headers = {**hp, "If-Match": r.headers["ETag"]}
    calls = []
    for i in range(20):
        if i % 2:
            calls.append(
                client.post(f"/api/v1/matches/{match['id']}/accept", json={}, headers=headers)
            )
        else:
            calls.append(
                client.post(
                    f"/api/v1/matches/{match['id']}/decline",
                    json={"reason": "another_housing_option"},
                    headers=headers,
                )
            )
    results = await asyncio.gather(*calls)
    statuses = [r.status_code for r in results]
    assert statuses.count(200) == 1, [r.text for r in results]
    assert set(statuses) <= {200, 409, 412}, statuses
    async with engine.connect() as conn:
        events = (
            await conn.execute(
                text("SELECT count(*) FROM match_events WHERE match_id = :m"),
                {"m": uuid.UUID(match["id"])},
            )
        ).scalar_one()
    assert events == 2  # sent, then the one move that won


async def test_match_notices_are_recorded_once_by_simultaneous_scans(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    """Two workers scanning at the same moment (separate connections, each committing): each
    "stalled" and "park ended" notice is recorded once (the events' unique key), and so is
    sent once."""
    client, engine = committed
    entries = await _approved_entries(client, engine, 2)
    admin = await _login(client, "cas_admin@demo.example")
    hp = await _login(client, "housing_provider@demo.example")
    ids = []
    for entry in entries:
        r = await client.post(
            "/api/v1/matches",
            json={"unit_id": await _unit(client), "queue_entry_id": str(entry)},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        ids.append(uuid.UUID(r.json()["id"]))
    waiting, parked = ids
    r = await client.post(
        f"/api/v1/matches/{parked}/park",
        json={"reason": "disengaged"},
        headers={**hp, "If-Match": "*"},
    )
    assert r.status_code == 200, r.text
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE matches SET clock_started_at = now() - interval '11 days' WHERE id = :m"),
            {"m": waiting},
        )
        # The park's date comes (30 days for disengaged).
        await conn.execute(
            text("UPDATE matches SET parked_until = parked_until - 30 WHERE id = :m"),
            {"m": parked},
        )
        await conn.execute(
            text(
                "UPDATE queue_entries SET parked_until = parked_until - 30 "
                "WHERE id = (SELECT queue_entry_id FROM matches WHERE id = :m)"
            ),
            {"m": parked},
        )
    sessions = create_sessionmaker(engine)
    now = clock.now()

    async def scan(run: Any) -> int:
        async with sessions() as session:
            found: int = await run(session, now)
            await session.commit()
        return found

    found = await asyncio.gather(*(scan(run) for run in (notices.stalled, notices.parks_ended) * 3))
    assert sum(found[0::2]) >= 1 and sum(found[1::2]) >= 1
    async with engine.connect() as conn:
        counts = dict(
            (
                await conn.execute(
                    text(
                        "SELECT event_type, count(*) FROM notification_events "
                        "WHERE entity_id = ANY(:ids) AND event_type IN "
                        "('match.stalled', 'match.park_ended') GROUP BY 1"
                    ),
                    {"ids": ids},
                )
            ).all()
        )
        fan_outs = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM jobs WHERE kind = 'notifications.fan_out' AND "
                    "payload->>'event_id' IN (SELECT id::text FROM notification_events "
                    "WHERE entity_id = ANY(:ids) AND event_type IN "
                    "('match.stalled', 'match.park_ended'))"
                ),
                {"ids": ids},
            )
        ).scalar_one()
    assert counts == {"match.stalled": 1, "match.park_ended": 1}
    assert fan_outs == 2
