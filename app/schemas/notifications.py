"""The notification inbox, email choices and providers' CAS contacts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from app.reference.notifications import NotificationKind
from app.schemas.common import FilterDateTime, ReadModel, WriteModel


class NotificationRead(ReadModel):
    id: uuid.UUID
    kind: NotificationKind
    title: str = Field(examples=["A queue intake status changed"])
    message: str = Field(
        description="One sentence from the event's codes (never names or other PII).",
        examples=["The intake status changed from pending to approved."],
    )
    organization_id: uuid.UUID = Field(
        description="The organization through which you receive it: act for it to open the record."
    )
    entity_type: str
    entity_id: uuid.UUID | None
    client_id: uuid.UUID | None
    data: dict[str, Any] = Field(description="The event's codes and ids.")
    occurred_at: datetime = Field(description="When it happened.")
    created_at: datetime = Field(description="When it reached your inbox (the calendar date).")
    new: bool = Field(
        description="Neither dismissed nor acknowledged, and not snoozed into the future."
    )
    snoozed_until: datetime | None
    dismissed_at: datetime | None
    acknowledged_at: datetime | None


class NotificationSnooze(WriteModel):
    until: FilterDateTime = Field(
        description="When it comes back: in the future, at most 90 days ahead; UTC without an "
        "offset."
    )


class NotificationDismissAll(WriteModel):
    kind: NotificationKind | None = Field(
        default=None, description="Only notifications of this kind (default: every kind)."
    )


class DismissedCount(ReadModel):
    dismissed: int


class UnreadCount(ReadModel):
    unread: int = Field(description="Your new notifications (the bell).")


class NotificationPreferenceRead(ReadModel):
    kind: NotificationKind
    title: str
    email: bool = Field(description="Whether you get an email for this kind.")
    default_email: bool
    audiences: list[str] = Field(description="Who receives this kind.")


class NotificationPreferenceUpdate(WriteModel):
    kind: NotificationKind
    email: bool = Field(
        description="Email or not for this kind; the notification always reaches your inbox "
        "(to stop receiving a client's notifications, reassign the case manager)."
    )


class CasContactSet(WriteModel):
    user_id: uuid.UUID = Field(
        description="An active member of the organization: receives its referrals' "
        "notifications (by email and in the inbox)."
    )


class CasContactRead(ReadModel):
    organization_id: uuid.UUID
    project_id: uuid.UUID | None
    user_id: uuid.UUID | None = Field(description="Set here; null when none is set here.")
    effective_user_id: uuid.UUID | None = Field(
        description="Who receives the notifications: the project's own contact, else the "
        "organization's."
    )
