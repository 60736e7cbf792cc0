"""Merging duplicate client records, and undoing a merge.

The merge is generic: every foreign key column in ``Base.metadata`` that references
``clients.id`` (except ``clients.merged_into_id`` and the merge records themselves) is re-pointed
from the duplicate to the survivor, so tables other features add later (enrollments, documents,
referrals, ...) move without this module knowing them. What moved is recorded, row by row, in a
``client_merges`` row; unmerge moves exactly those rows back.

Unique conflicts: rows that only state a fact the survivor already has (``client_access``: the
same organization and reason; ``household_members``: the same household) are dropped and kept in
the merge record for unmerge. Any other unique violation refuses the merge with a 409 naming the
constraint; the savepoint is rolled back, so nothing is written. One conflict is checked up
front to name it plainly: both records with an open Coordinated Entry enrollment (a client has at
most one, ``uq_enrollments_one_open_ce_per_client``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Select, Table, and_, delete, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.db import constraint_name
from app.errors import Conflict, ValidationFailed
from app.models import Base, Client, ClientAccess, HouseholdMember
from app.models.clients import ClientMerge
from app.models.enrollments import Enrollment
from app.models.matching import Match, Unit
from app.models.queue import QueueEntry
from app.schemas.pagination import PageParams
from app.security import utcnow
from app.services.clients import access as client_access
from app.services.clients import core as clients
from app.services.platform import audit
from app.services.platform.pagination import PageOf, paginate

_SKIP = {
    ("clients", "merged_into_id"),
    ("client_merges", "survivor_id"),
    ("client_merges", "duplicate_id"),
}

# Tables whose rows state a fact; a duplicate row equal to the survivor's (on these columns) is
# dropped instead of moved.
_DEDUPE_ON: dict[str, tuple[str, ...]] = {
    ClientAccess.__tablename__: ("organization_id", "reason"),
    HouseholdMember.__tablename__: ("household_id",),
}


def client_references() -> list[tuple[Table, Column[Any]]]:
    """Every (table, column) holding a client id, discovered from the metadata."""
    refs: list[tuple[Table, Column[Any]]] = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            target = fk.column
            if target.table.name != Client.__tablename__ or target.name != "id":
                continue
            if (table.name, fk.parent.name) in _SKIP:
                continue
            refs.append((table, fk.parent))
    return refs


def _to_json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _from_json(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return value
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is bytes:
        return bytes.fromhex(value)
    return value


def _pk_columns(table: Table) -> list[Column[Any]]:
    cols = list(table.primary_key.columns)
    if not cols:
        raise Conflict(f"Table {table.name} has no primary key; its rows cannot be merged.")
    return cols


def _pk_filter(table: Table, pks: list[list[Any]]) -> Any:
    cols = _pk_columns(table)
    values = [[_from_json(c, v) for c, v in zip(cols, pk, strict=True)] for pk in pks]
    if len(cols) == 1:
        return cols[0].in_([v[0] for v in values])
    return tuple_(*cols).in_([tuple(v) for v in values])


def _version_bump(table: Table) -> dict[str, Any]:
    return {"version": table.c.version + 1} if "version" in table.c else {}


async def _lock_pair(
    session: AsyncSession, actor: Actor, survivor_id: uuid.UUID, duplicate_id: uuid.UUID
) -> tuple[Client, Client]:
    # The rows a match's paths lock before the clients' (``client_access.lock_referred``: the
    # match, its queue entry, its unit), where they name either record (the merge re-points
    # them), first: a match of one of them ending or sent now is waited for, instead of waiting
    # for a client's row the merge would hold while it waits for the match (a deadlock).
    pair = [survivor_id, duplicate_id]
    for model, column in (
        (Match, Match.head_client_id),
        (QueueEntry, QueueEntry.head_client_id),
        (Unit, Unit.occupant_client_id),
    ):
        await session.execute(
            select(model.id).where(column.in_(pair)).order_by(model.id).with_for_update()
        )
    # Then both rows, in id order -- the order ``client_access.lock_referred`` takes clients'
    # rows in: a match's grant or revocation for a household holding both records never waits
    # for the merge while the merge waits for it.
    await session.execute(
        select(Client.id)
        .where(Client.id.in_([survivor_id, duplicate_id]))
        .order_by(Client.id)
        .with_for_update()
    )
    survivor = await client_access.get_visible_client(
        session, actor, survivor_id, follow_merge=False, for_update=True
    )
    duplicate = await session.scalar(
        select(Client)
        .where(Client.id == duplicate_id, client_access.visible_clients_filter(actor))
        .with_for_update()
    )
    if duplicate is None:
        raise ValidationFailed("No such client.", field="duplicate_client_id")
    return survivor, duplicate


async def merge_clients(
    session: AsyncSession, actor: Actor, survivor_id: uuid.UUID, duplicate_id: uuid.UUID
) -> ClientMerge:
    if survivor_id == duplicate_id:
        raise ValidationFailed(
            "A client cannot be merged into itself.", field="duplicate_client_id"
        )
    survivor, duplicate = await _lock_pair(session, actor, survivor_id, duplicate_id)
    if survivor.merged_into_id is not None:
        raise Conflict(
            f"The survivor was itself merged into {survivor.merged_into_id}; merge into that.",
            errors=[{"loc": ["path", "client_id"], "msg": "already merged", "type": "conflict"}],
        )
    if duplicate.merged_into_id is not None:
        raise Conflict(
            f"That client was already merged into {duplicate.merged_into_id}.",
            errors=[
                {
                    "loc": ["body", "duplicate_client_id"],
                    "msg": "already merged",
                    "type": "conflict",
                }
            ],
        )
    await _refuse_two_open_ce_enrollments(session, survivor.id, duplicate.id)
    moved: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    adjusted: list[dict[str, Any]] = []
    nested = await session.begin_nested()
    try:
        for table, column in client_references():
            dedupe = _DEDUPE_ON.get(table.name)
            if dedupe:
                dropped.extend(
                    await _drop_shared(session, table, column, survivor.id, duplicate.id, dedupe)
                )
            pk_cols = _pk_columns(table)
            result = await session.execute(
                update(table)
                .where(column == duplicate.id)
                .values({column.name: survivor.id, **_version_bump(table)})
                .returning(*pk_cols)
            )
            pks = [[_to_json(v) for v in row] for row in result]
            if pks:
                moved.append({"table": table.name, "column": column.name, "pk": pks})
        adjusted = await _keep_household_heads(session, survivor.id, dropped)
        adjusted.extend(_keep_latest_contact(survivor, duplicate))
        duplicate.merged_into_id = survivor.id
        duplicate.merged_at = utcnow()
        record = ClientMerge(
            survivor_id=survivor.id,
            duplicate_id=duplicate.id,
            merged_by_user_id=actor.user_id,
            moved=moved,
            dropped=dropped,
            adjusted=adjusted,
        )
        session.add(record)
        await session.flush()
        await nested.commit()
    except IntegrityError as exc:
        await nested.rollback()
        constraint = constraint_name(exc)
        raise Conflict(
            "The records cannot be merged: the duplicate's data conflicts with the survivor's "
            f"({constraint or 'a unique constraint'}). Resolve that record first.",
            extra={"constraint": constraint} if constraint else None,
        )
    summary = {
        "survivor_id": survivor.id,
        "duplicate_id": duplicate.id,
        "merge_id": record.id,
        "moved": {f"{m['table']}.{m['column']}": len(m["pk"]) for m in moved},
        "dropped": len(dropped),
    }
    audit.record(session, actor, "client.merged", "client", survivor.id, summary)
    audit.record(session, actor, "client.merged_away", "client", duplicate.id, summary)
    await session.flush()
    # Rows were changed behind the ORM's back: drop what it holds, keep the record loaded.
    session.expire_all()
    await session.refresh(record)
    return record


async def _refuse_two_open_ce_enrollments(
    session: AsyncSession, survivor_id: uuid.UUID, duplicate_id: uuid.UUID
) -> None:
    """A client has at most one open Coordinated Entry enrollment (a partial unique index):
    when both records have one, say so plainly (409) before anything is written. The CAS team
    exits or corrects one of them, then merges."""
    rows = (
        await session.execute(
            select(Enrollment.client_id, Enrollment.id).where(
                Enrollment.client_id.in_([survivor_id, duplicate_id]),
                Enrollment.is_coordinated_entry.is_(True),
                Enrollment.exit_date.is_(None),
                Enrollment.voided_at.is_(None),  # a voided one does not count
            )
        )
    ).all()
    open_ce = {client_id: enrollment_id for client_id, enrollment_id in rows}
    if survivor_id in open_ce and duplicate_id in open_ce:
        raise Conflict(
            "Both records have an open Coordinated Entry enrollment (survivor: "
            f"{open_ce[survivor_id]}, duplicate: {open_ce[duplicate_id]}) and a client may have "
            "only one. Exit or correct one of them, then merge.",
            errors=[
                {
                    "loc": ["body", "duplicate_client_id"],
                    "msg": "both records have an open Coordinated Entry enrollment",
                    "type": "conflict",
                }
            ],
            extra={
                "constraint": "uq_enrollments_one_open_ce_per_client",
                "survivor_enrollment_id": str(open_ce[survivor_id]),
                "duplicate_enrollment_id": str(open_ce[duplicate_id]),
            },
        )


def _keep_latest_contact(survivor: Client, duplicate: Client) -> list[dict[str, Any]]:
    """The survivor's last contact becomes the later of the two (the duplicate's contacts,
    CLS and documents are now the survivor's; inactivity is judged on all of them)."""
    theirs, ours = duplicate.last_contact_at, survivor.last_contact_at
    if theirs is None or (ours is not None and ours >= theirs):
        return []
    survivor.last_contact_at = theirs
    return [
        {
            "table": Client.__tablename__,
            "id": str(survivor.id),
            "last_contact_at": _to_json(ours),
        }
    ]


