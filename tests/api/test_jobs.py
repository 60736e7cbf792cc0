"""The job runner: claims with a lease, runs each job once, retries with exponential backoff and
jitter, dead-letters after its tries, lets a lapsed lease be taken over; schedules run once per
slot whatever the number of workers; system admins list and retry the dead letter."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.config import Settings
from app.models.jobs import Job
from app.services.platform import jobs
from app.services.platform.jobs import JobContext, JobFailed, JobKind, JobRunner, Schedule
from tests.conftest import Auth, World, assert_problem


class Recorder:
    """Handlers that count their runs and fail on demand."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, int]] = []
        self.fail_times = 0
        self.error: Exception = JobFailed("the receiver answered HTTP 503")

    async def handler(self, ctx: JobContext) -> None:
        self.runs.append((ctx.payload["n"], ctx.attempt))
        if self.fail_times:
            self.fail_times -= 1
            raise self.error


def runner(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    recorder: Recorder,
    worker_id: str = "worker-a",
    schedules: tuple[Schedule, ...] = (),
) -> JobRunner:
    kinds = {"test.job": JobKind("test.job", recorder.handler)}
    return JobRunner(sessionmaker, kinds, settings, schedules=schedules, worker_id=worker_id)


async def add_job(db: AsyncSession, n: str, **kw: Any) -> Job:
    job = jobs.add(db, "test.job", {"n": n}, **kw)
    await db.flush()
    return job


async def test_each_job_runs_once_and_running_again_does_nothing(
    db: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], test_settings: Settings
) -> None:
    recorder = Recorder()
    for n in "abc":
        await add_job(db, n)
    first = runner(sessionmaker, test_settings, recorder)
    assert await first.run_until_idle() == 3
    assert await first.run_until_idle() == 0
    assert await runner(sessionmaker, test_settings, recorder, "worker-b").run_until_idle() == 0
    assert sorted(recorder.runs) == [("a", 1), ("b", 1), ("c", 1)]
    rows = (await db.scalars(select(Job).execution_options(populate_existing=True))).all()
    assert {(r.status, r.attempts, r.locked_by) for r in rows} == {("succeeded", 1, "worker-a")}
    assert all(r.finished_at is not None and r.lease_expires_at is None for r in rows)


async def test_a_job_once_only_by_key(db: AsyncSession) -> None:
    assert await jobs.add_once(db, "test.job", {"n": "x"}, dedupe_key="k-1")
    assert not await jobs.add_once(db, "test.job", {"n": "y"}, dedupe_key="k-1")
    assert await db.scalar(select(func.count()).select_from(Job)) == 1


async def test_failures_back_off_exponentially_with_jitter_then_dead_letter(
    db: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], test_settings: Settings
) -> None:
    settings = test_settings.model_copy(
        update={"job_retry_base_seconds": 10.0, "job_retry_max_seconds": 25.0}
    )
    recorder = Recorder()
    recorder.fail_times = 10
    job = await add_job(db, "a", max_attempts=4)
    work = runner(sessionmaker, settings, recorder)
    delays = []
    for attempt in range(1, 5):
        before = clock.now()
        assert await work.run_once() == 1
        row = await db.get(Job, job.id, populate_existing=True)
        assert row is not None and row.attempts == attempt
        assert row.last_error == "JobFailed: the receiver answered HTTP 503"
        if attempt < 4:
            assert row.status == "queued" and row.lease_expires_at is None
            delays.append((row.run_after - before).total_seconds())
            assert await work.run_once() == 0  # not due before its backoff
            await db.execute(update(Job).where(Job.id == job.id).values(run_after=clock.now()))
            await db.flush()
        else:
            assert row.status == "dead" and row.finished_at is not None
    # 10, 20, 40 -> capped at 25; each times a random factor in [0.5, 1].
    for delay, nominal in zip(delays, (10, 20, 25), strict=True):
        assert nominal * 0.5 - 0.1 <= delay <= nominal + 0.5, delays
    assert [a for _, a in recorder.runs] == [1, 2, 3, 4]
    assert await work.run_until_idle() == 0  # the dead letter is never claimed


def test_backoff_is_exponential_capped_and_jittered() -> None:
    rng = random.Random(7)
    samples = [jobs.backoff_seconds(a, 2.0, 60.0, rng) for a in range(1, 9) for _ in range(50)]
    assert min(samples) >= 1.0 and max(samples) <= 60.0
    by_attempt = {a: [jobs.backoff_seconds(a, 2.0, 60.0, rng) for _ in range(200)] for a in (1, 3)}
    assert min(by_attempt[1]) >= 1.0 and max(by_attempt[1]) <= 2.0
    assert min(by_attempt[3]) >= 4.0 and max(by_attempt[3]) <= 8.0
    assert len({round(s, 6) for s in by_attempt[3]}) > 100  # jittered, not fixed


async def test_errors_keep_their_type_only(
    db: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], test_settings: Settings
) -> None:
    recorder = Recorder()
    recorder.fail_times = 1
    recorder.error = ValueError("client Jordan Rivera, SSN 123-45-6789")
    job = await add_job(db, "a")
    await runner(sessionmaker, test_settings, recorder).run_once()
    row = await db.get(Job, job.id, populate_existing=True)
    assert row is not None and row.last_error == "ValueError"


