"""What a notification says, in the inbox and in email (text and HTML).

Built from the kind's fixed title and the event's codes and dates only: no names, no comments,
no file names -- nothing beyond what the recipient may see (the client is named by its id, which
the recipient may open). Links point at the front end (``CAS_FRONTEND_BASE_URL``).
"""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass
from typing import Any

from app.reference.notifications import NotificationKind
from app.services.notifications.kinds import KindSpec

K = NotificationKind


def _value(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None or isinstance(value, dict | list):
        return "unknown"
    return str(value)[:60]


def detail(kind: str, data: dict[str, Any]) -> str:
    """One sentence about the event, from its codes."""
    v = lambda key: _value(data, key)  # noqa: E731
    if kind == K.DOCUMENT_UPLOADED:
        if "category" in data:
            return f"Document Check: {v('category')} / {v('item')} ({v('document_type')})."
        return f"Client file: {v('file_type')}."
    if kind == K.ENROLLMENT_OUTCOME_CHANGED:
        if data.get("from") is None:
            return f"The Coordinated Entry intake's outcome: {v('to')}."
        return f"The Coordinated Entry outcome changed from {v('from')} to {v('to')}."
    if kind == K.QUEUE_INTAKE_STATUS_CHANGED:
        return f"The intake status changed from {v('from')} to {v('to')}."
    if kind == K.QUEUE_REVIEW_NEEDED:
        return (
            f"A document of this approved queue entry expired on {v('expiration_date')}: "
            "review its intake status."
        )
    if kind == K.CLIENT_INACTIVE:
        return (
            "No contact, assessment, service or document has been recorded since "
            f"{v('last_contact_on')} (90 days). The client stays enrolled."
        )
    if kind == K.DOCUMENT_EXPIRED:
        return f"The document ({v('document_kind')}) expired on {v('expiration_date')}."
    if kind == K.WEBHOOK_SUBSCRIPTION_DISABLED:
        return (
            f"Deliveries to the subscription failed {v('failures')} times in a row, so it was "
            "disabled. Fix the receiver, then enable the subscription again."
        )
    if kind == K.MATCH_ABOUT_TO_STALL:
        return (
            f"The referral (sent {v('sent_on')}) has had no provider response and stalls on "
            f"{v('stalls_on')}."
        )
    if kind == K.MATCH_STALLED:
        return (
            f"The referral (sent {v('sent_on')}) stalled on {v('stalls_on')}: no provider "
            "response within the response policy. The provider's program manager responds."
        )
    if kind == K.MATCH_PARK_ENDED:
        return (
            f"The park ({v('park_reason')}) ended on {v('parked_until')}: the household is back "
            "on the queue in its place."
        )
    if kind == K.MATCH_STALL_RESPONSE:
        return "The provider answered the stalled referral; its response clock restarted."
    if kind.startswith("match."):
        if data.get("previous_status") is None:
            return f"The referral's status: {v('status')}."
        return f"The referral moved from {v('previous_status')} to {v('status')}."
    return "Something changed."


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def email(
    spec: KindSpec,
    data: dict[str, Any],
    *,
    notification_id: uuid.UUID,
    client_id: uuid.UUID | None,
    organization_id: uuid.UUID,
    frontend_url: str,
) -> Email:
    """The links name the organization the notification reached the recipient through: the
    front end acts for it (switching organization if need be) to open them."""
    title = spec.title
    sentence = detail(spec.kind, data)
    acting = f"?organization_id={organization_id}"
    link = f"{frontend_url}/notifications/{notification_id}{acting}"
    client_link = f"{frontend_url}/clients/{client_id}{acting}" if client_id else None
    lines = [title, "", sentence, "", f"Open the notification: {link}"]
    if client_link:
        lines.append(f"Open the client (ID {client_id}): {client_link}")
    lines += [
        "",
        "You receive this email because of your role in the Coordinated Access System. The "
        "notification stays in your inbox; emails of this kind can be turned off in your "
        "notification preferences.",
    ]
    esc = html.escape
    client_html = (
        f'<p><a href="{esc(client_link)}">Open the client (ID {esc(str(client_id))})</a></p>'
        if client_link
        else ""
    )
    body_html = (
        '<!DOCTYPE html><html><body style="font-family: sans-serif">'
        f"<h2>{esc(title)}</h2><p>{esc(sentence)}</p>"
        f'<p><a href="{esc(link)}">Open the notification</a></p>{client_html}'
        '<p style="color: #666; font-size: small">You receive this email because of your '
        "role in the Coordinated Access System. The notification stays in your inbox; emails "
        "of this kind can be turned off in your notification preferences.</p></body></html>"
    )
    return Email(subject=f"[CAS] {title}", text="\n".join(lines) + "\n", html=body_html)
