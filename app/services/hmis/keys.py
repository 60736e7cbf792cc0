"""Ids of imported records: derived from (data source, file, source id), so loading the same
source record again finds the same CAS row (``md5`` of ``<data source id>:<File>:<SourceID>``,
read as a UUID). The same in Python and in SQL."""

from __future__ import annotations

import hashlib
import uuid

from app.reference.hmis_csv import sql_literal


def source_uuid(data_source_id: uuid.UUID, record_type: str, source_id: str) -> uuid.UUID:
    digest = hashlib.md5(f"{data_source_id}:{record_type}:{source_id}".encode()).hexdigest()
    return uuid.UUID(digest)


def sql_source_uuid(data_source_sql: str, record_type: str, source_id_sql: str) -> str:
    """The same id in SQL: ``data_source_sql`` is a text expression of the data source id,
    ``source_id_sql`` the (cleaned) source id."""
    prefix = sql_literal(f":{record_type}:")
    return f"md5({data_source_sql} || {prefix} || {source_id_sql})::uuid"


def export_id(value: uuid.UUID) -> str:
    """A CAS id in an export: its 32 hex digits (HUD ids are at most 32 characters)."""
    return value.hex
