"""Account rules under concurrency, with real commits (see tests/api/test_concurrency.py)."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.test_concurrency import committed  # noqa: F401  (module-scoped database fixture)
from tests.conftest import PASSWORD

LOGIN = "/api/v1/auth/login"


async def test_concurrent_refreshes_with_one_token_rotate_it_once(
    committed: tuple[httpx.AsyncClient, AsyncEngine],  # noqa: F811
) -> None:
    client, engine = committed
    r = await client.post(LOGIN, json={"email": "case_manager2@demo.example", "password": PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["refresh_token"]
    results = await asyncio.gather(
        *[client.post("/api/v1/auth/refresh", json={"refresh_token": token}) for _ in range(4)]
    )
    # Several tabs refreshing at once: one rotation, and every tab gets the same new pair.
    assert [r.status_code for r in results] == [200] * 4, [r.text for r in results]
    pairs = {(r.json()["access_token"], r.json()["refresh_token"]) for r in results}
    assert len(pairs) == 1
    ((access, new_refresh),) = pairs
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 200
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": new_refresh})
    assert r.status_code == 200, r.text
    async with engine.connect() as conn:
        issued = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM refresh_tokens t "
                    "JOIN auth_sessions s ON s.id = t.session_id "
                    "JOIN users u ON u.id = s.user_id "
                    "WHERE u.email = 'case_manager2@demo.example'"
                )
            )
        ).scalar_one()
        revoked = (
            await conn.execute(
                text(
                    "SELECT revoke_reason FROM auth_sessions s JOIN users u ON u.id = s.user_id "
                    "WHERE u.email = 'case_manager2@demo.example'"
                )
            )
        ).scalar_one()
    assert issued == 3 and revoked is None


async def test_concurrent_reuse_after_the_grace_window_revokes_the_session(
    committed: tuple[httpx.AsyncClient, AsyncEngine],  # noqa: F811
) -> None:
    client, engine = committed
    r = await client.post(LOGIN, json={"email": "cas_admin@demo.example", "password": PASSWORD})
    assert r.status_code == 200, r.text
    first = r.json()["refresh_token"]
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert r.status_code == 200, r.text
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE refresh_tokens SET used_at = used_at - interval '21 seconds' "
                "WHERE used_at IS NOT NULL"
            )
        )
    results = await asyncio.gather(
        *[client.post("/api/v1/auth/refresh", json={"refresh_token": first}) for _ in range(3)]
    )
    assert [r.status_code for r in results] == [401] * 3, [r.text for r in results]
    async with engine.connect() as conn:
        reasons = (
            (
                await conn.execute(
                    text(
                        "SELECT revoke_reason FROM auth_sessions s "
                        "JOIN users u ON u.id = s.user_id "
                        "WHERE u.email = 'cas_admin@demo.example'"
                    )
                )
            )
            .scalars()
            .all()
        )
        detected = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM audit_events WHERE action = 'auth.refresh_reuse_detected'"
                )
            )
        ).scalar_one()
    assert reasons == ["refresh_reuse"] and detected == 1


async def test_parallel_wrong_passwords_all_count_towards_the_lockout(
    committed: tuple[httpx.AsyncClient, AsyncEngine],  # noqa: F811
) -> None:
    client, engine = committed
    email = "housing_provider@demo.example"
    results = await asyncio.gather(
        *[
            client.post(LOGIN, json={"email": email, "password": f"wrong-password-{i:03}"})
            for i in range(8)
        ]
    )
    assert {r.status_code for r in results} == {401}
    async with engine.connect() as conn:
        locked = (
            await conn.execute(
                text("SELECT locked_until IS NOT NULL FROM users WHERE email = :e"), {"e": email}
            )
        ).scalar_one()
        counted = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM audit_events a JOIN users u ON u.id = a.actor_user_id "
                    "WHERE u.email = :e AND a.action IN ('auth.login_failed', "
                    "'auth.login_refused_locked')"
                ),
                {"e": email},
            )
        ).scalar_one()
    assert locked and counted == 8
    # Locked: the right password is refused too.
    r = await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert r.status_code == 401


async def test_failed_logins_do_not_stall_other_requests(
    committed: tuple[httpx.AsyncClient, AsyncEngine],  # noqa: F811
) -> None:
    """Password hashing runs beside the event loop: while logins hash, the server still answers."""
    client, _ = committed

    async def live() -> float:
        """A liveness check arriving a moment from now: the time until it is answered."""
        started = time.perf_counter()
        await asyncio.sleep(0.002)
        r = await client.get("/health/live")
        assert r.status_code == 200
        return time.perf_counter() - started

    baseline = statistics.median([await live() for _ in range(10)])
    started = time.perf_counter()
    r = await client.post(LOGIN, json={"email": "nobody-0@demo.example", "password": "x" * 12})
    one_login = time.perf_counter() - started
    assert r.status_code == 401

    storm = asyncio.gather(
        *[
            client.post(
                LOGIN, json={"email": f"nobody-{i}@demo.example", "password": "wrong-pass-123"}
            )
            for i in range(1, 9)
        ]
    )
    during: list[float] = []
    while not storm.done():
        during.append(await live())
    assert {r.status_code for r in await storm} == {401}
    # Hashing on the loop held the checks for whole hashes (a few checks, a mean of several
    # hundred ms); beside it, a check waits a small part of one login (generous bounds for a busy
    # machine).
    waited = statistics.mean(during)
    assert waited < max(one_login / 3, 5 * baseline), (waited, len(during), one_login, baseline)
