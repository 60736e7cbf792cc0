"""HMIS CSV jobs on committed transactions (a database of their own): an import's progress is
readable while it runs, a crash in the middle of the load leaves nothing written, and the job
runner running it again (its worker died: the lease lapsed) loads everything once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import jobs
from app.config import Settings
from app.db import create_engine, create_sessionmaker, upgrade_database
from app.services.demo import seed_coc
from app.services.hmis import imports
from app.services.hmis.runtime import IMPORT_JOB, HmisRuntime, JobProgress, queue_run
from app.services.identity.auth import memberships_by_email
from app.services.platform.crypto import cipher_for
from app.storage import FileStore, LocalStorage
from app.unit_of_work import unit_of_work
from tests.conftest import PASSWORD, _admin_exec, _server_url
from tests.support.hmis import datalab_zip


@pytest.fixture(scope="module")
async def committed() -> AsyncIterator[AsyncEngine]:
    server = _server_url()
    name = f"cas_hmis_jobs_{uuid.uuid4().hex[:10]}"
    await _admin_exec(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade_database, url)
    engine = create_engine(url, Settings(environment="test"))
    async with async_sessionmaker(engine)() as session:
        await seed_coc(
            session, code="XX-501", name="Home CoC", email_domain="demo.example", password=PASSWORD
        )
        await session.commit()
    yield engine
    await engine.dispose()
    await _admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _queued(
    engine: AsyncEngine, tmp_path: Path, source: str
) -> tuple[HmisRuntime, uuid.UUID]:
    """An import of the repaired DataLab sample, uploaded and queued, from data source
    ``source`` (the same source ids from another source are other records)."""
    sessions = create_sessionmaker(engine)
    settings = Settings(environment="test")
    runtime = HmisRuntime.from_settings(
        settings,
        sessions,
        cipher_for(settings),
        FileStore(LocalStorage(tmp_path / "store"), settings.field_encryption_key),
    )
    runtime = HmisRuntime(
        sessionmaker=runtime.sessionmaker,
        cipher=runtime.cipher,
        store=runtime.store,
        limits=runtime.limits,
        work_dir=tmp_path / "work",
        export_retention=runtime.export_retention,
    )
    data = datalab_zip(repaired=True)

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    async with unit_of_work(sessions) as session:
        (actor,) = await memberships_by_email(session, "system_admin@demo.example", "XX-501")
        stored = await imports.store_upload(
            session, actor, runtime.store, chunks(), max_bytes=len(data)
        )
        job = await imports.create_import(
            session, actor, stored, file_name="datalab.zip", options={"data_source": source}
        )
    return runtime, job.id


async def _state(engine: AsyncEngine, job_id: uuid.UUID) -> dict[str, Any]:
    async with AsyncSession(engine) as session:
        row = (
            await session.execute(
                text("SELECT status, progress FROM hmis_imports WHERE id = :id"), {"id": job_id}
            )
        ).one()
    return {"status": row.status, "progress": row.progress}


async def _imported_clients(engine: AsyncEngine) -> int:
    async with AsyncSession(engine) as session:
        return int(
            await session.scalar(
                text(
                    "SELECT count(*) FROM clients c WHERE c.id IN (SELECT e.client_id FROM "
                    "enrollments e JOIN projects p ON p.id = e.project_id WHERE p.name LIKE "
                    "'DataLab%')"
                )
            )
            or 0
        )


class _Observed(JobProgress):
    """The import's progress, written at every update (no interval), read back from another
    connection right after each write, while the import's own transaction is still open: what a
    ``GET`` would see at that moment. ``on_write`` may pause the import there."""

    seen: list[dict[str, Any]]
    engine: AsyncEngine
    on_write: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    async def flush(self, *, force: bool = False, **columns: Any) -> None:
        await super().flush(force=force, **columns)
        state = await _state(self.engine, self.job_id)
        self.seen.append(state)
        if self.on_write is not None:
            await self.on_write(state)


def _observe(
    monkeypatch: pytest.MonkeyPatch,
    engine: AsyncEngine,
    on_write: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def make(*args: Any, **kwargs: Any) -> JobProgress:
        progress = _Observed(*args, interval=0.0, **kwargs)
        progress.seen, progress.engine, progress.on_write = seen, engine, on_write
        return progress

    monkeypatch.setattr(imports, "JobProgress", make)
    return seen


async def test_progress_is_readable_while_the_import_runs(
    committed: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, job_id = await _queued(committed, tmp_path, "progress")
    seen = _observe(monkeypatch, committed)
    assert await imports.run_import(runtime, job_id) == "succeeded"
    running = [s for s in seen if s["status"] in ("validating", "loading")]
    assert running, seen[:3]
    # Rows validated per file were visible before the end, and loaded ones during the load.
    assert any(f.get("validated") for s in running for f in s["progress"].get("files", {}).values())
    assert any(
        s["status"] == "loading" and any(f.get("loaded") for f in s["progress"]["files"].values())
        for s in running
    )
    final = await _state(committed, job_id)
    assert final["progress"]["phase"] == "done"
    assert final["progress"]["files"]["Client"]["loaded"] == 514


async def test_a_crash_in_the_load_leaves_nothing_and_a_new_run_loads_it_once(
    committed: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await _imported_clients(committed)
    runtime, job_id = await _queued(committed, tmp_path, "crash")
    mid_load = asyncio.Event()

    async def hold_once_clients_are_loaded(state: dict[str, Any]) -> None:
        files = state["progress"].get("files", {})
        if state["status"] == "loading" and files.get("Client", {}).get("loaded"):
            mid_load.set()
            await asyncio.Future()  # the worker stops here, its transaction open, until killed

    _observe(monkeypatch, committed, hold_once_clients_are_loaded)
    task = asyncio.create_task(imports.run_import(runtime, job_id))
    # The load has written rows (inside its open transaction): the worker dies there.
    paused = asyncio.create_task(mid_load.wait())
    await asyncio.wait({task, paused}, return_when=asyncio.FIRST_COMPLETED)
    paused.cancel()
    assert mid_load.is_set() and not task.done(), "the load ended before it could be interrupted"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    monkeypatch.undo()
    assert await _imported_clients(committed) == before
    assert (await _state(committed, job_id))["status"] == "loading"  # unfinished: to run again

    # What the job runner does: the job of the worker that died is claimed again once its
    # lease lapsed, and the import runs again from the start.
    settings = Settings(environment="test", data_dir=tmp_path / "data")
    async with unit_of_work(runtime.sessionmaker) as session:
        coc_id = await session.scalar(
            text("SELECT coc_id FROM hmis_imports WHERE id = :id"), {"id": job_id}
        )
        queue_run(session, IMPORT_JOB, job_id, coc_id)
    async with unit_of_work(runtime.sessionmaker) as session:
        await session.execute(
            text(
                "UPDATE jobs SET status = 'running', attempts = 1, locked_by = 'dead-worker', "
                "lease_expires_at = now() - interval '1 second' WHERE dedupe_key = :key"
            ),
            {"key": f"{IMPORT_JOB}:{job_id}"},
        )
    lane = jobs.runner(runtime.sessionmaker, settings, scheduled=False, hmis_store=runtime.store)
    assert await lane.run_until_idle([IMPORT_JOB]) == 1
    assert (await _state(committed, job_id))["status"] == "succeeded"
    assert await _imported_clients(committed) == before + 514
    # Once: the same zip again changes nothing.
    runtime2, again = await _queued(committed, tmp_path / "again", "crash")
    assert await imports.run_import(runtime2, again) == "succeeded"
    assert await _imported_clients(committed) == before + 514
