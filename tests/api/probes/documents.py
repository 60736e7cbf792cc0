"""Probe ids for Document Check and Client Files routes."""

from __future__ import annotations

import uuid

from tests.api.probes import ProbeContext
from tests.support.documents import PDF, make_client

PRIVATE = {"client_id", "document_check_id", "client_file_id"}


async def arrange(ctx: ProbeContext) -> dict[str, uuid.UUID]:
    person = await make_client(ctx.db, ctx.world)
    cas = await ctx.auth.headers("case_manager", org="cas")
    r = await ctx.client.post(
        f"/api/v1/clients/{person.id}/document-checks",
        headers=cas,
        data={"category": "homeless", "item": "identity", "document_type": "photo_id"},
        files={"file": ("probe.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 201, r.text
    agency = await ctx.auth.headers("case_manager", org="access_point_1")
    f = await ctx.client.post(
        f"/api/v1/clients/{person.id}/files",
        headers=agency,
        data={"file_type": "birth_certificate"},
        files={"file": ("probe.pdf", PDF, "application/pdf")},
    )
    assert f.status_code == 201, f.text
    return {
        "client_id": person.id,
        "document_check_id": uuid.UUID(r.json()["id"]),
        "client_file_id": uuid.UUID(f.json()["id"]),
    }
