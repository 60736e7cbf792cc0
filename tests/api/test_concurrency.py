"""Rules that must hold under concurrency, checked with real commits on a database of their own.

The per-test transaction of the other tests cannot show races; here requests run concurrently,
each in its own transaction, and the database's constraints decide.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.config import Settings
from app.db import create_engine, create_sessionmaker, upgrade_database
from app.main import create_app
from app.services.demo import seed_coc
from tests.conftest import PASSWORD, _admin_exec, _server_url
from tests.support.intake import INTAKES, example


@pytest.fixture(scope="module")
async def committed() -> AsyncIterator[tuple[httpx.AsyncClient, AsyncEngine]]:
    server = _server_url()
    name = f"cas_concurrency_{uuid.uuid4().hex[:10]}"
    await _admin_exec(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade_database, url)
    settings = Settings(
        environment="test",
        email_delivery_interval_seconds=0,
        maintenance_interval_seconds=0,
        auth_rate_limit=100_000,
    )
    engine = create_engine(url, settings)
    async with async_sessionmaker(engine)() as session:
        await seed_coc(
            session, code="XX-501", name="Home CoC", email_domain="demo.example", password=PASSWORD
        )
        await session.commit()
    app = create_app(settings)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        yield client, engine
    await engine.dispose()
    await _admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _headers(client: httpx.AsyncClient) -> dict[str, str]:
    r = await client.post(
        "/api/v1/auth/login", json={"email": "case_manager@demo.example", "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_concurrent_intakes_enroll_a_client_once(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    client, engine = committed
    headers = await _headers(client)
    r = await client.post(
        "/api/v1/clients", headers=headers, json={"first_name": "Race", "last_name": "Condition"}
    )
    assert r.status_code == 201, r.text
    client_id = r.json()["id"]
    body: dict[str, Any] = example("pending")
    body.pop("client", None)
    body["client_id"] = client_id

    results = await asyncio.gather(
        *[client.post(INTAKES, headers=headers, json=body) for _ in range(4)]
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 409, 409, 409], [r.text for r in results]
    winner = next(r for r in results if r.status_code == 201).json()
    for loser in (r for r in results if r.status_code == 409):
        problem = loser.json()
        assert problem["enrollment_id"] == winner["enrollment"]["id"]
    async with engine.connect() as conn:
        open_ce = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM enrollments WHERE client_id = :c "
                    "AND is_coordinated_entry AND exit_date IS NULL"
                ),
                {"c": client_id},
            )
        ).scalar_one()
    assert open_ce == 1


async def test_concurrent_idempotent_requests_do_the_work_once(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    client, engine = committed
    headers = await _headers(client) | {"Idempotency-Key": "race-client-1"}
    body = {"first_name": "Once", "last_name": "Only"}
    results = await asyncio.gather(
        *[client.post("/api/v1/clients", headers=headers, json=body) for _ in range(3)]
    )
    statuses = [r.status_code for r in results]
    # One does the work; the others replay it or are told a request with the key is in flight.
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}, statuses
    for r in results:
        if r.status_code == 409:
            assert "Idempotency-Key" in r.json()["detail"]
    replay = await client.post("/api/v1/clients", headers=headers, json=body)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    async with engine.connect() as conn:
        made = (
            await conn.execute(text("SELECT count(*) FROM clients WHERE last_name = 'Only'"))
        ).scalar_one()
    assert made == 1


async def test_a_scheme_change_under_concurrent_writes_leaves_every_key_current(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    """Re-ranking while reads recompute stale facts and scores are written: nobody deadlocks,
    and every open entry ends keyed by the scheme that was committed last."""
    client, engine = committed
    headers = await _headers(client)
    r = await client.post(
        "/api/v1/auth/login", json={"email": "cas_admin@demo.example", "password": PASSWORD}
    )
    admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    entries = []
    for i in range(6):
        body = example("placed")
        body["client"] = {**body["client"], "first_name": f"Rank{i}", "last_name": "Race"}
        r = await client.post(INTAKES, headers=headers, json=body)
        assert r.status_code == 201, r.text
        entries.append(r.json()["queue_entry"]["id"])

    async def write_scores(n: int) -> None:
        # One entry per transaction, as the application writes scores.
        for entry in entries:
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "UPDATE queue_entries SET score = :s, score_recorded_at = now(), "
                        "facts_stale = true WHERE id = :q"
                    ),
                    {"s": n, "q": entry},
                )

    scheme = {
        "score_tool": "VI-SPDAT",
        "score_min": 0,
        "score_max": 22,
        "scheme": [{"key": "veteran"}, {"key": "score", "direction": "asc"}],
    }
    results = await asyncio.gather(
        client.get("/api/v1/queue-entries", headers=admin),
        client.put("/api/v1/queue-settings", json=scheme, headers={**admin, "If-Match": "*"}),
        write_scores(4),
        client.get("/api/v1/queue-entries", headers=admin),
        write_scores(9),
        client.get("/api/v1/queue-entries", headers=admin),
    )
    for r in results:
        if isinstance(r, httpx.Response):
            assert r.status_code == 200, r.text
    async with engine.connect() as conn:
        stored = dict(
            (await conn.execute(text("SELECT id, priority_key FROM queue_entries"))).tuples().all()
        )
        await conn.rollback()
        trans = await conn.begin()
        recomputed = dict(
            (
                await conn.execute(
                    text("UPDATE queue_entries SET priority_key = '{}' RETURNING id, priority_key")
                )
            )
            .tuples()
            .all()
        )
        await trans.rollback()
    assert stored == recomputed
    assert all(len(key) == 3 for key in stored.values())
