"""Find client runs its candidate statement compiled once per form of query, with each caller's
values bound (``search.candidate_query``), and writes its read event with one INSERT
(``audit.write_pii_reads``): the same clients as the rule of ``clients.access``, the same
event as the ORM would write."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.models import AuditEvent, Client, ClientAccess
from app.permissions import Role
from app.services.clients import access
from app.services.clients import search as client_search
from app.services.platform import audit
from tests.conftest import Auth, World
from tests.support.actors import make_actor

URL = "/api/v1/clients"


async def _client(
    db: AsyncSession,
    world: World,
    org_key: str,
    last: str,
    *,
    coc: str = "home",
    roi: tuple[date, date | None] | None = None,
) -> uuid.UUID:
    cid = uuid.uuid4()
    first_keys, last_keys = client_search.name_keys("Ada"), client_search.name_keys(last)
    await db.execute(
        insert(Client).values(
            id=cid,
            coc_id=getattr(world, coc).coc.id,
            created_by_organization_id=world.org_id(org_key, coc),
            first_name="Ada",
            last_name=last,
            first_name_norm=first_keys[0],
            first_name_key=first_keys[1],
            first_name_alt_key=first_keys[2],
            last_name_norm=last_keys[0],
            last_name_key=last_keys[1],
            last_name_alt_key=last_keys[2],
            name_data_quality=1,
            ssn_data_quality=99,
            dob_data_quality=99,
            veteran_status=99,
            race_none=99,
            version=1,
            roi_start_date=roi[0] if roi else None,
            roi_end_date=roi[1] if roi else None,
        )
    )
    await db.execute(
        insert(ClientAccess).values(
            id=uuid.uuid4(),
            client_id=cid,
            organization_id=world.org_id(org_key, coc),
            reason="created",
            coc_id=getattr(world, coc).coc.id,
        )
    )
    return cid


async def test_the_bound_rule_selects_exactly_what_the_rule_selects(
    db: AsyncSession, world: World
) -> None:
    today = clock.today(make_actor())
    await _client(db, world, "access_point_1", "Own")
    await _client(db, world, "access_point_2", "Elsewhere")
    await _client(db, world, "access_point_2", "Consented", roi=(today - timedelta(days=9), None))
    await _client(
        db,
        world,
        "access_point_2",
        "Lapsed",
        roi=(today - timedelta(days=90), today - timedelta(days=1)),
    )
    await _client(db, world, "access_point_1", "Away", coc="other")
    home = world.home.coc.id
    actors = [
        make_actor(
            org=world.org_id("access_point_1"), coc=home, user_id=world.user_id("case_manager")
        ),
        make_actor(org=world.org_id("access_point_2"), coc=home),
        make_actor(Role.SYSTEM_ADMIN, org=world.org_id("access_point_1"), coc=home),
        make_actor(org=world.org_id("access_point_1"), coc=home, vsp=True),
        make_actor(org=world.org_id("access_point_1", "other"), coc=world.other.coc.id),
    ]
    shapes = set()
    for actor in actors:
        shape = access.visibility_shape(actor)
        shapes.add(shape)
        rule = set(await db.scalars(select(Client.id).where(access.visible_clients_filter(actor))))
        bound = set(
            await db.scalars(
                select(Client.id).where(access.bound_visible_clients_filter(shape)),
                access.visibility_values(actor),
            )
        )
        assert bound == rule, (actor.role, shape)
    assert shapes == {"nothing", "coc", "granted"}


async def test_each_form_is_compiled_once_and_every_caller_gets_their_own_answer(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client_search, "_COMPILED", {})
    mine = await _client(db, world, "access_point_1", "Quillfeather")
    theirs = await _client(db, world, "access_point_2", "Quillfeather")
    ap1 = await auth.headers("case_manager", org="access_point_1")
    ap2 = await auth.headers("case_manager2", org="access_point_2")

    async def found(headers: dict[str, str], body: dict[str, Any]) -> list[str]:
        r = await client.post(f"{URL}/search", json=body, headers=headers)
        assert r.status_code == 200, r.text
        return [hit["client"]["id"] for hit in r.json()["items"]]

    assert await found(ap1, {"name": "Ada Quillfeather"}) == [str(mine)]
    assert len(client_search._COMPILED) == 1
    # The same form (two names, an agency's caller): the compiled statement is reused, with the
    # other caller's organization and names bound.
    assert await found(ap2, {"name": "Ada Quilfeather"}) == [str(theirs)]
    assert await found(ap2, {"name": "Ada Nobodyhere"}) == []
    assert len(client_search._COMPILED) == 1
    # Another form (a date of birth too; an admin) is compiled once more, each.
    assert await found(ap1, {"name": "Ada Quillfeather", "dob": "1980-01-01"}) == [str(mine)]
    admin = await auth.headers("system_admin")
    assert set(await found(admin, {"name": "Ada Quillfeather"})) == {str(mine), str(theirs)}
    assert len(client_search._COMPILED) == 3
    # Every table the statement reads is confined to the caller's CoC (a sharded deployment
    # routes by it), as the session's scope confines ORM reads.
    names = [n for n in map(client_search._Name.of, ["Ada", "Quillfeather"]) if n]
    query = client_search.candidate_query(
        make_actor(org=world.org_id("access_point_1"), coc=world.home.coc.id),
        client_search.Terms(names=names),
        (await db.connection()).dialect,
    )
    assert query is not None
    sql = query[0]
    for table in ("clients", "client_access", "case_assignments", "enrollments"):
        assert f"{table}.coc_id = " in sql, table


async def test_a_search_is_one_read_event_listing_the_hits_in_the_order_shown(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    ids = [await _client(db, world, "access_point_1", last) for last in ("Ostrander", "Ostrandr")]
    cm = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(f"{URL}/search", json={"name": "Ada Ostrander"}, headers=cm)
    shown = [uuid.UUID(hit["client"]["id"]) for hit in r.json()["items"]]
    assert set(shown) == set(ids)
    events = (
        await db.scalars(
            select(AuditEvent).where(AuditEvent.request_id == r.headers["x-request-id"])
        )
    ).all()
    assert len(events) == 1
    event = events[0]
    assert event.subject_ids == shown
    assert (event.action, event.entity_type, event.entity_id) == ("pii.read", "client", None)
    assert event.changes == {"fields": ["dob", "name", "ssn_masked"]}
    assert event.actor_user_id == world.user_id("case_manager")
    assert event.acting_organization_id == world.org_id("access_point_1")
    assert event.coc_id == world.home.coc.id
    assert event.ip_address and event.occurred_at

    # Nothing shown, nothing recorded.
    r = await client.post(f"{URL}/search", json={"name": "Ada Nowhere"}, headers=cm)
    assert r.json()["items"] == []
    assert not (
        await db.scalars(
            select(AuditEvent.id).where(AuditEvent.request_id == r.headers["x-request-id"])
        )
    ).all()


async def test_a_written_read_event_comes_after_the_events_recorded_before_it(
    db: AsyncSession, world: World
) -> None:
    actor = make_actor(
        org=world.org_id("access_point_1"),
        coc=world.home.coc.id,
        user_id=world.user_id("case_manager"),
    )
    first, second = uuid.uuid4(), uuid.uuid4()
    earlier = audit.record(db, actor, "client.updated", "client", first)
    await audit.write_pii_reads(db, actor, [second, first, second], fields=["name"])
    await audit.write_pii_reads(db, actor, [])  # nothing shown: no event
    events = (
        await db.scalars(
            select(AuditEvent)
            .where(AuditEvent.actor_user_id == actor.user_id)
            .order_by(AuditEvent.occurred_at)
        )
    ).all()
    assert [e.action for e in events][-2:] == ["client.updated", "pii.read"]
    assert events[-2].id == earlier.id
    assert events[-1].subject_ids == [second, first]
    assert events[-1].changes == {"fields": ["name"]}
