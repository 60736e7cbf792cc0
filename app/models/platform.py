"""Cross-cutting records: audit trail, idempotency keys, email outbox, notification events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    TIMESTAMP,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CocScoped, UUIDPk


class AuditEvent(UUIDPk, Base):
    """Append-only (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_occurred_at_id", "occurred_at", "id"),
        Index("ix_audit_events_entity", "entity_type", "entity_id", "occurred_at"),
        Index("ix_audit_events_actor", "actor_user_id", "occurred_at"),
        # "Who saw client X": one indexed lookup, however many clients one read showed.
        Index("ix_audit_events_subject_ids", "subject_ids", postgresql_using="gin"),
    )

    # clock_timestamp(): events of one transaction keep their order.
    occurred_at: Mapped[datetime] = mapped_column(
        server_default=text("clock_timestamp()"), nullable=False
    )
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acting_organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    coc_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cocs.id"))
    action: Mapped[str] = mapped_column(String(60), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(60), nullable=False)
    entity_id: Mapped[uuid.UUID | None] = mapped_column()
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Reads of client data: the clients shown (one event per response, however many it showed).
    subject_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(Uuid))
    request_id: Mapped[str | None] = mapped_column(String(128))
    ip_address: Mapped[str | None] = mapped_column(String(64))


class IdempotencyRecord(UUIDPk, Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (
        Index("uq_idempotency_records_scope_key", "scope", "key", unique=True),
        Index("ix_idempotency_records_created_at", "created_at"),
    )

    # Who sent it (user id and acting organization id), to which operation and path.
    scope: Mapped[str] = mapped_column(String(300), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response_headers: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False)
    # Sealed (AES-256-GCM, see app.http.uow): responses hold client data.
    response_body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), nullable=False)


class EmailMessage(UUIDPk, Base):
    __tablename__ = "email_outbox"
    __table_args__ = (
        Index("ix_email_outbox_pending", "created_at", postgresql_where=text("sent_at IS NULL")),
    )

    to_address: Mapped[str] = mapped_column(String(320), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    # The HTML alternative of notification emails (the text ``body`` is always there).
    html_body: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(60), nullable=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


class NotificationEvent(UUIDPk, CocScoped, Base):
    """Something that happened and may notify people (DOMAIN 10); its fan-out job
    (``app.services.notifications.fanout``) makes the inbox notifications, emails and webhook
    deliveries. ``data`` carries codes and ids, never PII."""

    __tablename__ = "notification_events"
    __table_args__ = (
        Index("ix_notification_events_coc_created", "coc_id", "created_at", "id"),
        Index("ix_notification_events_type_created", "event_type", "created_at"),
        Index(
            "ix_notification_events_client",
            "client_id",
            "created_at",
            postgresql_where=text("client_id IS NOT NULL"),
        ),
        # Events found by a scan (inactivity, expiry, stalls) are recorded once per key.
        Index(
            "uq_notification_events_dedupe_key",
            "dedupe_key",
            unique=True,
            postgresql_where=text("dedupe_key IS NOT NULL"),
        ),
        Index(
            "ix_notification_events_pending",
            "created_at",
            postgresql_where=text("fanned_out_at IS NULL"),
        ),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    event_type: Mapped[str] = mapped_column(String(60), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(60), nullable=False)
    entity_id: Mapped[uuid.UUID | None] = mapped_column()
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acting_organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    data: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    # clock_timestamp(): events of one transaction keep their order.
    created_at: Mapped[datetime] = mapped_column(
        server_default=text("clock_timestamp()"), nullable=False
    )
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    # When its notifications, emails and webhook deliveries were made.
    fanned_out_at: Mapped[datetime | None] = mapped_column()


class RateLimitBucket(Base):
    """One rate-limit budget (a client address, an account's failed logins, an email address's
    reset requests, a user's exports): the times of its hits inside the window, shared by every
    instance of the service (``cas_rate_limit_hit`` updates it in one statement under the row's
    lock). UNLOGGED: losing it in a crash only forgets recent hits. The key is a SHA-256 of the
    budget's name, never an address or an email in clear. Housekeeping removes expired rows."""

    __tablename__ = "rate_limit_buckets"
    __table_args__ = (
        Index("ix_rate_limit_buckets_expires_at", "expires_at"),
        {"prefixes": ["UNLOGGED"]},
    )

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    hits: Mapped[list[datetime]] = mapped_column(
        ARRAY(TIMESTAMP(timezone=True)), nullable=False, server_default=text("'{}'")
    )
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
