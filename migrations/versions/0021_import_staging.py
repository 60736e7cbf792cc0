"""Bulk writes: the queue's facts marked stale once per statement, not once per row

Revision ID: 0021_import_staging
Revises: 0019_production
Create Date: 2026-12-01 16:00:00.000000

The rows that feed a queue entry's facts (enrollments, exits, current living situations,
disabilities, document checks) marked the entry ``facts_stale`` with a row-level trigger: one
``UPDATE queue_entries`` per written row. A bulk write (an HMIS CSV import writes a million
disabilities) spent most of its time there. The same rule now runs once per statement over
its transition tables (the rows inserted, the rows before and after an update, the rows
deleted): the same entries end up stale, in the same statement, whatever its size. The
trigger on ``clients`` (an update of the facts it holds) stays row-level: it fires only when
one of those values changes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_import_staging"
down_revision: str | Sequence[str] | None = "0019_production"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACT_SOURCES = (
    "enrollments",
    "exits",
    "current_living_situations",
    "disabilities",
    "document_checks",
)


def upgrade() -> None:
    # One function for the three events: each branch names only the transition tables its
    # event has (PL/pgSQL plans a statement when it first runs it).
    op.execute(
        """
        CREATE FUNCTION queue_facts_touch_statement() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                UPDATE queue_entries q SET facts_stale = true
                WHERE q.head_enrollment_id IN (
                    SELECT e.household_group_id FROM enrollments e
                    WHERE e.client_id IN (SELECT n.client_id FROM new_rows n)
                    AND e.is_coordinated_entry
                );
            ELSIF TG_OP = 'UPDATE' THEN
                UPDATE queue_entries q SET facts_stale = true
                WHERE q.head_enrollment_id IN (
                    SELECT e.household_group_id FROM enrollments e
                    WHERE e.client_id IN (
                        SELECT n.client_id FROM new_rows n
                        UNION SELECT o.client_id FROM old_rows o
                    )
                    AND e.is_coordinated_entry
                );
            ELSE
                UPDATE queue_entries q SET facts_stale = true
                WHERE q.head_enrollment_id IN (
                    SELECT e.household_group_id FROM enrollments e
                    WHERE e.client_id IN (SELECT o.client_id FROM old_rows o)
                    AND e.is_coordinated_entry
                );
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for table in FACT_SOURCES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_queue_facts ON {table}")
        op.execute(
            f"CREATE TRIGGER {table}_queue_facts_insert AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION queue_facts_touch_statement()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_queue_facts_update AFTER UPDATE ON {table} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION queue_facts_touch_statement()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_queue_facts_delete AFTER DELETE ON {table} "
            "REFERENCING OLD TABLE AS old_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION queue_facts_touch_statement()"
        )


def downgrade() -> None:
    for table in FACT_SOURCES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_queue_facts_{event} ON {table}")
        op.execute(
            f"CREATE TRIGGER {table}_queue_facts AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION queue_facts_touch()"
        )
    op.execute("DROP FUNCTION IF EXISTS queue_facts_touch_statement()")
