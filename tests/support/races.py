"""Two committed transactions interleaved deterministically (no timing): the first does its
work and stays open, the second starts and runs until the server's lock table shows it waiting
for the first (or it finished), then the first commits and the second's outcome is read."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.context import Actor
from app.db import create_sessionmaker
from app.services.identity.auth import memberships_by_email

T = TypeVar("T")


async def seeded_actor(engine: AsyncEngine, email: str, organization_id: uuid.UUID) -> Actor:
    """The demo user's actor acting for ``organization_id`` (XX-501), as a request loads it."""
    async with create_sessionmaker(engine)() as session:
        actors = await memberships_by_email(session, email, "XX-501")
    [actor] = [a for a in actors if a.organization_id == organization_id]
    return actor


async def backend_pid(session: AsyncSession) -> int:
    """The server process of the session's connection (its transaction begins here)."""
    pid = await session.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


async def finished_or_waiting(
    engine: AsyncEngine, task: asyncio.Task[None], waiter: int, holder: int
) -> str | None:
    """Let ``task`` (running on server process ``waiter``) run until it either finishes or waits
    for a lock held by ``holder``; the lock type it waits on then (None: it finished). Decided by
    the server's lock table, never by time (the bound only stops a broken test)."""
    async with asyncio.timeout(120), engine.connect() as conn:
        while not task.done():
            waiting = (
                await conn.execute(
                    text(
                        "SELECT locktype FROM pg_locks WHERE pid = :w AND NOT granted "
                        "AND :h = ANY(pg_blocking_pids(:w))"
                    ),
                    {"w": waiter, "h": holder},
                )
            ).scalar()
            if waiting is not None:
                return str(waiting)
    await task  # its exception, if any
    return None


@dataclass
class Interleaved:
    first: object  # what ``first`` returned
    waited_on: str | None  # the lock type the second waited on (None: it did not wait)
    error: BaseException | None  # what the second raised once the first had committed


async def second_waits(
    engine: AsyncEngine,
    first: Callable[[AsyncSession], Awaitable[object]],
    second: Callable[[AsyncSession], Awaitable[object]],
) -> Interleaved:
    """``first`` runs on its own session (flushed, uncommitted); ``second`` runs on another and
    commits, until it waits for the first; the first commits; the second's outcome is kept."""
    sessions = create_sessionmaker(engine)
    async with sessions() as one, sessions() as two:
        holder = await backend_pid(one)
        done = await first(one)
        waiter = await backend_pid(two)

        async def run_second() -> None:
            await second(two)
            await two.commit()

        task = asyncio.create_task(run_second())
        waited_on = await finished_or_waiting(engine, task, waiter, holder)
        await one.commit()
        try:
            await task
        except Exception as exc:  # the outcome under test
            return Interleaved(done, waited_on, exc)
    return Interleaved(done, waited_on, None)
