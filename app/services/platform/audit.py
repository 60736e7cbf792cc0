"""The audit trail: written in the same transaction as the change it records.

Changed fields are recorded by name; values of PII fields are replaced by ``"[redacted]"``.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Any

from sqlalchemy import CTE, ColumnElement, Dialect, Insert, bindparam, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.context import Actor, RequestMeta
from app.models import AuditEvent
from app.schemas.audit import AuditEventFilters
from app.schemas.pagination import PageParams
from app.services.platform.pagination import PageOf, paginate

REDACTED = "[redacted]"

# Field names whose values never enter the audit trail (or logs).
PII_FIELDS = frozenset(
    {
        "first_name",
        "middle_name",
        "last_name",
        "name_suffix",
        "full_name",
        "alias",
        "ssn",
        "ssn_last4",
        "ssn_encrypted",
        "ssn_hash",
        "ssn_last4_hash",
        "dob",
        "date_of_birth",
        "birth_date",
        "email",
        "phone",
        "address",
        "address_line1",
        "address_line2",
        "city",
        "postal_code",
        "zip",
        "contact",
        "password",
        "password_hash",
        "token",
        "token_hash",
        "comments",
        "comment",
        "note",
        "notes",
        "text",
        "body",
        "description",  # a Client File's description: free text, like Document Check comments
        "original_filename",
    }
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def redact(changes: dict[str, Any]) -> dict[str, Any]:
    """Replace PII fields' values, at any depth (nested objects and lists of objects too)."""
    out: dict[str, Any] = {}
    for field, value in changes.items():
        if field in PII_FIELDS:
            out[field] = REDACTED
        elif isinstance(value, dict) and value and set(value) <= {"old", "new"}:
            out[field] = {k: _redact_value(v) for k, v in value.items()}
        else:
            out[field] = _redact_value(value)
    return out


