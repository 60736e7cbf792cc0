"""HUD HMIS CSV FY2026 exports and imports (DOMAIN 11): the jobs, their reports, the data
sources an import loads from, and what an import needs to stay idempotent.

Imported rows live in the CAS tables themselves (clients, enrollments, their records) under
ids derived from (data source, file, source id): ``md5(data_source_id:File:SourceID)`` read
as a UUID (``services.hmis.keys.source_uuid``), so loading the same source record again finds
the same row. The tables here hold only what those rows cannot:

* ``hmis_adopted_records``: source records mapped onto records CAS already had (the CoC's
  shared CAS organization and its Coordinated Entry project) instead of new ones;
* ``hmis_tombstones``: records removed because their source deleted them (DateDeleted), with
  that DateUpdated, so an older copy of the record cannot bring them back.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CocScoped, Timestamps, UUIDPk, coc_scope
from app.reference.hmis_jobs import EXPORT_STATUSES, IMPORT_STATUSES, SEVERITIES


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ('" + "', '".join(values) + "')"


class HmisDataSource(UUIDPk, Timestamps, CocScoped, Base):
    """Where imported records come from: one source database (HUD ``ImplementationID``) of one
    CoC. Source ids are unique within it."""

    __tablename__ = "hmis_data_sources"
    __table_args__ = (Index("uq_hmis_data_sources_coc_key", "coc_id", "key", unique=True),)

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))


class HmisAdoptedRecord(CocScoped, Base):
    """A source record mapped onto an existing CAS record (never changed by imports)."""

    __tablename__ = "hmis_adopted_records"
    coc_id: Mapped[uuid.UUID] = coc_scope()

    data_source_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("hmis_data_sources.id"), primary_key=True
    )
    record_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)


class HmisTombstone(CocScoped, Base):
    """A record an import removed because its source deleted it (DateDeleted)."""

    __tablename__ = "hmis_tombstones"
    coc_id: Mapped[uuid.UUID] = coc_scope()

    target_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(40), nullable=False)
    date_updated: Mapped[datetime] = mapped_column(nullable=False)
    import_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("hmis_imports.id", ondelete="SET NULL")
    )


class HmisImport(UUIDPk, Timestamps, CocScoped, Base):
    """One scripted load of an FY2026 zip: validated first, then loaded in one transaction.
    ``progress`` is written while it runs (rows validated / loaded per file); ``summary``
    counts the report's findings; the findings are ``hmis_import_issues``."""

    __tablename__ = "hmis_imports"
    __table_args__ = (
        CheckConstraint(_one_of("status", IMPORT_STATUSES), name="status_valid"),
        Index("ix_hmis_imports_coc_created", "coc_id", "created_at", "id"),
        Index(
            "ix_hmis_imports_unfinished",
            "created_at",
            postgresql_where=text("status IN ('queued', 'validating', 'loading')"),
        ),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    data_source_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hmis_data_sources.id"))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    # The uploaded zip in the HMIS file store, until the job is over.
    storage_key: Mapped[str | None] = mapped_column(String(32))
    options: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    source_export_id: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    summary: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    counts: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class HmisImportIssue(UUIDPk, CocScoped, Base):
    """One finding of an import's validation: file, row (the record's number after the
    header), column, rule, severity. At most ``ISSUE_SAMPLE`` rows per (file, column, rule) are
    kept; ``hmis_imports.summary`` has the full counts. No value is copied here."""

    __tablename__ = "hmis_import_issues"
    coc_id: Mapped[uuid.UUID] = coc_scope()
    __table_args__ = (
        CheckConstraint(_one_of("severity", SEVERITIES), name="severity_valid"),
        Index("ix_hmis_import_issues_import_seq", "import_id", "seq", "id"),
    )

    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("hmis_imports.id", ondelete="CASCADE"), nullable=False
    )
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    file: Mapped[str | None] = mapped_column(String(60))
    row: Mapped[int | None] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(60))
    rule: Mapped[str] = mapped_column(String(40), nullable=False)
    severity: Mapped[str] = mapped_column(String(10), nullable=False)
    message: Mapped[str] = mapped_column(String(500), nullable=False)


class HmisExport(UUIDPk, Timestamps, CocScoped, Base):
    """One FY2026 export: the projects and period asked for, the zip once written (in the HMIS
    file store, until ``expires_at``)."""

    __tablename__ = "hmis_exports"
    __table_args__ = (
        CheckConstraint(_one_of("status", EXPORT_STATUSES), name="status_valid"),
        CheckConstraint("end_date >= start_date", name="period_ordered"),
        Index("ix_hmis_exports_coc_created", "coc_id", "created_at", "id"),
        Index(
            "ix_hmis_exports_unfinished",
            "created_at",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    project_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), nullable=False)
    hashed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    progress: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    storage_key: Mapped[str | None] = mapped_column(String(32))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
