"""The ``cas`` command: serve, migrate, bootstrap, seed, write the OpenAPI document."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
import uvicorn
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from app import jobs, rotation
from app.config import Settings, get_settings
from app.context import Actor
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
from app.http.heap import settle_heap
from app.main import create_app
from app.permissions import Permission
from app.services import demo
from app.services.hmis import exports as hmis_exports
from app.services.hmis import imports as hmis_imports
from app.services.hmis.runtime import HmisRuntime
from app.services.identity.auth import memberships_by_email
from app.services.platform.crypto import cipher_for
from app.storage import file_store_from_settings, hmis_file_store_from_settings
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
    cipher = cipher_for(settings)
    store = file_store_from_settings(settings)
    seeded = asyncio.run(
        _with_session(
            settings,
            lambda s: demo.seed_demo(s, settings.demo_password, cipher, store, settings),
        )
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
        bool,
        typer.Option("--demo/--no-demo", help="Seed demo data; allow local dev origins"),
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
        application = create_app(settings, demo=demo)
        settle_heap()
        typer.echo(f"Serving on http://{host}:{port} (docs at /docs)")
        uvicorn.run(
            application,
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


async def _with_sessionmaker(settings: Settings, work: Any) -> Any:
    """Run ``work(sessionmaker)`` (units of work of its own) on a small pool, then close it."""
    engine = create_engine(settings.database_url or "", settings)
    try:
        return await work(create_sessionmaker(engine))
    finally:
        await engine.dispose()


@outbox_cli.command("deliver")
def outbox_deliver() -> None:
    """Send pending emails now (retries waiting for their backoff included)."""
    settings = _prepared_settings()
    sent = asyncio.run(_with_sessionmaker(settings, lambda sm: jobs.deliver_emails(sm, settings)))
    typer.echo(f"Sent {sent} message(s).")


@cli.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Run the jobs due now (and scheduled ones), then exit")
    ] = False,
) -> None:
    """Run background jobs: email and webhook delivery, notification fan-out, scans and
    housekeeping. Several workers (and servers) may run at once against one database."""
    with _embedded_postgres_stops_with_us():
        settings = _prepared_settings()
        http_logging.configure_logging(settings.log_level)
        asyncio.run(_with_sessionmaker(settings, lambda sm: _work(sm, settings, once=once)))


async def _work(sessionmaker: Any, settings: Settings, *, once: bool) -> None:
    if once:
        runner = jobs.runner(sessionmaker, settings)
        typer.echo(f"Worker {runner.worker_id} started.")
        sys.stdout.flush()
        ran = await runner.run_until_idle()
        typer.echo(f"Ran {ran} job(s).")
        return
    lanes = jobs.runners(sessionmaker, settings)
    typer.echo(f"Worker {lanes[0].worker_id} started.")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await asyncio.gather(*(lane.run_forever(stop) for lane in lanes))
    typer.echo(f"Worker {lanes[0].worker_id} stopped.")


@cli.command()
def maintenance() -> None:
    """Purge deleted documents past retention, orphaned files, expired keys and sessions."""
    settings = _prepared_settings()
    counts = asyncio.run(_with_session(settings, lambda s: jobs.maintain(s, settings)))
    typer.echo(json.dumps(counts))


@cli.command("rotate-keys")
def rotate_keys(
    batch_size: Annotated[int, typer.Option(help="Rows per transaction.")] = 500,
) -> None:
    """Re-encrypt SSNs, webhook secrets and stored files under the newest key of
    CAS_FIELD_ENCRYPTION_KEYS (and recompute SSN search hashes). Safe while the API serves;
    resumable and idempotent: run it again after an interruption."""
    settings = _prepared_settings()

    async def run() -> dict[str, int]:
        engine = create_engine(settings.database_url or "", settings, pool=False)
        try:
            counts = await rotation.rotate_keys(
                create_sessionmaker(engine),
                settings,
                cipher_for(settings),
                [file_store_from_settings(settings), hmis_file_store_from_settings(settings)],
                batch_size=batch_size,
            )
            return counts.as_dict()
        finally:
            await engine.dispose()

    typer.echo(json.dumps(asyncio.run(run())))


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


# --- HUD HMIS CSV ---------------------------------------------------------------------------------


async def _cli_actor(
    sessions: Any, email_address: str, coc_code: str, permission: Permission
) -> Actor:
    async with unit_of_work(sessions) as session:
        actors = await memberships_by_email(session, email_address, coc_code)
    for actor in actors:
        if actor.can(permission):
            return actor
    raise DomainError(
        f"{email_address} has no membership in {coc_code} allowed to {permission.value}."
    )


async def _follow(sessions: Any, model: Any, job_id: Any, task: Any, label: str) -> None:
    """A progress bar over the job's files until ``task`` ends (read from its row, as
    ``GET`` does)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    ) as bar:
        files = bar.add_task(label, total=24)
        while not task.done():
            async with unit_of_work(sessions) as session:
                job = await session.get(model, job_id, populate_existing=True)
                progress = (job.progress if job is not None else {}) or {}
            done = progress.get("files", {})
            step = sum(
                1
                for f in done.values()
                if f.get("loaded") is not None or f.get("keys_checked") or "rows" in f
            )
            bar.update(
                files,
                completed=min(step, 24),
                description=f"{label}: {progress.get('phase', 'queued')}",
            )
            await asyncio.sleep(0.3)
        bar.update(files, completed=24)


