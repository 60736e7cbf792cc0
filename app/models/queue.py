"""The CAS queue (housing prioritization list): one open entry per household placed on it.

Entries are created ``pending`` by the CE intake / update assessment that places the household,
and closed when the household exits Coordinated Entry (or its intake is voided). Their intake
status moves along ``app.services.queue.intake_status.INTAKE_STATUS``; each move is a row of
``queue_transitions``, each score a row of ``queue_scores`` (both append-only).

Prioritization (DOMAIN 7): each entry carries the household facts the CoC's scheme orders by
(``chronic_*``, ``days_homeless_3y``, ``veteran``, ...; maintained by
``app.services.queue.facts``: database triggers mark an entry ``facts_stale`` when the data
behind them changes) and ``priority_key``, the scheme's keys in order as integers ending with
the entry's stable random ``tie_breaker``. A database trigger computes ``priority_key`` from
the row and its CoC's ``queue_settings.scheme`` on every insert and on every update of an
input, so whoever writes a score or a fact, the key follows; changing the scheme rewrites the
keys in one statement. Rank is the position by ``(priority_key, id)`` among the CoC's open
entries.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CocScoped, Timestamps, UUIDPk, Versioned
from app.reference.documents import CHECKLIST
from app.reference.queue import (
    CLOSE_REASONS,
    DEFAULT_SCORE_MAX,
    DEFAULT_SCORE_MIN,
    DEFAULT_SCORE_TOOL,
    HouseholdType,
    IntakeStatus,
    ReferralStatus,
)

_STATUSES = "('" + "', '".join(IntakeStatus) + "')"
_OPEN = text("closed_at IS NULL")
_ITEMS = "ARRAY[" + ", ".join(f"'{i}'" for items in CHECKLIST.values() for i in items) + "]"
# The default scheme (app.reference.queue.DEFAULT_SCHEME), as stored.
DEFAULT_SCHEME_SQL = (
    """'[{"key": "chronic", "direction": "desc"}, {"key": "score", "direction": "desc"}, """
    """{"key": "days_homeless_3y", "direction": "desc"}, """
    """{"key": "days_on_queue", "direction": "desc"}]'::jsonb"""
)


def _in(column: str, values: Any) -> str:
    return f"{column} IN ('" + "', '".join(values) + "')"


