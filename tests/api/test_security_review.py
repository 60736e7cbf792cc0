"""Findings of the OWASP API Security Top 10 review of the matching, queue, notification,
webhook, job and HMIS CSV routes, one test each (and the SSRF defences of webhooks, held by
test)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from app.models.jobs import Job
from app.models.notifications import WebhookDelivery
from app.security import utcnow
from app.services.hmis.exports import MAX_UNFINISHED_EXPORTS
from app.services.hmis.housekeeping import fail_abandoned_runs
from app.services.notifications import webhooks
from app.services.platform import email
from tests.api.test_notification_stream import login, sse_events
from tests.conftest import Auth, World, assert_problem
from tests.support.committed import committed_database, serving
from tests.support.documents import make_client
from tests.support.hmis import EXPORTS, case_zip, import_zip
from tests.support.hmis import run_jobs as run_hmis_jobs
from tests.support.matching import make_unit, place
from tests.support.notifications import FAN_OUT, receiver, run_jobs

# --- API1 object-level authorization: jobs of one CoC seen and retried from another --------


async def test_an_invitations_email_job_belongs_to_its_coc(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """Finding: email deliveries (invitations, notification emails) were queued as work of the
    whole deployment (no CoC), so every CoC's system admins listed them and could re-send
    another CoC's dead-lettered messages. They now belong to the CoC they are about."""
    home = await auth.headers("system_admin")
    r = await client.post(
        "/api/v1/users",
        headers=home,
        json={
            "email": f"new-{uuid.uuid4().hex[:8]}@demo.example",
            "full_name": "New Person",
            "organization_id": str(world.org_id("access_point_1")),
            "role": "case_manager",
        },
    )
    assert r.status_code == 201, r.text
    job = await db.scalar(select(Job).where(Job.kind == email.DELIVER))
    assert job is not None and job.coc_id == world.home.coc.id
    job.status = "dead"
    await db.flush()

    other = await auth.headers("system_admin", coc="other")
    listed = await client.get("/api/v1/jobs", params={"kind": email.DELIVER}, headers=other)
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert_problem(await client.get(f"/api/v1/jobs/{job.id}", headers=other), 404)
    assert_problem(await client.post(f"/api/v1/jobs/{job.id}/retry", headers=other), 404)
    await db.refresh(job)
    assert job.status == "dead"
    # Its own CoC's system admin sees and retries it.
    listed = await client.get("/api/v1/jobs", params={"kind": email.DELIVER}, headers=home)
    assert [j["id"] for j in listed.json()["items"]] == [str(job.id)]
    retried = await client.post(f"/api/v1/jobs/{job.id}/retry", headers=home)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "queued"


# --- API3 mass assignment: unknown fields inside request objects ----------------------------