@cli.command("import-hmis-csv")
def import_hmis_csv(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    user: Annotated[str, typer.Option("--user", help="Email of a system admin of the CoC.")],
    coc_code: Annotated[str, typer.Option("--coc-code")] = demo.DEMO_COC_CODE,
    allow_missing_files: Annotated[
        bool, typer.Option("--allow-missing-files", help="Read absent FY2026 files as empty.")
    ] = False,
    data_source: Annotated[
        str | None, typer.Option("--data-source", help="Default: Export.csv's ImplementationID.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the findings (JSON) to this file.")
    ] = None,
) -> None:
    """Validate and load a HUD HMIS CSV FY2026 zip (what POST /api/v1/imports/hmis-csv does).
    Exits 0 when loaded, 1 when refused or failed."""
    settings = _prepared_settings()
    status = asyncio.run(
        _import_hmis_csv(settings, path, user, coc_code, allow_missing_files, data_source, report)
    )
    raise typer.Exit(0 if status == "succeeded" else 1)


async def _import_hmis_csv(
    settings: Settings,
    path: Path,
    user: str,
    coc_code: str,
    allow_missing_files: bool,
    data_source: str | None,
    report: Path | None,
) -> str:
    engine = create_engine(settings.database_url or "", settings)
    sessions = create_sessionmaker(engine)
    try:
        try:
            actor = await _cli_actor(sessions, user, coc_code, Permission.HMIS_IMPORT)
        except DomainError as exc:
            typer.echo(f"Refused: {exc.detail}", err=True)
            return "refused"
        runtime = HmisRuntime.from_settings(settings, sessions, cipher_for(settings))
        options: dict[str, Any] = {"allow_missing_files": allow_missing_files}
        if data_source:
            options["data_source"] = data_source
        async with unit_of_work(sessions) as session:
            job = await hmis_imports.create_cli_import(session, actor, path, options)
        task = asyncio.create_task(hmis_imports.run_import(runtime, job.id, path=path))
        await _follow(sessions, hmis_imports.HmisImport, job.id, task, "import")
        status = await task
        async with unit_of_work(sessions) as session:
            done = await session.get(hmis_imports.HmisImport, job.id)
            assert done is not None
            summary, counts, error = done.summary, done.counts, done.error
            issues = (await hmis_imports.all_issues(session, done)) if report else []
        typer.echo(
            f"Import {job.id}: {status} (findings: {summary.get('high', 0)} high, "
            f"{summary.get('warning', 0)} warning, {summary.get('info', 0)} info)"
        )
        for group in summary.get("groups", []):
            if group["severity"] == "high":
                where = ".".join(p for p in (group["file"], group["column"]) if p)
                typer.echo(f"  high {where or '(archive)'} {group['rule']} x{group['count']}")
        for file, values in counts.items():
            changed = ", ".join(f"{k} {v}" for k, v in values.items() if v)
            if changed:
                typer.echo(f"  {file}: {changed}")
        if error:
            typer.echo(f"  error: {error}", err=True)
        if report is not None:
            content = json.dumps({"status": status, "summary": summary, "issues": issues}, indent=2)
            await asyncio.to_thread(report.write_text, content)
        return str(status)
    finally:
        await engine.dispose()


