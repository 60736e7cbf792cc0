"""What every authenticated request pays for, and the checks it must keep while paying less:
pooled connections are reused (checked with one round trip, replaced when dead) and no
dependency runs in a worker thread."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi.dependencies.models import Dependant
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import create_engine
from tests.test_role_probe import _api_routes

# --- the connection pool ------------------------------------------------------------------------


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def test_pooled_connections_are_reused(database_url: str, test_settings: Settings) -> None:
    """The check before use must succeed on a live connection: if it failed, every request
    would open (and PostgreSQL start) a new connection."""
    engine = create_engine(database_url, test_settings)
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))
    try:
        for _ in range(5):
            async with engine.connect() as conn:
                assert await conn.scalar(text("SELECT 1")) == 1
        assert len(opened) == 1
    finally:
        await engine.dispose()


async def test_a_dead_pooled_connection_is_replaced_before_use(
    database_url: str, test_settings: Settings
) -> None:
    engine = create_engine(database_url, test_settings)
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))
    try:
        async with engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        # Killed while pooled (from a connection outside the pool).
        killer = await asyncpg.connect(_plain(database_url))
        try:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        for _ in range(3):
            async with engine.connect() as conn:
                assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
        assert len(opened) == 2  # the first, and the one that replaced it
    finally:
        await engine.dispose()


# --- dependencies -------------------------------------------------------------------------------


def _sync_calls(dependant: Dependant) -> set[str]:
    import inspect

    found: set[str] = set()
    for sub in dependant.dependencies:
        found |= _sync_calls(sub)
    call = dependant.call
    if call is not None:
        target = call if inspect.isfunction(call) or inspect.ismethod(call) else call.__call__  # type: ignore[operator]
        if not inspect.iscoroutinefunction(target):
            found.add(getattr(call, "__qualname__", repr(call)))
    return found


def test_no_route_runs_a_dependency_or_handler_in_a_worker_thread(app: Any) -> None:
    """FastAPI runs plain ``def`` dependencies and handlers in its thread pool: a thread hop per
    call, on every request. Ours do no blocking work, so they are all ``async def``."""
    found: dict[str, set[str]] = {}
    routes = _api_routes(app.routes)
    assert len(routes) > 50
    for route in routes:
        for name in _sync_calls(route.dependant):
            found.setdefault(name, set()).add(route.path)
    assert found == {}
