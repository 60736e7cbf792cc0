from __future__ import annotations

import json
import logging

import httpx
import pytest
from pydantic import ValidationError

from app.config import Settings
from app.main import create_app
from tests.conftest import Auth, assert_problem


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nothing-here"), 404, "not-found")
    assert_problem(await client.delete("/health/live"), 405, "method-not-allowed")


async def test_validation_errors_name_the_field(client: httpx.AsyncClient, auth: Auth) -> None:
    r = await client.post(
        "/api/v1/organizations",
        headers=await auth.headers("system_admin"),
        json={"name": "X", "access_point": "maybe"},
    )
    body = assert_problem(r, 422, "validation-error")
    assert body["errors"] == [
        {"loc": ["body", "access_point"], "msg": body["errors"][0]["msg"], "type": "bool_parsing"}
    ]
    assert "maybe" not in r.text  # submitted values are not echoed back


async def test_wrong_path_parameter_type(client: httpx.AsyncClient, auth: Auth) -> None:
    r = await client.get(
        "/api/v1/organizations/not-a-uuid", headers=await auth.headers("case_manager")
    )
    assert assert_problem(r, 422)["errors"][0]["loc"] == ["path", "organization_id"]


async def test_oversize_body_is_413(client: httpx.AsyncClient, auth: Auth, app: object) -> None:
    limit = app.state.settings.max_json_body_bytes  # type: ignore[attr-defined]
    big = json.dumps({"name": "x" * (limit + 10)})
    r = await client.post(
        "/api/v1/organizations",
        headers=await auth.headers("system_admin"),
        content=big,
    )
    assert_problem(r, 413, "payload-too-large")

    async def chunks():  # streamed without a Content-Length
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    r = await client.post(
        "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(r, 413)


async def test_security_headers_and_request_id(client: httpx.AsyncClient, auth: Auth) -> None:
    r = await client.get("/api/v1/auth/me", headers=await auth.headers("case_manager"))
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert len(r.headers["x-request-id"]) == 32


async def test_cors_is_closed_by_default_and_open_for_configured_origins(
    test_settings: Settings,
) -> None:
    preflight = {
        "Origin": "http://localhost:5173",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    closed = create_app(test_settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=closed), base_url="http://test"
    ) as c:
        r = await c.options("/api/v1/auth/login", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
    demo = create_app(test_settings, demo=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=demo), base_url="http://test"
    ) as c:
        r = await c.options("/api/v1/auth/login", headers=preflight)
        assert r.headers["access-control-allow-origin"] == "http://localhost:5173"
    configured = create_app(
        test_settings.model_copy(update={"cors_origins": ["https://app.example.org"]})
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=configured), base_url="http://test"
    ) as c:
        r = await c.options(
            "/api/v1/auth/login", headers=preflight | {"Origin": "https://app.example.org"}
        )
        assert r.headers["access-control-allow-origin"] == "https://app.example.org"
        assert (
            "etag" in r.headers.get("access-control-expose-headers", "").lower()
            or r.status_code == 200
        )


def test_production_refuses_default_secrets() -> None:
    with pytest.raises(ValidationError, match="CAS_SECRET_KEY"):
        Settings(environment="production")
    with pytest.raises(ValidationError, match="CAS_FIELD_ENCRYPTION_KEY"):
        Settings(environment="production", secret_key="s" * 40)
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(field_encryption_key="too-short")
    ok = Settings(
        environment="production",
        secret_key="s" * 40,
        field_encryption_key="a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0=",
    )
    assert ok.environment == "production"


async def test_logs_are_json_with_request_id_and_no_query_or_body(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    from app.http.logging import JsonFormatter

    with caplog.at_level(logging.INFO, logger="app.access"):
        refused = await client.post(
            "/api/v1/auth/login?email=leak@example.org",
            json={"email": "secret.person@example.org", "password": "pw"},
            headers={"X-Request-ID": "trace-1"},
        )
    assert_problem(refused, 401)
    assert refused.headers["x-request-id"] == "trace-1"
    records = [r for r in caplog.records if r.name == "app.access"]
    assert records
    line = JsonFormatter().format(records[-1])
    entry = json.loads(line)
    assert entry["path"] == "/api/v1/auth/login" and entry["status"] == 401
    assert "leak" not in line and "secret.person" not in line


async def test_text_postgres_cannot_store_is_a_422(client: httpx.AsyncClient, auth: Auth) -> None:
    admin = await auth.headers("system_admin")
    for name in ("bad\u0000name", "bad\ud800name"):
        r = await client.post(
            "/api/v1/cocs",
            headers=admin | {"content-type": "application/json"},
            content=json.dumps({"code": "AG-021", "name": name, "hmis_lead_name": "Lead"}),
        )
        body = assert_problem(r, 422)
        assert body["errors"][0]["loc"] == ["body", "name"]


async def test_nul_in_a_query_parameter_is_a_422(client: httpx.AsyncClient, auth: Auth) -> None:
    r = await client.get(
        "/api/v1/audit-events?action=a%00b", headers=await auth.headers("system_admin")
    )
    assert assert_problem(r, 422)["errors"][0]["loc"] == ["query", "action"]
