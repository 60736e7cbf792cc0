"""Production: rate limits shared by every instance, and coc_id on every table of a CoC's data

Revision ID: 0019_production
Revises: 0018_matching
Create Date: 2026-12-06 09:00:00.000000

* ``rate_limit_buckets`` (UNLOGGED) and ``cas_rate_limit_hit(key, limit, window)``: one
  sliding-window budget per hashed key, checked and updated under the row's lock in one call,
  so the limits hold across instances (``app.http.ratelimit``).
* ``coc_id`` (NOT NULL, foreign key to ``cocs``) on every table holding a CoC's data that lacked
  it, filled from the parent row (an enrollment, a client, an organization, ...), and kept
  filled by a BEFORE INSERT trigger that copies it from the parent when the service did not set
  it. It is the distribution column of a CoC-sharded deployment (README, Operations).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019_production"
down_revision: str | Sequence[str] | None = "0018_matching"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (parent table, the child's column naming the parent row); in dependency order (a
# parent listed here comes before its children).
COC_FROM_PARENT: dict[str, tuple[str, str]] = {
    "projects": ("organizations", "organization_id"),
    "memberships": ("organizations", "organization_id"),
    "membership_history": ("organizations", "organization_id"),
    "auth_sessions": ("organizations", "organization_id"),
    "refresh_tokens": ("auth_sessions", "session_id"),
    "client_access": ("clients", "client_id"),
    "client_merges": ("clients", "survivor_id"),
    "household_members": ("households", "household_id"),
    "enrollment_assessments": ("enrollments", "enrollment_id"),
    "case_assignments": ("enrollments", "enrollment_id"),
    "exits": ("enrollments", "enrollment_id"),
    "case_notes": ("enrollments", "enrollment_id"),
    "ce_assessments": ("enrollments", "enrollment_id"),
    "ce_events": ("enrollments", "enrollment_id"),
    "current_living_situations": ("enrollments", "enrollment_id"),
    "disabilities": ("enrollments", "enrollment_id"),
    "diversion_assessments": ("enrollments", "enrollment_id"),
    "health_and_dv": ("enrollments", "enrollment_id"),
    "housing_needs_assessments": ("enrollments", "enrollment_id"),
    "income_benefits": ("enrollments", "enrollment_id"),
    "services": ("enrollments", "enrollment_id"),
    "hmis_adopted_records": ("hmis_data_sources", "data_source_id"),
    "hmis_tombstones": ("hmis_imports", "import_id"),
    "hmis_import_issues": ("hmis_imports", "import_id"),
    "webhook_delivery_attempts": ("webhook_deliveries", "delivery_id"),
}


def upgrade() -> None:
    op.create_table(
        "rate_limit_buckets",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column(
            "hits",
            postgresql.ARRAY(sa.TIMESTAMP(timezone=True)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_buckets")),
        prefixes=["UNLOGGED"],
    )
    op.create_index(op.f("ix_rate_limit_buckets_expires_at"), "rate_limit_buckets", ["expires_at"])
    # One hit: insert the bucket if new, lock it, drop hits older than the window, then either
    # refuse (seconds until the oldest hit leaves the window) or record the hit (its time, which
    # a refund removes again).
    op.execute(
        """
        CREATE FUNCTION cas_rate_limit_hit(
            p_key text, p_limit integer, p_window double precision,
            OUT wait_seconds double precision, OUT hit_at timestamptz
        ) LANGUAGE plpgsql AS $$
        DECLARE
            now_ timestamptz := clock_timestamp();
            kept timestamptz[];
        BEGIN
            INSERT INTO rate_limit_buckets (key, hits, expires_at)
            VALUES (p_key, '{}', now_ + make_interval(secs => p_window))
            ON CONFLICT (key) DO NOTHING;
            SELECT b.hits INTO kept FROM rate_limit_buckets AS b WHERE b.key = p_key FOR UPDATE;
            SELECT coalesce(array_agg(h ORDER BY h), '{}') INTO kept
            FROM unnest(kept) AS h WHERE h > now_ - make_interval(secs => p_window);
            IF cardinality(kept) >= p_limit THEN
                wait_seconds := greatest(
                    p_window - extract(epoch FROM now_ - kept[1]), 0);
                hit_at := NULL;
                UPDATE rate_limit_buckets SET hits = kept WHERE key = p_key;
            ELSE
                wait_seconds := NULL;
                hit_at := now_;
                UPDATE rate_limit_buckets
                SET hits = kept || now_, expires_at = now_ + make_interval(secs => p_window)
                WHERE key = p_key;
            END IF;
        END $$
        """
    )

    for table, (parent, column) in COC_FROM_PARENT.items():
        op.add_column(table, sa.Column("coc_id", sa.UUID(), nullable=True))
        op.execute(
            f"UPDATE {table} AS t SET coc_id = p.coc_id FROM {parent} AS p WHERE p.id = t.{column}"
        )
        op.alter_column(table, "coc_id", nullable=False)
        op.create_foreign_key(op.f(f"fk_{table}_coc_id_cocs"), table, "cocs", ["coc_id"], ["id"])
        op.execute(
            f"""
            CREATE FUNCTION {table}_coc_id() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.coc_id IS NULL THEN
                    SELECT p.coc_id INTO NEW.coc_id FROM {parent} AS p WHERE p.id = NEW.{column};
                END IF;
                RETURN NEW;
            END $$
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_coc_id BEFORE INSERT ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_coc_id()"
        )


def downgrade() -> None:
    for table in reversed(COC_FROM_PARENT):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_coc_id ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_coc_id()")
        op.drop_constraint(op.f(f"fk_{table}_coc_id_cocs"), table, type_="foreignkey")
        op.drop_column(table, "coc_id")
    op.execute("DROP FUNCTION IF EXISTS cas_rate_limit_hit(text, integer, double precision)")
    op.drop_index(op.f("ix_rate_limit_buckets_expires_at"), table_name="rate_limit_buckets")
    op.drop_table("rate_limit_buckets")
