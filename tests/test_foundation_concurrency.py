"""Account rules under concurrency, with real commits (see tests/test_concurrency.py)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import PASSWORD
from tests.test_concurrency import committed  # noqa: F401  (module-scoped database fixture)

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
    statuses = sorted(r.status_code for r in results)
    # One rotation; the others are reuse of a spent token, which ends the session.
    assert statuses == [200, 401, 401, 401], [r.text for r in results]
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
    assert issued == 2 and revoked == "refresh_reuse"


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
