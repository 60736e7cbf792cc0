"""The queue over HTTP: rank order and why, every filter and sort, keyset pages in every order,
search by name, who may see it, bad input (DOMAIN 7, issue 12)."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app import clock
from app.reference.queue import QueueSortOrder
from tests.conftest import Auth, World, assert_problem
from tests.support.intake import rows, today
from tests.support.queue import QUEUE, SEARCH, entry_id, place, set_facts

NO_SCORE = 2**31 - 1


@dataclass
class Queue:
    """Four households on the queue with known facts (the default scheme ranks them C, A, D,
    B): ids by letter, and their heads' client ids."""

    ids: dict[str, uuid.UUID]
    clients: dict[str, uuid.UUID]
    enrollments: dict[str, uuid.UUID]

    def letter(self, entry: str) -> str:
        return next(k for k, v in self.ids.items() if str(v) == entry)

    def letters(self, items: list[dict[str, Any]]) -> list[str]:
        return [self.letter(i["id"]) for i in items]


@pytest.fixture
async def queue(client: httpx.AsyncClient, auth: Auth, db: Any) -> Queue:
    facts: dict[str, dict[str, Any]] = {
        "A": dict(
            chronic_recorded=True,
            score=5,
            days_homeless_3y=100,
            placed_on=today() - timedelta(days=10),
            intake_status="approved",
            household_size=1,
            household_type="adults_only",
            veteran=True,
            documents_on_file=["homeless", "housing_status", "identity", "disability"],
        ),
        "B": dict(
            score=15,
            days_homeless_3y=800,
            placed_on=today() - timedelta(days=20),
            intake_status="approved",
            household_size=3,
            household_type="adults_and_children",
            family_with_children=True,
            documents_on_file=["identity"],
        ),
        "C": dict(
            chronic_documented=True,
            score=10,
            days_homeless_3y=50,
            placed_on=today() - timedelta(days=5),
            intake_status="pending",
            household_size=2,
            household_type="adults_only",
        ),
        "D": dict(
            chronic_recorded=True,
            score=None,
            days_homeless_3y=900,
            placed_on=today() - timedelta(days=30),
            intake_status="incomplete_documentation",
            household_size=1,
            household_type="unknown",
            youth=True,
        ),
    }
    names = {"A": "Alma Avila", "B": "Bert Brown", "C": "Cleo Cruz", "D": "Dana Diaz"}
    ids, clients, enrollments = {}, {}, {}
    for letter, values in facts.items():
        first, last = names[letter].split()
        changes: dict[str, Any] = {}
        if letter == "B":
            changes["area_ties"] = [
                {"tie_date": "2020-01-01", "area": "outside_coc_area", "how": "worked"}
            ]
        placed = await place(client, auth, first=first, last=last, **changes)
        ids[letter] = entry_id(placed)
        clients[letter] = uuid.UUID(placed["client"]["id"])
        enrollments[letter] = uuid.UUID(placed["enrollment"]["id"])
        await set_facts(db, ids[letter], last_activity_at=_recent(), **values)
    return Queue(ids, clients, enrollments)


def _recent() -> datetime:
    return clock.now() - timedelta(days=1)


