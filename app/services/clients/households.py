"""Households: family members, the head of household and RelationshipToHoH (HUD 3.15).

Invariants (also enforced by the database): a client is in a household once; a household has
exactly one head (relationship 1). Changes that would break them -- a second head, removing or
demoting the only head, adding a client twice -- are refused with a problem naming the field,
before anything is written.

A household is visible to a caller who may see at least one of its members; members the caller
may not see are left out of responses (a household whose head the caller may not see shows
``head_of_household_id`` null). Changing a household needs the write right of
``clients.policy.can_write_household`` (``get_writable_household``), every named client visible,
and never touches a member the caller may not see.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.errors import Conflict, NotFound, ValidationFailed
from app.models import Client, Household, HouseholdMember
from app.schemas.clients import HouseholdMemberIn, HouseholdMemberRead, HouseholdRead
from app.schemas.pagination import PageParams
from app.security import utcnow
from app.services.clients import access as client_access
from app.services.clients import policy as client_policy
from app.services.clients.core import create_client
from app.services.platform import audit
from app.services.platform.crypto import FieldCipher
from app.services.platform.pagination import PageOf, paginate

HEAD = 1


def _conflict(field: str, message: str) -> Conflict:
    return Conflict(
        message, errors=[{"loc": ["body", *field.split(".")], "msg": message, "type": "conflict"}]
    )


async def _require_visible_client(
    session: AsyncSession, actor: Actor, client_id: uuid.UUID, field: str
) -> Client:
    """A member named in the body. A merged id is judged by its survivor: hidden, it is the
    same 422 as an unknown id; visible, the answer names the survivor to use instead."""
    client = await client_access.get_visible_body_client(session, actor, client_id, field)
    if client.id != client_id:
        raise ValidationFailed(
            f"This client was merged into {client.id}; use that id.", field=field
        )
    return client


def _touch(household: Household) -> None:
    """Bump the household's version (its ETag) when its membership changes."""
    household.updated_at = utcnow()


def visible_households_stmt(actor: Actor) -> Select[Household]:
    visible_member = (
        select(HouseholdMember.household_id)
        .join(Client, Client.id == HouseholdMember.client_id)
        .where(client_access.visible_clients_filter(actor))
    )
    return select(Household).where(
        Household.coc_id == actor.coc_id, Household.id.in_(visible_member)
    )


async def get_visible_household(
    session: AsyncSession, actor: Actor, household_id: uuid.UUID, *, for_update: bool = False
) -> Household:
    stmt = visible_households_stmt(actor).where(Household.id == household_id)
    if for_update:
        stmt = stmt.with_for_update(of=Household)
    household = await session.scalar(stmt)
    if household is None:
        raise NotFound("No such household.")
    return household


async def get_writable_household(
    session: AsyncSession, actor: Actor, household_id: uuid.UUID
) -> Household:
    """The household, locked for the change, if ``actor`` sees it (else 404) and may change it
    (else 403 ``household-not-writable``)."""
    household = await get_visible_household(session, actor, household_id, for_update=True)
    await client_policy.check_may_write_household(session, actor, household)
    return household


async def create_household(
    session: AsyncSession, actor: Actor, members: list[tuple[uuid.UUID, int]]
) -> Household:
    """A household of visible clients, exactly one of them the head (relationship 1)."""
    if not members:
        raise ValidationFailed("A household needs at least one member.", field="members")
    heads = [i for i, (_, rel) in enumerate(members) if rel == HEAD]
    if len(heads) != 1:
        field = f"members.{heads[1]}.relationship_to_hoh" if heads else "members"
        raise ValidationFailed(
            "A household has exactly one head of household (relationship_to_hoh 1); "
            f"{len(heads)} given.",
            field=field,
        )
    seen: set[uuid.UUID] = set()
    for i, (client_id, _) in enumerate(members):
        if client_id in seen:
            raise ValidationFailed(
                "A client can be in a household once.", field=f"members.{i}.client_id"
            )
        seen.add(client_id)
        await _require_visible_client(session, actor, client_id, f"members.{i}.client_id")
    household = Household(
        id=uuid.uuid4(), coc_id=actor.coc_id, created_by_organization_id=actor.organization_id
    )
    session.add(household)
    await session.flush()
    for client_id, rel in members:
        session.add(
            HouseholdMember(
                coc_id=household.coc_id,
                household_id=household.id,
                client_id=client_id,
                relationship_to_hoh=rel,
            )
        )
    await session.flush()
    audit.record(
        session,
        actor,
        "household.created",
        "household",
        household.id,
        {"members": [{"client_id": c, "relationship_to_hoh": r} for c, r in members]},
    )
    await session.refresh(household, ["members"])
    return household


