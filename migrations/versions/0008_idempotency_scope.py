"""idempotency keys scoped to user and acting organization, stored responses encrypted

Revision ID: 0008_idempotency_scope
Revises: 0004_documents
Create Date: 2026-12-01 10:00:00.000000

No column changes: the scope string now names the acting organization too, and response bodies
are stored sealed (AES-256-GCM). Records written before this revision hold client data in plain
text under the old scope, which no request can match any more: they are deleted (they only make
retries safe for 24 hours). Downgrading deletes the sealed ones, which older code cannot read.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_idempotency_scope"
down_revision: str | Sequence[str] | None = "0007_membership_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_records")


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_records")
