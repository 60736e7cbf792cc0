"""Document Check (CAS verification documents), Client Files and the per-CoC checklist of
acceptable document types (DOMAIN 6).

The bytes of every file live in the file store (``app.storage``), encrypted; a row keeps the
storage key, the detected content type, the size and the SHA-256 of the plaintext. The original
file name is metadata only and never part of a storage path.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base, CocScoped, UUIDPk, Versioned
from app.reference.documents import CHECKLIST, CLIENT_FILE_TYPES


def _checklist_pairs_sql() -> str:
    parts = [
        f"(category = '{category}' AND item IN ({', '.join(repr(i) for i in items)}))"
        for category, items in CHECKLIST.items()
    ]
    return " OR ".join(parts)


def _created_at() -> Mapped[datetime]:
    # clock_timestamp(): rows created in one transaction keep their order.
    return mapped_column(server_default=text("clock_timestamp()"), nullable=False)


class StoredFileColumns:
    """The file part of a document: where its encrypted bytes are and what they are."""

    storage_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    content_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    original_filename: Mapped[str | None] = mapped_column(String(255))


class DeletionColumns:
    """Soft delete by the uploader's organization or admins; bytes purged after retention."""

    deleted_at: Mapped[datetime | None] = mapped_column()
    deleted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    deleted_by_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id")
    )
    purged_at: Mapped[datetime | None] = mapped_column()


_FILE_COLUMNS_TOGETHER = (
    "(storage_key IS NULL) = (content_type IS NULL) AND (storage_key IS NULL) = (sha256 IS NULL) "
    "AND (storage_key IS NULL) = (size_bytes IS NULL)"
)


class ClientDocumentColumns:
    """What Document Check and Client Files rows share: whose document, its dates, who uploaded."""

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    issuance_date: Mapped[date | None] = mapped_column(Date)
    expiration_date: Mapped[date | None] = mapped_column(Date)
    uploaded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    uploaded_by_organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    created_at: Mapped[datetime] = _created_at()
    # Set in Python on UPDATE, so the new value is known without a reload.
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), onupdate=clock.now, nullable=False
    )


class DocumentCheck(
    UUIDPk, ClientDocumentColumns, StoredFileColumns, DeletionColumns, Versioned, CocScoped, Base
):
    """Documentation of homelessness or disability: visible only to the CAS organization and
    admins (DOMAIN 3)."""

    __tablename__ = "document_checks"
    __table_args__ = (
        CheckConstraint(_checklist_pairs_sql(), name="category_item_valid"),
        CheckConstraint(
            "expiration_date IS NULL OR issuance_date IS NULL OR expiration_date >= issuance_date",
            name="dates_ordered",
        ),
        # Verification of disability: the file and a comment are required.
        CheckConstraint(
            "category <> 'disability' OR (storage_key IS NOT NULL AND comments IS NOT NULL "
            "AND length(comments) > 0)",
            name="disability_file_and_comment",
        ),
        CheckConstraint(_FILE_COLUMNS_TOGETHER, name="file_columns_together"),
        CheckConstraint("size_bytes IS NULL OR size_bytes > 0", name="size_positive"),
        # The period a document of homelessness shows: both days or neither, in order.
        CheckConstraint(
            "(period_start IS NULL) = (period_end IS NULL) AND "
            "(period_start IS NULL OR period_start <= period_end)",
            name="period_ordered",
        ),
        CheckConstraint(
            "period_start IS NULL OR (category = 'homeless' AND item <> 'identity')",
            name="period_only_for_homelessness",
        ),
        Index(
            "ix_document_checks_client_created",
            "client_id",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_document_checks_purge",
            "deleted_at",
            postgresql_where=text("deleted_at IS NOT NULL AND purged_at IS NULL"),
        ),
    )

    category: Mapped[str] = mapped_column(String(20), nullable=False)
    item: Mapped[str] = mapped_column(String(30), nullable=False)
    document_type: Mapped[str] = mapped_column(String(50), nullable=False)
    # The label as configured when the document was recorded (configuration may change later).
    document_type_label: Mapped[str] = mapped_column(String(200), nullable=False)
    comments: Mapped[str | None] = mapped_column(String(1000))
    verification_date: Mapped[date] = mapped_column(Date, nullable=False)
    # First and last day the document shows the client homeless (for institution discharge
    # paperwork: in the institution); the documented months of chronic homelessness.
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)


class ClientFile(
    UUIDPk, ClientDocumentColumns, StoredFileColumns, DeletionColumns, Versioned, CocScoped, Base
):
    """IDs, Social Security card, birth certificate, ...: visible to whoever sees the client."""

    __tablename__ = "client_files"
    __table_args__ = (
        CheckConstraint(
            f"file_type IN ({', '.join(repr(t) for t in CLIENT_FILE_TYPES)})",
            name="file_type_valid",
        ),
        CheckConstraint(
            "expiration_date IS NULL OR issuance_date IS NULL OR expiration_date >= issuance_date",
            name="dates_ordered",
        ),
        CheckConstraint("storage_key IS NOT NULL", name="file_required"),
        CheckConstraint(_FILE_COLUMNS_TOGETHER, name="file_columns_together"),
        CheckConstraint("size_bytes IS NULL OR size_bytes > 0", name="size_positive"),
        Index(
            "ix_client_files_client_created",
            "client_id",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_client_files_purge",
            "deleted_at",
            postgresql_where=text("deleted_at IS NOT NULL AND purged_at IS NULL"),
        ),
    )

    file_type: Mapped[str] = mapped_column(String(40), nullable=False)
    description: Mapped[str | None] = mapped_column(String(1000))


class DocumentTypeOption(UUIDPk, CocScoped, Base):
    """A CoC's own list of acceptable document types for one checklist item.

    An item without rows for the CoC uses the defaults in ``app.services.documents.core``.
    """

    __tablename__ = "document_type_options"
    __table_args__ = (
        CheckConstraint(_checklist_pairs_sql(), name="category_item_valid"),
        CheckConstraint("code ~ '^[a-z0-9_]{1,50}$'", name="code_format"),
        Index(
            "uq_document_type_options_coc_item_code",
            "coc_id",
            "category",
            "item",
            "code",
            unique=True,
        ),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    item: Mapped[str] = mapped_column(String(30), nullable=False)
    code: Mapped[str] = mapped_column(String(50), nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    sort_order: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), nullable=False)
