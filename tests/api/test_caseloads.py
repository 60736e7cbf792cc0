"""Caseload views through HTTP (My CAS active cases, my organization's): the seeds' columns,
filters, sorts, keyset pages, audited reads; and both as CSV and XLSX exports."""

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
from app.routers import caseloads as caseloads_router
from tests.conftest import Auth, World, assert_problem
from tests.support.documents import PDF
from tests.support.intake import INTAKES, days_ago, example, today
from tests.support.queue_flow import Placed, place

MINE = "/api/v1/caseloads/mine"
ORG = "/api/v1/caseloads/organization"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _arrange(client: httpx.AsyncClient, auth: Auth) -> dict[str, Any]:
    """Morgan Case (access_point_1) places a household (10 days ago) and enrolls another
    without placing it; Riley Case (access_point_2) places a third."""
    cm = await auth.headers("case_manager", org="access_point_1")
    placed = await place(client, cm, entry_date=days_ago(10))
    pending_body = example("pending")
    pending_body["client"] = {**pending_body["client"], "last_name": "Abernathy"}
    pending = await client.post(INTAKES, json=pending_body, headers=cm)
    assert pending.status_code == 201, pending.text
    other = await place(client, await auth.headers("case_manager2"), last_name="Zeller")
    # A service and a client file on the placed household's case.
    service = await client.post(
        f"/api/v1/enrollments/{placed.enrollment_id}/services",
        json={"service_type": "family_reunification", "date_provided": days_ago(2)},
        headers=cm,
    )
    assert service.status_code == 201, service.text
    upload = await client.post(
        f"/api/v1/clients/{placed.client_id}/files",
        headers=cm,
        data={"file_type": "birth_certificate"},
        files={"file": ("bc.pdf", PDF, "application/pdf")},
    )
    assert upload.status_code == 201, upload.text
    check = await client.post(
        f"/api/v1/clients/{placed.client_id}/document-checks",
        headers=await auth.headers("case_manager", org="cas"),
        data={"category": "homeless", "item": "identity", "document_type": "photo_id"},
        files={"file": ("id.pdf", PDF, "application/pdf")},
    )
    assert check.status_code == 201, check.text
    return {"placed": placed, "pending": pending.json(), "other": other}


async def test_my_cases_with_the_seed_columns(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: Any
) -> None:
    arranged = await _arrange(client, auth)
    placed: Placed = arranged["placed"]
    pending = arranged["pending"]
    cm = await auth.headers("case_manager", org="access_point_1")
    r = await client.get(MINE, headers=cm)
    assert r.status_code == 200, r.text
    rows = {row["client_id"]: row for row in r.json()["items"]}
    assert set(rows) == {placed.client_id, pending["client"]["id"]}  # not Riley's case
    row = rows[placed.client_id]
    assert row == {
        "enrollment_id": placed.enrollment_id,
        "client_id": placed.client_id,
        "first_name": "Casey",
        "last_name": "Nguyen",
        "enroll_date": days_ago(10),
        "days_enrolled": 10,
        "exit_date": None,
        "prioritization_status": 1,
        "queue_entry_id": placed.entry_id,
        "intake_status": "pending",
        "last_assessment_date": days_ago(10),
        "last_service_date": days_ago(2),
        "last_cls": {"current_living_situation": 116, "information_date": days_ago(10)},
        "referral_status": "none",
        "inactive": False,
        "case_managers": [
            {"user_id": str(world.user_id("case_manager")), "full_name": "Morgan Case"}
        ],
        # Acting for an agency: Client Files, not Document Check.
        "documents_on_file": {"client_files": ["birth_certificate"], "document_check": None},
    }
    waiting = rows[pending["client"]["id"]]
    assert waiting["intake_status"] is None and waiting["queue_entry_id"] is None
    assert waiting["prioritization_status"] == 2  # assessed, not placed
    assert waiting["days_enrolled"] == 0 and waiting["last_service_date"] is None
    # Every client listed is recorded as read, in one event.
    [read] = (
        await db.scalars(
            select(AuditEvent).where(
                AuditEvent.request_id == r.headers["x-request-id"],
                AuditEvent.action == "pii.read",
            )
        )
    ).all()
    assert set(read.subject_ids or []) == set(map(uuid.UUID, rows))

    # Acting for the CAS organization, the same case shows its Document Check items too.
    cas = await client.get(MINE, headers=await auth.headers("case_manager", org="cas"))
    [cas_row] = [x for x in cas.json()["items"] if x["client_id"] == placed.client_id]
    assert cas_row["documents_on_file"] == {
        "client_files": ["birth_certificate"],
        "document_check": [{"category": "homeless", "item": "identity"}],
    }


