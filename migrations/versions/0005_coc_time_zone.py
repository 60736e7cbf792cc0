"""CoC time zone: the zone whose date is the CoC's "today"

Revision ID: 0005_coc_time_zone
Revises: 0004_documents
Create Date: 2026-12-01 04:30:00.000000

Existing CoCs get America/Chicago (the default); admins change it on the CoC resource.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_coc_time_zone"
down_revision: str | Sequence[str] | None = "0004_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "cocs",
        sa.Column(
            "time_zone", sa.String(length=64), server_default="America/Chicago", nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_column("cocs", "time_zone")
