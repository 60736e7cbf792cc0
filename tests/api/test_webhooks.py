"""Partner webhooks: signed deliveries that an independent implementation verifies (the Standard
Webhooks reference library, and HMAC by hand), only events the organization may see, refused
addresses and secrets, rotation with two valid secrets, retries, dead letter, redelivery,
automatic disabling with a notice to the organization's admins."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.config import Settings
from app.models.jobs import Job
from app.models.notifications import WebhookDelivery, WebhookSubscription
from app.services.notifications import webhooks
from app.services.platform import events
from tests.conftest import Auth, World, assert_problem
from tests.support.documents import make_client
from tests.support.notifications import intake, receiver, recipients, run_jobs

URL = "/api/v1/webhook-subscriptions"


def verify_by_hand(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks, from the specification: HMAC-SHA256 over "id.timestamp.body" with the
    base64-decoded secret, compared with each "v1," signature."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    sent = [s.split(",", 1)[1] for s in headers["webhook-signature"].split(" ")]
    return any(hmac.compare_digest(expected, s) for s in sent)


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


async def subscribe(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    url: str,
    event_types: tuple[str, ...] = ("document.uploaded",),
    **extra: Any,
) -> dict[str, Any]:
    r = await client.post(
        URL, json={"url": url, "event_types": list(event_types), **extra}, headers=headers
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def upload_file(client: httpx.AsyncClient, headers: dict[str, str], client_id: Any) -> None:
    r = await client.post(
        f"/api/v1/clients/{client_id}/files",
        headers=headers,
        data={"file_type": "social_security_card"},
        files={"file": ("card.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")},
    )
    assert r.status_code == 201, r.text


@pytest.fixture
async def bridge(auth: Auth) -> dict[str, str]:
    """The Bridge Access Point's agency admin (manages its webhooks)."""
    return await auth.headers("agency_admin")


async def test_deliveries_are_signed_and_verify_independently(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    bridge: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    engine: AsyncEngine,
) -> None:
    person = await make_client(db, world)
    inserts: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO WEBHOOK_DELIVERY_ATTEMPTS"):
            inserts.append(statement)

    with receiver() as rx:
        sub = await subscribe(client, bridge, rx.url, description="Intake system")
        secret = sub["secret"]
        assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
        assert sub["enabled"] and sub["organization_id"] == str(world.org_id("access_point_1"))
        await upload_file(client, await auth.headers("case_manager"), person.id)
        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        try:
            await run_jobs(sessionmaker, test_settings)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
        [request] = rx.requests
    # The attempt's INSERT names its CoC (a CoC-sharded deployment routes it by that value).
    [insert] = inserts
    assert "coc_id" in insert.split("(", 1)[1].split(")", 1)[0], insert
    headers = lower(request.headers)
    assert request.path == "/hooks/cas"
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"].startswith("msg_")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    # The reference implementation (standardwebhooks on PyPI) and the specification by hand.
    payload = Webhook(secret).verify(request.body, headers)
    assert verify_by_hand(secret, headers, request.body)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.generate_secret()).verify(request.body, headers)
    tampered = request.body.replace(b"social_security_card", b"birth_certificate")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, headers)
    assert payload["type"] == "document.uploaded"
    data = payload["data"]
    assert data["client_id"] == str(person.id) and data["entity_type"] == "client_file"
    assert data["file_type"] == "social_security_card"
    assert "Docu" not in request.body.decode() and "Ment" not in request.body.decode()

    log = await client.get(f"{URL}/{sub['id']}/deliveries", headers=bridge)
    [delivery] = log.json()["items"]
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 1
    assert delivery["webhook_id"] == headers["webhook-id"] and delivery["last_status_code"] == 204
    one = await client.get(f"{URL}/{sub['id']}/deliveries/{delivery['id']}", headers=bridge)
    assert one.json()["payload"] == payload
    [attempt] = one.json()["attempt_log"]
    assert attempt["succeeded"] and attempt["status_code"] == 204
    # Secrets are never read back.
    listed = await client.get(URL, headers=bridge)
    assert "secret" not in listed.json()["items"][0] and secret not in listed.text


