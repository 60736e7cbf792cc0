"""A housing provider's CAS contact over HTTP (seed 001: "one user determined by each agency"):
set per organization, overridden per project; system and CAS admins for any organization of
the CoC, agency admins for their own; another CoC's organization is not found; a user who is
not an active member is refused and nothing is written."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Membership, User
from app.models.notifications import CasContact
from app.models.platform import AuditEvent
from tests.conftest import Auth, World, assert_problem


def org_url(world: World, org: str = "housing_1", coc: str = "home") -> str:
    return f"/api/v1/organizations/{world.org_id(org, coc)}/cas-contact"


def project_url(world: World, project: str = "h1_rrh") -> str:
    return f"/api/v1/projects/{world.project_id(project)}/cas-contact"


async def contacts(db: AsyncSession) -> list[tuple[uuid.UUID | None, uuid.UUID]]:
    rows = await db.execute(
        select(CasContact.project_id, CasContact.user_id).order_by(CasContact.project_id)
    )
    return [(p, u) for p, u in rows.all()]


async def test_set_per_organization_and_per_project(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    admin = await auth.headers("cas_admin", org="cas")
    empty = await client.get(org_url(world), headers=admin)
    assert empty.status_code == 200, empty.text
    assert empty.json()["user_id"] is None and empty.json()["effective_user_id"] is None

    provider = str(world.user_id("housing_provider"))
    r = await client.put(org_url(world), json={"user_id": provider}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "organization_id": str(world.org_id("housing_1")),
        "project_id": None,
        "user_id": provider,
        "effective_user_id": provider,
    }
    # A project without its own contact: the organization's.
    r = await client.get(project_url(world), headers=admin)
    assert r.json()["user_id"] is None and r.json()["effective_user_id"] == provider

    # Hope's own agency admin names a project contact (an active member of Hope).
    hope_admin = world.user_id("agency_admin")
    db.add(
        Membership(
            user_id=hope_admin, organization_id=world.org_id("housing_1"), role="agency_admin"
        )
    )
    await db.flush()
    own = await auth.headers("agency_admin", org="housing_1")
    r = await client.put(project_url(world), json={"user_id": str(hope_admin)}, headers=own)
    assert r.status_code == 200, r.text
    assert r.json()["project_id"] == str(world.project_id("h1_rrh"))
    assert r.json()["user_id"] == r.json()["effective_user_id"] == str(hope_admin)
    assert await contacts(db) == [
        (world.project_id("h1_rrh"), hope_admin),
        (None, world.user_id("housing_provider")),
    ]
    # Setting again replaces; clearing the project's returns it to the organization's.
    r = await client.put(project_url(world), json={"user_id": provider}, headers=own)
    assert r.status_code == 200 and r.json()["user_id"] == provider
    assert len(await contacts(db)) == 2
    r = await client.delete(project_url(world), headers=own)
    assert r.status_code == 204
    r = await client.get(project_url(world), headers=admin)
    assert r.json()["user_id"] is None and r.json()["effective_user_id"] == provider
    assert (await client.delete(org_url(world), headers=admin)).status_code == 204
    assert await contacts(db) == []
    # Each change is audited (who named whom).
    actions = (
        await db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("cas_contact.%"))
            .order_by(AuditEvent.occurred_at)
        )
    ).all()
    assert actions == [
        "cas_contact.set",
        "cas_contact.set",
        "cas_contact.set",
        "cas_contact.clear",
        "cas_contact.clear",
    ]


@pytest.mark.parametrize(
    ("user", "org"),
    [
        ("case_manager", "access_point_1"),
        ("housing_provider", "housing_1"),  # the provider's own staff: not an admin
        ("agency_admin", "access_point_1"),  # an agency admin, of another organization
    ],
)
async def test_who_may_not_set_it(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, user: str, org: str
) -> None:
    headers = await auth.headers(user, org=org)
    body = {"user_id": str(world.user_id("housing_provider"))}
    assert_problem(await client.put(org_url(world), json=body, headers=headers), 403)
    assert_problem(await client.put(project_url(world), json=body, headers=headers), 403)
    assert_problem(await client.delete(org_url(world), headers=headers), 403)
    assert await contacts(db) == []


async def test_another_cocs_organization_is_not_found(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    other = await auth.headers("system_admin", coc="other")
    body = {"user_id": str(world.user_id("housing_provider"))}
    assert_problem(await client.get(org_url(world), headers=other), 404)
    assert_problem(await client.put(org_url(world), json=body, headers=other), 404)
    assert_problem(await client.put(project_url(world), json=body, headers=other), 404)
    assert_problem(await client.delete(project_url(world), headers=other), 404)
    assert await contacts(db) == []


async def test_only_an_active_member_can_be_the_contact(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    admin = await auth.headers("cas_admin", org="cas")
    outsider = str(world.user_id("case_manager2"))  # Harbor, not Hope
    stranger = str(world.user_id("housing_provider", "other"))  # another CoC's user
    for body, field in (
        ({"user_id": outsider}, "user_id"),
        ({"user_id": stranger}, "user_id"),
        ({"user_id": str(uuid.uuid4())}, "user_id"),
        ({"user_id": "someone"}, "user_id"),
        ({}, "user_id"),
        ({"user_id": str(world.user_id("housing_provider")), "email": True}, "email"),
    ):
        r = await client.put(org_url(world), json=body, headers=admin)
        problem = assert_problem(r, 422)
        assert field in str(problem["errors"]), problem
    # A member whose account was deactivated.
    provider = await db.get(User, world.user_id("housing_provider"))
    assert provider is not None
    provider.is_active = False
    await db.flush()
    r = await client.put(org_url(world), json={"user_id": str(provider.id)}, headers=admin)
    assert_problem(r, 422)
    assert await contacts(db) == []
    audited = await db.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "cas_contact.set")
    )
    assert audited == 0
