"""The CAS queue: settings, scores, transitions, household facts and the priority key

Revision ID: 0014_queue
Revises: 0013_chronic
Create Date: 2026-12-03 09:00:00.000000

* ``queue_settings`` per CoC (score tool and range, prioritization scheme); every CoC has a row
  (made here for the existing ones, by a trigger for new ones).
* ``queue_entries`` gains its score, a stable random tie-breaker, the household facts the
  scheme and the filters read (``facts_stale`` set by triggers on the tables they come from),
  the referral status, and ``priority_key``: the scheme's keys as integers (lower first) then
  the tie-breaker, computed by a trigger from the row and the CoC's scheme. Indexes for rank
  order and each sort of the list, open entries only.
* ``queue_transitions`` and ``queue_scores``: append-only histories.
* A closed entry's reason is ``exited`` or ``voided``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014_queue"
down_revision: str | Sequence[str] | None = "0013_chronic"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("closed_at IS NULL")
STATUSES = "('pending', 'incomplete_documentation', 'pending_second_review', 'approved')"
# app.reference.queue.DEFAULT_SCHEME as stored (tests/services/test_queue_facts.py compares).
DEFAULT_SCHEME = (
    """'[{"key": "chronic", "direction": "desc"}, {"key": "score", "direction": "desc"}, """
    """{"key": "days_homeless_3y", "direction": "desc"}, """
    """{"key": "days_on_queue", "direction": "desc"}]'::jsonb"""
)
# The columns the priority key reads (the trigger runs when one of them is written).
KEY_INPUTS = (
    "coc_id, placed_on, closed_at, score, tie_breaker, chronic_recorded, chronic_documented, "
    "days_homeless_3y, veteran, family_with_children, youth, priority_key"
)
# Tables whose rows the household facts are computed from (each has client_id).
FACT_SOURCES = (
    "enrollments",
    "exits",
    "current_living_situations",
    "disabilities",
    "document_checks",
)