async def resolve_members(
    session: AsyncSession,
    actor: Actor,
    members: list[HouseholdMemberIn],
    cipher: FieldCipher,
    *,
    in_list: bool,
) -> list[tuple[uuid.UUID, int]]:
    """(client id, relationship) per member, creating the clients given as new ones.

    ``in_list``: the members came as ``members[i]`` (errors name ``members.i.client.field``),
    else as the body itself (``client.field``).
    """
    resolved: list[tuple[uuid.UUID, int]] = []
    for i, member in enumerate(members):
        if member.client is not None:
            try:
                client, _ = await create_client(
                    session, actor, member.client, cipher, with_duplicates=False
                )
            except ValidationFailed as exc:
                prefix: list[str | int] = ["members", i, "client"] if in_list else ["client"]
                for err in exc.errors or []:
                    err["loc"] = ["body", *prefix, *err["loc"][1:]]
                raise
            resolved.append((client.id, member.relationship_to_hoh))
        else:
            assert member.client_id is not None  # the schema requires one of the two
            resolved.append((member.client_id, member.relationship_to_hoh))
    return resolved


def _member(household: Household, client_id: uuid.UUID) -> HouseholdMember | None:
    return next((m for m in household.members if m.client_id == client_id), None)


def _head(household: Household) -> HouseholdMember | None:
    return next((m for m in household.members if m.relationship_to_hoh == HEAD), None)


async def add_member(
    session: AsyncSession,
    actor: Actor,
    household: Household,
    client_id: uuid.UUID,
    relationship_to_hoh: int,
) -> Household:
    await _require_visible_client(session, actor, client_id, "client_id")
    if _member(household, client_id) is not None:
        raise _conflict("client_id", "This client is already a member of the household.")
    if relationship_to_hoh == HEAD and _head(household) is not None:
        raise _conflict(
            "relationship_to_hoh",
            "The household already has a head; change the head with PATCH on the new head's "
            "membership (previous_head_relationship_to_hoh).",
        )
    session.add(
        HouseholdMember(
            coc_id=household.coc_id,
            household_id=household.id,
            client_id=client_id,
            relationship_to_hoh=relationship_to_hoh,
        )
    )
    _touch(household)
    await session.flush()
    audit.record(
        session,
        actor,
        "household.member_added",
        "household",
        household.id,
        {"client_id": client_id, "relationship_to_hoh": relationship_to_hoh},
    )
    await session.refresh(household, ["members"])
    return household


async def _visible_member(
    session: AsyncSession, actor: Actor, household: Household, client_id: uuid.UUID
) -> HouseholdMember:
    member = _member(household, client_id)
    if member is None or not await client_access.can_see(session, actor, client_id):
        raise NotFound("No such member in this household.")
    return member


async def remove_member(
    session: AsyncSession, actor: Actor, household: Household, client_id: uuid.UUID
) -> Household:
    member = await _visible_member(session, actor, household, client_id)
    if member.relationship_to_hoh == HEAD:
        raise _conflict(
            "client_id",
            "The head of household cannot be removed; make another member the head first.",
        )
    # A match of the household referred the member to organizations: the member leaves that
    # referral. Their ``referred`` lock first (before the member's row: the order of a merge,
    # which locks clients before re-pointing members), then the grants no other match holds.
    referred_to = await client_access.referring_organizations(session, household.id)
    if referred_to:
        await client_access.lock_referred(session, [client_id])
    await session.delete(member)
    _touch(household)
    await session.flush()
    if referred_to:
        await client_access.revoke_referred_unless_held(
            session, household.coc_id, [client_id], referred_to
        )
    audit.record(
        session,
        actor,
        "household.member_removed",
        "household",
        household.id,
        {"client_id": client_id},
    )
    await session.refresh(household, ["members"])
    return household


