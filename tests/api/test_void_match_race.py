"""Voiding an intake while a match of its queue entry is sent, on committed transactions
(separate connections, interleaved deterministically; no timing): in either order one of the
two is refused (409) and nothing of it is written, so no active match is left on a voided
intake: both lock the queue entry before their checks, so the second sees what the first
committed."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.context import Actor
from app.errors import Conflict
from app.models.enrollments import Enrollment
from app.schemas.matching import MatchCreate
from app.services.ce import void
from app.services.demo import demo_uuid
from app.services.matching import matches
from tests.api.test_concurrency import committed  # the committed database (module fixture)
from tests.api.test_matching_concurrency import _approved_entries, _unit
from tests.support.races import second_waits, seeded_actor

__all__ = ["committed"]


async def _setup(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, Actor]:
    [entry] = await _approved_entries(client, engine, 1)
    unit = uuid.UUID(await _unit(client))
    async with engine.connect() as conn:
        head = await conn.scalar(
            text("SELECT head_enrollment_id FROM queue_entries WHERE id = :e"), {"e": entry}
        )
    admin = await seeded_actor(
        engine, "cas_admin@demo.example", demo_uuid("XX-501", "organization", "cas")
    )
    return entry, unit, head, admin


async def _void(session: AsyncSession, admin: Actor, enrollment_id: uuid.UUID) -> None:
    enrollment = await session.get_one(Enrollment, enrollment_id)
    await void.void_enrollment(session, admin, enrollment, "Recorded in error (race test).")


async def _send(session: AsyncSession, admin: Actor, unit: uuid.UUID, entry: uuid.UUID) -> None:
    await matches.create_match(session, admin, MatchCreate(unit_id=unit, queue_entry_id=entry))


async def _state(engine: AsyncEngine, entry: uuid.UUID, head: uuid.UUID) -> tuple[int, bool]:
    """The entry's active matches, and whether its intake is voided (committed rows)."""
    async with engine.connect() as conn:
        active = await conn.scalar(
            text(
                "SELECT count(*) FROM matches WHERE queue_entry_id = :e AND status IN "
                "('sent', 'accepted', 'ehv_navigation', 'ehv_voucher_issued', "
                "'ehv_rfta_submitted', 'ehv_case_management')"
            ),
            {"e": entry},
        )
        voided = await conn.scalar(
            text("SELECT voided_at IS NOT NULL FROM enrollments WHERE id = :h"), {"h": head}
        )
    return int(active or 0), bool(voided)


async def test_a_send_while_the_intake_is_voided_fails_and_sends_nothing(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    client, engine = committed
    entry, unit, head, admin = await _setup(client, engine)
    run = await second_waits(
        engine,
        lambda voiding: _void(voiding, admin, head),
        lambda sending: _send(sending, admin, unit, entry),
    )
    assert run.waited_on is not None
    assert isinstance(run.error, Conflict) and "closed" in str(run.error.detail)
    assert await _state(engine, entry, head) == (0, True)


async def test_a_void_while_a_match_is_sent_fails_and_voids_nothing(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    client, engine = committed
    entry, unit, head, admin = await _setup(client, engine)
    run = await second_waits(
        engine,
        lambda sending: _send(sending, admin, unit, entry),
        lambda voiding: _void(voiding, admin, head),
    )
    assert run.waited_on is not None
    assert isinstance(run.error, Conflict) and "active match" in str(run.error.detail)
    assert await _state(engine, entry, head) == (1, False)
