"""Rate limits and lockout hold across instances: two apps (``create_app()`` each, each with its
own engine and connection pool for the limits) against one database share every budget."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.clock import now
from app.config import Settings
from app.db import create_engine
from app.http.ratelimit import RateLimiter, _address_key
from app.main import create_app
from app.models import User
from app.services.platform.maintenance import expire_rate_limits
from tests.conftest import PASSWORD, Auth, World, assert_problem

LOGIN = "/api/v1/auth/login"
RESET = "/api/v1/auth/password-reset/request"
EXPORTS = "/api/v1/queue-exports"
NOBODY = "nobody-shared@demo.example"


@pytest.fixture
async def instances(
    client: httpx.AsyncClient, app: Any, database_url: str, test_settings: Settings
) -> AsyncIterator[list[Any]]:
    """Two instances of the service: each its own app and its own engine (pool) for the
    limits; requests' units of work run in the test's transaction (rolled back at the end)."""
    settings = Settings(
        **(
            test_settings.model_dump()
            | {
                "auth_rate_limit": 4,
                "password_reset_address_limit": 3,
                "export_rate_limit": 3,
                "export_rate_window_seconds": 600,
            }
        )
    )
    made: list[Any] = []
    engines: list[AsyncEngine] = []
    for _ in range(2):
        instance = create_app(settings)
        engine = create_engine(database_url, settings)
        engines.append(engine)
        instance.state.engine = engine
        instance.state.sessionmaker = app.state.sessionmaker
        made.append(instance)
    yield made
    await RateLimiter(engines[0]).reset()
    for engine in engines:
        await engine.dispose()


def _client(app: Any, peer: str = "203.0.113.9") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_the_address_budget_is_shared_by_the_instances(instances: list[Any]) -> None:
    a, b = instances
    async with _client(a) as one, _client(b) as two:
        for c in (one, two, one, two):
            r = await c.post(LOGIN, json={"email": NOBODY, "password": "wrong-password-1"})
            assert_problem(r, 401)
        # The fifth attempt from this address is refused by either instance.
        for c in (one, two):
            r = await c.post(LOGIN, json={"email": NOBODY, "password": "wrong-password-1"})
            body = assert_problem(r, 429, "too-many-requests")
            assert int(r.headers["retry-after"]) >= 1
            assert "address" in body["detail"]
    # Another address has its own budget on both.
    async with _client(b, "203.0.113.10") as other:
        r = await other.post(LOGIN, json={"email": NOBODY, "password": "wrong-password-1"})
        assert_problem(r, 401)


async def test_failed_logins_per_account_and_lockout_hold_across_instances(
    instances: list[Any], db: AsyncSession, world: World
) -> None:
    a, b = instances
    address = "housing_provider@demo.example"
    settings = a.state.settings
    # Lockout (5 failures, on the account): failures alternate between the instances.
    for i in range(settings.lockout_threshold):
        async with _client(a if i % 2 else b, f"198.51.100.{i + 1}") as c:
            r = await c.post(LOGIN, json={"email": address, "password": f"wrong-pass-{i:04}"})
            assert_problem(r, 401)
    user = (
        await db.execute(select(User).where(User.id == world.user_id("housing_provider")))
    ).scalar_one()
    await db.refresh(user)
    assert user.locked_until is not None
    # The right password is refused by the other instance too while locked.
    async with _client(a, "198.51.100.40") as c:
        r = await c.post(LOGIN, json={"email": address, "password": PASSWORD})
        assert_problem(r, 401)

    # The per-account cap of failed logins (10 an hour): counted by both instances together.
    limit = settings.account_login_failure_limit
    for i in range(limit - settings.lockout_threshold - 1):
        async with _client(a if i % 2 else b, f"198.51.101.{i + 1}") as c:
            r = await c.post(LOGIN, json={"email": address, "password": f"wrong-pass-{i:04}"})
            assert_problem(r, 401)
    async with _client(b, "198.51.102.1") as c:
        r = await c.post(LOGIN, json={"email": address, "password": "wrong-pass-last"})
        assert_problem(r, 429, "too-many-requests")
        assert int(r.headers["retry-after"]) > 3000


async def test_reset_requests_per_address_are_counted_by_both_instances(
    instances: list[Any], engine: AsyncEngine
) -> None:
    a, b = instances
    limit = a.state.settings.password_reset_address_limit
    async with _client(a, "192.0.2.1") as one, _client(b, "192.0.2.2") as two:
        for i in range(limit + 2):
            r = await (one if i % 2 else two).post(RESET, json={"email": NOBODY})
            assert r.status_code == 202, r.text
    # The budget is full: one bucket holds `limit` hits (the requests beyond it were dropped
    # silently), under a hashed key (no address in clear).
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT key, hits FROM rate_limit_buckets"))).all()
    assert all(NOBODY not in row.key and len(row.key) == 64 for row in rows)
    hits = {row.key: len(row.hits) for row in rows}
    assert hits[RateLimiter.key(_address_key("reset-requests", NOBODY))] == limit


async def test_export_budget_per_user_is_shared_and_answers_429(
    instances: list[Any], auth: Auth, client: httpx.AsyncClient
) -> None:
    a, b = instances
    admin = await auth.headers("cas_admin")
    async with _client(a) as one, _client(b) as two:
        for c in (one, two, one):
            r = await c.get(EXPORTS, params={"format": "csv"}, headers=admin)
            assert r.status_code == 200, r.text
        for c in (two, one):
            r = await c.get(EXPORTS, params={"format": "csv"}, headers=admin)
            body = assert_problem(r, 429, "too-many-requests")
            assert int(r.headers["retry-after"]) >= 1
            assert "export" in body["detail"]
        # The POST search export shares the user's budget.
        r = await two.post(EXPORTS, json={"format": "csv"}, headers=admin)
        assert_problem(r, 429, "too-many-requests")
        # Another user has a budget of their own.
        other = await auth.headers("case_manager", org="cas")
        r = await one.get(EXPORTS, params={"format": "xlsx"}, headers=other)
        assert r.status_code == 200, r.text


async def test_concurrent_hits_on_two_engines_never_exceed_the_limit(
    database_url: str, test_settings: Settings
) -> None:
    engines = [create_engine(database_url, test_settings) for _ in range(2)]
    try:
        limiters = [RateLimiter(e) for e in engines]
        hits = await asyncio.gather(*(limiters[i % 2].hit("race:shared", 7, 60) for i in range(30)))
        granted = [h for h in hits if h.wait is None]
        assert len(granted) == 7
        refused = [h.wait for h in hits if h.wait is not None]
        assert len(refused) == 23 and all(0 < w <= 60 for w in refused), refused
        # A refund gives one place back, on either instance.
        await limiters[1].refund(granted[0])
        assert (await limiters[0].hit("race:shared", 7, 60)).wait is None
        assert (await limiters[1].hit("race:shared", 7, 60)).wait is not None
    finally:
        await RateLimiter(engines[0]).reset()
        for e in engines:
            await e.dispose()


async def test_housekeeping_removes_expired_budgets(
    database_url: str, test_settings: Settings, db: AsyncSession
) -> None:
    engine = create_engine(database_url, test_settings)
    try:
        limits = RateLimiter(engine)
        await limits.hit("short", 5, 0.01)
        await limits.hit("long", 5, 3600)
        await asyncio.sleep(0.05)
        async with AsyncSession(bind=engine) as session:
            assert await expire_rate_limits(session, now()) == 1
            await session.commit()
            keys = (await session.execute(text("SELECT key FROM rate_limit_buckets"))).all()
        assert [k for (k,) in keys] == [RateLimiter.key("long")]
    finally:
        await RateLimiter(engine).reset()
        await engine.dispose()


async def test_a_served_instance_counts_on_a_pool_of_its_own(
    database_url: str, test_settings: Settings, engine: AsyncEngine
) -> None:
    """Started normally (its lifespan makes its engines), an instance counts hits on a small
    pool apart from the requests' pool, in the shared table."""
    settings = Settings(**(test_settings.model_dump() | {"database_url": database_url}))
    served = create_app(settings)
    try:
        async with served.router.lifespan_context(served):
            assert served.state.rate_limit_engine is not None
            assert served.state.rate_limit_engine is not served.state.engine
            async with _client(served, "203.0.113.77") as c:
                r = await c.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 40})
                assert_problem(r, 401)
        async with engine.connect() as conn:
            hits = await conn.scalar(
                text("SELECT cardinality(hits) FROM rate_limit_buckets WHERE key = :k"),
                {"k": RateLimiter.key("auth-ip:203.0.113.77")},
            )
        assert hits == 1
    finally:
        await RateLimiter(engine).reset()