async def change_relationship(
    session: AsyncSession,
    actor: Actor,
    household: Household,
    client_id: uuid.UUID,
    relationship_to_hoh: int,
    previous_head_relationship_to_hoh: int | None = None,
) -> Household:
    """Change a member's relationship; making a member head demotes the current head."""
    member = await _visible_member(session, actor, household, client_id)
    head = _head(household)
    old = member.relationship_to_hoh
    if old == relationship_to_hoh:
        return household
    changes: dict[str, object] = {
        "client_id": client_id,
        "relationship_to_hoh": {"old": old, "new": relationship_to_hoh},
    }
    if old == HEAD:
        raise _conflict(
            "relationship_to_hoh",
            "The only head of household cannot be demoted; make another member the head "
            "(previous_head_relationship_to_hoh says what this member becomes).",
        )
    if relationship_to_hoh == HEAD and head is not None:
        if not await client_access.can_see(session, actor, head.client_id):
            # Demoting a head the caller may not see: refused like any change it may not make.
            raise client_policy.HouseholdNotWritable(client_policy.HOUSEHOLD_NOT_WRITABLE)
        if previous_head_relationship_to_hoh is None:
            raise _conflict(
                "previous_head_relationship_to_hoh",
                "The household already has a head; say what the current head becomes "
                "(previous_head_relationship_to_hoh) to make this member the head.",
            )
        head.relationship_to_hoh = previous_head_relationship_to_hoh
        await session.flush()  # the old head first: one head at a time (partial unique index)
        changes["previous_head"] = {
            "client_id": head.client_id,
            "relationship_to_hoh": {"old": HEAD, "new": previous_head_relationship_to_hoh},
        }
    member.relationship_to_hoh = relationship_to_hoh
    _touch(household)
    await session.flush()
    audit.record(
        session, actor, "household.relationship_changed", "household", household.id, changes
    )
    await session.refresh(household, ["members"])
    return household


async def list_client_households(
    session: AsyncSession, actor: Actor, client_id: uuid.UUID, page: PageParams
) -> PageOf[HouseholdRead]:
    """The households the (visible) client belongs to, with the members ``actor`` may see."""
    client = await client_access.get_visible_client(session, actor, client_id)
    in_household = select(HouseholdMember.household_id).where(
        HouseholdMember.client_id == client.id
    )
    rows = await paginate(
        session,
        select(Household).where(Household.id.in_(in_household)),
        page,
        [Household.created_at, Household.id],
    )
    return PageOf(await household_reads(session, actor, rows.items), rows.next_cursor)


async def household_read(
    session: AsyncSession, actor: Actor, household: Household
) -> HouseholdRead:
    """The household with only the members ``actor`` may see."""
    [read] = await household_reads(session, actor, [household])
    return read


async def household_reads(
    session: AsyncSession, actor: Actor, households: Sequence[Household]
) -> list[HouseholdRead]:
    """Households with only the members ``actor`` may see: one query for any number of
    households (lists), and one audited name read per member shown."""
    ids = {m.client_id for h in households for m in h.members}
    names: dict[uuid.UUID, tuple[str | None, str | None]] = {}
    if ids:
        rows = await session.execute(
            select(Client.id, Client.first_name, Client.last_name).where(
                Client.id.in_(ids), client_access.visible_clients_filter(actor)
            )
        )
        names = {row.id: (row.first_name, row.last_name) for row in rows}
    reads = []
    shown: set[uuid.UUID] = set()
    for household in households:
        members = [
            HouseholdMemberRead(
                client_id=m.client_id,
                relationship_to_hoh=m.relationship_to_hoh,
                first_name=names[m.client_id][0],
                last_name=names[m.client_id][1],
                added_at=m.created_at,
            )
            for m in household.members
            if m.client_id in names
        ]
        shown.update(m.client_id for m in members)
        head = _head(household)
        reads.append(
            HouseholdRead(
                id=household.id,
                head_of_household_id=head.client_id if head and head.client_id in names else None,
                members=members,
                created_by_organization_id=household.created_by_organization_id,
                version=household.version,
                created_at=household.created_at,
                updated_at=household.updated_at,
            )
        )
    for client_id in sorted(shown):
        audit.record_pii_read(session, actor, "client", client_id, fields=["name"])
    return reads
