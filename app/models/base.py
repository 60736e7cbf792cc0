"""Declarative base, naming conventions and shared column mixins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, FetchedValue, ForeignKey, Integer, MetaData, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from app import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        uuid.UUID: UUID(as_uuid=True),
    }


class UUIDPk:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), nullable=False)
    # Set in Python on UPDATE, so the new value is known without a reload.
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), onupdate=clock.now, nullable=False
    )


class Versioned:
    """Optimistic concurrency: SQLAlchemy bumps ``version`` on every UPDATE and checks it."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def coc_scope() -> Any:
    """``coc_id`` of a table whose rows belong to one CoC through a parent row (an enrollment,
    a client, an organization, ...): NOT NULL, a foreign key to ``cocs``. The service sets it
    when it knows it; otherwise a trigger (migration 0019) copies it from the parent row on
    insert, and the ORM reads it back with RETURNING. It is the distribution column of a
    CoC-sharded deployment (README, Operations)."""
    return mapped_column(ForeignKey("cocs.id"), nullable=False, server_default=FetchedValue())


class CocScoped:
    """A table holding one CoC's data (a NOT NULL ``coc_id``): a request's reads of it are
    confined to the caller's CoC (``app.models.scoping``). Each table declares its own
    ``coc_id`` (set by the service, or ``coc_scope()``); this one names the column for the
    criterion."""

    coc_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cocs.id"), nullable=False)
