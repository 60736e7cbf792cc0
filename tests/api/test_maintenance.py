from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.jobs import maintain
from app.models import AuthSession, EmailMessage, IdempotencyRecord
from app.models.jobs import Job
from app.models.notifications import (
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookSubscription,
)
from app.models.platform import NotificationEvent
from app.security import utcnow
from app.services.notifications import webhooks
from app.services.platform import email
from tests.conftest import Auth, World


async def test_maintenance_expires_idempotency_keys_and_old_sessions(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    test_settings: Settings,
    tmp_path: Path,
) -> None:
    headers = await auth.headers("system_admin") | {"Idempotency-Key": "k-1"}
    r = await client.post("/api/v1/organizations", headers=headers, json={"name": "Kept"})
    assert r.status_code == 201
    headers2 = await auth.headers("system_admin") | {"Idempotency-Key": "k-2"}
    old = await client.post("/api/v1/organizations", headers=headers2, json={"name": "Old"})
    assert old.status_code == 201, old.text
    await db.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key == "k-2")
        .values(created_at=utcnow() - timedelta(hours=25))
    )
    await db.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(days=2)))
    await db.flush()

    settings = test_settings.model_copy(update={"data_dir": tmp_path})
    counts = await maintain(db, settings)
    assert counts["idempotency_keys_expired"] == 1
    assert counts["auth_sessions_removed"] >= 2
    keys = (await db.scalars(select(IdempotencyRecord.key))).all()
    assert keys == ["k-1"]
    assert await db.scalar(select(func.count()).select_from(AuthSession)) == 0


async def test_maintenance_removes_old_finished_jobs_sent_emails_and_delivery_logs(
    db: AsyncSession, world: World, test_settings: Settings, tmp_path: Path
) -> None:
    """Past their retention: succeeded jobs (dead ones stay for a system admin to see), sent
    emails (the address and subject; the body went when it was sent) and finished webhook
    deliveries with their tries. Anything still to do stays, whatever its age."""
    now = utcnow()
    old, recent = now - timedelta(days=40), now - timedelta(days=1)
    for status, finished in (("succeeded", old), ("succeeded", recent), ("dead", old)):
        db.add(
            Job(
                kind="test.job",
                payload={},
                status=status,
                attempts=1,
                max_attempts=3,
                run_after=finished,
                finished_at=finished,
            )
        )
    for sent_at, created in ((old, old), (recent, old), (None, old)):
        db.add(
            EmailMessage(
                to_address="someone@demo.example",
                subject="[CAS] A referral was sent",
                body=email.DELIVERED_BODY if sent_at else "Hello",
                template="test",
                attempts=1,
                created_at=created,
                sent_at=sent_at,
            )
        )
    settings = test_settings.model_copy(update={"data_dir": tmp_path})
    org = world.org_id("access_point_1")
    subscription_id = uuid.uuid4()
    db.add(
        WebhookSubscription(
            id=subscription_id,
            coc_id=world.home.coc.id,
            organization_id=org,
            url="https://partner.example.org/hooks",
            event_types=["document.uploaded"],
            secret_sealed=webhooks._seal(settings, subscription_id, webhooks.generate_secret()),
            consecutive_failures=0,
        )
    )
    kept: list[uuid.UUID] = []
    for status, at in (
        ("succeeded", old),
        ("failed", old),
        ("skipped", old),
        ("pending", old),
        ("succeeded", recent),
    ):
        event = NotificationEvent(
            coc_id=world.home.coc.id,
            event_type="document.uploaded",
            entity_type="client_file",
            data={},
            created_at=at,
            fanned_out_at=at,
        )
        db.add(event)
        await db.flush()
        delivery = WebhookDelivery(
            coc_id=world.home.coc.id,
            subscription_id=subscription_id,
            event_id=event.id,
            event_type=event.event_type,
            body="{}",
            status=status,
            attempts=1,
            created_at=at,
            last_attempt_at=at,
        )
        db.add(delivery)
        await db.flush()
        db.add(
            WebhookDeliveryAttempt(
                coc_id=world.home.coc.id,
                delivery_id=delivery.id,
                attempted_at=at,
                succeeded=status == "succeeded",
                duration_ms=5,
            )
        )
        if status == "pending" or at == recent:
            kept.append(delivery.id)
    await db.flush()

    counts = await maintain(db, settings)
    assert counts["jobs_removed"] == 1
    assert counts["emails_removed"] == 1
    assert counts["webhook_deliveries_removed"] == 3
    assert sorted((await db.scalars(select(Job.status))).all()) == ["dead", "succeeded"]
    left = (await db.execute(select(EmailMessage.sent_at))).scalars().all()
    assert sorted(left, key=lambda at: at or now) == [recent, None]
    assert set((await db.scalars(select(WebhookDelivery.id))).all()) == set(kept)
    tries = await db.scalar(select(func.count()).select_from(WebhookDeliveryAttempt))
    assert tries == 2
    again = await maintain(db, settings)
    assert again["emails_removed"] == again["webhook_deliveries_removed"] == 0
