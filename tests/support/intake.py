"""Shared helpers of the Coordinated Entry tests (intake bodies, row counts)."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.routers.intake import INTAKE_EXAMPLES
from app.services.demo import DEMO_TIME_ZONE

INTAKES = "/api/v1/cas/intakes"
TABLES = (
    "clients",
    "households",
    "household_members",
    "client_access",
    "enrollments",
    "enrollment_assessments",
    "case_assignments",
    "disabilities",
    "current_living_situations",
    "diversion_assessments",
    "housing_needs_assessments",
    "ce_assessments",
    "ce_events",
    "services",
    "case_notes",
    "area_ties",
    "exits",
    "queue_entries",
)


def example(name: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(INTAKE_EXAMPLES[name]["value"])
    body.update(changes)
    return body


def today() -> date:
    """The seeded CoCs' date (in their time zone), whatever the machine's ``TZ``."""
    return clock.today(DEMO_TIME_ZONE)


def days_ago(n: int) -> str:
    return (today() - timedelta(days=n)).isoformat()


async def counts(db: AsyncSession) -> dict[str, int]:
    out = {}
    for table in TABLES:
        out[table] = (await db.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    return out


async def rows(db: AsyncSession, sql: str, **params: Any) -> list[dict[str, Any]]:
    result = await db.execute(text(sql), params)
    return [dict(r._mapping) for r in result]
