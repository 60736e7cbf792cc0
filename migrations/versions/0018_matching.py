"""Housing inventory and matching: units and their events, project matching profiles and
eligibility requirements, the CoC's response policy, matches, their timeline and stall responses

Revision ID: 0018_matching
Revises: 0017_hmis_csv
Create Date: 2026-12-05 09:00:00.000000

* One active match per unit unless over-referred, one per queue entry (partial unique indexes).
* ``unit_events``, ``match_events`` and ``match_stall_responses`` are append-only (trigger).
* ``queue_entries.referral_status`` takes matching's values, and ``queue_entries.parked_until``
  holds a park's end date; a housed entry closes as ``housed``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018_matching"
down_revision: str | Sequence[str] | None = "0017_hmis_csv"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("unit_events", "match_events", "match_stall_responses")
REFERRAL_STATUSES = "('none', 'sent', 'accepted', 'parked', 'enrolled')"
CLOSE_REASONS = "('exited', 'voided', 'housed')"
OLD_CLOSE_REASONS = "('exited', 'voided')"


def upgrade() -> None:
    op.create_table(
        "matching_policies",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("stall_after_days", sa.SmallInteger(), nullable=False),
        sa.Column("warn_days_before", sa.SmallInteger(), nullable=False),
        sa.Column("updated_by_user_id", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
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
            "stall_after_days BETWEEN 1 AND 365",
            name=op.f("ck_matching_policies_stall_after_days_range"),
        ),
        sa.CheckConstraint(
            "warn_days_before >= 0 AND warn_days_before < stall_after_days",
            name=op.f("ck_matching_policies_warn_before_stall"),
        ),
        sa.ForeignKeyConstraint(
            ["coc_id"], ["cocs.id"], name=op.f("fk_matching_policies_coc_id_cocs")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_user_id"],
            ["users.id"],
            name=op.f("fk_matching_policies_updated_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("coc_id", name=op.f("pk_matching_policies")),
    )
    op.create_table(
        "project_matching_profiles",
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column(
            "funding_sources",
            postgresql.ARRAY(sa.SmallInteger()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("stall_after_days", sa.SmallInteger(), nullable=True),
        sa.Column("updated_by_user_id", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
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
            "funding_sources <@ ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 30, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 55, 56]::smallint[]",
            name=op.f("ck_project_matching_profiles_funding_sources_valid"),
        ),
        sa.CheckConstraint(
            "stall_after_days IS NULL OR stall_after_days BETWEEN 1 AND 365",
            name=op.f("ck_project_matching_profiles_stall_after_days_range"),
        ),
        sa.ForeignKeyConstraint(
            ["coc_id"], ["cocs.id"], name=op.f("fk_project_matching_profiles_coc_id_cocs")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_matching_profiles_project_id_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_user_id"],
            ["users.id"],
            name=op.f("fk_project_matching_profiles_updated_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_matching_profiles")),
    )
    op.create_table(
        "project_requirements",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("polarity", sa.String(length=10), nullable=False),
        sa.Column("area", sa.String(length=50), nullable=True),
        sa.Column("min_value", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("max_value", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'area_tie') = (area IS NOT NULL)",
            name=op.f("ck_project_requirements_area_for_area_tie"),
        ),
        sa.CheckConstraint(
            "kind <> 'household_size' OR min_value IS NOT NULL OR max_value IS NOT NULL",
            name=op.f("ck_project_requirements_size_has_bound"),
        ),
        sa.CheckConstraint(
            "kind <> 'income_ceiling' OR max_value IS NOT NULL",
            name=op.f("ck_project_requirements_ceiling_has_max"),
        ),
        sa.CheckConstraint(
            "kind IN ('chronic', 'veteran', 'vash_eligible', 'family_with_children', 'youth', 'verified_disability', 'area_tie', 'sex_offender_registry', 'meth_conviction', 'household_size', 'fits_bedrooms', 'income_ceiling')",
            name=op.f("ck_project_requirements_kind_valid"),
        ),
        sa.CheckConstraint(
            "kind IN ('household_size', 'income_ceiling') OR (min_value IS NULL AND max_value IS NULL)",
            name=op.f("ck_project_requirements_values_only_for_ranges"),
        ),
        sa.CheckConstraint(
            "polarity IN ('must', 'must_not')", name=op.f("ck_project_requirements_polarity_valid")
        ),
        sa.CheckConstraint(
            "min_value IS NULL OR max_value IS NULL OR min_value <= max_value",
            name=op.f("ck_project_requirements_range_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["coc_id"], ["cocs.id"], name=op.f("fk_project_requirements_coc_id_cocs")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_requirements_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_requirements")),
    )
    op.create_index(
        "ix_project_requirements_project",
        "project_requirements",
        ["project_id", "position"],
        unique=False,
    )
    op.create_table(
        "units",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("bedrooms", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("offline_reason", sa.String(length=30), nullable=True),
        sa.Column("occupant_client_id", sa.UUID(), nullable=True),
        sa.Column(
            "status_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
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
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(status = 'offline') = (offline_reason IS NOT NULL)",
            name=op.f("ck_units_offline_has_reason"),
        ),
        sa.CheckConstraint(
            "offline_reason IS NULL OR offline_reason IN ('repairs', 'inspection', 'not_really_available', 'funding_ended', 'other')",
            name=op.f("ck_units_offline_reason_valid"),
        ),
        sa.CheckConstraint(
            "status = 'occupied' OR occupant_client_id IS NULL",
            name=op.f("ck_units_occupant_only_occupied"),
        ),
        sa.CheckConstraint(
            "status IN ('available', 'occupied', 'reserved', 'offline')",
            name=op.f("ck_units_status_valid"),
        ),
        sa.CheckConstraint("bedrooms BETWEEN 0 AND 20", name=op.f("ck_units_bedrooms_range")),
        sa.CheckConstraint("length(label) > 0", name=op.f("ck_units_label_given")),
        sa.ForeignKeyConstraint(["coc_id"], ["cocs.id"], name=op.f("fk_units_coc_id_cocs")),
        sa.ForeignKeyConstraint(
            ["occupant_client_id"], ["clients.id"], name=op.f("fk_units_occupant_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_units_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
    )
    op.create_index("ix_units_coc_status", "units", ["coc_id", "status"], unique=False)
    op.create_index("uq_units_project_label", "units", ["project_id", "label"], unique=True)
    op.create_table(
        "matches",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("unit_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("queue_entry_id", sa.UUID(), nullable=False),
        sa.Column("head_client_id", sa.UUID(), nullable=False),
        sa.Column("ce_enrollment_id", sa.UUID(), nullable=False),
        sa.Column("is_ehv", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("over_referral", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("sent_by_user_id", sa.UUID(), nullable=True),
        sa.Column("clock_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("referral_event_id", sa.UUID(), nullable=True),
        sa.Column("referral_result", sa.SmallInteger(), nullable=True),
        sa.Column("result_date", sa.Date(), nullable=True),
        sa.Column("provider_result", sa.String(length=20), nullable=True),
        sa.Column("program_enrollment_id", sa.UUID(), nullable=True),
        sa.Column("decline_reason", sa.String(length=40), nullable=True),
        sa.Column("decline_explanation", sa.Text(), nullable=True),
        sa.Column("park_reason", sa.String(length=40), nullable=True),
        sa.Column("park_explanation", sa.Text(), nullable=True),
        sa.Column("parked_until", sa.Date(), nullable=True),
        sa.Column("cancel_reason", sa.String(length=40), nullable=True),
        sa.Column("cancel_explanation", sa.Text(), nullable=True),
        sa.Column("voucher_issued_on", sa.Date(), nullable=True),
        sa.Column("rfta_submitted_on", sa.Date(), nullable=True),
        sa.Column("ehv_case_manager_organization_id", sa.UUID(), nullable=True),
        sa.Column("ehv_case_manager_user_id", sa.UUID(), nullable=True),
        sa.Column("ce_exit_flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ce_exit_destination", sa.SmallInteger(), nullable=True),
        sa.Column("ce_exit_subsidy_type", sa.SmallInteger(), nullable=True),
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
            "cancel_reason IS NULL OR cancel_reason IN ('better_match', 'no_longer_needs_housing', 'unit_not_available', 'sent_in_error', 'other')",
            name=op.f("ck_matches_cancel_reason_valid"),
        ),
        sa.CheckConstraint(
            "decline_reason IS DISTINCT FROM 'other' OR decline_explanation IS NOT NULL",
            name=op.f("ck_matches_decline_other_explained"),
        ),
        sa.CheckConstraint(
            "decline_reason IS NULL OR decline_reason IN ('not_eligible_for_services', 'not_eligible_for_housing_type', 'not_eligible_funding_type', 'another_housing_option', 'other')",
            name=op.f("ck_matches_decline_reason_valid"),
        ),
        sa.CheckConstraint(
            "park_reason IS DISTINCT FROM 'other' OR park_explanation IS NOT NULL",
            name=op.f("ck_matches_park_other_explained"),
        ),
        sa.CheckConstraint(
            "park_reason IS NULL OR park_reason IN ('disengaged', 'declined_services', 'higher_level_of_care', 'short_incarceration', 'deceased', 'another_housing_opportunity', 'other')",
            name=op.f("ck_matches_park_reason_valid"),
        ),
        sa.CheckConstraint(
            "status <> 'canceled' OR cancel_reason IS NOT NULL",
            name=op.f("ck_matches_canceled_has_reason"),
        ),
        sa.CheckConstraint(
            "status <> 'declined' OR decline_reason IS NOT NULL",
            name=op.f("ck_matches_declined_has_reason"),
        ),
        sa.CheckConstraint(
            "status <> 'parked' OR park_reason IS NOT NULL",
            name=op.f("ck_matches_parked_has_reason"),
        ),
        sa.CheckConstraint(
            "status IN ('sent', 'accepted', 'enrolled', 'declined', 'parked', 'rejected', 'no_show', 'canceled', 'ehv_navigation', 'ehv_voucher_issued', 'ehv_rfta_submitted', 'ehv_case_management')",
            name=op.f("ck_matches_status_valid"),
        ),
        sa.CheckConstraint(
            "(referral_result IS NULL) = (result_date IS NULL)",
            name=op.f("ck_matches_result_date_with_result"),
        ),
        sa.CheckConstraint(
            "referral_result IS NULL OR referral_result IN (1, 2, 3)",
            name=op.f("ck_matches_referral_result_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["ce_enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_matches_ce_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(["coc_id"], ["cocs.id"], name=op.f("fk_matches_coc_id_cocs")),
        sa.ForeignKeyConstraint(
            ["ehv_case_manager_organization_id"],
            ["organizations.id"],
            name=op.f("fk_matches_ehv_case_manager_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["ehv_case_manager_user_id"],
            ["users.id"],
            name=op.f("fk_matches_ehv_case_manager_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["head_client_id"], ["clients.id"], name=op.f("fk_matches_head_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_matches_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["program_enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_matches_program_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_matches_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["queue_entry_id"],
            ["queue_entries.id"],
            name=op.f("fk_matches_queue_entry_id_queue_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_event_id"],
            ["ce_events.id"],
            name=op.f("fk_matches_referral_event_id_ce_events"),
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_user_id"], ["users.id"], name=op.f("fk_matches_sent_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_matches_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matches")),
    )
    op.create_index(
        "ix_matches_active_over_referrals",
        "matches",
        ["project_id"],
        unique=False,
        postgresql_where=sa.text(
            "status IN ('sent', 'accepted', 'ehv_navigation', 'ehv_voucher_issued', 'ehv_rfta_submitted', 'ehv_case_management') AND over_referral"
        ),
    )
    op.create_index("ix_matches_coc_sent", "matches", ["coc_id", "sent_at", "id"], unique=False)
    op.create_index(
        "ix_matches_declined_pair",
        "matches",
        ["project_id", "head_client_id"],
        unique=False,
        postgresql_where=sa.text("status = 'declined'"),
    )
    op.create_index(
        "ix_matches_ehv_cm_organization",
        "matches",
        ["ehv_case_manager_organization_id"],
        unique=False,
        postgresql_where=sa.text("ehv_case_manager_organization_id IS NOT NULL"),
    )
    op.create_index(
        "ix_matches_head_client", "matches", ["head_client_id", "sent_at", "id"], unique=False
    )
    op.create_index(
        "ix_matches_organization_sent",
        "matches",
        ["organization_id", "sent_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_matches_parked_entry",
        "matches",
        ["queue_entry_id", "parked_until"],
        unique=False,
        postgresql_where=sa.text("status = 'parked'"),
    )
    op.create_index(
        "ix_matches_project_sent", "matches", ["project_id", "sent_at", "id"], unique=False
    )
    op.create_index("ix_matches_unit", "matches", ["unit_id", "sent_at", "id"], unique=False)
    op.create_index(
        "uq_matches_one_active_per_entry",
        "matches",
        ["queue_entry_id"],
        unique=True,
        postgresql_where=sa.text(
            "status IN ('sent', 'accepted', 'ehv_navigation', 'ehv_voucher_issued', 'ehv_rfta_submitted', 'ehv_case_management')"
        ),
    )
    op.create_index(
        "uq_matches_one_active_per_unit",
        "matches",
        ["unit_id"],
        unique=True,
        postgresql_where=sa.text(
            "status IN ('sent', 'accepted', 'ehv_navigation', 'ehv_voucher_issued', 'ehv_rfta_submitted', 'ehv_case_management') AND NOT over_referral"
        ),
    )
    op.create_table(
        "match_events",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("match_id", sa.UUID(), nullable=False),
        sa.Column("change", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=30), nullable=True),
        sa.Column("to_status", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("acting_organization_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "from_status IS NULL OR from_status IN ('sent', 'accepted', 'enrolled', 'declined', 'parked', 'rejected', 'no_show', 'canceled', 'ehv_navigation', 'ehv_voucher_issued', 'ehv_rfta_submitted', 'ehv_case_management')",
            name=op.f("ck_match_events_from_valid"),
        ),
        sa.CheckConstraint(
            "to_status IN ('sent', 'accepted', 'enrolled', 'declined', 'parked', 'rejected', 'no_show', 'canceled', 'ehv_navigation', 'ehv_voucher_issued', 'ehv_rfta_submitted', 'ehv_case_management')",
            name=op.f("ck_match_events_to_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["acting_organization_id"],
            ["organizations.id"],
            name=op.f("fk_match_events_acting_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_match_events_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(["coc_id"], ["cocs.id"], name=op.f("fk_match_events_coc_id_cocs")),
        sa.ForeignKeyConstraint(
            ["match_id"], ["matches.id"], name=op.f("fk_match_events_match_id_matches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_events")),
    )
    op.create_index(
        "ix_match_events_match", "match_events", ["match_id", "created_at", "id"], unique=False
    )
    op.create_table(
        "match_stall_responses",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("match_id", sa.UUID(), nullable=False),
        sa.Column("engaging", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("client_last_seen_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("responded_by_user_id", sa.UUID(), nullable=True),
        sa.Column("acting_organization_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "reason <> 'other' OR note IS NOT NULL",
            name=op.f("ck_match_stall_responses_other_has_note"),
        ),
        sa.CheckConstraint(
            "reason IN ('gathering_documents', 'scheduling_intake', 'unit_not_ready', 'waiting_on_client_decision', 'cannot_contact', 'client_disengaged', 'client_incarcerated', 'client_hospitalized', 'other')",
            name=op.f("ck_match_stall_responses_reason_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["acting_organization_id"],
            ["organizations.id"],
            name=op.f("fk_match_stall_responses_acting_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["coc_id"], ["cocs.id"], name=op.f("fk_match_stall_responses_coc_id_cocs")
        ),
        sa.ForeignKeyConstraint(
            ["match_id"], ["matches.id"], name=op.f("fk_match_stall_responses_match_id_matches")
        ),
        sa.ForeignKeyConstraint(
            ["responded_by_user_id"],
            ["users.id"],
            name=op.f("fk_match_stall_responses_responded_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_stall_responses")),
    )
    op.create_index(
        "ix_match_stall_responses_match",
        "match_stall_responses",
        ["match_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "unit_events",
        sa.Column("coc_id", sa.UUID(), nullable=False),
        sa.Column("unit_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=True),
        sa.Column("match_id", sa.UUID(), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("acting_organization_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "from_status IS NULL OR from_status IN ('available', 'occupied', 'reserved', 'offline')",
            name=op.f("ck_unit_events_from_valid"),
        ),
        sa.CheckConstraint(
            "kind IN ('created', 'check_in', 'check_out', 'reserve', 'release', 'take_offline', 'bring_online')",
            name=op.f("ck_unit_events_kind_valid"),
        ),
        sa.CheckConstraint(
            "to_status IN ('available', 'occupied', 'reserved', 'offline')",
            name=op.f("ck_unit_events_to_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["acting_organization_id"],
            ["organizations.id"],
            name=op.f("fk_unit_events_acting_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_unit_events_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_unit_events_client_id_clients")
        ),
        sa.ForeignKeyConstraint(["coc_id"], ["cocs.id"], name=op.f("fk_unit_events_coc_id_cocs")),
        sa.ForeignKeyConstraint(
            ["match_id"], ["matches.id"], name=op.f("fk_unit_events_match_id_matches")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_events_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_events")),
    )
    op.create_index(
        "ix_unit_events_unit", "unit_events", ["unit_id", "created_at", "id"], unique=False
    )

    op.execute(
        """
        CREATE FUNCTION matching_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END $$;
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION matching_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION matching_append_only()"
        )
    op.drop_constraint(
        op.f("ck_queue_entries_referral_status_valid"), "queue_entries", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_queue_entries_referral_status_valid"),
        "queue_entries",
        f"referral_status IN {REFERRAL_STATUSES}",
    )
    op.drop_constraint(op.f("ck_queue_entries_closed_reason_valid"), "queue_entries", type_="check")
    op.create_check_constraint(
        op.f("ck_queue_entries_closed_reason_valid"),
        "queue_entries",
        f"closed_reason IS NULL OR closed_reason IN {CLOSE_REASONS}",
    )
    # A park's end date, next to the status (the queue derives an ended park from the two).
    op.add_column("queue_entries", sa.Column("parked_until", sa.Date(), nullable=True))
    op.create_check_constraint(
        op.f("ck_queue_entries_parked_until_only_when_parked"),
        "queue_entries",
        "parked_until IS NULL OR referral_status = 'parked'",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_queue_entries_parked_until_only_when_parked"), "queue_entries", type_="check"
    )
    op.drop_column("queue_entries", "parked_until")
    op.drop_constraint(op.f("ck_queue_entries_closed_reason_valid"), "queue_entries", type_="check")
    op.create_check_constraint(
        op.f("ck_queue_entries_closed_reason_valid"),
        "queue_entries",
        f"closed_reason IS NULL OR closed_reason IN {OLD_CLOSE_REASONS}",
    )
    op.drop_constraint(
        op.f("ck_queue_entries_referral_status_valid"), "queue_entries", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_queue_entries_referral_status_valid"),
        "queue_entries",
        "referral_status IN ('none')",
    )
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS matching_append_only()")
    op.drop_index("ix_unit_events_unit", table_name="unit_events")
    op.drop_table("unit_events")
    op.drop_index("ix_match_stall_responses_match", table_name="match_stall_responses")
    op.drop_table("match_stall_responses")
    op.drop_index("ix_match_events_match", table_name="match_events")
    op.drop_table("match_events")
    op.drop_index(
        "uq_matches_one_active_per_unit",
        table_name="matches",
        postgresql_where=sa.text(
            "status IN ('sent', 'accepted', 'ehv_navigation', 'ehv_voucher_issued', 'ehv_rfta_submitted', 'ehv_case_management') AND NOT over_referral"
        ),
    )
    op.drop_index(
        "uq_matches_one_active_per_entry",
        table_name="matches",
        postgresql_where=sa.text(
            "status IN ('sent', 'accepted', 'ehv_navigation', 'ehv_voucher_issued', 'ehv_rfta_submitted', 'ehv_case_management')"
        ),
    )
    op.drop_index("ix_matches_unit", table_name="matches")
    op.drop_index("ix_matches_project_sent", table_name="matches")
    op.drop_index(
        "ix_matches_parked_entry",
        table_name="matches",
        postgresql_where=sa.text("status = 'parked'"),
    )
    op.drop_index("ix_matches_organization_sent", table_name="matches")
    op.drop_index("ix_matches_head_client", table_name="matches")
    op.drop_index(
        "ix_matches_ehv_cm_organization",
        table_name="matches",
        postgresql_where=sa.text("ehv_case_manager_organization_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_matches_declined_pair",
        table_name="matches",
        postgresql_where=sa.text("status = 'declined'"),
    )
    op.drop_index("ix_matches_coc_sent", table_name="matches")
    op.drop_index(
        "ix_matches_active_over_referrals",
        table_name="matches",
        postgresql_where=sa.text(
            "status IN ('sent', 'accepted', 'ehv_navigation', 'ehv_voucher_issued', 'ehv_rfta_submitted', 'ehv_case_management') AND over_referral"
        ),
    )
    op.drop_table("matches")
    op.drop_index("uq_units_project_label", table_name="units")
    op.drop_index("ix_units_coc_status", table_name="units")
    op.drop_table("units")
    op.drop_index("ix_project_requirements_project", table_name="project_requirements")
    op.drop_table("project_requirements")
    op.drop_table("project_matching_profiles")
    op.drop_table("matching_policies")
