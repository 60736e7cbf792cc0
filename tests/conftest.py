"""Test harness: a fresh PostgreSQL database built by the migrations, one transaction per test.

``TEST_DATABASE_URL`` names a server to use (a throw-away database is created on it and dropped
afterwards); without it an embedded PostgreSQL is started under ``.cas-data/test``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import create_engine, start_embedded_postgres, to_async_url, upgrade_database
from app.http.ratelimit import RateLimiter
from app.main import create_app
from app.models import AuthSession
from app.security import create_access_token, hash_password, utcnow
from app.services.demo import SeededCoc, seed_coc
from app.storage import FileStore, LocalStorage

PASSWORD = "correct-horse-battery-2026"
ROOT = Path(__file__).resolve().parent.parent


def _server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return to_async_url(url)
    return start_embedded_postgres(ROOT / ".cas-data" / "test")


async def _admin_exec(server_url: str, sql: str) -> None:
    engine = create_engine(server_url, Settings(), pool=False)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(sql))
    await engine.dispose()


@pytest.fixture(scope="session")
def test_settings() -> Settings:
    return Settings(
        environment="test",
        run_jobs_in_server=False,
        # Jobs run in the test's transaction (one connection): one at a time.
        worker_concurrency=1,
        # The live stream of a test ends soon (the fuzzer calls it too).
        sse_max_seconds=0.5,
        sse_heartbeat_seconds=0.2,
        # Webhook receivers of the tests listen on 127.0.0.1 (other loopback addresses stay
        # refused).
        webhook_allowed_networks=["127.0.0.1/32"],
        auth_rate_limit=10_000,
        password_reset_address_limit=10_000,
        data_dir=ROOT / ".cas-data" / "test-files",
    )


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    server = _server_url()
    name = f"cas_test_{uuid.uuid4().hex[:10]}"
    await _admin_exec(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade_database, url)
    yield url
    await _admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def engine(database_url: str, test_settings: Settings) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url, test_settings)
    yield eng
    await eng.dispose()


@dataclass
class World:
    """Two CoCs seeded like the demo: ``home`` (XX-501) and ``other`` (YY-502)."""

    home: SeededCoc
    other: SeededCoc

    def org_id(self, key: str, coc: str = "home") -> uuid.UUID:
        return getattr(self, coc).orgs[key].id

    def user_id(self, key: str, coc: str = "home") -> uuid.UUID:
        return getattr(self, coc).users[key].id

    def project_id(self, key: str, coc: str = "home") -> uuid.UUID:
        return getattr(self, coc).projects[key].id


@pytest.fixture(scope="session")
async def world(engine: AsyncEngine) -> World:
    hashed = await hash_password(PASSWORD)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        home = await seed_coc(
            session,
            code="XX-501",
            name="Home CoC",
            email_domain="demo.example",
            password=PASSWORD,
            password_hash=hashed,
        )
        other = await seed_coc(
            session,
            code="YY-502",
            name="Other CoC",
            email_domain="other.example",
            password=PASSWORD,
            password_hash=hashed,
        )
        await session.commit()
    return World(home=home, other=other)


@pytest.fixture(scope="session")
def app(test_settings: Settings) -> Any:
    return create_app(test_settings)


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The test's connection: everything the app commits is a savepoint, rolled back at the end."""
    async with engine.connect() as connection:
        trans = await connection.begin()
        yield connection
        if trans.is_active:
            await trans.rollback()


@pytest.fixture
async def db(conn: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session for arranging and asserting data inside the test's transaction."""
    session = AsyncSession(
        bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    yield session
    await session.close()


@pytest.fixture
def sessionmaker(conn: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions inside the test's transaction, as background jobs use them (each unit of work
    commits a savepoint)."""
    return async_sessionmaker(
        bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def client(
    app: Any, conn: AsyncConnection, engine: AsyncEngine, world: World, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    app.state.engine = engine
    app.state.sessionmaker = async_sessionmaker(
        bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    await RateLimiter(engine).reset()
    # Queued jobs (HMIS CSV exports and imports included) wait until the test runs them on the
    # test's connection (tests.support: ``run_jobs``).
    app.state.hmis_store = FileStore(
        LocalStorage(tmp_path / "hmis-files"), app.state.settings.field_encryption_key
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def files_root(tmp_path: Path) -> Path:
    """Where the test's uploaded files are stored (encrypted)."""
    return tmp_path / "files"


@pytest.fixture
def store(app: Any, files_root: Path) -> Iterator[FileStore]:
    """The app's file store for this test: a local directory of its own."""
    previous = getattr(app.state, "file_store", None)
    file_store = FileStore(LocalStorage(files_root), app.state.settings.field_encryption_key)
    app.state.file_store = file_store
    yield file_store
    app.state.file_store = previous


class Auth:
    """Issues tokens for seeded users without the password round trip (login has its own tests)."""

    def __init__(self, db: AsyncSession, world: World, settings: Settings) -> None:
        self.db = db
        self.world = world
        self.settings = settings

    async def headers(self, user: str, org: str | None = None, coc: str = "home") -> dict[str, str]:
        seeded: SeededCoc = getattr(self.world, coc)
        user_id = seeded.users[user].id
        if org is None:
            org_id = (
                await self.db.execute(
                    text(
                        "SELECT organization_id FROM memberships WHERE user_id = :u "
                        "ORDER BY created_at LIMIT 1"
                    ),
                    {"u": user_id},
                )
            ).scalar_one()
        else:
            org_id = seeded.orgs[org].id
        now = utcnow()
        auth_session = AuthSession(
            id=uuid.uuid4(),
            user_id=user_id,
            organization_id=org_id,
            created_at=now,
            expires_at=now + timedelta(hours=1),
        )
        self.db.add(auth_session)
        await self.db.flush()
        token = create_access_token(
            self.settings,
            user_id=user_id,
            organization_id=org_id,
            session_id=auth_session.id,
            coc_id=auth_session.coc_id,
        )
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def auth(db: AsyncSession, world: World, test_settings: Settings) -> Auth:
    return Auth(db, world, test_settings)


def assert_problem(
    response: httpx.Response, status: int, slug: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance"} <= set(body)
    if slug is not None:
        assert body["type"] == f"/problems/{slug}", body
    return body