async def _list(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    r = await client.get(QUEUE, params=params, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["next_cursor"] is None
    return list(body["items"])


async def test_rank_order_and_why(client: httpx.AsyncClient, auth: Auth, queue: Queue) -> None:
    headers = await auth.headers("cas_admin")
    items = await _list(client, headers)
    assert queue.letters(items) == ["C", "A", "D", "B"]
    assert [i["priority"]["rank"] for i in items] == [1, 2, 3, 4]
    by = {queue.letter(i["id"]): i for i in items}
    c = by["C"]["priority"]
    assert [(k["key"], k["direction"]) for k in c["keys"]] == [
        ("chronic", "desc"),
        ("score", "desc"),
        ("days_homeless_3y", "desc"),
        ("days_on_queue", "desc"),
    ]
    assert [k["value"] for k in c["keys"]] == [True, 10, 50, 5]
    assert [k["sort_value"] for k in c["keys"]][:3] == [-1, -10, -50]
    d = by["D"]["priority"]["keys"]
    assert (d[1]["value"], d[1]["sort_value"]) == (None, NO_SCORE)
    assert by["B"]["priority"]["keys"][0] == {
        "key": "chronic",
        "direction": "desc",
        "value": False,
        "sort_value": 0,
    }
    assert all(isinstance(i["priority"]["tie_breaker"], int) for i in items)
    # The list shows the facts behind the keys.
    assert by["C"]["chronic"] == {"recorded": False, "documented": True}
    assert by["D"]["days_on_queue"] == 30 and by["D"]["score"] is None
    assert by["B"]["household"] == {
        "size": 3,
        "household_type": "adults_and_children",
        "veteran": False,
        "family_with_children": True,
        "youth": False,
    }
    assert by["A"]["client"]["first_name"] == "Alma"
    assert by["A"]["document_status"] == "complete" and by["B"]["document_status"] == "incomplete"
    assert by["C"]["documents_on_file"] == [] and by["C"]["document_status"] == "none"
    assert by["A"]["score_tool"] == "VI-SPDAT" and by["A"]["referral_status"] == "none"
    [manager] = by["A"]["case_managers"]
    assert manager["full_name"]


async def test_the_tie_breaker_decides_equal_keys(
    client: httpx.AsyncClient, auth: Auth, db: Any, queue: Queue
) -> None:
    same = dict(
        chronic_recorded=False,
        chronic_documented=False,
        score=7,
        days_homeless_3y=10,
        placed_on=today() - timedelta(days=3),
    )
    await set_facts(db, queue.ids["A"], tie_breaker=20, **same)
    await set_facts(db, queue.ids["C"], tie_breaker=10, **same)
    items = await _list(client, await auth.headers("cas_admin"))
    assert queue.letters(items) == ["D", "B", "C", "A"]
    assert [i["priority"]["tie_breaker"] for i in items[2:]] == [10, 20]


async def test_each_sort_in_both_directions_pages_by_keyset(
    client: httpx.AsyncClient, auth: Auth, queue: Queue
) -> None:
    headers = await auth.headers("cas_admin")
    ranked = await _list(client, headers)
    rank = {i["id"]: i["priority"]["rank"] for i in ranked}
    keys = {
        "rank": lambda i: (rank[i["id"]],),
        "client_id": lambda i: (uuid.UUID(i["client"]["id"]), uuid.UUID(i["id"])),
        "score": lambda i: (-1 if i["score"] is None else i["score"], rank[i["id"]]),
        "intake_status": lambda i: (i["intake_status"], rank[i["id"]]),
        "household_type": lambda i: (i["household"]["household_type"], rank[i["id"]]),
        "household_size": lambda i: (i["household"]["size"], rank[i["id"]]),
        "referral_status": lambda i: (i["referral_status"], rank[i["id"]]),
    }
    for sort in QueueSortOrder:
        name = sort.value.lstrip("-")
        expected = sorted(ranked, key=keys[name], reverse=sort.value.startswith("-"))
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            params: dict[str, Any] = {"sort": sort.value, "limit": 1}
            if cursor:
                params["cursor"] = cursor
            r = await client.get(QUEUE, params=params, headers=headers)
            assert r.status_code == 200, r.text
            page = r.json()
            seen += [i["id"] for i in page["items"]]
            # Every page shows the entries' ranks in the whole queue.
            assert all(i["priority"]["rank"] == rank[i["id"]] for i in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [i["id"] for i in expected], sort


async def test_sort_by_score_puts_no_score_first_then_exact_reverse(
    client: httpx.AsyncClient, auth: Auth, queue: Queue
) -> None:
    headers = await auth.headers("cas_admin")
    assert queue.letters(await _list(client, headers, sort="score")) == ["D", "A", "C", "B"]
    assert queue.letters(await _list(client, headers, sort="-score")) == ["B", "C", "A", "D"]
    by_size = await _list(client, headers, sort="-household_size")
    assert queue.letters(by_size) == ["B", "C", "D", "A"]  # sizes 3, 2, then 1s in reverse rank


async def test_a_cursor_continues_only_its_own_order(
    client: httpx.AsyncClient, auth: Auth, db: Any, queue: Queue
) -> None:
    headers = await auth.headers("cas_admin")
    r = await client.get(QUEUE, params={"sort": "score", "limit": 1}, headers=headers)
    cursor = r.json()["next_cursor"]
    before = await rows(db, "SELECT count(*) AS n FROM audit_events")
    body = assert_problem(
        await client.get(QUEUE, params={"sort": "rank", "cursor": cursor}, headers=headers),
        422,
        "validation-error",
    )
    assert "another sort order" in body["detail"]
    assert body["errors"][0]["loc"] == ["query", "cursor"]
    reversed_ = await client.get(
        QUEUE, params={"sort": "-score", "cursor": cursor}, headers=headers
    )
    assert_problem(reversed_, 422)
    for bad in ("not-a-cursor", _cursor(["score", "x", [1], str(uuid.uuid4())]), _cursor(["rank"])):
        r = await client.get(QUEUE, params={"sort": "score", "cursor": bad}, headers=headers)
        assert_problem(r, 422)
    # In rank order the cursor also carries its row's rank (a whole number from 1).
    some_id = str(uuid.uuid4())
    for tampered in (
        _cursor(["rank", [1, "x"], some_id, 3]),
        _cursor(["rank", [1, 2], some_id]),
        _cursor(["rank", [1, 2], some_id, 0]),
        _cursor(["rank", [1, 2], some_id, True]),
        _cursor(["rank", [1, 2], some_id, "3"]),
    ):
        r = await client.get(QUEUE, params={"cursor": tampered}, headers=headers)
        assert_problem(r, 422)
    assert await rows(db, "SELECT count(*) AS n FROM audit_events") == before


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "approved"}, ["A", "B"]),
        ({"status": ["pending", "incomplete_documentation"]}, ["C", "D"]),
        ({"chronic": "yes"}, ["C", "A", "D"]),
        ({"chronic": "no"}, ["B"]),
        ({"chronic": "recorded"}, ["A", "D"]),
        ({"chronic": "documented"}, ["C"]),
        ({"household_type": "adults_only"}, ["C", "A"]),
        ({"household_type": ["unknown", "adults_and_children"]}, ["D", "B"]),
        ({"household_type": ["adults_only"] * 6, "status": ["approved"] * 5}, ["A"]),
        ({"household_size_min": 2}, ["C", "B"]),
        ({"household_size_max": 2}, ["C", "A", "D"]),
        ({"household_size_min": 2, "household_size_max": 2}, ["C"]),
        ({"referral_status": "none"}, ["C", "A", "D", "B"]),
        ({"veteran": True}, ["A"]),
        ({"veteran": False}, ["C", "D", "B"]),
        ({"score_min": 6}, ["C", "B"]),
        ({"score_max": 10}, ["C", "A"]),
        ({"score_min": 5, "score_max": 5}, ["A"]),
        ({"inactive": True}, ["D"]),
        ({"inactive": False}, ["C", "A", "B"]),
        ({"area": "outside_coc_area"}, ["B"]),
        ({"area": "coc_area"}, ["C", "A", "D"]),
        ({"document_status": "complete"}, ["A"]),
        ({"document_status": "incomplete"}, ["B"]),
        ({"document_status": "none"}, ["C", "D"]),
        ({"status": "approved", "veteran": False, "chronic": "no"}, ["B"]),
    ],
)
async def test_each_filter(
    client: httpx.AsyncClient,
    auth: Auth,
    db: Any,
    queue: Queue,
    params: dict[str, Any],
    expected: list[str],
) -> None:
    await set_facts(db, queue.ids["D"], last_activity_at=None)
    items = await _list(client, await auth.headers("cas_admin"), **params)
    assert queue.letters(items) == expected


