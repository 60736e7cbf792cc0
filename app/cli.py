"""The ``cas`` command: serve, migrate, bootstrap, seed, write the OpenAPI document."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
import uvicorn

from app import jobs
from app.config import Settings, get_settings
from app.db import (
    PROJECT_ROOT,
    EmbeddedPostgresInUse,
    create_engine,
    create_sessionmaker,
    embedded_postgres_started,
    resolve_database_url,
    stop_embedded_postgres,
    upgrade_database,
)
from app.errors import DomainError
from app.http import logging as http_logging
from app.main import create_app
from app.services import demo
from app.services.platform.crypto import FieldCipher
from app.storage import file_store_from_settings
from app.unit_of_work import unit_of_work

cli = typer.Typer(help="Coordinated Access System API", no_args_is_help=True, add_completion=False)
db_cli = typer.Typer(help="Database commands", no_args_is_help=True)
outbox_cli = typer.Typer(help="Email outbox commands", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(outbox_cli, name="outbox")


def _prepared_settings(*, exclusive: bool = False) -> Settings:
    """Settings with the database resolved (embedded server started) and migrated."""
    settings = get_settings()
    url = resolve_database_url(settings, exclusive=exclusive)
    upgrade_database(url)
    return settings.model_copy(update={"database_url": url})


@contextlib.contextmanager
def _embedded_postgres_stops_with_us() -> Iterator[None]:
    """SIGTERM and Ctrl-C end the command like a normal exit, so the embedded PostgreSQL it
    started is stopped too. (uvicorn finishes in-flight requests first, then re-raises the
    signal, which lands here rather than killing the process on the spot.)"""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    # Only a server this command started is stopped (a caller in the same process, e.g. a test
    # harness, may hold one of its own).
    held_before = embedded_postgres_started()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        if not held_before:
            stop_embedded_postgres()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _with_session(settings: Settings, work: Any) -> Any:
    """Run ``work(session)`` in one unit of work on a connection of its own."""
    engine = create_engine(settings.database_url or "", settings, pool=False)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


def _seed_demo(settings: Settings) -> None:
    cipher = FieldCipher(settings.field_encryption_key)
    store = file_store_from_settings(settings)
    seeded = asyncio.run(
        _with_session(settings, lambda s: demo.seed_demo(s, settings.demo_password, cipher, store))
    )
    state = "created" if seeded.created else "already present"
    typer.echo(
        f"Demo CoC {seeded.coc.code} ({state}); {seeded.clients} demo intakes recorded now. "
        f"Demo logins, password '{settings.demo_password}':"
    )
    for login in demo.DEMO_LOGINS:
        typer.echo(f"  {login}")


@cli.command()
def serve(
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed demo data; allow local dev origins")
    ] = False,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Run the API (embedded PostgreSQL when no DATABASE_URL is set), migrating first."""
    with _embedded_postgres_stops_with_us():
        try:
            settings = _prepared_settings(exclusive=True)
        except EmbeddedPostgresInUse as exc:
            typer.echo(f"Refused: {exc}", err=True)
            raise typer.Exit(1) from None
        if demo:
            _seed_demo(settings)
        http_logging.configure_logging(settings.log_level)
        typer.echo(f"Serving on http://{host}:{port} (docs at /docs)")
        uvicorn.run(
            create_app(settings, demo=demo),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            # The app decides the client address itself (CAS_TRUSTED_PROXIES).
            proxy_headers=False,
        )


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    _prepared_settings()
    typer.echo("Database is up to date.")


@cli.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option("--email")],
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True)],
    coc_code: Annotated[str, typer.Option("--coc-code")] = "XX-500",
    coc_name: Annotated[str, typer.Option("--coc-name")] = "Continuum of Care",
) -> None:
    """Create (or reset) a system administrator of a CoC."""
    settings = _prepared_settings()
    try:
        asyncio.run(
            _with_session(
                settings,
                lambda s: demo.create_admin(
                    s, email_address=email, password=password, coc_code=coc_code, coc_name=coc_name
                ),
            )
        )
    except DomainError as exc:
        typer.echo(f"Refused: {exc.detail}", err=True)
        raise typer.Exit(2)
    typer.echo(f"System admin {email.lower()} is ready for CoC {coc_code}.")


@cli.command("seed-demo")
def seed_demo() -> None:
    """Load the demo CoC and its users."""
    _seed_demo(_prepared_settings())


@cli.command()
def openapi(
    output: Annotated[Path, typer.Option("--output", "-o")] = PROJECT_ROOT
    / "openapi"
    / "openapi.json",
) -> None:
    """Write the OpenAPI document (``-`` for standard output)."""
    text = json.dumps(create_app(Settings()).openapi(), indent=2, sort_keys=True) + "\n"
    if str(output) == "-":
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    typer.echo(f"Wrote {output}")


@outbox_cli.command("deliver")
def outbox_deliver() -> None:
    """Send pending emails now."""
    settings = _prepared_settings()
    sent = asyncio.run(_with_session(settings, lambda s: jobs.deliver_emails(s, settings)))
    typer.echo(f"Sent {sent} message(s).")


@cli.command()
def maintenance() -> None:
    """Purge deleted documents past retention, orphaned files, expired keys and sessions."""
    settings = _prepared_settings()
    counts = asyncio.run(_with_session(settings, lambda s: jobs.maintain(s, settings)))
    typer.echo(json.dumps(counts))


@cli.command("queue-refresh")
def queue_refresh() -> None:
    """Recompute the household facts (and so the rank) of every open queue entry."""
    settings = _prepared_settings()

    async def run() -> int:
        engine = create_engine(settings.database_url or "", settings, pool=False)
        try:
            return await jobs.refresh_queue(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    typer.echo(json.dumps({"queue_entries_refreshed": asyncio.run(run())}))


def main() -> None:
    cli()
