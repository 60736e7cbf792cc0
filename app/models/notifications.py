"""Notifications (DOMAIN 10): each recipient's inbox, their email choices per kind, the housing
providers' CAS contacts, and partner webhook subscriptions with their delivery log.

Rows are made by the fan-out of notification events (``notification_events``): one notification
per event and recipient, one webhook delivery per event and subscription (unique indexes, so a
fan-out that runs twice adds nothing).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base, CocScoped, Timestamps, UUIDPk, Versioned, coc_scope
from app.reference.notifications import WebhookDeliveryStatus, sql_in


class Notification(UUIDPk, CocScoped, Base):
    """One event in one user's inbox. ``organization_id`` is the membership through which the
    recipient may see what it is about (checked when it was made); ``data`` holds codes and ids
    only."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("uq_notifications_event_user", "event_id", "user_id", unique=True),
        Index("ix_notifications_user_created", "user_id", "created_at", "id"),
        # The bell: what is still new (snoozes are compared at read time).
        Index(
            "ix_notifications_user_open",
            "user_id",
            "created_at",
            postgresql_where=text("dismissed_at IS NULL AND acknowledged_at IS NULL"),
        ),
        Index("ix_notifications_client_id", "client_id"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_events.id"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(60), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(60), nullable=False)
    entity_id: Mapped[uuid.UUID | None] = mapped_column()
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"))
    data: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    # When it happened (the event) and when it reached the inbox.
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        server_default=text("clock_timestamp()"), nullable=False
    )
    snoozed_until: Mapped[datetime | None] = mapped_column()
    dismissed_at: Mapped[datetime | None] = mapped_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    emailed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class NotificationPreference(Base):
    """Email or not, per user and kind (the inbox itself cannot be turned off)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(60), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), onupdate=clock.now, nullable=False
    )


class CasContact(UUIDPk, Timestamps, CocScoped, Base):
    """A housing provider's designated CAS contact (seed 001: "one user determined by each
    agency"): for the organization (``project_id`` NULL), or for one of its projects, which
    overrides the organization's."""

    __tablename__ = "cas_contacts"
    __table_args__ = (
        Index(
            "uq_cas_contacts_organization",
            "organization_id",
            unique=True,
            postgresql_where=text("project_id IS NULL"),
        ),
        Index(
            "uq_cas_contacts_project",
            "project_id",
            unique=True,
            postgresql_where=text("project_id IS NOT NULL"),
        ),
        Index("ix_cas_contacts_user_id", "user_id"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    project_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    set_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class WebhookSubscription(UUIDPk, Timestamps, Versioned, CocScoped, Base):
    """A partner organization's endpoint for some event types. Secrets are sealed
    (AES-256-GCM); during a rotation the previous one stays valid until
    ``previous_secret_expires_at`` and both sign."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        CheckConstraint("cardinality(event_types) >= 1", name="event_types_not_empty"),
        CheckConstraint(
            "(disabled_at IS NULL) = (disabled_reason IS NULL)", name="disabled_has_reason"
        ),
        CheckConstraint(
            "disabled_reason IS NULL OR disabled_reason IN ('failures', 'by_user')",
            name="disabled_reason_valid",
        ),
        CheckConstraint(
            "(previous_secret_sealed IS NULL) = (previous_secret_expires_at IS NULL)",
            name="previous_secret_expires",
        ),
        CheckConstraint("url ~ '^https?://'", name="url_http"),
        Index("ix_webhook_subscriptions_organization", "organization_id", "created_at", "id"),
        Index("ix_webhook_subscriptions_coc_id", "coc_id"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    description: Mapped[str | None] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(60)), nullable=False)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    previous_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column()
    disabled_at: Mapped[datetime | None] = mapped_column()
    disabled_reason: Mapped[str | None] = mapped_column(String(20))
    # Failed attempts in a row (any delivery); a success resets it.
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class WebhookDelivery(UUIDPk, CocScoped, Base):
    """One event sent to one subscription: the exact body (signed again at each try, under the
    same ``webhook-id``), its state and its last result."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(sql_in("status", WebhookDeliveryStatus), name="status_valid"),
        Index(
            "uq_webhook_deliveries_subscription_event",
            "subscription_id",
            "event_id",
            unique=True,
        ),
        Index("ix_webhook_deliveries_subscription_created", "subscription_id", "created_at", "id"),
        Index("ix_webhook_deliveries_event_id", "event_id"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_events.id"), nullable=False
    )
    event_type: Mapped[str] = mapped_column(String(60), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(
        String(20), nullable=False, default=WebhookDeliveryStatus.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(
        server_default=text("clock_timestamp()"), nullable=False
    )
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))


class WebhookDeliveryAttempt(UUIDPk, CocScoped, Base):
    """The delivery log: every try, its answer (status code) or error, and how long it took."""

    __tablename__ = "webhook_delivery_attempts"
    coc_id: Mapped[uuid.UUID] = coc_scope()
    __table_args__ = (
        Index("ix_webhook_delivery_attempts_delivery", "delivery_id", "attempted_at"),
    )

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
    )
    attempted_at: Mapped[datetime] = mapped_column(
        server_default=text("clock_timestamp()"), nullable=False
    )
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    # Who asked for a manual redelivery (NULL: the automatic tries).
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