def _redact_value(value: Any) -> Any:
    if isinstance(value, dict):
        return redact(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(v) for v in value]
    return _jsonable(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{field: {"old": ..., "new": ...}}`` for fields whose value changed."""
    return {k: {"old": before.get(k), "new": v} for k, v in after.items() if before.get(k) != v}


def record(
    session: AsyncSession,
    who: Actor | RequestMeta | None,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
    *,
    actor_user_id: uuid.UUID | None = None,
    coc_id: uuid.UUID | None = None,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        changes=redact(changes) if changes else None,
    )
    if isinstance(who, Actor):
        event.actor_user_id = who.user_id
        event.acting_organization_id = who.organization_id
        event.coc_id = who.coc_id
        event.request_id = who.request_id
        event.ip_address = who.ip_address
    elif isinstance(who, RequestMeta):
        event.request_id = who.request_id
        event.ip_address = who.ip_address
    if actor_user_id is not None:
        event.actor_user_id = actor_user_id
    if coc_id is not None:
        event.coc_id = coc_id
    session.add(event)
    return event


def record_pii_read(
    session: AsyncSession,
    actor: Actor,
    entity_type: str,
    entity_id: uuid.UUID,
    *,
    fields: list[str] | None = None,
    action: str = "pii.read",
) -> AuditEvent:
    """Call for every read of client PII (and every document download)."""
    event = record(
        session,
        actor,
        action,
        entity_type,
        entity_id,
        {"fields": sorted(fields)} if fields else None,
    )
    if entity_type == "client":
        event.subject_ids = [entity_id]
    return event


def record_pii_reads(
    session: AsyncSession,
    actor: Actor,
    client_ids: list[uuid.UUID],
    *,
    fields: list[str] | None = None,
    action: str = "pii.read",
) -> AuditEvent | None:
    """One event for a response showing several clients (a list, search hits, duplicate
    candidates): ``subject_ids`` holds them in the order shown; nothing when none was shown."""
    ids = list(dict.fromkeys(client_ids))
    if not ids:
        return None
    event = record(
        session, actor, action, "client", None, {"fields": sorted(fields)} if fields else None
    )
    event.subject_ids = ids
    return event


# The columns ``write_pii_reads`` fills (occurred_at: the server's clock), and its INSERT as
# the driver runs it with their order, compiled once per dialect.
_READ_COLUMNS = (
    "id",
    "actor_user_id",
    "acting_organization_id",
    "coc_id",
    "action",
    "entity_type",
    "entity_id",
    "changes",
    "subject_ids",
    "request_id",
    "ip_address",
)
_READ_INSERT: dict[str, tuple[str, tuple[str, ...]]] = {}


def _read_insert(dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    found = _READ_INSERT.get(dialect.name)
    if found is None:
        compiled = _insert_read("").compile(dialect=dialect)
        found = _READ_INSERT[dialect.name] = (str(compiled), tuple(compiled.positiontup or ()))
    return found


def _insert_read(prefix: str) -> Insert:
    """The INSERT of a read event, its values the parameters ``<prefix><column>``."""
    columns = AuditEvent.__table__.c
    return insert(AuditEvent).values(
        {c: bindparam(prefix + c, type_=columns[c].type) for c in _READ_COLUMNS}
    )


@lru_cache(maxsize=8)
def read_event(prefix: str) -> CTE:
    """``record_pii_read``'s event as an INSERT in a CTE (``Select.add_cte``), for a read
    that writes its own event in the statement that reads (as ``write_pii_reads`` writes,
    without the ORM's flush): its parameters are ``read_event_values``'."""
    return _insert_read(prefix).cte(prefix + "event")


def read_event_values(
    prefix: str,
    actor: Actor,
    entity_type: str,
    entity_id: uuid.UUID,
    *,
    fields: list[str] | None = None,
    action: str = "pii.read",
) -> dict[str, Any]:
    """The parameters of ``read_event(prefix)``: ``record_pii_read``'s row (the entity, and
    for a client the client as its subject)."""
    subjects = [entity_id] if entity_type == "client" else None
    values = _read_values(actor, action, entity_type, entity_id, subjects, fields)
    return {prefix + c: v for c, v in values.items()}


async def write_pii_reads(
    session: AsyncSession,
    actor: Actor,
    client_ids: list[uuid.UUID],
    *,
    fields: list[str] | None = None,
    action: str = "pii.read",
    connection: AsyncConnection | None = None,
) -> None:
    """``record_pii_reads``, written at once by one prepared INSERT on the session's connection
    (in its transaction; ``connection``: that connection, when the caller holds it) rather
    than through the ORM's flush: the same row, for read paths where the flush costs more than
    the read itself (find client)."""
    ids = list(dict.fromkeys(client_ids))
    if not ids:
        return
    values = _read_values(actor, action, "client", None, ids, fields)
    # Events recorded before this one are written first: ``occurred_at`` keeps their order.
    if session.new or session.dirty or session.deleted:  # (a flush of nothing costs too)
        await session.flush()
    conn = connection or await session.connection()
    sql, order = _read_insert(conn.dialect)
    await conn.exec_driver_sql(sql, tuple(values[c] for c in order))


@lru_cache(maxsize=64)
def _read_changes(fields: tuple[str, ...]) -> str:
    """The ``changes`` of a read of ``fields``, as JSON (a read path names a few constant
    lists: written once each)."""
    return json.dumps(redact({"fields": sorted(fields)}))


def _read_values(
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | None,
    subject_ids: list[uuid.UUID] | None,
    fields: list[str] | None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "actor_user_id": actor.user_id,
        "acting_organization_id": actor.organization_id,
        "coc_id": actor.coc_id,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "changes": _read_changes(tuple(fields)) if fields else None,
        "subject_ids": subject_ids,
        "request_id": actor.request_id,
        "ip_address": actor.ip_address,
    }


def about_entity(entity_id: uuid.UUID) -> ColumnElement[bool]:
    """Events about ``entity_id``: as their entity, or among the clients a read showed."""
    return or_(AuditEvent.entity_id == entity_id, AuditEvent.subject_ids.contains([entity_id]))


async def search_events(
    session: AsyncSession, actor: Actor, filters: AuditEventFilters, page: PageParams
) -> PageOf[AuditEvent]:
    """The acting CoC's audit trail, newest first, narrowed by ``filters``."""
    stmt = select(AuditEvent).where(AuditEvent.coc_id == actor.coc_id)
    if filters.actor_user_id is not None:
        stmt = stmt.where(AuditEvent.actor_user_id == filters.actor_user_id)
    if filters.organization_id is not None:
        stmt = stmt.where(AuditEvent.acting_organization_id == filters.organization_id)
    if filters.action is not None:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.entity_type is not None:
        stmt = stmt.where(AuditEvent.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        stmt = stmt.where(about_entity(filters.entity_id))
    if filters.since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < filters.until)
    return await paginate(
        session, stmt, page, [AuditEvent.occurred_at, AuditEvent.id], descending=True
    )