async def test_filter_by_client_finds_the_household_of_a_member(
    client: httpx.AsyncClient, auth: Auth, queue: Queue
) -> None:
    headers = await auth.headers("cas_admin")
    assert queue.letters(await _list(client, headers, client_id=str(queue.clients["B"]))) == ["B"]
    assert await _list(client, headers, client_id=str(uuid.uuid4())) == []


async def test_filter_by_assigned_case_manager(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World, queue: Queue
) -> None:
    headers = await auth.headers("cas_admin")
    other = world.user_id("cas_admin")
    await db.execute(
        text(
            "UPDATE case_assignments SET status = 'inactive', end_date = start_date "
            "WHERE enrollment_id = :e"
        ),
        {"e": queue.enrollments["D"]},
    )
    await db.execute(
        text(
            "INSERT INTO case_assignments (id, enrollment_id, client_id, user_id, "
            "organization_id, start_date, status, version) VALUES (gen_random_uuid(), :e, :c, "
            ":u, :o, :d, 'active', 1)"
        ),
        {
            "e": queue.enrollments["D"],
            "c": queue.clients["D"],
            "u": other,
            "o": world.org_id("cas"),
            "d": today(),
        },
    )
    mine = await _list(client, headers, case_manager_id=str(world.user_id("case_manager")))
    assert queue.letters(mine) == ["C", "A", "B"]
    theirs = await _list(client, headers, case_manager_id=str(other))
    assert queue.letters(theirs) == ["D"]
    assert [m["user_id"] for m in theirs[0]["case_managers"]] == [str(other)]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"status": "closed"}, "status"),
        ({"chronic": "maybe"}, "chronic"),
        ({"household_type": "couple"}, "household_type"),
        ({"referral_status": "declined"}, "referral_status"),
        ({"document_status": "partial"}, "document_status"),
        ({"sort": "name"}, "sort"),
        ({"score_min": -1}, "score_min"),
        ({"score_min": 9, "score_max": 3}, "score_min"),
        ({"household_size_min": 3, "household_size_max": 2}, "household_size_min"),
        ({"area": "mars"}, "area"),
        ({"case_manager_id": str(uuid.uuid4())}, "case_manager_id"),
        ({"veteran": "perhaps"}, "veteran"),
        ({"limit": 0}, "limit"),
    ],
)
async def test_unknown_filter_values_are_problems(
    client: httpx.AsyncClient, auth: Auth, db: Any, params: dict[str, Any], loc: str
) -> None:
    before = await rows(db, "SELECT count(*) AS n FROM audit_events")
    r = await client.get(QUEUE, params=params, headers=await auth.headers("cas_admin"))
    body = assert_problem(r, 422)
    assert ["query", loc] in [e["loc"][:2] for e in body["errors"]], body
    assert await rows(db, "SELECT count(*) AS n FROM audit_events") == before


