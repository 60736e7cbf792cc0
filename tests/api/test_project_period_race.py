"""A project's operating period shrinking while a client is enrolled into it, on committed
transactions (separate connections, interleaved deterministically through the server's lock
table; no timing). The period must still hold every entry: whichever transaction checks
second waits for the first and then sees its result, so only one of them commits.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import clock
from app.config import Settings
from app.context import Actor
from app.errors import ValidationFailed
from app.schemas.enrollments import EnrollmentCreate
from app.schemas.organizations import ProjectUpdate
from app.services.ce import enrollments
from app.services.demo import demo_uuid
from app.services.identity import organizations
from app.services.platform.crypto import cipher_for
from tests.api.test_concurrency import committed  # the committed database (module fixture)
from tests.api.test_matching_concurrency import _login
from tests.support.intake import INTAKES, example
from tests.support.races import second_waits, seeded_actor

__all__ = ["committed"]

ORG = demo_uuid("XX-501", "organization", "access_point_2")


async def _setup(client: httpx.AsyncClient, engine: AsyncEngine) -> tuple[Actor, str, str]:
    """A fresh shelter of Access Point 2 operating since 2020 (no entries yet), a client to
    enroll into it, and the system admin acting."""
    admin = await _login(client, "system_admin@demo.example")
    r = await client.post(
        "/api/v1/projects",
        json={
            "organization_id": str(ORG),
            "name": f"Shelter {uuid.uuid4().hex[:6]}",
            "project_type": 1,
            "operating_start_date": "2020-01-01",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    project = r.json()["id"]
    cm = await _login(client, "case_manager@demo.example")
    r = await client.post(
        "/api/v1/auth/switch-organization",
        json={"organization_id": str(demo_uuid("XX-501", "organization", "cas"))},
        headers=cm,
    )
    assert r.status_code == 200, r.text
    cm = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = await client.post(INTAKES, json=example("pending"), headers=cm)
    assert r.status_code == 201, r.text
    actor = await seeded_actor(
        engine, "system_admin@demo.example", demo_uuid("XX-501", "organization", "hmis_lead")
    )
    return actor, project, r.json()["client"]["id"]


async def _enroll(session: AsyncSession, actor: Actor, project: str, client_id: str) -> None:
    body = EnrollmentCreate.model_validate(
        {
            "client_id": client_id,
            "project_id": project,
            "entry_date": (clock.today(actor) - timedelta(days=5)).isoformat(),
            "prior_living_situation": {"living_situation": 99},
        }
    )
    await enrollments.create_enrollment(
        session, actor, body, cipher_for(Settings(environment="test"))
    )


async def _shrink(session: AsyncSession, actor: Actor, project: str) -> None:
    """The period now starts two days ago: after the entry five days ago."""
    found = await organizations.get_project(session, actor, uuid.UUID(project))
    start = clock.today(actor) - timedelta(days=2)
    await organizations.update_project(
        session, actor, found, ProjectUpdate(operating_start_date=start)
    )


async def _state(engine: AsyncEngine, project: str) -> tuple[str, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT p.operating_start_date::text AS start, (SELECT count(*) FROM "
                    "enrollments e WHERE e.project_id = p.id) AS n FROM projects p WHERE p.id = :p"
                ),
                {"p": project},
            )
        ).one()
    return row.start, row.n


async def test_a_shrink_while_an_entry_is_added_waits_and_is_refused(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    """The enrollment has checked its entry date (and inserted) but not committed: the project
    update waits for it, then finds the entry and refuses the shrink (422)."""
    client, engine = committed
    actor, project, client_id = await _setup(client, engine)
    run = await second_waits(
        engine,
        lambda enrolling: _enroll(enrolling, actor, project, client_id),
        lambda updating: _shrink(updating, actor, project),
    )
    assert run.waited_on == "transactionid"
    refused = run.error
    assert isinstance(refused, ValidationFailed)
    assert refused.errors and refused.errors[0]["loc"] == [
        "body",
        "operating_start_date",
    ]
    assert await _state(engine, project) == ("2020-01-01", 1)


async def test_an_entry_while_the_period_shrinks_waits_and_is_refused(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    """The other order: the shrink has passed its check but not committed; the enrollment
    waits for it, then checks its entry date against the new period and is refused (422)."""
    client, engine = committed
    actor, project, client_id = await _setup(client, engine)
    run = await second_waits(
        engine,
        lambda updating: _shrink(updating, actor, project),
        lambda enrolling: _enroll(enrolling, actor, project, client_id),
    )
    assert run.waited_on == "transactionid"
    refused = run.error
    assert isinstance(refused, ValidationFailed)
    assert refused.errors and refused.errors[0]["loc"] == ["body", "entry_date"]
    start = (clock.today(actor) - timedelta(days=2)).isoformat()
    assert await _state(engine, project) == (start, 0)
