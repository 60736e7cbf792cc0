"""Background jobs: rows of work in ``jobs`` that any number of workers share safely.

* **Enqueue** in the caller's transaction (``add`` / ``add_once``): a job exists exactly when
  the change that asked for it was committed. ``dedupe_key`` makes a job once-only (one
  delivery job per email, one fan-out per event, one run per schedule slot).
* **Claim** (``JobRunner.claim``): ``SELECT ... FOR UPDATE SKIP LOCKED`` in a short transaction
  that marks the rows ``running`` with a lease and is **committed before the job does any
  network call**: no row lock is held while an email or a webhook is sent, and two workers never
  claim the same job. A worker renews the lease while the job runs; a worker that dies stops
  renewing it, and once it expires another worker takes the job over.
* **Finish**: success marks it ``succeeded``; a failure puts it back in the queue after an
  exponential backoff with jitter (``base * 2^(attempt-1)``, capped, times a random factor in
  [0.5, 1]); after ``max_attempts`` tries it is ``dead`` (the dead letter, listed for system
  admins, who may retry it).
* **Schedules** (every N seconds): each worker, when a new slot begins, inserts the slot's job
  with the key ``schedule:<kind>:<slot>``; the unique key makes it one run per slot however many
  workers there are.

Handlers must be idempotent: a job can run again after a crash between its work and its
``succeeded`` mark (the lease expires). Database work is made idempotent by unique keys; work
outside it (an email, a webhook) is marked done right after it succeeded, so at most the one
in-flight message of a crashed worker is sent twice (emails carry a stable ``Message-ID``,
webhooks a stable ``webhook-id``, for receivers to recognize it).

This module knows no job kinds: the composition root (``app.jobs``) registers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.config import Settings
from app.context import Actor
from app.errors import Conflict, NotFound
from app.models.jobs import Job
from app.reference.notifications import JobStatus
from app.schemas.pagination import PageParams
from app.services.platform import audit
from app.services.platform.pagination import PageOf, paginate
from app.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 8
_ERROR_LENGTH = 500


class JobFailed(Exception):
    """A failure whose message is safe to keep and show (it holds no data): "HTTP 500 from the
    receiver". Any other exception is recorded by its type only."""


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the job, and a sessionmaker to open its own units of work (commit
    before any network call)."""

    id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    coc_id: uuid.UUID | None
    sessionmaker: async_sessionmaker[AsyncSession]

    @property
    def last_attempt(self) -> bool:
        """This try is the last one: a failure now dead-letters the job."""
        return self.attempt >= self.max_attempts


JobHandler = Callable[[JobContext], Awaitable[None]]


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: JobHandler


@dataclass(frozen=True)
class Schedule:
    """Run ``kind`` every ``interval_seconds`` (0 or less: never)."""

    kind: str
    interval_seconds: float
    payload: dict[str, Any] = field(default_factory=dict)


# --- enqueue ------------------------------------------------------------------------------------


def add(
    session: AsyncSession,
    kind: str,
    payload: Mapping[str, Any] | None = None,
    *,
    coc_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    run_after: datetime | None = None,
) -> Job:
    """Queue a job in the caller's transaction. ``dedupe_key`` must be new (a key made from a
    fresh id); for a key that may exist already, use ``add_once``."""
    job = Job(
        id=uuid.uuid4(),
        kind=kind,
        payload=dict(payload or {}),
        coc_id=coc_id,
        dedupe_key=dedupe_key,
        max_attempts=max_attempts,
        run_after=run_after or clock.now(),
        status=JobStatus.QUEUED.value,
        attempts=0,
    )
    session.add(job)
    return job


async def add_once(
    session: AsyncSession,
    kind: str,
    payload: Mapping[str, Any] | None,
    *,
    dedupe_key: str,
    coc_id: uuid.UUID | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    run_after: datetime | None = None,
) -> bool:
    """Queue a job unless one with ``dedupe_key`` exists (whatever its state); whether it was
    queued now."""
    inserted = await session.scalar(
        insert(Job)
        .values(
            id=uuid.uuid4(),
            kind=kind,
            payload=dict(payload or {}),
            coc_id=coc_id,
            dedupe_key=dedupe_key,
            max_attempts=max_attempts,
            run_after=run_after or clock.now(),
            status=JobStatus.QUEUED.value,
            attempts=0,
        )
        .on_conflict_do_nothing(
            index_elements=["dedupe_key"], index_where=Job.dedupe_key.is_not(None)
        )
        .returning(Job.id)
    )
    return inserted is not None


def backoff_seconds(
    attempt: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds before try ``attempt + 1``: exponential, capped, with jitter in [0.5, 1]."""
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return delay * (rng or random).uniform(0.5, 1.0)


def _error_text(exc: BaseException) -> str:
    name = type(exc).__name__
    if isinstance(exc, JobFailed) and str(exc):
        return f"{name}: {exc}"[:_ERROR_LENGTH]
    return name


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


# --- the runner ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    coc_id: uuid.UUID | None


