"""What the readiness check asks of the database."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def ping_database(engine: AsyncEngine) -> None:
    """Raise unless the database answers a trivial statement."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
