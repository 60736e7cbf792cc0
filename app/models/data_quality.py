"""Data-quality issues (HUD's reporting glossary) and the log of refused cross-agency duplicate
intakes: records the CAS team and the HMIS lead work from."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CocScoped, UUIDPk
from app.reference.data_quality import DATA_QUALITY_KINDS

_KINDS = "('" + "', '".join(DATA_QUALITY_KINDS) + "')"


class DataQualityIssue(UUIDPk, CocScoped, Base):
    """A value HUD accepts but reports as a data-quality issue, found when the client or an
    enrollment was recorded (``app.reference.data_quality``). Open while ``resolved_at`` is
    empty; a corrected value resolves it. No value is copied here (they are PII): the kind
    says what to look at."""

    __tablename__ = "data_quality_issues"
    __table_args__ = (
        CheckConstraint(f"kind IN {_KINDS}", name="kind_valid"),
        CheckConstraint(
            "(kind IN ('dob_after_entry', 'age_over_105')) = (enrollment_id IS NOT NULL)",
            name="enrollment_for_enrollment_kinds",
        ),
        # The open issues of a CoC, newest first (the DQ report), by organization and kind.
        Index(
            "ix_data_quality_issues_open",
            "coc_id",
            "detected_at",
            "id",
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index(
            "ix_data_quality_issues_open_org",
            "coc_id",
            "organization_id",
            "detected_at",
            "id",
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index("ix_data_quality_issues_client", "client_id", "kind"),
        Index("ix_data_quality_issues_enrollment", "enrollment_id"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("enrollments.id"))
    # The organization whose record it is: the client's creator, or the enrollment's.
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    detected_at: Mapped[datetime] = mapped_column(server_default=text("now()"), nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column()


class DuplicateRefusal(UUIDPk, CocScoped, Base):
    """An intake refused because the person may already be enrolled in Coordinated Entry by an
    agency the caller cannot see. The caller got only ``reference``; the CAS team looks it up
    here to find the existing client and enrollment. Nothing about the refused new client is
    kept (its data was never stored)."""

    __tablename__ = "duplicate_refusals"
    __table_args__ = (
        CheckConstraint("reason IN ('ssn', 'name_dob')", name="reason_valid"),
        Index("uq_duplicate_refusals_reference", "reference", unique=True),
        Index("ix_duplicate_refusals_coc", "coc_id", "created_at", "id"),
    )

    reference: Mapped[str] = mapped_column(String(16), nullable=False)
    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    matched_client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    matched_enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id"), nullable=False
    )
    reason: Mapped[str] = mapped_column(String(10), nullable=False)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"), nullable=False)
