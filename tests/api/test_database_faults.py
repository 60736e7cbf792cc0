"""Database faults, for real: the app talks to PostgreSQL through a TCP proxy that the tests stop
(connections refused, open ones cut), freeze (connections accepted, nothing ever answered) and
restart. Requests then answer 503 problems with ``Retry-After`` within the configured timeouts,
readiness fails fast and says which part failed, and the app recovers without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.errors import DatabaseUnavailable
from app.main import create_app
from app.models import AuditEvent, AuthSession, IdempotencyRecord
from app.models.documents import ClientFile
from app.security import create_access_token, utcnow
from app.storage import FileStore, LocalStorage
from tests.conftest import World, assert_problem
from tests.support.committed import committed_database
from tests.support.documents import PDF, count, file_part, make_client, stored_files
from tests.support.intake import INTAKES, TABLES, example

CONNECT_TIMEOUT = 1.0
STATEMENT_TIMEOUT = 1.5
POOL_TIMEOUT = 1.0
HEALTH_TIMEOUT = 0.5
SLACK = 1.0  # scheduling on a busy 2-core machine


class Proxy:
    """Forwards TCP connections to PostgreSQL; can refuse, freeze and come back on one port."""

    def __init__(self, host: str, port: int | None, unix_path: str | None) -> None:
        self.host, self.port_to, self.unix_path = host, port, unix_path
        self.server: asyncio.Server | None = None
        self.port = 0
        self.thawed = asyncio.Event()
        self.thawed.set()
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    def freeze(self) -> None:
        """Like a frozen server: connections are accepted, nothing is ever answered."""
        self.thawed.clear()

    def thaw(self) -> None:
        self.thawed.set()

    async def stop(self) -> None:
        """Like a killed server: new connections are refused, open ones are cut."""
        self.cut()
        await asyncio.sleep(0)

    def cut(self) -> None:
        """``stop`` without waiting (from a synchronous engine event, mid-transaction)."""
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._serve(reader, writer))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            if not self.thawed.is_set():
                await reader.read()  # accepted, never answered
                return
            if self.unix_path:
                up_reader, up_writer = await asyncio.open_unix_connection(self.unix_path)
            else:
                up_reader, up_writer = await asyncio.open_connection(self.host, self.port_to)
            self.writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self.thawed.wait()  # a frozen server swallows everything
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()

    async def close(self) -> None:
        await self.stop()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _proxy_for(database_url: str) -> tuple[Proxy, Any]:
    url = make_url(database_url)
    socket_dir = url.query.get("host")
    if isinstance(socket_dir, tuple):
        socket_dir = socket_dir[0]
    if socket_dir:  # the embedded server listens on a unix socket
        proxy = Proxy("", None, f"{socket_dir}/.s.PGSQL.{url.port or 5432}")
        url = url.difference_update_query(["host"])
    else:
        proxy = Proxy(url.host or "127.0.0.1", url.port or 5432, None)
    return proxy, url


@dataclass
class Faulty:
    proxy: Proxy
    client: httpx.AsyncClient
    engine: AsyncEngine
    headers: dict[str, str]
    settings: Settings


@pytest.fixture
async def faulty(
    database_url: str, engine: AsyncEngine, world: World, test_settings: Settings, tmp_path: Path
) -> AsyncIterator[Faulty]:
    proxy, url = _proxy_for(database_url)
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = test_settings.model_copy(
        update={
            "database_url": proxied,
            "db_connect_timeout_seconds": CONNECT_TIMEOUT,
            "db_statement_timeout_seconds": STATEMENT_TIMEOUT,
            "db_pool_timeout_seconds": POOL_TIMEOUT,
            "db_pool_size": 2,
            "db_max_overflow": 0,
            "health_timeout_seconds": HEALTH_TIMEOUT,
        }
    )
    app = create_app(settings)
    app.state.engine = create_engine(proxied, settings)
    app.state.sessionmaker = create_sessionmaker(app.state.engine)
    app.state.file_store = FileStore(
        LocalStorage(tmp_path / "files"), settings.field_encryption_key
    )
    # A committed login session (the app reads it over its own connections).
    user_id = world.user_id("system_admin")
    org_id = world.org_id("hmis_lead")
    session_id = uuid.uuid4()
    async with async_sessionmaker(engine)() as session:
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
        settings, user_id=user_id, organization_id=org_id, session_id=session_id
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Faulty(
                proxy, client, app.state.engine, {"Authorization": f"Bearer {token}"}, settings
            )
    finally:
        await proxy.close()
        await app.state.engine.dispose()
        async with async_sessionmaker(engine)() as session:
            await session.execute(delete(AuthSession).where(AuthSession.id == session_id))
            await session.commit()


def list_organizations(faulty: Faulty) -> Any:
    return faulty.client.get("/api/v1/organizations", headers=faulty.headers, params={"limit": 200})


async def _timed(coro: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await coro
    return response, time.monotonic() - started


def assert_unavailable(response: httpx.Response) -> None:
    body = assert_problem(response, 503, "database-unavailable")
    assert int(response.headers["retry-after"]) > 0
    assert "x-request-id" in response.headers
    assert "select" not in body["detail"].lower()


async def assert_healthy(faulty: Faulty) -> None:
    orgs = await list_organizations(faulty)
    assert orgs.status_code == 200, orgs.text
    assert orgs.json()["items"]
    ready = await faulty.client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "file_store": "ok"}}


async def test_killed_database_is_503_fast_and_recovery_needs_no_restart(faulty: Faulty) -> None:
    await assert_healthy(faulty)  # the pool now holds connections that the outage will kill

    await faulty.proxy.stop()
    for _ in range(3):
        r, elapsed = await _timed(list_organizations(faulty))
        assert_unavailable(r)
        assert elapsed < CONNECT_TIMEOUT + SLACK
    ready, elapsed = await _timed(faulty.client.get("/health/ready"))
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "checks": {"database": "unavailable", "file_store": "ok"},
    }
    assert elapsed < HEALTH_TIMEOUT + SLACK
    # Writes too, and nothing half-done.
    created = await faulty.client.post(
        "/api/v1/organizations", headers=faulty.headers, json={"name": "Outage Agency"}
    )
    assert_unavailable(created)

    await faulty.proxy.start()  # same port: the database is back
    await assert_healthy(faulty)
    names = await list_organizations(faulty)
    assert "Outage Agency" not in {o["name"] for o in names.json()["items"]}


async def test_frozen_database_is_503_within_the_timeouts(faulty: Faulty) -> None:
    await assert_healthy(faulty)

    faulty.proxy.freeze()
    # A pooled connection that no longer answers, then new connections that never complete.
    for _ in range(2):
        r, elapsed = await _timed(list_organizations(faulty))
        assert_unavailable(r)
        assert elapsed < 2 * CONNECT_TIMEOUT + SLACK
    ready, elapsed = await _timed(faulty.client.get("/health/ready"))
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "timeout", "file_store": "ok"}
    assert elapsed < HEALTH_TIMEOUT + SLACK
    # Many callers at once: none waits longer than the pool and connect timeouts allow.
    started = time.monotonic()
    answers = await asyncio.gather(*(list_organizations(faulty) for _ in range(6)))
    for answer in answers:
        assert_unavailable(answer)
    assert time.monotonic() - started < 2 * CONNECT_TIMEOUT + POOL_TIMEOUT + SLACK

    faulty.proxy.thaw()
    await assert_healthy(faulty)


async def test_a_statement_that_hangs_is_cut_at_the_statement_timeout(faulty: Faulty) -> None:
    await assert_healthy(faulty)
    maker = async_sessionmaker(faulty.engine)
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable):
        async with maker() as session:
            await session.execute(text("SELECT pg_sleep(30)"))
    assert time.monotonic() - started < STATEMENT_TIMEOUT + SLACK
    await assert_healthy(faulty)  # the connection was given back clean (or replaced)


async def test_a_connection_cut_mid_statement_is_unavailable_at_once(faulty: Faulty) -> None:
    await assert_healthy(faulty)

    async def long_statement() -> None:
        async with async_sessionmaker(faulty.engine)() as session:
            await session.execute(text("SELECT pg_sleep(1)"))

    running = asyncio.create_task(long_statement())
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await faulty.proxy.stop()
    with pytest.raises(DatabaseUnavailable):
        await running
    assert time.monotonic() - started < 0.5
    await faulty.proxy.start()
    await assert_healthy(faulty)


async def test_an_exhausted_pool_is_503_at_the_pool_timeout(faulty: Faulty) -> None:
    await assert_healthy(faulty)
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(2):  # the whole pool (size 2, no overflow) held elsewhere
            conn = await stack.enter_async_context(faulty.engine.connect())
            await conn.execute(text("SELECT 1"))
        r, elapsed = await _timed(list_organizations(faulty))
        assert_unavailable(r)
        assert POOL_TIMEOUT - 0.1 < elapsed < POOL_TIMEOUT + SLACK
    await assert_healthy(faulty)


async def test_readiness_reports_an_unwritable_file_store(faulty: Faulty, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the store's directory should be")
    app = faulty.client._transport.app  # type: ignore[attr-defined]
    app.state.file_store = FileStore(LocalStorage(blocked), faulty.settings.field_encryption_key)
    ready, elapsed = await _timed(faulty.client.get("/health/ready"))
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "file_store": "unavailable"},
    }
    assert elapsed < HEALTH_TIMEOUT + SLACK
    assert blocked.read_text().startswith("a file")


# --- no partial writes ----------------------------------------------------------------------


WRITTEN = (*TABLES, "idempotency_records", "audit_events", "notification_events", "jobs")


async def _row_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            table: (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in WRITTEN
        }


@contextlib.asynccontextmanager
async def _committed_login(
    engine: AsyncEngine, settings: Settings, world: Any, user: str, org: str
) -> AsyncIterator[dict[str, str]]:
    session_id = uuid.uuid4()
    async with async_sessionmaker(engine)() as session:
        session.add(
            AuthSession(
                id=session_id,
                user_id=world.user_id(user),
                organization_id=world.org_id(org),
                created_at=utcnow(),
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        await session.commit()
    token = create_access_token(
        settings,
        user_id=world.user_id(user),
        organization_id=world.org_id(org),
        session_id=session_id,
    )
    try:
        yield {"Authorization": f"Bearer {token}"}
    finally:
        async with async_sessionmaker(engine)() as session:
            await session.execute(delete(AuthSession).where(AuthSession.id == session_id))
            await session.commit()


@pytest.mark.parametrize("cut_at", ["first insert", "fifth insert", "commit"])
async def test_a_database_lost_mid_intake_leaves_nothing_written(
    faulty: Faulty, engine: AsyncEngine, world: World, cut_at: str
) -> None:
    """An intake writes a client, a household, an enrollment, assessments, a queue entry, an
    audit trail and an idempotency record in one transaction: the connection cut after some of
    its statements (or as it commits) leaves none of them."""
    await assert_healthy(faulty)
    executed: list[str] = []
    inserts = 0

    def after_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal inserts
        executed.append(statement.lstrip().split(None, 1)[0].upper())
        if statement.lstrip().upper().startswith("INSERT"):
            inserts += 1
            if (cut_at, inserts) in {("first insert", 1), ("fifth insert", 5)}:
                faulty.proxy.cut()

    def before_commit(conn: Any) -> None:
        if cut_at == "commit" and inserts:
            faulty.proxy.cut()

    sync_engine = faulty.engine.sync_engine
    async with _committed_login(
        engine, faulty.settings, world, "case_manager", "access_point_1"
    ) as headers:
        before = await _row_counts(engine)
        event.listen(sync_engine, "after_cursor_execute", after_execute)
        event.listen(sync_engine, "commit", before_commit)
        try:
            r = await faulty.client.post(
                INTAKES,
                json=example("placed"),
                headers=headers | {"Idempotency-Key": f"cut-{cut_at}"},
            )
        finally:
            event.remove(sync_engine, "after_cursor_execute", after_execute)
            event.remove(sync_engine, "commit", before_commit)
        assert_unavailable(r)
        # The transaction had written rows when the connection went.
        assert inserts >= (5 if cut_at == "fifth insert" else 1), executed
        await faulty.proxy.start()
        await assert_healthy(faulty)
        assert await _row_counts(engine) == before


async def test_an_upload_whose_commit_is_cut_leaves_no_row_and_no_file(
    test_settings: Settings, tmp_path: Path
) -> None:
    """The file's bytes are stored, then the database goes as the transaction commits: the
    upload answers 503, and neither the row nor the stored (encrypted) file remains."""
    async with committed_database("upload_cut") as db:
        seeded = SimpleNamespace(home=db.coc)
        async with async_sessionmaker(db.engine, expire_on_commit=False)() as session:
            person = await make_client(session, seeded)
            await session.commit()
        proxy, url = _proxy_for(db.url)
        await proxy.start()
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        settings = test_settings.model_copy(
            update={"database_url": proxied, "db_connect_timeout_seconds": CONNECT_TIMEOUT}
        )
        app = create_app(settings)
        app.state.engine = create_engine(proxied, settings)
        app.state.sessionmaker = create_sessionmaker(app.state.engine)
        files = tmp_path / "files"
        app.state.file_store = FileStore(LocalStorage(files), settings.field_encryption_key)
        stored: list[list[Path]] = []

        def before_commit(conn: Any) -> None:
            stored.append(stored_files(files))
            proxy.cut()

        world = SimpleNamespace(
            user_id=lambda key: db.coc.users[key].id, org_id=lambda key: db.coc.orgs[key].id
        )
        try:
            async with (
                _committed_login(
                    db.engine, settings, world, "case_manager", "access_point_1"
                ) as headers,
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://test"
                ) as client,
            ):
                event.listen(app.state.engine.sync_engine, "commit", before_commit)
                r = await client.post(
                    f"/api/v1/clients/{person.id}/files",
                    headers=headers | {"Idempotency-Key": "cut-upload"},
                    data={"file_type": "photo_id"},
                    files=file_part(PDF),
                )
                event.remove(app.state.engine.sync_engine, "commit", before_commit)
                assert_unavailable(r)
                # The bytes had been stored when the commit was cut; they are gone now.
                assert len(stored) == 1 and len(stored[0]) == 1, stored
                assert stored_files(files) == []
                await proxy.start()
                async with async_sessionmaker(db.engine)() as session:
                    assert await count(session, ClientFile) == 0
                    assert await count(session, IdempotencyRecord) == 0
                    assert (
                        await count(session, AuditEvent, AuditEvent.action.like("client_file%"))
                        == 0
                    )
        finally:
            await proxy.close()
            await app.state.engine.dispose()
