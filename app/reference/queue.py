"""The CAS queue's vocabularies (DOMAIN 7): intake statuses, why an entry closed, the reasons a
record is incomplete, the prioritization keys and the household facts they read."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from app.reference.data_quality import ADULT_AGE, age_on, is_adult
from app.reference.documents import CHECKLIST


class IntakeStatus(StrEnum):
    """Where a queue entry's documentation review stands: CAS administrators mark it approved
    or incomplete_documentation; the case manager sends incomplete documentation back as
    pending_second_review."""

    PENDING = "pending"
    INCOMPLETE_DOCUMENTATION = "incomplete_documentation"
    PENDING_SECOND_REVIEW = "pending_second_review"
    APPROVED = "approved"


class CloseReason(StrEnum):
    """Why a queue entry was closed: the household exited Coordinated Entry, its intake was
    voided (recorded in error, ``ce.void``), or it was housed through a match (matching)."""

    EXITED = "exited"
    VOIDED = "voided"
    HOUSED = "housed"


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
    """Where the household's housing referral stands, written by matching on every match
    change: ``none`` (no current referral, including after a decline or an ended park),
    ``sent``, ``accepted`` (accepted, or on the EHV route), ``parked`` (until
    ``queue_entries.parked_until``, none for an indefinite park; on that date the entry reads
    ``none`` again without a write), ``enrolled`` (housed through the match)."""

    NONE = "none"
    SENT = "sent"
    ACCEPTED = "accepted"
    PARKED = "parked"
    ENROLLED = "enrolled"


class DocumentStatus(StrEnum):
    """The Document Check items on file for the household (head and adults), current ones
    only: every checklist item, some, or none."""

    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    NONE = "none"


class QueueSort(StrEnum):
    """What a list of queue entries is ordered by; ties are in rank order."""

    RANK = "rank"
    CLIENT_ID = "client_id"
    SCORE = "score"  # no score first, then lowest to highest
    INTAKE_STATUS = "intake_status"  # alphabetical
    HOUSEHOLD_TYPE = "household_type"  # alphabetical
    HOUSEHOLD_SIZE = "household_size"
    REFERRAL_STATUS = "referral_status"


class QueueSortOrder(StrEnum):
    """A sort (``QueueSort``) ascending, or with a leading ``-`` exactly reversed."""

    RANK = "rank"
    RANK_DESC = "-rank"
    CLIENT_ID = "client_id"
    CLIENT_ID_DESC = "-client_id"
    SCORE = "score"
    SCORE_DESC = "-score"
    INTAKE_STATUS = "intake_status"
    INTAKE_STATUS_DESC = "-intake_status"
    HOUSEHOLD_TYPE = "household_type"
    HOUSEHOLD_TYPE_DESC = "-household_type"
    HOUSEHOLD_SIZE = "household_size"
    HOUSEHOLD_SIZE_DESC = "-household_size"
    REFERRAL_STATUS = "referral_status"
    REFERRAL_STATUS_DESC = "-referral_status"


class ChronicFilter(StrEnum):
    """``yes``: chronically homeless by either determination (recorded data or documented);
    ``no``: by neither; ``recorded`` / ``documented``: by that one."""

    YES = "yes"
    NO = "no"
    RECORDED = "recorded"
    DOCUMENTED = "documented"


# Days without a contact, assessment, service or document upload after which a client is
# flagged inactive (DOMAIN 5); they stay on the queue.
INACTIVE_AFTER_DAYS = 90


# --- household facts (pure rules; app.services.queue.facts loads the members) -------------------

YOUTH_AGES = range(18, 25)


@dataclass(frozen=True)
class Member:
    """A member of the household on a queue entry: a client with an open (or the head's)
    Coordinated Entry enrollment of the stay."""

    client_id: uuid.UUID
    head: bool
    relationship_to_hoh: int
    dob: date | None
    veteran_status: int
    last_contact_at: datetime | None = None


@dataclass(frozen=True)
class HouseholdFacts:
    size: int
    household_type: HouseholdType
    veteran: bool
    family_with_children: bool
    youth: bool
    # The members whose chronic status and documents count: the head and every adult.
    counted: tuple[uuid.UUID, ...]
    last_activity_at: datetime | None


def _counts_as_adult(m: Member, today: date) -> bool:
    """18 or older; with no date of birth, anyone but a child of the head (HUD 3.15 code 2)."""
    adult = is_adult(m.dob, today)
    return m.relationship_to_hoh != 2 if adult is None else adult


def household_facts(members: Sequence[Member], today: date) -> HouseholdFacts:
    """Size, HUD household type, veteran (an adult veteran), family with children (a child
    and someone else), youth-headed (head 18-24 and nobody 25 or older), and who counts for
    chronic status and documents (head or any adult), as of ``today``."""
    ages = [None if m.dob is None else age_on(m.dob, today) for m in members]
    adults = sum(1 for a in ages if a is not None and a >= ADULT_AGE)
    children = sum(1 for a in ages if a is not None and a < ADULT_AGE)
    unknown = sum(1 for a in ages if a is None)
    if adults and children:
        kind = HouseholdType.ADULTS_AND_CHILDREN
    elif unknown:
        kind = HouseholdType.UNKNOWN
    else:
        kind = HouseholdType.ADULTS_ONLY if adults else HouseholdType.CHILDREN_ONLY
    head_age = next((a for m, a in zip(members, ages, strict=True) if m.head), None)
    counted = tuple(m.client_id for m in members if m.head or _counts_as_adult(m, today))
    contacts = [m.last_contact_at for m in members if m.last_contact_at is not None]
    return HouseholdFacts(
        size=max(len(members), 1),
        household_type=kind,
        veteran=any(m.veteran_status == 1 and _counts_as_adult(m, today) for m in members),
        family_with_children=children >= 1 and len(members) >= 2,
        youth=head_age in YOUTH_AGES and not any(a is not None and a >= 25 for a in ages),
        counted=counted,
        last_activity_at=max(contacts) if contacts else None,
    )


def document_status(on_file: Iterable[str]) -> DocumentStatus:
    """Every checklist item on file, some, or none."""
    items = set(on_file)
    if not items:
        return DocumentStatus.NONE
    if items >= _EVERY_ITEM:
        return DocumentStatus.COMPLETE
    return DocumentStatus.INCOMPLETE


CHECKLIST_ITEMS: tuple[str, ...] = tuple(i for items in CHECKLIST.values() for i in items)
_EVERY_ITEM = frozenset(CHECKLIST_ITEMS)
