"""Helpers of the queue tests: place households through the intake, set an entry's facts."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Auth
from tests.support.intake import INTAKES, example

QUEUE = "/api/v1/queue-entries"
SEARCH = QUEUE + "/search"
SETTINGS = "/api/v1/queue-settings"


async def place(
    client: httpx.AsyncClient,
    auth: Auth,
    *,
    first: str = "Casey",
    last: str = "Nguyen",
    dob: str = "1975-01-20",
    veteran: int = 0,
    family: list[dict[str, Any]] | None = None,
    org: str = "cas",
    user: str = "case_manager",
    **changes: Any,
) -> dict[str, Any]:
    """Place a new household on the queue through the intake; the intake's answer."""
    headers = await auth.headers(user, org=org)
    body = example("placed", **changes)
    body["client"] = {**body["client"], "first_name": first, "last_name": last, "dob": dob}
    body["client"]["veteran_status"] = veteran
    if family:
        body["family_members"] = family
    r = await client.post(INTAKES, json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["queue_entry"] is not None
    return dict(r.json())


def entry_id(placed: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(placed["queue_entry"]["id"])


async def set_facts(db: AsyncSession, entry: uuid.UUID, **values: Any) -> None:
    """Write an entry's columns directly (facts marked fresh, so reads keep them)."""
    values.setdefault("facts_stale", False)
    if "score" in values and "score_recorded_at" not in values:
        values["score_recorded_at"] = None if values["score"] is None else "now"
    sets = ", ".join(f"{k} = now()" if v == "now" else f"{k} = :{k}" for k, v in values.items())
    params = {k: v for k, v in values.items() if v != "now"}
    await db.execute(
        text(f"UPDATE queue_entries SET {sets} WHERE id = :id"), {**params, "id": entry}
    )


def member(first: str, last: str, dob: str, relationship: int) -> dict[str, Any]:
    """A family member enrolled with the head (a new client)."""
    return {
        "client": {"first_name": first, "last_name": last, "dob": dob, "veteran_status": 0},
        "relationship_to_hoh": relationship,
        "prior_living_situation": {
            "living_situation": 116,
            "length_of_stay": 5,
            "date_to_street_essh": "2025-01-01",
            "times_homeless_past_three_years": 1,
            "months_homeless_past_three_years": 112,
        },
    }
