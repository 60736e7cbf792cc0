"""Housing inventory (units and their events), the matching profile and eligibility
requirements of a project, the CoC's response policy, matches (referrals), their timeline and
stall responses (DOMAIN 8 and 9).

Rules the database holds: a unit has at most one active match unless the match is an explicit
over-referral (``uq_matches_one_active_per_unit``); a queue entry is in at most one active match
(``uq_matches_one_active_per_entry``); unit events, the match timeline and stall responses are
append-only (a trigger refuses UPDATE, DELETE and TRUNCATE).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CocScoped, Timestamps, UUIDPk, Versioned
from app.reference import FUNDING_SOURCE_CODES
from app.reference.matching import (
    ACTIVE_SQL,
    DEFAULT_STALL_AFTER_DAYS,
    DEFAULT_WARN_DAYS_BEFORE,
    CancelReason,
    DeclineReason,
    MatchStatus,
    OfflineReason,
    ParkReason,
    Polarity,
    RequirementKind,
    StallReason,
    UnitEventKind,
    UnitStatus,
    sql_in,
)

_FUNDING = "ARRAY[" + ", ".join(str(c) for c in sorted(FUNDING_SOURCE_CODES)) + "]::smallint[]"
_MATCH_STATUSES = sql_in("status", MatchStatus)


class MatchingPolicy(Timestamps, CocScoped, Base):
    """A CoC's referral response policy: a match not answered within ``stall_after_days`` is
    stalled, and about to stall ``warn_days_before`` days earlier. A CoC without a row uses the
    defaults (10 and 2)."""

    __tablename__ = "matching_policies"
    __table_args__ = (
        CheckConstraint("stall_after_days BETWEEN 1 AND 365", name="stall_after_days_range"),
        CheckConstraint(
            "warn_days_before >= 0 AND warn_days_before < stall_after_days",
            name="warn_before_stall",
        ),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), primary_key=True)
    stall_after_days: Mapped[int] = mapped_column(
        SmallInteger, nullable=False, default=DEFAULT_STALL_AFTER_DAYS
    )
    warn_days_before: Mapped[int] = mapped_column(
        SmallInteger, nullable=False, default=DEFAULT_WARN_DAYS_BEFORE
    )
    updated_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class ProjectMatchingProfile(Timestamps, CocScoped, Base):
    """A housing project's funding sources (2.06.1, several) and its own response policy
    (``stall_after_days`` overrides the CoC's). ``projects.referrals_through_cas`` stays on the
    project. A project without a row has no extra funding sources and the CoC's policy."""

    __tablename__ = "project_matching_profiles"
    __table_args__ = (
        CheckConstraint(f"funding_sources <@ {_FUNDING}", name="funding_sources_valid"),
        CheckConstraint(
            "stall_after_days IS NULL OR stall_after_days BETWEEN 1 AND 365",
            name="stall_after_days_range",
        ),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    funding_sources: Mapped[list[int]] = mapped_column(
        ARRAY(SmallInteger), nullable=False, default=list, server_default=text("'{}'")
    )
    stall_after_days: Mapped[int | None] = mapped_column(SmallInteger)
    updated_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class ProjectRequirement(UUIDPk, CocScoped, Base):
    """One eligibility requirement of a project: ``kind`` must (or must not) hold."""

    __tablename__ = "project_requirements"
    __table_args__ = (
        CheckConstraint(sql_in("kind", RequirementKind), name="kind_valid"),
        CheckConstraint(sql_in("polarity", Polarity), name="polarity_valid"),
        CheckConstraint("(kind = 'area_tie') = (area IS NOT NULL)", name="area_for_area_tie"),
        CheckConstraint(
            "kind IN ('household_size', 'income_ceiling') OR "
            "(min_value IS NULL AND max_value IS NULL)",
            name="values_only_for_ranges",
        ),
        CheckConstraint(
            "kind <> 'income_ceiling' OR max_value IS NOT NULL", name="ceiling_has_max"
        ),
        CheckConstraint(
            "kind <> 'household_size' OR min_value IS NOT NULL OR max_value IS NOT NULL",
            name="size_has_bound",
        ),
        CheckConstraint(
            "min_value IS NULL OR max_value IS NULL OR min_value <= max_value",
            name="range_ordered",
        ),
        Index("ix_project_requirements_project", "project_id", "position"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), nullable=False)
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    polarity: Mapped[str] = mapped_column(String(10), nullable=False)
    area: Mapped[str | None] = mapped_column(String(50))
    min_value: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    max_value: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"), nullable=False)


class Unit(UUIDPk, Timestamps, Versioned, CocScoped, Base):
    """A unit (vacancy) of a housing project. ``status`` follows the unit's events."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint(sql_in("status", UnitStatus), name="status_valid"),
        CheckConstraint("bedrooms BETWEEN 0 AND 20", name="bedrooms_range"),
        CheckConstraint("length(label) > 0", name="label_given"),
        CheckConstraint(
            "(status = 'offline') = (offline_reason IS NOT NULL)", name="offline_has_reason"
        ),
        CheckConstraint(
            "offline_reason IS NULL OR " + sql_in("offline_reason", OfflineReason),
            name="offline_reason_valid",
        ),
        CheckConstraint(
            "status = 'occupied' OR occupant_client_id IS NULL", name="occupant_only_occupied"
        ),
        Index("uq_units_project_label", "project_id", "label", unique=True),
        Index("ix_units_coc_status", "coc_id", "status"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), nullable=False)
    label: Mapped[str] = mapped_column(String(100), nullable=False)
    bedrooms: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    status: Mapped[str] = mapped_column(
        String(20), nullable=False, default=UnitStatus.AVAILABLE.value
    )
    offline_reason: Mapped[str | None] = mapped_column(String(30))
    # Who is checked in (a client in this CoC's records), when occupied.
    occupant_client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"))
    status_changed_at: Mapped[datetime] = mapped_column(
        server_default=text("now()"), nullable=False
    )


class UnitEvent(UUIDPk, CocScoped, Base):
    """One event of a unit (append-only): what happened, the status before and after."""

    __tablename__ = "unit_events"
    __table_args__ = (
        CheckConstraint(sql_in("kind", UnitEventKind), name="kind_valid"),
        CheckConstraint(
            "from_status IS NULL OR " + sql_in("from_status", UnitStatus), name="from_valid"
        ),
        CheckConstraint(sql_in("to_status", UnitStatus), name="to_valid"),
        Index("ix_unit_events_unit", "unit_id", "created_at", "id"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20), nullable=False)
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"))
    match_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("matches.id"))
    reason: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acting_organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(
        server_default=text("clock_timestamp()"), nullable=False
    )


class Match(UUIDPk, Timestamps, Versioned, CocScoped, Base):
    """A referral of a queue entry's household to a unit of a housing project."""

    __tablename__ = "matches"
    __table_args__ = (
        CheckConstraint(_MATCH_STATUSES, name="status_valid"),
        CheckConstraint(
            "decline_reason IS NULL OR " + sql_in("decline_reason", DeclineReason),
            name="decline_reason_valid",
        ),
        CheckConstraint(
            "park_reason IS NULL OR " + sql_in("park_reason", ParkReason),
            name="park_reason_valid",
        ),
        CheckConstraint(
            "cancel_reason IS NULL OR " + sql_in("cancel_reason", CancelReason),
            name="cancel_reason_valid",
        ),
        CheckConstraint(
            "status <> 'declined' OR decline_reason IS NOT NULL", name="declined_has_reason"
        ),
        CheckConstraint("status <> 'parked' OR park_reason IS NOT NULL", name="parked_has_reason"),
        CheckConstraint(
            "status <> 'canceled' OR cancel_reason IS NOT NULL", name="canceled_has_reason"
        ),
        CheckConstraint(
            "decline_reason IS DISTINCT FROM 'other' OR decline_explanation IS NOT NULL",
            name="decline_other_explained",
        ),
        CheckConstraint(
            "park_reason IS DISTINCT FROM 'other' OR park_explanation IS NOT NULL",
            name="park_other_explained",
        ),
        CheckConstraint(
            "referral_result IS NULL OR referral_result IN (1, 2, 3)",
            name="referral_result_valid",
        ),
        CheckConstraint(
            "(referral_result IS NULL) = (result_date IS NULL)", name="result_date_with_result"
        ),
        # One active match per unit, unless the admin over-refers (explicit flag).
        Index(
            "uq_matches_one_active_per_unit",
            "unit_id",
            unique=True,
            postgresql_where=text(f"{ACTIVE_SQL} AND NOT over_referral"),
        ),
        # A queue entry is in at most one active match.
        Index(
            "uq_matches_one_active_per_entry",
            "queue_entry_id",
            unique=True,
            postgresql_where=text(ACTIVE_SQL),
        ),
        Index(
            "ix_matches_parked_entry",
            "queue_entry_id",
            "parked_until",
            postgresql_where=text("status = 'parked'"),
        ),
        Index(
            "ix_matches_declined_pair",
            "project_id",
            "head_client_id",
            postgresql_where=text("status = 'declined'"),
        ),
        Index(
            "ix_matches_active_over_referrals",
            "project_id",
            postgresql_where=text(f"{ACTIVE_SQL} AND over_referral"),
        ),
        Index("ix_matches_coc_sent", "coc_id", "sent_at", "id"),
        Index("ix_matches_organization_sent", "organization_id", "sent_at", "id"),
        Index("ix_matches_project_sent", "project_id", "sent_at", "id"),
        Index("ix_matches_head_client", "head_client_id", "sent_at", "id"),
        Index("ix_matches_unit", "unit_id", "sent_at", "id"),
        Index(
            "ix_matches_ehv_cm_organization",
            "ehv_case_manager_organization_id",
            postgresql_where=text("ehv_case_manager_organization_id IS NOT NULL"),
        ),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), nullable=False)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), nullable=False)
    # The provider: the project's organization when the match was sent.
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    queue_entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("queue_entries.id"), nullable=False
    )
    head_client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    ce_enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id"), nullable=False
    )
    is_ehv: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(30), nullable=False)
    over_referral: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(nullable=False)
    sent_on: Mapped[date] = mapped_column(Date, nullable=False)
    sent_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # The stall clock: when the match was sent, or the latest stall response.
    clock_started_at: Mapped[datetime] = mapped_column(nullable=False)
    responded_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    # HUD 4.20 referral event recorded on the CE enrollment, and its result (4.20.D / E).
    referral_event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ce_events.id"))
    referral_result: Mapped[int | None] = mapped_column(SmallInteger)
    result_date: Mapped[date | None] = mapped_column(Date)
    provider_result: Mapped[str | None] = mapped_column(String(20))
    # The program enrollment started on acceptance (the provider's intake).
    program_enrollment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("enrollments.id"))
    decline_reason: Mapped[str | None] = mapped_column(String(40))
    decline_explanation: Mapped[str | None] = mapped_column(Text)
    park_reason: Mapped[str | None] = mapped_column(String(40))
    park_explanation: Mapped[str | None] = mapped_column(Text)
    parked_until: Mapped[date | None] = mapped_column(Date)
    cancel_reason: Mapped[str | None] = mapped_column(String(40))
    cancel_explanation: Mapped[str | None] = mapped_column(Text)
    # EHV route.
    voucher_issued_on: Mapped[date | None] = mapped_column(Date)
    rfta_submitted_on: Mapped[date | None] = mapped_column(Date)
    ehv_case_manager_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id")
    )
    ehv_case_manager_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # Success flags the CE enrollment for exit into the program (HUD 3.12 / 3.12.A).
    ce_exit_flagged_at: Mapped[datetime | None] = mapped_column()
    ce_exit_destination: Mapped[int | None] = mapped_column(SmallInteger)
    ce_exit_subsidy_type: Mapped[int | None] = mapped_column(SmallInteger)


