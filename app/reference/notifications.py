"""Vocabularies of notifications, background jobs and partner webhooks (DOMAIN 10).

``NotificationKind`` names every kind of notification event; the fan-out table
(``app.services.notifications.kinds.KINDS``) says who hears about each. A new trigger is one
member here and one entry there.
"""

from __future__ import annotations

from enum import StrEnum


class NotificationKind(StrEnum):
    """What happened. Also the event type of partner webhooks."""

    # A Document Check or Client Files document was uploaded (DOMAIN 6).
    DOCUMENT_UPLOADED = "document.uploaded"
    # The CE outcome of an enrollment changed: diverted, placed on the queue (seed 001).
    ENROLLMENT_OUTCOME_CHANGED = "enrollment.outcome_changed"
    # A queue entry's intake status moved (DOMAIN 7); written by the queue.
    QUEUE_INTAKE_STATUS_CHANGED = "queue.intake_status_changed"
    # An approved queue entry's required document expired: the CAS team reviews it.
    QUEUE_REVIEW_NEEDED = "queue.review_needed"
    # No contact, assessment or service for 90 days (DOMAIN 5).
    CLIENT_INACTIVE = "client.inactive"
    # A document's expiration date passed.
    DOCUMENT_EXPIRED = "document.expired"
    # A partner webhook subscription was disabled after repeated failed deliveries.
    WEBHOOK_SUBSCRIPTION_DISABLED = "webhook_subscription.disabled"

    # Matches (referrals, DOMAIN 9): one kind per change, written by matching as
    # ``match.<change>`` in the change's transaction.
    MATCH_SENT = "match.sent"
    MATCH_ACCEPTED = "match.accepted"
    MATCH_ENROLLED = "match.enrolled"
    MATCH_DECLINED = "match.declined"
    MATCH_PARKED = "match.parked"
    MATCH_REJECTED = "match.rejected"
    MATCH_NO_SHOW = "match.no_show"
    MATCH_CANCELED = "match.canceled"
    MATCH_STALL_RESPONSE = "match.stall_response"
    # The EHV route (seed 001): the CoC admin accepts (navigation), the navigator records the
    # voucher and the RFTA, the CoC admin assigns the EHV case-manager agency contact.
    MATCH_EHV_NAVIGATION = "match.ehv_navigation"
    MATCH_EHV_VOUCHER_ISSUED = "match.ehv_voucher_issued"
    MATCH_EHV_RFTA_SUBMITTED = "match.ehv_rfta_submitted"
    MATCH_EHV_CASE_MANAGER_ASSIGNED = "match.ehv_case_manager_assigned"
    # Found by matching's scheduled scans, once each (keyed per match; the stall kinds per
    # response period, since a stall response restarts the clock).
    MATCH_ABOUT_TO_STALL = "match.about_to_stall"
    MATCH_STALLED = "match.stalled"
    # A park's end date came: the household is back on the queue in its place.
    MATCH_PARK_ENDED = "match.park_ended"


class Audience(StrEnum):
    """Who hears about an event (seed 001, "CAS has been set up in HMIS to provide
    notifications to ...")."""

    # Users holding the cas_admin role in the CoC (the lead agency's CAS administrators).
    CAS_ADMINS = "cas_admins"
    # The client's assigned case managers (active case assignments).
    CASE_MANAGERS = "case_managers"
    # Prioritizing agency users: every member of the CoC's CAS organization.
    CAS_ORGANIZATION_MEMBERS = "cas_organization_members"
    # The housing provider's designated CAS contact (per organization, per project override).
    PROVIDER_CONTACTS = "provider_contacts"
    # EHV: the case-manager agency contact the CoC admin assigned to the match, who takes it
    # over from the navigator (seed 001).
    EHV_CASE_MANAGER = "ehv_case_manager"
    # The admins of the organization the event is about (webhook subscriptions).
    ORGANIZATION_ADMINS = "organization_admins"


class InboxFilter(StrEnum):
    """The inbox's state filters. ``new``: neither dismissed nor acknowledged, and not snoozed
    into the future; ``snoozed``: snoozed until a time still to come (and not dismissed);
    ``dismissed`` and ``acknowledged``: marked so (the two are separate states)."""

    NEW = "new"
    SNOOZED = "snoozed"
    DISMISSED = "dismissed"
    ACKNOWLEDGED = "acknowledged"


class JobStatus(StrEnum):
    """``queued`` waits for ``run_after``; ``running`` holds a lease; ``succeeded``;
    ``dead``: failed ``max_attempts`` times (the dead letter; a system admin may retry it)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEAD = "dead"


class WebhookDeliveryStatus(StrEnum):
    """``pending``: being tried (with retries); ``succeeded``: the receiver answered 2xx;
    ``failed``: every try failed; ``skipped``: the subscription was disabled or removed before
    it could be delivered."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


def sql_in(column: str, values: type[StrEnum]) -> str:
    """``column IN ('a', 'b')`` for a check constraint over a ``StrEnum``."""
    return f"{column} IN (" + ", ".join(f"'{v.value}'" for v in values) + ")"
