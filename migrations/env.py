"""Alembic environment: async engine, the app's metadata, naming conventions."""

from __future__ import annotations

import asyncio
import logging.config

from alembic import context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.models import Base

config = context.config
if config.attributes.get("configure_logger", True) and config.config_file_name:
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# Several instances starting at once (``cas serve`` upgrades before it serves) take turns: the
# first holds this transaction-level advisory lock while it migrates; the others wait for it,
# then find the schema at head and have nothing to do. Released at commit or rollback.
MIGRATION_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('cas-api:migrations'))")


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from app.config import get_settings
    from app.db import resolve_database_url

    return resolve_database_url(get_settings())


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _do_run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        # Before alembic reads alembic_version: a waiting instance reads what the first wrote.
        connection.execute(MIGRATION_LOCK)
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_do_run)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
