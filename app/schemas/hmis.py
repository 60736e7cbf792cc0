"""HUD HMIS CSV FY2026 exports and imports: requests, jobs, reports."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.reference.hmis_jobs import ExportStatus, ImportStatus, IssueSeverity
from app.schemas.common import ReadModel, RecordDate, WriteModel


class ExportCreate(WriteModel):
    start_date: RecordDate = Field(description="First day of the period (ExportStartDate).")
    end_date: RecordDate = Field(description="Last day of the period (ExportEndDate).")
    project_ids: list[uuid.UUID] | None = Field(
        default=None,
        max_length=1000,
        description="The projects to export (each one you may export: admins any project of "
        "the CoC, agency admins their organization's). Left out: every project you may export.",
    )
    hashed: bool = Field(
        default=False,
        description="HashStatus 4: names and SSNs hashed as HUD's SHA-256 (RHY) hashing does "
        "(the SHA-256 of a name's Soundex; an SSN's last four characters, then the SHA-256 of "
        "the nine).",
    )


class FileProgress(BaseModel):
    """One file of a job: rows in it, and how far the job got."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    rows: int | None = Field(default=None, description="Records in the file.")
    validated: int | None = Field(default=None, description="Records validated (imports).")
    keys_checked: bool | None = Field(default=None, description="Keys checked (imports).")
    prepared: int | None = Field(default=None, description="Clients prepared (imports).")
    loaded: int | None = Field(default=None, description="Records loaded (imports).")


class JobProgress(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    phase: str = Field(
        description="queued, reading, validating, loading, writing or done.", examples=["done"]
    )
    files: dict[str, FileProgress] = Field(default_factory=dict, description="By HUD file name.")
    seconds: dict[str, float] = Field(
        default_factory=dict, description="Seconds each finished phase took, by phase."
    )


class ExportRead(ReadModel):
    id: uuid.UUID = Field(description="Also the export's HUD ExportID (its 32 hex digits).")
    status: ExportStatus
    start_date: date
    end_date: date
    project_ids: list[uuid.UUID]
    hashed: bool
    progress: JobProgress
    size_bytes: int | None = Field(description="The zip's size once written.")
    sha256: str | None = Field(description="The zip's SHA-256 (hex) once written.")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None = Field(
        description="When the zip is deleted (CAS_HMIS_EXPORT_RETENTION_HOURS after it was "
        "written)."
    )


class ImportForm(BaseModel):
    """The fields of an HMIS CSV import upload, beside its ``file`` part (the zip)."""

    allow_missing_files: bool = Field(
        default=False,
        description="Read FY2026 files the zip lacks as empty (a warning) instead of refusing "
        "the load (Export.csv is always required).",
    )
    data_source: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Name of the source database; source ids are unique within it. Default: "
        "Export.csv's ImplementationID (else SourceID, SourceName).",
    )


class IssueGroup(BaseModel):
    file: str | None = Field(description="HUD file name (Client), or null for the archive.")
    column: str | None = Field(description="HUD column name, when the finding is about one.")
    rule: str = Field(description="Machine-readable rule, e.g. not_in_list, orphan_key.")
    severity: IssueSeverity
    count: int = Field(description="Rows (or files) found breaking it.")
    message: str


class ImportSummary(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    high: int = 0
    warning: int = 0
    info: int = 0
    groups: list[IssueGroup] = Field(default_factory=list)


class FileCounts(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    voided: int = 0


class ImportRead(ReadModel):
    id: uuid.UUID
    status: ImportStatus
    file_name: str
    size_bytes: int
    sha256: str
    allow_missing_files: bool
    data_source: str | None = Field(description="The data source asked for, if any.")
    data_source_id: uuid.UUID | None = Field(description="Where the rows were loaded from.")
    source_export_id: str | None = Field(description="The zip's ExportID.")
    progress: JobProgress
    summary: ImportSummary
    counts: dict[str, FileCounts] = Field(
        description="What the load did per HUD file (succeeded imports)."
    )
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportIssueRead(ReadModel):
    """One finding of the report: file, row (the record's number after the header line),
    column, rule, severity. At most 100 rows per (file, column, rule); the summary counts all."""

    file: str | None
    row: int | None
    column: str | None
    rule: str
    severity: IssueSeverity
    message: str
