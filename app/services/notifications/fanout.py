"""The fan-out of one notification event (the ``notifications.fan_out`` job): an inbox
notification for every recipient (``recipients``), their email when they get one for the kind,
a wake-up for their open live streams, and a webhook delivery for every subscribed partner
organization that may see it -- all in one transaction.

Idempotent: the event row is locked and marked ``fanned_out_at``, and notifications and
deliveries are unique per event and recipient / subscription, so running it again (a retry, a
second worker, the sweep) adds nothing and sends nothing twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.config import Settings
from app.models.notifications import Notification
from app.models.platform import NotificationEvent
from app.services.notifications import templates, webhooks
from app.services.notifications.inbox import CHANNEL, email_choices
from app.services.notifications.kinds import KindSpec, spec_for
from app.services.notifications.recipients import Recipient, recipients
from app.services.platform import email, events, jobs
from app.services.platform.listen import notify
from app.unit_of_work import unit_of_work


async def fan_out(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, event_id: uuid.UUID
) -> int:
    """Deliver one event; how many inbox notifications it made now."""
    async with unit_of_work(sessionmaker) as session:
        event = await session.get(NotificationEvent, event_id, with_for_update=True)
        if event is None or event.fanned_out_at is not None:
            return 0
        return await deliver_event(session, settings, event)


async def deliver_event(session: AsyncSession, settings: Settings, event: NotificationEvent) -> int:
    """The fan-out of one event in ``session`` (the job's unit of work, or the demo seed's):
    inbox notifications, emails and webhook deliveries; how many notifications it made."""
    made = 0
    spec = spec_for(event.event_type)
    if spec is not None:
        made = await _to_inboxes(
            session, settings, event, spec, await recipients(session, event, spec)
        )
        await webhooks.queue_deliveries(session, settings, event, spec)
    event.fanned_out_at = clock.now()
    return made


async def _to_inboxes(
    session: AsyncSession,
    settings: Settings,
    event: NotificationEvent,
    spec: KindSpec,
    people: list[Recipient],
) -> int:
    choices = await email_choices(session, [p.user_id for p in people], spec.kind.value)
    data = {k: v for k, v in event.data.items() if k != "audience"}
    made = 0
    for person in people:
        notification_id = await session.scalar(
            insert(Notification)
            .values(
                id=uuid.uuid4(),
                coc_id=event.coc_id,
                user_id=person.user_id,
                organization_id=person.organization_id,
                event_id=event.id,
                kind=event.event_type,
                entity_type=event.entity_type,
                entity_id=event.entity_id,
                client_id=event.client_id,
                data=data,
                occurred_at=event.created_at,
                emailed=False,
            )
            .on_conflict_do_nothing(index_elements=["event_id", "user_id"])
            .returning(Notification.id)
        )
        if notification_id is None:
            continue
        made += 1
        if choices.get(person.user_id, spec.email):
            message = templates.email(
                spec,
                data,
                notification_id=notification_id,
                client_id=event.client_id,
                organization_id=person.organization_id,
                frontend_url=settings.frontend_url,
            )
            email.enqueue(
                session,
                coc_id=event.coc_id,
                to=person.email,
                subject=message.subject,
                body=message.text,
                html=message.html,
                template=f"notification:{spec.kind.value}"[:60],
                max_attempts=settings.job_max_attempts,
            )
            await session.flush()
            await session.execute(
                update(Notification).where(Notification.id == notification_id).values(emailed=True)
            )
        await notify(session, CHANNEL, str(person.user_id))
    return made


async def queue_stray_events(session: AsyncSession, now: datetime, *, older_than: timedelta) -> int:
    """Queue the fan-out of events recorded without one (written outside ``events.emit``);
    the job's unique key keeps an event from being queued twice."""
    stray = (
        await session.execute(
            select(NotificationEvent.id, NotificationEvent.coc_id)
            .where(
                NotificationEvent.fanned_out_at.is_(None),
                NotificationEvent.created_at < now - older_than,
            )
            .order_by(NotificationEvent.created_at)
            .limit(500)
        )
    ).all()
    queued = 0
    for event_id, coc_id in stray:
        queued += await jobs.add_once(
            session,
            events.FAN_OUT,
            {"event_id": str(event_id)},
            coc_id=coc_id,
            dedupe_key=events.fan_out_key(event_id),
        )
    return queued
