"""Area ties (date, area, how) and the per-CoC lists their area and "how" come from."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CocScoped, Timestamps, UUIDPk


class AreaTieOption(UUIDPk, Timestamps, CocScoped, Base):
    """One entry of a CoC's configurable list of areas (``kind='area'``) or ties (``'how'``)."""

    __tablename__ = "area_tie_options"
    __table_args__ = (
        CheckConstraint("kind IN ('area', 'how')", name="kind_valid"),
        CheckConstraint("code ~ '^[a-z0-9_]{1,50}$'", name="code_format"),
        Index("uq_area_tie_options_coc_kind_code", "coc_id", "kind", "code", unique=True),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    code: Mapped[str] = mapped_column(String(50), nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class AreaTie(UUIDPk, Timestamps, CocScoped, Base):
    __tablename__ = "area_ties"
    __table_args__ = (
        Index("ix_area_ties_client_id", "client_id", "tie_date", "id"),
        Index("ix_area_ties_coc_area", "coc_id", "area"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    tie_date: Mapped[date] = mapped_column(Date, nullable=False)
    area: Mapped[str] = mapped_column(String(50), nullable=False)
    how: Mapped[str] = mapped_column(String(50), nullable=False)
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("enrollments.id"))
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("enrollment_assessments.id"))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_by_organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
