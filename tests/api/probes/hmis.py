"""Probe ids for the HMIS CSV export and import routes."""

from __future__ import annotations

import uuid

from tests.api.probes import ProbeContext
from tests.support.hmis import EXPORTS, case_zip, import_zip

PRIVATE = {"export_id", "import_id"}


async def arrange(ctx: ProbeContext) -> dict[str, uuid.UUID]:
    admin = await ctx.auth.headers("system_admin")
    r = await ctx.client.post(
        EXPORTS, headers=admin, json={"start_date": "2026-01-01", "end_date": "2026-06-30"}
    )
    assert r.status_code == 202, r.text
    i = await import_zip(ctx.client, admin, case_zip("date_updated_initial"))
    assert i.status_code == 202, i.text
    return {"export_id": uuid.UUID(r.json()["id"]), "import_id": uuid.UUID(i.json()["id"])}