async def test_my_organizations_cases(
    client: httpx.AsyncClient, auth: Auth, world: World, store: Any
) -> None:
    arranged = await _arrange(client, auth)
    placed, pending, other = arranged["placed"], arranged["pending"], arranged["other"]
    lead = await auth.headers("agency_admin")  # access_point_1's team leader
    r = await client.get(ORG, headers=lead)
    assert r.status_code == 200, r.text
    assert {x["client_id"] for x in r.json()["items"]} == {
        placed.client_id,
        pending["client"]["id"],
    }
    by_member = await client.get(
        ORG, params={"case_manager_id": str(world.user_id("case_manager"))}, headers=lead
    )
    assert len(by_member.json()["items"]) == 2
    nobody = await client.get(
        ORG, params={"case_manager_id": str(world.user_id("agency_admin"))}, headers=lead
    )
    assert nobody.json()["items"] == []
    # access_point_2 sees only Riley's case; the agency admin has no cases of their own.
    ap2 = await client.get(ORG, headers=await auth.headers("case_manager2"))
    assert [x["client_id"] for x in ap2.json()["items"]] == [other.client_id]
    assert (await client.get(MINE, headers=lead)).json()["items"] == []
    # Another CoC's staff see none of these cases.
    elsewhere = await client.get(ORG, headers=await auth.headers("cas_admin", coc="other"))
    assert elsewhere.status_code == 200 and elsewhere.json()["items"] == []


async def test_filters(client: httpx.AsyncClient, auth: Auth, world: World, store: Any) -> None:
    arranged = await _arrange(client, auth)
    placed_by, other_user = world.user_id("case_manager"), world.user_id("case_manager2")
    placed, pending = arranged["placed"], arranged["pending"]
    cm = await auth.headers("case_manager", org="access_point_1")

    async def ids(**params: Any) -> set[str]:
        r = await client.get(MINE, params=params, headers=cm)
        assert r.status_code == 200, r.text
        return {x["client_id"] for x in r.json()["items"]}

    both = {placed.client_id, pending["client"]["id"]}
    assert await ids() == both
    assert await ids(status="pending") == {placed.client_id}
    assert await ids(status=["pending"] * 6) == {placed.client_id}  # repeated: one value
    assert await ids(status=["approved", "incomplete_documentation"]) == set()
    assert await ids(on_queue="false") == {pending["client"]["id"]}
    assert await ids(on_queue="true") == {placed.client_id}
    assert await ids(prioritization_status=2) == {pending["client"]["id"]}
    assert await ids(client_id=placed.client_id) == {placed.client_id}
    assert await ids(inactive="false") == both
    assert await ids(inactive="true") == set()
    # The referral status is the case's own column: a case not on the queue has none.
    assert await ids(referral_status="none") == both
    assert await ids(household_size_min=1, household_size_max=1) == {placed.client_id}
    assert await ids(household_size_min=2) == set()
    assert await ids(chronic="recorded") == set()  # the intake's answers: not chronic
    assert await ids(case_manager_id=str(placed_by)) == both
    assert await ids(case_manager_id=str(other_user)) == set()
    assert await ids(score_min=1) == set()  # not scored yet
    assert await ids(veteran="true") == set()


async def test_filters_on_document_check_are_for_those_who_may_see_it(
    client: httpx.AsyncClient, auth: Auth, world: World, store: Any
) -> None:
    """Document Check is not the agencies' to know about: the rows leave it out, and a filter
    on it (documents on file, the chronic status documented from it) would tell it row by row.
    Outside the CAS organization and admins it is a 422 naming the filter."""
    arranged = await _arrange(client, auth)
    placed = arranged["placed"]
    cm = await auth.headers("case_manager", org="access_point_1")
    for params in (
        {"document_status": "none"},
        {"document_status": "incomplete"},
        {"chronic": "documented"},
        {"chronic": "yes"},
        {"chronic": "no"},
    ):
        for url, extra in ((MINE, {}), (f"{MINE}/export", {"format": "csv"})):
            r = await client.get(url, params={**params, **extra}, headers=cm)
            body = assert_problem(r, 422)
            assert body["errors"][0]["loc"] == ["query", next(iter(params))], body
    r = await client.post(f"{MINE}/search", json={"document_status": "none"}, headers=cm)
    assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", "document_status"]
    # The CAS organization filters on them as on the queue.
    cas = await auth.headers("case_manager", org="cas")
    r = await client.get(MINE, params={"document_status": "none"}, headers=cas)
    assert r.status_code == 200, r.text
    seen = {x["client_id"] for x in r.json()["items"]}
    r = await client.get(MINE, params={"document_status": "incomplete"}, headers=cas)
    assert seen | {x["client_id"] for x in r.json()["items"]} == {placed.client_id}


