from __future__ import annotations

import uuid

from tests.api.probes import ProbeContext

PRIVATE = {"user_id", "membership_id"}


async def arrange(ctx: ProbeContext) -> dict[str, uuid.UUID]:
    home = ctx.world.home
    user = home.users["case_manager"]
    headers = await ctx.auth.headers("system_admin")
    r = await ctx.client.get(f"/api/v1/users/{user.id}", headers=headers)
    assert r.status_code == 200, r.text
    return {
        "coc_id": home.coc.id,
        "organization_id": home.orgs["access_point_1"].id,
        "project_id": home.projects["ap1_outreach"].id,
        "user_id": user.id,
        "membership_id": uuid.UUID(r.json()["memberships"][0]["id"]),
    }
