"""One queue entry over HTTP, the household facts computed from recorded data (and kept up to
date when the data changes), closed entries, and the CoC's queue settings with re-ranking."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text

from app.reference.queue import DEFAULT_SCHEME, scheme_json
from app.services.queue.chronic import chronic_status
from tests.conftest import Auth, World, assert_problem
from tests.support.documents import PDF
from tests.support.http import ANY_VERSION
from tests.support.intake import rows, today
from tests.support.queue import QUEUE, SETTINGS, entry_id, member, place, set_facts


def _years_ago(years: int, days: int = 0) -> str:
    t = today()
    return (t.replace(year=t.year - years) - timedelta(days=days)).isoformat()


async def test_facts_come_from_the_recorded_data(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    placed = await place(client, auth)
    headers = await auth.headers("cas_admin")
    r = await client.get(f"{QUEUE}/{entry_id(placed)}", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["etag"] == f'"{body["version"]}"'
    # The intake's answers: disabled, on the street since 2023-03-01, 4 times in 3 years.
    assert body["chronic"] == {"recorded": True, "documented": False}
    assert body["days_homeless_3y"] >= 365 * 3
    assert body["household"] == {
        "size": 1,
        "household_type": "adults_only",
        "veteran": False,
        "family_with_children": False,
        "youth": False,
    }
    assert body["priority"]["rank"] == 1 and body["closed_at"] is None
    assert body["facts_as_of"] is not None and body["inactive"] is False
    [head] = body["chronic_members"]
    assert head["head"] is True and head["first_name"] == "Casey"
    assert head["recorded"]["chronic"] is True and head["recorded"]["months"] >= 12
    assert head["recorded"]["episodes"] >= 1 and head["recorded"]["missing"] == []
    documented = head["documented"]
    assert documented["chronic"] is False
    assert "disability_verification" in documented["missing"]
    assert "homelessness_documentation" in documented["missing"]
    [q] = await rows(db, "SELECT facts_stale FROM queue_entries WHERE id = :q", q=entry_id(placed))
    assert q["facts_stale"] is False
    # Audited as a read of the clients shown.
    [event] = await rows(
        db,
        "SELECT subject_ids FROM audit_events WHERE action = 'pii.read' "
        "ORDER BY occurred_at DESC LIMIT 1",
    )
    assert event["subject_ids"] == [uuid.UUID(placed["client"]["id"])]


async def test_household_facts_of_a_family_a_youth_and_a_veteran(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    family = await place(
        client,
        auth,
        first="Fay",
        last="Family",
        dob=_years_ago(30),
        family=[member("Kit", "Family", _years_ago(6), 2)],
    )
    youth = await place(client, auth, first="Yuri", last="Young", dob=_years_ago(20))
    veteran = await place(client, auth, first="Vera", last="Vet", dob=_years_ago(50), veteran=1)
    headers = await auth.headers("cas_admin")
    r = await client.get(QUEUE, headers=headers)
    by_name = {i["client"]["first_name"]: i for i in r.json()["items"]}
    assert by_name["Fay"]["household"] == {
        "size": 2,
        "household_type": "adults_and_children",
        "veteran": False,
        "family_with_children": True,
        "youth": False,
    }
    assert by_name["Yuri"]["household"]["youth"] is True
    assert by_name["Vera"]["household"]["veteran"] is True
    detail = await client.get(f"{QUEUE}/{entry_id(family)}", headers=headers)
    # The child does not count for chronic status; the head does.
    assert [m["first_name"] for m in detail.json()["chronic_members"]] == ["Fay"]
    assert {entry_id(youth), entry_id(veteran)} <= {uuid.UUID(i["id"]) for i in r.json()["items"]}


async def test_facts_follow_changes_to_the_data(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    placed = await place(client, auth)
    client_id = placed["client"]["id"]
    headers = await auth.headers("cas_admin")
    first = (await client.get(QUEUE, headers=headers)).json()["items"][0]
    assert first["household"]["veteran"] is False and first["documents_on_file"] == []
    r = await client.patch(
        f"/api/v1/clients/{client_id}",
        json={"veteran_status": 1},
        headers={**headers, **ANY_VERSION},
    )
    assert r.status_code == 200, r.text
    cas = await auth.headers("case_manager", org="cas")
    r = await client.post(
        f"/api/v1/clients/{client_id}/document-checks",
        headers=cas,
        data={"category": "homeless", "item": "identity", "document_type": "photo_id"},
        files={"file": ("id.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 201, r.text
    [q] = await rows(db, "SELECT facts_stale FROM queue_entries WHERE id = :q", q=entry_id(placed))
    assert q["facts_stale"] is True
    after = (await client.get(QUEUE, headers=headers)).json()["items"][0]
    assert after["household"]["veteran"] is True
    assert after["documents_on_file"] == ["identity"]
    assert after["document_status"] == "incomplete"
    assert after["facts_as_of"] > first["facts_as_of"]


async def test_a_closed_entry_shows_why_and_has_no_rank(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    exited = await place(client, auth, first="Ezra", last="Exit")
    voided = await place(client, auth, first="Vic", last="Void")
    staying = await place(client, auth, first="Stan", last="Stay")
    admin = await auth.headers("cas_admin")
    enrollment = exited["enrollment"]
    r = await client.post(
        f"/api/v1/enrollments/{enrollment['id']}/exit",
        json={
            "exit_date": today().isoformat(),
            "destination": 116,
            "exit_reason": "left_coc_area",
            "current_living_situation": {"current_living_situation": 116},
        },
        headers={**admin, **ANY_VERSION},
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/enrollments/{voided['enrollment']['id']}/void",
        json={"reason": "Recorded for the wrong client"},
        headers={**admin, **ANY_VERSION},
    )
    assert r.status_code == 200, r.text
    for placed, reason in ((exited, "exited"), (voided, "voided")):
        body = (await client.get(f"{QUEUE}/{entry_id(placed)}", headers=admin)).json()
        assert (body["closed_reason"], body["priority"]["rank"]) == (reason, None)
        assert body["closed_at"] is not None
    items = (await client.get(QUEUE, headers=admin)).json()["items"]
    assert [uuid.UUID(i["id"]) for i in items] == [entry_id(staying)]
    assert items[0]["priority"]["rank"] == 1


async def test_unknown_entries_answer_404(client: httpx.AsyncClient, auth: Auth) -> None:
    r = await client.get(f"{QUEUE}/{uuid.uuid4()}", headers=await auth.headers("cas_admin"))
    assert_problem(r, 404)
    assert_problem(
        await client.get(f"{QUEUE}/not-an-id", headers=await auth.headers("cas_admin")), 422
    )


# --- settings -------------------------------------------------------------------------------

SCORE_FIRST = {
    "score_tool": "VI-SPDAT 2",
    "score_min": 0,
    "score_max": 17,
    "scheme": [{"key": "score", "direction": "desc"}, {"key": "veteran"}],
}


async def _three(client: httpx.AsyncClient, auth: Auth, db: Any) -> list[uuid.UUID]:
    """Three entries: chronic with score 3, not chronic with 12, not chronic with 8 (veteran)."""
    ids = []
    for name, values in (
        ("Ann", dict(chronic_recorded=True, score=3)),
        ("Ben", dict(chronic_recorded=False, score=12)),
        ("Cy", dict(chronic_recorded=False, score=8, veteran=True)),
    ):
        placed = await place(client, auth, first=name, last="Ranked")
        ids.append(entry_id(placed))
        await set_facts(db, ids[-1], **values)
    return ids


async def test_settings_are_read_by_queue_readers(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    for user, org in (("cas_admin", None), ("case_manager", "cas"), ("system_admin", None)):
        r = await client.get(SETTINGS, headers=await auth.headers(user, org=org))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["scheme"] == scheme_json(DEFAULT_SCHEME)
        assert (body["score_tool"], body["score_min"], body["score_max"]) == ("VI-SPDAT", 0, 22)
        assert r.headers["etag"] == f'"{body["version"]}"'
    agency = await auth.headers("case_manager", org="access_point_1")
    assert_problem(await client.get(SETTINGS, headers=agency), 404)
    assert_problem(await client.get(SETTINGS, headers=await auth.headers("housing_provider")), 403)


async def test_changing_the_scheme_reranks_the_queue(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    ann, ben, cy = await _three(client, auth, db)
    admin = await auth.headers("cas_admin")
    before = [uuid.UUID(i["id"]) for i in (await client.get(QUEUE, headers=admin)).json()["items"]]
    assert before == [ann, ben, cy]
    etag = (await client.get(SETTINGS, headers=admin)).headers["etag"]
    r = await client.put(SETTINGS, json=SCORE_FIRST, headers={**admin, "If-Match": etag})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scheme"] == [
        {"key": "score", "direction": "desc"},
        {"key": "veteran", "direction": "desc"},
    ]
    assert body["version"] == 2 and r.headers["etag"] == '"2"'
    assert body["updated_by_user_id"] == str(world.user_id("cas_admin"))
    items = (await client.get(QUEUE, headers=admin)).json()["items"]
    assert [uuid.UUID(i["id"]) for i in items] == [ben, cy, ann]
    assert [k["key"] for k in items[0]["priority"]["keys"]] == ["score", "veteran"]
    assert items[0]["score_tool"] == "VI-SPDAT 2"
    [event] = await rows(
        db, "SELECT changes FROM audit_events WHERE action = 'queue_settings.update'"
    )
    assert event["changes"]["entries_reranked"] == 3
    assert event["changes"]["score_tool"] == {"old": "VI-SPDAT", "new": "VI-SPDAT 2"}
    # The other CoC keeps its scheme.
    other = await client.get(SETTINGS, headers=await auth.headers("cas_admin", coc="other"))
    assert other.json()["scheme"] == scheme_json(DEFAULT_SCHEME)
    # A new entry is keyed with the new scheme.
    placed = await place(client, auth, first="Dee", last="Ranked")
    await set_facts(db, entry_id(placed), score=9)
    items = (await client.get(QUEUE, headers=admin)).json()["items"]
    assert [uuid.UUID(i["id"]) for i in items] == [ben, entry_id(placed), cy, ann]


async def test_settings_changes_need_the_current_version_and_the_right(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    admin = await auth.headers("cas_admin")
    assert_problem(await client.put(SETTINGS, json=SCORE_FIRST, headers=admin), 428)
    stale = {**admin, "If-Match": '"7"'}
    assert_problem(await client.put(SETTINGS, json=SCORE_FIRST, headers=stale), 412)
    cas_case_manager = {**await auth.headers("case_manager", org="cas"), **ANY_VERSION}
    assert_problem(await client.put(SETTINGS, json=SCORE_FIRST, headers=cas_case_manager), 403)
    agency_admin = {**await auth.headers("agency_admin"), **ANY_VERSION}
    assert_problem(await client.put(SETTINGS, json=SCORE_FIRST, headers=agency_admin), 403)
    [row] = await rows(
        db,
        "SELECT s.version, s.scheme FROM queue_settings s JOIN cocs c ON c.id = s.coc_id "
        "WHERE c.code = 'XX-501'",
    )
    assert (row["version"], row["scheme"]) == (1, scheme_json(DEFAULT_SCHEME))


async def test_bad_settings_are_problems_and_change_nothing(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    admin = {**await auth.headers("cas_admin"), **ANY_VERSION}
    bad_bodies = [
        {**SCORE_FIRST, "scheme": [{"key": "score"}, {"key": "score", "direction": "asc"}]},
        {**SCORE_FIRST, "scheme": [{"key": "tie_breaker"}]},
        {**SCORE_FIRST, "scheme": [{"key": "score", "direction": "up"}]},
        {**SCORE_FIRST, "score_min": 10, "score_max": 10},
        {**SCORE_FIRST, "score_min": -1},
        {**SCORE_FIRST, "score_tool": ""},
        {**SCORE_FIRST, "extra": True},
        {k: v for k, v in SCORE_FIRST.items() if k != "scheme"},
    ]
    for body in bad_bodies:
        assert_problem(await client.put(SETTINGS, json=body, headers=admin), 422)
    [row] = await rows(
        db,
        "SELECT s.version FROM queue_settings s JOIN cocs c ON c.id = s.coc_id "
        "WHERE c.code = 'XX-501'",
    )
    assert row["version"] == 1
    assert (
        await rows(db, "SELECT id FROM audit_events WHERE action = 'queue_settings.update'") == []
    )


async def test_an_empty_scheme_is_a_lottery_by_tie_breaker(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    ids = await _three(client, auth, db)
    for i, entry in enumerate(ids):
        await db.execute(
            text("UPDATE queue_entries SET tie_breaker = :t WHERE id = :q"),
            {"t": 100 - i, "q": entry},
        )
    admin = {**await auth.headers("cas_admin"), **ANY_VERSION}
    r = await client.put(SETTINGS, json={**SCORE_FIRST, "scheme": []}, headers=admin)
    assert r.status_code == 200, r.text
    items = (await client.get(QUEUE, headers=admin)).json()["items"]
    assert [uuid.UUID(i["id"]) for i in items] == list(reversed(ids))
    assert items[0]["priority"]["keys"] == []


async def test_a_voided_intake_is_no_evidence_of_chronic_homelessness(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    placed = await place(client, auth)
    person = uuid.UUID(placed["client"]["id"])
    assert (await chronic_status(db, person, today())).recorded.chronic is True
    r = await client.post(
        f"/api/v1/enrollments/{placed['enrollment']['id']}/void",
        json={"reason": "Recorded for the wrong client"},
        headers={**await auth.headers("cas_admin"), **ANY_VERSION},
    )
    assert r.status_code == 200, r.text
    recorded = (await chronic_status(db, person, today())).recorded
    assert recorded.chronic is False and recorded.days == 0
    assert "current_living_situation" in recorded.missing
