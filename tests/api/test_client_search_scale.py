"""Find client and duplicate detection stay bounded as the population grows: candidates are
chosen and ordered in SQL (one GIN lookup of name key pairs), at most ``RANK_LIMIT`` of them are
ranked, and ranking a long list runs in a worker thread, off the event loop."""

from __future__ import annotations

import importlib.util
import threading
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Client, ClientAccess
from app.models.clients import NAME_PAIR_KEYS_SQL
from app.services.clients import search as client_search
from app.services.clients.search import _Name, _pair_keys, name_keys
from tests.conftest import ROOT, Auth, World

URL = "/api/v1/clients"
# Spellings of one person's name, as data entry produces them.
LOOK_ALIKES = [
    ("John", "Smith"),
    ("Jon", "Smith"),
    ("John", "Smyth"),
    ("Jon", "Smyth"),
    ("Johnn", "Smith"),
    ("John", "Smithe"),
    ("Jonn", "Smit"),
    ("Joan", "Smith"),
]


async def _seed_look_alikes(db: AsyncSession, world: World, n: int, org_key: str) -> None:
    """``n`` look-alikes of John Smith (none born on 1975-06-01), visible to ``org_key``."""
    org = world.org_id(org_key)
    rows, access = [], []
    for i in range(n):
        first, last = LOOK_ALIKES[i % len(LOOK_ALIKES)]
        f, la = name_keys(first), name_keys(last)
        cid = uuid.uuid4()
        rows.append(
            {
                "id": cid,
                "coc_id": world.home.coc.id,
                "created_by_organization_id": org,
                "first_name": first,
                "last_name": last,
                "first_name_norm": f[0],
                "first_name_key": f[1],
                "first_name_alt_key": f[2],
                "last_name_norm": la[0],
                "last_name_key": la[1],
                "last_name_alt_key": la[2],
                "name_data_quality": 1,
                "ssn_data_quality": 99,
                "dob": date(1940, 1, 1) + timedelta(days=i),
                "dob_data_quality": 1,
                "veteran_status": 99,
                "race_none": 99,
                "version": 1,
            }
        )
        access.append(
            {"id": uuid.uuid4(), "client_id": cid, "organization_id": org, "reason": "created"}
        )
    await db.execute(insert(Client), rows)
    await db.execute(insert(ClientAccess), access)


@pytest.fixture
def ranked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, bool]]:
    """Records each ranking: (what, candidates ranked, ran on the event loop's thread)."""
    calls: list[tuple[str, int, bool]] = []
    loop_thread = threading.get_ident()

    def spy(name: str) -> None:
        real = getattr(client_search, name)

        def wrapper(*args: Any) -> Any:
            candidates: Sequence[Any] = args[-1]
            calls.append((name, len(candidates), threading.get_ident() == loop_thread))
            return real(*args)

        monkeypatch.setattr(client_search, name, wrapper)

    spy("_rank_duplicates")
    spy("_rank_search")
    return calls