async def _drop_shared(
    session: AsyncSession,
    table: Table,
    column: Column[Any],
    survivor_id: uuid.UUID,
    duplicate_id: uuid.UUID,
    same_on: tuple[str, ...],
) -> list[dict[str, Any]]:
    """Delete the duplicate's rows whose fact the survivor already has; return them whole."""
    theirs = table.alias("survivor_rows")
    shared = (
        select(theirs.c[column.name])
        .where(theirs.c[column.name] == survivor_id, *[theirs.c[c] == table.c[c] for c in same_on])
        .exists()
    )
    rows = (
        (
            await session.execute(
                delete(table).where(column == duplicate_id, shared).returning(*table.c)
            )
        )
        .mappings()
        .all()
    )
    return [{"table": table.name, "row": {k: _to_json(v) for k, v in row.items()}} for row in rows]


async def _keep_household_heads(
    session: AsyncSession, survivor_id: uuid.UUID, dropped: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A dropped duplicate membership that was the head: the survivor becomes the head."""
    adjusted = []
    for item in dropped:
        row = item["row"]
        if item["table"] != HouseholdMember.__tablename__ or row["relationship_to_hoh"] != 1:
            continue
        household_id = uuid.UUID(row["household_id"])
        member = await session.scalar(
            select(HouseholdMember).where(
                HouseholdMember.household_id == household_id,
                HouseholdMember.client_id == survivor_id,
            )
        )
        if member is None or member.relationship_to_hoh == 1:
            continue
        adjusted.append(
            {
                "table": HouseholdMember.__tablename__,
                "id": str(member.id),
                "relationship_to_hoh": member.relationship_to_hoh,
            }
        )
        await session.execute(
            update(HouseholdMember)
            .where(HouseholdMember.id == member.id)
            .values(relationship_to_hoh=1)
        )
    return adjusted


async def unmerge_clients(
    session: AsyncSession, actor: Actor, survivor_id: uuid.UUID, duplicate_id: uuid.UUID
) -> ClientMerge:
    """Undo the active merge of ``duplicate_id`` into ``survivor_id``: what moved moves back.

    Rows the survivor gained after the merge stay with the survivor.
    """
    survivor, duplicate = await _lock_pair(session, actor, survivor_id, duplicate_id)
    record = await session.scalar(
        select(ClientMerge)
        .where(
            ClientMerge.survivor_id == survivor.id,
            ClientMerge.duplicate_id == duplicate.id,
            ClientMerge.unmerged_at.is_(None),
        )
        .with_for_update()
    )
    if record is None or duplicate.merged_into_id != survivor.id:
        raise Conflict(
            "That client is not merged into this one.",
            errors=[
                {
                    "loc": ["body", "duplicate_client_id"],
                    "msg": "not merged here",
                    "type": "conflict",
                }
            ],
        )
    tables = Base.metadata.tables
    nested = await session.begin_nested()
    try:
        for adj in record.adjusted:
            table = tables[adj["table"]]
            if table.name == Client.__tablename__:
                # The survivor's own last contact comes back, unless one was recorded since.
                if survivor.last_contact_at == duplicate.last_contact_at:
                    survivor.last_contact_at = _from_json(
                        table.c.last_contact_at, adj["last_contact_at"]
                    )
                continue
            await session.execute(
                update(table)
                .where(table.c.id == uuid.UUID(adj["id"]), table.c.relationship_to_hoh == 1)
                .values(relationship_to_hoh=adj["relationship_to_hoh"])
            )
        for item in record.moved:
            table = tables[item["table"]]
            column = table.c[item["column"]]
            await session.execute(
                update(table)
                .where(_pk_filter(table, item["pk"]), column == survivor.id)
                .values({column.name: duplicate.id, **_version_bump(table)})
            )
        for item in record.dropped:
            table = tables[item["table"]]
            values = {k: _from_json(table.c[k], v) for k, v in item["row"].items() if k in table.c}
            exists = await session.scalar(
                select(table.c[_pk_columns(table)[0].name]).where(
                    and_(*[c == values[c.name] for c in _pk_columns(table)])
                )
            )
            if exists is None:
                await session.execute(insert(table).values(values))
        duplicate.merged_into_id = None
        duplicate.merged_at = None
        record.unmerged_at = utcnow()
        record.unmerged_by_user_id = actor.user_id
        await session.flush()
        await nested.commit()
    except IntegrityError as exc:
        await nested.rollback()
        constraint = constraint_name(exc)
        raise Conflict(
            "The merge cannot be undone: records changed since conflict with it "
            f"({constraint or 'a unique constraint'}).",
            extra={"constraint": constraint} if constraint else None,
        )
    summary = {"survivor_id": survivor.id, "duplicate_id": duplicate.id, "merge_id": record.id}
    audit.record(session, actor, "client.unmerged", "client", survivor.id, summary)
    audit.record(session, actor, "client.restored", "client", duplicate.id, summary)
    await session.flush()
    session.expire_all()
    await session.refresh(record)
    return record


def merges_stmt(client_ids: list[uuid.UUID]) -> Select[ClientMerge]:
    """Merges in which any of ``client_ids`` was the survivor or the duplicate."""
    return select(ClientMerge).where(
        or_(ClientMerge.survivor_id.in_(client_ids), ClientMerge.duplicate_id.in_(client_ids))
    )


async def list_merges(
    session: AsyncSession, actor: Actor, client_id: uuid.UUID, page: PageParams
) -> PageOf[dict[str, Any]]:
    """Merges the (visible; the read is audited) client took part in, as survivor or duplicate,
    with the records merged into it, newest first."""
    client = await clients.get_client(session, actor, client_id)
    ids = await clients.merged_ids(session, client.id)
    rows = await paginate(
        session,
        merges_stmt(ids),
        page,
        [ClientMerge.merged_at, ClientMerge.id],
        descending=True,
    )
    return rows.map(merge_summary)


def merge_summary(record: ClientMerge) -> dict[str, Any]:
    return {
        "id": record.id,
        "survivor_id": record.survivor_id,
        "duplicate_id": record.duplicate_id,
        "merged_at": record.merged_at,
        "merged_by_user_id": record.merged_by_user_id,
        "unmerged_at": record.unmerged_at,
        "unmerged_by_user_id": record.unmerged_by_user_id,
        "moved": [
            {"table": m["table"], "column": m["column"], "count": len(m["pk"])}
            for m in record.moved
        ],
        "dropped": len(record.dropped),
    }
