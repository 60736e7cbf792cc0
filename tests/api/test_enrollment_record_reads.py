"""Reads of an enrollment's records are reads of the client: another agency reading case notes,
disabilities (HIV), CLS location details or diversion answers through the client's ROI is in the
audit trail, one ``pii.read`` per response naming the client and the kind of record."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent
from tests.conftest import Auth
from tests.support.access import give_roi
from tests.support.intake import INTAKES, example, today

KINDS = (
    "case-notes",
    "disabilities",
    "current-living-situations",
    "diversion-assessments",
    "housing-needs-assessments",
    "ce-assessments",
    "ce-events",
    "services",
)


async def test_reads_of_enrollment_records_are_audited_per_response(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    bridge = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(INTAKES, json=example("placed"), headers=bridge)
    assert r.status_code == 201, r.text
    intake = r.json()
    client_id, eid = intake["client"]["id"], intake["enrollment"]["id"]
    r = await client.post(
        f"/api/v1/enrollments/{eid}/case-notes",
        json={"note_date": today().isoformat(), "note": "Talked about her HIV treatment."},
        headers=bridge,
    )
    assert r.status_code == 201, r.text
    await give_roi(db, client_id)
    harbor = await auth.headers("case_manager2", org="access_point_2")
    for kind in KINDS:
        r = await client.get(f"/api/v1/enrollments/{eid}/{kind}", headers=harbor)
        assert r.status_code == 200, r.text
        if kind == "case-notes":
            assert "HIV" in r.text
        events = (
            await db.scalars(
                select(AuditEvent).where(AuditEvent.request_id == r.headers["x-request-id"])
            )
        ).all()
        assert [(e.action, e.entity_type, e.entity_id, e.subject_ids) for e in events] == [
            ("pii.read", "client", uuid.UUID(client_id), [uuid.UUID(client_id)])
        ], kind
        assert events[0].changes == {"fields": [kind.replace("-", "_")]}
        assert events[0].acting_organization_id is not None
