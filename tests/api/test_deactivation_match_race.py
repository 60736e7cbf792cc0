"""A provider deactivated while a match is sent to it, on committed transactions (separate
connections, interleaved deterministically through the server's lock table; no timing). Both
take the organization row (the match ``FOR SHARE``, the deactivation ``FOR NO KEY UPDATE``), so
whichever checks second sees the first: the match is listed and the deactivation refused, or
the match is refused as sent to a deactivated organization.
"""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.context import Actor
from app.errors import Conflict
from app.schemas.matching import MatchCreate
from app.schemas.organizations import OrganizationUpdate
from app.services.demo import demo_uuid
from app.services.identity import organizations
from app.services.matching import matches
from tests.api.test_concurrency import committed  # the committed database (module fixture)
from tests.api.test_matching_concurrency import _approved_entries, _unit
from tests.support.races import second_waits, seeded_actor

__all__ = ["committed"]

HOPE = demo_uuid("XX-501", "organization", "housing_1")


async def _actors(engine: AsyncEngine) -> tuple[Actor, Actor]:
    cas = await seeded_actor(
        engine, "cas_admin@demo.example", demo_uuid("XX-501", "organization", "cas")
    )
    system = await seeded_actor(
        engine, "system_admin@demo.example", demo_uuid("XX-501", "organization", "hmis_lead")
    )
    return cas, system


async def _send(session: AsyncSession, admin: Actor, unit: str, entry: uuid.UUID) -> uuid.UUID:
    body = MatchCreate(unit_id=uuid.UUID(unit), queue_entry_id=entry)
    return (await matches.create_match(session, admin, body)).id


async def _deactivate(session: AsyncSession, system: Actor) -> None:
    org = await organizations.get_organization(session, system, HOPE)
    await organizations.update_organization(
        session, system, org, OrganizationUpdate(is_active=False)
    )


async def _state(engine: AsyncEngine) -> tuple[bool, list[uuid.UUID]]:
    """Hope's active flag and its matches in progress (committed)."""
    async with engine.connect() as conn:
        active = (
            await conn.execute(
                text("SELECT is_active FROM organizations WHERE id = :o"), {"o": HOPE}
            )
        ).scalar_one()
        sent = (
            await conn.execute(
                text(
                    "SELECT m.id FROM matches m JOIN projects p ON p.id = m.project_id "
                    "WHERE p.organization_id = :o AND m.status = 'sent'"
                ),
                {"o": HOPE},
            )
        ).scalars()
        return active, list(sent)


async def _reactivate(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE organizations SET is_active = true WHERE id = :o"), {"o": HOPE}
        )


async def test_a_deactivation_while_a_match_is_sent_waits_and_is_refused(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    """The match has passed its check (and is inserted) but not committed: the deactivation
    waits for it, then lists it and is refused (409); the match stays sent."""
    client, engine = committed
    await _reactivate(engine)
    [entry] = await _approved_entries(client, engine, 1)
    unit = await _unit(client)
    cas, system = await _actors(engine)
    run = await second_waits(
        engine,
        lambda sending: _send(sending, cas, unit, entry),
        lambda deactivating: _deactivate(deactivating, system),
    )
    assert run.waited_on == "transactionid"
    sent, refused = run.first, run.error
    assert isinstance(sent, uuid.UUID) and isinstance(refused, Conflict)
    assert str(sent) in refused.extra["match_ids"]
    active, in_progress = await _state(engine)
    assert active and sent in in_progress


async def test_a_match_sent_while_the_provider_is_deactivated_waits_and_is_refused(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    """The other order: the deactivation has passed its check (no match in progress) but not
    committed; the match waits for it, then finds the organization deactivated (409)."""
    client, engine = committed
    await _reactivate(engine)
    [entry] = await _approved_entries(client, engine, 1)
    unit = await _unit(client)
    cas, system = await _actors(engine)
    # No match of Hope's in progress (the other test's is canceled, as a CAS admin would).
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE matches SET status = 'canceled', cancel_reason = 'sent_in_error' "
                "WHERE project_id IN (SELECT id FROM projects WHERE organization_id = :o) "
                "AND status = 'sent'"
            ),
            {"o": HOPE},
        )
    try:
        run = await second_waits(
            engine,
            lambda deactivating: _deactivate(deactivating, system),
            lambda sending: _send(sending, cas, unit, entry),
        )
        assert run.waited_on == "transactionid"
        assert isinstance(run.error, Conflict)
        assert "deactivated" in str(run.error.detail)
        assert await _state(engine) == (False, [])
    finally:
        await _reactivate(engine)
