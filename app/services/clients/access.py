"""Who may see which client (DOMAIN 3) -- the one place this rule lives.

* ``system_admin`` / ``cas_admin``: every client of their CoC;
* any other organization (the shared CAS organization included): clients it created, enrolled
  (a CE enrollment links the CAS organization) or was referred -- rows in ``client_access`` --
  and clients of its CoC with an active CoC-wide release of information;
* a case manager's own cases: a user with an active case assignment on an enrollment of the
  client (not voided) sees that client whichever of their organizations they act for (an Access
  Point case manager assigned while acting for the CAS organization also sees the client when
  acting for their own agency);
* victim service providers: nothing (refused before this point, see ``deps``).

A client the caller may not see is a 404, never a 403; named in a request body it is the same
422 as an id that does not exist (``get_visible_body_client``).
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import NotFound, ValidationFailed
from app.models import Client, ClientAccess
from app.models.enrollments import CaseAssignment, Enrollment


def roi_active(today: date) -> ColumnElement[bool]:
    """The release of information covers ``today`` (the CoC's date)."""
    return and_(
        Client.roi_start_date.is_not(None),
        Client.roi_start_date <= today,
        or_(Client.roi_end_date.is_(None), Client.roi_end_date >= today),
    )


def visible_clients_filter(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause over ``Client`` selecting what ``actor`` may see (merged ones included)."""
    if actor.organization.victim_service_provider:
        return false()
    in_coc = Client.coc_id == actor.coc_id
    if actor.is_admin:
        return in_coc
    # One index probe per client row: OFFSET 0 keeps PostgreSQL from reading the organization's
    # whole access list into a hash instead, work that would grow with the population.
    linked = exists(
        select(ClientAccess.client_id)  # in the index: an index-only probe
        .where(
            ClientAccess.client_id == Client.id,
            ClientAccess.organization_id == actor.organization_id,
        )
        .offset(0)
    )
    # The caller's own active case assignments: one probe of the partial index
    # ``ix_case_assignments_active_user_client`` per client row, then the enrollment's key.
    assigned = exists(
        select(CaseAssignment.id)
        .join(Enrollment, Enrollment.id == CaseAssignment.enrollment_id)
        .where(
            CaseAssignment.client_id == Client.id,
            CaseAssignment.user_id == actor.user_id,
            CaseAssignment.status == "active",
            Enrollment.voided_at.is_(None),
        )
        .offset(0)
    )
    return and_(in_coc, or_(linked, assigned, roi_active(clock.today(actor))))


async def can_see(session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(true()).where(Client.id == client_id, visible_clients_filter(actor))
    )
    return bool(found)


async def get_visible_client(
    session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    *,
    follow_merge: bool = True,
    for_update: bool = False,
) -> Client:
    """The client (or, for a merged id, its survivor) if ``actor`` may see it; else 404.

    A merged id is judged by its survivor: the duplicate's access rows moved to the survivor
    with the merge, so whoever may see the survivor may use the old id.
    """
    if follow_merge:
        client_id = await resolve_merged(session, client_id)
    stmt = select(Client).where(Client.id == client_id, visible_clients_filter(actor))
    if for_update:
        stmt = stmt.with_for_update()
    client = await session.scalar(stmt)
    if client is None:
        raise NotFound("No such client.")
    return client


async def visible_client_id(session: AsyncSession, actor: Actor, client_id: uuid.UUID) -> uuid.UUID:
    """``get_visible_client(...).id`` without loading the client: the id (or, for a merged id,
    its survivor's) if ``actor`` may see it; else 404. One read for a client never merged."""
    row = (
        await session.execute(
            select(Client.merged_into_id, visible_clients_filter(actor)).where(
                Client.id == client_id
            )
        )
    ).first()
    if row is None:
        raise NotFound("No such client.")
    merged_into, visible = row
    if merged_into is None:
        if not visible:
            raise NotFound("No such client.")
        return client_id
    return (await get_visible_client(session, actor, client_id)).id


async def resolve_merged(session: AsyncSession, client_id: uuid.UUID) -> uuid.UUID:
    """Follow ``merged_into_id`` to the surviving record (the id itself when not merged)."""
    seen = {client_id}
    current = client_id
    while True:
        nxt = await session.scalar(select(Client.merged_into_id).where(Client.id == current))
        if nxt is None or nxt in seen:
            return current
        seen.add(nxt)
        current = nxt


async def grant(
    session: AsyncSession, client_id: uuid.UUID, organization_id: uuid.UUID, reason: str
) -> None:
    """Record that ``organization_id`` may see the client (idempotent)."""
    await session.execute(
        insert(ClientAccess)
        .values(
            id=uuid.uuid4(), client_id=client_id, organization_id=organization_id, reason=reason
        )
        .on_conflict_do_nothing(index_elements=["client_id", "organization_id", "reason"])
    )


NO_SUCH_CLIENT = "No such client (or not visible to you)."


async def get_visible_body_client(
    session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    field: str,
    *,
    follow_merge: bool = True,
) -> Client:
    """A client named in a request body; ``field`` is its path (``family_members.0.client_id``).

    A client the caller may not see answers exactly like one that does not exist: 422 naming the
    field, the same message -- so a body can never be used to learn that someone exists, or to
    act on someone the caller may not see.
    """
    try:
        return await get_visible_client(session, actor, client_id, follow_merge=follow_merge)
    except NotFound:
        raise ValidationFailed(NO_SUCH_CLIENT, field=field) from None
