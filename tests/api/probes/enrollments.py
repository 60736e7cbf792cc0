"""Cross-organization probe ids for the Coordinated Entry routes (an intake by case_manager at
access_point_1; case_manager2 at access_point_2 must not reach any of it)."""

from __future__ import annotations

import uuid

from tests.api.probes import ProbeContext
from tests.support.intake import INTAKES, example

PRIVATE = {"enrollment_id", "assessment_id", "assignment_id", "client_id"}


async def arrange(ctx: ProbeContext) -> dict[str, uuid.UUID]:
    headers = await ctx.auth.headers("case_manager", org="access_point_1")
    r = await ctx.client.post(INTAKES, json=example("placed"), headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    return {
        "enrollment_id": uuid.UUID(body["enrollment"]["id"]),
        "assessment_id": uuid.UUID(body["assessment_id"]),
        "assignment_id": uuid.UUID(body["enrollment"]["case_assignments"][0]["id"]),
        "client_id": uuid.UUID(body["client"]["id"]),
    }
