"""The live notification stream (Server-Sent Events) of one signed-in user.

It subscribes to the process's LISTEN connection (``platform.listen``) for the user's id, so a
notification made by any worker or API instance reaches every open stream of that user, on any
instance, as soon as its transaction commits. Events sent:

* ``unread_count`` -- ``{"unread": n}``, first and after every change of the inbox;
* ``notification`` -- a new notification (the same body as ``GET /notifications/{id}``), with
  its id as the SSE ``id`` so a reconnecting client (``Last-Event-ID``) gets what it missed.

A comment line keeps the connection alive every ``CAS_SSE_HEARTBEAT_SECONDS``; each time, the
session is checked again (a logout, a removed membership or a deactivated account ends the
stream), and the stream ends when the access token expires (the client reconnects with a new
one). Nothing holds a database connection between events.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.context import Actor
from app.models.notifications import Notification
from app.services.identity.auth import actor_still_valid
from app.services.notifications import inbox
from app.services.platform.listen import Listener
from app.unit_of_work import unit_of_work

# Browsers reconnect after this many milliseconds when the stream ends.
RETRY_MS = 3000


def _event(name: str, data: str, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {name}\ndata: {data}\n\n"


# Notifications are stamped when inserted but seen by others only once committed: a stream
# looks this far back each time, so one committed late is not missed (ids sent are skipped).
LATE_COMMIT = timedelta(seconds=30)


async def _resume_point(session: AsyncSession, actor: Actor, last_event_id: str | None) -> datetime:
    """Where the stream starts: after the notification the client saw last (if it is one of
    theirs), else now."""
    if last_event_id:
        try:
            seen = uuid.UUID(last_event_id)
        except ValueError:
            seen = None
        if seen is not None:
            found = await session.scalar(
                inbox.mine(actor)
                .where(Notification.id == seen)
                .with_only_columns(Notification.created_at)
            )
            if found is not None:
                return found
    return clock.now()


async def stream(
    sessionmaker: async_sessionmaker[AsyncSession],
    listener: Listener,
    actor: Actor,
    *,
    heartbeat_seconds: float,
    ends_at: datetime,
    last_event_id: str | None = None,
    disconnected: Callable[[], Awaitable[bool]] | None = None,
    max_streams: int | None = None,
) -> AsyncIterator[str]:
    """The SSE text of the user's stream, until ``ends_at`` or the client goes away. Empty at
    once when the user holds ``max_streams`` streams on this process already (the route
    answers 429 before; this holds for a burst of simultaneous requests too)."""
    key = str(actor.user_id)
    if max_streams is not None and listener.subscribers(key) >= max_streams:
        return
    async with listener.subscribe(key) as queue:
        async with unit_of_work(sessionmaker) as session:
            start = await _resume_point(session, actor, last_event_id)
            floor = start - LATE_COMMIT
            # What the client has (everything up to the start) is not sent again.
            sent = {
                n.id: n.created_at
                for n in await inbox.newer_than(session, actor, floor, limit=1000)
                if n.created_at <= start
            }
        yield f"retry: {RETRY_MS}\n\n"
        changed = True
        while True:
            if changed:
                async with unit_of_work(sessionmaker) as session:
                    fresh = await inbox.newer_than(session, actor, floor, limit=200)
                    count = await inbox.unread_count(session, actor)
                now = clock.now()
                for n in fresh:
                    if n.id in sent:
                        continue
                    sent[n.id] = n.created_at
                    body = inbox.read(n, now).model_dump_json()
                    yield _event("notification", body, str(n.id))
                yield _event("unread_count", json.dumps({"unread": count}))
                if sent:
                    floor = max(floor, max(sent.values()) - LATE_COMMIT)
                    sent = {k: at for k, at in sent.items() if at > floor}
            remaining = (ends_at - clock.now()).total_seconds()
            if remaining <= 0 or (disconnected is not None and await disconnected()):
                return
            try:
                await asyncio.wait_for(queue.get(), timeout=min(heartbeat_seconds, remaining))
                changed = True
                while not queue.empty():  # one catch-up for a burst
                    queue.get_nowait()
            except TimeoutError:
                changed = False
                async with unit_of_work(sessionmaker) as session:
                    if not await actor_still_valid(session, actor):
                        return
                yield ": keep-alive\n\n"
