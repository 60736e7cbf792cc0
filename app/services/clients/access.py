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

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Date,
    Uuid,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import NotFound, ValidationFailed
from app.models import Client, ClientAccess, HouseholdMember
from app.models.enrollments import CaseAssignment, Enrollment
from app.models.matching import Match
from app.models.queue import QueueEntry
from app.models.scoping import scoped_coc
from app.reference.matching import ACTIVE_MATCH_STATUSES, MatchStatus


def roi_active(today: date | ColumnElement[date]) -> ColumnElement[bool]:
    """The release of information covers ``today`` (the CoC's date)."""
    return and_(
        Client.roi_start_date.is_not(None),
        Client.roi_start_date <= today,
        or_(Client.roi_end_date.is_(None), Client.roi_end_date >= today),
    )


def _granted(
    organization_id: uuid.UUID | ColumnElement[uuid.UUID],
    user_id: uuid.UUID | ColumnElement[uuid.UUID],
    today: date | ColumnElement[date],
    coc_id: ColumnElement[uuid.UUID] | None = None,
) -> ColumnElement[bool]:
    """Seen by the organization, the user's own cases, or an active ROI (see the module).
    ``coc_id``: confine the tables read to the CoC (what the session's scope adds to ORM
    reads, ``app.models.scoping``), for statements run without the ORM."""
    # One index probe per client row: OFFSET 0 keeps PostgreSQL from reading the organization's
    # whole access list into a hash instead, work that would grow with the population.
    linked = select(ClientAccess.client_id).where(  # in the index: an index-only probe
        ClientAccess.client_id == Client.id,
        ClientAccess.organization_id == organization_id,
    )
    # The caller's own active case assignments: one probe of the partial index
    # ``ix_case_assignments_active_user_client`` per client row, then the enrollment's key.
    assigned = (
        select(CaseAssignment.id)
        .join(Enrollment, Enrollment.id == CaseAssignment.enrollment_id)
        .where(
            CaseAssignment.client_id == Client.id,
            CaseAssignment.user_id == user_id,
            CaseAssignment.status == "active",
            Enrollment.voided_at.is_(None),
        )
    )
    if coc_id is not None:
        linked = linked.where(ClientAccess.coc_id == coc_id)
        assigned = assigned.where(Enrollment.coc_id == coc_id, CaseAssignment.coc_id == coc_id)
    return or_(exists(linked.offset(0)), exists(assigned.offset(0)), roi_active(today))