async def test_unknown_fields_inside_queue_settings_are_refused(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    """Finding: a priority key object (and a checklist document type) silently dropped fields
    it does not know, where every request body refuses them."""
    admin = await auth.headers("cas_admin") | {"If-Match": "*"}
    before = (await client.get("/api/v1/queue-settings", headers=admin)).json()
    body = {
        "score_tool": "VI-SPDAT",
        "score_min": 0,
        "score_max": 22,
        "scheme": [{"key": "score", "direction": "desc", "weight": 100}],
    }
    problem = assert_problem(
        await client.put("/api/v1/queue-settings", json=body, headers=admin), 422
    )
    assert problem["errors"][0]["loc"][-1] == "weight", problem
    assert (await client.get("/api/v1/queue-settings", headers=admin)).json() == before


async def test_unknown_fields_inside_the_checklist_are_refused(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    admin = await auth.headers("cas_admin")
    before = (await client.get("/api/v1/document-checklist", headers=admin)).json()
    body = {
        "items": [
            {
                "category": "homeless",
                "item": "identity",
                "document_types": [{"code": "state_id", "label": "ID", "sort_order": -1}],
            }
        ]
    }
    r = await client.put("/api/v1/document-checklist", headers=admin, json=body)
    assert assert_problem(r, 422)["errors"][0]["loc"][-1] == "sort_order"
    assert (await client.get("/api/v1/document-checklist", headers=admin)).json() == before


def _objects_without_closed_properties(app: Any) -> list[str]:
    schema = app.openapi()
    components = schema["components"]["schemas"]

    def walk(node: dict[str, Any], where: str, seen: set[str]) -> list[str]:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            if name in seen:
                return []
            return walk(components[name], name, seen | {name})
        found = []
        for key in ("anyOf", "oneOf", "allOf"):
            for part in node.get(key, []):
                found += walk(part, where, seen)
        if "properties" in node:
            if node.get("additionalProperties") is not False:
                found.append(where)
            for value in node["properties"].values():
                found += walk(value, where, seen)
        if isinstance(node.get("items"), dict):
            found += walk(node["items"], where, seen)
        return found

    open_objects = []
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            content = op.get("requestBody", {}).get("content", {})
            body = content.get("application/json")
            if body is not None:
                open_objects += [
                    f"{method.upper()} {path}: {name}" for name in walk(body["schema"], "", set())
                ]
    return open_objects


def test_every_json_request_object_refuses_unknown_fields(app: Any) -> None:
    """Mass assignment, for every route: each object in a JSON request body (nested ones too)
    is closed. (Multipart uploads refuse unknown parts in their readers.)"""
    assert _objects_without_closed_properties(app) == []


# --- API4 unrestricted resource consumption: HMIS CSV jobs ------------------------------------


async def test_an_organization_runs_a_few_exports_at_a_time(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, app: Any
) -> None:
    """Finding: every POST started another whole-period export in the server process, without
    limit. An organization now has at most three unfinished at once."""
    admin = await auth.headers("system_admin")
    body = {"start_date": "2000-01-01", "end_date": "2030-12-31"}
    for _ in range(MAX_UNFINISHED_EXPORTS):
        r = await client.post(EXPORTS, headers=admin, json=body)
        assert r.status_code == 202, r.text
    before = await db.scalar(text("SELECT count(*) FROM hmis_exports"))
    r = await client.post(EXPORTS, headers=admin, json=body)
    assert "not finished" in assert_problem(r, 409)["detail"]
    assert await db.scalar(text("SELECT count(*) FROM hmis_exports")) == before
    # Another organization is not held up; and once the jobs ran, the next one starts.
    agency = await auth.headers("agency_admin")
    r = await client.post(EXPORTS, headers=agency, json=body)
    assert r.status_code in {202, 422}, r.text  # 422: nothing it may export, not the cap
    assert r.status_code == 422 or r.json()["status"] == "queued"
    await run_hmis_jobs(app)
    r = await client.post(EXPORTS, headers=admin, json=body)
    assert r.status_code == 202, r.text


async def test_a_coc_has_one_unfinished_import_and_a_second_zip_is_not_stored(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, app: Any
) -> None:
    """Finding: any number of imports (each up to a gigabyte, stored) could be queued at once.
    A second one while the first is unfinished is refused before its zip is stored."""
    admin = await auth.headers("system_admin")
    data = case_zip("date_updated_initial")
    first = await import_zip(client, admin, data, allow_missing_files=True)
    assert first.status_code == 202, first.text
    stored = await app.state.hmis_store.list_keys()
    r = await import_zip(client, admin, data, allow_missing_files=True)
    assert first.json()["id"] in assert_problem(r, 409)["detail"]
    assert await db.scalar(text("SELECT count(*) FROM hmis_imports WHERE status = 'queued'")) == 1
    assert await app.state.hmis_store.list_keys() == stored
    await run_hmis_jobs(app)
    r = await import_zip(client, admin, data, allow_missing_files=True)
    assert r.status_code == 202, r.text


async def test_an_import_whose_job_died_no_longer_blocks_the_next(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    """An import whose job ended in the dead letter (its worker died on every try) is failed by
    housekeeping, so the CoC's next zip is taken; until then it blocks it."""
    admin = await auth.headers("system_admin")
    data = case_zip("date_updated_initial")
    first = await import_zip(client, admin, data, allow_missing_files=True)
    assert first.status_code == 202, first.text
    key = f"hmis.import:{first.json()['id']}"
    job = (await db.scalars(select(Job).where(Job.dedupe_key == key))).one()
    assert job.status == "queued" and job.payload == {"import_id": first.json()["id"]}
    assert await fail_abandoned_runs(db, utcnow()) == 0  # a live job: nothing to do
    await db.execute(text("UPDATE jobs SET status = 'dead' WHERE dedupe_key = :k"), {"k": key})
    assert_problem(await import_zip(client, admin, data, allow_missing_files=True), 409)
    assert await fail_abandoned_runs(db, utcnow()) == 1
    row = (
        await db.execute(
            text("SELECT status, error FROM hmis_imports WHERE id = :id"),
            {"id": uuid.UUID(first.json()["id"])},
        )
    ).one()
    assert row.status == "failed" and "dead letter" in row.error
    r = await import_zip(client, admin, data, allow_missing_files=True)
    assert r.status_code == 202, r.text


# --- API7 server-side request forgery: webhooks (held, tested) ------------------------------


@contextlib.contextmanager
def _redirecting(to: str) -> Iterator[tuple[str, list[str]]]:
    """A receiver answering every POST with a redirect to ``to``; its URL and the paths hit."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(307)
            self.send_header("Location", to)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def test_a_receiver_redirecting_elsewhere_is_not_followed(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    """A receiver that redirects (here to another receiver, even on an allowed address) gets
    one POST and the redirect is a failed attempt: a redirect could otherwise lead the request
    to an internal address that was never checked."""
    person = await make_client(db, world)
    with receiver() as inner, _redirecting(inner.url) as (url, hits):
        r = await client.post(
            "/api/v1/webhook-subscriptions",
            json={"url": url, "event_types": ["document.uploaded"]},
            headers=await auth.headers("agency_admin"),
        )
        assert r.status_code == 201, r.text
        await _upload(client, await auth.headers("case_manager"), person.id)
        await run_jobs(sessionmaker, test_settings, [*FAN_OUT, webhooks.DELIVER])
        assert hits == ["/hooks"] and inner.requests == []
    delivery = await db.scalar(select(WebhookDelivery))
    assert delivery is not None and delivery.last_status_code == 307
    assert delivery.status == "pending" and delivery.last_error == "HTTP 307"


async def test_the_name_is_resolved_once_per_delivery_and_the_checked_address_is_used(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: a name that answers an allowed address to the check and a private one
    afterwards. The delivery connects to the address it checked, never asking again."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "partner.rebind.test":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        # The first answer of each check is the receiver; any later one a private address.
        answer = "127.0.0.1" if len(lookups) in {1, 2} else "10.0.0.5"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    person = await make_client(db, world)
    with receiver() as rx:
        url = rx.url.replace("127.0.0.1", "partner.rebind.test")
        r = await client.post(
            "/api/v1/webhook-subscriptions",
            json={"url": url, "event_types": ["document.uploaded"]},
            headers=await auth.headers("agency_admin"),
        )
        assert r.status_code == 201, r.text
        assert len(lookups) == 1
        await _upload(client, await auth.headers("case_manager"), person.id)
        await run_jobs(sessionmaker, test_settings, [*FAN_OUT, webhooks.DELIVER])
        # One lookup at delivery (checked), and the POST went to that address.
        assert len(lookups) == 2
        assert len(rx.requests) == 1
        assert rx.requests[0].headers["Host"] == url.split("/")[2]
    delivery = await db.scalar(select(WebhookDelivery))
    assert delivery is not None and delivery.status == "succeeded"


async def _upload(client: httpx.AsyncClient, headers: dict[str, str], client_id: Any) -> None:
    r = await client.post(
        f"/api/v1/clients/{client_id}/files",
        headers=headers,
        data={"file_type": "social_security_card"},
        files={"file": ("card.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")},
    )
    assert r.status_code == 201, r.text


# --- API4: live streams per user ------------------------------------------------------------


async def test_a_user_holds_a_bounded_number_of_live_streams(tmp_path: Path) -> None:
    """Finding: one user could open any number of live streams (each an open connection, a
    queue, and inbox reads at every change). Past ``CAS_SSE_MAX_STREAMS_PER_USER`` on one
    process the next is a 429; closing one makes room again."""
    async with committed_database("streams") as db:
        settings = Settings(
            environment="test",
            database_url=db.url,
            data_dir=tmp_path,
            run_jobs_in_server=False,
            auth_rate_limit=10_000,
            sse_heartbeat_seconds=0.3,
            sse_max_seconds=60,
            sse_max_streams_per_user=2,
        )
        async with serving(create_app(settings)) as base:
            admin = await login(base, "cas_admin@demo.example", str(db.coc.orgs["cas"].id))
            other = await login(base, "case_manager@demo.example")
            held: list[Any] = []
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:

                async def opened(headers: dict[str, str]) -> Any:
                    stream = http.stream("GET", "/api/v1/notifications/stream", headers=headers)
                    response = await stream.__aenter__()
                    assert response.status_code == 200
                    events = sse_events(response)
                    name, _, _ = await asyncio.wait_for(anext(events), timeout=20)
                    assert name == "unread_count"
                    held.append(events)  # a collected reader would close the stream
                    return stream

                first = await opened(admin)
                second = await opened(admin)
                refused = await http.get("/api/v1/notifications/stream", headers=admin)
                assert_problem(refused, 429, "too-many-requests")
                assert int(refused.headers["retry-after"]) > 0
                # Another user is not held up by it.
                third = await opened(other)
                await third.__aexit__(None, None, None)
                await first.__aexit__(None, None, None)
                again = None
                for _ in range(100):  # the server sees the disconnect at its next check
                    try:
                        again = await opened(admin)
                        break
                    except AssertionError:
                        await asyncio.sleep(0.1)
                assert again is not None
                await again.__aexit__(None, None, None)
                await second.__aexit__(None, None, None)


# --- API1: ids in request bodies of the matching routes (held, tested) -----------------------


async def test_another_cocs_unit_and_queue_entry_answer_like_unknown_ids(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """A match's unit and queue entry come from the body: another CoC's admin naming this
    CoC's (real, matchable) ones gets the answer an unknown id gets, and nothing is written."""
    unit = await make_unit(client, auth, world.project_id("h1_psh"))
    person = await place(client, auth, db)
    before = await db.scalar(text("SELECT count(*) FROM matches"))
    other = await auth.headers("cas_admin", coc="other")

    async def answer(unit_id: Any, entry_id: Any) -> tuple[int, Any]:
        r = await client.post(
            "/api/v1/matches",
            json={"unit_id": str(unit_id), "queue_entry_id": str(entry_id)},
            headers=other,
        )
        body = r.json()
        return r.status_code, (body.get("type"), body.get("detail"), body.get("errors"))

    assert await answer(unit["id"], person["entry"]) == await answer(uuid.uuid4(), uuid.uuid4())
    assert (await answer(unit["id"], person["entry"]))[0] in {404, 422}
    assert await db.scalar(text("SELECT count(*) FROM matches")) == before
    # Nor does the unit's page or eligibility answer for them.
    for path in (f"/api/v1/units/{unit['id']}", f"/api/v1/units/{unit['id']}/candidates"):
        assert_problem(await client.get(path, headers=other), 404)
