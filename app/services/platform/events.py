"""Notification events (DOMAIN 10): what happened, written in the same transaction as the change.

Delivery (in-app inbox, email outbox, webhooks) and recipient resolution read these rows; the
event says who should hear about it in ``data["audience"]``. ``data`` holds codes and ids only,
never PII (no names, no file names, no comments).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.models.platform import NotificationEvent

DOCUMENT_UPLOADED = "document_uploaded"


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
    return event
