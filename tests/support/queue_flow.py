"""Helpers of the queue workflow tests: a household placed on the queue, an entry's status set
directly (to arrange a move from any status)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.intake import INTAKES, example


@dataclass
class Placed:
    entry_id: str
    client_id: str
    enrollment_id: str
    household_id: str
    version: int
    intake: dict[str, Any]

    @property
    def url(self) -> str:
        return f"/api/v1/queue-entries/{self.entry_id}"


async def place(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    last_name: str = "Nguyen",
    **changes: Any,
) -> Placed:
    """A household placed on the queue by the intake (the caller becomes its case manager)."""
    body = example("placed", **changes)
    body["client"] = {**body["client"], "last_name": last_name}
    r = await client.post(INTAKES, json=body, headers=headers)
    assert r.status_code == 201, r.text
    intake = r.json()
    entry = intake["queue_entry"]
    return Placed(
        entry_id=entry["id"],
        client_id=intake["client"]["id"],
        enrollment_id=intake["enrollment"]["id"],
        household_id=intake["household_id"],
        version=entry["version"],
        intake=intake,
    )


async def set_status(db: AsyncSession, entry_id: str, status: str) -> int:
    """Put the entry in ``status`` (bypassing the machine, to arrange a test); returns its
    version."""
    version = (
        await db.execute(
            text(
                "UPDATE queue_entries SET intake_status = :s, version = version + 1 "
                "WHERE id = :id RETURNING version"
            ),
            {"s": status, "id": uuid.UUID(entry_id)},
        )
    ).scalar_one()
    return int(version)


async def version_of(db: AsyncSession, entry_id: str) -> int:
    return int(
        (
            await db.execute(
                text("SELECT version FROM queue_entries WHERE id = :id"),
                {"id": uuid.UUID(entry_id)},
            )
        ).scalar_one()
    )


INCOMPLETE = {
    "to_status": "incomplete_documentation",
    "note": "Reviewed the file",
    "incomplete_reasons": [
        {"code": "disability_verification"},
        {"code": "other", "text": "Birth certificate for the child"},
    ],
    "instructions_for_case_manager": "Upload the SSI award letter to Document Check.",
    "score_change_reason": "Scored again after the shelter stay.",
}


def move_body(target: str) -> dict[str, Any]:
    """A body that fits a move to ``target`` (the case manager's moves take a note only)."""
    if target == "incomplete_documentation":
        return {
            "to_status": target,
            "incomplete_reasons": [{"code": "identity_verification"}],
        }
    return {"to_status": target, "note": "moved"}
