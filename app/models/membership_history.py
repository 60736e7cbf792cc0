"""Former memberships: a membership that was removed, kept as a record.

An account whose last membership is removed still belongs to the admins it answered to (system
admins of the CoC, admins of the organizations it left): they can find it and give it a role
again instead of meeting a 404, or a 409 when inviting its address.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CocScoped, coc_scope
from app.models.organizations import Organization
from app.permissions import ROLES


class MembershipHistory(CocScoped, Base):
    __tablename__ = "membership_history"
    coc_id: Mapped[uuid.UUID] = coc_scope()
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role_valid"),
        Index("ix_membership_history_user_id", "user_id"),
        Index("ix_membership_history_organization_id", "organization_id", "user_id"),
    )

    # The id the membership had (``membership.delete`` in the audit trail names it).
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    # Unknown for memberships removed before this record existed (taken from the audit trail).
    member_since: Mapped[datetime | None] = mapped_column()
    removed_at: Mapped[datetime] = mapped_column(
        server_default=text("clock_timestamp()"), nullable=False
    )
    removed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    organization: Mapped[Organization] = relationship(lazy="joined")