async def test_a_lapsed_lease_is_taken_over_and_the_old_worker_cannot_clobber_it(
    db: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], test_settings: Settings
) -> None:
    recorder = Recorder()
    job = await add_job(db, "a")
    a = runner(sessionmaker, test_settings, recorder, "worker-a")
    b = runner(sessionmaker, test_settings, recorder, "worker-b")
    [claimed] = await a.claim(5)
    assert await b.claim(5) == []  # leased to worker-a
    # worker-a dies; its lease lapses.
    await db.execute(update(Job).values(lease_expires_at=clock.now() - timedelta(seconds=1)))
    await db.flush()
    [taken] = await b.claim(5)
    assert taken.id == job.id and taken.attempt == 2
    await b.run_claimed(taken)
    # worker-a comes back and reports a failure: its claim no longer stands.
    await a._finish_failed(claimed, "late", dead=True)
    row = await db.get(Job, job.id, populate_existing=True)
    assert row is not None and row.status == "succeeded" and row.locked_by == "worker-b"


async def test_a_job_whose_last_try_died_with_its_worker_is_dead_lettered(
    db: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], test_settings: Settings
) -> None:
    recorder = Recorder()
    job = await add_job(db, "a", max_attempts=1)
    work = runner(sessionmaker, test_settings, recorder)
    await work.claim(5)
    await db.execute(update(Job).values(lease_expires_at=clock.now() - timedelta(seconds=1)))
    await db.flush()
    assert await work.run_once() == 1
    row = await db.get(Job, job.id, populate_existing=True)
    assert row is not None and row.status == "dead" and recorder.runs == []


async def test_a_schedule_runs_once_per_slot_however_many_workers(
    db: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], test_settings: Settings
) -> None:
    recorder = Recorder()
    schedule = (Schedule("test.job", 3600, {"n": "scheduled"}),)
    workers = [runner(sessionmaker, test_settings, recorder, f"w{i}", schedule) for i in range(3)]
    now = clock.now()
    queued = [await w.enqueue_scheduled(now) for w in workers]
    assert sum(queued) == 1
    for w in workers:
        await w.run_until_idle()
    assert recorder.runs == [("scheduled", 1)]
    # The same slot later: nothing; the next slot: one more.
    assert sum([await w.enqueue_scheduled(now + timedelta(seconds=1)) for w in workers]) == 0
    assert sum([await w.enqueue_scheduled(now + timedelta(hours=1)) for w in workers]) == 1


# --- the API (system admins) ------------------------------------------------------------------


async def test_system_admins_list_and_retry_the_dead_letter(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    recorder = Recorder()
    recorder.fail_times = 1
    dead = await add_job(db, "a", max_attempts=1, coc_id=world.home.coc.id)
    fine = await add_job(db, "b")
    other = await add_job(db, "c", coc_id=world.other.coc.id)
    await runner(sessionmaker, test_settings, recorder).run_until_idle()
    headers = await auth.headers("system_admin")
    listed = await client.get("/api/v1/jobs", params={"status": "dead"}, headers=headers)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["id"] == str(dead.id) and item["kind"] == "test.job"
    assert item["attempts"] == 1 and item["last_error"].startswith("JobFailed")
    everything = await client.get("/api/v1/jobs", headers=headers)
    ids = {i["id"] for i in everything.json()["items"]}
    # The CoC's and the deployment's own; not another CoC's.
    assert {str(dead.id), str(fine.id)} <= ids and str(other.id) not in ids
    assert_problem(await client.get(f"/api/v1/jobs/{other.id}", headers=headers), 404)
    assert_problem(await client.post(f"/api/v1/jobs/{other.id}/retry", headers=headers), 404)
    # Only a dead job is retried.
    assert_problem(await client.post(f"/api/v1/jobs/{fine.id}/retry", headers=headers), 409)

    retried = await client.post(f"/api/v1/jobs/{dead.id}/retry", headers=headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "queued" and retried.json()["attempts"] == 0
    await runner(sessionmaker, test_settings, recorder).run_until_idle()
    one = await client.get(f"/api/v1/jobs/{dead.id}", headers=headers)
    assert one.json()["status"] == "succeeded"
    assert [n for n, _ in recorder.runs].count("a") == 2


@pytest.mark.parametrize("user", ["cas_admin", "agency_admin", "case_manager", "housing_provider"])
async def test_only_system_admins_see_jobs(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, user: str
) -> None:
    job = await add_job(db, "a")
    headers = await auth.headers(user)
    assert_problem(await client.get("/api/v1/jobs", headers=headers), 403)
    assert_problem(await client.post(f"/api/v1/jobs/{job.id}/retry", headers=headers), 403)
    row = await db.get(Job, job.id, populate_existing=True)
    assert row is not None and row.status == "queued"


async def test_unknown_status_filter_is_refused(client: httpx.AsyncClient, auth: Auth) -> None:
    headers = await auth.headers("system_admin")
    assert_problem(
        await client.get("/api/v1/jobs", params={"status": "zombie"}, headers=headers), 422
    )
    assert_problem(await client.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=headers), 404)
