"""The CAS queue (housing prioritization list): one open entry per household placed on it.

``INTAKE_STATUS_TRANSITIONS`` is the one table of the intake-status state machine (DOMAIN 7):
``(from, to) -> roles allowed``. Entries are created ``pending`` by the CE intake / update
assessment that places the household, and closed when the household exits Coordinated Entry.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.errors import Conflict, Forbidden, ValidationFailed
from app.models.base import Base, Timestamps, UUIDPk, Versioned
from app.permissions import Role

INTAKE_STATUSES = ("pending", "incomplete_documentation", "pending_second_review", "approved")

# DOMAIN 7, exactly: CAS administrators review; the case manager (Case Manager Review) sends an
# incomplete record back for a second review. Nothing else moves an intake status.
INTAKE_STATUS_TRANSITIONS: dict[tuple[str, str], frozenset[Role]] = {
    ("pending", "incomplete_documentation"): frozenset({Role.CAS_ADMIN}),
    ("pending", "approved"): frozenset({Role.CAS_ADMIN}),
    ("incomplete_documentation", "pending_second_review"): frozenset({Role.CASE_MANAGER}),
    ("pending_second_review", "approved"): frozenset({Role.CAS_ADMIN}),
    ("pending_second_review", "incomplete_documentation"): frozenset({Role.CAS_ADMIN}),
    ("approved", "incomplete_documentation"): frozenset({Role.CAS_ADMIN}),
}

_PENDING_TO_SECOND_REVIEW = (
    "A pending record has not been reviewed by a CAS administrator yet, so there is nothing to "
    "send back for a second review: case managers must not move pending to "
    "pending_second_review. A CAS administrator first approves the record or marks it "
    "incomplete_documentation; after fixing what is missing, the case manager marks it "
    "pending_second_review."
)


def check_intake_status_transition(current: str, target: str, role: Role) -> None:
    """Raise unless ``role`` may move an intake status from ``current`` to ``target``:
    an unknown status is a 422, a transition the table lacks a 409, a role the transition does
    not name a 403. A case manager trying pending -> pending_second_review is told why."""
    if target not in INTAKE_STATUSES:
        raise ValidationFailed(f"Unknown intake status {target!r}.", field="intake_status")
    roles = INTAKE_STATUS_TRANSITIONS.get((current, target))
    if roles is None:
        allowed = sorted(t for (f, t) in INTAKE_STATUS_TRANSITIONS if f == current)
        detail = (
            _PENDING_TO_SECOND_REVIEW
            if (current, target) == ("pending", "pending_second_review")
            else f"The intake status cannot move from {current} to {target}; from {current} "
            f"it can move to: {', '.join(allowed) or 'nothing'}."
        )
        raise Conflict(
            detail,
            errors=[{"loc": ["body", "intake_status"], "msg": detail, "type": "transition"}],
            extra={"current": current, "allowed": allowed},
        )
    if role not in roles:
        raise Forbidden(
            f"Moving the intake status from {current} to {target} is for "
            f"{' or '.join(sorted(r.value for r in roles))}, not {role.value}."
        )


# Why a queue entry was closed.
CLOSE_REASONS = ("exited",)


class QueueEntry(UUIDPk, Timestamps, Versioned, Base):
    __tablename__ = "queue_entries"
    __table_args__ = (
        CheckConstraint(
            "intake_status IN ('" + "', '".join(INTAKE_STATUSES) + "')",
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
    intake_status: Mapped[str] = mapped_column(String(30), nullable=False, default="pending")
    placed_on: Mapped[date] = mapped_column(Date, nullable=False)
    placed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_reason: Mapped[str | None] = mapped_column(String(30))