def visible_clients_filter(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause over ``Client`` selecting what ``actor`` may see (merged ones included)."""
    if actor.organization.victim_service_provider:
        return false()
    in_coc = Client.coc_id == actor.coc_id
    if actor.is_admin:
        return in_coc
    return and_(in_coc, _granted(actor.organization_id, actor.user_id, clock.today(actor)))


# --- the same rule for a statement built once ---------------------------------------------------

VisibilityShape = Literal["nothing", "coc", "granted"]


def visibility_shape(actor: Actor) -> VisibilityShape:
    """Which form of ``visible_clients_filter`` applies to ``actor``."""
    if actor.organization.victim_service_provider:
        return "nothing"
    return "coc" if actor.is_admin else "granted"


def bound_visible_clients_filter(shape: VisibilityShape) -> ColumnElement[bool]:
    """``visible_clients_filter`` for every caller of ``shape``: the caller's CoC, organization,
    user and date are the named parameters ``visible_*`` (``visibility_values``), and every
    table read is confined to the CoC as the session's scope confines ORM reads. For a
    statement built (and compiled) once and run with each caller's values."""
    if shape == "nothing":
        return false()
    coc_id = bindparam("visible_coc_id", None, type_=Uuid)
    in_coc = Client.coc_id == coc_id
    if shape == "coc":
        return in_coc
    return and_(
        in_coc,
        _granted(
            bindparam("visible_organization_id", None, type_=Uuid),
            bindparam("visible_user_id", None, type_=Uuid),
            bindparam("visible_today", None, type_=Date),
            coc_id,
        ),
    )


def visibility_values(actor: Actor) -> dict[str, Any]:
    """The parameters of ``bound_visible_clients_filter`` for ``actor``."""
    return {
        "visible_coc_id": actor.coc_id,
        "visible_organization_id": actor.organization_id,
        "visible_user_id": actor.user_id,
        "visible_today": clock.today(actor),
    }


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
    """Record that ``organization_id`` may see the client (idempotent). A match's ``referred``
    grants go through ``grant_referred`` (under the lock of their revocations)."""
    # The row names its CoC (a CoC-sharded deployment routes the insert by it): the caller's,
    # whose scoped reads found the client; a job's session reads the client's.
    coc_id = scoped_coc(session) or await session.scalar(
        select(Client.coc_id).where(Client.id == client_id)
    )
    await session.execute(
        insert(ClientAccess)
        .values(
            id=uuid.uuid4(),
            coc_id=coc_id,
            client_id=client_id,
            organization_id=organization_id,
            reason=reason,
        )
        .on_conflict_do_nothing(index_elements=["client_id", "organization_id", "reason"])
    )


# --- ``referred`` access: grants and revocations one at a time per client ----------------------
#
# A match gives its provider (and an assigned EHV case-manager agency) ``referred`` access to
# the household's clients; an unsuccessful end takes it away unless another match of the
# organization still holds the client (``matching.matches``). That check reads committed
# matches only: an end running while another match of the same organization for the same
# client is being sent would not see the new match and would delete the grant it relies on.
# So every grant and every check-and-revoke of ``referred`` access first takes, until its
# transaction ends, the lock of each client it touches (``lock_referred``): the second one
# waits, and its next statement (READ COMMITTED) sees what the first committed.

REFERRED_LOCK_SCOPE = "client_access.referred"


def referred_lock_key(client_id: uuid.UUID) -> int:
    """The advisory lock of the ``referred`` access to ``client_id``, the same in every process
    and release: the first 8 bytes of SHA-256 of ``"client_access.referred\n<client id>"`` as a
    signed bigint (``pg_advisory_xact_lock(bigint)``)."""
    digest = hashlib.sha256(f"{REFERRED_LOCK_SCOPE}\n{client_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def lock_referred(session: AsyncSession, client_ids: Iterable[uuid.UUID]) -> None:
    """Hold, until the transaction ends, the right to grant or revoke ``referred`` access to
    ``client_ids`` (every organization's): call it before the grant, and before reading which
    clients another match still holds. Two transactions never wait for each other in a cycle:

    * each takes its locks once, all of them, in one order: first the clients' rows ``FOR KEY
      SHARE`` in id order (what the grant's foreign key takes anyway, so a merge of one of the
      clients -- ``FOR UPDATE`` on both records -- runs wholly before or after, and the locks
      below are never held while waiting for a client's row), then the advisory locks in key
      order;
    * it takes them after the match's own row locks (the match, its unit and queue entry), so
      it never waits for one of those while holding a client's lock.
    """
    ids = sorted(set(client_ids))
    if not ids:
        return
    await session.execute(
        select(Client.id)
        .where(Client.id.in_(ids))
        .order_by(Client.id)
        .with_for_update(read=True, key_share=True)
    )
    for key in sorted({referred_lock_key(client_id) for client_id in ids}):
        await session.execute(select(func.pg_advisory_xact_lock(key)))


async def grant_referred(
    session: AsyncSession, client_ids: Iterable[uuid.UUID], organization_id: uuid.UUID
) -> None:
    """``organization_id`` was referred the clients (a match was sent to it): under their
    ``referred`` locks, so a concurrent end of another match cannot take the grants away."""
    ids = list(dict.fromkeys(client_ids))
    await lock_referred(session, ids)
    for client_id in ids:
        await grant(session, client_id, organization_id, "referred")


# A match in one of these still holds the ``referred`` access it gave (another match's end, or a
# member leaving another household, leaves it).
REFERRAL_HOLDS: tuple[MatchStatus, ...] = (*ACTIVE_MATCH_STATUSES, MatchStatus.ENROLLED)


async def revoke_referred_unless_held(
    session: AsyncSession,
    coc_id: uuid.UUID,
    client_ids: Sequence[uuid.UUID],
    organization_ids: Iterable[uuid.UUID],
    *,
    except_match_id: uuid.UUID | None = None,
) -> None:
    """End each organization's ``referred`` access to ``client_ids`` unless another match of
    that organization (as the provider or the EHV case-manager agency) still holds the client:
    active or enrolled, the client its head or a current member of its household. The
    organization's own links (``created``, ``enrolled``) are other rows and stay. The caller
    holds the clients' ``referred`` locks (``lock_referred``)."""
    for org_id in dict.fromkeys(organization_ids):
        held = and_(
            or_(Match.organization_id == org_id, Match.ehv_case_manager_organization_id == org_id),
            Match.status.in_(REFERRAL_HOLDS),
        )
        if except_match_id is not None:
            held = and_(held, Match.id != except_match_id)
        # The clients of those matches' households (what their sending granted).
        still_needed = union(
            select(Match.head_client_id).where(held),
            select(HouseholdMember.client_id)
            .join(QueueEntry, QueueEntry.household_id == HouseholdMember.household_id)
            .join(Match, Match.queue_entry_id == QueueEntry.id)
            .where(held),
        )
        await session.execute(
            delete(ClientAccess).where(
                ClientAccess.coc_id == coc_id,
                ClientAccess.client_id.in_(client_ids),
                ClientAccess.organization_id == org_id,
                ClientAccess.reason == "referred",
                ClientAccess.client_id.not_in(still_needed),
            )
        )


async def referring_organizations(
    session: AsyncSession, household_id: uuid.UUID
) -> list[uuid.UUID]:
    """The organizations a match of the household's queue entries that still holds its access
    referred the household to (providers and EHV case-manager agencies)."""
    rows = (
        await session.execute(
            select(Match.organization_id, Match.ehv_case_manager_organization_id)
            .join(QueueEntry, QueueEntry.id == Match.queue_entry_id)
            .where(QueueEntry.household_id == household_id, Match.status.in_(REFERRAL_HOLDS))
        )
    ).all()
    return list(dict.fromkeys(o for row in rows for o in row if o is not None))


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
