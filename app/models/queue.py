"""The CAS queue (housing prioritization list): one open entry per household placed on it.

Entries are created ``pending`` by the CE intake / update assessment that places the household,
and closed when the household exits Coordinated Entry. Their intake status moves along
``app.services.queue.intake_status.INTAKE_STATUS``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPk, Versioned
from app.reference.queue import IntakeStatus


class QueueEntry(UUIDPk, Timestamps, Versioned, Base):
    __tablename__ = "queue_entries"
    __table_args__ = (
        CheckConstraint(
            "intake_status IN ('" + "', '".join(IntakeStatus) + "')",
            name="intake_status_valid",
        ),
        CheckConstraint(
            "(closed_at IS NULL) = (closed_reason IS NULL)", name="closed_reason_when_closed"
        ),
        # One open queue entry per household.
        Index(
            "uq_queue_entries_one_open_per_household",
            "household_id",
            unique=True,
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_queue_entries_coc_open", "coc_id", "placed_on", "id"),
        Index("ix_queue_entries_head_enrollment_id", "head_enrollment_id"),
        Index("ix_queue_entries_head_client_id", "head_client_id"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id"), nullable=False)
    head_client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    head_enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id"), nullable=False
    )
    intake_status: Mapped[str] = mapped_column(
        String(30), nullable=False, default=IntakeStatus.PENDING.value
    )
    placed_on: Mapped[date] = mapped_column(Date, nullable=False)
    placed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_reason: Mapped[str | None] = mapped_column(String(30))