class MatchEvent(UUIDPk, CocScoped, Base):
    """The match timeline (append-only): one row per change, with who, the acting
    organization, the statuses, a note and the change's codes (``data``)."""

    __tablename__ = "match_events"
    __table_args__ = (
        CheckConstraint(
            "from_status IS NULL OR " + sql_in("from_status", MatchStatus), name="from_valid"
        ),
        CheckConstraint(sql_in("to_status", MatchStatus), name="to_valid"),
        Index("ix_match_events_match", "match_id", "created_at", "id"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    match_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("matches.id"), nullable=False)
    change: Mapped[str] = mapped_column(String(40), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, default=dict, server_default=text("'{}'::jsonb")
    )
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acting_organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(
        server_default=text("clock_timestamp()"), nullable=False
    )


class MatchStallResponse(UUIDPk, CocScoped, Base):
    """A program manager's response to a stalled (or about to stall) match (append-only)."""

    __tablename__ = "match_stall_responses"
    __table_args__ = (
        CheckConstraint(sql_in("reason", StallReason), name="reason_valid"),
        CheckConstraint("reason <> 'other' OR note IS NOT NULL", name="other_has_note"),
        Index("ix_match_stall_responses_match", "match_id", "created_at", "id"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    match_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("matches.id"), nullable=False)
    engaging: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reason: Mapped[str] = mapped_column(String(40), nullable=False)
    client_last_seen_on: Mapped[date] = mapped_column(Date, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    responded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acting_organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(
        server_default=text("clock_timestamp()"), nullable=False
    )
