"""Several instances, as deployed behind a load balancer: two ``cas serve`` processes and two
``cas worker`` processes on one PostgreSQL database, driven over HTTP alternating between the
servers. The rules the database holds hold across them: one active match per unit, one open
CE enrollment per client, an Idempotency-Key replayed on the other instance, each scheduled job
once per slot, the live stream of one instance fed by a write on the other, the account
lockout and a rate limit (a user's exports). (Every rate limit across two apps in one process:
tests/api/test_rate_limits_shared.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.config import Settings
from app.models import AuthSession
from app.security import create_access_token, utcnow
from tests.api.test_notification_stream import sse_events
from tests.conftest import PASSWORD
from tests.support.committed import Committed, committed_database
from tests.support.intake import INTAKES, example

SCHEDULE_SECONDS = 1
LOGIN = "/api/v1/auth/login"
SECRET_KEY = "several-instances-" + "0" * 32
SETTINGS = Settings(environment="test", secret_key=SECRET_KEY)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _cas(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from app.cli import main; main()",
        *args,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )


async def _ready(base: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        while time.monotonic() < deadline:
            assert process.returncode is None, "cas serve exited"
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/health/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError(f"{base} did not become ready")


@contextlib.asynccontextmanager
async def _deployment(db: Committed, data_dir: Path) -> AsyncIterator[list[str]]:
    """Two servers (their base URLs) and two workers; every process ended on the way out,
    whatever happened."""
    env = {
        **os.environ,
        "CAS_DATABASE_URL": db.url,
        "CAS_ENVIRONMENT": "test",
        "CAS_DATA_DIR": str(data_dir),
        "CAS_LOG_LEVEL": "WARNING",
        "CAS_SECRET_KEY": SECRET_KEY,
        # The servers run jobs too (the default): four runners share the queue.
        "CAS_RUN_JOBS_IN_SERVER": "true",
        "CAS_WORKER_POLL_SECONDS": "0.05",
        "CAS_MAINTENANCE_INTERVAL_SECONDS": str(SCHEDULE_SECONDS),
        "CAS_NOTIFICATION_SCAN_INTERVAL_SECONDS": str(SCHEDULE_SECONDS),
        "CAS_NOTIFICATION_SWEEP_INTERVAL_SECONDS": str(SCHEDULE_SECONDS),
        "CAS_QUEUE_REFRESH_INTERVAL_SECONDS": str(SCHEDULE_SECONDS),
        "CAS_SSE_HEARTBEAT_SECONDS": "0.3",
        # The address budget of the auth routes stays out of the way (every login here comes
        # from 127.0.0.1); a user's exports are limited to two.
        "CAS_AUTH_RATE_LIMIT": "100000",
        "CAS_EXPORT_RATE_LIMIT": "2",
        "CAS_PASSWORD_RESET_ADDRESS_LIMIT": "100000",
    }
    ports = [_free_port(), _free_port()]
    processes: list[asyncio.subprocess.Process] = []
    try:
        for port in ports:
            processes.append(await _cas(env, "serve", "--no-demo", "--port", str(port)))
        for _ in range(2):
            processes.append(await _cas(env, "worker"))
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        await asyncio.gather(*(_ready(b, p) for b, p in zip(bases, processes, strict=False)))
        yield bases
        for process in processes:
            assert process.returncode is None, "a process of the deployment died"
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()


async def _signed_in(db: Committed, user: str, org: str) -> dict[str, str]:
    """A session as a login makes it (its row and token), without paying for the password hash
    each time: the servers know the session only from the database."""
    session_id = uuid.uuid4()
    user_id, org_id = db.coc.users[user].id, db.coc.orgs[org].id
    async with async_sessionmaker(db.engine)() as session:
        session.add(
            AuthSession(
                id=session_id,
                user_id=user_id,
                organization_id=org_id,
                created_at=utcnow(),
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        await session.commit()
    token = create_access_token(
        SETTINGS, user_id=user_id, organization_id=org_id, session_id=session_id
    )
    return {"Authorization": f"Bearer {token}"}


async def _scalar(db: Committed, sql: str, **params: Any) -> Any:
    async with db.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def test_two_servers_and_two_workers_keep_the_rules(tmp_path: Path) -> None:
    async with committed_database("instances") as db, _deployment(db, tmp_path) as (a, b):
        started = time.time()
        http = {base: httpx.AsyncClient(base_url=base, timeout=30) for base in (a, b)}
        try:
            await _rules(db, http[a], http[b])
        finally:
            for client in http.values():
                await client.aclose()
        ended = time.time()
    # (the database is dropped once the processes are gone: checked inside)
    assert ended - started < 60


async def _rules(db: Committed, a: httpx.AsyncClient, b: httpx.AsyncClient) -> None:
    manager = await _signed_in(db, "case_manager", "cas")
    admin = await _signed_in(db, "cas_admin", "cas")

    # --- the live stream on A gets what a write on B made --------------------------------
    async with a.stream("GET", "/api/v1/notifications/stream", headers=admin) as stream:
        assert stream.status_code == 200
        events = sse_events(stream)
        name, data, _ = await asyncio.wait_for(anext(events), timeout=20)
        assert (name, json.loads(data)) == ("unread_count", {"unread": 0})
        other_manager = await _signed_in(db, "case_manager2", "access_point_2")
        placed = await b.post(INTAKES, json=example("placed"), headers=other_manager)
        assert placed.status_code == 201, placed.text
        name, data, _ = await asyncio.wait_for(anext(events), timeout=20)
        assert name == "notification", (name, data)
        assert json.loads(data)["client_id"] == placed.json()["client"]["id"]

    # --- one open CE enrollment per client, intakes racing on both instances ----------------
    r = await a.post(
        "/api/v1/clients", headers=manager, json={"first_name": "Twice", "last_name": "Placed"}
    )
    assert r.status_code == 201, r.text
    client_id = r.json()["id"]
    body: dict[str, Any] = example("pending")
    body.pop("client", None)
    body["client_id"] = client_id
    results = await asyncio.gather(
        *[(a, b)[i % 2].post(INTAKES, headers=manager, json=body) for i in range(4)]
    )
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409], [r.text for r in results]
    assert (
        await _scalar(
            db,
            "SELECT count(*) FROM enrollments WHERE client_id = :c AND is_coordinated_entry "
            "AND exit_date IS NULL",
            c=uuid.UUID(client_id),
        )
        == 1
    )

    # --- one active match per unit, referrals racing on both instances -----------------------
    entries = []
    for i in range(4):
        intake = example("placed")
        intake["client"] = {**intake["client"], "first_name": f"Race{i}", "last_name": "Unit"}
        r = await (a, b)[i % 2].post(INTAKES, json=intake, headers=manager)
        assert r.status_code == 201, r.text
        entries.append(uuid.UUID(r.json()["queue_entry"]["id"]))
    async with db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE queue_entries SET intake_status = 'approved' WHERE id = ANY(:ids)"),
            {"ids": entries},
        )
    provider = await _signed_in(db, "housing_provider", "housing_1")
    r = await b.post(
        f"/api/v1/projects/{db.coc.projects['h1_psh'].id}/units",
        json={"label": "Race-1", "bedrooms": 1},
        headers=provider,
    )
    assert r.status_code == 201, r.text
    unit_id = r.json()["id"]
    results = await asyncio.gather(
        *[
            (a, b)[i % 2].post(
                "/api/v1/matches",
                json={"unit_id": unit_id, "queue_entry_id": str(entry)},
                headers=admin,
            )
            for i, entry in enumerate(entries)
        ]
    )
    assert sorted(r.status_code for r in results) == [201] + [409] * 3, [
        r.text for r in results if r.status_code != 409
    ]
    assert (
        await _scalar(
            db,
            "SELECT count(*) FROM matches WHERE unit_id = :u AND status IN ('sent', 'accepted')",
            u=uuid.UUID(unit_id),
        )
        == 1
    )

    # --- an Idempotency-Key replayed on the other instance --------------------------------
    keyed = manager | {"Idempotency-Key": f"instances-{uuid.uuid4()}"}
    body = {"first_name": "Once", "last_name": "Across"}
    first = await a.post("/api/v1/clients", headers=keyed, json=body)
    assert first.status_code == 201, first.text
    replay = await b.post("/api/v1/clients", headers=keyed, json=body)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    other_body = await b.post("/api/v1/clients", headers=keyed, json={**body, "first_name": "X"})
    assert other_body.status_code == 422, other_body.text
    assert await _scalar(db, "SELECT count(*) FROM clients WHERE last_name = 'Across'") == 1

    # --- the lockout counts failures on both instances -----------------------------------
    email = "vsp_case_manager@demo.example"
    for i in range(5):
        r = await (a, b)[i % 2].post(LOGIN, json={"email": email, "password": f"wrong-{i:03}"})
        assert r.status_code == 401, r.text
    for side in (a, b):
        r = await side.post(LOGIN, json={"email": email, "password": PASSWORD})
        assert r.status_code == 401, r.text
    assert await _scalar(db, "SELECT locked_until IS NOT NULL FROM users WHERE email = :e", e=email)

    # --- a user's export budget is one budget, whichever instance answers -----------------
    for side, expected in ((a, 200), (b, 200), (a, 429), (b, 429)):
        r = await side.get("/api/v1/queue-exports", params={"format": "csv"}, headers=admin)
        assert r.status_code == expected, r.text
    assert int(r.headers["retry-after"]) >= 1

    # --- each scheduled job ran once per slot, though four runners share the schedules ----
    await asyncio.sleep(2 * SCHEDULE_SECONDS)
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT kind, dedupe_key, attempts, status FROM jobs "
                    "WHERE dedupe_key LIKE 'schedule:%'"
                )
            )
        ).all()
    by_kind: dict[str, list[Any]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    assert set(by_kind) == {
        "maintenance",
        "notifications.scan",
        "notifications.sweep",
        "queue.refresh",
    }, by_kind
    for kind, runs in by_kind.items():
        slots = [int(r.dedupe_key.rsplit(":", 1)[1]) for r in runs]
        assert len(slots) == len(set(slots)), kind  # one job per slot
        # Each slot's job ran once (no second claim), bar one still running or not yet claimed
        # at the end.
        assert all(r.attempts == 1 or (r.attempts, r.status) == (0, "queued") for r in runs), runs
        assert sum(r.status != "succeeded" for r in runs) <= 1, runs
        # Slots follow the clock, not the number of runners.
        assert len(runs) <= max(slots) - min(slots) + 1
