"""The ``referred`` access of a provider when one of its matches ends while another match of
the same provider for the same client is being sent, on committed transactions (separate
connections, interleaved deterministically; no timing).

The client is the head of one household and a member of another; the provider (Hope Housing
Partners) has a match for the second household, which ends (declined), while the CAS admin sends
the first household to the same provider. The end must not take away the access the new match
holds, in whichever order the two transactions run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.context import Actor
from app.db import create_sessionmaker
from app.reference.matching import DeclineReason
from app.schemas.matching import MatchCreate
from app.services.clients import merge
from app.services.demo import demo_uuid
from app.services.matching import matches
from tests.api.test_concurrency import committed  # the committed database (module fixture)
from tests.api.test_matching_concurrency import _approved_entries, _login, _unit
from tests.support.races import backend_pid as _pid
from tests.support.races import finished_or_waiting as _finished_or_waiting
from tests.support.races import seeded_actor

__all__ = ["committed"]

HOPE = demo_uuid("XX-501", "organization", "housing_1")


@dataclass
class Setup:
    ending: uuid.UUID  # Hope's open match of the household that also holds ``shared``
    entry: uuid.UUID  # the queue entry of ``shared``'s own household, about to be sent
    unit: uuid.UUID  # a free unit of Hope's for it
    shared: uuid.UUID  # head of ``entry``, member of the ending match's household
    other: uuid.UUID  # head of the ending match's household (only in that one)
    admin: Actor
    provider: Actor


async def _setup(client: httpx.AsyncClient, engine: AsyncEngine) -> Setup:
    first, second = await _approved_entries(client, engine, 2)
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT q.household_id, q.coc_id, q.head_client_id, "
                    "(SELECT head_client_id FROM queue_entries WHERE id = :s) AS shared "
                    "FROM queue_entries q WHERE q.id = :f"
                ),
                {"f": first, "s": second},
            )
        ).one()
        # The second household's head is also a member of the first household.
        await conn.execute(
            text(
                "INSERT INTO household_members (id, coc_id, household_id, client_id, "
                "relationship_to_hoh, created_at, updated_at) "
                "VALUES (:i, :coc, :h, :c, 5, now(), now())"
            ),
            {"i": uuid.uuid4(), "coc": row.coc_id, "h": row.household_id, "c": row.shared},
        )
    admin_headers = await _login(client, "cas_admin@demo.example")
    r = await client.post(
        "/api/v1/matches",
        json={"unit_id": await _unit(client), "queue_entry_id": str(first)},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    setup = Setup(
        ending=uuid.UUID(r.json()["id"]),
        entry=second,
        unit=uuid.UUID(await _unit(client)),
        shared=row.shared,
        other=row.head_client_id,
        admin=await seeded_actor(
            engine, "cas_admin@demo.example", demo_uuid("XX-501", "organization", "cas")
        ),
        provider=await seeded_actor(engine, "housing_provider@demo.example", HOPE),
    )
    assert await _referred(engine, [setup.shared, setup.other]) == {setup.shared, setup.other}
    return setup


async def _referred(engine: AsyncEngine, clients: list[uuid.UUID]) -> set[uuid.UUID]:
    """The clients among ``clients`` Hope holds ``referred`` access to (committed rows)."""
    async with engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT client_id FROM client_access WHERE organization_id = :o "
                "AND reason = 'referred' AND client_id = ANY(:c)"
            ),
            {"o": HOPE, "c": clients},
        )
        return {r.client_id for r in found}


async def _statuses(engine: AsyncEngine, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT id, status FROM matches WHERE id = ANY(:m)"), {"m": ids}
        )
        return {r.id: r.status for r in found}


async def _end(session: AsyncSession, provider: Actor, match_id: uuid.UUID) -> None:
    match = await matches.get_visible_match(session, provider, match_id, for_update=True)
    await matches.decline(session, provider, match, DeclineReason.ANOTHER_HOUSING_OPTION, None)


async def _send(session: AsyncSession, setup: Setup) -> uuid.UUID:
    match = await matches.create_match(
        session, setup.admin, MatchCreate(unit_id=setup.unit, queue_entry_id=setup.entry)
    )
    return match.id


async def _then_commit(session: AsyncSession, work: Awaitable[object]) -> None:
    await work
    await session.commit()


async def test_an_end_while_another_match_is_sent_keeps_the_access_the_new_match_holds(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    """The send has granted (the row was already there: its grant changed nothing) but not
    committed when the other match's end checks which clients another match still holds: the
    end waits for the send (the ``referred`` lock of the client) and then sees the new match,
    so the shared client's grant stays; the other head's ends as before."""
    client, engine = committed
    setup = await _setup(client, engine)
    sessions = create_sessionmaker(engine)
    async with sessions() as sending, sessions() as ending:
        sender = await _pid(sending)
        new = await _send(sending, setup)  # flushed, uncommitted
        ender = await _pid(ending)
        task = asyncio.create_task(_then_commit(ending, _end(ending, setup.provider, setup.ending)))
        waited_on = await _finished_or_waiting(engine, task, ender, sender)
        await sending.commit()
        await task
    assert await _statuses(engine, [new, setup.ending]) == {new: "sent", setup.ending: "declined"}
    # The shared client is held by the new match; the other head by none.
    assert await _referred(engine, [setup.shared, setup.other]) == {setup.shared}
    hp = await _login(client, "housing_provider@demo.example")
    url = "/api/v1/clients/{}"
    assert (await client.get(url.format(setup.shared), headers=hp)).status_code == 200
    assert (await client.get(url.format(setup.other), headers=hp)).status_code == 404
    # The end waited for the send: for its advisory lock, not a row.
    assert waited_on == "advisory"


async def test_a_send_while_another_match_ends_grants_the_access_again(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    """The other order: the end has removed the shared client's grant (no committed match held
    it) but not committed when the send grants; the send waits for the end and grants anew."""
    client, engine = committed
    setup = await _setup(client, engine)
    sessions = create_sessionmaker(engine)
    async with sessions() as sending, sessions() as ending:
        ender = await _pid(ending)
        await _end(ending, setup.provider, setup.ending)  # flushed, uncommitted
        sender = await _pid(sending)
        new: list[uuid.UUID] = []

        async def send() -> None:
            new.append(await _send(sending, setup))

        task = asyncio.create_task(_then_commit(sending, send()))
        waited_on = await _finished_or_waiting(engine, task, sender, ender)
        await ending.commit()
        await task
    assert waited_on == "advisory"
    assert await _statuses(engine, [*new, setup.ending]) == {
        new[0]: "sent",
        setup.ending: "declined",
    }
    assert await _referred(engine, [setup.shared, setup.other]) == {setup.shared}


async def test_an_end_alone_still_ends_the_access_no_other_match_holds(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    """Unchanged: with no other match of the provider holding them, the end takes every client
    of the household off the provider's caseload (committed, through the same lock)."""
    client, engine = committed
    setup = await _setup(client, engine)
    deletes: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM CLIENT_ACCESS"):
            deletes.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with create_sessionmaker(engine)() as ending:
            await _end(ending, setup.provider, setup.ending)
            await ending.commit()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert await _statuses(engine, [setup.ending]) == {setup.ending: "declined"}
    assert await _referred(engine, [setup.shared, setup.other]) == set()
    # The revocation names the match's CoC (a CoC-sharded deployment routes it by that value).
    assert deletes and all("client_access.coc_id = " in d for d in deletes), deletes


