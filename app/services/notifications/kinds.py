"""The fan-out table: for every kind of notification event, who hears about it, whether they get
an email by default, and whether partner organizations may subscribe to it.

**Adding a trigger is one entry here** (and its member in ``NotificationKind``): the code that
makes the change records the event (``platform.events.emit``, or ``emit_once`` from a scan), and
the fan-out job does the rest. The matching feature plugs its kinds in this way -- referral sent,
outcome, decline, park (``PROVIDER_CONTACTS`` and ``CASE_MANAGERS``, with ``project_id`` /
``organization_id`` in the event's data for the provider's CAS contact), "about to stall" and
"stalled" (found by a scan registered in ``app.jobs.SCANS``, recorded with ``emit_once`` keyed
per match so each is sent once), park ending. A kind whose records carry their own visibility
rule (a referral seen by the provider it was sent to) gives ``visible``.

An event may narrow its kind's audiences, never widen them: ``data["audience"]``, a list of
``Audience`` values (the queue names who acts next after a status move: the case managers
after ``incomplete_documentation`` or ``approved``, the CAS admins after
``pending_second_review``).

Whatever the audience, a recipient only gets a notification about what they may see: the
client (``clients.access``), Document Check (the CAS organization and admins), and the kind's
own ``visible`` rule, all judged for the organization through which they receive it. The person
whose action caused the event is not notified of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.models.platform import NotificationEvent
from app.reference.notifications import Audience, NotificationKind

# An extra visibility rule of a kind: may ``actor`` (a recipient acting for the organization
# they receive it through, or a partner organization) know about ``event``?
VisibilityRule = Callable[[AsyncSession, Actor, NotificationEvent], Awaitable[bool]]

A = Audience
K = NotificationKind


@dataclass(frozen=True)
class KindSpec:
    kind: NotificationKind
    audiences: tuple[Audience, ...]
    # The inbox title and email subject: a fixed phrase, never data.
    title: str
    # Whether recipients get an email unless they turned it off for this kind.
    email: bool
    # Partner organizations may subscribe to it (webhooks).
    webhook: bool = True
    visible: VisibilityRule | None = None


KINDS: dict[NotificationKind, KindSpec] = {
    spec.kind: spec
    for spec in (
        # DOMAIN 6: "Uploading a document notifies CAS admins".
        KindSpec(K.DOCUMENT_UPLOADED, (A.CAS_ADMINS,), "A document was uploaded", email=False),
        # Seed 001: the outcome of a diversion conversation or attempt changes.
        KindSpec(
            K.ENROLLMENT_OUTCOME_CHANGED,
            (A.CAS_ADMINS, A.CASE_MANAGERS, A.CAS_ORGANIZATION_MEMBERS),
            "A Coordinated Entry outcome changed",
            email=False,
        ),
        # DOMAIN 7: the case manager acts on incomplete documentation; CAS admins review.
        KindSpec(
            K.QUEUE_INTAKE_STATUS_CHANGED,
            (A.CASE_MANAGERS, A.CAS_ADMINS),
            "A queue intake status changed",
            email=True,
        ),
        KindSpec(
            K.QUEUE_REVIEW_NEEDED,
            (A.CAS_ADMINS,),
            "An approved queue entry needs review",
            email=True,
        ),
        # DOMAIN 5 / issue 14: 90 days without a contact notifies the case manager.
        KindSpec(
            K.CLIENT_INACTIVE,
            (A.CASE_MANAGERS,),
            "A client has had no contact for 90 days",
            email=True,
        ),
        KindSpec(
            K.DOCUMENT_EXPIRED,
            (A.CASE_MANAGERS, A.CAS_ADMINS),
            "A document expired",
            email=True,
        ),
        KindSpec(
            K.WEBHOOK_SUBSCRIPTION_DISABLED,
            (A.ORGANIZATION_ADMINS,),
            "A webhook subscription was disabled",
            email=True,
            webhook=False,
        ),
    )
}


def spec_for(event_type: str) -> KindSpec | None:
    try:
        return KINDS.get(NotificationKind(event_type))
    except ValueError:
        return None


def webhook_kinds() -> list[NotificationKind]:
    return [kind for kind, spec in KINDS.items() if spec.webhook]
