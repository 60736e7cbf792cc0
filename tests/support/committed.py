"""A database of its own with real commits (for what the per-test transaction cannot show:
NOTIFY is delivered at commit, other processes see only committed rows), and the service on
loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.config import Settings
from app.db import create_engine, upgrade_database
from app.services.demo import SeededCoc, seed_coc
from tests.conftest import PASSWORD, _admin_exec, _server_url


@dataclass
class Committed:
    url: str
    engine: AsyncEngine
    coc: SeededCoc


@contextlib.asynccontextmanager
async def committed_database(prefix: str) -> AsyncIterator[Committed]:
    """A throw-away database, migrated, with the home CoC seeded; dropped afterwards."""
    server = _server_url()
    name = f"cas_{prefix}_{uuid.uuid4().hex[:10]}"
    await _admin_exec(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade_database, url)
        engine = create_engine(url, Settings(environment="test"))
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            coc = await seed_coc(
                session,
                code="XX-501",
                name="Home CoC",
                email_domain="demo.example",
                password=PASSWORD,
            )
            await session.commit()
        try:
            yield Committed(url=url, engine=engine, coc=coc)
        finally:
            await engine.dispose()
    finally:
        await _admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """The app under uvicorn on a free loopback port (its lifespan runs); its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "the server did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)
