"""Document Check, Client Files, per-CoC document type options, notification events

Revision ID: 0004_documents
Revises: 0003_coordinated_entry
Create Date: 2026-11-21 19:40:38.146725

The default acceptable document types are defined in code (``app.services.documents``) and used
for every checklist item a CoC has not configured, so no seed rows are needed per CoC.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_documents"
down_revision: str | Sequence[str] | None = "0003_coordinated_entry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKLIST_PAIRS = (
    "(category = 'homeless' AND item IN ('housing_status', 'identity', 'homeless')) "
    "OR (category = 'disability' AND item IN ('disability'))"
)
CLIENT_FILE_TYPES = (
    "file_type IN ('photo_id', 'drivers_license', 'state_id', 'passport', "
    "'social_security_card', 'birth_certificate', 'military_discharge', 'immigration_document', "
    "'insurance_card', 'income_verification', 'other')"
)
FILE_COLUMNS_TOGETHER = (
    "(storage_key IS NULL) = (content_type IS NULL) AND (storage_key IS NULL) = (sha256 IS NULL) "
    "AND (storage_key IS NULL) = (size_bytes IS NULL)"
)
DISABILITY_FILE_AND_COMMENT = (
    "category <> 'disability' OR (storage_key IS NOT NULL AND comments IS NOT NULL "
    "AND length(comments) > 0)"
)


def upgrade() -> None:
    op.create_table(
        "document_type_options",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("item", sa.String(length=30), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("sort_order", sa.SmallInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            CHECKLIST_PAIRS,
            name=op.f("ck_document_type_options_category_item_valid"),
        ),
        sa.CheckConstraint(
            "code ~ '^[a-z0-9_]{1,50}$'", name=op.f("ck_document_type_options_code_format")
        ),
        sa.ForeignKeyConstraint(
            ["coc_id"], ["cocs.id"], name=op.f("fk_document_type_options_coc_id_cocs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_type_options")),
    )
    op.create_index(
        "uq_document_type_options_coc_item_code",
        "document_type_options",
        ["coc_id", "category", "item", "code"],
        unique=True,
    )
    op.create_table(
        "client_files",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("file_type", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("issuance_date", sa.Date(), nullable=True),
        sa.Column("expiration_date", sa.Date(), nullable=True),
        sa.Column("uploaded_by_user_id", sa.UUID(), nullable=True),
        sa.Column("uploaded_by_organization_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("original_filename", sa.String(length=255), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by_user_id", sa.UUID(), nullable=True),
        sa.Column("deleted_by_organization_id", sa.UUID(), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            CLIENT_FILE_TYPES,
            name=op.f("ck_client_files_file_type_valid"),
        ),
        sa.CheckConstraint(
            FILE_COLUMNS_TOGETHER,
            name=op.f("ck_client_files_file_columns_together"),
        ),
        sa.CheckConstraint(
            "expiration_date IS NULL OR issuance_date IS NULL OR expiration_date >= issuance_date",
            name=op.f("ck_client_files_dates_ordered"),
        ),
        sa.CheckConstraint(
            "size_bytes IS NULL OR size_bytes > 0", name=op.f("ck_client_files_size_positive")
        ),
        sa.CheckConstraint("storage_key IS NOT NULL", name=op.f("ck_client_files_file_required")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_client_files_client_id_clients")
        ),
        sa.ForeignKeyConstraint(["coc_id"], ["cocs.id"], name=op.f("fk_client_files_coc_id_cocs")),
        sa.ForeignKeyConstraint(
            ["deleted_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_client_files_deleted_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["deleted_by_user_id"],
            ["users.id"],
            name=op.f("fk_client_files_deleted_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_client_files_uploaded_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_user_id"],
            ["users.id"],
            name=op.f("fk_client_files_uploaded_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_files")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_client_files_storage_key")),
    )
    op.create_index(
        "ix_client_files_client_created",
        "client_files",
        ["client_id", "created_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_client_files_purge",
        "client_files",
        ["deleted_at"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL AND purged_at IS NULL"),
    )
    op.create_table(
        "document_checks",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("item", sa.String(length=30), nullable=False),
        sa.Column("document_type", sa.String(length=50), nullable=False),
        sa.Column("document_type_label", sa.String(length=200), nullable=False),
        sa.Column("comments", sa.String(length=1000), nullable=True),
        sa.Column("verification_date", sa.Date(), nullable=False),
        sa.Column("issuance_date", sa.Date(), nullable=True),
        sa.Column("expiration_date", sa.Date(), nullable=True),
        sa.Column("uploaded_by_user_id", sa.UUID(), nullable=True),
        sa.Column("uploaded_by_organization_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("original_filename", sa.String(length=255), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by_user_id", sa.UUID(), nullable=True),
        sa.Column("deleted_by_organization_id", sa.UUID(), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            CHECKLIST_PAIRS,
            name=op.f("ck_document_checks_category_item_valid"),
        ),
        sa.CheckConstraint(
            DISABILITY_FILE_AND_COMMENT,
            name=op.f("ck_document_checks_disability_file_and_comment"),
        ),
        sa.CheckConstraint(
            FILE_COLUMNS_TOGETHER,
            name=op.f("ck_document_checks_file_columns_together"),
        ),
        sa.CheckConstraint(
            "expiration_date IS NULL OR issuance_date IS NULL OR expiration_date >= issuance_date",
            name=op.f("ck_document_checks_dates_ordered"),
        ),
        sa.CheckConstraint(
            "size_bytes IS NULL OR size_bytes > 0", name=op.f("ck_document_checks_size_positive")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_document_checks_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["coc_id"], ["cocs.id"], name=op.f("fk_document_checks_coc_id_cocs")
        ),
        sa.ForeignKeyConstraint(
            ["deleted_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_document_checks_deleted_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["deleted_by_user_id"],
            ["users.id"],
            name=op.f("fk_document_checks_deleted_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_document_checks_uploaded_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_user_id"],
            ["users.id"],
            name=op.f("fk_document_checks_uploaded_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_checks")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_document_checks_storage_key")),
    )
    op.create_index(
        "ix_document_checks_client_created",
        "document_checks",
        ["client_id", "created_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_document_checks_purge",
        "document_checks",
        ["deleted_at"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL AND purged_at IS NULL"),
    )
    op.create_table(
        "notification_events",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("entity_type", sa.String(length=60), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=True),
        sa.Column("client_id", sa.UUID(), nullable=True),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("acting_organization_id", sa.UUID(), nullable=True),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acting_organization_id"],
            ["organizations.id"],
            name=op.f("fk_notification_events_acting_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_notification_events_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_notification_events_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["coc_id"], ["cocs.id"], name=op.f("fk_notification_events_coc_id_cocs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_events")),
    )
    op.create_index(
        "ix_notification_events_client",
        "notification_events",
        ["client_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("client_id IS NOT NULL"),
    )
    op.create_index(
        "ix_notification_events_coc_created",
        "notification_events",
        ["coc_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_notification_events_type_created",
        "notification_events",
        ["event_type", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_notification_events_type_created", table_name="notification_events")
    op.drop_index("ix_notification_events_coc_created", table_name="notification_events")
    op.drop_index(
        "ix_notification_events_client",
        table_name="notification_events",
        postgresql_where=sa.text("client_id IS NOT NULL"),
    )
    op.drop_table("notification_events")
    op.drop_index(
        "ix_document_checks_purge",
        table_name="document_checks",
        postgresql_where=sa.text("deleted_at IS NOT NULL AND purged_at IS NULL"),
    )
    op.drop_index(
        "ix_document_checks_client_created",
        table_name="document_checks",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_table("document_checks")
    op.drop_index(
        "ix_client_files_purge",
        table_name="client_files",
        postgresql_where=sa.text("deleted_at IS NOT NULL AND purged_at IS NULL"),
    )
    op.drop_index(
        "ix_client_files_client_created",
        table_name="client_files",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_table("client_files")
    op.drop_index("uq_document_type_options_coc_item_code", table_name="document_type_options")
    op.drop_table("document_type_options")