async def test_create_among_many_look_alikes_ranks_a_bounded_list_off_the_loop(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    ranked: list[tuple[str, int, bool]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client_search, "RANK_LIMIT", 50)
    cm = await auth.headers("case_manager", org="access_point_1")
    same = await client.post(
        URL, json={"first_name": "John", "last_name": "Smith", "dob": "1975-06-01"}, headers=cm
    )
    assert same.status_code == 201, same.text
    await _seed_look_alikes(db, world, 300, "access_point_1")
    ranked.clear()

    r = await client.post(
        URL, json={"first_name": "Jon", "last_name": "Smith", "dob": "1975-06-01"}, headers=cm
    )
    assert r.status_code == 201, r.text
    duplicates = r.json()["possible_duplicates"]
    # The best candidate is found although 300 look-alikes share its name keys: candidates are
    # ordered in SQL (same DOB first), and only RANK_LIMIT of them are ranked, in a worker thread.
    assert duplicates[0]["client"]["id"] == same.json()["id"]
    assert "same date of birth" in duplicates[0]["reasons"]
    assert len(duplicates) <= client_search.DUPLICATE_LIMIT
    assert ranked == [("_rank_duplicates", 50, False)]


async def test_search_among_many_look_alikes_is_bounded_and_best_first(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    ranked: list[tuple[str, int, bool]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client_search, "RANK_LIMIT", 60)
    cm = await auth.headers("case_manager", org="access_point_1")
    john = await client.post(
        URL,
        json={"first_name": "John", "last_name": "Smith", "dob": "1975-06-01", "ssn": "234567812"},
        headers=cm,
    )
    assert john.status_code == 201
    await _seed_look_alikes(db, world, 200, "access_point_1")
    await _seed_look_alikes(db, world, 50, "access_point_2")  # not visible to the caller
    ranked.clear()

    r = await client.post(
        f"{URL}/search", json={"name": "Jon Smyth", "dob": "1975-06-01", "limit": 5}, headers=cm
    )
    items = r.json()["items"]
    assert items[0]["client"]["id"] == john.json()["id"]
    assert len(items) == 5
    visible = {
        str(i)
        for i in await db.scalars(
            select(ClientAccess.client_id).where(
                ClientAccess.organization_id == world.org_id("access_point_1")
            )
        )
    }
    assert {i["client"]["id"] for i in items} <= visible
    assert ranked == [("_rank_search", 60, False)]

    # A short list is ranked inline (a thread hop would cost more than the ranking).
    ranked.clear()
    r = await client.post(f"{URL}/search", json={"client_id": john.json()["id"]}, headers=cm)
    assert [i["client"]["id"] for i in r.json()["items"]] == [john.json()["id"]]
    assert ranked == [("_rank_search", 1, True)]


async def test_name_forms_still_found(client: httpx.AsyncClient, auth: Auth) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    ids = {}
    people = (("Maria", "Garcia"), ("Ana", "Garcia Lopez"), ("Li", "Wu"), ("Nicholas", "Okafor"))
    for first, last in people:
        r = await client.post(URL, json={"first_name": first, "last_name": last}, headers=cm)
        ids[first] = r.json()["id"]

    async def found(body: dict[str, Any]) -> list[str]:
        r = await client.post(f"{URL}/search", json=body, headers=cm)
        assert r.status_code == 200, r.text
        return [i["client"]["id"] for i in r.json()["items"]]

    assert ids["Maria"] in await found({"name": "Maria Elena Garcia"})  # a middle name
    assert ids["Ana"] in await found({"name": "Garcia Lopez, Ana"})
    assert ids["Li"] in await found({"name": "Li Wu"})  # names under 3 letters
    assert ids["Nicholas"] in await found({"name": "Okafor, N"})  # an initial
    assert ids["Nicholas"] in await found({"name": "Okafor Nicolas"})  # swapped, misspelled
    assert ids["Nicholas"] in await found({"name": "Okafor"})  # one name
    # Two names must both agree (a DOB, SSN last 4 or id widens the net).
    assert ids["Nicholas"] not in await found({"name": "Nicholas Quartermaine"})


async def test_stored_name_pair_keys_match_the_query_keys(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    """The generated column and the query build the same key strings."""
    cm = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(URL, json={"first_name": "Zoë", "last_name": "O'Brien"}, headers=cm)
    stored = await db.scalar(
        select(Client.name_pair_keys).where(Client.id == uuid.UUID(r.json()["id"]))
    )
    first, last, initial = _Name.of("Zoë"), _Name.of("O'Brien"), _Name.of("Z")
    assert first and last and initial
    assert set(_pair_keys(first, last)) <= set(stored or [])
    assert set(_pair_keys(initial, last)) & set(stored or [])  # "O'Brien, Z" finds her
    assert set(_pair_keys(last, first)).isdisjoint(stored or [])  # swapped is looked up as such

    spec = importlib.util.spec_from_file_location(
        "m0006", ROOT / "migrations" / "versions" / "0006_audit_read_subjects.py"
    )
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.NAME_PAIR_KEYS_SQL == NAME_PAIR_KEYS_SQL
