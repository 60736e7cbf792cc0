"""The migrations are the only way the schema is made: they must build exactly what the models
describe, and come down and go up again cleanly."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import alembic_config, create_engine, to_async_url, upgrade_database
from app.models import Base
from tests.conftest import _admin_exec, _server_url


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


async def _drift(url: str) -> list[Any]:
    engine = create_engine(url, Settings(), pool=False)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_differences)
    finally:
        await engine.dispose()


async def _tables(url: str) -> set[str]:
    engine = create_engine(url, Settings(), pool=False)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_the_migrated_database_is_what_the_models_describe(database_url: str) -> None:
    # Autogenerate against a freshly migrated database finds nothing to do.
    assert await _drift(database_url) == []


async def test_downgrade_to_base_then_upgrade_again() -> None:
    server = _server_url()
    name = f"cas_migrations_{uuid.uuid4().hex[:10]}"
    await _admin_exec(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade_database, url)
        assert "clients" in await _tables(url)
        await asyncio.to_thread(command.downgrade, alembic_config(to_async_url(url)), "base")
        assert await _tables(url) <= {"alembic_version"}
        await asyncio.to_thread(upgrade_database, url)
        assert await _drift(url) == []
        engine = create_engine(url, Settings(), pool=False)
        async with engine.connect() as conn:
            applied = (await conn.scalars(text("SELECT version_num FROM alembic_version"))).all()
        await engine.dispose()
        script = ScriptDirectory.from_config(alembic_config(to_async_url(url)))
        assert sorted(applied) == sorted(script.get_heads())
    finally:
        await _admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_two_instances_upgrading_a_fresh_database_at_once_take_turns() -> None:
    """``cas serve`` upgrades before it serves: several starting together must not race (the
    migrations run under an advisory lock; the later ones find the schema at head)."""
    server = _server_url()
    name = f"cas_migrations_{uuid.uuid4().hex[:10]}"
    await _admin_exec(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        # Separate processes, as separate instances are (alembic's context is process-global).
        code = "import sys; from app.db import upgrade_database; upgrade_database(sys.argv[1])"
        runs = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", code, url, stderr=asyncio.subprocess.PIPE
            )
            for _ in range(3)
        ]
        outcomes = [await asyncio.wait_for(run.communicate(), timeout=300) for run in runs]
        assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in outcomes]
        assert await _drift(url) == []
        engine = create_engine(url, Settings(), pool=False)
        async with engine.connect() as conn:
            applied = (await conn.scalars(text("SELECT version_num FROM alembic_version"))).all()
            coc_trigger = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_trigger WHERE tgname = 'enrollment_assessments_coc_id'"
                )
            )
        await engine.dispose()
        script = ScriptDirectory.from_config(alembic_config(to_async_url(url)))
        assert sorted(applied) == sorted(script.get_heads()) == ["0022_rate_limit_clock"]
        assert coc_trigger == 1
    finally:
        await _admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