class JobRunner:
    """Claims due jobs of the kinds it knows and runs them; ``run_forever`` in ``cas worker``
    (and inside ``cas serve``), ``run_until_idle`` for the CLI and tests."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        kinds: Mapping[str, JobKind],
        settings: Settings,
        *,
        schedules: Sequence[Schedule] = (),
        worker_id: str | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.kinds = dict(kinds)
        self.settings = settings
        self.schedules = [s for s in schedules if s.interval_seconds > 0]
        self.worker_id = worker_id or default_worker_id()
        self._slots: dict[str, int] = {}
        self._wake = asyncio.Event()

    # --- schedules ---

    async def enqueue_scheduled(self, now: datetime | None = None) -> int:
        """Queue the job of every schedule whose slot began since this worker last looked;
        the slot's unique key makes it one job per slot across all workers."""
        now = now or clock.now()
        due = []
        for schedule in self.schedules:
            slot = int(now.timestamp() // schedule.interval_seconds)
            if self._slots.get(schedule.kind) != slot:
                due.append((schedule, slot))
        if not due:
            return 0
        queued = 0
        async with unit_of_work(self.sessionmaker) as session:
            for schedule, slot in due:
                queued += await add_once(
                    session,
                    schedule.kind,
                    schedule.payload,
                    dedupe_key=f"schedule:{schedule.kind}:{slot}",
                    max_attempts=self.settings.job_max_attempts,
                )
        for schedule, slot in due:
            self._slots[schedule.kind] = slot
        return queued

    # --- claim, run, finish ---

    async def claim(self, limit: int, kinds: Collection[str] | None = None) -> list[Claimed]:
        """Take up to ``limit`` due jobs (queued and due, or running with an expired lease) in
        one committed transaction: they are this worker's until their lease expires."""
        now = clock.now()
        names = sorted(kinds if kinds is not None else self.kinds)
        claimable = (
            select(Job.id)
            .where(
                Job.kind.in_(names),
                or_(
                    (Job.status == JobStatus.QUEUED.value) & (Job.run_after <= now),
                    (Job.status == JobStatus.RUNNING.value) & (Job.lease_expires_at < now),
                ),
            )
            .order_by(Job.run_after, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("claimable")
        )
        stmt = (
            update(Job)
            .where(Job.id == claimable.c.id)
            .values(
                status=JobStatus.RUNNING.value,
                attempts=Job.attempts + 1,
                locked_by=self.worker_id,
                lease_expires_at=now + timedelta(seconds=self.settings.job_lease_seconds),
                started_at=now,
                updated_at=now,
            )
            .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts, Job.coc_id)
            .execution_options(synchronize_session=False)
        )
        async with unit_of_work(self.sessionmaker) as session:
            rows = (await session.execute(stmt)).all()
        return [Claimed(*row) for row in rows]

    async def run_claimed(self, job: Claimed) -> bool:
        """Run one claimed job and record the outcome; whether it succeeded."""
        kind = self.kinds.get(job.kind)
        if kind is None or job.attempt > job.max_attempts:
            # A kind this worker does not know (never claimed), or a job whose last try died
            # with its worker (the lease expired): dead-lettered without running again.
            await self._finish_failed(job, "lease expired on the last attempt", dead=True)
            return False
        context = JobContext(
            id=job.id,
            kind=job.kind,
            payload=job.payload,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            coc_id=job.coc_id,
            sessionmaker=self.sessionmaker,
        )
        heartbeat = asyncio.create_task(self._renew_lease(job))
        try:
            await kind.handler(context)
        except Exception as exc:
            log.warning(
                "job failed",
                extra={
                    "job_id": str(job.id),
                    "kind": job.kind,
                    "attempt": job.attempt,
                    "error_type": type(exc).__name__,
                },
            )
            await self._finish_failed(job, _error_text(exc), dead=job.attempt >= job.max_attempts)
            return False
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        await self._finish(job)
        return True

    async def _renew_lease(self, job: Claimed) -> None:
        every = max(0.05, self.settings.job_lease_seconds / 3)
        while True:
            await asyncio.sleep(every)
            try:
                async with unit_of_work(self.sessionmaker) as session:
                    await session.execute(
                        self._mine(job)
                        .values(
                            lease_expires_at=clock.now()
                            + timedelta(seconds=self.settings.job_lease_seconds)
                        )
                        .execution_options(synchronize_session=False)
                    )
            except Exception as exc:  # the lease may lapse; the outcome is still recorded
                log.warning("job lease renewal failed", extra={"error_type": type(exc).__name__})

    def _mine(self, job: Claimed) -> Any:
        """An UPDATE of the job only while this worker's claim of it stands."""
        return update(Job).where(
            Job.id == job.id,
            Job.locked_by == self.worker_id,
            Job.attempts == job.attempt,
            Job.status == JobStatus.RUNNING.value,
        )

    async def _finish(self, job: Claimed) -> None:
        now = clock.now()
        async with unit_of_work(self.sessionmaker) as session:
            await session.execute(
                self._mine(job)
                .values(
                    status=JobStatus.SUCCEEDED.value,
                    lease_expires_at=None,
                    finished_at=now,
                    updated_at=now,
                    last_error=None,
                )
                .execution_options(synchronize_session=False)
            )

    async def _finish_failed(self, job: Claimed, error: str, *, dead: bool) -> None:
        now = clock.now()
        if dead:
            values: dict[str, Any] = {
                "status": JobStatus.DEAD.value,
                "finished_at": now,
            }
            log.error("job dead-lettered", extra={"job_id": str(job.id), "kind": job.kind})
        else:
            delay = backoff_seconds(
                job.attempt,
                self.settings.job_retry_base_seconds,
                self.settings.job_retry_max_seconds,
            )
            values = {
                "status": JobStatus.QUEUED.value,
                "run_after": now + timedelta(seconds=delay),
            }
        async with unit_of_work(self.sessionmaker) as session:
            await session.execute(
                self._mine(job)
                .values(lease_expires_at=None, last_error=error, updated_at=now, **values)
                .execution_options(synchronize_session=False)
            )

    # --- loops ---

    async def run_once(self, kinds: Collection[str] | None = None) -> int:
        """Queue due scheduled jobs, then claim and run one batch; how many jobs ran."""
        if kinds is None:
            await self.enqueue_scheduled()
        claimed = await self.claim(self.settings.worker_concurrency, kinds)
        if claimed:
            await asyncio.gather(*(self.run_claimed(job) for job in claimed))
        return len(claimed)

    async def run_until_idle(
        self, kinds: Collection[str] | None = None, *, max_rounds: int = 10_000
    ) -> int:
        """Run batches until no job is due (jobs waiting for a retry are not); how many ran."""
        total = 0
        for _ in range(max_rounds):
            ran = await self.run_once(kinds)
            if ran == 0:
                break
            total += ran
        return total

    def wake(self) -> None:
        """Look for due jobs now rather than after the poll interval."""
        self._wake.set()

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set: run due jobs, and wait ``worker_poll_seconds`` when there were
        none. A database outage is logged and waited out."""
        log.info("job runner started", extra={"worker_id": self.worker_id})
        while not stop.is_set():
            try:
                ran = await self.run_once()
            except Exception as exc:
                log.warning("job runner pass failed", extra={"error_type": type(exc).__name__})
                ran = 0
            if ran:
                continue
            self._wake.clear()
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            _, pending = await asyncio.wait(
                waits, timeout=self.settings.worker_poll_seconds, return_when="FIRST_COMPLETED"
            )
            for task in pending:
                task.cancel()
        log.info("job runner stopped", extra={"worker_id": self.worker_id})


# --- the dead letter and housekeeping -----------------------------------------------------------


def visible_jobs_stmt(actor: Actor) -> Select[Job]:
    """The jobs a system admin sees: their CoC's and the deployment's own (``coc_id`` NULL:
    email delivery, housekeeping), whose payloads are ids only."""
    return select(Job).where(or_(Job.coc_id == actor.coc_id, Job.coc_id.is_(None)))


async def list_jobs(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    *,
    status: JobStatus | None = None,
    kind: str | None = None,
) -> PageOf[Job]:
    """Newest first."""
    stmt = visible_jobs_stmt(actor)
    if status is not None:
        stmt = stmt.where(Job.status == status.value)
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    return await paginate(session, stmt, page, [Job.created_at, Job.id], descending=True)


async def get_job(session: AsyncSession, actor: Actor, job_id: uuid.UUID) -> Job:
    found = await session.scalar(visible_jobs_stmt(actor).where(Job.id == job_id).with_for_update())
    if found is None:
        raise NotFound("No such job.")
    return found


async def retry(session: AsyncSession, actor: Actor, job: Job) -> Job:
    """A dead job queued again with a fresh count of tries."""
    if job.status != JobStatus.DEAD.value:
        raise Conflict(f"Only a dead job can be retried (this one is {job.status}).")
    audit.record(session, actor, "job.retry", "job", job.id, {"attempts": job.attempts})
    job.status = JobStatus.QUEUED.value
    job.attempts = 0
    job.run_after = clock.now()
    job.finished_at = None
    job.lease_expires_at = None
    await session.flush()
    return job


async def purge_finished(session: AsyncSession, now: datetime, *, retention_days: int) -> int:
    """Remove succeeded jobs finished more than ``retention_days`` ago (dead ones stay until
    someone looks at them)."""
    stmt = delete(Job).where(
        Job.status == JobStatus.SUCCEEDED.value,
        Job.finished_at < now - timedelta(days=retention_days),
    )
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    rows = (await session.execute(select(Job.status, func.count()).group_by(Job.status))).all()
    return {status: count for status, count in rows}


async def make_due(session: AsyncSession, kind: str) -> int:
    """Queued jobs of ``kind`` due now, their backoff cut short (``cas outbox deliver``)."""
    result = await session.execute(
        update(Job)
        .where(Job.kind == kind, Job.status == JobStatus.QUEUED.value)
        .values(run_after=clock.now())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
