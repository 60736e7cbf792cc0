"""The fan-out table: for every kind of notification event, who hears about it, whether they get
an email by default, and whether partner organizations may subscribe to it.

**Adding a trigger is one entry here** (and its member in ``NotificationKind``): the code that
makes the change records the event (``platform.events.emit``, or ``emit_from`` from a scan), and
the fan-out job does the rest. Matching's kinds are plugged in this way: every change of a match
(``match.<change>``, to the provider's CAS contact -- ``project_id`` / ``organization_id`` in the
event's data --, the client's case managers and the CAS admins), "about to stall" and "stalled"
and a park's end (found by matching's scans, registered in ``app.jobs.scans_for`` and keyed so
each is recorded once). Match kinds carry their own visibility rule (``visible``): a recipient
must be able to read the match itself (``matching.policy.visible_matches_filter``), beside the
client (for a change of a match, the match's rule is the whole rule: see below).

An event may narrow its kind's audiences, never widen them: ``data["audience"]``, a list of
``Audience`` values (the queue names who acts next after a status move: the case managers
after ``incomplete_documentation`` or ``approved``, the CAS admins after
``pending_second_review``).

Whatever the audience, a recipient only gets a notification about what they may see: the
client (``clients.access``), Document Check (the CAS organization and admins -- also for a kind
whose data names a Document Check record, ``reveals_document_check``), and the kind's
own ``visible`` rule, all judged for the organization through which they receive it -- for the
changes of a match, its rule alone (``visible_covers_client``: a match names its client, and an
unsuccessful end takes the client off the provider's caseload before the notice is delivered).
The person whose action caused the event is not notified of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.models.enrollments import CaseAssignment, Enrollment
from app.models.matching import Match
from app.models.platform import NotificationEvent
from app.models.queue import QueueEntry
from app.reference.notifications import Audience, NotificationKind
from app.services.matching.policy import visible_matches_filter
from app.services.queue.flow_policy import sees_whole_queue

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
    # ``visible`` stands for the client's rule: the event's record (a match) names its client,
    # and whoever may read the record may be told of its change (the provider of a declined or
    # parked referral no longer sees the client, still its match).
    visible_covers_client: bool = False
    # The event names a Document Check record in its data although it is about another entity
    # (a queue entry whose verification expired): only the CAS organization and admins may be
    # told of it (DOMAIN 3), as for an event about the record itself.
    reveals_document_check: bool = False


async def _match_visible(session: AsyncSession, actor: Actor, event: NotificationEvent) -> bool:
    """The recipient may read the match the event is about (the provider it was sent to, the
    EHV case-manager agency, the CAS organization, admins, the client's case managers)."""
    if event.entity_id is None:
        return False
    found = await session.scalar(
        select(Match.id).where(Match.id == event.entity_id, visible_matches_filter(actor))
    )
    return found is not None


async def _queue_entry_visible(
    session: AsyncSession, actor: Actor, event: NotificationEvent
) -> bool:
    """The recipient may read the queue entry (DOMAIN 3 and 7: ``queue.flow_policy``): admins,
    the CAS organization, and the household's assigned case managers -- for a partner
    organization (no user of its own), the organization through which one of them is assigned
    to the household's Coordinated Entry stay. A partner that merely sees the client (it
    created it, was referred it, holds a release) is not told of queue status."""
    if sees_whole_queue(actor):
        return True
    if event.entity_id is None:
        return False
    stay = (
        select(Enrollment.household_group_id)
        .join(QueueEntry, QueueEntry.head_enrollment_id == Enrollment.id)
        .where(QueueEntry.id == event.entity_id)
        .scalar_subquery()
    )
    found = await session.scalar(
        select(CaseAssignment.id)
        .join(Enrollment, Enrollment.id == CaseAssignment.enrollment_id)
        .where(
            or_(
                CaseAssignment.user_id == actor.user_id,
                CaseAssignment.organization_id == actor.organization_id,
            ),
            CaseAssignment.status == "active",
            Enrollment.household_group_id == stay,
            Enrollment.voided_at.is_(None),
        )
        .limit(1)
    )
    return found is not None


# Every change of a match: the provider's CAS contact, the client's case managers, the CAS
# admins (DOMAIN 9: "referral events notify the provider's CAS contact and the client's case
# managers"; seed 001: the CAS contact is emailed). Once the CoC admin assigns an EHV
# case-manager agency contact, that contact takes the match over and hears of it too.
MATCH_AUDIENCES = (A.PROVIDER_CONTACTS, A.EHV_CASE_MANAGER, A.CASE_MANAGERS, A.CAS_ADMINS)


def _match(kind: NotificationKind, title: str, *, email: bool = True) -> KindSpec:
    # The change that ends a referral also ends the provider's access to the client (delivered
    # after it): the match's own rule decides, so the provider is told of it.
    return KindSpec(
        kind,
        MATCH_AUDIENCES,
        title,
        email=email,
        visible=_match_visible,
        visible_covers_client=True,
    )


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
            visible=_queue_entry_visible,
        ),
        KindSpec(
            K.QUEUE_REVIEW_NEEDED,
            (A.CAS_ADMINS,),
            "An approved queue entry needs review",
            email=True,
            reveals_document_check=True,
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
        _match(K.MATCH_SENT, "A referral was sent"),
        _match(K.MATCH_ACCEPTED, "A referral was accepted"),
        _match(K.MATCH_ENROLLED, "A referred client was enrolled"),
        _match(K.MATCH_DECLINED, "A referral was declined"),
        _match(K.MATCH_PARKED, "A referral was parked"),
        _match(K.MATCH_REJECTED, "A referral was rejected by the provider"),
        _match(K.MATCH_NO_SHOW, "A referred client did not show"),
        _match(K.MATCH_CANCELED, "A referral was canceled"),
        _match(K.MATCH_STALL_RESPONSE, "A stalled referral was answered", email=False),
        # Seed 001, EHV: the CoC admin's acceptance notifies the access point contacts (the
        # case managers) and the navigation agency contact (the provider's CAS contact); the
        # navigator's acceptance notifies the CoC admin to assign the case-manager agency.
        _match(K.MATCH_EHV_NAVIGATION, "An EHV referral was assigned to navigation"),
        _match(K.MATCH_EHV_VOUCHER_ISSUED, "An EHV voucher was issued"),
        _match(K.MATCH_EHV_RFTA_SUBMITTED, "An EHV RFTA was submitted"),
        _match(K.MATCH_EHV_CASE_MANAGER_ASSIGNED, "An EHV case manager was assigned"),
        # Seed 001, stalled matches: a warning before, a notice stating the date it stalled.
        # The provider's program managers respond, the CAS admins follow up; once stalled the
        # client's case managers hear of it too (they may help reach the client).
        KindSpec(
            K.MATCH_ABOUT_TO_STALL,
            (A.PROVIDER_CONTACTS, A.EHV_CASE_MANAGER, A.CAS_ADMINS),
            "A referral is about to stall",
            email=True,
            visible=_match_visible,
        ),
        KindSpec(
            K.MATCH_STALLED,
            (A.PROVIDER_CONTACTS, A.EHV_CASE_MANAGER, A.CAS_ADMINS, A.CASE_MANAGERS),
            "A referral stalled",
            email=True,
            visible=_match_visible,
        ),
        # DOMAIN 9/10: a park ends and the household is back on the queue: its case managers
        # and the CAS admins (who match it again). The provider that parked it no longer may
        # see the client.
        KindSpec(
            K.MATCH_PARK_ENDED,
            (A.CASE_MANAGERS, A.CAS_ADMINS),
            "A parked household is back on the queue",
            email=True,
            visible=_match_visible,
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