async def test_only_events_the_organization_may_see_are_sent(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    bridge: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    person = await make_client(db, world)  # the Bridge's client
    admin = await auth.headers("system_admin")
    with receiver() as bridge_rx, receiver() as harbor_rx, receiver() as off_rx:
        await subscribe(client, bridge, bridge_rx.url)
        # Harbor Outreach Center (set up by a system admin) does not see the Bridge's client.
        harbor = await subscribe(
            client, admin, harbor_rx.url, organization_id=str(world.org_id("access_point_2"))
        )
        assert harbor["organization_id"] == str(world.org_id("access_point_2"))
        off = await subscribe(client, bridge, off_rx.url)
        r = await client.patch(f"{URL}/{off['id']}", json={"enabled": False}, headers=bridge)
        assert r.status_code == 200 and r.json()["disabled_reason"] == "by_user"
        # Another kind than the one subscribed to.
        await subscribe(client, bridge, off_rx.url, ("client.inactive",))
        await upload_file(client, await auth.headers("case_manager"), person.id)
        await run_jobs(sessionmaker, test_settings)
        assert len(bridge_rx.requests) == 1
        assert harbor_rx.requests == [] and off_rx.requests == []


async def test_a_review_needed_notice_reaches_no_partner_outside_the_cas_organization(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    bridge: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    """``queue.review_needed`` names an expired Document Check document (its id and expiry):
    Document Check is for the CAS organization and admins only (DOMAIN 3), so the Bridge --
    which placed the household and sees the client -- is not sent it; the CAS organization
    is."""
    placed = await intake(client, await auth.headers("case_manager", org="access_point_1"))
    client_id = uuid.UUID(placed["client"]["id"])
    entry_id = uuid.UUID(placed["queue_entry"]["id"])
    admin = await auth.headers("system_admin")
    kinds = ("queue.review_needed", "client.inactive")
    with receiver() as bridge_rx, receiver() as cas_rx:
        await subscribe(client, bridge, bridge_rx.url, kinds)
        await subscribe(client, admin, cas_rx.url, kinds, organization_id=str(world.org_id("cas")))
        async with sessionmaker() as session:
            for kind, data in (
                (
                    "queue.review_needed",
                    {
                        "queue_entry_id": str(entry_id),
                        "document_id": str(uuid.uuid4()),
                        "expiration_date": "2026-11-30",
                    },
                ),
                ("client.inactive", {"last_contact_on": "2026-09-01"}),
            ):
                await events.emit_once(
                    session,
                    world.home.coc.id,
                    kind,
                    dedupe_key=f"test:{kind}",
                    entity_type="queue_entry" if kind.startswith("queue") else "client",
                    entity_id=entry_id if kind.startswith("queue") else client_id,
                    client_id=client_id,
                    data=data,
                )
            await session.commit()
        await run_jobs(sessionmaker, test_settings)
        # The Bridge: its client's inactivity only; the CAS organization: both.
        assert [json.loads(r.body)["type"] for r in bridge_rx.requests] == ["client.inactive"]
        assert sorted(json.loads(r.body)["type"] for r in cas_rx.requests) == sorted(kinds)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2/hooks",  # loopback (only 127.0.0.1 is allowed in the tests)
        "http://10.1.2.3/hooks",
        "http://172.16.0.5/hooks",
        "http://192.168.1.1/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://100.100.100.200/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::1]/hooks",
        "http://[::ffff:10.0.0.1]/hooks",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "ftp://partner.example.org/hooks",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://user:password@127.0.0.1/hooks",
        "http://127.0.0.1/hooks#fragment",
        "http://no-such-host.invalid/hooks",
        "http:///hooks",
        "http://127.0.0.1:99999/hooks",
    ],
)
async def test_refused_urls_write_nothing(
    client: httpx.AsyncClient, db: AsyncSession, bridge: dict[str, str], url: str
) -> None:
    r = await client.post(
        URL, json={"url": url, "event_types": ["document.uploaded"]}, headers=bridge
    )
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == ["body", "url"], problem
    assert await db.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


