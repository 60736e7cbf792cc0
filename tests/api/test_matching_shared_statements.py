"""Candidates and explanations run statements built once per requirement shape: two projects
whose requirements have the same shape but other values each get their own answer (no value
of one request stays in the shared statement)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Auth, World, assert_problem
from tests.support.access import new_client
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, example
from tests.support.matching import place


async def _unit_with(
    client: httpx.AsyncClient, auth: Auth, project: Any, requirements: list[dict[str, Any]]
) -> str:
    admin = await auth.headers("cas_admin")
    r = await client.put(
        f"/api/v1/projects/{project}/matching-profile",
        json={"funding_sources": [], "referrals_through_cas": True, "requirements": requirements},
        headers={**admin, **ANY_VERSION},
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/projects/{project}/units", json={"label": "S1", "bedrooms": 1}, headers=admin
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_same_shape_other_values_other_answers(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    single = await place(client, auth, db, score=9)  # a household of one
    # The same shape (a household size with a minimum, a must_not), other values.
    strict = await _unit_with(
        client,
        auth,
        world.project_id("h1_psh"),
        [{"kind": "household_size", "min_value": 2}, {"kind": "veteran", "polarity": "must_not"}],
    )
    loose = await _unit_with(
        client,
        auth,
        world.project_id("h1_rrh"),
        [{"kind": "household_size", "min_value": 1}, {"kind": "veteran", "polarity": "must_not"}],
    )
    admin = await auth.headers("cas_admin")
    shown = {}
    for unit in (strict, loose, strict):
        r = await client.get(f"/api/v1/units/{unit}/candidates?limit=200", headers=admin)
        assert r.status_code == 200, r.text
        shown[unit] = {i["queue_entry_id"] for i in r.json()["items"]}
    assert str(single["entry"]) not in shown[strict]
    assert str(single["entry"]) in shown[loose]

    verdicts = {}
    for unit in (strict, loose):
        r = await client.get(f"/api/v1/units/{unit}/eligibility/{single['client']}", headers=admin)
        assert r.status_code == 200, r.text
        why = r.json()
        size = why["requirements"][0]
        assert size["kind"] == "household_size" and size["value"] == "1"
        verdicts[unit] = (why["eligible"], size["passed"], why["project_id"])
    assert verdicts[strict] == (False, False, str(world.project_id("h1_psh")))
    assert verdicts[loose] == (True, True, str(world.project_id("h1_rrh")))


async def test_explanation_for_a_member_a_stale_entry_and_no_entry(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """The explanation reads the household's entry for a member too, recomputes stale facts
    before reading them, and shows a client with no open entry as off the queue."""
    body = example("placed")
    tag = uuid.uuid4().hex[:8]
    body["client"] = {**body["client"], "first_name": f"Head{tag}", "last_name": f"Fam{tag}"}
    body["family_members"] = [
        {
            "client": {"first_name": f"Kid{tag}", "last_name": f"Fam{tag}", "dob": "2017-02-14"},
            "relationship_to_hoh": 2,
        }
    ]
    r = await client.post(INTAKES, json=body, headers=await auth.headers("case_manager", org="cas"))
    assert r.status_code == 201, r.text
    entry_id = r.json()["queue_entry"]["id"]
    admin = await auth.headers("cas_admin")
    r = await client.post(
        f"/api/v1/queue-entries/{entry_id}/transitions",
        json={"to_status": "approved"},
        headers={**admin, **ANY_VERSION},
    )
    assert r.status_code == 200, r.text
    member = (
        await db.execute(
            text(
                "SELECT m.client_id FROM household_members m JOIN queue_entries q "
                "ON q.household_id = m.household_id WHERE q.id = :id "
                "AND m.client_id <> q.head_client_id"
            ),
            {"id": entry_id},
        )
    ).scalar_one()
    unit = await _unit_with(
        client,
        auth,
        world.project_id("h1_psh"),
        [{"kind": "household_size", "min_value": 2}, {"kind": "family_with_children"}],
    )
    r = await client.get(f"/api/v1/units/{unit}/eligibility/{member}", headers=admin)
    assert r.status_code == 200, r.text
    why = r.json()
    assert why["client_id"] == str(member) and why["queue_entry_id"] == entry_id
    assert why["on_queue"] is True and why["approved"] is True and why["eligible"] is True
    assert [c["value"] for c in why["requirements"]] == ["2", "true"]
    assert why["rank"] >= 1

    # Facts written wrong and marked stale: the explanation recomputes them first.
    await db.execute(
        text(
            "UPDATE queue_entries SET household_size = 1, family_with_children = false, "
            "facts_stale = true WHERE id = :id"
        ),
        {"id": entry_id},
    )
    r = await client.get(f"/api/v1/units/{unit}/eligibility/{member}", headers=admin)
    assert r.status_code == 200, r.text
    assert [c["value"] for c in r.json()["requirements"]] == ["2", "true"]
    assert r.json()["eligible"] is True

    # A client with no open entry: off the queue, each must failed, nothing else read.
    loner = await new_client(client, admin, f"Lone{tag}", f"Client{tag}")
    r = await client.get(f"/api/v1/units/{unit}/eligibility/{loner}", headers=admin)
    assert r.status_code == 200, r.text
    why = r.json()
    assert why["on_queue"] is False and why["queue_entry_id"] is None and why["rank"] is None
    assert [c["passed"] for c in why["requirements"]] == [False, False]
    assert [c["value"] for c in why["requirements"]] == [None, None]


async def test_a_unit_elsewhere_is_not_found_before_anything_else(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """The unit is read with its project and requirements: another CoC's unit answers as no
    unit at all (404, before the cursor or the client is looked at); a role without the
    permission is refused first (403)."""
    person = await place(client, auth, db)
    unit = await _unit_with(client, auth, world.project_id("h1_psh"), [{"kind": "chronic"}])
    other = await auth.headers("cas_admin", coc="other")
    unknown = uuid.uuid4()
    for path in (
        "/api/v1/units/{}/candidates",
        "/api/v1/units/{}/candidates?cursor=not-a-cursor",
        "/api/v1/units/{}/eligibility/" + str(person["client"]),
    ):
        mine = await client.get(path.format(unit), headers=other)
        nothing = await client.get(path.format(unknown), headers=other)
        assert_problem(mine, 404)
        assert (mine.json()["title"], mine.json()["detail"]) == (
            nothing.json()["title"],
            nothing.json()["detail"],
        )
        r = await client.get(path.format(unknown), headers=await auth.headers("case_manager"))
        assert_problem(r, 403)
    admin = await auth.headers("cas_admin")
    r = await client.get(f"/api/v1/units/{unit}/candidates?cursor=not-a-cursor", headers=admin)
    assert_problem(r, 422)
    r = await client.get(f"/api/v1/units/{unit}/eligibility/{uuid.uuid4()}", headers=admin)
    assert_problem(r, 404)


async def _reads(db: Any, request_id: str) -> list[Any]:
    return list(
        (
            await db.execute(
                text(
                    "SELECT entity_type, entity_id, subject_ids, changes FROM audit_events "
                    "WHERE action = 'pii.read' AND request_id = :r"
                ),
                {"r": request_id},
            )
        ).all()
    )


async def test_candidates_recompute_stale_facts_first_and_audit_one_read(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """Candidates read the CoC's stale facts recomputed (asked with the unit's own read), and
    a page is audited as one read of the heads it shows, in the order shown."""
    single = await place(client, auth, db, score=7)  # a household of one
    unit = await _unit_with(
        client,
        auth,
        world.project_id("h1_psh"),
        [{"kind": "household_size", "min_value": 1, "max_value": 1}],
    )
    # Facts written wrong and marked stale: as they are, the household would not fit.
    await db.execute(
        text("UPDATE queue_entries SET household_size = 3, facts_stale = true WHERE id = :id"),
        {"id": single["entry"]},
    )
    admin = {**(await auth.headers("cas_admin")), "X-Request-ID": f"cand-{uuid.uuid4().hex}"}
    r = await client.get(f"/api/v1/units/{unit}/candidates?limit=200", headers=admin)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    mine = [i for i in items if i["queue_entry_id"] == str(single["entry"])]
    assert len(mine) == 1 and mine[0]["household_size"] == 1
    [read] = await _reads(db, admin["X-Request-ID"])
    assert read.entity_type == "client" and read.entity_id is None
    assert [str(s) for s in read.subject_ids] == [i["head_client_id"] for i in items]
    assert read.changes == {"fields": ["candidate"]}


async def test_explanation_of_a_merged_id_answers_for_the_survivor(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    """A merged client's id is judged and answered as its survivor (one audited read of the
    survivor); another CoC's client is no client at all (404)."""
    survivor = await place(client, auth, db)
    admin = await auth.headers("cas_admin")
    tag = uuid.uuid4().hex[:8]
    duplicate = await new_client(client, admin, f"Dup{tag}", f"Merged{tag}")
    await db.execute(
        text("UPDATE clients SET merged_into_id = :s WHERE id = :d"),
        {"s": survivor["client"], "d": uuid.UUID(duplicate)},
    )
    unit = await _unit_with(client, auth, world.project_id("h1_psh"), [{"kind": "chronic"}])
    headers = {**admin, "X-Request-ID": f"why-{uuid.uuid4().hex}"}
    r = await client.get(f"/api/v1/units/{unit}/eligibility/{duplicate}", headers=headers)
    assert r.status_code == 200, r.text
    why = r.json()
    assert why["client_id"] == str(survivor["client"])
    assert why["queue_entry_id"] == str(survivor["entry"]) and why["on_queue"] is True
    [read] = await _reads(db, headers["X-Request-ID"])
    assert read.entity_id == survivor["client"] and read.subject_ids == [survivor["client"]]
    assert read.entity_type == "client" and read.changes == {"fields": ["eligibility"]}

    # A client never merged: one read of that client; another CoC's client (404) is no read.
    headers = {**admin, "X-Request-ID": f"why-{uuid.uuid4().hex}"}
    r = await client.get(f"/api/v1/units/{unit}/eligibility/{survivor['client']}", headers=headers)
    assert r.status_code == 200, r.text
    [read] = await _reads(db, headers["X-Request-ID"])
    assert (read.entity_type, read.entity_id, read.subject_ids, read.changes) == (
        "client",
        survivor["client"],
        [survivor["client"]],
        {"fields": ["eligibility"]},
    )

    other = await auth.headers("cas_admin", coc="other")
    elsewhere = await new_client(client, other, f"Far{tag}", f"Away{tag}")
    headers = {**admin, "X-Request-ID": f"why-{uuid.uuid4().hex}"}
    r = await client.get(f"/api/v1/units/{unit}/eligibility/{elsewhere}", headers=headers)
    assert_problem(r, 404)
    assert await _reads(db, headers["X-Request-ID"]) == []
