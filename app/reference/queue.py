"""The CAS queue's vocabularies (DOMAIN 7): intake statuses, why an entry closed, the reasons a
record is incomplete, the prioritization keys and the household facts they read."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class IntakeStatus(StrEnum):
    """Where a queue entry's documentation review stands: CAS administrators mark it approved
    or incomplete_documentation; the case manager sends incomplete documentation back as
    pending_second_review."""

    PENDING = "pending"
    INCOMPLETE_DOCUMENTATION = "incomplete_documentation"
    PENDING_SECOND_REVIEW = "pending_second_review"
    APPROVED = "approved"


class CloseReason(StrEnum):
    """Why a queue entry was closed: the household exited Coordinated Entry, or its intake was
    voided (recorded in error, ``ce.void``)."""

    EXITED = "exited"
    VOIDED = "voided"


# Why a queue entry was closed (the database's list).
CLOSE_REASONS: tuple[str, ...] = tuple(CloseReason)


class IncompleteReason(StrEnum):
    """What a CAS administrator found missing when marking a record incomplete_documentation:
    the Document Check items (DOMAIN 6), an expired document, or something else in words."""

    HOUSING_STATUS = "housing_status_verification"
    IDENTITY = "identity_verification"
    HOMELESSNESS = "homelessness_verification"
    DISABILITY = "disability_verification"
    DOCUMENT_EXPIRED = "document_expired"
    OTHER = "other"


# Each incomplete reason: a label, and the Document Check (category, item) it asks for (None
# when it names no single item).
INCOMPLETE_REASONS: dict[IncompleteReason, tuple[str, tuple[str, str] | None]] = {
    IncompleteReason.HOUSING_STATUS: (
        "Verification of housing status is missing",
        ("homeless", "housing_status"),
    ),
    IncompleteReason.IDENTITY: ("Verification of identity is missing", ("homeless", "identity")),
    IncompleteReason.HOMELESSNESS: (
        "Verification of homelessness (third-party or self-certification) is missing",
        ("homeless", "homeless"),
    ),
    IncompleteReason.DISABILITY: (
        "Verification of disability is missing (for RRH/PSH: a doctor's letter or an SSI "
        "award letter)",
        ("disability", "disability"),
    ),
    IncompleteReason.DOCUMENT_EXPIRED: ("A document on file has expired", None),
    IncompleteReason.OTHER: ("Something else (say what in the text)", None),
}
# Reasons that must come with a text saying what exactly is missing.
REASONS_NEEDING_TEXT = frozenset({IncompleteReason.OTHER})


class PriorityKey(StrEnum):
    """What a CoC's prioritization scheme may order by (DOMAIN 7). The stable random
    tie-breaker is always the last key and is not named in a scheme."""

    CHRONIC = "chronic"  # chronically homeless, from recorded data or documented (either)
    SCORE = "score"  # the community's assessment score (VI-SPDAT in the seeds)
    DAYS_HOMELESS_3Y = "days_homeless_3y"  # nights homeless in the last three years
    DAYS_ON_QUEUE = "days_on_queue"  # days since placement on the list
    VETERAN = "veteran"  # an adult of the household is a veteran
    FAMILY_WITH_CHILDREN = "family_with_children"
    YOUTH = "youth"  # a youth-headed household (18-24, no adult 25 or older)


class Direction(StrEnum):
    """``desc``: higher values first (true before false, more days first); ``asc``: lower
    values first."""

    DESC = "desc"
    ASC = "asc"


# The scheme a CoC starts with (DOMAIN 7's example): chronic first, then the score, then days
# homeless, then time on the queue, then the tie-breaker. Migration 0014 holds a copy (the
# queue_settings default and the priority-key trigger's fallback); a test keeps them equal.
DEFAULT_SCHEME: tuple[tuple[PriorityKey, Direction], ...] = (
    (PriorityKey.CHRONIC, Direction.DESC),
    (PriorityKey.SCORE, Direction.DESC),
    (PriorityKey.DAYS_HOMELESS_3Y, Direction.DESC),
    (PriorityKey.DAYS_ON_QUEUE, Direction.DESC),
)
TIE_BREAKER = "tie_breaker"


def scheme_json(scheme: tuple[tuple[PriorityKey, Direction], ...]) -> list[dict[str, Any]]:
    """A scheme as stored (``queue_settings.scheme``): ``[{"key": ..., "direction": ...}]``."""
    return [{"key": str(k), "direction": str(d)} for k, d in scheme]


DEFAULT_SCORE_TOOL = "VI-SPDAT"
# Every VI-SPDAT version fits (single adults and youth 0-17, families 0-22).
DEFAULT_SCORE_MIN = 0
DEFAULT_SCORE_MAX = 22


class HouseholdType(StrEnum):
    """HUD's household types, from the ages of the members on the queue entry."""

    ADULTS_ONLY = "adults_only"
    ADULTS_AND_CHILDREN = "adults_and_children"
    CHILDREN_ONLY = "children_only"
    UNKNOWN = "unknown"  # an age is missing and the others do not decide it


class ReferralStatus(StrEnum):
    """Where the household's housing referral stands (matching adds the others)."""

    NONE = "none"


class DocumentStatus(StrEnum):
    """The Document Check items on file for the household (head and adults), current ones
    only: every checklist item, some, or none."""

    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    NONE = "none"


# Days without a contact, assessment, service or document upload after which a client is
# flagged inactive (DOMAIN 5); they stay on the queue.
INACTIVE_AFTER_DAYS = 90
