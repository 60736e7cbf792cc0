"""Document Check: the period a document of homelessness shows

Revision ID: 0013_chronic
Revises: 0008_idempotency_scope
Create Date: 2026-12-02 09:00:00.000000

Documented months of chronic homelessness are counted from the days each document shows (one
documented day counts the month). Existing documents have no period: they stay uncounted until
a period is recorded with a new upload.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_chronic"
down_revision: str | Sequence[str] | None = "0010_hud_conformance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("document_checks", sa.Column("period_start", sa.Date(), nullable=True))
    op.add_column("document_checks", sa.Column("period_end", sa.Date(), nullable=True))
    op.create_check_constraint(
        op.f("ck_document_checks_period_ordered"),
        "document_checks",
        "(period_start IS NULL) = (period_end IS NULL) AND "
        "(period_start IS NULL OR period_start <= period_end)",
    )
    op.create_check_constraint(
        op.f("ck_document_checks_period_only_for_homelessness"),
        "document_checks",
        "period_start IS NULL OR (category = 'homeless' AND item <> 'identity')",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_document_checks_period_only_for_homelessness"), "document_checks", type_="check"
    )
    op.drop_constraint(op.f("ck_document_checks_period_ordered"), "document_checks", type_="check")
    op.drop_column("document_checks", "period_end")
    op.drop_column("document_checks", "period_start")
