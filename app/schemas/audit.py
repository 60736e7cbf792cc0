from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field

from app.schemas.common import ReadModel


class AuditEventRead(ReadModel):
    id: uuid.UUID
    occurred_at: datetime
    actor_user_id: uuid.UUID | None
    acting_organization_id: uuid.UUID | None
    action: str
    entity_type: str
    entity_id: uuid.UUID | None
    changes: dict[str, Any] | None
    subject_ids: list[uuid.UUID] | None = Field(
        default=None,
        description=(
            "Reads of client data: the clients the response showed, in order (one event for a "
            "whole list, search or set of duplicate candidates). Filtering by `entity_id` finds "
            "these events for each client listed."
        ),
    )
    request_id: str | None
    ip_address: str | None


@dataclass(frozen=True)
class AuditEventFilters:
    """What ``GET /audit-events`` narrows the acting CoC's trail to."""

    actor_user_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
