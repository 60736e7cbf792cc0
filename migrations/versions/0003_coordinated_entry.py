"""Coordinated Entry: enrollments, CE records, exits, area ties, queue entries

Revision ID: 0003_coordinated_entry
Revises: 0002_clients
"""

# ruff: noqa: E501  (check constraints list HUD codes on one line)

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_coordinated_entry"
down_revision: str | Sequence[str] | None = "0002_clients"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "area_tie_options",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
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
            "code ~ '^[a-z0-9_]{1,50}$'", name=op.f("ck_area_tie_options_code_format")
        ),
        sa.CheckConstraint("kind IN ('area', 'how')", name=op.f("ck_area_tie_options_kind_valid")),
        sa.ForeignKeyConstraint(
            ["coc_id"], ["cocs.id"], name=op.f("fk_area_tie_options_coc_id_cocs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area_tie_options")),
    )
    op.create_index(
        "uq_area_tie_options_coc_kind_code",
        "area_tie_options",
        ["coc_id", "kind", "code"],
        unique=True,
    )
    op.create_table(
        "enrollments",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("is_coordinated_entry", sa.Boolean(), nullable=False),
        sa.Column("household_id", sa.UUID(), nullable=False),
        sa.Column("household_group_id", sa.UUID(), nullable=False),
        sa.Column("relationship_to_hoh", sa.SmallInteger(), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("enrollment_coc", sa.String(length=6), nullable=False),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("created_by_organization_id", sa.UUID(), nullable=False),
        sa.Column("disabling_condition", sa.SmallInteger(), nullable=False),
        sa.Column("living_situation", sa.SmallInteger(), nullable=True),
        sa.Column("rental_subsidy_type", sa.SmallInteger(), nullable=True),
        sa.Column("length_of_stay", sa.SmallInteger(), nullable=True),
        sa.Column("los_under_threshold", sa.SmallInteger(), nullable=True),
        sa.Column("previous_street_essh", sa.SmallInteger(), nullable=True),
        sa.Column("date_to_street_essh", sa.Date(), nullable=True),
        sa.Column("times_homeless_past_three_years", sa.SmallInteger(), nullable=True),
        sa.Column("months_homeless_past_three_years", sa.SmallInteger(), nullable=True),
        sa.Column("translation_needed", sa.SmallInteger(), nullable=True),
        sa.Column("preferred_language", sa.SmallInteger(), nullable=True),
        sa.Column("preferred_language_different", sa.String(length=100), nullable=True),
        sa.Column("move_in_date", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("exit_date", sa.Date(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
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
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "enrollment_coc ~ '^[A-Z]{2}-[0-9]{3}$'",
            name=op.f("ck_enrollments_enrollment_coc_format"),
        ),
        sa.CheckConstraint(
            "outcome IN ('pending', 'diverted', 'placed')",
            name=op.f("ck_enrollments_outcome_valid"),
        ),
        sa.CheckConstraint(
            "(living_situation = 435) = (rental_subsidy_type IS NOT NULL) OR (living_situation IS NULL AND rental_subsidy_type IS NULL)",
            name=op.f("ck_enrollments_rental_subsidy_only_for_435"),
        ),
        sa.CheckConstraint(
            "disabling_condition IN (0, 1, 8, 9, 99)", name=op.f("ck_enrollments_disabling_valid")
        ),
        sa.CheckConstraint(
            "exit_date IS NULL OR exit_date >= entry_date",
            name=op.f("ck_enrollments_exit_after_entry"),
        ),
        sa.CheckConstraint(
            "length_of_stay IS NULL OR length_of_stay IN (2, 3, 4, 5, 8, 9, 10, 11, 99)",
            name=op.f("ck_enrollments_los_valid"),
        ),
        sa.CheckConstraint(
            "living_situation IS NULL OR living_situation NOT BETWEEN 100 AND 199 OR (los_under_threshold IS NULL AND previous_street_essh IS NULL)",
            name=op.f("ck_enrollments_homeless_prior_has_no_break_questions"),
        ),
        sa.CheckConstraint(
            "previous_street_essh IS NULL OR los_under_threshold = 1",
            name=op.f("ck_enrollments_previous_street_essh_only_under_threshold"),
        ),
        sa.CheckConstraint(
            "(date_to_street_essh IS NULL AND times_homeless_past_three_years IS NULL AND months_homeless_past_three_years IS NULL) OR living_situation BETWEEN 100 AND 199 OR previous_street_essh = 1",
            name=op.f("ck_enrollments_homeless_history_only_when_asked"),
        ),
        sa.CheckConstraint(
            "date_to_street_essh IS NULL OR date_to_street_essh <= entry_date",
            name=op.f("ck_enrollments_date_to_street_essh_not_after_entry"),
        ),
        sa.CheckConstraint(
            "living_situation IS NULL OR living_situation IN (8, 9, 99, 101, 116, 118, 204, 205, 206, 207, 215, 225, 302, 314, 329, 332, 335, 336, 410, 411, 421, 435)",
            name=op.f("ck_enrollments_living_situation_valid"),
        ),
        sa.CheckConstraint(
            "los_under_threshold IS NULL OR los_under_threshold IN (0, 1, 99)",
            name=op.f("ck_enrollments_los_under_threshold_valid"),
        ),
        sa.CheckConstraint(
            "months_homeless_past_three_years IS NULL OR months_homeless_past_three_years IN (8, 9, 99, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113)",
            name=op.f("ck_enrollments_months_homeless_valid"),
        ),
        sa.CheckConstraint(
            "move_in_date IS NULL OR move_in_date >= entry_date",
            name=op.f("ck_enrollments_move_in_after_entry"),
        ),
        sa.CheckConstraint(
            "preferred_language_different IS NULL OR preferred_language = 21",
            name=op.f("ck_enrollments_preferred_language_different_only_for_21"),
        ),
        sa.CheckConstraint(
            "previous_street_essh IS NULL OR previous_street_essh IN (0, 1, 99)",
            name=op.f("ck_enrollments_previous_street_essh_valid"),
        ),
        sa.CheckConstraint(
            "relationship_to_hoh IN (1, 2, 3, 4, 5, 99)",
            name=op.f("ck_enrollments_relationship_to_hoh_valid"),
        ),
        sa.CheckConstraint(
            "rental_subsidy_type IS NULL OR rental_subsidy_type IN (419, 420, 428, 431, 433, 434, 436, 437, 438, 439, 440)",
            name=op.f("ck_enrollments_rental_subsidy_valid"),
        ),
        sa.CheckConstraint(
            "times_homeless_past_three_years IS NULL OR times_homeless_past_three_years IN (1, 2, 3, 4, 8, 9, 99)",
            name=op.f("ck_enrollments_times_homeless_valid"),
        ),
        sa.CheckConstraint(
            "translation_needed IS NULL OR translation_needed IN (0, 1, 8, 9, 99)",
            name=op.f("ck_enrollments_translation_needed_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_enrollments_client_id_clients")
        ),
        sa.ForeignKeyConstraint(["coc_id"], ["cocs.id"], name=op.f("fk_enrollments_coc_id_cocs")),
        sa.ForeignKeyConstraint(
            ["created_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_enrollments_created_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_enrollments_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_enrollments_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_enrollments_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
    )
    op.create_index(
        "ix_enrollments_client_id", "enrollments", ["client_id", "entry_date", "id"], unique=False
    )
    op.create_index(
        "ix_enrollments_household_group_id", "enrollments", ["household_group_id"], unique=False
    )
    op.create_index(
        "ix_enrollments_project_id", "enrollments", ["project_id", "entry_date"], unique=False
    )
    op.create_index(
        "uq_enrollments_one_open_ce_per_client",
        "enrollments",
        ["client_id"],
        unique=True,
        postgresql_where=sa.text("is_coordinated_entry AND exit_date IS NULL"),
    )
    op.create_table(
        "case_assignments",
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("assigned_by_user_id", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
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
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'inactive')", name=op.f("ck_case_assignments_status_valid")
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_case_assignments_dates_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_user_id"],
            ["users.id"],
            name=op.f("fk_case_assignments_assigned_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_case_assignments_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_case_assignments_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_case_assignments_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_case_assignments_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_assignments")),
    )
    op.create_index(
        "ix_case_assignments_client_id", "case_assignments", ["client_id", "status"], unique=False
    )
    op.create_index(
        "ix_case_assignments_enrollment_id",
        "case_assignments",
        ["enrollment_id", "start_date", "id"],
        unique=False,
    )
    op.create_index(
        "ix_case_assignments_user_id", "case_assignments", ["user_id", "status"], unique=False
    )
    op.create_index(
        "uq_case_assignments_one_active_per_user",
        "case_assignments",
        ["enrollment_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "enrollment_assessments",
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("data_collection_stage", sa.SmallInteger(), nullable=False),
        sa.Column("assessment_date", sa.Date(), nullable=False),
        sa.Column("ready_for_outcome", sa.Boolean(), nullable=True),
        sa.Column("outcome_before", sa.String(length=20), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("created_by_organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
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
            "outcome IS NULL OR outcome IN ('pending', 'diverted', 'placed')",
            name=op.f("ck_enrollment_assessments_outcome_valid"),
        ),
        sa.CheckConstraint(
            "data_collection_stage IN (1, 2, 3, 5)",
            name=op.f("ck_enrollment_assessments_stage_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_enrollment_assessments_created_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_enrollment_assessments_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_enrollment_assessments_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_assessments")),
    )
    op.create_index(
        "ix_enrollment_assessments_enrollment_id",
        "enrollment_assessments",
        ["enrollment_id", "assessment_date", "id"],
        unique=False,
    )
    op.create_table(
        "queue_entries",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("household_id", sa.UUID(), nullable=False),
        sa.Column("head_client_id", sa.UUID(), nullable=False),
        sa.Column("head_enrollment_id", sa.UUID(), nullable=False),
        sa.Column("intake_status", sa.String(length=30), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("placed_by_user_id", sa.UUID(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.String(length=30), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
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
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "intake_status IN ('pending', 'incomplete_documentation', 'pending_second_review', 'approved')",
            name=op.f("ck_queue_entries_intake_status_valid"),
        ),
        sa.CheckConstraint(
            "(closed_at IS NULL) = (closed_reason IS NULL)",
            name=op.f("ck_queue_entries_closed_reason_when_closed"),
        ),
        sa.ForeignKeyConstraint(["coc_id"], ["cocs.id"], name=op.f("fk_queue_entries_coc_id_cocs")),
        sa.ForeignKeyConstraint(
            ["head_client_id"], ["clients.id"], name=op.f("fk_queue_entries_head_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["head_enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_queue_entries_head_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_queue_entries_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_user_id"],
            ["users.id"],
            name=op.f("fk_queue_entries_placed_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_entries")),
    )
    op.create_index(
        "ix_queue_entries_coc_open", "queue_entries", ["coc_id", "placed_on", "id"], unique=False
    )
    op.create_index(
        "ix_queue_entries_head_client_id", "queue_entries", ["head_client_id"], unique=False
    )
    op.create_index(
        "ix_queue_entries_head_enrollment_id", "queue_entries", ["head_enrollment_id"], unique=False
    )
    op.create_index(
        "uq_queue_entries_one_open_per_household",
        "queue_entries",
        ["household_id"],
        unique=True,
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_table(
        "area_ties",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("tie_date", sa.Date(), nullable=False),
        sa.Column("area", sa.String(length=50), nullable=False),
        sa.Column("how", sa.String(length=50), nullable=False),
        sa.Column("enrollment_id", sa.UUID(), nullable=True),
        sa.Column("assessment_id", sa.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("created_by_organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["enrollment_assessments.id"],
            name=op.f("fk_area_ties_assessment_id_enrollment_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_area_ties_client_id_clients")
        ),
        sa.ForeignKeyConstraint(["coc_id"], ["cocs.id"], name=op.f("fk_area_ties_coc_id_cocs")),
        sa.ForeignKeyConstraint(
            ["created_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_area_ties_created_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["users.id"], name=op.f("fk_area_ties_created_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_area_ties_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area_ties")),
    )
    op.create_index(
        "ix_area_ties_client_id", "area_ties", ["client_id", "tie_date", "id"], unique=False
    )
    op.create_index("ix_area_ties_coc_area", "area_ties", ["coc_id", "area"], unique=False)
    op.create_table(
        "ce_assessments",
        sa.Column("assessment_date", sa.Date(), nullable=False),
        sa.Column("assessment_location", sa.String(length=250), nullable=False),
        sa.Column("assessment_type", sa.SmallInteger(), nullable=False),
        sa.Column("assessment_level", sa.SmallInteger(), nullable=False),
        sa.Column("prioritization_status", sa.SmallInteger(), nullable=False),
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("assessment_id", sa.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("created_by_organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
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
            "assessment_level IN (1, 2)", name=op.f("ck_ce_assessments_level_valid")
        ),
        sa.CheckConstraint(
            "assessment_type IN (1, 2, 3)", name=op.f("ck_ce_assessments_type_valid")
        ),
        sa.CheckConstraint(
            "prioritization_status IN (1, 2)", name=op.f("ck_ce_assessments_prioritization_valid")
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["enrollment_assessments.id"],
            name=op.f("fk_ce_assessments_assessment_id_enrollment_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_ce_assessments_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_ce_assessments_created_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_ce_assessments_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_ce_assessments_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ce_assessments")),
    )
    op.create_index(
        "ix_ce_assessments_enrollment_id",
        "ce_assessments",
        ["enrollment_id", "assessment_date", "id"],
        unique=False,
    )
    op.create_table(
        "ce_events",
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("event", sa.SmallInteger(), nullable=False),
        sa.Column("prob_sol_div_rr_result", sa.SmallInteger(), nullable=True),
        sa.Column("referral_case_manage_after", sa.SmallInteger(), nullable=True),
        sa.Column("location_crisis_or_ph_housing", sa.String(length=250), nullable=True),
        sa.Column("referral_result", sa.SmallInteger(), nullable=True),
        sa.Column("result_date", sa.Date(), nullable=True),
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("assessment_id", sa.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("created_by_organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
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
            "event IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)",
            name=op.f("ck_ce_events_event_valid"),
        ),
        sa.CheckConstraint(
            "prob_sol_div_rr_result IS NULL OR event = 2 AND prob_sol_div_rr_result IN (0, 1, 99)",
            name=op.f("ck_ce_events_diversion_result_only_event_2"),
        ),
        sa.CheckConstraint(
            "referral_case_manage_after IS NULL OR event = 5 AND referral_case_manage_after IN (0, 1, 99)",
            name=op.f("ck_ce_events_case_manage_after_only_event_5"),
        ),
        sa.CheckConstraint(
            "referral_result IS NULL OR event IN (10, 11, 12, 13, 14, 15, 17, 18) AND referral_result IN (1, 2, 3)",
            name=op.f("ck_ce_events_referral_result_only_referrals"),
        ),
        sa.CheckConstraint(
            "location_crisis_or_ph_housing IS NULL OR event IN (10, 11, 12, 13, 14, 15, 17, 18)",
            name=op.f("ck_ce_events_location_only_referrals"),
        ),
        sa.CheckConstraint(
            "(result_date IS NULL) = (referral_result IS NULL)",
            name=op.f("ck_ce_events_result_date"),
        ),
        sa.CheckConstraint(
            "result_date IS NULL OR result_date >= event_date",
            name=op.f("ck_ce_events_result_after_event"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["enrollment_assessments.id"],
            name=op.f("fk_ce_events_assessment_id_enrollment_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_ce_events_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_ce_events_created_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["users.id"], name=op.f("fk_ce_events_created_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_ce_events_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ce_events")),
    )
    op.create_index(
        "ix_ce_events_enrollment_id",
        "ce_events",
        ["enrollment_id", "event_date", "id"],
        unique=False,
    )
    op.create_table(
        "current_living_situations",
        sa.Column("information_date", sa.Date(), nullable=False),
        sa.Column("current_living_situation", sa.SmallInteger(), nullable=False),
        sa.Column("cls_subsidy_type", sa.SmallInteger(), nullable=True),
        sa.Column("verified_by", sa.String(length=200), nullable=True),
        sa.Column("leave_situation_14_days", sa.SmallInteger(), nullable=True),
        sa.Column("subsequent_residence", sa.SmallInteger(), nullable=True),
        sa.Column("resources_to_obtain", sa.SmallInteger(), nullable=True),
        sa.Column("lease_own_60_day", sa.SmallInteger(), nullable=True),
        sa.Column("moved_two_or_more", sa.SmallInteger(), nullable=True),
        sa.Column("location_details", sa.String(length=250), nullable=True),
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("assessment_id", sa.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("created_by_organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
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
            "(current_living_situation = 435) = (cls_subsidy_type IS NOT NULL)",
            name=op.f("ck_current_living_situations_subsidy_only_for_435"),
        ),
        sa.CheckConstraint(
            "cls_subsidy_type IS NULL OR cls_subsidy_type IN (419, 420, 428, 431, 433, 434, 436, 437, 438, 439, 440)",
            name=op.f("ck_current_living_situations_subsidy_valid"),
        ),
        sa.CheckConstraint(
            "current_living_situation IN (8, 9, 17, 37, 99, 101, 116, 118, 204, 205, 206, 207, 215, 225, 302, 314, 329, 332, 335, 336, 410, 411, 421, 435)",
            name=op.f("ck_current_living_situations_situation_valid"),
        ),
        sa.CheckConstraint(
            "leave_situation_14_days IS NULL OR current_living_situation IN (204, 205, 206, 207, 215, 225, 302, 314, 329, 332, 335, 336, 410, 411, 421, 435)",
            name=op.f("ck_current_living_situations_leave_situation_asked"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["enrollment_assessments.id"],
            name=op.f("fk_current_living_situations_assessment_id_enrollment_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_current_living_situations_client_id_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_current_living_situations_created_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_current_living_situations_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_current_living_situations_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_current_living_situations")),
    )
    op.create_index(
        "ix_current_living_situations_client",
        "current_living_situations",
        ["client_id", "information_date"],
        unique=False,
    )
    op.create_index(
        "ix_current_living_situations_enrollment",
        "current_living_situations",
        ["enrollment_id", "information_date", "id"],
        unique=False,
    )
    op.create_table(
        "disabilities",
        sa.Column("information_date", sa.Date(), nullable=False),
        sa.Column("disability_type", sa.SmallInteger(), nullable=False),
        sa.Column("disability_response", sa.SmallInteger(), nullable=False),
        sa.Column("indefinite_and_impairs", sa.SmallInteger(), nullable=True),
        sa.Column("data_collection_stage", sa.SmallInteger(), nullable=False),
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("assessment_id", sa.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("created_by_organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
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
            "data_collection_stage IN (1, 2, 3, 5)", name=op.f("ck_disabilities_stage_valid")
        ),
        sa.CheckConstraint(
            "disability_type = 10 AND disability_response IN (0, 1, 2, 3, 8, 9, 99) OR disability_type <> 10 AND disability_response IN (0, 1, 8, 9, 99)",
            name=op.f("ck_disabilities_response_valid"),
        ),
        sa.CheckConstraint(
            "disability_type IN (5, 6, 7, 8, 9, 10)", name=op.f("ck_disabilities_type_valid")
        ),
        sa.CheckConstraint(
            "indefinite_and_impairs IS NULL OR indefinite_and_impairs IN (0, 1, 8, 9, 99)",
            name=op.f("ck_disabilities_indefinite_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["enrollment_assessments.id"],
            name=op.f("fk_disabilities_assessment_id_enrollment_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_disabilities_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_disabilities_created_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_disabilities_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_disabilities_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disabilities")),
    )
    op.create_index(
        "ix_disabilities_enrollment_id",
        "disabilities",
        ["enrollment_id", "information_date", "id"],
        unique=False,
    )
    op.create_table(
        "diversion_assessments",
        sa.Column("assessment_date", sa.Date(), nullable=False),
        sa.Column("housing_crisis_onset", sa.Date(), nullable=True),
        sa.Column("last_stable_housing_date", sa.Date(), nullable=True),
        sa.Column("assistance_needed", sa.Text(), nullable=True),
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("assessment_id", sa.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("created_by_organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["enrollment_assessments.id"],
            name=op.f("fk_diversion_assessments_assessment_id_enrollment_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_diversion_assessments_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_diversion_assessments_created_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_diversion_assessments_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_diversion_assessments_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diversion_assessments")),
    )
    op.create_index(
        "ix_diversion_assessments_enrollment",
        "diversion_assessments",
        ["enrollment_id", "assessment_date", "id"],
        unique=False,
    )
    op.create_table(
        "exits",
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("exit_date", sa.Date(), nullable=False),
        sa.Column("destination", sa.SmallInteger(), nullable=False),
        sa.Column("destination_subsidy_type", sa.SmallInteger(), nullable=True),
        sa.Column("other_destination", sa.String(length=50), nullable=True),
        sa.Column("exit_reason", sa.String(length=40), nullable=False),
        sa.Column("assessment_id", sa.UUID(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("created_by_organization_id", sa.UUID(), nullable=False),
        sa.Column(
            "exited_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("id", sa.UUID(), nullable=False),
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
            "exit_reason IN ('no_longer_needs_permanent_housing', 'left_coc_area', 'enrolled_in_permanent_housing', 'successfully_diverted')",
            name=op.f("ck_exits_exit_reason_valid"),
        ),
        sa.CheckConstraint(
            "(destination = 435) = (destination_subsidy_type IS NOT NULL)",
            name=op.f("ck_exits_subsidy_only_for_435"),
        ),
        sa.CheckConstraint(
            "destination IN (8, 9, 17, 24, 30, 99, 101, 116, 118, 204, 205, 206, 207, 215, 225, 302, 312, 313, 314, 327, 329, 332, 410, 411, 421, 422, 423, 426, 435)",
            name=op.f("ck_exits_destination_valid"),
        ),
        sa.CheckConstraint(
            "destination_subsidy_type IS NULL OR destination_subsidy_type IN (419, 420, 428, 431, 433, 434, 436, 437, 438, 439, 440)",
            name=op.f("ck_exits_subsidy_valid"),
        ),
        sa.CheckConstraint(
            "other_destination IS NULL OR destination = 17",
            name=op.f("ck_exits_other_destination_only_17"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["enrollment_assessments.id"],
            name=op.f("fk_exits_assessment_id_enrollment_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_exits_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_exits_created_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["users.id"], name=op.f("fk_exits_created_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"], ["enrollments.id"], name=op.f("fk_exits_enrollment_id_enrollments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exits")),
    )
    op.create_index("ix_exits_client_id", "exits", ["client_id"], unique=False)
    op.create_index("uq_exits_enrollment_id", "exits", ["enrollment_id"], unique=True)
    op.create_table(
        "housing_needs_assessments",
        sa.Column("assessment_date", sa.Date(), nullable=False),
        sa.Column("sex_offender_registry", sa.SmallInteger(), nullable=False),
        sa.Column("meth_manufacturing_conviction", sa.SmallInteger(), nullable=False),
        sa.Column("behavioral_health_interest", sa.SmallInteger(), nullable=False),
        sa.Column("hud_vash_eligible", sa.SmallInteger(), nullable=True),
        sa.Column("violence_trauma_or_unsafe", sa.SmallInteger(), nullable=False),
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("assessment_id", sa.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("created_by_organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
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
            "sex_offender_registry IN (0, 1, 8, 9, 99) AND meth_manufacturing_conviction IN (0, 1, 8, 9, 99) AND behavioral_health_interest IN (0, 1, 8, 9, 99) AND violence_trauma_or_unsafe IN (0, 1, 8, 9, 99) AND (hud_vash_eligible IS NULL OR hud_vash_eligible IN (0, 1, 8, 9, 99))",
            name=op.f("ck_housing_needs_assessments_answers_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["enrollment_assessments.id"],
            name=op.f("fk_housing_needs_assessments_assessment_id_enrollment_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_housing_needs_assessments_client_id_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_housing_needs_assessments_created_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_housing_needs_assessments_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_housing_needs_assessments_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_housing_needs_assessments")),
    )
    op.create_index(
        "ix_housing_needs_assessments_enrollment",
        "housing_needs_assessments",
        ["enrollment_id", "assessment_date", "id"],
        unique=False,
    )
    op.create_table(
        "services",
        sa.Column("date_provided", sa.Date(), nullable=False),
        sa.Column("service_type", sa.String(length=50), nullable=False),
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("assessment_id", sa.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("created_by_organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
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
            "service_type IN ('family_reunification', 'conflict_mediation', 'financial_assistance', 'transportation_assistance', 'housing_search_assistance', 'connection_to_mainstream_resources', 'successful_diversion_other')",
            name=op.f("ck_services_type_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["enrollment_assessments.id"],
            name=op.f("fk_services_assessment_id_enrollment_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_services_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_services_created_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["users.id"], name=op.f("fk_services_created_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_services_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
    )
    op.create_index(
        "ix_services_client_id", "services", ["client_id", "date_provided"], unique=False
    )
    op.create_index(
        "ix_services_enrollment_id",
        "services",
        ["enrollment_id", "date_provided", "id"],
        unique=False,
    )
    op.create_table(
        "case_notes",
        sa.Column("note_date", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("service_id", sa.UUID(), nullable=True),
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("assessment_id", sa.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("created_by_organization_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["enrollment_assessments.id"],
            name=op.f("fk_case_notes_assessment_id_enrollment_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_case_notes_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_case_notes_created_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_case_notes_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_case_notes_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_case_notes_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
    )
    op.create_index(
        "ix_case_notes_enrollment_id",
        "case_notes",
        ["enrollment_id", "note_date", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_case_notes_enrollment_id", table_name="case_notes")
    op.drop_table("case_notes")
    op.drop_index("ix_services_enrollment_id", table_name="services")
    op.drop_index("ix_services_client_id", table_name="services")
    op.drop_table("services")
    op.drop_index("ix_housing_needs_assessments_enrollment", table_name="housing_needs_assessments")
    op.drop_table("housing_needs_assessments")
    op.drop_index("uq_exits_enrollment_id", table_name="exits")
    op.drop_index("ix_exits_client_id", table_name="exits")
    op.drop_table("exits")
    op.drop_index("ix_diversion_assessments_enrollment", table_name="diversion_assessments")
    op.drop_table("diversion_assessments")
    op.drop_index("ix_disabilities_enrollment_id", table_name="disabilities")
    op.drop_table("disabilities")
    op.drop_index("ix_current_living_situations_enrollment", table_name="current_living_situations")
    op.drop_index("ix_current_living_situations_client", table_name="current_living_situations")
    op.drop_table("current_living_situations")
    op.drop_index("ix_ce_events_enrollment_id", table_name="ce_events")
    op.drop_table("ce_events")
    op.drop_index("ix_ce_assessments_enrollment_id", table_name="ce_assessments")
    op.drop_table("ce_assessments")
    op.drop_index("ix_area_ties_coc_area", table_name="area_ties")
    op.drop_index("ix_area_ties_client_id", table_name="area_ties")
    op.drop_table("area_ties")
    op.drop_index(
        "uq_queue_entries_one_open_per_household",
        table_name="queue_entries",
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.drop_index("ix_queue_entries_head_enrollment_id", table_name="queue_entries")
    op.drop_index("ix_queue_entries_head_client_id", table_name="queue_entries")
    op.drop_index("ix_queue_entries_coc_open", table_name="queue_entries")
    op.drop_table("queue_entries")
    op.drop_index("ix_enrollment_assessments_enrollment_id", table_name="enrollment_assessments")
    op.drop_table("enrollment_assessments")
    op.drop_index(
        "uq_case_assignments_one_active_per_user",
        table_name="case_assignments",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_index("ix_case_assignments_user_id", table_name="case_assignments")
    op.drop_index("ix_case_assignments_enrollment_id", table_name="case_assignments")
    op.drop_index("ix_case_assignments_client_id", table_name="case_assignments")
    op.drop_table("case_assignments")
    op.drop_index(
        "uq_enrollments_one_open_ce_per_client",
        table_name="enrollments",
        postgresql_where=sa.text("is_coordinated_entry AND exit_date IS NULL"),
    )
    op.drop_index("ix_enrollments_project_id", table_name="enrollments")
    op.drop_index("ix_enrollments_household_group_id", table_name="enrollments")
    op.drop_index("ix_enrollments_client_id", table_name="enrollments")
    op.drop_table("enrollments")
    op.drop_index("uq_area_tie_options_coc_kind_code", table_name="area_tie_options")
    op.drop_table("area_tie_options")
