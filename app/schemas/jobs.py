"""Background jobs (system admins)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from app.reference.notifications import JobStatus
from app.schemas.common import ReadModel


class JobRead(ReadModel):
    id: uuid.UUID
    kind: str = Field(examples=["email.deliver"])
    payload: dict[str, Any] = Field(description="Ids and codes only.")
    coc_id: uuid.UUID | None = Field(description="null: work of the whole deployment.")
    status: JobStatus
    attempts: int
    max_attempts: int
    run_after: datetime = Field(description="Not run before this time (a retry's backoff).")
    lease_expires_at: datetime | None
    locked_by: str | None = Field(description="The worker that claimed it last.")
    last_error: str | None = Field(description="The last failure's type (and our own message).")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
