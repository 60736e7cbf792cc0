"""Former memberships (membership_history), back-filled from the audit trail

Revision ID: 0007_membership_history
Revises: 0004_documents

Memberships removed before this revision are recovered from their ``membership.delete`` audit
events (user, organization, role, when and by whom; when they began is not known), so accounts
that already lost their last membership become visible again to the admins they answered to.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_membership_history"
down_revision: str | Sequence[str] | None = "0006_audit_read_subjects"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = "('system_admin', 'cas_admin', 'agency_admin', 'case_manager', 'housing_provider')"
UUID_TEXT = "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'"

BACKFILL = f"""
WITH removed AS (
    SELECT e.entity_id AS id,
           CASE WHEN e.changes->>'user_id' ~ {UUID_TEXT}
                THEN (e.changes->>'user_id')::uuid END AS user_id,
           CASE WHEN e.changes->>'organization_id' ~ {UUID_TEXT}
                THEN (e.changes->>'organization_id')::uuid END AS organization_id,
           e.changes->>'role' AS role,
           e.occurred_at AS removed_at,
           e.actor_user_id AS removed_by_user_id
    FROM audit_events e
    WHERE e.action = 'membership.delete' AND e.entity_id IS NOT NULL
)
INSERT INTO membership_history
    (id, user_id, organization_id, role, member_since, removed_at, removed_by_user_id)
SELECT r.id, r.user_id, r.organization_id, r.role, NULL, r.removed_at, r.removed_by_user_id
FROM removed r
WHERE r.role IN {ROLES}
  AND EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id)
  AND EXISTS (SELECT 1 FROM organizations o WHERE o.id = r.organization_id)
ON CONFLICT (id) DO NOTHING
"""


def upgrade() -> None:
    op.create_table(
        "membership_history",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("member_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "removed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("removed_by_user_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(f"role IN {ROLES}", name=op.f("ck_membership_history_role_valid")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_membership_history_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_membership_history_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["removed_by_user_id"],
            ["users.id"],
            name=op.f("fk_membership_history_removed_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_history")),
    )
    op.create_index("ix_membership_history_user_id", "membership_history", ["user_id"])
    op.create_index(
        "ix_membership_history_organization_id",
        "membership_history",
        ["organization_id", "user_id"],
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_index("ix_membership_history_organization_id", table_name="membership_history")
    op.drop_index("ix_membership_history_user_id", table_name="membership_history")
    op.drop_table("membership_history")
