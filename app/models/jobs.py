"""Background jobs (``app.services.platform.jobs``): a table workers claim rows from with
``FOR UPDATE SKIP LOCKED`` and a lease, so several workers never run one job at once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base, UUIDPk
from app.reference.notifications import JobStatus, sql_in


class Job(UUIDPk, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(sql_in("status", JobStatus), name="status_valid"),
        CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="attempts_valid"),
        # A running job always holds a lease (an expired one is taken over by another worker).
        CheckConstraint(
            "(status = 'running') = (lease_expires_at IS NOT NULL)", name="lease_when_running"
        ),
        # Due jobs, in order: what a worker claims.
        Index("ix_jobs_due", "run_after", postgresql_where=text("status = 'queued'")),
        Index("ix_jobs_leases", "lease_expires_at", postgresql_where=text("status = 'running'")),
        # One job per key (a scheduled run per slot, one delivery job per email, ...).
        Index(
            "uq_jobs_dedupe_key",
            "dedupe_key",
            unique=True,
            postgresql_where=text("dedupe_key IS NOT NULL"),
        ),
        Index("ix_jobs_created", "created_at", "id"),
        Index("ix_jobs_status_created", "status", "created_at", "id"),
        Index("ix_jobs_finished", "finished_at", postgresql_where=text("status = 'succeeded'")),
    )

    kind: Mapped[str] = mapped_column(String(60), nullable=False)
    # Ids and codes only, never PII.
    payload: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    # The CoC whose data the job is about; NULL for work of the whole deployment.
    coc_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cocs.id"))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=JobStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=8)
    run_after: Mapped[datetime] = mapped_column(nullable=False, default=clock.now)
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    locked_by: Mapped[str | None] = mapped_column(String(120))
    # The error type and a message of our own (never an exception's text, which may hold data).
    last_error: Mapped[str | None] = mapped_column(String(500))
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), onupdate=clock.now, nullable=False
    )
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
