"""New clients and case managers named inside an intake or an enrollment: problems name the
nested field, only the duplicate candidates actually shown are audited as read, and only an
active user who may do Coordinated Entry work is made case manager."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent, Membership
from tests.conftest import Auth, World, assert_problem
from tests.support.access import new_client
from tests.support.intake import INTAKES, counts, example, today

ENROLLMENTS = "/api/v1/enrollments"


async def _reads_naming(db: AsyncSession, request_id: str, client_id: str) -> list[AuditEvent]:
    events = (
        await db.scalars(
            select(AuditEvent).where(
                AuditEvent.request_id == request_id, AuditEvent.action == "pii.read"
            )
        )
    ).all()
    wanted = uuid.UUID(client_id)
    return [e for e in events if e.entity_id == wanted or wanted in (e.subject_ids or [])]


async def test_family_members_duplicates_are_not_audited_as_shown(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    bridge = await auth.headers("case_manager", org="access_point_1")
    # An existing client looking like the child the intake creates.
    look_alike = await new_client(client, bridge, "Sam", "Morgan", dob="2017-02-14")
    r = await client.post(INTAKES, json=example("diverted"), headers=bridge)
    assert r.status_code == 201, r.text
    assert look_alike not in r.text  # only the main client's candidates are shown
    assert await _reads_naming(db, r.headers["x-request-id"], look_alike) == []

    head = await new_client(client, bridge, "Alma", "Morgan")
    r = await client.post(
        ENROLLMENTS,
        json={
            "client_id": head,
            "project_id": str(world.project_id("ap1_outreach")),
            "prior_living_situation": {"living_situation": 99},
            "family_members": [
                {
                    "client": {"first_name": "Sam", "last_name": "Morgan", "dob": "2017-02-14"},
                    "relationship_to_hoh": 2,
                }
            ],
        },
        headers=bridge,
    )
    assert r.status_code == 201, r.text
    assert await _reads_naming(db, r.headers["x-request-id"], look_alike) == []


async def test_roi_dates_of_new_members_are_named_where_they_are(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    bridge = await auth.headers("case_manager", org="access_point_1")
    before = await counts(db)
    body = example("pending")
    body["client"]["roi_start_date"] = "1999-12-31"
    problem = assert_problem(await client.post(INTAKES, json=body, headers=bridge), 422)
    assert problem["errors"][0]["loc"] == ["body", "client", "roi_start_date"]

    body = example("diverted")
    body["family_members"][0]["client"].update(
        roi_start_date=today().isoformat(), roi_end_date="2001-01-01"
    )
    problem = assert_problem(await client.post(INTAKES, json=body, headers=bridge), 422)
    assert problem["errors"][0]["loc"] == [
        "body",
        "family_members",
        "0",
        "client",
        "roi_end_date",
    ]

    head = await new_client(client, bridge, "Ines", "Loc")
    before = await counts(db)
    r = await client.post(
        ENROLLMENTS,
        json={
            "client_id": head,
            "project_id": str(world.project_id("ap1_outreach")),
            "family_members": [
                {
                    "client": {
                        "first_name": "Ida",
                        "last_name": "Loc",
                        "roi_start_date": "1990-01-01",
                    },
                    "relationship_to_hoh": 2,
                }
            ],
        },
        headers=bridge,
    )
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == [
        "body",
        "family_members",
        "0",
        "client",
        "roi_start_date",
    ]
    assert await counts(db) == before


async def test_case_managers_are_active_users_who_do_coordinated_entry_work(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    bridge = await auth.headers("case_manager", org="access_point_1")
    # A housing provider role at access point 1, and a deactivated agency admin there.
    db.add(
        Membership(
            user_id=world.user_id("housing_provider"),
            organization_id=world.org_id("access_point_1"),
            role="housing_provider",
        )
    )
    await db.execute(
        text("UPDATE users SET is_active = false WHERE id = :u"),
        {"u": world.user_id("agency_admin")},
    )
    await db.flush()
    before = await counts(db)
    for user in ("agency_admin", "housing_provider"):
        r = await client.post(
            INTAKES,
            json=example("pending", case_manager_user_id=str(world.user_id(user))),
            headers=bridge,
        )
        problem = assert_problem(r, 422)
        assert problem["errors"][0]["loc"] == ["body", "case_manager_user_id"]
    assert await counts(db) == before

    r = await client.post(INTAKES, json=example("pending"), headers=bridge)
    assert r.status_code == 201, r.text
    url = f"{ENROLLMENTS}/{r.json()['enrollment']['id']}/case-assignments"
    for user in ("agency_admin", "housing_provider"):
        r = await client.post(url, json={"user_id": str(world.user_id(user))}, headers=bridge)
        assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", "user_id"]
    ok: Any = await client.post(
        url, json={"user_id": str(world.user_id("case_manager"))}, headers=bridge
    )
    assert ok.status_code == 409  # already the active case manager: a real, active user
