"""Users, memberships and authentication state (sessions, refresh tokens, one-time tokens)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CocScoped, Timestamps, UUIDPk, Versioned, coc_scope
from app.models.organizations import Organization
from app.permissions import ROLES


class User(UUIDPk, Timestamps, Versioned, Base):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are stored lower-cased; uniqueness is on that form.
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    failed_login_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    password_changed_at: Mapped[datetime | None] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()

    memberships: Mapped[list[Membership]] = relationship(
        # Ties (memberships made in one transaction) by id: the default organization at login
        # is the first active one, the same on every login.
        back_populates="user",
        lazy="selectin",
        order_by="(Membership.created_at, Membership.id)",
    )


class Membership(UUIDPk, Timestamps, CocScoped, Base):
    __tablename__ = "memberships"
    coc_id: Mapped[uuid.UUID] = coc_scope()
    # clock_timestamp(): memberships made in one transaction keep their order (the first is
    # the default organization at login).
    created_at: Mapped[datetime] = mapped_column(
        server_default=text("clock_timestamp()"), nullable=False
    )
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role_valid"),
        # One role per user per organization.
        Index("uq_memberships_user_org", "user_id", "organization_id", unique=True),
        Index("ix_memberships_organization_id", "organization_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    role: Mapped[str] = mapped_column(String(32), nullable=False)

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship(lazy="joined")


class AuthSession(UUIDPk, CocScoped, Base):
    """A login: a chain of rotating refresh tokens acting for one organization."""

    __tablename__ = "auth_sessions"
    coc_id: Mapped[uuid.UUID] = coc_scope()
    __table_args__ = (Index("ix_auth_sessions_user_id", "user_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)  # absolute limit
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoke_reason: Mapped[str | None] = mapped_column(String(40))


class RefreshToken(UUIDPk, CocScoped, Base):
    __tablename__ = "refresh_tokens"
    coc_id: Mapped[uuid.UUID] = coc_scope()
    __table_args__ = (Index("ix_refresh_tokens_session_id", "session_id"),)

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth_sessions.id", ondelete="CASCADE"), nullable=False
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    idle_expires_at: Mapped[datetime] = mapped_column(nullable=False)
    # Set when the token is exchanged; presenting it again is reuse.
    used_at: Mapped[datetime | None] = mapped_column()


class OneTimeToken(UUIDPk, Base):
    """Invitation and password-reset tokens: stored hashed, single use, expiring."""

    __tablename__ = "one_time_tokens"
    __table_args__ = (
        CheckConstraint("purpose IN ('invitation', 'password_reset')", name="purpose_valid"),
        Index("ix_one_time_tokens_user_id_purpose", "user_id", "purpose"),
        Index(
            "ix_one_time_tokens_unused",
            "user_id",
            postgresql_where=text("used_at IS NULL"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    used_at: Mapped[datetime | None] = mapped_column()