class QueueSettings(Timestamps, CocScoped, Base):
    """A CoC's queue settings: the assessment tool and its score range, and the prioritization
    scheme (ordered ``{"key", "direction"}``; the tie-breaker is always last). Every CoC has a
    row (migration 0014 made them; a trigger adds one for each new CoC)."""

    __tablename__ = "queue_settings"
    __table_args__ = (
        CheckConstraint("score_min < score_max", name="score_range_ordered"),
        CheckConstraint("score_min >= 0", name="score_min_not_negative"),
        CheckConstraint("jsonb_typeof(scheme) = 'array'", name="scheme_is_list"),
        CheckConstraint("length(score_tool) > 0", name="score_tool_named"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), primary_key=True)
    score_tool: Mapped[str] = mapped_column(
        String(50), nullable=False, default=DEFAULT_SCORE_TOOL, server_default=DEFAULT_SCORE_TOOL
    )
    score_min: Mapped[int] = mapped_column(
        Integer, nullable=False, default=DEFAULT_SCORE_MIN, server_default=str(DEFAULT_SCORE_MIN)
    )
    score_max: Mapped[int] = mapped_column(
        Integer, nullable=False, default=DEFAULT_SCORE_MAX, server_default=str(DEFAULT_SCORE_MAX)
    )
    scheme: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, nullable=False, server_default=text(DEFAULT_SCHEME_SQL)
    )
    updated_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # Optimistic concurrency (If-Match); a server default so the trigger's rows start at 1.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class QueueEntry(UUIDPk, Timestamps, Versioned, CocScoped, Base):
    __tablename__ = "queue_entries"
    __table_args__ = (
        CheckConstraint("intake_status IN " + _STATUSES, name="intake_status_valid"),
        CheckConstraint(
            "(closed_at IS NULL) = (closed_reason IS NULL)", name="closed_reason_when_closed"
        ),
        CheckConstraint(
            "closed_reason IS NULL OR " + _in("closed_reason", CLOSE_REASONS),
            name="closed_reason_valid",
        ),
        CheckConstraint("score IS NULL OR score >= 0", name="score_not_negative"),
        CheckConstraint(
            "(score IS NULL) = (score_recorded_at IS NULL)", name="score_recorded_when_scored"
        ),
        CheckConstraint(_in("household_type", HouseholdType), name="household_type_valid"),
        CheckConstraint("household_size >= 1", name="household_size_positive"),
        CheckConstraint("days_homeless_3y >= 0", name="days_homeless_3y_not_negative"),
        CheckConstraint(_in("referral_status", ReferralStatus), name="referral_status_valid"),
        CheckConstraint(
            "parked_until IS NULL OR referral_status = 'parked'",
            name="parked_until_only_when_parked",
        ),
        CheckConstraint(f"documents_on_file <@ {_ITEMS}::varchar[]", name="documents_valid"),
        # One open queue entry per household.
        Index(
            "uq_queue_entries_one_open_per_household",
            "household_id",
            unique=True,
            postgresql_where=_OPEN,
        ),
        Index("ix_queue_entries_coc_open", "coc_id", "placed_on", "id"),
        Index("ix_queue_entries_head_enrollment_id", "head_enrollment_id"),
        Index("ix_queue_entries_head_client_id", "head_client_id"),
        # Rank order (and counting the entries ahead of one), by status, and each sort of the
        # list with rank order within it; open entries only.
        Index("ix_queue_entries_rank", "coc_id", "priority_key", "id", postgresql_where=_OPEN),
        Index(
            "ix_queue_entries_status_rank",
            "coc_id",
            "intake_status",
            "priority_key",
            "id",
            postgresql_where=_OPEN,
        ),
        Index(
            "ix_queue_entries_client_order",
            "coc_id",
            "head_client_id",
            "id",
            postgresql_where=_OPEN,
        ),
        Index(
            "ix_queue_entries_score_rank",
            "coc_id",
            "score_sort",
            "priority_key",
            "id",
            postgresql_where=_OPEN,
        ),
        Index(
            "ix_queue_entries_household_type_rank",
            "coc_id",
            "household_type",
            "priority_key",
            "id",
            postgresql_where=_OPEN,
        ),
        Index(
            "ix_queue_entries_household_size_rank",
            "coc_id",
            "household_size",
            "priority_key",
            "id",
            postgresql_where=_OPEN,
        ),
        Index(
            "ix_queue_entries_referral_rank",
            "coc_id",
            "referral_status",
            "priority_key",
            "id",
            postgresql_where=_OPEN,
        ),
        # What the facts refresh has to do.
        Index(
            "ix_queue_entries_facts_stale",
            "coc_id",
            postgresql_where=text("facts_stale AND closed_at IS NULL"),
        ),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("households.id"), nullable=False)
    head_client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    head_enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("enrollments.id"), nullable=False
    )
    intake_status: Mapped[str] = mapped_column(
        String(30), nullable=False, default=IntakeStatus.PENDING.value
    )
    placed_on: Mapped[date] = mapped_column(Date, nullable=False)
    placed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_reason: Mapped[str | None] = mapped_column(String(30))

    # The community's assessment score (the latest of queue_scores; a re-encounter's new entry
    # starts from the last one), and the tool it was scored with.
    score: Mapped[int | None] = mapped_column(Integer)
    score_recorded_at: Mapped[datetime | None] = mapped_column()
    # ``score`` with no score as -1: what the list's score order and its cursor use.
    score_sort: Mapped[int] = mapped_column(
        Integer, Computed("COALESCE(score, -1)", persisted=True), nullable=False
    )
    # Written by matching on every change of a match (``app.services.queue.referral`` reads
    # them): the status, and for a park its end date (blank: indefinite). The park ends by the
    # calendar: on ``parked_until`` the entry reads ``none`` again without a write.
    referral_status: Mapped[str] = mapped_column(
        String(20), nullable=False, default=ReferralStatus.NONE.value, server_default="none"
    )
    parked_until: Mapped[date | None] = mapped_column(Date)

    # Stable random tie-breaker, assigned once when the entry is made.
    tie_breaker: Mapped[int] = mapped_column(
        Integer,
        nullable=False,
        server_default=text("(floor((random() * (2147483647)::double precision)))::integer"),
    )
    # The scheme's keys as integers (lower first), then the tie-breaker: set by a trigger.
    priority_key: Mapped[list[int]] = mapped_column(
        ARRAY(Integer),
        nullable=False,
        server_default=FetchedValue(),
        server_onupdate=FetchedValue(),
    )

    # The household facts the scheme and the filters read (app.services.queue.facts): the
    # head of household or any adult of the household on the entry.
    chronic_recorded: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    chronic_documented: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    days_homeless_3y: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    veteran: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    family_with_children: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    youth: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    household_size: Mapped[int] = mapped_column(
        SmallInteger, nullable=False, default=1, server_default="1"
    )
    household_type: Mapped[str] = mapped_column(
        String(30),
        nullable=False,
        default=HouseholdType.UNKNOWN.value,
        server_default=HouseholdType.UNKNOWN.value,
    )
    # The Document Check items (current, not deleted) on file for the head and adults.
    documents_on_file: Mapped[list[str]] = mapped_column(
        ARRAY(String(30)), nullable=False, default=list, server_default=text("'{}'")
    )
    # The household's latest contact (clients.last_contact_at of its members): "inactive".
    last_activity_at: Mapped[datetime | None] = mapped_column()
    # When the facts were computed, and whether data behind them changed since (a trigger on
    # the tables they are read from sets it; the refresh clears it).
    facts_as_of: Mapped[datetime | None] = mapped_column()
    facts_stale: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=True, server_default=text("true")
    )


