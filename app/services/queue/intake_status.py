"""The intake-status state machine of a queue entry (DOMAIN 7), on the shared helper
(``app.services.platform.statemachine``).

Entries are created ``pending`` by the CE intake / update assessment that places the household
(``ce.outcome``) and closed when the household exits Coordinated Entry (``ce.exits``). CAS
administrators review (``queue:review``); the case manager sends an incomplete record back for a
second review (Case Manager Review, ``queue:case_manager_review``). Nothing else moves an intake
status. Keyed by permission: a system admin, who holds every permission, may make every move.
"""

from __future__ import annotations

from app.permissions import Permission
from app.reference.queue import IntakeStatus
from app.services.platform.statemachine import AuditHistory, Machine, Rule

PENDING = IntakeStatus.PENDING
INCOMPLETE = IntakeStatus.INCOMPLETE_DOCUMENTATION
SECOND_REVIEW = IntakeStatus.PENDING_SECOND_REVIEW
APPROVED = IntakeStatus.APPROVED

REVIEW = Rule[IntakeStatus](Permission.QUEUE_REVIEW)
CASE_MANAGER_REVIEW = Rule[IntakeStatus](Permission.QUEUE_CASE_MANAGER_REVIEW)

PENDING_TO_SECOND_REVIEW = (
    "A pending record has not been reviewed by a CAS administrator yet, so there is nothing to "
    "send back for a second review: case managers must not move pending to "
    "pending_second_review. A CAS administrator first approves the record or marks it "
    "incomplete_documentation; after fixing what is missing, the case manager marks it "
    "pending_second_review."
)

INTAKE_STATUS = Machine(
    "intake status",
    IntakeStatus,
    {
        (PENDING, INCOMPLETE): REVIEW,
        (PENDING, APPROVED): REVIEW,
        (INCOMPLETE, SECOND_REVIEW): CASE_MANAGER_REVIEW,
        (SECOND_REVIEW, APPROVED): REVIEW,
        (SECOND_REVIEW, INCOMPLETE): REVIEW,
        (APPROVED, INCOMPLETE): REVIEW,
    },
    attribute="intake_status",
    field="intake_status",
    # Kept in the audit trail until the queue adds its own history table.
    history=AuditHistory("queue_entry", "queue_entry.intake_status"),
    explanations={(PENDING, SECOND_REVIEW): PENDING_TO_SECOND_REVIEW},
)
