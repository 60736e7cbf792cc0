"""Enrollments (HUD Enrollment.csv), their workflow assessments, case assignments and exits.

As in HUD's CSV there is one ``Enrollment`` row per household member; the members of one
household's stay share ``household_group_id`` (HUD HouseholdID), which is the id of the head of
household's enrollment. ``household_id`` points at the family household (``households``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CocScoped, Timestamps, UUIDPk, Versioned, coc_scope
from app.reference import RELATIONSHIP_TO_HOH, YES_NO, YES_NO_REASONS, in_list_sql, sql_list
from app.reference.ce import EXIT_REASONS, STAGES, Outcome
from app.reference.living_situations import (
    DESTINATIONS,
    LENGTH_OF_STAY,
    MONTHS_HOMELESS,
    PRIOR_LIVING_SITUATIONS,
    SUBSIDY_TYPES,
    TIMES_HOMELESS,
)

_YES_NO_REASONS = sql_list(YES_NO_REASONS)
_YES_NO = sql_list(YES_NO)
_OUTCOMES = "('" + "', '".join(Outcome) + "')"


def _nullable_in(column: str, values: frozenset[int]) -> str:
    return f"{column} IS NULL OR {in_list_sql(column, values)}"


class Enrollment(UUIDPk, Timestamps, Versioned, CocScoped, Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        # At most one open Coordinated Entry enrollment per client (a voided one does not count).
        Index(
            "uq_enrollments_one_open_ce_per_client",
            "client_id",
            unique=True,
            postgresql_where=text(
                "is_coordinated_entry AND exit_date IS NULL AND voided_at IS NULL"
            ),
        ),
        Index("ix_enrollments_client_id", "client_id", "entry_date", "id"),
        Index("ix_enrollments_household_group_id", "household_group_id"),
        Index("ix_enrollments_project_id", "project_id", "entry_date"),
        CheckConstraint(
            in_list_sql("relationship_to_hoh", RELATIONSHIP_TO_HOH),
            name="relationship_to_hoh_valid",
        ),
        CheckConstraint("enrollment_coc ~ '^[A-Z]{2}-[0-9]{3}$'", name="enrollment_coc_format"),
        CheckConstraint(f"disabling_condition IN {_YES_NO_REASONS}", name="disabling_valid"),
        CheckConstraint(
            _nullable_in("living_situation", PRIOR_LIVING_SITUATIONS), name="living_situation_valid"
        ),
        CheckConstraint(
            "(living_situation = 435) = (rental_subsidy_type IS NOT NULL) OR "
            "(living_situation IS NULL AND rental_subsidy_type IS NULL)",
            name="rental_subsidy_only_for_435",
        ),
        CheckConstraint(
            _nullable_in("rental_subsidy_type", SUBSIDY_TYPES), name="rental_subsidy_valid"
        ),
        CheckConstraint(_nullable_in("length_of_stay", LENGTH_OF_STAY), name="los_valid"),
        # HUD 3.917 skip logic (the service names the field; these keep the rows honest).
        CheckConstraint(
            "living_situation IS NULL OR living_situation NOT BETWEEN 100 AND 199 OR "
            "(los_under_threshold IS NULL AND previous_street_essh IS NULL)",
            name="homeless_prior_has_no_break_questions",
        ),
        CheckConstraint(
            "previous_street_essh IS NULL OR los_under_threshold = 1",
            name="previous_street_essh_only_under_threshold",
        ),
        CheckConstraint(
            "(date_to_street_essh IS NULL AND times_homeless_past_three_years IS NULL AND "
            "months_homeless_past_three_years IS NULL) OR "
            "living_situation BETWEEN 100 AND 199 OR previous_street_essh = 1",
            name="homeless_history_only_when_asked",
        ),
        CheckConstraint(
            "date_to_street_essh IS NULL OR date_to_street_essh <= entry_date",
            name="date_to_street_essh_not_after_entry",
        ),
        CheckConstraint(
            f"los_under_threshold IS NULL OR los_under_threshold IN {_YES_NO}",
            name="los_under_threshold_valid",
        ),
        CheckConstraint(
            f"previous_street_essh IS NULL OR previous_street_essh IN {_YES_NO}",
            name="previous_street_essh_valid",
        ),
        CheckConstraint(
            _nullable_in("times_homeless_past_three_years", TIMES_HOMELESS),
            name="times_homeless_valid",
        ),
        CheckConstraint(
            _nullable_in("months_homeless_past_three_years", MONTHS_HOMELESS),
            name="months_homeless_valid",
        ),
        CheckConstraint(
            f"translation_needed IS NULL OR translation_needed IN {_YES_NO_REASONS}",
            name="translation_needed_valid",
        ),
        CheckConstraint(
            "preferred_language_different IS NULL OR preferred_language = 21",
            name="preferred_language_different_only_for_21",
        ),
        CheckConstraint(f"outcome IN {_OUTCOMES}", name="outcome_valid"),
        CheckConstraint("exit_date IS NULL OR exit_date >= entry_date", name="exit_after_entry"),
        CheckConstraint(
            "move_in_date IS NULL OR move_in_date >= entry_date", name="move_in_after_entry"
        ),
        # A void (an intake recorded in error) always has its reason and who voided it.
        CheckConstraint(
            "(voided_at IS NULL) = (void_reason IS NULL) AND "
            "(voided_at IS NULL) = (voided_by_user_id IS NULL)",
            name="void_has_reason",
        ),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), nullable=False)
    is_coordinated_entry: Mapped[bool] = mapped_column(Boolean, nullable=False)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id"), nullable=False)
    # HUD HouseholdID: the head of household's enrollment id, shared by the members' rows.
    household_group_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    relationship_to_hoh: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    entry_date: Mapped[date] = mapped_column(Date, nullable=False)
    enrollment_coc: Mapped[str] = mapped_column(String(6), nullable=False)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_by_organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )

    # 3.08 Disabling Condition
    disabling_condition: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=99)
    # 3.917 Prior Living Situation
    living_situation: Mapped[int | None] = mapped_column(SmallInteger)
    rental_subsidy_type: Mapped[int | None] = mapped_column(SmallInteger)
    length_of_stay: Mapped[int | None] = mapped_column(SmallInteger)
    los_under_threshold: Mapped[int | None] = mapped_column(SmallInteger)
    previous_street_essh: Mapped[int | None] = mapped_column(SmallInteger)
    date_to_street_essh: Mapped[date | None] = mapped_column(Date)
    times_homeless_past_three_years: Mapped[int | None] = mapped_column(SmallInteger)
    months_homeless_past_three_years: Mapped[int | None] = mapped_column(SmallInteger)
    # C4 Translation assistance
    translation_needed: Mapped[int | None] = mapped_column(SmallInteger)
    preferred_language: Mapped[int | None] = mapped_column(SmallInteger)
    preferred_language_different: Mapped[str | None] = mapped_column(String(100))
    # 3.20 Housing move-in date
    move_in_date: Mapped[date | None] = mapped_column(Date)

    # CE outcome of the intake / update assessments (pending, diverted, placed).
    outcome: Mapped[str] = mapped_column(String(20), nullable=False, default=Outcome.PENDING.value)

    # 3.11 Exit date, copied from the exit row so the open-enrollment index can use it.
    exit_date: Mapped[date | None] = mapped_column(Date)

    # Voided: recorded in error (a CAS or system admin, with a reason). A voided enrollment is
    # left out of every list, the queue and exports, and stays in the audit trail; the void can
    # be undone within 30 days. Lists and exports filter on ``voided_at IS NULL``.
    voided_at: Mapped[datetime | None] = mapped_column()
    voided_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(String(500))


class EnrollmentAssessment(UUIDPk, Timestamps, CocScoped, Base):
    """One pass through the CAS workflow: the intake (stage 1), an update (2), annual (5) or
    exit (3). Records collected in that pass point at it, so editing the entry keeps them in
    step."""

    __tablename__ = "enrollment_assessments"
    coc_id: Mapped[uuid.UUID] = coc_scope()
    __table_args__ = (
        CheckConstraint(in_list_sql("data_collection_stage", STAGES), name="stage_valid"),
        CheckConstraint(f"outcome IS NULL OR outcome IN {_OUTCOMES}", name="outcome_valid"),
        Index("ix_enrollment_assessments_enrollment_id", "enrollment_id", "assessment_date", "id"),
    )

    enrollment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrollments.id"), nullable=False)
    data_collection_stage: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    assessment_date: Mapped[date] = mapped_column(Date, nullable=False)
    ready_for_outcome: Mapped[bool | None] = mapped_column(Boolean)
    outcome_before: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(20))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_by_organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )


class CaseAssignment(UUIDPk, Timestamps, Versioned, CocScoped, Base):
    __tablename__ = "case_assignments"
    coc_id: Mapped[uuid.UUID] = coc_scope()
    __table_args__ = (
        CheckConstraint("status IN ('active', 'inactive')", name="status_valid"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_ordered"),
        Index("ix_case_assignments_enrollment_id", "enrollment_id", "start_date", "id"),
        Index("ix_case_assignments_client_id", "client_id", "status"),
        Index("ix_case_assignments_user_id", "user_id", "status"),
        # A case manager sees the clients of their active assignments (``clients.access``).
        Index(
            "ix_case_assignments_active_user_client",
            "client_id",
            "user_id",
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "uq_case_assignments_one_active_per_user",
            "enrollment_id",
            "user_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )

    enrollment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrollments.id"), nullable=False)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="active")
    assigned_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class Exit(UUIDPk, Timestamps, CocScoped, Base):
    """HUD Exit.csv (3.11, 3.12) plus the CAS exit reason."""

    __tablename__ = "exits"
    coc_id: Mapped[uuid.UUID] = coc_scope()
    __table_args__ = (
        Index("uq_exits_enrollment_id", "enrollment_id", unique=True),
        Index("ix_exits_client_id", "client_id"),
        CheckConstraint(in_list_sql("destination", DESTINATIONS), name="destination_valid"),
        CheckConstraint(
            "(destination = 435) = (destination_subsidy_type IS NOT NULL)",
            name="subsidy_only_for_435",
        ),
        CheckConstraint(
            _nullable_in("destination_subsidy_type", SUBSIDY_TYPES), name="subsidy_valid"
        ),
        CheckConstraint(
            "other_destination IS NULL OR destination = 17", name="other_destination_only_17"
        ),
        # 3.12.B "Other, specify" is required for destination 17.
        CheckConstraint(
            "destination <> 17 OR other_destination IS NOT NULL", name="other_destination_for_17"
        ),
        CheckConstraint(
            "exit_reason IN ('" + "', '".join(EXIT_REASONS) + "')", name="exit_reason_valid"
        ),
    )

    enrollment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrollments.id"), nullable=False)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    exit_date: Mapped[date] = mapped_column(Date, nullable=False)
    destination: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    destination_subsidy_type: Mapped[int | None] = mapped_column(SmallInteger)
    other_destination: Mapped[str | None] = mapped_column(String(50))
    exit_reason: Mapped[str] = mapped_column(String(40), nullable=False)
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("enrollment_assessments.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_by_organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    exited_at: Mapped[datetime] = mapped_column(server_default=text("now()"), nullable=False)