@cli.command("export-hmis-csv")
def export_hmis_csv(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the zip.")],
    user: Annotated[str, typer.Option("--user", help="Email of an admin of the CoC.")],
    start: Annotated[str, typer.Option("--start", help="First day, yyyy-mm-dd.")],
    end: Annotated[str, typer.Option("--end", help="Last day, yyyy-mm-dd.")],
    coc_code: Annotated[str, typer.Option("--coc-code")] = demo.DEMO_COC_CODE,
    project: Annotated[
        list[str] | None, typer.Option("--project", help="A project id (repeat); default all.")
    ] = None,
    hashed: Annotated[bool, typer.Option("--hashed", help="HashStatus 4 (SHA-256).")] = False,
) -> None:
    """Write a HUD HMIS CSV FY2026 export of the period and projects to a zip (what
    POST /api/v1/exports/hmis-csv does)."""
    settings = _prepared_settings()
    status = asyncio.run(
        _export_hmis_csv(settings, output, user, coc_code, start, end, project, hashed)
    )
    raise typer.Exit(0 if status == "succeeded" else 1)


async def _export_hmis_csv(
    settings: Settings,
    output: Path,
    user: str,
    coc_code: str,
    start: str,
    end: str,
    projects: list[str] | None,
    hashed: bool,
) -> str:
    engine = create_engine(settings.database_url or "", settings)
    sessions = create_sessionmaker(engine)
    try:
        try:
            actor = await _cli_actor(sessions, user, coc_code, Permission.HMIS_EXPORT)
            async with unit_of_work(sessions) as session:
                job = await hmis_exports.create_export(
                    session,
                    actor,
                    start_date=date.fromisoformat(start),
                    end_date=date.fromisoformat(end),
                    project_ids=[uuid.UUID(p) for p in projects] if projects else None,
                    hashed=hashed,
                )
        except (DomainError, ValueError) as exc:
            typer.echo(f"Refused: {getattr(exc, 'detail', exc)}", err=True)
            return "refused"
        runtime = HmisRuntime.from_settings(settings, sessions, cipher_for(settings))
        task = asyncio.create_task(hmis_exports.run_export(runtime, job.id))
        await _follow(sessions, hmis_exports.HmisExport, job.id, task, "export")
        status = await task
        async with unit_of_work(sessions) as session:
            done = await session.get(hmis_exports.HmisExport, job.id)
            assert done is not None
            key, error = done.storage_key, done.error
        if status == "succeeded" and key is not None:
            size = 0
            with open(output, "wb") as fh:  # noqa: ASYNC230 (a local file, written in chunks)
                async for chunk in runtime.store.open(key):
                    await asyncio.to_thread(fh.write, chunk)
                    size += len(chunk)
            typer.echo(f"Export {job.id}: {output} ({size} bytes)")
        else:
            typer.echo(f"Export {job.id}: {status} {error or ''}", err=True)
        return str(status)
    finally:
        await engine.dispose()


def main() -> None:
    cli()
