"""Probe ids for the notification inbox, webhook subscriptions and jobs."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app import clock
from app.models.notifications import Notification, WebhookDelivery
from app.models.platform import NotificationEvent
from app.services.platform import jobs
from tests.api.probes import ProbeContext

PRIVATE = {"notification_id", "subscription_id", "delivery_id", "job_id"}


async def arrange(ctx: ProbeContext) -> dict[str, uuid.UUID]:
    home = ctx.world.home
    event = NotificationEvent(
        id=uuid.uuid4(),
        coc_id=home.coc.id,
        event_type="document.uploaded",
        entity_type="client_file",
        data={},
    )
    ctx.db.add(event)
    await ctx.db.flush()
    notification = Notification(
        coc_id=home.coc.id,
        user_id=home.users["cas_admin"].id,
        organization_id=home.orgs["cas"].id,
        event_id=event.id,
        kind="document.uploaded",
        entity_type="client_file",
        occurred_at=clock.now(),
        emailed=False,
    )
    ctx.db.add(notification)
    await ctx.db.flush()
    admin = await ctx.auth.headers("system_admin")
    r = await ctx.client.post(
        "/api/v1/webhook-subscriptions",
        headers=admin,
        json={"url": "http://127.0.0.1:9/hooks", "event_types": ["document.uploaded"]},
    )
    assert r.status_code == 201, r.text
    subscription_id = uuid.UUID(r.json()["id"])
    delivery = WebhookDelivery(
        coc_id=home.coc.id,
        subscription_id=subscription_id,
        event_id=event.id,
        event_type=event.event_type,
        body="{}",
        status="failed",
        attempts=1,
    )
    ctx.db.add(delivery)
    job = jobs.add(ctx.db, "webhooks.deliver", {}, coc_id=home.coc.id)
    job.status = "dead"
    job.attempts = 8
    await ctx.db.flush()
    assert await ctx.db.scalar(select(Notification.id).where(Notification.id == notification.id))
    return {
        "notification_id": notification.id,
        "subscription_id": subscription_id,
        "delivery_id": delivery.id,
        "job_id": job.id,
    }