async def test_a_case_manager_of_another_coc_is_an_unknown_filter_value(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    r = await client.get(
        QUEUE,
        params={"case_manager_id": str(world.user_id("case_manager", coc="other"))},
        headers=await auth.headers("cas_admin"),
    )
    assert_problem(r, 422)


async def test_search_by_name_in_a_body(
    client: httpx.AsyncClient, auth: Auth, queue: Queue
) -> None:
    headers = await auth.headers("case_manager", org="cas")

    async def search(body: dict[str, Any]) -> list[str]:
        r = await client.post(SEARCH, json=body, headers=headers)
        assert r.status_code == 200, r.text
        return queue.letters(r.json()["items"])

    assert await search({"name": "cleo"}) == ["C"]
    assert await search({"name": "Cruz Cleo"}) == ["C"]
    assert await search({"name": "Brwn"}) == ["B"]  # sounds like Brown
    assert await search({"name": "Dana", "status": ["approved"]}) == []
    assert await search({"sort": "-rank", "chronic": "yes"}) == ["D", "A", "C"]
    first = await client.post(SEARCH, json={"limit": 2}, headers=headers)
    cursor = first.json()["next_cursor"]
    nxt = await client.post(SEARCH, json={"limit": 2, "cursor": cursor}, headers=headers)
    assert queue.letters(first.json()["items"] + nxt.json()["items"]) == ["C", "A", "D", "B"]
    for bad in ({"nickname": "C"}, {"name": ""}, {"status": ["closed"]}, {"sort": "name"}):
        assert_problem(await client.post(SEARCH, json=bad, headers=headers), 422)
    wrong_order = await client.post(
        SEARCH, json={"sort": "score", "cursor": cursor}, headers=headers
    )
    assert_problem(wrong_order, 422)


async def test_reads_are_audited_as_reads_of_the_clients_shown(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World, queue: Queue
) -> None:
    headers = await auth.headers("cas_admin")
    await client.get(QUEUE, params={"status": "approved"}, headers=headers)
    [event] = await rows(
        db,
        "SELECT * FROM audit_events WHERE action = 'pii.read' AND actor_user_id = :u "
        "ORDER BY occurred_at DESC LIMIT 1",
        u=world.user_id("cas_admin"),
    )
    assert event["subject_ids"] == [queue.clients["A"], queue.clients["B"]]
    assert event["changes"] == {"fields": ["first_name", "last_name"]}


async def test_visible_to_admins_and_the_cas_organization_only(
    client: httpx.AsyncClient, auth: Auth, queue: Queue
) -> None:
    for user, org in (
        ("cas_admin", None),
        ("system_admin", None),
        ("case_manager", "cas"),
    ):
        headers = await auth.headers(user, org=org)
        assert len(await _list(client, headers)) == 4, user
        r = await client.get(f"{QUEUE}/{queue.ids['A']}", headers=headers)
        assert r.status_code == 200, r.text
    agency = await auth.headers("case_manager", org="access_point_1")
    for r in (
        await client.get(QUEUE, headers=agency),
        await client.get(f"{QUEUE}/{queue.ids['A']}", headers=agency),
        await client.post(SEARCH, json={}, headers=agency),
    ):
        assert_problem(r, 404)
    for user in ("housing_provider", "vsp_case_manager"):
        assert_problem(await client.get(QUEUE, headers=await auth.headers(user)), 403)


async def test_another_coc_sees_none_of_it(
    client: httpx.AsyncClient, auth: Auth, queue: Queue
) -> None:
    other = await auth.headers("cas_admin", coc="other")
    assert await _list(client, other) == []
    assert_problem(await client.get(f"{QUEUE}/{queue.ids['A']}", headers=other), 404)
    assert_problem(await client.get(f"{QUEUE}/{uuid.uuid4()}", headers=other), 404)
