"""Requests and answers of the queue's workflow: intake-status transitions and their history,
the Case Manager Review, assessment scores, caseloads."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from app.reference.caseloads import CaseloadSortOrder
from app.reference.exports import ExportFormat
from app.reference.queue import IncompleteReason, IntakeStatus, QueueSortOrder, ReferralStatus
from app.schemas.codes import LivingSituation, PrioritizationStatus
from app.schemas.common import ReadModel, WriteModel
from app.schemas.documents import ClientFileType, DocumentCategory, DocumentItem
from app.schemas.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.schemas.queue import QueueFilterFields

NOTE_MAX = 2000
TEXT_MAX = 4000


# --- transitions --------------------------------------------------------------------------------


class IncompleteReasonIn(WriteModel):
    """One thing missing from the record: a code (the Document Check item it asks for, an
    expired document, or `other`) and, for `other` required, a text saying what exactly."""

    code: IncompleteReason
    text: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="What exactly is missing (required for `other`).",
    )


class QueueTransitionCreate(WriteModel):
    """Move the entry's intake status. `incomplete_reasons` (at least one) is required when
    moving to `incomplete_documentation` and allowed only then; `incomplete_reasons`,
    `score_change_reason` and `instructions_for_case_manager` are the CAS administrator's
    review, which the case manager reads in the Case Manager Review."""

    to_status: IntakeStatus = Field(description="The intake status to move to.")
    note: str | None = Field(default=None, min_length=1, max_length=NOTE_MAX)
    incomplete_reasons: list[IncompleteReasonIn] = Field(default_factory=list, max_length=20)
    score_change_reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=NOTE_MAX,
        description="The reason for a change of score (DOMAIN 7), shown to the case manager.",
    )
    instructions_for_case_manager: str | None = Field(
        default=None,
        min_length=1,
        max_length=TEXT_MAX,
        description="What the case manager should do (shown in the Case Manager Review).",
    )


class DocumentCheckItemRef(ReadModel):
    category: DocumentCategory
    item: DocumentItem


class IncompleteReasonRead(ReadModel):
    code: IncompleteReason
    label: str
    text: str | None
    document_check_item: DocumentCheckItemRef | None = Field(
        description="The Document Check item the reason asks for, if it names one."
    )


class QueueTransitionRead(ReadModel):
    id: uuid.UUID
    queue_entry_id: uuid.UUID
    from_status: IntakeStatus | None = Field(description="null: the placement on the queue.")
    to_status: IntakeStatus
    actor_user_id: uuid.UUID | None
    actor_name: str | None = Field(description="The staff member who made the move.")
    acting_organization_id: uuid.UUID | None
    note: str | None
    incomplete_reasons: list[IncompleteReasonRead]
    score_change_reason: str | None
    instructions_for_case_manager: str | None
    created_at: datetime


class QueueTransitionResult(ReadModel):
    queue_entry_id: uuid.UUID
    intake_status: IntakeStatus
    version: int = Field(description="The entry's version (its new ETag).")
    allowed: list[IntakeStatus] = Field(
        description="Where you may move the intake status from here."
    )
    transition: QueueTransitionRead


# --- scores -------------------------------------------------------------------------------------


class QueueScoreUpdate(WriteModel):
    """A new assessment score (the CoC's tool and range: `GET .../score`), with the reason."""

    score: int = Field(ge=0, le=1000, description="Within the CoC's score range.")
    reason: str = Field(min_length=1, max_length=NOTE_MAX, description="Why the score changes.")


class QueueScoreRead(ReadModel):
    id: uuid.UUID
    queue_entry_id: uuid.UUID
    score: int
    previous_score: int | None
    tool: str
    reason: str
    recorded_by_user_id: uuid.UUID | None
    acting_organization_id: uuid.UUID | None
    recorded_at: datetime


class ScoreRange(ReadModel):
    tool: str = Field(description="The CoC's assessment tool (VI-SPDAT in the seeds).")
    min: int
    max: int


class QueueScoreState(ReadModel):
    queue_entry_id: uuid.UUID
    score: int | None
    score_recorded_at: datetime | None
    scale: ScoreRange
    version: int = Field(description="The entry's version (its ETag).")
    latest: QueueScoreRead | None = Field(description="The score's record, with its reason.")


# --- Case Manager Review ------------------------------------------------------------------------


class ScoreChangeRead(ReadModel):
    score: int | None
    previous_score: int | None
    reason: str
    recorded_at: datetime
    source: str = Field(
        description="`score`: a recorded score; `transition`: a reason for change of score "
        "given with a status move."
    )


class CaseManagerReviewRead(ReadModel):
    """What the case manager sees (read-only) of the CAS administrators' review."""

    queue_entry_id: uuid.UUID
    head_client_id: uuid.UUID
    household_id: uuid.UUID
    intake_status: IntakeStatus
    version: int = Field(description="The entry's version (send it as If-Match to move it).")
    score: int | None
    scale: ScoreRange
    incomplete_reasons: list[IncompleteReasonRead] = Field(
        description="What is missing: the reasons of the latest move to "
        "incomplete_documentation (empty when there was none)."
    )
    instructions_for_case_manager: str | None = Field(
        description="The latest instructions a CAS administrator left."
    )
    score_changes: list[ScoreChangeRead] = Field(description="Reasons for change of score.")
    reviews: list[QueueTransitionRead] = Field(
        description="The CAS administrators' moves, newest first."
    )
    allowed: list[IntakeStatus] = Field(
        description="Where you may move the intake status now (the case manager: "
        "pending_second_review from incomplete_documentation)."
    )


# --- caseloads ----------------------------------------------------------------------------------


class CaseManagerRef(ReadModel):
    user_id: uuid.UUID
    full_name: str


class LastLivingSituation(ReadModel):
    current_living_situation: LivingSituation
    information_date: date


class DocumentsOnFile(ReadModel):
    client_files: list[ClientFileType] = Field(description="Client File types on file (current).")
    document_check: list[DocumentCheckItemRef] | None = Field(
        description="Document Check items on file (current); null when you may not see "
        "Document Check (only the CAS organization and admins may)."
    )


class CaseloadRow(ReadModel):
    enrollment_id: uuid.UUID = Field(description="The Coordinated Entry enrollment (the case).")
    client_id: uuid.UUID
    first_name: str | None
    last_name: str | None
    enroll_date: date
    days_enrolled: int = Field(description="Days enrolled in CAS (to the exit, or today).")
    exit_date: date | None
    prioritization_status: PrioritizationStatus | None = Field(
        description="4.19.7 of the latest CE assessment."
    )
    queue_entry_id: uuid.UUID | None
    intake_status: IntakeStatus | None = Field(
        description="The household's open queue entry's; null when not on the queue."
    )
    last_assessment_date: date | None
    last_service_date: date | None
    last_cls: LastLivingSituation | None = Field(description="The most recent CLS (4.12).")
    referral_status: ReferralStatus
    inactive: bool = Field(description="No contact for 90 days (the client stays enrolled).")
    case_managers: list[CaseManagerRef] = Field(description="Active case assignments.")
    documents_on_file: DocumentsOnFile


# --- exports ------------------------------------------------------------------------------------


class QueueExportSearch(QueueFilterFields):
    """Export the queue found by a search: the list's filters, the head of household's name, the
    order, and the file format."""

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Words each matching the start, or the sound, of the head's first or last "
        "name.",
    )
    sort: QueueSortOrder = QueueSortOrder.RANK
    format: ExportFormat = Field(description="csv or xlsx.")


class CaseloadSearch(QueueFilterFields):
    """Search a caseload by the client's name (and any filter of the caseload list); in a body,
    so names never travel in URLs."""

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Words each matching the start, or the sound, of the client's first or "
        "last name.",
    )
    on_queue: bool | None = Field(
        default=None, description="true: the household has an open queue entry; false: none."
    )
    prioritization_status: PrioritizationStatus | None = None
    sort: CaseloadSortOrder = CaseloadSortOrder.ENROLL_DATE_DESC
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=500)
