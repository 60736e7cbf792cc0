"""What every authenticated request pays for, and the checks it must keep while paying less:
pooled connections are reused (checked with one round trip, replaced when dead)."""

from __future__ import annotations

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import create_engine

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
