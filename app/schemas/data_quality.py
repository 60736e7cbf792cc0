"""Data-quality issues, the duplicate report and refused duplicate intakes (admins): ids,
kinds and reasons only, never a client's values."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field
from typing_extensions import TypeAliasType

from app.reference.data_quality import DataQualityKind as DataQualityKindCodes
from app.schemas.common import ReadModel

DuplicateReason = TypeAliasType("DuplicateReason", Literal["ssn", "name_dob"])
# Named, so the read model and the list's filter share one type in generated clients.
DataQualityKind = TypeAliasType("DataQualityKind", DataQualityKindCodes)


class DataQualityIssueRead(ReadModel):
    id: uuid.UUID
    kind: DataQualityKind = Field(
        description="ssn_sequential_or_repeated, dob_before_1915, dob_after_entry (an "
        "enrollment's entry date), age_over_105 (on an enrollment's entry date)."
    )
    client_id: uuid.UUID
    enrollment_id: uuid.UUID | None = Field(description="For the entry-date kinds.")
    organization_id: uuid.UUID = Field(
        description="Whose record it is: the client's creator, or the enrollment's."
    )
    detected_at: datetime


class DuplicatePairRead(ReadModel):
    client_id: uuid.UUID
    other_client_id: uuid.UUID
    reasons: list[DuplicateReason] = Field(
        description="ssn: the same SSN (placeholder SSNs left out); name_dob: the same exact "
        "first and last name and date of birth."
    )


class DuplicateRefusalRead(ReadModel):
    reference: str = Field(description="What the refused caller was given to quote.")
    created_at: datetime
    organization_id: uuid.UUID = Field(description="The organization that was refused.")
    user_id: uuid.UUID | None
    matched_client_id: uuid.UUID = Field(description="The client already enrolled.")
    matched_enrollment_id: uuid.UUID = Field(description="Its open Coordinated Entry enrollment.")
    reason: DuplicateReason
