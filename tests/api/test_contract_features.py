"""Behaviour the contract promises (issue 10): code lists, If-Match required (428), file parts
refused when sent without a file name or as text, offline docs, CORS-exposed headers."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.main import create_app
from app.models import AuditEvent, Client
from app.models.documents import DocumentCheck
from app.reference import hud_lists
from app.storage import FileStore
from tests.conftest import Auth, World, assert_problem
from tests.support.documents import PDF, count, make_client, multipart, stored_files
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, example

LISTS = "/api/v1/reference/code-lists"


# --- code lists -------------------------------------------------------------------------------


async def test_code_lists_for_any_role_with_labels(client: httpx.AsyncClient, auth: Auth) -> None:
    assert_problem(await client.get(LISTS), 401)
    for user in ("housing_provider", "case_manager", "system_admin"):
        r = await client.get(LISTS, headers=await auth.headers(user))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["next_cursor"] is None
        assert [c["element"] for c in body["items"]][:3] == ["1.1", "1.2", "1.3"]
        assert len(body["items"]) == len(hud_lists())
    one = await client.get(f"{LISTS}/3.12.1", headers=await auth.headers("housing_provider"))
    assert one.status_code == 200
    listed = one.json()
    assert listed["schema_name"] == "LivingSituation"
    codes = {c["value"]: c["label"] for c in listed["codes"]}
    assert codes[116].startswith("Place not meant for habitation")
    assert list(codes) == sorted(codes) and set(codes) == set(hud_lists()["3.12.1"])
    unnamed = (await client.get(f"{LISTS}/R1.1", headers=await auth.headers("case_manager"))).json()
    assert unnamed["schema_name"] is None and unnamed["codes"]


async def test_unknown_code_list_is_404(client: httpx.AsyncClient, auth: Auth) -> None:
    headers = await auth.headers("case_manager")
    assert_problem(await client.get(f"{LISTS}/9.99.9", headers=headers), 404, "not-found")
    assert_problem(await client.get(f"{LISTS}/a;b", headers=headers), 422)


async def test_a_read_prefills_a_write(client: httpx.AsyncClient, auth: Auth) -> None:
    """The HUD codes a read returns are accepted as they are by the matching write."""
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await client.post(INTAKES, json=example("placed"), headers=headers)
    assert intake.status_code == 201, intake.text
    enrollment_id = intake.json()["enrollment"]["id"]
    latest = (
        await client.get(f"/api/v1/enrollments/{enrollment_id}/latest-values", headers=headers)
    ).json()
    cls = latest["current_living_situation"]
    body = {
        "assessment_date": cls["information_date"],
        "current_living_situation": {
            k: cls[k] for k in ("current_living_situation", "cls_subsidy_type", "verified_by")
        },
        "barriers": [
            {k: b[k] for k in ("disability_type", "disability_response", "indefinite_and_impairs")}
            for b in latest["barriers"]
        ],
    }
    r = await client.post(
        f"/api/v1/enrollments/{enrollment_id}/assessments",
        json=body,
        headers={**headers, "If-Match": intake.headers["etag"]},
    )
    assert r.status_code == 201, r.text


# --- If-Match -----------------------------------------------------------------------------------


async def test_updates_of_shared_records_require_if_match(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await client.post(INTAKES, json=example("pending"), headers=headers)
    assert intake.status_code == 201, intake.text
    client_id = intake.json()["client"]["id"]
    enrollment_id = intake.json()["enrollment"]["id"]
    household_id = intake.json()["household_id"]
    events_before = await count(db, AuditEvent)

    for method, url, body in [
        ("PATCH", f"/api/v1/clients/{client_id}", {"city": "Plano"}),
        ("PATCH", f"/api/v1/enrollments/{enrollment_id}", {"disabling_condition": 99}),
        (
            "POST",
            f"/api/v1/enrollments/{enrollment_id}/exit",
            {
                "exit_date": intake.json()["enrollment"]["entry_date"],
                "destination": 410,
                "exit_reason": "left_coc_area",
            },
        ),
        (
            "POST",
            f"/api/v1/households/{household_id}/members",
            {"client": {"first_name": "Kim", "last_name": "Rivera"}, "relationship_to_hoh": 2},
        ),
    ]:
        r = await client.request(method, url, json=body, headers=headers)
        problem = assert_problem(r, 428, "precondition-required")
        assert re.fullmatch(r'"\d+"', problem["current_etag"]), problem
    assert await count(db, AuditEvent) == events_before  # nothing written
    person = await db.get(Client, uuid.UUID(client_id))
    assert person is not None and person.city is None and person.version == 1

    # A stale version is 412 with the current ETag; the current one goes through.
    url = f"/api/v1/clients/{client_id}"
    stale = await client.patch(url, json={"city": "Plano"}, headers={**headers, "If-Match": '"9"'})
    assert assert_problem(stale, 412, "precondition-failed")["current_etag"] == '"1"'
    ok = await client.patch(url, json={"city": "Plano"}, headers={**headers, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["city"] == "Plano"
    assert ok.headers["etag"] == '"2"' == f'"{ok.json()["version"]}"'


async def test_if_match_is_checked_after_visibility(client: httpx.AsyncClient, auth: Auth) -> None:
    """A caller who may not see the record learns nothing from the missing header: 404."""
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await client.post(INTAKES, json=example("pending"), headers=headers)
    other = await auth.headers("case_manager2")
    for url in (
        f"/api/v1/clients/{intake.json()['client']['id']}",
        f"/api/v1/enrollments/{intake.json()['enrollment']['id']}",
    ):
        assert_problem(await client.patch(url, json={}, headers=other), 404)


async def test_if_match_stays_optional_elsewhere(client: httpx.AsyncClient, auth: Auth) -> None:
    admin = await auth.headers("system_admin")
    r = await client.post("/api/v1/organizations", json={"name": "Optional Co"}, headers=admin)
    url = f"/api/v1/organizations/{r.json()['id']}"
    assert (await client.patch(url, json={"name": "Optional"}, headers=admin)).status_code == 200


# --- file parts ---------------------------------------------------------------------------------


async def test_a_file_part_without_a_file_name_or_sent_as_text_is_refused(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    url = f"/api/v1/clients/{person.id}/document-checks"
    fields = [("category", "homeless", None), ("item", "homeless", None)]
    fields.append(("document_type", "third_party_letter", None))

    nameless, body = multipart([*fields, ("file", PDF, None)])
    r = await client.post(url, content=body, headers={**cas, **nameless})
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == ["body", "file"]

    as_text = (
        b'--b\r\nContent-Disposition: form-data; name="category"\r\n\r\nhomeless\r\n'
        b'--b\r\nContent-Disposition: form-data; name="item"\r\n\r\nhomeless\r\n'
        b'--b\r\nContent-Disposition: form-data; name="document_type"\r\n\r\n'
        b"third_party_letter\r\n"
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="letter.pdf"\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + PDF + b"\r\n--b--\r\n"
    )
    r = await client.post(
        url, content=as_text, headers={**cas, "content-type": "multipart/form-data; boundary=b"}
    )
    assert_problem(r, 415, "unsupported-media-type")

    assert stored_files(files_root) == []
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 0

    # The same file as a file part is stored byte for byte.
    ok = await client.post(
        url,
        data={"category": "homeless", "item": "homeless", "document_type": "third_party_letter"},
        files={"file": ("letter.pdf", PDF, "application/octet-stream")},
        headers=cas,
    )
    assert ok.status_code == 201, ok.text
    download = await client.get(ok.json()["file"]["download_path"], headers=cas)
    assert download.content == PDF
    assert (await db.scalar(select(DocumentCheck.size_bytes))) == len(PDF)


# --- documentation and CORS --------------------------------------------------------------------


async def test_docs_are_served_from_the_app_itself(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        r = await client.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        references = re.findall(r'(?:src|href)="([^"]+)"', r.text)
        assert references, page
        assert not [u for u in references if "//" in u], references  # nothing from elsewhere
        assert "fonts.googleapis" not in r.text and "cdn" not in r.text.lower()
        for url in references:
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 100, url
    assert "validatorUrl" in (await client.get("/docs")).text


async def test_cors_exposes_the_headers_browsers_need(test_settings: Settings) -> None:
    app = create_app(test_settings, demo=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        r = await c.get("/health/live", headers={"Origin": "http://localhost:5173"})
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {
        "etag",
        "location",
        "x-request-id",
        "idempotent-replayed",
        "content-disposition",
        "x-merged-into",
        "retry-after",
    } <= exposed


async def test_an_update_refuses_null_for_a_field_that_always_has_a_value(
    client: httpx.AsyncClient, auth: Auth, world: World, app: object
) -> None:
    """A field an update may leave out but never clear (a name, a flag, a project's type, an
    entry date) is not offered as nullable, and null is a 422 on that field with nothing
    changed -- not a 409 from the database, not silently ignored."""
    admin = {**(await auth.headers("system_admin")), **ANY_VERSION}
    project = f"/api/v1/projects/{world.project_id('ap1_outreach')}"
    cases = [
        (project, "ProjectUpdate", ["name", "project_type", "referrals_through_cas"]),
        (f"/api/v1/organizations/{world.org_id('housing_1')}", "OrganizationUpdate", ["name"]),
        (f"/api/v1/users/{world.user_id('case_manager2')}", "UserUpdate", ["full_name"]),
    ]
    unit = await client.post(
        f"/api/v1/projects/{world.project_id('h1_psh')}/units",
        json={"label": "Null-1", "bedrooms": 1},
        headers=admin,
    )
    assert unit.status_code == 201, unit.text
    cases.append((f"/api/v1/units/{unit.json()['id']}", "UnitUpdate", ["label", "bedrooms"]))
    schemas = app.openapi()["components"]["schemas"]  # type: ignore[attr-defined]
    for url, model, fields in cases:
        before = (await client.get(url, headers=admin)).json()
        for field in fields:
            prop = schemas[model]["properties"][field]
            assert {"type": "null"} not in prop.get("anyOf", []), (model, field)
            r = await client.patch(url, json={field: None}, headers=admin)
            body = assert_problem(r, 422)
            assert body["errors"][0]["loc"] == ["body", field], body
        assert (await client.get(url, headers=admin)).json() == before
