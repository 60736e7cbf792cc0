"""The live stream (Server-Sent Events) delivers a notification made on another API instance:
PostgreSQL LISTEN/NOTIFY, no other server. Two instances of the service share one database;
the stream is open on the first, the second runs the jobs in-process (as ``cas serve`` does by
default) and makes the notification."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from app.config import Settings
from app.main import create_app
from tests.conftest import PASSWORD
from tests.support.committed import committed_database, serving
from tests.support.intake import INTAKES, example


async def login(base: str, email: str, organization_id: str | None = None) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base) as c:
        body: dict[str, Any] = {"email": email, "password": PASSWORD}
        if organization_id:
            body["organization_id"] = organization_id
        r = await c.post("/api/v1/auth/login", json=body)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, str, str | None]]:
    """(event, data, id) of each event of a text/event-stream."""
    name, data, event_id = "message", "", None
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield name, data, event_id
            name, data, event_id = "message", "", None
        elif line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line.startswith("id: "):
            event_id = line[4:]


async def test_the_stream_delivers_notifications_made_on_another_instance(tmp_path: Path) -> None:
    async with committed_database("stream") as db:
        common: dict[str, Any] = {
            "environment": "test",
            "database_url": db.url,
            "data_dir": tmp_path,
            "auth_rate_limit": 10_000,
            "sse_heartbeat_seconds": 0.3,
            "sse_max_seconds": 60,
            "maintenance_interval_seconds": 0,
            "notification_scan_interval_seconds": 0,
            "notification_sweep_interval_seconds": 0,
        }
        streaming = create_app(Settings(**common, run_jobs_in_server=False))
        working = create_app(Settings(**common, run_jobs_in_server=True, worker_poll_seconds=0.05))
        async with serving(streaming) as a, serving(working) as b:
            cas_org = str(db.coc.orgs["cas"].id)
            admin = await login(a, "cas_admin@demo.example", cas_org)
            manager = await login(b, "case_manager2@demo.example")
            received: list[tuple[str, Any, str | None]] = []
            async with (
                httpx.AsyncClient(base_url=a, timeout=30) as http,
                http.stream("GET", "/api/v1/notifications/stream", headers=admin) as response,
            ):
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                events = sse_events(response)

                async def next_event() -> tuple[str, Any, str | None]:
                    name, data, event_id = await asyncio.wait_for(anext(events), timeout=20)
                    received.append((name, json.loads(data), event_id))
                    return received[-1]

                assert await next_event() == ("unread_count", {"unread": 0}, None)
                # On the other instance: an intake places a household (its outcome notifies
                # the CAS admins); that instance's job runner makes the notification.
                async with httpx.AsyncClient(base_url=b, timeout=30) as other:
                    r = await other.post(INTAKES, json=example("placed"), headers=manager)
                    assert r.status_code == 201, r.text
                    name, body, event_id = await next_event()
                    assert name == "notification", received
                    assert body["kind"] == "enrollment.outcome_changed"
                    assert body["client_id"] == r.json()["client"]["id"]
                    assert event_id == body["id"]
                    assert await next_event() == ("unread_count", {"unread": 1}, None)
                    # Dismissed elsewhere (the other instance): the bell follows.
                    dismissed = await other.post(
                        f"/api/v1/notifications/{body['id']}/dismiss",
                        headers=await login(b, "cas_admin@demo.example", cas_org),
                    )
                    assert dismissed.status_code == 200, dismissed.text
                    assert await next_event() == ("unread_count", {"unread": 0}, None)

            # While no stream is open, another household is placed; reconnecting with the last
            # event id received sends what was missed, then the count.
            seen_id = received[1][2]
            async with httpx.AsyncClient(base_url=b, timeout=30) as other:
                r = await other.post(INTAKES, json=example("placed"), headers=manager)
                assert r.status_code == 201, r.text
            async with httpx.AsyncClient(base_url=a, timeout=30) as http:
                for _ in range(200):
                    bell = await http.get("/api/v1/notifications/unread-count", headers=admin)
                    if bell.json()["unread"] == 1:
                        break
                    await asyncio.sleep(0.05)
                assert bell.json() == {"unread": 1}
                async with http.stream(
                    "GET",
                    "/api/v1/notifications/stream",
                    headers={**admin, "Last-Event-ID": str(seen_id)},
                ) as response:
                    events = sse_events(response)
                    name, data, event_id = await asyncio.wait_for(anext(events), timeout=20)
                    assert name == "notification" and event_id != seen_id
                    assert json.loads(data)["client_id"] == r.json()["client"]["id"]
                    name, data, _ = await asyncio.wait_for(anext(events), timeout=20)
                    assert (name, json.loads(data)) == ("unread_count", {"unread": 1})