class QueueTransition(UUIDPk, CocScoped, Base):
    """One move of an entry's intake status, with who made it and why (append-only: a trigger
    refuses UPDATE and DELETE)."""

    __tablename__ = "queue_transitions"
    __table_args__ = (
        CheckConstraint(
            "from_status IS NULL OR from_status IN " + _STATUSES, name="from_status_valid"
        ),
        CheckConstraint("to_status IN " + _STATUSES, name="to_status_valid"),
        CheckConstraint(
            "jsonb_typeof(incomplete_reasons) = 'array'", name="incomplete_reasons_is_list"
        ),
        Index("ix_queue_transitions_entry", "queue_entry_id", "created_at", "id"),
        Index("ix_queue_transitions_coc_created", "coc_id", "created_at", "id"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    queue_entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("queue_entries.id"), nullable=False
    )
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30), nullable=False)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acting_organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    note: Mapped[str | None] = mapped_column(Text)
    # [{"code": IncompleteReason, "text": str | None}]
    incomplete_reasons: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, nullable=False, default=list, server_default=text("'[]'::jsonb")
    )
    score_change_reason: Mapped[str | None] = mapped_column(Text)
    instructions_for_case_manager: Mapped[str | None] = mapped_column(Text)
    # clock_timestamp(): moves within one transaction keep their order.
    created_at: Mapped[datetime] = mapped_column(
        server_default=text("clock_timestamp()"), nullable=False
    )


class QueueScore(UUIDPk, CocScoped, Base):
    """One assessment score of an entry, with the reason it was recorded (append-only)."""

    __tablename__ = "queue_scores"
    __table_args__ = (
        CheckConstraint("score >= 0", name="score_not_negative"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
        Index("ix_queue_scores_entry", "queue_entry_id", "recorded_at", "id"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    queue_entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("queue_entries.id"), nullable=False
    )
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    previous_score: Mapped[int | None] = mapped_column(Integer)
    tool: Mapped[str] = mapped_column(String(50), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acting_organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    recorded_at: Mapped[datetime] = mapped_column(
        server_default=text("clock_timestamp()"), nullable=False
    )
