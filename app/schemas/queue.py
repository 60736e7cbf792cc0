"""The CAS queue: entries as listed (with rank and why), one entry in detail, the search body
and the CoC's queue settings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.reference.queue import (
    ChronicFilter,
    Direction,
    DocumentStatus,
    HouseholdType,
    IntakeStatus,
    PriorityKey,
    QueueSortOrder,
    ReferralStatus,
)
from app.schemas.common import WriteModel
from app.schemas.documents import DocumentItem
from app.schemas.pagination import DEFAULT_LIMIT, MAX_LIMIT

SCORE_LIMIT = 1000


class QueueClientRead(BaseModel):
    """The head of household."""

    id: uuid.UUID
    first_name: str | None
    last_name: str | None


class ChronicFlagsRead(BaseModel):
    """Chronically homeless (the head or any adult of the household), by each determination."""

    recorded: bool = Field(description="From recorded data (HUD's logic over 3.917, CLS, stays).")
    documented: bool = Field(description="From Document Check (the toolkit's rules).")


class HouseholdFactsRead(BaseModel):
    size: int = Field(description="Members on the entry (open CE enrollments of the stay).")
    household_type: HouseholdType
    veteran: bool = Field(description="An adult of the household is a veteran.")
    family_with_children: bool = Field(description="A child and at least one other member.")
    youth: bool = Field(description="The head is 18-24 and nobody is 25 or older.")


class CaseManagerRead(BaseModel):
    user_id: uuid.UUID
    full_name: str


class PriorityKeyRead(BaseModel):
    """One key of the CoC's scheme with this entry's value: why it ranks where it does."""

    key: PriorityKey
    direction: Direction
    value: int | bool | None = Field(
        description="The entry's value (chronic, veteran, family_with_children, youth: true or "
        "false; score: null when not scored; days_homeless_3y, days_on_queue: days)."
    )
    sort_value: int = Field(
        description="The integer the key is compared by (lower ranks first: `desc` keys are "
        "negated; no score is 2147483647, last)."
    )


class PriorityRead(BaseModel):
    rank: int | None = Field(
        description="Position among the CoC's open entries (every intake status), 1 = first; "
        "null for a closed entry."
    )
    keys: list[PriorityKeyRead] = Field(description="The scheme's keys, in order.")
    tie_breaker: int = Field(
        description="The entry's stable random tie-breaker (assigned once), compared last."
    )


class QueueEntryListItem(BaseModel):
    id: uuid.UUID
    version: int
    household_id: uuid.UUID
    head_enrollment_id: uuid.UUID
    client: QueueClientRead
    intake_status: IntakeStatus
    placed_on: date
    days_on_queue: int
    score: int | None
    score_tool: str
    score_recorded_at: datetime | None
    chronic: ChronicFlagsRead
    days_homeless_3y: int = Field(
        description="Nights homeless in the last three years (the most of the head's and the "
        "adults', recorded or documented)."
    )
    household: HouseholdFactsRead
    referral_status: ReferralStatus = Field(
        description="Where the household's housing referral stands (kept by matching): `none`, "
        "`sent`, `accepted` (or on the EHV route), `parked` (until `parked_until`; on that "
        "date the household is back, `none`), `enrolled`."
    )
    parked_until: date | None = Field(
        description="While parked: the day the park ends (null: parked indefinitely)."
    )
    documents_on_file: list[DocumentItem] = Field(
        description="Document Check items with a current document (head and adults)."
    )
    document_status: DocumentStatus
    last_activity_at: datetime | None
    inactive: bool = Field(
        description="No contact, assessment, service or document upload for 90 days."
    )
    case_managers: list[CaseManagerRead] = Field(
        description="Active case managers of the head's Coordinated Entry enrollment."
    )
    priority: PriorityRead
    facts_as_of: datetime | None = Field(description="When the household facts were computed.")


class ChronicDeterminationRead(BaseModel):
    chronic: bool
    months: int = Field(description="Months homeless counted (last 3 years).")
    episodes: int = Field(description="Episodes of homelessness in the last 3 years.")
    days: int = Field(description="Nights homeless counted in the last 3 years.")
    missing: list[str] = Field(description="What is missing for a determination.")


class MemberChronicRead(BaseModel):
    """A member whose chronic status counts for the household (the head and every adult)."""

    client_id: uuid.UUID
    first_name: str | None
    last_name: str | None
    head: bool
    recorded: ChronicDeterminationRead
    documented: ChronicDeterminationRead


class QueueEntryDetailRead(QueueEntryListItem):
    closed_at: datetime | None
    closed_reason: str | None
    chronic_members: list[MemberChronicRead] = Field(
        description="Both determinations for the head and each adult, with months, episodes "
        "and what is missing."
    )


# --- search ---------------------------------------------------------------------------------

Score = Annotated[int, Field(ge=0, le=SCORE_LIMIT)]
Size = Annotated[int, Field(ge=1, le=100)]


class QueueFilterFields(WriteModel):
    """The queue's filters (all given ones apply)."""

    status: list[IntakeStatus] = Field(default_factory=list, max_length=4)
    client_id: uuid.UUID | None = Field(
        default=None, description="A client of the household (head or member)."
    )
    chronic: ChronicFilter | None = None
    household_type: list[HouseholdType] = Field(default_factory=list, max_length=4)
    household_size_min: Size | None = None
    household_size_max: Size | None = None
    referral_status: list[ReferralStatus] = Field(default_factory=list, max_length=10)
    case_manager_id: uuid.UUID | None = Field(
        default=None, description="An active case manager of the head's CE enrollment."
    )
    veteran: bool | None = None
    score_min: Score | None = None
    score_max: Score | None = None
    inactive: bool | None = None
    area: str | None = Field(
        default=None, max_length=50, description="An area tie of the head (area code)."
    )
    document_status: DocumentStatus | None = None


class QueueSearch(QueueFilterFields):
    """Search the queue by name (and any filter of the list); in a body, so names never travel
    in URLs."""

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Words each matching the start, or the sound, of the head's first or last "
        "name.",
    )
    sort: QueueSortOrder = QueueSortOrder.RANK
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=500)


# --- settings -------------------------------------------------------------------------------


class SchemeKey(BaseModel):
    # Also a request part (QueueSettingsUpdate): unknown fields are refused, not dropped.
    model_config = ConfigDict(extra="forbid")

    key: PriorityKey
    direction: Direction = Direction.DESC


class QueueSettingsRead(BaseModel):
    score_tool: str = Field(description="The community's assessment tool (VI-SPDAT in the seeds).")
    score_min: int
    score_max: int
    scheme: list[SchemeKey] = Field(
        description="Keys in order; the entry's stable random tie-breaker is always compared last."
    )
    version: int
    updated_at: datetime
    updated_by_user_id: uuid.UUID | None


class QueueSettingsUpdate(WriteModel):
    """All settings at once (what is not sent is not kept)."""

    score_tool: str = Field(min_length=1, max_length=50)
    score_min: int = Field(ge=0, le=SCORE_LIMIT)
    score_max: int = Field(ge=1, le=SCORE_LIMIT)
    scheme: list[SchemeKey] = Field(max_length=len(PriorityKey))

    @field_validator("scheme")
    @classmethod
    def _each_key_once(cls, scheme: list[SchemeKey]) -> list[SchemeKey]:
        keys = [k.key for k in scheme]
        if len(set(keys)) != len(keys):
            raise ValueError("each key at most once")
        return scheme
