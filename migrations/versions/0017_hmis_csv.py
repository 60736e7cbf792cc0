"""HUD HMIS CSV FY2026 exports and imports

Revision ID: 0017_hmis_csv
Revises: 0016_jobs_notifications
Create Date: 2026-12-03 09:00:00.000000

The export and import jobs with their reports, the data sources imports load from, the records
they adopt or remove; projects get their HUD Geocode (2.03.2, ProjectCoC.csv); an exit loaded
from another HMIS has its own exit reason (``recorded_in_hmis``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017_hmis_csv"
down_revision: str | Sequence[str] | None = "0016_jobs_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EXIT_REASONS_BEFORE = (
    "exit_reason IN ('no_longer_needs_permanent_housing', 'left_coc_area', "
    "'enrolled_in_permanent_housing', 'successfully_diverted')"
)
_EXIT_REASONS = (
    "exit_reason IN ('no_longer_needs_permanent_housing', 'left_coc_area', "
    "'enrolled_in_permanent_housing', 'successfully_diverted', 'recorded_in_hmis')"
)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    op.add_column("projects", sa.Column("geocode", sa.String(length=6), nullable=True))
    op.create_check_constraint(
        op.f("ck_projects_geocode_format"), "projects", "geocode IS NULL OR geocode ~ '^[0-9]{6}$'"
    )
    op.drop_constraint(op.f("ck_exits_exit_reason_valid"), "exits", type_="check")
    op.create_check_constraint(op.f("ck_exits_exit_reason_valid"), "exits", _EXIT_REASONS)

    op.create_table(
        "hmis_data_sources",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["coc_id"], ["cocs.id"], name=op.f("fk_hmis_data_sources_coc_id_cocs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hmis_data_sources")),
    )
    op.create_index(
        "uq_hmis_data_sources_coc_key", "hmis_data_sources", ["coc_id", "key"], unique=True
    )

    op.create_table(
        "hmis_adopted_records",
        sa.Column("data_source_id", sa.UUID(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["data_source_id"],
            ["hmis_data_sources.id"],
            name=op.f("fk_hmis_adopted_records_data_source_id_hmis_data_sources"),
        ),
        sa.PrimaryKeyConstraint(
            "data_source_id", "record_type", "source_id", name=op.f("pk_hmis_adopted_records")
        ),
    )

    op.create_table(
        "hmis_imports",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("requested_by_user_id", sa.UUID(), nullable=True),
        sa.Column("data_source_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=32), nullable=True),
        sa.Column(
            "options",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("source_export_id", sa.String(length=32), nullable=True),
        sa.Column(
            "progress",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "summary",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "counts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('queued', 'validating', 'loading', 'succeeded', 'refused', 'failed')",
            name=op.f("ck_hmis_imports_status_valid"),
        ),
        sa.ForeignKeyConstraint(["coc_id"], ["cocs.id"], name=op.f("fk_hmis_imports_coc_id_cocs")),
        sa.ForeignKeyConstraint(
            ["data_source_id"],
            ["hmis_data_sources.id"],
            name=op.f("fk_hmis_imports_data_source_id_hmis_data_sources"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_hmis_imports_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["users.id"],
            name=op.f("fk_hmis_imports_requested_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hmis_imports")),
    )
    op.create_index(
        "ix_hmis_imports_coc_created", "hmis_imports", ["coc_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_hmis_imports_unfinished",
        "hmis_imports",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'validating', 'loading')"),
    )

    op.create_table(
        "hmis_import_issues",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("import_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(length=60), nullable=True),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("column", sa.String(length=60), nullable=True),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.CheckConstraint(
            "severity IN ('high', 'warning', 'info')",
            name=op.f("ck_hmis_import_issues_severity_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["hmis_imports.id"],
            name=op.f("fk_hmis_import_issues_import_id_hmis_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hmis_import_issues")),
    )
    op.create_index(
        "ix_hmis_import_issues_import_seq",
        "hmis_import_issues",
        ["import_id", "seq", "id"],
        unique=False,
    )

    op.create_table(
        "hmis_tombstones",
        sa.Column("target_id", sa.UUID(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("date_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("import_id", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["hmis_imports.id"],
            name=op.f("fk_hmis_tombstones_import_id_hmis_imports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("target_id", name=op.f("pk_hmis_tombstones")),
    )

    op.create_table(
        "hmis_exports",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("requested_by_user_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("project_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("hashed", sa.Boolean(), nullable=False),
        sa.Column(
            "progress",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("storage_key", sa.String(length=32), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_hmis_exports_period_ordered")),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'expired')",
            name=op.f("ck_hmis_exports_status_valid"),
        ),
        sa.ForeignKeyConstraint(["coc_id"], ["cocs.id"], name=op.f("fk_hmis_exports_coc_id_cocs")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_hmis_exports_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["users.id"],
            name=op.f("fk_hmis_exports_requested_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hmis_exports")),
    )
    op.create_index(
        "ix_hmis_exports_coc_created", "hmis_exports", ["coc_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_hmis_exports_unfinished",
        "hmis_exports",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )


def downgrade() -> None:
    op.drop_index("ix_hmis_exports_unfinished", table_name="hmis_exports")
    op.drop_index("ix_hmis_exports_coc_created", table_name="hmis_exports")
    op.drop_table("hmis_exports")
    op.drop_table("hmis_tombstones")
    op.drop_index("ix_hmis_import_issues_import_seq", table_name="hmis_import_issues")
    op.drop_table("hmis_import_issues")
    op.drop_index("ix_hmis_imports_unfinished", table_name="hmis_imports")
    op.drop_index("ix_hmis_imports_coc_created", table_name="hmis_imports")
    op.drop_table("hmis_imports")
    op.drop_table("hmis_adopted_records")
    op.drop_index("uq_hmis_data_sources_coc_key", table_name="hmis_data_sources")
    op.drop_table("hmis_data_sources")
    # Exits loaded from another HMIS keep a reason the old constraint does not know.
    op.execute(
        "UPDATE exits SET exit_reason = 'no_longer_needs_permanent_housing' "
        "WHERE exit_reason = 'recorded_in_hmis'"
    )
    op.drop_constraint(op.f("ck_exits_exit_reason_valid"), "exits", type_="check")
    op.create_check_constraint(op.f("ck_exits_exit_reason_valid"), "exits", _EXIT_REASONS_BEFORE)
    op.drop_constraint(op.f("ck_projects_geocode_format"), "projects", type_="check")
    op.drop_column("projects", "geocode")