async def test_a_merge_while_a_match_ends_keeps_the_access_the_merged_records_match_holds(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    """A merge moves ``referred`` rows too: the duplicate (a member of a household with an open
    match of Hope) is merged into the head of another household whose match of Hope ends at
    the same moment. The merge drops the duplicate's grant (the survivor has one); the end
    waits for the merge (the survivor's row) and then sees that the open match's household now
    holds the survivor, so the survivor's grant stays."""
    client, engine = committed
    first, second = await _approved_entries(client, engine, 2)
    cm = await _login(client, "case_manager@demo.example")
    r = await client.post(
        "/api/v1/clients", headers=cm, json={"first_name": "Merge", "last_name": "Twin"}
    )
    assert r.status_code == 201, r.text
    duplicate = uuid.UUID(r.json()["id"])
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT q.household_id, q.coc_id, "
                    "(SELECT head_client_id FROM queue_entries WHERE id = :f) AS survivor "
                    "FROM queue_entries q WHERE q.id = :s"
                ),
                {"f": first, "s": second},
            )
        ).one()
        await conn.execute(
            text(
                "INSERT INTO household_members (id, coc_id, household_id, client_id, "
                "relationship_to_hoh, created_at, updated_at) "
                "VALUES (:i, :coc, :h, :c, 5, now(), now())"
            ),
            {"i": uuid.uuid4(), "coc": row.coc_id, "h": row.household_id, "c": duplicate},
        )
    survivor = row.survivor
    admin_headers = await _login(client, "cas_admin@demo.example")
    sent = []
    for entry in (first, second):
        r = await client.post(
            "/api/v1/matches",
            json={"unit_id": await _unit(client), "queue_entry_id": str(entry)},
            headers=admin_headers,
        )
        assert r.status_code == 201, r.text
        sent.append(uuid.UUID(r.json()["id"]))
    ending, open_match = sent
    assert await _referred(engine, [survivor, duplicate]) == {survivor, duplicate}
    admin = await seeded_actor(
        engine, "cas_admin@demo.example", demo_uuid("XX-501", "organization", "cas")
    )
    provider = await seeded_actor(engine, "housing_provider@demo.example", HOPE)
    sessions = create_sessionmaker(engine)
    async with sessions() as merging, sessions() as ends:
        merger = await _pid(merging)
        await merge.merge_clients(merging, admin, survivor, duplicate)  # uncommitted
        ender = await _pid(ends)
        task = asyncio.create_task(_then_commit(ends, _end(ends, provider, ending)))
        waited_on = await _finished_or_waiting(engine, task, ender, merger)
        await merging.commit()
        await task
    assert await _statuses(engine, [ending, open_match]) == {
        ending: "declined",
        open_match: "sent",
    }
    assert await _referred(engine, [survivor, duplicate]) == {survivor}
    assert waited_on is not None  # for the survivor's row, locked by the merge


