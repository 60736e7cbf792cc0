"""Voiding an intake recorded in error: CAS and system admins, with a reason; gone from lists,
lookups and the queue, kept in the audit trail; undone within 30 days."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Auth, assert_problem
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, counts, example, rows

REASON = {"reason": "Intake recorded for the wrong client"}


async def _placed(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await http.post(INTAKES, json=example("placed"), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_void_hides_the_stay_and_closes_its_queue_entry(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    ap1 = await auth.headers("case_manager", org="access_point_1")
    intake = await _placed(client, ap1)
    e = intake["enrollment"]["id"]
    cas_admin = await auth.headers("cas_admin", org="cas")
    url = f"/api/v1/enrollments/{e}/void"
    # Several people edit an enrollment: the void needs If-Match (428 without, 412 when stale).
    missing = assert_problem(await client.post(url, json=REASON, headers=cas_admin), 428)
    stale = await client.post(url, json=REASON, headers={**cas_admin, "If-Match": '"999"'})
    assert assert_problem(stale, 412)["current_etag"] == missing["current_etag"]
    [row] = await rows(db, "SELECT voided_at FROM enrollments WHERE id = :e", e=uuid.UUID(e))
    assert row["voided_at"] is None
    r = await client.post(
        url, json=REASON, headers={**cas_admin, "If-Match": missing["current_etag"]}
    )
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] != missing["current_etag"]
    assert r.json()["voided_at"] is not None
    assert r.json()["void_reason"] == REASON["reason"]
    # Gone from lookups and lists, for everyone (admins included).
    for headers in (ap1, cas_admin):
        assert_problem(await client.get(f"/api/v1/enrollments/{e}", headers=headers), 404)
        listed = await client.get(
            f"/api/v1/clients/{intake['client']['id']}/enrollments", headers=headers
        )
        assert listed.json()["items"] == []
    # The queue entry is closed with reason voided.
    [q] = await rows(
        db, "SELECT * FROM queue_entries WHERE head_enrollment_id = :e", e=uuid.UUID(e)
    )
    assert q["closed_reason"] == "voided" and q["closed_at"] is not None
    # Nothing deleted: the row and the audit trail keep the void and its reason.
    [row] = await rows(
        db, "SELECT voided_at, void_reason FROM enrollments WHERE id = :e", e=uuid.UUID(e)
    )
    assert row["void_reason"] == REASON["reason"]
    [event] = await rows(
        db,
        "SELECT changes FROM audit_events WHERE action = 'enrollment.void' AND entity_id = :e",
        e=uuid.UUID(e),
    )
    assert event["changes"]["reason"] == REASON["reason"]
    # Voiding again is a conflict; records can no longer be written on it.
    assert_problem(await client.post(url, json=REASON, headers={**cas_admin, **ANY_VERSION}), 409)
    assert_problem(
        await client.post(
            f"/api/v1/enrollments/{e}/current-living-situations",
            json={"current_living_situation": 116},
            headers=ap1,
        ),
        404,
    )
    # The client may be enrolled in Coordinated Entry again.
    again = example("pending")
    del again["client"]
    again["client_id"] = intake["client"]["id"]
    redo = await client.post(INTAKES, json=again, headers=ap1)
    assert redo.status_code == 201, redo.text
    # ... and then the void cannot be undone (the client has an open CE enrollment again).
    undo = await client.post(
        f"/api/v1/enrollments/{e}/unvoid", headers={**cas_admin, **ANY_VERSION}
    )
    assert assert_problem(undo, 409)["enrollment_id"] == redo.json()["enrollment"]["id"]


async def test_undo_within_30_days(client: httpx.AsyncClient, auth: Auth, db: AsyncSession) -> None:
    ap1 = await auth.headers("case_manager", org="access_point_1")
    intake = await _placed(client, ap1)
    e = intake["enrollment"]["id"]
    admin = await auth.headers("system_admin", org="hmis_lead")
    # The unvoid needs If-Match too: the ETag of the voided enrollment (a voided enrollment is
    # found only by its void and unvoid, so the void's answer gives it).
    voided = await client.post(
        f"/api/v1/enrollments/{e}/void", json=REASON, headers={**admin, **ANY_VERSION}
    )
    assert voided.status_code == 200, voided.text
    unvoid = f"/api/v1/enrollments/{e}/unvoid"
    assert_problem(await client.post(unvoid, headers=admin), 428)
    r = await client.post(unvoid, headers={**admin, "If-Match": voided.headers["ETag"]})
    assert r.status_code == 200, r.text
    assert r.json()["voided_at"] is None
    assert r.json()["queue_entry"]["closed_at"] is None  # the queue entry is back
    assert (await client.get(f"/api/v1/enrollments/{e}", headers=ap1)).status_code == 200
    assert_problem(await client.post(unvoid, headers={**admin, **ANY_VERSION}), 409)
    # Voided 31 days ago (the CoC's days): too late to undo.
    assert (
        await client.post(
            f"/api/v1/enrollments/{e}/void", json=REASON, headers={**admin, **ANY_VERSION}
        )
    ).status_code == 200
    await db.execute(
        text("UPDATE enrollments SET voided_at = voided_at - interval '31 days' WHERE id = :e"),
        {"e": uuid.UUID(e)},
    )
    late = await client.post(unvoid, headers={**admin, **ANY_VERSION})
    assert "30 days" in assert_problem(late, 409)["detail"]


async def test_only_admins_void_and_bad_input_writes_nothing(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    ap1 = await auth.headers("case_manager", org="access_point_1")
    intake = await _placed(client, ap1)
    url = f"/api/v1/enrollments/{intake['enrollment']['id']}/void"
    before = await counts(db)
    for user, org in (("case_manager", "access_point_1"), ("agency_admin", "access_point_1")):
        refused = await auth.headers(user, org=org)
        assert_problem(await client.post(url, json=REASON, headers={**refused, **ANY_VERSION}), 403)
    cas_admin = await auth.headers("cas_admin", org="cas")
    for body in ({}, {"reason": ""}, {"reason": "x" * 501}):
        assert_problem(await client.post(url, json=body, headers={**cas_admin, **ANY_VERSION}), 422)
    other = await auth.headers("system_admin", coc="other")
    assert_problem(await client.post(url, json=REASON, headers={**other, **ANY_VERSION}), 404)
    assert await counts(db) == before
    [row] = await rows(
        db,
        "SELECT voided_at FROM enrollments WHERE id = :e",
        e=uuid.UUID(intake["enrollment"]["id"]),
    )
    assert row["voided_at"] is None
