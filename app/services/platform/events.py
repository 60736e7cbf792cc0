"""Notification events (DOMAIN 10): what happened, written in the same transaction as the change.

``emit`` records the event and queues its fan-out job (``notifications.fan_out``), so the event
is delivered exactly when the change is committed: the notifications package (above every
domain package) turns it into inbox notifications, emails and webhook deliveries for the people
and partner organizations that may see it. Who hears about each kind is decided there, in one
table (``app.services.notifications.kinds.KINDS``), not here.

``data`` holds codes and ids only, never PII (no names, no file names, no comments).

Events found by a scan rather than caused by a request (inactivity, expiry, stalls) use
``emit_once`` with a key, so a scan that runs twice records them once.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, String, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.models.platform import NotificationEvent
from app.reference.notifications import NotificationKind
from app.services.platform import jobs

DOCUMENT_UPLOADED = NotificationKind.DOCUMENT_UPLOADED.value
ENROLLMENT_OUTCOME_CHANGED = NotificationKind.ENROLLMENT_OUTCOME_CHANGED.value

# The job that turns an event into notifications, emails and webhook deliveries.
FAN_OUT = "notifications.fan_out"


def fan_out_key(event_id: uuid.UUID) -> str:
    return f"fanout:{event_id}"


def queue_fan_out(session: AsyncSession, event_id: uuid.UUID, coc_id: uuid.UUID) -> None:
    jobs.add(
        session,
        FAN_OUT,
        {"event_id": str(event_id)},
        coc_id=coc_id,
        dedupe_key=fan_out_key(event_id),
    )


def emit(
    session: AsyncSession,
    actor: Actor,
    event_type: str,
    *,
    entity_type: str,
    entity_id: uuid.UUID | None,
    client_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> NotificationEvent:
    event = NotificationEvent(
        id=uuid.uuid4(),
        coc_id=actor.coc_id,
        event_type=event_type,
        entity_type=entity_type,
        entity_id=entity_id,
        client_id=client_id,
        actor_user_id=actor.user_id,
        acting_organization_id=actor.organization_id,
        data=dict(data or {}),
    )
    session.add(event)
    queue_fan_out(session, event.id, actor.coc_id)
    return event


async def emit_once(
    session: AsyncSession,
    coc_id: uuid.UUID,
    event_type: str,
    *,
    dedupe_key: str,
    entity_type: str,
    entity_id: uuid.UUID | None,
    client_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> bool:
    """Record an event (and queue its fan-out) unless one with ``dedupe_key`` exists; whether
    it was recorded now. Without ``actor`` the event is the system's (a scheduled scan)."""
    event_id = uuid.uuid4()
    inserted = await session.scalar(
        insert(NotificationEvent)
        .values(
            id=event_id,
            coc_id=coc_id,
            event_type=event_type,
            entity_type=entity_type,
            entity_id=entity_id,
            client_id=client_id,
            actor_user_id=actor.user_id if actor else None,
            acting_organization_id=actor.organization_id if actor else None,
            data=dict(data or {}),
            dedupe_key=dedupe_key,
        )
        .on_conflict_do_nothing(
            index_elements=["dedupe_key"], index_where=NotificationEvent.dedupe_key.is_not(None)
        )
        .returning(NotificationEvent.id)
    )
    if inserted is None:
        return False
    queue_fan_out(session, event_id, coc_id)
    return True


# Columns a scan's SELECT gives ``emit_from``, in this order.
SCAN_COLUMNS = ("coc_id", "entity_type", "entity_id", "client_id", "data", "dedupe_key")


async def emit_from(session: AsyncSession, event_type: str, rows: Select[Any]) -> int:
    """Record an event for every row of ``rows`` (columns ``SCAN_COLUMNS``) whose
    ``dedupe_key`` is new, and queue their fan-outs, in set-based statements; how many were
    recorded now (a scan that runs again records nothing twice)."""
    found = rows.subquery("found")
    stmt = (
        insert(NotificationEvent)
        .from_select(
            ["id", "event_type", *SCAN_COLUMNS],
            select(
                func.gen_random_uuid(),
                literal(event_type, String),
                *(found.c[name] for name in SCAN_COLUMNS),
            ),
        )
        .on_conflict_do_nothing(
            index_elements=["dedupe_key"], index_where=NotificationEvent.dedupe_key.is_not(None)
        )
        .returning(NotificationEvent.id, NotificationEvent.coc_id)
    )
    recorded = (await session.execute(stmt)).all()
    for event_id, coc_id in recorded:
        queue_fan_out(session, event_id, coc_id)
    await session.flush()
    return len(recorded)