def upgrade() -> None:
    op.create_table(
        "queue_settings",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("score_tool", sa.String(length=50), server_default="VI-SPDAT", nullable=False),
        sa.Column("score_min", sa.Integer(), server_default="0", nullable=False),
        sa.Column("score_max", sa.Integer(), server_default="22", nullable=False),
        sa.Column(
            "scheme",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text(DEFAULT_SCHEME),
            nullable=False,
        ),
        sa.Column("updated_by_user_id", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
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
        sa.CheckConstraint(
            "score_min < score_max", name=op.f("ck_queue_settings_score_range_ordered")
        ),
        sa.CheckConstraint("score_min >= 0", name=op.f("ck_queue_settings_score_min_not_negative")),
        sa.CheckConstraint(
            "jsonb_typeof(scheme) = 'array'", name=op.f("ck_queue_settings_scheme_is_list")
        ),
        sa.CheckConstraint(
            "length(score_tool) > 0", name=op.f("ck_queue_settings_score_tool_named")
        ),
        sa.ForeignKeyConstraint(
            ["coc_id"], ["cocs.id"], name=op.f("fk_queue_settings_coc_id_cocs")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_user_id"],
            ["users.id"],
            name=op.f("fk_queue_settings_updated_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("coc_id", name=op.f("pk_queue_settings")),
    )
    op.execute("INSERT INTO queue_settings (coc_id) SELECT id FROM cocs")
    op.execute(
        """
        CREATE FUNCTION queue_settings_for_new_coc() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO queue_settings (coc_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER cocs_queue_settings AFTER INSERT ON cocs "
        "FOR EACH ROW EXECUTE FUNCTION queue_settings_for_new_coc()"
    )

    # --- queue_entries ---------------------------------------------------------------------
    add = lambda column: op.add_column("queue_entries", column)  # noqa: E731
    add(sa.Column("score", sa.Integer(), nullable=True))
    add(sa.Column("score_recorded_at", sa.DateTime(timezone=True), nullable=True))
    add(
        sa.Column(
            "score_sort",
            sa.Integer(),
            sa.Computed("COALESCE(score, -1)", persisted=True),
            nullable=False,
        )
    )
    add(sa.Column("referral_status", sa.String(length=20), server_default="none", nullable=False))
    add(
        sa.Column(
            "tie_breaker",
            sa.Integer(),
            server_default=sa.text("(floor((random() * (2147483647)::double precision)))::integer"),
            nullable=False,
        )
    )
    add(sa.Column("priority_key", postgresql.ARRAY(sa.Integer()), nullable=True))
    for name in (
        "chronic_recorded",
        "chronic_documented",
        "veteran",
        "family_with_children",
        "youth",
    ):
        add(sa.Column(name, sa.Boolean(), server_default=sa.text("false"), nullable=False))
    add(sa.Column("days_homeless_3y", sa.Integer(), server_default="0", nullable=False))
    add(sa.Column("household_size", sa.SmallInteger(), server_default="1", nullable=False))
    add(sa.Column("household_type", sa.String(length=30), server_default="unknown", nullable=False))
    add(
        sa.Column(
            "documents_on_file",
            postgresql.ARRAY(sa.String(length=30)),
            server_default=sa.text("'{}'"),
            nullable=False,
        )
    )
    add(sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=True))
    add(sa.Column("facts_as_of", sa.DateTime(timezone=True), nullable=True))
    add(sa.Column("facts_stale", sa.Boolean(), server_default=sa.text("true"), nullable=False))

    checks = {
        "closed_reason_valid": "closed_reason IS NULL OR closed_reason IN ('exited', 'voided')",
        "score_not_negative": "score IS NULL OR score >= 0",
        "score_recorded_when_scored": "(score IS NULL) = (score_recorded_at IS NULL)",
        "household_type_valid": (
            "household_type IN ('adults_only', 'adults_and_children', 'children_only', 'unknown')"
        ),
        "household_size_positive": "household_size >= 1",
        "days_homeless_3y_not_negative": "days_homeless_3y >= 0",
        "referral_status_valid": "referral_status IN ('none')",
        "documents_valid": (
            "documents_on_file <@ ARRAY['housing_status', 'identity', 'homeless', "
            "'disability']::varchar[]"
        ),
    }
    for name, condition in checks.items():
        op.create_check_constraint(op.f(f"ck_queue_entries_{name}"), "queue_entries", condition)

    # The priority key: the scheme's keys (desc negated, a missing score last), then the
    # tie-breaker. The CoC's settings row is read FOR SHARE, so a scheme change (which updates
    # that row, then rewrites every open entry's key) waits for writers computing keys with the
    # old scheme, and they wait for it: no entry keeps a key of a replaced scheme.
    op.execute(
        f"""
        CREATE FUNCTION queue_entries_priority_key() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            s jsonb;
            item jsonb;
            v integer;
            k integer[] := '{{}}';
        BEGIN
            SELECT qs.scheme INTO s FROM queue_settings qs WHERE qs.coc_id = NEW.coc_id FOR SHARE;
            IF s IS NULL THEN
                s := {DEFAULT_SCHEME};
            END IF;
            FOR item IN SELECT value FROM jsonb_array_elements(s) LOOP
                v := CASE item->>'key'
                    WHEN 'chronic' THEN (NEW.chronic_recorded OR NEW.chronic_documented)::integer
                    WHEN 'score' THEN NEW.score
                    WHEN 'days_homeless_3y' THEN NEW.days_homeless_3y
                    WHEN 'days_on_queue' THEN DATE '2000-01-01' - NEW.placed_on
                    WHEN 'veteran' THEN NEW.veteran::integer
                    WHEN 'family_with_children' THEN NEW.family_with_children::integer
                    WHEN 'youth' THEN NEW.youth::integer
                END;
                k := k || CASE
                    WHEN v IS NULL THEN 2147483647
                    WHEN item->>'direction' = 'desc' THEN -v
                    ELSE v
                END;
            END LOOP;
            NEW.priority_key := k || NEW.tie_breaker;
            RETURN NEW;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER queue_entries_priority_key BEFORE INSERT OR UPDATE OF "
        f"{KEY_INPUTS} ON queue_entries "
        "FOR EACH ROW EXECUTE FUNCTION queue_entries_priority_key()"
    )
    op.execute("UPDATE queue_entries SET priority_key = '{}'")
    op.alter_column("queue_entries", "priority_key", nullable=False)

    # Facts go stale when the data behind them changes: the entries of every Coordinated Entry
    # household stay the client belongs to (open or not: a voided stay may come back).
    op.execute(
        """
        CREATE FUNCTION queue_facts_touch() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            ids uuid[];
        BEGIN
            IF TG_TABLE_NAME = 'clients' THEN
                ids := ARRAY[NEW.id];
            ELSIF TG_OP = 'DELETE' THEN
                ids := ARRAY[OLD.client_id];
            ELSIF TG_OP = 'UPDATE' THEN
                ids := ARRAY[NEW.client_id, OLD.client_id];
            ELSE
                ids := ARRAY[NEW.client_id];
            END IF;
            UPDATE queue_entries q SET facts_stale = true
            WHERE q.head_enrollment_id IN (
                SELECT e.household_group_id FROM enrollments e
                WHERE e.client_id = ANY (ids) AND e.is_coordinated_entry
            );
            RETURN NULL;
        END $$;
        """
    )
    for table in FACT_SOURCES:
        op.execute(
            f"CREATE TRIGGER {table}_queue_facts AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION queue_facts_touch()"
        )
    op.execute(
        "CREATE TRIGGER clients_queue_facts AFTER UPDATE OF veteran_status, dob, "
        "last_contact_at, merged_into_id ON clients FOR EACH ROW WHEN ("
        "OLD.veteran_status IS DISTINCT FROM NEW.veteran_status OR "
        "OLD.dob IS DISTINCT FROM NEW.dob OR "
        "OLD.last_contact_at IS DISTINCT FROM NEW.last_contact_at OR "
        "OLD.merged_into_id IS DISTINCT FROM NEW.merged_into_id"
        ") EXECUTE FUNCTION queue_facts_touch()"
    )

    op.create_index(
        "ix_queue_entries_rank",
        "queue_entries",
        ["coc_id", "priority_key", "id"],
        unique=False,
        postgresql_where=OPEN,
    )
    op.create_index(
        "ix_queue_entries_status_rank",
        "queue_entries",
        ["coc_id", "intake_status", "priority_key", "id"],
        unique=False,
        postgresql_where=OPEN,
    )
    op.create_index(
        "ix_queue_entries_client_order",
        "queue_entries",
        ["coc_id", "head_client_id", "id"],
        unique=False,
        postgresql_where=OPEN,
    )
    for name, column in (
        ("score_rank", "score_sort"),
        ("household_type_rank", "household_type"),
        ("household_size_rank", "household_size"),
        ("referral_rank", "referral_status"),
    ):
        op.create_index(
            f"ix_queue_entries_{name}",
            "queue_entries",
            ["coc_id", column, "priority_key", "id"],
            unique=False,
            postgresql_where=OPEN,
        )
    op.create_index(
        "ix_queue_entries_facts_stale",
        "queue_entries",
        ["coc_id"],
        unique=False,
        postgresql_where=sa.text("facts_stale AND closed_at IS NULL"),
    )

    # --- histories -------------------------------------------------------------------------
    op.create_table(
        "queue_transitions",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("queue_entry_id", sa.UUID(), nullable=False),
        sa.Column("from_status", sa.String(length=30), nullable=True),
        sa.Column("to_status", sa.String(length=30), nullable=False),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("acting_organization_id", sa.UUID(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "incomplete_reasons",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("score_change_reason", sa.Text(), nullable=True),
        sa.Column("instructions_for_case_manager", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            f"from_status IS NULL OR from_status IN {STATUSES}",
            name=op.f("ck_queue_transitions_from_status_valid"),
        ),
        sa.CheckConstraint(
            f"to_status IN {STATUSES}", name=op.f("ck_queue_transitions_to_status_valid")
        ),
        sa.CheckConstraint(
            "jsonb_typeof(incomplete_reasons) = 'array'",
            name=op.f("ck_queue_transitions_incomplete_reasons_is_list"),
        ),
        sa.ForeignKeyConstraint(
            ["acting_organization_id"],
            ["organizations.id"],
            name=op.f("fk_queue_transitions_acting_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_queue_transitions_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["coc_id"], ["cocs.id"], name=op.f("fk_queue_transitions_coc_id_cocs")
        ),
        sa.ForeignKeyConstraint(
            ["queue_entry_id"],
            ["queue_entries.id"],
            name=op.f("fk_queue_transitions_queue_entry_id_queue_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_transitions")),
    )
    op.create_index(
        "ix_queue_transitions_entry",
        "queue_transitions",
        ["queue_entry_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_queue_transitions_coc_created",
        "queue_transitions",
        ["coc_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "queue_scores",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("queue_entry_id", sa.UUID(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("previous_score", sa.Integer(), nullable=True),
        sa.Column("tool", sa.String(length=50), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by_user_id", sa.UUID(), nullable=True),
        sa.Column("acting_organization_id", sa.UUID(), nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("score >= 0", name=op.f("ck_queue_scores_score_not_negative")),
        sa.CheckConstraint("length(reason) > 0", name=op.f("ck_queue_scores_reason_given")),
        sa.ForeignKeyConstraint(
            ["acting_organization_id"],
            ["organizations.id"],
            name=op.f("fk_queue_scores_acting_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(["coc_id"], ["cocs.id"], name=op.f("fk_queue_scores_coc_id_cocs")),
        sa.ForeignKeyConstraint(
            ["queue_entry_id"],
            ["queue_entries.id"],
            name=op.f("fk_queue_scores_queue_entry_id_queue_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["users.id"],
            name=op.f("fk_queue_scores_recorded_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_scores")),
    )
    op.create_index(
        "ix_queue_scores_entry",
        "queue_scores",
        ["queue_entry_id", "recorded_at", "id"],
        unique=False,
    )
    op.execute(
        """
        CREATE FUNCTION queue_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END $$;
        """
    )
    for table in ("queue_transitions", "queue_scores"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION queue_history_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION queue_history_append_only()"
        )


def downgrade() -> None:
    for table in ("queue_transitions", "queue_scores"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS queue_history_append_only()")
    op.drop_index("ix_queue_scores_entry", table_name="queue_scores")
    op.drop_table("queue_scores")
    op.drop_index("ix_queue_transitions_coc_created", table_name="queue_transitions")
    op.drop_index("ix_queue_transitions_entry", table_name="queue_transitions")
    op.drop_table("queue_transitions")

    op.execute("DROP TRIGGER IF EXISTS clients_queue_facts ON clients")
    for table in FACT_SOURCES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_queue_facts ON {table}")
    op.execute("DROP FUNCTION IF EXISTS queue_facts_touch()")
    op.execute("DROP TRIGGER IF EXISTS queue_entries_priority_key ON queue_entries")
    op.execute("DROP FUNCTION IF EXISTS queue_entries_priority_key()")
    for name in (
        "facts_stale",
        "referral_rank",
        "household_size_rank",
        "household_type_rank",
        "score_rank",
        "client_order",
        "status_rank",
        "rank",
    ):
        op.drop_index(f"ix_queue_entries_{name}", table_name="queue_entries")
    for name in (
        "documents_valid",
        "referral_status_valid",
        "days_homeless_3y_not_negative",
        "household_size_positive",
        "household_type_valid",
        "score_recorded_when_scored",
        "score_not_negative",
        "closed_reason_valid",
    ):
        op.drop_constraint(op.f(f"ck_queue_entries_{name}"), "queue_entries", type_="check")
    for column in (
        "facts_stale",
        "facts_as_of",
        "last_activity_at",
        "documents_on_file",
        "household_type",
        "household_size",
        "days_homeless_3y",
        "youth",
        "family_with_children",
        "veteran",
        "chronic_documented",
        "chronic_recorded",
        "priority_key",
        "tie_breaker",
        "referral_status",
        "score_sort",
        "score_recorded_at",
        "score",
    ):
        op.drop_column("queue_entries", column)

    op.execute("DROP TRIGGER IF EXISTS cocs_queue_settings ON cocs")
    op.execute("DROP FUNCTION IF EXISTS queue_settings_for_new_coc()")
    op.drop_table("queue_settings")
