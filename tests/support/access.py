"""Shared arrangements of the access-control tests: releases of information and a household
with a member the caller may not see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Auth
from tests.support.intake import today


async def new_client(
    client: httpx.AsyncClient, headers: dict[str, str], first: str, last: str, **extra: Any
) -> str:
    r = await client.post(
        "/api/v1/clients", json={"first_name": first, "last_name": last, **extra}, headers=headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def give_roi(db: AsyncSession, client_id: str) -> None:
    """An active CoC-wide release of information (arranged directly: who may record one is
    the clients area's rule)."""
    await db.execute(
        text("UPDATE clients SET roi_start_date = :d WHERE id = :id"),
        {"d": today() - timedelta(days=30), "id": uuid.UUID(client_id)},
    )
    await db.flush()


@dataclass
class HiddenFamily:
    """A household of access point 2: head ``visible`` and ``visible2`` have an ROI (everyone
    in the CoC sees them), child ``hidden`` has none (only access point 2 sees it)."""

    household_id: str
    visible: str
    visible2: str
    hidden: str


async def hidden_family(client: httpx.AsyncClient, auth: Auth, db: AsyncSession) -> HiddenFamily:
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    visible = await new_client(client, ap2, "Vera", "Lindqvist")
    visible2 = await new_client(client, ap2, "Viktor", "Lindqvist")
    hidden = await new_client(client, ap2, "Hanna", "Lindqvist", ssn="219-09-9999")
    r = await client.post(
        "/api/v1/households",
        json={
            "members": [
                {"client_id": visible, "relationship_to_hoh": 1},
                {"client_id": visible2, "relationship_to_hoh": 3},
                {"client_id": hidden, "relationship_to_hoh": 2},
            ]
        },
        headers=ap2,
    )
    assert r.status_code == 201, r.text
    await give_roi(db, visible)
    await give_roi(db, visible2)
    return HiddenFamily(r.json()["id"], visible, visible2, hidden)


async def enroll_head_at_access_point_1(
    client: httpx.AsyncClient, auth: Auth, project_id: uuid.UUID, fam: HiddenFamily
) -> None:
    """Access point 1 enrolls the family's (visible) head into its own project with this
    household: writing that open enrollment, it may change the household (still without seeing
    the hidden child)."""
    ap1 = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(
        "/api/v1/enrollments",
        json={
            "client_id": fam.visible,
            "project_id": str(project_id),
            "household_id": fam.household_id,
            "prior_living_situation": {"living_situation": 99},
        },
        headers=ap1,
    )
    assert r.status_code == 201, r.text
