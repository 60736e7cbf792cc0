"""A unit created while its project's type changes to one without beds or units, on committed
transactions (separate connections, interleaved deterministically through the server's lock
table; no timing). Units stay on residential projects only: whichever transaction checks
second waits for the first and then sees its result, so only one of them commits.
"""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.context import Actor
from app.errors import ValidationFailed
from app.schemas.matching import UnitCreate
from app.schemas.organizations import ProjectUpdate
from app.services.demo import demo_uuid
from app.services.identity import organizations
from app.services.matching import inventory
from tests.api.test_concurrency import committed  # the committed database (module fixture)
from tests.api.test_matching_concurrency import _login
from tests.support.races import second_waits, seeded_actor

__all__ = ["committed"]

ORG = demo_uuid("XX-501", "organization", "access_point_2")
STREET_OUTREACH = 4  # HUD 2.02.6: no beds or units


async def _setup(client: httpx.AsyncClient, engine: AsyncEngine) -> tuple[Actor, str]:
    """A fresh night-by-night shelter of Access Point 2 (no units yet), the system admin
    acting."""
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
    actor = await seeded_actor(
        engine, "system_admin@demo.example", demo_uuid("XX-501", "organization", "hmis_lead")
    )
    return actor, r.json()["id"]


async def _add_unit(session: AsyncSession, actor: Actor, project: str) -> None:
    found = await organizations.get_project(session, actor, uuid.UUID(project))
    await inventory.create_unit(session, actor, found, UnitCreate(label="A1", bedrooms=1))


async def _to_outreach(session: AsyncSession, actor: Actor, project: str) -> None:
    found = await organizations.get_project(session, actor, uuid.UUID(project))
    await organizations.update_project(
        session, actor, found, ProjectUpdate(project_type=STREET_OUTREACH)
    )


async def _state(engine: AsyncEngine, project: str) -> tuple[int, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT p.project_type AS kind, (SELECT count(*) FROM units u "
                    "WHERE u.project_id = p.id) AS n FROM projects p WHERE p.id = :p"
                ),
                {"p": project},
            )
        ).one()
    return row.kind, row.n


async def test_a_type_change_while_a_unit_is_added_waits_and_is_refused(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    """The unit is inserted but not committed: the project update waits for it, then finds
    the unit and refuses the new type (422 on project_type)."""
    client, engine = committed
    actor, project = await _setup(client, engine)
    run = await second_waits(
        engine,
        lambda adding: _add_unit(adding, actor, project),
        lambda updating: _to_outreach(updating, actor, project),
    )
    assert run.waited_on == "transactionid"
    refused = run.error
    assert isinstance(refused, ValidationFailed)
    assert refused.errors and refused.errors[0]["loc"] == ["body", "project_type"]
    assert await _state(engine, project) == (1, 1)


async def test_a_unit_while_the_type_changes_waits_and_is_refused(
    committed: tuple[httpx.AsyncClient, AsyncEngine],
) -> None:
    """The other order: the type change has passed its check but not committed; the unit
    waits for it, then sees the new type and is refused (422)."""
    client, engine = committed
    actor, project = await _setup(client, engine)
    run = await second_waits(
        engine,
        lambda updating: _to_outreach(updating, actor, project),
        lambda adding: _add_unit(adding, actor, project),
    )
    assert run.waited_on == "transactionid"
    refused = run.error
    assert isinstance(refused, ValidationFailed)
    assert refused.extra == {"project_type": STREET_OUTREACH}
    assert await _state(engine, project) == (STREET_OUTREACH, 0)
