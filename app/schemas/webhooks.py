"""Partner webhook subscriptions and their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from app.reference.notifications import NotificationKind, WebhookDeliveryStatus
from app.schemas.common import ReadModel, WriteModel

_SECRET = Field(
    default=None,
    max_length=200,
    description="`whsec_` followed by base64 of 24 to 64 random bytes (Standard Webhooks). "
    "Left out, the service generates one (32 bytes) and answers it once.",
)


class WebhookSubscriptionCreate(WriteModel):
    organization_id: uuid.UUID | None = Field(
        default=None,
        description="Whose subscription it is: the organization you act for (default); system "
        "admins may name another organization of the CoC.",
    )
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="http(s) URL of the receiver. Its host must resolve to public addresses "
        "only (no loopback, private, link-local or metadata addresses).",
    )
    event_types: list[NotificationKind] = Field(min_length=1, max_length=20)
    description: str | None = Field(default=None, max_length=200)
    secret: str | None = _SECRET


class WebhookSubscriptionUpdate(WriteModel):
    NOT_NULL = ("url", "event_types", "enabled")

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    event_types: list[NotificationKind] | None = Field(default=None, min_length=1, max_length=20)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = Field(
        default=None,
        description="false turns deliveries off; true turns a disabled subscription back on "
        "(its URL is checked again and its failure count starts over).",
    )


class WebhookSecretRotate(WriteModel):
    secret: str | None = _SECRET
    previous_valid_hours: int = Field(
        default=24,
        ge=0,
        le=168,
        description="Hours the current secret keeps signing beside the new one (both "
        "signatures are sent), so receivers can switch without losing deliveries; 0 ends it "
        "at once.",
    )


class WebhookSubscriptionRead(ReadModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    url: str
    description: str | None
    event_types: list[NotificationKind]
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None = Field(
        description="`failures` (disabled automatically after repeated failed deliveries) or "
        "`by_user`."
    )
    consecutive_failures: int
    previous_secret_expires_at: datetime | None = Field(
        description="While set and in the future, the previous secret also signs deliveries."
    )
    created_at: datetime
    updated_at: datetime
    version: int


class WebhookSubscriptionCreated(WebhookSubscriptionRead):
    secret: str = Field(description="The signing secret. Shown only here; keep it safe.")


class WebhookSecretRead(ReadModel):
    secret: str = Field(description="The new signing secret. Shown only here.")
    previous_secret_expires_at: datetime | None


class WebhookAttemptRead(ReadModel):
    attempted_at: datetime
    succeeded: bool
    status_code: int | None
    error: str | None
    duration_ms: int
    requested_by_user_id: uuid.UUID | None = Field(
        description="Who asked for a manual redelivery; null for the automatic tries."
    )


class WebhookDeliveryRead(ReadModel):
    id: uuid.UUID
    subscription_id: uuid.UUID
    webhook_id: str = Field(description="The `webhook-id` header sent (same on every try).")
    event_id: uuid.UUID
    event_type: NotificationKind
    status: WebhookDeliveryStatus
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None


class WebhookDeliveryDetail(WebhookDeliveryRead):
    payload: dict[str, Any] = Field(description="The body sent (ids and codes only).")
    attempt_log: list[WebhookAttemptRead]


class WebhookEventTypeRead(ReadModel):
    event_type: NotificationKind
    title: str
