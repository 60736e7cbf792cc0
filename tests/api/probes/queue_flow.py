"""Probe ids for the queue's routes: a household placed by case_manager at access_point_1 (its
assigned case manager); case_manager2 at access_point_2 must not reach its entry."""

from __future__ import annotations

import uuid

from tests.api.probes import ProbeContext
from tests.support.queue_flow import place

PRIVATE = {"queue_entry_id"}


async def arrange(ctx: ProbeContext) -> dict[str, uuid.UUID]:
    placed = await place(
        ctx.client, await ctx.auth.headers("case_manager", org="access_point_1"), last_name="Queue"
    )
    return {"queue_entry_id": uuid.UUID(placed.entry_id)}
