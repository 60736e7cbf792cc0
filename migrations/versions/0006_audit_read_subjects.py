"""Batched client-read audit events; find-client name pair keys

Revision ID: 0006_audit_read_subjects
Revises: 0004_documents
Create Date: 2026-11-22 09:00:00

* ``audit_events.subject_ids``: a read that shows many clients (a list, a search, duplicate
  candidates) is one event listing them, GIN-indexed so "who saw client X" stays one indexed
  query. Earlier reads keep one row per client in ``entity_id`` (the trail is append-only, so
  nothing is rewritten); queries look at both.
* ``clients.name_pair_keys``: generated from the stored name keys (every first-name key paired
  with every last-name key, and each name's keys paired with the other name's start),
  GIN-indexed, so find-client and duplicate detection pick the clients whose names agree with
  one index lookup instead of reading every client sharing one common name.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_audit_read_subjects"
down_revision: str | Sequence[str] | None = "0005_coc_time_zone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As app.models.clients.NAME_PAIR_KEYS_SQL at this revision.
NAME_PAIR_KEYS_SQL = (
    "ARRAY["
    "'p' || left(first_name_norm, 3) || '|p' || left(last_name_norm, 3), "
    "'p' || left(first_name_norm, 3) || '|m' || last_name_key, "
    "'p' || left(first_name_norm, 3) || '|s' || last_name_alt_key, "
    "'m' || first_name_key || '|p' || left(last_name_norm, 3), "
    "'m' || first_name_key || '|m' || last_name_key, "
    "'m' || first_name_key || '|s' || last_name_alt_key, "
    "'s' || first_name_alt_key || '|p' || left(last_name_norm, 3), "
    "'s' || first_name_alt_key || '|m' || last_name_key, "
    "'s' || first_name_alt_key || '|s' || last_name_alt_key, "
    "'p' || left(first_name_norm, 3) || '|1' || left(last_name_norm, 1), "
    "'p' || left(first_name_norm, 3) || '|2' || left(last_name_norm, 2), "
    "'m' || first_name_key || '|1' || left(last_name_norm, 1), "
    "'m' || first_name_key || '|2' || left(last_name_norm, 2), "
    "'s' || first_name_alt_key || '|1' || left(last_name_norm, 1), "
    "'s' || first_name_alt_key || '|2' || left(last_name_norm, 2), "
    "'1' || left(first_name_norm, 1) || '|p' || left(last_name_norm, 3), "
    "'1' || left(first_name_norm, 1) || '|m' || last_name_key, "
    "'1' || left(first_name_norm, 1) || '|s' || last_name_alt_key, "
    "'2' || left(first_name_norm, 2) || '|p' || left(last_name_norm, 3), "
    "'2' || left(first_name_norm, 2) || '|m' || last_name_key, "
    "'2' || left(first_name_norm, 2) || '|s' || last_name_alt_key"
    "]::text[]"
)


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("subject_ids", postgresql.ARRAY(sa.Uuid())))
    op.create_index(
        "ix_audit_events_subject_ids", "audit_events", ["subject_ids"], postgresql_using="gin"
    )
    op.add_column(
        "clients",
        sa.Column(
            "name_pair_keys",
            postgresql.ARRAY(sa.Text()),
            sa.Computed(NAME_PAIR_KEYS_SQL, persisted=True),
        ),
    )
    op.create_index(
        "ix_clients_name_pair_keys", "clients", ["name_pair_keys"], postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_index("ix_clients_name_pair_keys", table_name="clients")
    op.drop_column("clients", "name_pair_keys")
    op.drop_index("ix_audit_events_subject_ids", table_name="audit_events")
    op.drop_column("audit_events", "subject_ids")