@pytest.mark.parametrize(
    "params",
    [
        {"status": "parked"},
        {"prioritization_status": 7},
        {"household_size_min": 0},
        {"score_min": 9, "score_max": 3},
        {"area": "atlantis"},
        {"case_manager_id": str(uuid.uuid4())},
        {"chronic": "maybe"},
        {"sort": "name"},
        {"sort": "--rank"},
        {"client_id": "not-a-uuid"},
        {"cursor": "garbage"},
        {"limit": 0},
    ],
)
async def test_bad_filters_are_problems(
    client: httpx.AsyncClient, auth: Auth, params: dict[str, Any]
) -> None:
    r = await client.get(MINE, params=params, headers=await auth.headers("case_manager"))
    assert_problem(r, 422)


async def test_sorts_and_keyset_pages(client: httpx.AsyncClient, auth: Auth, store: Any) -> None:
    arranged = await _arrange(client, auth)
    cm = await auth.headers("case_manager", org="access_point_1")
    expected_by_date = [arranged["placed"].client_id, arranged["pending"]["client"]["id"]]
    for sort in (
        "client_id",
        "enroll_date",
        "days_enrolled",
        "prioritization_status",
        "last_assessment_date",
        "last_service_date",
        "last_cls_date",
        "rank",
        "score",
        "intake_status",
        "household_type",
        "household_size",
        "referral_status",
    ):
        for order in ("asc", "desc"):
            token = sort if order == "asc" else f"-{sort}"
            whole = await client.get(MINE, params={"sort": token}, headers=cm)
            assert whole.status_code == 200, (sort, order, whole.text)
            seen: list[str] = []
            cursor = None
            while True:
                params: dict[str, Any] = {"sort": token, "limit": 1}
                if cursor:
                    params["cursor"] = cursor
                page = await client.get(MINE, params=params, headers=cm)
                assert page.status_code == 200, (sort, order, page.text)
                seen += [x["client_id"] for x in page.json()["items"]]
                cursor = page.json()["next_cursor"]
                if cursor is None:
                    break
            assert seen == [x["client_id"] for x in whole.json()["items"]], (sort, order)
            assert len(seen) == 2
            if sort == "client_id":
                assert seen == sorted(seen, reverse=order == "desc")
            if sort == "enroll_date":
                assert seen == (expected_by_date if order == "asc" else expected_by_date[::-1])
            if sort == "days_enrolled":
                assert seen == (expected_by_date[::-1] if order == "asc" else expected_by_date)
            if sort == "rank":  # the case not on the queue comes after the entries
                assert seen[0 if order == "asc" else 1] == arranged["placed"].client_id
    # A cursor of one sort is refused by another (and by the other order).
    first = await client.get(MINE, params={"sort": "client_id", "limit": 1}, headers=cm)
    cursor = first.json()["next_cursor"]
    for params in ({"sort": "enroll_date"}, {"sort": "-client_id"}):
        r = await client.get(MINE, params={**params, "cursor": cursor}, headers=cm)
        assert assert_problem(r, 422)["errors"][0]["loc"] == ["query", "cursor"]


async def test_who_may_see_caseloads(client: httpx.AsyncClient, auth: Auth) -> None:
    for path in (MINE, ORG, f"{MINE}/export?format=csv", f"{ORG}/export?format=xlsx"):
        assert_problem(await client.get(path, headers=await auth.headers("housing_provider")), 403)
        assert_problem(
            await client.get(path, headers=await auth.headers("vsp_case_manager")),
            403,
            "victim-service-provider",
        )


# --- exports ------------------------------------------------------------------------------------


async def test_csv_export(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    store: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Streamed page by page (one row per page here): every page's clients audited."""
    monkeypatch.setattr(caseloads_router, "EXPORT_PAGE", 1)
    arranged = await _arrange(client, auth)
    placed = arranged["placed"]
    cm = await auth.headers("case_manager", org="access_point_1")
    r = await client.get(
        f"{MINE}/export",
        params={"format": "csv", "sort": "enroll_date"},
        headers=cm,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    disposition = r.headers["content-disposition"]
    assert disposition == f'attachment; filename="cas-caseload-mine-{today().isoformat()}.csv"'
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    header, *rows = table
    assert header[:8] == [
        "Client ID",
        "First name",
        "Last name",
        "Enroll date",
        "Days enrolled in CAS",
        "Exit date",
        "Prioritization status",
        "CAS intake status",
    ]
    assert len(rows) == 2
    first = dict(zip(header, rows[0], strict=True))
    assert first["Client ID"] == placed.client_id
    assert (first["First name"], first["Last name"]) == ("Casey", "Nguyen")
    assert first["Enroll date"] == days_ago(10) and first["Days enrolled in CAS"] == "10"
    assert first["Prioritization status"].startswith("1 ")
    assert first["CAS intake status"] == "pending"
    assert first["Date of most recent service"] == days_ago(2)
    assert first["Most recent CLS"].startswith("116 ")
    assert first["Client files"] == "birth_certificate"
    assert first["Document Check"] == ""  # not for an agency
    assert first["Case managers"] == "Morgan Case"
    assert first["Queue entry ID"] == placed.entry_id
    second = dict(zip(header, rows[1], strict=True))
    assert second["Client ID"] == arranged["pending"]["client"]["id"]
    assert second["CAS intake status"] == ""
    reads = (
        await db.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.request_id == r.headers["x-request-id"],
                AuditEvent.action == "pii.read",
            )
            .order_by(AuditEvent.occurred_at)
        )
    ).all()
    assert [e.subject_ids for e in reads] == [
        [uuid.UUID(placed.client_id)],
        [uuid.UUID(arranged["pending"]["client"]["id"])],
    ]
    assert all(e.changes == {"fields": ["caseload_export_mine", "name"]} for e in reads)


