"""Helpers of the notification, job and webhook tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import jobs
from app.config import Settings
from app.models.notifications import Notification
from app.models.platform import NotificationEvent
from app.services.platform import events
from tests.support.intake import INTAKES, example

FAN_OUT = [events.FAN_OUT]


async def run_jobs(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    kinds: Sequence[str] | None = None,
) -> int:
    """Run the due jobs (of ``kinds``) until none is left; no schedules."""
    return await jobs.runner(sessionmaker, settings, scheduled=False).run_until_idle(kinds)


async def intake(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    kind: str = "placed",
    **changes: Any,
) -> dict[str, Any]:
    r = await client.post(INTAKES, json=example(kind, **changes), headers=headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def user_keys(world: Any, coc: str = "home") -> dict[uuid.UUID, str]:
    return {user.id: key for key, user in getattr(world, coc).users.items()}


async def recipients(
    db: AsyncSession, world: Any, kind: str, *, client_id: Any = None, event_id: Any = None
) -> set[str]:
    """The seeded users (by key) holding a notification of ``kind`` (about ``client_id``, of
    ``event_id``)."""
    stmt = select(Notification.user_id).where(Notification.kind == kind)
    if client_id is not None:
        stmt = stmt.where(Notification.client_id == uuid.UUID(str(client_id)))
    if event_id is not None:
        stmt = stmt.where(Notification.event_id == event_id)
    names = user_keys(world) | user_keys(world, "other")
    return {names.get(u, str(u)) for u in (await db.scalars(stmt)).all()}


async def events_of(db: AsyncSession, kind: str) -> list[NotificationEvent]:
    return list(
        (
            await db.scalars(
                select(NotificationEvent)
                .where(NotificationEvent.event_type == kind)
                .order_by(NotificationEvent.created_at)
            )
        ).all()
    )


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local HTTP receiver of webhooks: records every request, answers ``status``."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    status: int = 204
    delay: float = 0.0
    # The webhook-id of every request as it arrives (before the receiver's delay).
    arrived: list[str] = field(default_factory=list)


@contextmanager
def receiver(status: int = 204, delay: float = 0.0) -> Iterator[Receiver]:
    """Listens on 127.0.0.1 (an allowed network in the test settings) in a thread."""
    state = Receiver(url="")
    state.status = status
    state.delay = delay
    lock = threading.Lock()
    closing = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                state.arrived.append(self.headers.get("webhook-id", ""))
            if state.delay:
                closing.wait(state.delay)
            with lock:
                state.requests.append(Received(self.path, dict(self.headers.items()), body))
                answer = state.statuses.pop(0) if state.statuses else state.status
            self.send_response(answer)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/cas"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        closing.set()  # requests still waiting out their delay are answered now
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
