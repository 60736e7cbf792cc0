"""Document Check, Client Files, the checklist configuration and the client document summary."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from typing_extensions import TypeAliasType

from app.reference.documents import ClientFileType
from app.schemas.common import ReadModel, RecordDate, WriteModel

DocumentCategory = TypeAliasType("DocumentCategory", Literal["homeless", "disability"])
DocumentItem = TypeAliasType(
    "DocumentItem", Literal["housing_status", "identity", "homeless", "disability"]
)
DocumentTypeCode = str


class StoredFileRead(BaseModel):
    """The uploaded file: detected type, size and SHA-256 of the plaintext."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    content_type: str = Field(examples=["application/pdf"])
    size_bytes: int
    sha256: str = Field(description="SHA-256 (hex) of the file as uploaded.")
    original_filename: str | None = Field(
        default=None, description="As sent by the uploader; metadata only."
    )
    download_path: str = Field(description="GET this path to download the file (audited).")


class DocumentCheckRead(ReadModel):
    id: uuid.UUID
    client_id: uuid.UUID
    category: DocumentCategory
    item: DocumentItem
    document_type: str
    document_type_label: str
    comments: str | None
    verification_date: date
    issuance_date: date | None
    expiration_date: date | None
    expired: bool = Field(description="True when the expiration date is before today.")
    file: StoredFileRead | None
    uploaded_by_user_id: uuid.UUID | None
    uploaded_by_organization_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    version: int
    period_start: date | None = Field(
        default=None, description="First day the document shows (documentation of homelessness)."
    )
    period_end: date | None = Field(default=None, description="Last day the document shows.")


class ClientFileRead(ReadModel):
    id: uuid.UUID
    client_id: uuid.UUID
    file_type: ClientFileType
    description: str | None
    issuance_date: date | None
    expiration_date: date | None
    expired: bool = Field(description="True when the expiration date is before today.")
    file: StoredFileRead
    uploaded_by_user_id: uuid.UUID | None
    uploaded_by_organization_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    version: int


# --- checklist configuration --------------------------------------------------------------------


class DocumentTypeOption(BaseModel):
    # Also a request part (ChecklistUpdate): unknown fields are refused, not dropped.
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9_]{1,50}$", examples=["third_party_letter"])
    label: str = Field(min_length=1, max_length=200, examples=["Third-party verification letter"])

    @field_validator("label")
    @classmethod
    def _storable(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the label cannot be blank")
        if "\x00" in value:
            raise ValueError("text cannot contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text is not valid Unicode") from None
        return value


class ChecklistItemRead(BaseModel):
    category: DocumentCategory
    item: DocumentItem
    label: str
    file_required: bool
    comment_required: bool
    customized: bool = Field(description="False when the CoC uses the default document types.")
    document_types: list[DocumentTypeOption]


class ChecklistRead(BaseModel):
    items: list[ChecklistItemRead]


class ChecklistItemWrite(WriteModel):
    category: DocumentCategory
    item: DocumentItem
    document_types: list[DocumentTypeOption] = Field(min_length=1, max_length=50)


class ChecklistUpdate(WriteModel):
    """The CoC's acceptable document types; items left out use the defaults."""

    items: list[ChecklistItemWrite] = Field(max_length=10)


# --- summary ------------------------------------------------------------------------------------


class ChecklistItemSummary(BaseModel):
    category: DocumentCategory
    item: DocumentItem
    on_file: bool = Field(description="At least one document is recorded for the item.")
    current: bool = Field(description="At least one recorded document is not expired.")
    expired: bool = Field(description="Documents are on file but every one has expired.")
    document_types: list[str] = Field(description="Document types on file (codes).")
    latest_verification_date: date | None
    next_expiration_date: date | None = Field(
        description="Earliest expiration date among the documents that are still current."
    )


class ClientFileSummary(BaseModel):
    file_type: ClientFileType
    current: bool
    expired: bool
    next_expiration_date: date | None


class DocumentSummaryRead(BaseModel):
    client_id: uuid.UUID
    as_of: date
    homelessness_documented: bool = Field(
        description="A current document is on file for every Homeless checklist item."
    )
    disability_verified: bool = Field(
        description="A current verification of disability (file and comment) is on file."
    )
    document_checks: list[ChecklistItemSummary]
    client_files: list[ClientFileSummary] = Field(description="File types on file only.")


# --- multipart forms (the metadata parts of uploads) ----------------------------------------


class DocumentCheckForm(BaseModel):
    """The metadata parts of a Document Check upload."""

    category: DocumentCategory = Field(description="Document checklist category.")
    item: DocumentItem = Field(description="Item requiring verification.")
    document_type: str = Field(
        min_length=1, max_length=50, description="Acceptable document (code)."
    )
    comments: str | None = Field(
        default=None,
        max_length=1000,
        description="Agency and period, e.g. 'The Bridge - Parkland Hospital - March 2021'. "
        "Required for disability.",
    )
    verification_date: RecordDate | None = Field(default=None, description="Defaults to today.")
    issuance_date: RecordDate | None = None
    expiration_date: RecordDate | None = None
    period_start: RecordDate | None = Field(
        default=None,
        description="Documentation of homelessness (items homeless and housing_status): the "
        "first day the document shows the client homeless (for institution discharge "
        "paperwork, in the institution). With period_end; counts toward the documented months "
        "of chronic homelessness (one day counts its month).",
    )
    period_end: RecordDate | None = Field(
        default=None, description="The last day the document shows; not in the future."
    )


class ClientFileForm(BaseModel):
    """The metadata parts of a Client Files upload."""

    file_type: ClientFileType = Field(description="What the document is.")
    description: str | None = Field(default=None, max_length=1000)
    issuance_date: RecordDate | None = None
    expiration_date: RecordDate | None = None