def test_address_rules() -> None:
    allowed: list[Any] = []
    assert webhooks.address_refused("93.184.216.34", allowed) is None
    assert webhooks.address_refused("2606:2800:220:1:248:1893:25c8:1946", allowed) is None
    assert webhooks.address_refused("127.0.0.1", allowed) == "a loopback address"
    assert webhooks.address_refused("169.254.169.254", allowed) == "a cloud metadata address"
    assert webhooks.address_refused("::ffff:192.168.0.1", allowed) == "a private address"


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("whsec_" + base64.b64encode(b"x" * 16).decode(), "too weak"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "too long"),
        ("whsec_not base64!", "not valid base64"),
        (base64.b64encode(b"x" * 32).decode(), "whsec_"),
        ("whsec_", "too weak"),
    ],
)
async def test_weak_oversize_or_malformed_secrets_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, bridge: dict[str, str], secret: str, why: str
) -> None:
    with receiver() as rx:
        r = await client.post(
            URL,
            json={"url": rx.url, "event_types": ["document.uploaded"], "secret": secret},
            headers=bridge,
        )
    problem = assert_problem(r, 422)
    assert why in problem["detail"] and problem["errors"][0]["loc"] == ["body", "secret"]
    assert await db.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


@pytest.mark.parametrize(
    "event_types",
    [["document.teleported"], [], ["webhook_subscription.disabled"], ["Document.Uploaded"]],
)
async def test_unknown_or_unsubscribable_event_types_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, bridge: dict[str, str], event_types: list[str]
) -> None:
    with receiver() as rx:
        r = await client.post(URL, json={"url": rx.url, "event_types": event_types}, headers=bridge)
    problem = assert_problem(r, 422)
    assert "event_types" in str(problem["errors"])
    assert await db.scalar(select(func.count()).select_from(WebhookSubscription)) == 0
    types = await client.get(f"{URL}/event-types", headers=bridge)
    listed = {t["event_type"] for t in types.json()["items"]}
    assert "document.uploaded" in listed and "webhook_subscription.disabled" not in listed


async def test_who_manages_which_subscriptions(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, bridge: dict[str, str]
) -> None:
    admin = await auth.headers("system_admin")
    with receiver() as rx:
        harbor = await subscribe(
            client, admin, rx.url, organization_id=str(world.org_id("access_point_2"))
        )
        mine = await subscribe(client, bridge, rx.url)
        # An agency admin manages their own organization's subscriptions only.
        r = await client.post(
            URL,
            json={
                "url": rx.url,
                "event_types": ["document.uploaded"],
                "organization_id": str(world.org_id("access_point_2")),
            },
            headers=bridge,
        )
        assert_problem(r, 403)
        r = await client.post(
            URL,
            json={
                "url": rx.url,
                "event_types": ["document.uploaded"],
                "organization_id": str(world.org_id("cas", "other")),
            },
            headers=admin,
        )
        assert_problem(r, 422)
    assert_problem(await client.get(f"{URL}/{harbor['id']}", headers=bridge), 404)
    listed = await client.get(URL, headers=bridge)
    assert [i["id"] for i in listed.json()["items"]] == [mine["id"]]
    everything = await client.get(URL, headers=admin)
    assert {i["id"] for i in everything.json()["items"]} == {harbor["id"], mine["id"]}
    for user in ("case_manager", "housing_provider"):
        assert_problem(await client.get(URL, headers=await auth.headers(user)), 403)
    other = await auth.headers("system_admin", coc="other")
    assert_problem(await client.get(f"{URL}/{mine['id']}", headers=other), 404)
    assert await db.scalar(select(func.count()).select_from(WebhookSubscription)) == 2


