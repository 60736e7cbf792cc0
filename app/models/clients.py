"""Clients (HUD Universal Data Elements), households and who may see a client."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CocScoped, Timestamps, UUIDPk, Versioned, coc_scope
from app.reference import (
    DATA_QUALITY,
    REASONS_MISSING,
    RELATIONSHIP_TO_HOH,
    SEX,
    YES_NO_REASONS,
    in_list_sql,
    sql_list,
)
from app.reference.clients import GENDER_CODES

DQ = sql_list(DATA_QUALITY)
_YES_NO_REASONS = sql_list(YES_NO_REASONS)
GENDER_ARRAY = "ARRAY[" + ", ".join(f"'{g}'" for g in GENDER_CODES) + "]::varchar[]"

# ``clients.name_pair_keys`` (find client, see app/services/clients/search.py): each key of the
# first name paired with each key of the last name, "<kind><key>|<kind><key>", kind p (3-letter
# prefix), m (metaphone) or s (soundex), e.g. "mJN|sS530" for John Smith; and each key of one
# name paired with the start of the other, kind 1 (initial) or 2 (first two letters), e.g.
# "mJN|2sm", so a name with a typo that changes all its keys ("Anrew") is still found through
# the other name. One GIN lookup finds the clients whose names agree with a query's this way.
_FIRST_KEYS = (
    ("p", "left(first_name_norm, 3)"),
    ("m", "first_name_key"),
    ("s", "first_name_alt_key"),
)
_LAST_KEYS = (
    ("p", "left(last_name_norm, 3)"),
    ("m", "last_name_key"),
    ("s", "last_name_alt_key"),
)
_FIRST_STARTS = (("1", "left(first_name_norm, 1)"), ("2", "left(first_name_norm, 2)"))
_LAST_STARTS = (("1", "left(last_name_norm, 1)"), ("2", "left(last_name_norm, 2)"))
_NAME_PAIRS = (
    [(f, la) for f in _FIRST_KEYS for la in _LAST_KEYS]
    + [(f, la) for f in _FIRST_KEYS for la in _LAST_STARTS]
    + [(f, la) for f in _FIRST_STARTS for la in _LAST_KEYS]
)
NAME_PAIR_KEYS_SQL = "ARRAY[{}]::text[]".format(
    ", ".join(f"'{fk}' || {fcol} || '|{lk}' || {lcol}" for (fk, fcol), (lk, lcol) in _NAME_PAIRS)
)


class Client(UUIDPk, Timestamps, Versioned, CocScoped, Base):
    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint(f"name_data_quality IN {DQ}", name="name_dq_valid"),
        CheckConstraint(f"ssn_data_quality IN {DQ}", name="ssn_dq_valid"),
        CheckConstraint(f"dob_data_quality IN {DQ}", name="dob_dq_valid"),
        CheckConstraint("sex IS NULL OR " + in_list_sql("sex", SEX), name="sex_valid"),
        CheckConstraint(f"veteran_status IN {_YES_NO_REASONS}", name="veteran_status_valid"),
        CheckConstraint(
            "race_none IS NULL OR " + in_list_sql("race_none", REASONS_MISSING),
            name="race_none_valid",
        ),
        CheckConstraint(
            "race_none IS NULL OR NOT (am_ind_ak_native OR asian OR black_af_american OR "
            "hispanic_latinao OR mid_east_n_african OR native_hi_pacific OR white)",
            name="race_none_only_without_race",
        ),
        # Data quality agrees with the value (HUD 3.01.5 / 3.02.2 / 3.03.2): 1 or 2 exactly when
        # a value is recorded, 1 for a name only with both first and last name.
        CheckConstraint(
            "(first_name IS NOT NULL OR last_name IS NOT NULL) = (name_data_quality IN (1, 2))",
            name="name_dq_matches_name",
        ),
        CheckConstraint(
            "name_data_quality <> 1 OR (first_name IS NOT NULL AND last_name IS NOT NULL)",
            name="name_dq_full_needs_both_names",
        ),
        CheckConstraint(
            "(ssn_encrypted IS NOT NULL) = (ssn_data_quality IN (1, 2))",
            name="ssn_dq_matches_ssn",
        ),
        CheckConstraint(
            "(dob IS NOT NULL) = (dob_data_quality IN (1, 2))", name="dob_dq_matches_dob"
        ),
        CheckConstraint(f"gender IS NULL OR gender <@ {GENDER_ARRAY}", name="gender_valid"),
        CheckConstraint(
            "gender_none IS NULL OR " + in_list_sql("gender_none", REASONS_MISSING),
            name="gender_none_valid",
        ),
        CheckConstraint(
            "gender_none IS NULL OR gender IS NULL OR cardinality(gender) = 0",
            name="gender_none_only_without_gender",
        ),
        CheckConstraint("dob IS NULL OR dob >= DATE '1900-01-01'", name="dob_not_before_1900"),
        CheckConstraint(
            "roi_end_date IS NULL OR roi_start_date IS NOT NULL AND roi_end_date >= roi_start_date",
            name="roi_dates_ordered",
        ),
        CheckConstraint(
            "merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_self"
        ),
        Index("ix_clients_coc_id_created_at", "coc_id", "created_at", "id"),
        Index("ix_clients_last_name_key", "coc_id", "last_name_key"),
        Index("ix_clients_first_name_key", "coc_id", "first_name_key"),
        Index("ix_clients_last_name_alt_key", "coc_id", "last_name_alt_key"),
        Index("ix_clients_first_name_alt_key", "coc_id", "first_name_alt_key"),
        Index(
            "ix_clients_last_name_norm",
            "coc_id",
            "last_name_norm",
            postgresql_ops={"last_name_norm": "varchar_pattern_ops"},
        ),
        Index(
            "ix_clients_first_name_norm",
            "coc_id",
            "first_name_norm",
            postgresql_ops={"first_name_norm": "varchar_pattern_ops"},
        ),
        Index("ix_clients_name_pair_keys", "name_pair_keys", postgresql_using="gin"),
        Index("ix_clients_dob", "coc_id", "dob"),
        Index("ix_clients_ssn_hash", "ssn_hash"),
        Index("ix_clients_ssn_last4_hash", "coc_id", "ssn_last4_hash"),
        Index(
            "ix_clients_merged_into_id",
            "merged_into_id",
            postgresql_where=text("merged_into_id IS NOT NULL"),
        ),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    created_by_organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    # 3.01 Name
    first_name: Mapped[str | None] = mapped_column(String(50))
    middle_name: Mapped[str | None] = mapped_column(String(50))
    last_name: Mapped[str | None] = mapped_column(String(50))
    name_suffix: Mapped[str | None] = mapped_column(String(50))
    name_data_quality: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=99)
    # Search keys (normalized + phonetic), kept in step with the names by the service:
    # ``*_key`` metaphone, ``*_alt_key`` soundex, ``*_norm`` lower-case letters only.
    first_name_key: Mapped[str | None] = mapped_column(String(60))
    last_name_key: Mapped[str | None] = mapped_column(String(60))
    first_name_alt_key: Mapped[str | None] = mapped_column(String(10))
    last_name_alt_key: Mapped[str | None] = mapped_column(String(10))
    first_name_norm: Mapped[str | None] = mapped_column(String(60))
    last_name_norm: Mapped[str | None] = mapped_column(String(60))
    name_pair_keys: Mapped[list[str] | None] = mapped_column(
        ARRAY(Text), Computed(NAME_PAIR_KEYS_SQL, persisted=True)
    )

    # 3.02 SSN: encrypted at rest; keyed hashes of the full value and the last four for search.
    ssn_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    ssn_hash: Mapped[str | None] = mapped_column(String(64))
    ssn_last4_hash: Mapped[str | None] = mapped_column(String(64))
    ssn_data_quality: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=99)

    # 3.03 DOB
    dob: Mapped[date | None] = mapped_column(Date)
    dob_data_quality: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=99)

    # 3.04 Race and ethnicity (multi-select)
    am_ind_ak_native: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    asian: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    black_af_american: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    hispanic_latinao: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    mid_east_n_african: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    native_hi_pacific: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    white: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    race_none: Mapped[int | None] = mapped_column(SmallInteger)
    additional_race_ethnicity: Mapped[str | None] = mapped_column(String(100))

    # 4.21 Sex (FY2026) and the optional FY2024 gender multi-select (3.6.1), kept as a list of
    # codes plus GenderNone / DifferentIdentityText.
    sex: Mapped[int | None] = mapped_column(SmallInteger)
    gender: Mapped[list[str] | None] = mapped_column(ARRAY(String(30)))
    gender_none: Mapped[int | None] = mapped_column(SmallInteger)
    different_identity_text: Mapped[str | None] = mapped_column(String(100))

    # 3.07 Veteran status
    veteran_status: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=99)

    # Contact information
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(320))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))

    # CoC-wide release of information: while active, every agency of the CoC may see the client.
    roi_start_date: Mapped[date | None] = mapped_column(Date)
    roi_end_date: Mapped[date | None] = mapped_column(Date)

    # Latest contact (CLS, assessment, service, document upload); 90 days without one = inactive.
    last_contact_at: Mapped[datetime | None] = mapped_column()

    # Merge: the duplicate points at its survivor and is no longer listed.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"))
    merged_at: Mapped[datetime | None] = mapped_column()


class ClientAccess(UUIDPk, CocScoped, Base):
    """Why an organization may see a client: it created, enrolled or was referred the client.

    Rows are written by the services that create those facts (client creation, enrollment,
    referral), so visibility is one indexed lookup.
    """

    __tablename__ = "client_access"
    coc_id: Mapped[uuid.UUID] = coc_scope()
    __table_args__ = (
        CheckConstraint("reason IN ('created', 'enrolled', 'referred')", name="reason_valid"),
        Index(
            "uq_client_access_client_org_reason",
            "client_id",
            "organization_id",
            "reason",
            unique=True,
        ),
        Index("ix_client_access_organization_id", "organization_id", "client_id"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    reason: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"), nullable=False)


class Household(UUIDPk, Timestamps, Versioned, CocScoped, Base):
    __tablename__ = "households"
    __table_args__ = (Index("ix_households_coc_id", "coc_id"),)

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    created_by_organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )

    # Members added in one request share created_at (the transaction's time): the head comes
    # first among them, then by relationship and id, so the order never changes between reads.
    members: Mapped[list[HouseholdMember]] = relationship(
        back_populates="household",
        lazy="selectin",
        order_by="(HouseholdMember.created_at, HouseholdMember.relationship_to_hoh, "
        "HouseholdMember.id)",
    )


class HouseholdMember(UUIDPk, Timestamps, CocScoped, Base):
    __tablename__ = "household_members"
    coc_id: Mapped[uuid.UUID] = coc_scope()
    __table_args__ = (
        CheckConstraint(
            in_list_sql("relationship_to_hoh", RELATIONSHIP_TO_HOH),
            name="relationship_to_hoh_valid",
        ),
        # A client is in a household once; a household has at most one head of household.
        Index("uq_household_members_household_client", "household_id", "client_id", unique=True),
        Index(
            "uq_household_members_one_head",
            "household_id",
            unique=True,
            postgresql_where=text("relationship_to_hoh = 1"),
        ),
        Index("ix_household_members_client_id", "client_id"),
    )

    household_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), nullable=False
    )
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    relationship_to_hoh: Mapped[int] = mapped_column(SmallInteger, nullable=False)

    household: Mapped[Household] = relationship(back_populates="members")


class ClientMerge(UUIDPk, CocScoped, Base):
    """One merge of a duplicate record into a survivor, with what moved, so it can be undone.

    ``moved`` lists ``{"table", "column", "pk": [primary key values...]}`` for every row that was
    re-pointed from the duplicate to the survivor; ``dropped`` holds whole rows of the duplicate
    that were removed because the survivor already had the same fact (client access, household
    membership), and ``adjusted`` any survivor rows changed to keep invariants (a household's head).
    """

    __tablename__ = "client_merges"
    coc_id: Mapped[uuid.UUID] = coc_scope()
    __table_args__ = (
        CheckConstraint("survivor_id <> duplicate_id", name="distinct_clients"),
        Index("ix_client_merges_survivor_id", "survivor_id", "merged_at"),
        Index("ix_client_merges_duplicate_id", "duplicate_id", "merged_at"),
        Index(
            "uq_client_merges_active_duplicate",
            "duplicate_id",
            unique=True,
            postgresql_where=text("unmerged_at IS NULL"),
        ),
    )

    survivor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    duplicate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), nullable=False)
    merged_at: Mapped[datetime] = mapped_column(server_default=text("now()"), nullable=False)
    merged_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    unmerged_at: Mapped[datetime | None] = mapped_column()
    unmerged_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    moved: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    dropped: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    adjusted: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
