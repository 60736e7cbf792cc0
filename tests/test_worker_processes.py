"""Two ``cas worker`` processes against one database: every job runs once (each email and each
webhook sent once), both take part, and a schedule runs once per slot."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.config import Settings
from app.models.jobs import Job
from app.models.notifications import (
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookSubscription,
)
from app.reference.notifications import NotificationKind
from app.services.notifications import webhooks
from app.services.platform import email, events
from app.unit_of_work import unit_of_work
from tests.support.committed import committed_database
from tests.support.notifications import receiver

N = 12


async def _start(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from app.cli import main; main()",
        "worker",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_two_workers_run_each_job_once(tmp_path: Path) -> None:
    async with committed_database("workers") as db:
        settings = Settings(environment="test")
        env = {
            **os.environ,
            "CAS_DATABASE_URL": db.url,
            "CAS_ENVIRONMENT": "test",
            "CAS_DATA_DIR": str(tmp_path),
            "CAS_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.1/32"]',
            "CAS_WORKER_POLL_SECONDS": "0.05",
            "CAS_WORKER_CONCURRENCY": "2",
            "CAS_LOG_LEVEL": "WARNING",
        }
        started = time.time()
        with receiver(delay=0.05) as rx:
            workers = [await _start(env) for _ in range(2)]
            try:
                for worker in workers:
                    assert worker.stdout is not None
                    line = await asyncio.wait_for(worker.stdout.readline(), timeout=60)
                    assert b"started" in line, line
                sessionmaker = async_sessionmaker(db.engine, expire_on_commit=False)
                # Both workers are polling; now the work arrives, in one commit.
                async with unit_of_work(sessionmaker) as session:
                    subscription_id = uuid.uuid4()
                    session.add(
                        WebhookSubscription(
                            id=subscription_id,
                            coc_id=db.coc.coc.id,
                            organization_id=db.coc.orgs["access_point_1"].id,
                            url=rx.url,
                            event_types=[NotificationKind.DOCUMENT_UPLOADED.value],
                            secret_sealed=webhooks._seal(
                                settings, subscription_id, webhooks.generate_secret()
                            ),
                            consecutive_failures=0,
                        )
                    )
                    await session.flush()
                    for i in range(N):
                        await events.emit_once(
                            session,
                            db.coc.coc.id,
                            NotificationKind.DOCUMENT_UPLOADED.value,
                            dedupe_key=f"test:{i}",
                            entity_type="client_file",
                            entity_id=None,
                        )
                        email.enqueue(
                            session,
                            to=f"person{i}@demo.example",
                            subject="Hi",
                            body="Hello",
                            template="test",
                        )
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    async with sessionmaker() as session:
                        left = await session.scalar(
                            select(func.count())
                            .select_from(Job)
                            .where(Job.status.in_(["queued", "running"]))
                        )
                    if left == 0:
                        break
                    await asyncio.sleep(0.2)
                assert left == 0, "the workers did not finish"
            finally:
                for worker in workers:
                    if worker.returncode is None:
                        worker.send_signal(signal.SIGTERM)
                codes = [await asyncio.wait_for(w.wait(), timeout=60) for w in workers]
            ended = time.time()
            received = Counter(r.headers["webhook-id"] for r in rx.requests)
        assert codes == [0, 0], [
            (await w.stderr.read()).decode()[-2000:] for w in workers if w.stderr
        ]
        # Each webhook once, each email once.
        assert len(received) == N and set(received.values()) == {1}, received
        files = list((tmp_path / "outbox").glob("*.eml"))
        assert len(files) == N
        assert len({f.name.split("-", 1)[1] for f in files}) == N
        async with async_sessionmaker(db.engine)() as session:
            jobs = (await session.execute(select(Job.kind, Job.status, Job.locked_by))).all()
            assert {status for _, status, _ in jobs} == {"succeeded"}
            # Both took part.
            assert len({worker for _, _, worker in jobs}) == 2
            # Housekeeping (hourly) ran once per hour slot the test spanned, not once per worker.
            slots = {int(started // 3600), int(ended // 3600)}
            assert sum(1 for kind, _, _ in jobs if kind == "maintenance") == len(slots)


async def _wait_for(check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := await check():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_worker_killed_mid_job_leaves_it_to_another_after_its_lease(
    tmp_path: Path,
) -> None:
    """A worker SIGKILLed while it holds a webhook delivery (the receiver is slow) records
    nothing of it: no attempt, no outcome; once its lease expires another worker takes the job
    over and delivers it once more, with the same ``webhook-id``."""
    async with committed_database("worker_kill") as db:
        settings = Settings(environment="test")
        env = {
            **os.environ,
            "CAS_DATABASE_URL": db.url,
            "CAS_ENVIRONMENT": "test",
            "CAS_DATA_DIR": str(tmp_path),
            "CAS_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.1/32"]',
            "CAS_WORKER_POLL_SECONDS": "0.05",
            "CAS_WORKER_CONCURRENCY": "1",
            "CAS_JOB_LEASE_SECONDS": "1.5",
            "CAS_LOG_LEVEL": "WARNING",
        }
        sessionmaker = async_sessionmaker(db.engine, expire_on_commit=False)
        workers: list[asyncio.subprocess.Process] = []
        with receiver(delay=60) as rx:
            try:
                first = await _start(env)
                workers.append(first)
                assert first.stdout is not None
                line = await asyncio.wait_for(first.stdout.readline(), timeout=60)
                assert b"started" in line, line
                first_id = line.decode().split()[1]
                async with unit_of_work(sessionmaker) as session:
                    subscription_id = uuid.uuid4()
                    session.add(
                        WebhookSubscription(
                            id=subscription_id,
                            coc_id=db.coc.coc.id,
                            organization_id=db.coc.orgs["access_point_1"].id,
                            url=rx.url,
                            event_types=[NotificationKind.DOCUMENT_UPLOADED.value],
                            secret_sealed=webhooks._seal(
                                settings, subscription_id, webhooks.generate_secret()
                            ),
                            consecutive_failures=0,
                        )
                    )
                    await session.flush()
                    await events.emit_once(
                        session,
                        db.coc.coc.id,
                        NotificationKind.DOCUMENT_UPLOADED.value,
                        dedupe_key="test:killed",
                        entity_type="client_file",
                        entity_id=None,
                    )

                async def arrived() -> bool:
                    return bool(rx.arrived)

                await _wait_for(arrived, 60, "the delivery to reach the receiver")
                # The worker holds the job, waiting on the receiver.
                async with sessionmaker() as session:
                    job = await session.scalar(select(Job).where(Job.kind == webhooks.DELIVER))
                    delivery = await session.scalar(select(WebhookDelivery))
                assert job is not None and delivery is not None
                assert (job.status, job.locked_by, job.attempts) == ("running", first_id, 1)
                assert (delivery.status, delivery.attempts) == ("pending", 1)

                first.send_signal(signal.SIGKILL)
                assert await asyncio.wait_for(first.wait(), timeout=30) == -signal.SIGKILL
                rx.delay = 0
                killed_at = time.monotonic()
                second = await _start(env)
                workers.append(second)

                async def delivered() -> Job | None:
                    async with sessionmaker() as session:
                        done = await session.scalar(
                            select(Job).where(Job.id == job.id, Job.status == "succeeded")
                        )
                    return done

                done = await _wait_for(delivered, 60, "another worker to deliver it")
                # Not before the dead worker's lease ran out.
                assert time.monotonic() - killed_at >= 1.0
            finally:
                for worker in workers:
                    if worker.returncode is None:
                        worker.send_signal(signal.SIGTERM)
                for worker in workers:
                    await asyncio.wait_for(worker.wait(), timeout=60)
        assert done.attempts == 2 and done.locked_by not in {None, first_id}
        async with sessionmaker() as session:
            delivery = await session.get_one(WebhookDelivery, delivery.id, populate_existing=True)
            attempts = (
                await session.scalars(
                    select(WebhookDeliveryAttempt).where(
                        WebhookDeliveryAttempt.delivery_id == delivery.id
                    )
                )
            ).all()
        assert (delivery.status, delivery.attempts) == ("succeeded", 2)
        # The killed try left no half record: one attempt logged, the one that succeeded.
        assert [(a.succeeded, a.status_code) for a in attempts] == [(True, 204)]
        # The receiver saw the one message twice, recognizable by its id.
        assert len(rx.arrived) == 2 and len(set(rx.arrived)) == 1
        assert rx.arrived[0] == webhooks.message_id(delivery.id)