async def test_update_checks_the_url_again_and_delete_removes_it(
    client: httpx.AsyncClient, db: AsyncSession, bridge: dict[str, str]
) -> None:
    with receiver() as rx:
        sub = await subscribe(client, bridge, rx.url)
    r = await client.patch(
        f"{URL}/{sub['id']}", json={"url": "http://10.0.0.8/hooks"}, headers=bridge
    )
    assert_problem(r, 422)
    r = await client.patch(f"{URL}/{sub['id']}", json={"event_types": None}, headers=bridge)
    assert_problem(r, 422)
    r = await client.patch(
        f"{URL}/{sub['id']}",
        json={"event_types": ["client.inactive", "document.expired"]},
        headers={**bridge, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["event_types"] == ["client.inactive", "document.expired"]
    assert r.json()["url"] == sub["url"] and r.headers["etag"] == '"2"'
    stale = await client.delete(f"{URL}/{sub['id']}", headers={**bridge, "If-Match": '"1"'})
    assert_problem(stale, 412)
    assert (await client.delete(f"{URL}/{sub['id']}", headers=bridge)).status_code == 204
    assert await db.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


async def test_rotation_signs_with_both_secrets_until_the_previous_one_ends(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    bridge: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    person = await make_client(db, world)
    with receiver() as rx:
        sub = await subscribe(client, bridge, rx.url)
        old = sub["secret"]
        chosen = "whsec_" + base64.b64encode(b"r" * 40).decode()
        r = await client.post(
            f"{URL}/{sub['id']}/rotate-secret",
            json={"secret": chosen, "previous_valid_hours": 24},
            headers=bridge,
        )
        assert r.status_code == 200, r.text
        assert r.json()["secret"] == chosen and r.json()["previous_secret_expires_at"]
        assert_problem(
            await client.post(
                f"{URL}/{sub['id']}/rotate-secret",
                json={"secret": "whsec_c2hvcnQ="},
                headers=bridge,
            ),
            422,
        )
        await upload_file(client, await auth.headers("case_manager"), person.id)
        await run_jobs(sessionmaker, test_settings)
        # The previous secret ends now: only the new one signs.
        r = await client.post(
            f"{URL}/{sub['id']}/rotate-secret", json={"previous_valid_hours": 0}, headers=bridge
        )
        newest = r.json()["secret"]
        assert r.json()["previous_secret_expires_at"] is None
        await upload_file(client, await auth.headers("case_manager"), person.id)
        await run_jobs(sessionmaker, test_settings)
        during, after = rx.requests
    assert len(lower(during.headers)["webhook-signature"].split(" ")) == 2
    for secret in (old, chosen):
        Webhook(secret).verify(during.body, lower(during.headers))
        assert verify_by_hand(secret, lower(during.headers), during.body)
    Webhook(newest).verify(after.body, lower(after.headers))
    for secret in (old, chosen):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(after.body, lower(after.headers))


async def test_failures_retry_then_dead_letter_and_a_redelivery_succeeds(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    bridge: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    settings = test_settings.model_copy(
        update={"webhook_max_attempts": 3, "job_retry_base_seconds": 0.0}
    )
    person = await make_client(db, world)
    with receiver(status=500) as rx:
        sub = await subscribe(client, bridge, rx.url)
        await upload_file(client, await auth.headers("case_manager"), person.id)
        await run_jobs(sessionmaker, settings)
        assert len(rx.requests) == 3  # three tries (no backoff wait in this test)
        ids = {lower(r.headers)["webhook-id"] for r in rx.requests}
        assert len(ids) == 1  # the same message each time
        log = await client.get(f"{URL}/{sub['id']}/deliveries", headers=bridge)
        [delivery] = log.json()["items"]
        assert delivery["status"] == "failed" and delivery["attempts"] == 3
        assert delivery["last_status_code"] == 500 and delivery["last_error"] == "HTTP 500"
        [job] = (await db.scalars(select(Job).where(Job.kind == "webhooks.deliver"))).all()
        assert job.status == "dead" and job.attempts == 3
        assert "HTTP 500" in (job.last_error or "")
        admin = await auth.headers("system_admin")
        dead = await client.get("/api/v1/jobs", params={"status": "dead"}, headers=admin)
        assert [j["id"] for j in dead.json()["items"]] == [str(job.id)]

        rx.status = 204
        again = await client.post(
            f"{URL}/{sub['id']}/deliveries/{delivery['id']}/redeliver", headers=bridge
        )
        assert again.status_code == 202, again.text
        assert again.json()["status"] == "pending"
        busy = await client.post(
            f"{URL}/{sub['id']}/deliveries/{delivery['id']}/redeliver", headers=bridge
        )
        assert_problem(busy, 409)
        await run_jobs(sessionmaker, settings)
        assert len(rx.requests) == 4
        assert lower(rx.requests[-1].headers)["webhook-id"] in ids
    detail = await client.get(f"{URL}/{sub['id']}/deliveries/{delivery['id']}", headers=bridge)
    assert detail.json()["status"] == "succeeded"
    attempts = detail.json()["attempt_log"]
    assert [a["succeeded"] for a in attempts] == [False, False, False, True]
    assert attempts[-1]["requested_by_user_id"] == str(world.user_id("agency_admin"))
    assert attempts[0]["requested_by_user_id"] is None
    other = await auth.headers("case_manager2")
    r = await client.post(f"{URL}/{sub['id']}/deliveries/{delivery['id']}/redeliver", headers=other)
    assert_problem(r, 403)


async def test_repeated_failures_disable_the_subscription_and_tell_its_admins(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    bridge: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    settings = test_settings.model_copy(
        update={
            "webhook_max_attempts": 5,
            "webhook_disable_after_failures": 2,
            "job_retry_base_seconds": 0.0,
        }
    )
    person = await make_client(db, world)
    with receiver(status=503) as rx:
        sub = await subscribe(client, bridge, rx.url)
        await upload_file(client, await auth.headers("case_manager"), person.id)
        await run_jobs(sessionmaker, settings)
        assert len(rx.requests) == 2
        read = (await client.get(f"{URL}/{sub['id']}", headers=bridge)).json()
        assert read["enabled"] is False and read["disabled_reason"] == "failures"
        assert read["consecutive_failures"] == 2
        # The organization's admins are told (agency_admin of the Bridge; nobody else).
        assert await recipients(db, world, "webhook_subscription.disabled") == {"agency_admin"}
        # Nothing more is sent while it is disabled.
        await upload_file(client, await auth.headers("case_manager"), person.id)
        await run_jobs(sessionmaker, settings)
        assert len(rx.requests) == 2
        [delivery] = (await client.get(f"{URL}/{sub['id']}/deliveries", headers=bridge)).json()[
            "items"
        ]
        r = await client.post(
            f"{URL}/{sub['id']}/deliveries/{delivery['id']}/redeliver", headers=bridge
        )
        assert_problem(r, 409)
        # An admin turns it back on.
        r = await client.patch(f"{URL}/{sub['id']}", json={"enabled": True}, headers=bridge)
        assert r.json()["enabled"] and r.json()["consecutive_failures"] == 0


async def test_the_address_is_checked_again_at_delivery(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: Any,
    bridge: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    person = await make_client(db, world)
    with receiver() as rx:
        sub = await subscribe(client, bridge, rx.url)
        await upload_file(client, await auth.headers("case_manager"), person.id)
        # The receiver's name now leads to a refused address (here: 127.0.0.1 is no longer
        # allowed): nothing is sent there.
        refusing = test_settings.model_copy(update={"webhook_allowed_networks": []})
        await run_jobs(sessionmaker, refusing)
        assert rx.requests == []
    [delivery] = (await db.scalars(select(WebhookDelivery))).all()
    assert delivery.subscription_id == uuid.UUID(sub["id"])
    assert "loopback" in (delivery.last_error or "")


async def test_name_resolution_does_not_block_the_event_loop(
    monkeypatch: pytest.MonkeyPatch, test_settings: Settings
) -> None:
    def slow_lookup(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        time.sleep(0.3)  # a slow DNS server
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))]

    monkeypatch.setattr(socket, "getaddrinfo", slow_lookup)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        for _ in range(20):
            await asyncio.sleep(0.01)
            ticks += 1

    target, _ = await asyncio.gather(
        webhooks.check_url("https://partner.example.org/hooks", test_settings), ticker()
    )
    assert target.addresses == ("93.184.216.34",) and target.host == "partner.example.org"
    assert ticks == 20


def test_payload_is_the_events_ids_and_codes() -> None:
    event = SimpleNamespace(
        id=uuid.UUID(int=1),
        event_type="document.expired",
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
        entity_type="client_file",
        entity_id=uuid.UUID(int=2),
        client_id=None,
        data={"expiration_date": "2026-01-01", "audience": ["x"]},
    )
    assert json.loads(webhooks.payload_of(event)) == {  # type: ignore[arg-type]
        "type": "document.expired",
        "timestamp": "2026-01-02T00:00:00Z",
        "data": {
            "event_id": str(uuid.UUID(int=1)),
            "entity_type": "client_file",
            "entity_id": str(uuid.UUID(int=2)),
            "client_id": None,
            "expiration_date": "2026-01-01",
        },
    }


async def test_a_queue_status_change_reaches_only_organizations_that_read_the_queue_entry(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    bridge: dict[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    """The queue (intake status, review) is for admins, the CAS organization and the client's
    assigned case managers (DOMAIN 3 and 7). ``queue.intake_status_changed`` goes to the CAS
    organization and to the Bridge (its case manager is assigned to the household), not to
    Hope Housing, although Hope sees the client through the referral it was sent."""
    from tests.support.journey import INCOMPLETE
    from tests.support.matching import make_unit, send

    placed = await intake(client, await auth.headers("case_manager", org="access_point_1"))
    client_id = placed["client"]["id"]
    entry = f"/api/v1/queue-entries/{placed['queue_entry']['id']}"
    cas_admin = {**(await auth.headers("cas_admin")), "If-Match": "*"}
    r = await client.post(f"{entry}/transitions", json={"to_status": "approved"}, headers=cas_admin)
    assert r.status_code == 200, r.text
    unit = await make_unit(client, auth, world.project_id("h1_psh"))
    assert (await send(client, auth, unit["id"], placed["queue_entry"]["id"])).status_code == 201
    hope = await auth.headers("housing_provider")
    assert (await client.get(f"/api/v1/clients/{client_id}", headers=hope)).status_code == 200
    assert (await client.get(entry, headers=hope)).status_code in (403, 404)
    await run_jobs(sessionmaker, test_settings)  # the earlier events, before any subscription
    admin = await auth.headers("system_admin")
    kinds = ("queue.intake_status_changed",)
    with receiver() as bridge_rx, receiver() as cas_rx, receiver() as hope_rx:
        await subscribe(client, bridge, bridge_rx.url, kinds)
        await subscribe(client, admin, cas_rx.url, kinds, organization_id=str(world.org_id("cas")))
        await subscribe(
            client, admin, hope_rx.url, kinds, organization_id=str(world.org_id("housing_1"))
        )
        r = await client.post(f"{entry}/transitions", json=INCOMPLETE, headers=cas_admin)
        assert r.status_code == 200, r.text
        await run_jobs(sessionmaker, test_settings)
        for rx in (bridge_rx, cas_rx):
            [delivered] = [json.loads(x.body) for x in rx.requests]
            assert delivered["type"] == "queue.intake_status_changed"
            assert delivered["data"]["client_id"] == client_id
        assert hope_rx.requests == []