async def test_xlsx_export(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, store: Any
) -> None:
    arranged = await _arrange(client, auth)
    placed = arranged["placed"]
    cas = await auth.headers("case_manager", org="cas")
    r = await client.get(
        f"{ORG}/export", params={"format": "xlsx", "status": "pending"}, headers=cas
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    assert sheet is not None
    header, *rows = list(sheet.iter_rows(values_only=True))
    # The CAS organization's members: Morgan Case holds the placed case (Riley's too? no: Riley
    # is not a member of the CAS organization).
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["Client ID"] == placed.client_id
    assert row["Last name"] == "Nguyen"
    assert row["Days enrolled in CAS"] == 10  # a number, not text
    assert row["Enroll date"].date().isoformat() == days_ago(10)  # a date cell
    assert row["Document Check"] == "homeless/identity"
    assert row["Inactive"] == "no"
    [read] = (
        await db.scalars(
            select(AuditEvent).where(
                AuditEvent.request_id == r.headers["x-request-id"],
                AuditEvent.action == "pii.read",
            )
        )
    ).all()
    assert read.subject_ids == [uuid.UUID(placed.client_id)]


async def test_an_export_refuses_bad_filters_before_sending_anything(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    cm = await auth.headers("case_manager")
    for params in (
        {"format": "pdf"},
        {"format": "csv", "status": "parked"},
        {"format": "csv", "sort": "-name"},
        {"format": "xlsx", "score_min": 5, "score_max": 1},
        {},
    ):
        assert_problem(await client.get(f"{MINE}/export", params=params, headers=cm), 422)


async def test_search_by_name_in_a_body(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, store: Any
) -> None:
    arranged = await _arrange(client, auth)
    placed, pending = arranged["placed"], arranged["pending"]
    cm = await auth.headers("case_manager", org="access_point_1")

    async def found(path: str, body: dict[str, Any]) -> list[str]:
        r = await client.post(f"{path}/search", json=body, headers=cm)
        assert r.status_code == 200, r.text
        return [x["client_id"] for x in r.json()["items"]]

    # A case not on the queue is found by name too (the name is the case's client's).
    assert await found(MINE, {"name": "abernathy"}) == [pending["client"]["id"]]
    assert await found(MINE, {"name": "Nguy"}) == [placed.client_id]
    assert await found(MINE, {"name": "casey nguyen", "status": ["pending"]}) == [placed.client_id]
    assert await found(MINE, {"name": "Nguyen", "on_queue": False}) == []
    assert await found(ORG, {"name": "Zeller"}) == []  # Riley's case, another organization
    both = await found(MINE, {"sort": "client_id", "limit": 1})
    r = await client.post(f"{MINE}/search", json={"sort": "client_id", "limit": 1}, headers=cm)
    rest = await found(MINE, {"sort": "client_id", "limit": 1, "cursor": r.json()["next_cursor"]})
    assert len(both + rest) == 2
    read = await db.scalar(
        select(AuditEvent).where(
            AuditEvent.request_id == r.headers["x-request-id"], AuditEvent.action == "pii.read"
        )
    )
    assert read is not None and read.subject_ids == [uuid.UUID(both[0])]
    for body, loc in (
        ({"name": ""}, ["body", "name"]),
        ({"surname": "x"}, ["body", "surname"]),
        ({"sort": "-client_id", "cursor": r.json()["next_cursor"]}, ["body", "cursor"]),
        ({"score_min": 9, "score_max": 1}, ["body", "score_min"]),
    ):
        bad = await client.post(f"{MINE}/search", json=body, headers=cm)
        assert assert_problem(bad, 422)["errors"][0]["loc"] == loc, body
    assert_problem(
        await client.post(f"{ORG}/search", json={}, headers=await auth.headers("housing_provider")),
        403,
    )
