"""PostgreSQL LISTEN/NOTIFY: wake-ups across processes with no other server to run.

A transaction calls ``notify(session, channel, key)``; PostgreSQL delivers it when (and only if)
the transaction commits, to every process listening on the channel -- whichever API instance or
worker made the change. Each process keeps one listening connection (``Listener``), opened when
the first subscriber arrives, and hands each payload to the subscribers of that key (a user id
for the notification stream). When the connection drops, it reconnects with a backoff and tells
every subscriber to catch up (``RESYNC``), since notifications sent meanwhile were lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

log = logging.getLogger(__name__)

# What a subscriber receives when it may have missed payloads (the connection was lost).
RESYNC = "*resync*"


async def notify(session: AsyncSession, channel: str, payload: str) -> None:
    """Deliver ``payload`` on ``channel`` when the session's transaction commits."""
    await session.execute(select(func.pg_notify(channel, payload)))


class Listener:
    """One LISTEN connection per process and channel, shared by every subscriber."""

    def __init__(self, engine: AsyncEngine, channel: str, *, max_queue: int = 100) -> None:
        self.engine = engine
        self.channel = channel
        self.max_queue = max_queue
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def subscribers(self, key: str) -> int:
        """How many subscriptions ``key`` holds now (``subscribe`` adds one before it first
        awaits, so a check of this followed by ``subscribe`` is one step of the event loop)."""
        return len(self._subscribers.get(key, ()))

    @contextlib.asynccontextmanager
    async def subscribe(self, key: str) -> AsyncIterator[asyncio.Queue[str]]:
        """A queue receiving the payloads for ``key`` (and ``RESYNC``) while the block runs.
        Waits (briefly) until the listening connection is up, so nothing committed after this
        returns is missed."""
        queue: asyncio.Queue[str] = asyncio.Queue(self.max_queue)
        self._subscribers.setdefault(key, set()).add(queue)
        if self._task is None or self._task.done():
            self._ready.clear()
            self._task = asyncio.create_task(self._run())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=5)
        try:
            yield queue
        finally:
            queues = self._subscribers.get(key)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._subscribers[key]

    def _deliver(self, key: str) -> None:
        targets = (
            [q for qs in self._subscribers.values() for q in qs]
            if key == RESYNC
            else list(self._subscribers.get(key, ()))
        )
        for queue in targets:
            # A full queue has plenty to catch up on already.
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(key)

    async def _run(self) -> None:
        delay = 0.5
        first = True
        while self._subscribers:
            try:
                async with self.engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver: Any = raw.driver_connection
                    lost = asyncio.Event()

                    def on_payload(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
                        self._deliver(payload)

                    def on_lost(_conn: Any, lost: asyncio.Event = lost) -> None:
                        lost.set()

                    driver.add_termination_listener(on_lost)
                    await driver.add_listener(self.channel, on_payload)
                    self._ready.set()
                    if not first:
                        self._deliver(RESYNC)
                    first = False
                    delay = 0.5
                    try:
                        while self._subscribers and not lost.is_set():
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(lost.wait(), timeout=1.0)
                    finally:
                        if not lost.is_set():
                            with contextlib.suppress(Exception):
                                await driver.remove_listener(self.channel, on_payload)
                        driver.remove_termination_listener(on_lost)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("listen connection failed", extra={"error_type": type(exc).__name__})
                self._ready.set()  # subscribers go on; they get RESYNC once it is back
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                first = False

    async def close(self) -> None:
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
