"""Probe ids for the housing inventory, candidates and matches routes."""

from __future__ import annotations

import uuid

from tests.api.probes import ProbeContext
from tests.support.matching import make_unit, place, send

# Units are read by the whole CoC; matches only by those involved.
PRIVATE = {"match_id"}


async def arrange(ctx: ProbeContext) -> dict[str, uuid.UUID]:
    unit = await make_unit(ctx.client, ctx.auth, ctx.world.project_id("h1_psh"))
    person = await place(ctx.client, ctx.auth, ctx.db)
    r = await send(ctx.client, ctx.auth, unit["id"], person["entry"])
    assert r.status_code == 201, r.text
    return {
        "unit_id": uuid.UUID(unit["id"]),
        "match_id": uuid.UUID(r.json()["id"]),
    }
