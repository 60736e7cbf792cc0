"""Continuums of Care, organizations and their projects."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import DEFAULT_TIME_ZONE
from app.models.base import Base, CocScoped, Timestamps, UUIDPk, Versioned, coc_scope
from app.reference import FUNDING_SOURCE_CODES, PROJECT_TYPE_CODES, in_list_sql


class Coc(UUIDPk, Timestamps, Versioned, Base):
    __tablename__ = "cocs"
    __table_args__ = (CheckConstraint("code ~ '^[A-Z]{2}-[0-9]{3}$'", name="code_format"),)

    code: Mapped[str] = mapped_column(String(6), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # IANA name; the CoC's "today" (``app.clock.today``) is the date in this zone.
    time_zone: Mapped[str] = mapped_column(
        String(64), nullable=False, default=DEFAULT_TIME_ZONE, server_default=DEFAULT_TIME_ZONE
    )


class Organization(UUIDPk, Timestamps, Versioned, CocScoped, Base):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('hmis_lead', 'agency', 'cas')",
            name="kind_valid",
        ),
        # At most one shared CAS organization per CoC.
        Index(
            "uq_organizations_one_cas_per_coc",
            "coc_id",
            unique=True,
            postgresql_where=text("kind = 'cas'"),
        ),
        Index("ix_organizations_coc_id_name", "coc_id", "name"),
    )

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="agency")
    victim_service_provider: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    access_point: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    housing_provider: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    veteran_services: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    coc: Mapped[Coc] = relationship(lazy="joined")


class Project(UUIDPk, Timestamps, Versioned, CocScoped, Base):
    __tablename__ = "projects"
    coc_id: Mapped[uuid.UUID] = coc_scope()
    __table_args__ = (
        CheckConstraint(in_list_sql("project_type", PROJECT_TYPE_CODES), name="project_type_valid"),
        CheckConstraint(
            "funding_source IS NULL OR " + in_list_sql("funding_source", FUNDING_SOURCE_CODES),
            name="funding_source_valid",
        ),
        CheckConstraint(
            "operating_end_date IS NULL OR operating_end_date >= operating_start_date",
            name="operating_dates_ordered",
        ),
        CheckConstraint("geocode IS NULL OR geocode ~ '^[0-9]{6}$'", name="geocode_format"),
        Index("ix_projects_organization_id_name", "organization_id", "name"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    project_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    funding_source: Mapped[int | None] = mapped_column(SmallInteger)
    referrals_through_cas: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    operating_start_date: Mapped[date] = mapped_column(Date, nullable=False)
    operating_end_date: Mapped[date | None] = mapped_column(Date)
    # HUD 2.03.2 Geocode of the project's principal location (six digits); HMIS CSV exports
    # need it (ProjectCoC.csv).
    geocode: Mapped[str | None] = mapped_column(String(6))

    organization: Mapped[Organization] = relationship(lazy="joined")
