"""Column SELECTs the queue runs on every read, without the ORM's result machinery.

``session.execute`` of a statement selecting columns (never entities) still goes through the
ORM's execution and loading steps: about half a millisecond of CPU per statement on the
queue's hot reads, for nothing (no object is loaded). ``execute_plain`` runs it on the
session's connection, in the same transaction, after the same autoflush ``session.execute``
would have done.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Executable, Result
from sqlalchemy.ext.asyncio import AsyncSession


async def execute_plain(
    session: AsyncSession, stmt: Executable, params: Mapping[str, Any] | None = None
) -> Result[Any]:
    if session.sync_session.autoflush:
        await session.flush()
    connection = await session.connection()
    return await connection.execute(stmt, dict(params or {}))


__all__ = ["execute_plain"]
