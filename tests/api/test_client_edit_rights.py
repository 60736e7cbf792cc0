"""Who may change a visible client (issue 8 item 4) and the bounds of the ROI dates.

Reading follows visibility (an active ROI shows the client to every agency of the CoC); editing
needs an admin or an organization linked to the client (created, enrolled, referred); the consent
fields (``roi_start_date``, ``roi_end_date``) belong to the creating organization, the CAS
organization and admins.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent, Client
from app.services.clients import access as client_access
from app.services.clients.core import roi_latest_end
from tests.conftest import Auth, World, assert_problem
from tests.support.http import ANY_VERSION
from tests.support.intake import today

URL = "/api/v1/clients"
TODAY = today()


async def _roi_client(client: httpx.AsyncClient, creator: dict[str, str]) -> dict[str, Any]:
    r = await client.post(
        URL,
        json={"first_name": "Rosa", "last_name": "Vega", "roi_start_date": TODAY.isoformat()},
        headers=creator,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    assert body["roi_active"] is True
    return body


async def _updates(db: AsyncSession, client_id: str) -> int:
    return int(
        await db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.entity_id == uuid.UUID(client_id),
                AuditEvent.action == "client.updated",
            )
        )
        or 0
    )


async def test_roi_only_agency_reads_but_cannot_rename_or_extend_the_roi(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    creator = await auth.headers("case_manager", org="access_point_1")
    created = await _roi_client(client, creator)
    url = f"{URL}/{created['id']}"
    other = await auth.headers("case_manager2")  # access point 2: sees the client via the ROI

    r = await client.get(url, headers=other)
    assert r.status_code == 200 and r.json()["last_name"] == "Vega"

    r = await client.patch(url, json={"last_name": "Mallory"}, headers={**other, **ANY_VERSION})
    body = assert_problem(r, 403, "forbidden")
    assert "release of information" in body["detail"]
    later = (TODAY + timedelta(days=365)).isoformat()
    r = await client.patch(url, json={"roi_end_date": later}, headers={**other, **ANY_VERSION})
    body = assert_problem(r, 403, "forbidden")
    assert "release of information" in body["detail"]

    row = await db.get(Client, uuid.UUID(created["id"]), populate_existing=True)
    assert row is not None and row.last_name == "Vega" and row.version == 1
    assert (row.roi_start_date, row.roi_end_date) == (TODAY, None)
    assert await _updates(db, created["id"]) == 0


async def test_enrolled_agency_edits_the_record_but_not_the_consent(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    creator = await auth.headers("case_manager", org="access_point_1")
    created = await _roi_client(client, creator)
    url = f"{URL}/{created['id']}"
    await client_access.grant(
        db, uuid.UUID(created["id"]), world.org_id("access_point_2"), "enrolled"
    )
    await db.flush()
    other = await auth.headers("case_manager2")

    r = await client.patch(url, json={"middle_name": "Ana"}, headers={**other, **ANY_VERSION})
    assert r.status_code == 200, r.text
    assert r.json()["middle_name"] == "Ana"

    for field, value in (
        ("roi_end_date", (TODAY + timedelta(days=6 * 365)).isoformat()),
        ("roi_end_date", (TODAY + timedelta(days=30)).isoformat()),
        ("roi_start_date", None),
    ):
        r = await client.patch(
            url, json={field: value, "city": "Plano"}, headers={**other, **ANY_VERSION}
        )
        body = assert_problem(r, 403, "forbidden")
        assert field in body["detail"]
        assert body["errors"][0]["loc"] == ["body", field]
    # Sending the consent fields unchanged is not a change of consent.
    r = await client.patch(
        url,
        json={"roi_start_date": TODAY.isoformat(), "city": "Plano"},
        headers={**other, **ANY_VERSION},
    )
    assert r.status_code == 200 and r.json()["city"] == "Plano"

    row = await db.get(Client, uuid.UUID(created["id"]), populate_existing=True)
    assert row is not None
    assert (row.roi_start_date, row.roi_end_date) == (TODAY, None)
    assert await _updates(db, created["id"]) == 2


@pytest.mark.parametrize(
    ("user", "org", "link_cas"),
    [
        ("case_manager", "access_point_1", False),  # the creating organization
        ("case_manager", "cas", True),  # the CAS organization (linked by the CE enrollment)
        ("cas_admin", None, False),
        ("system_admin", None, False),
    ],
)
async def test_creator_cas_org_and_admins_change_the_consent(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    user: str,
    org: str | None,
    link_cas: bool,
) -> None:
    created = await _roi_client(client, await auth.headers("case_manager", org="access_point_1"))
    if link_cas:
        await client_access.grant(db, uuid.UUID(created["id"]), world.org_id("cas"), "enrolled")
        await db.flush()
    headers = await auth.headers(user, org=org)
    end = (TODAY + timedelta(days=365)).isoformat()
    r = await client.patch(
        f"{URL}/{created['id']}",
        json={"roi_end_date": end, "last_name": "Vega-Ruiz"},
        headers={**headers, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["roi_end_date"] == end and r.json()["last_name"] == "Vega-Ruiz"
    event = await db.scalar(
        select(AuditEvent).where(
            AuditEvent.entity_id == uuid.UUID(created["id"]),
            AuditEvent.action == "client.updated",
        )
    )
    assert event is not None and event.changes is not None
    assert event.changes["roi_end_date"] == {"old": None, "new": end}
    assert event.actor_user_id == world.user_id(user)


async def test_cas_org_seeing_a_client_through_the_roi_only_cannot_edit(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    created = await _roi_client(client, await auth.headers("case_manager", org="access_point_1"))
    cas = await auth.headers("case_manager", org="cas")
    url = f"{URL}/{created['id']}"
    assert (await client.get(url, headers=cas)).status_code == 200
    assert_problem(
        await client.patch(url, json={"city": "Frisco"}, headers={**cas, **ANY_VERSION}), 403
    )
    assert await _updates(db, created["id"]) == 0


def _too_late() -> str:
    return (roi_latest_end(TODAY) + timedelta(days=1)).isoformat()


ROI_BAD = [
    ({"roi_start_date": "1999-12-31"}, "roi_start_date"),
    ({"roi_start_date": "0001-01-01"}, "roi_start_date"),
    ({"roi_start_date": "2020-01-01", "roi_end_date": "9999-12-31"}, "roi_end_date"),
    ({"roi_start_date": "2020-01-01", "roi_end_date": "late"}, "roi_end_date"),
    ({"roi_start_date": "early"}, "roi_start_date"),
    ({"roi_start_date": "2026-02-01", "roi_end_date": "2026-01-31"}, "roi_end_date"),
]


def _resolve(payload: dict[str, str]) -> dict[str, str]:
    out = dict(payload)
    for k, v in out.items():
        if v == "late":
            out[k] = _too_late()
        elif v == "early":
            out[k] = (roi_latest_end(TODAY) + timedelta(days=1)).isoformat()
    return out


@pytest.mark.parametrize(("payload", "field"), ROI_BAD)
async def test_roi_dates_are_bounded_on_create(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, payload: dict[str, str], field: str
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    before = await db.scalar(select(func.count()).select_from(Client))
    r = await client.post(URL, json={"first_name": "Bo", **_resolve(payload)}, headers=headers)
    body = assert_problem(r, 422)
    assert body["errors"][0]["loc"] == ["body", field], body
    assert await db.scalar(select(func.count()).select_from(Client)) == before


@pytest.mark.parametrize(("payload", "field"), ROI_BAD)
async def test_roi_dates_are_bounded_on_update(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, payload: dict[str, str], field: str
) -> None:
    headers = await auth.headers("system_admin")
    created = await _roi_client(client, await auth.headers("case_manager", org="access_point_1"))
    r = await client.patch(
        f"{URL}/{created['id']}", json=_resolve(payload), headers={**headers, **ANY_VERSION}
    )
    body = assert_problem(r, 422)
    assert body["errors"][0]["loc"] == ["body", field], body
    row = await db.get(Client, uuid.UUID(created["id"]), populate_existing=True)
    assert row is not None and (row.roi_start_date, row.roi_end_date) == (TODAY, None)
    assert await _updates(db, created["id"]) == 0


async def test_roi_dates_at_the_bounds_are_accepted(client: httpx.AsyncClient, auth: Auth) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    latest = roi_latest_end(TODAY).isoformat()
    r = await client.post(
        URL,
        json={"first_name": "Bo", "roi_start_date": "2000-01-01", "roi_end_date": latest},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["roi_start_date"], r.json()["roi_end_date"]) == ("2000-01-01", latest)
