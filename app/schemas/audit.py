from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

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
    request_id: str | None
    ip_address: str | None
