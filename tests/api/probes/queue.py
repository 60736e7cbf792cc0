"""Probe ids for the queue routes."""

from __future__ import annotations

import uuid

from tests.api.probes import ProbeContext
from tests.support.queue import entry_id, place

PRIVATE = {"queue_entry_id"}


async def arrange(ctx: ProbeContext) -> dict[str, uuid.UUID]:
    placed = await place(ctx.client, ctx.auth, first="Probe", last="Queue")
    return {"queue_entry_id": entry_id(placed)}