async def test_a_merge_of_a_match_head_while_the_match_ends_does_not_deadlock(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    """The ending match's head is merged (as the duplicate) into another record at the same
    moment. The end holds the match's row and then takes the clients' ``referred`` locks; the
    merge re-points the match's head. The merge takes the rows of the matches, queue entries and
    units naming either record before the clients' rows (the order of the match's paths), so it
    waits for the end instead of holding a client the end waits for: both finish, neither is
    aborted as a deadlock."""
    client, engine = committed
    [entry] = await _approved_entries(client, engine, 1)
    cm = await _login(client, "case_manager@demo.example")
    r = await client.post(
        "/api/v1/clients", headers=cm, json={"first_name": "Merge", "last_name": "Keeper"}
    )
    assert r.status_code == 201, r.text
    survivor = uuid.UUID(r.json()["id"])
    admin_headers = await _login(client, "cas_admin@demo.example")
    r = await client.post(
        "/api/v1/matches",
        json={"unit_id": await _unit(client), "queue_entry_id": str(entry)},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    ending = uuid.UUID(r.json()["id"])
    duplicate = uuid.UUID(r.json()["head_client_id"])
    admin = await seeded_actor(
        engine, "cas_admin@demo.example", demo_uuid("XX-501", "organization", "cas")
    )
    provider = await seeded_actor(engine, "housing_provider@demo.example", HOPE)
    sessions = create_sessionmaker(engine)
    async with sessions() as merging, sessions() as ends:
        ender = await _pid(ends)
        match = await matches.get_visible_match(ends, provider, ending, for_update=True)
        merger = await _pid(merging)
        task = asyncio.create_task(
            _then_commit(merging, merge.merge_clients(merging, admin, survivor, duplicate))
        )
        # The merge waits for the end (the match's row) ...
        assert await _finished_or_waiting(engine, task, merger, ender) is not None
        # ... and the end goes on to the clients' locks and commits.
        await matches.decline(ends, provider, match, DeclineReason.ANOTHER_HOUSING_OPTION, None)
        await ends.commit()
        await task
    assert await _statuses(engine, [ending]) == {ending: "declined"}
    async with engine.connect() as conn:
        merged = await conn.scalar(
            text("SELECT merged_into_id FROM clients WHERE id = :d"), {"d": duplicate}
        )
        head = await conn.scalar(
            text("SELECT head_client_id FROM matches WHERE id = :m"), {"m": ending}
        )
    assert merged == survivor and head == survivor
    assert await _referred(engine, [survivor, duplicate]) == set()
