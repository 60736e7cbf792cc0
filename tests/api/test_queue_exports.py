"""The queue as CSV and XLSX through HTTP: the list's filters and order, by query or by a search
body with a name; streamed page by page, every client audited; visibility; bad input."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent
from app.routers import queue_exports
from tests.conftest import Auth, World, assert_problem
from tests.support.http import ANY_VERSION
from tests.support.intake import today
from tests.support.queue_flow import place

EXPORTS = "/api/v1/queue-exports"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _queue(client: httpx.AsyncClient, auth: Auth) -> list[Any]:
    """Three households: Nguyen (scored 15, approved), Okafor (scored 4), Zeller (no score)."""
    cm = await auth.headers("case_manager", org="access_point_1")
    admin = await auth.headers("cas_admin")
    first = await place(client, cm, last_name="Nguyen")
    second = await place(client, cm, last_name="Okafor")
    third = await place(client, await auth.headers("case_manager2"), last_name="Zeller")
    for placed, score in ((first, 15), (second, 4)):
        r = await client.put(
            f"{placed.url}/score",
            json={"score": score, "reason": "VI-SPDAT"},
            headers={**admin, **ANY_VERSION},
        )
        assert r.status_code == 200, r.text
    r = await client.post(
        f"{first.url}/transitions", json={"to_status": "approved"}, headers={**admin, **ANY_VERSION}
    )
    assert r.status_code == 200, r.text
    return [first, second, third]


async def _reads(db: AsyncSession, response: httpx.Response) -> list[AuditEvent]:
    return list(
        (
            await db.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.request_id == response.headers["x-request-id"],
                    AuditEvent.action == "pii.read",
                )
                .order_by(AuditEvent.occurred_at)
            )
        ).all()
    )


async def test_csv_in_score_order_streamed_page_by_page(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(queue_exports, "EXPORT_PAGE", 2)
    first, second, third = await _queue(client, auth)
    r = await client.get(
        EXPORTS, params={"format": "csv", "sort": "-score"}, headers=await auth.headers("cas_admin")
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == (
        f'attachment; filename="cas-queue-{today().isoformat()}.csv"'
    )
    header, *rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    table = [dict(zip(header, row, strict=True)) for row in rows]
    assert [t["Last name"] for t in table] == ["Nguyen", "Okafor", "Zeller"]
    assert [t["Score"] for t in table] == ["15", "4", ""]
    assert [t["Queue entry ID"] for t in table] == [first.entry_id, second.entry_id, third.entry_id]
    nguyen = table[0]
    assert nguyen["CAS intake status"] == "approved"
    assert nguyen["Client ID"] == first.client_id
    assert nguyen["Score tool"] == "VI-SPDAT"
    assert nguyen["Case managers"] == "Morgan Case"
    assert nguyen["Family count"] == "1"
    assert nguyen["Rank"].isdigit()
    assert table[2]["Case managers"] == "Riley Case"
    # Two pages: each audited as a read of the clients it holds, in the order sent.
    reads = await _reads(db, r)
    assert [e.subject_ids for e in reads] == [
        [uuid.UUID(first.client_id), uuid.UUID(second.client_id)],
        [uuid.UUID(third.client_id)],
    ]
    assert all(e.actor_user_id == world.user_id("cas_admin") for e in reads)


async def test_xlsx_filtered_by_case_manager(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """The seeds' use of the queue export: the case manager's own clients."""
    first, second, _ = await _queue(client, auth)
    r = await client.get(
        EXPORTS,
        params={"format": "xlsx", "case_manager_id": str(world.user_id("case_manager"))},
        headers=await auth.headers("case_manager", org="cas"),
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    assert sheet is not None and sheet.title == "CAS queue"
    header, *rows = list(sheet.iter_rows(values_only=True))
    table = [dict(zip(header, row, strict=True)) for row in rows]
    assert {t["Last name"] for t in table} == {"Nguyen", "Okafor"}
    by_name = {t["Last name"]: t for t in table}
    assert by_name["Nguyen"]["Score"] == 15 and isinstance(by_name["Nguyen"]["Rank"], int)
    assert by_name["Nguyen"]["Placed on"].date() == today()
    assert by_name["Okafor"]["CAS intake status"] == "pending"
    assert by_name["Okafor"]["Veteran"] == "no"
    [read] = await _reads(db, r)
    assert set(read.subject_ids or []) == {uuid.UUID(first.client_id), uuid.UUID(second.client_id)}


async def test_search_by_name_in_a_body(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    await _queue(client, auth)
    r = await client.post(
        EXPORTS,
        json={"name": "okafor", "format": "csv", "status": ["pending"]},
        headers=await auth.headers("system_admin"),
    )
    assert r.status_code == 200, r.text
    header, *rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [dict(zip(header, row, strict=True))["Last name"] for row in rows] == ["Okafor"]
    # Nothing found: a file with its header only, and nobody audited.
    none = await client.post(
        EXPORTS, json={"name": "Nobody", "format": "xlsx"}, headers=await auth.headers("cas_admin")
    )
    assert none.status_code == 200
    sheet = load_workbook(io.BytesIO(none.content), read_only=True).active
    assert sheet is not None and len(list(sheet.iter_rows(values_only=True))) == 1
    assert await _reads(db, none) == []


async def test_who_may_export_the_queue(client: httpx.AsyncClient, auth: Auth) -> None:
    await _queue(client, auth)
    for user, org, status in (
        ("case_manager", "access_point_1", 404),  # the queue is the CAS organization's
        ("agency_admin", None, 404),
        ("housing_provider", None, 403),
        ("vsp_case_manager", None, 403),
    ):
        headers = await auth.headers(user, org=org)
        assert_problem(await client.get(EXPORTS, params={"format": "csv"}, headers=headers), status)
        r = await client.post(EXPORTS, json={"format": "csv"}, headers=headers)
        assert_problem(r, status)
    # Another CoC's admins export their own (empty) queue.
    other = await client.get(
        EXPORTS, params={"format": "csv"}, headers=await auth.headers("cas_admin", coc="other")
    )
    assert other.status_code == 200
    assert len(list(csv.reader(io.StringIO(other.content.decode("utf-8-sig"))))) == 1


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("GET", {"params": {}}),
        ("GET", {"params": {"format": "pdf"}}),
        ("GET", {"params": {"format": "csv", "status": "parked"}}),
        ("GET", {"params": {"format": "csv", "sort": "name"}}),
        ("GET", {"params": {"format": "csv", "score_min": 10, "score_max": 2}}),
        ("GET", {"params": {"format": "csv", "area": "atlantis"}}),
        ("POST", {"json": {"format": "csv", "surname": "x"}}),
        ("POST", {"json": {"name": "Okafor"}}),
        ("POST", {"json": {"format": "csv", "name": ""}}),
    ],
)
async def test_bad_input_is_a_problem(
    client: httpx.AsyncClient, auth: Auth, method: str, kwargs: dict[str, Any]
) -> None:
    r = await client.request(method, EXPORTS, headers=await auth.headers("cas_admin"), **kwargs)
    assert_problem(r, 422)
