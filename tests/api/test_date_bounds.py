"""Every date and date-time the API accepts is bounded: extreme values are 422 problems, never
500s (a date-time near the ends of the calendar overflows when converted to UTC)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Auth, World, assert_problem
from tests.support.documents import PDF, count, file_part, make_client
from tests.support.intake import INTAKES, counts, example

EXTREME_DATETIMES = ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00")
EXTREME_DATES = ("0001-01-01", "9999-12-31", "1899-12-31")


def _walk(
    schema: dict[str, Any], components: dict[str, Any], where: str, seen: frozenset[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _walk(components[name], components, f"{where}<{name}>", seen | {name})
        return
    if schema.get("format") in ("date", "date-time"):
        yield where, schema
    for key, value in schema.get("properties", {}).items():
        yield from _walk(value, components, f"{where}.{key}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _walk(schema[key], components, where, seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from _walk(option, components, where, seen)


def request_date_fields(openapi: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    components = openapi["components"]["schemas"]
    found = []
    for path, operations in openapi["paths"].items():
        for method, op in operations.items():
            name = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                found += _walk(param["schema"], components, f"{name} {param['name']}", frozenset())
            for ctype, content in op.get("requestBody", {}).get("content", {}).items():
                schema = content.get("schema", {})
                found += _walk(schema, components, f"{name} {ctype}", frozenset())
    return found


def test_every_request_date_is_bounded(app: Any) -> None:
    fields = request_date_fields(app.openapi())
    assert len(fields) > 50  # the sweep really walks the request schemas
    unbounded = [
        where
        for where, schema in fields
        if "x-format-minimum" not in schema
        or ("x-format-maximum" not in schema and "x-max-years-ahead" not in schema)
    ]
    assert unbounded == []


def _cursor(values: list[Any]) -> str:
    raw = json.dumps(values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("value", EXTREME_DATETIMES)
async def test_extreme_since_until_are_422(
    client: httpx.AsyncClient, auth: Auth, value: str
) -> None:
    admin = await auth.headers("system_admin")
    for param in ("since", "until"):
        r = await client.get("/api/v1/audit-events", params={param: value}, headers=admin)
        body = assert_problem(r, 422, "validation-error")
        assert body["errors"][0]["loc"] == ["query", param]
    ok = await client.get(
        "/api/v1/audit-events",
        params={"since": "2020-01-01T00:00:00+14:00", "until": "2100-01-01T00:00:00-12:00"},
        headers=admin,
    )
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("value", EXTREME_DATETIMES)
async def test_extreme_cursor_datetimes_are_422(
    client: httpx.AsyncClient, auth: Auth, value: str
) -> None:
    cursor = _cursor([{"t": value}, {"u": str(uuid.uuid4())}])
    admin = await auth.headers("system_admin")
    r = await client.get("/api/v1/audit-events", params={"cursor": cursor}, headers=admin)
    assert assert_problem(r, 422, "validation-error")["errors"][0]["loc"] == ["query", "cursor"]
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await client.post(INTAKES, json=example("pending"), headers=headers)
    client_id = intake.json()["client"]["id"]
    for path in ("area-ties", "households", "enrollments"):
        r = await client.get(
            f"/api/v1/clients/{client_id}/{path}", params={"cursor": cursor}, headers=headers
        )
        body = assert_problem(r, 422, "validation-error")
        assert body["errors"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("value", EXTREME_DATES)
async def test_extreme_dates_in_bodies_are_422_and_nothing_is_written(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, value: str
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await client.post(INTAKES, json=example("pending"), headers=headers)
    assert intake.status_code == 201, intake.text
    client_id = intake.json()["client"]["id"]
    before = await counts(db)

    tie = await client.post(
        f"/api/v1/clients/{client_id}/area-ties",
        json={"area_ties": [{"tie_date": value, "area": "coc_area", "how": "worked"}]},
        headers=headers,
    )
    locs = [e["loc"] for e in assert_problem(tie, 422, "validation-error")["errors"]]
    assert ["body", "area_ties", 0, "tie_date"] in locs

    body = example("pending")
    body["prior_living_situation"]["date_to_street_essh"] = value
    street = await client.post(INTAKES, json=body, headers=headers)
    locs = [e["loc"] for e in assert_problem(street, 422, "validation-error")["errors"]]
    assert ["body", "prior_living_situation", "date_to_street_essh"] in locs
    assert await counts(db) == before


@pytest.mark.parametrize("field", ["issuance_date", "expiration_date", "verification_date"])
async def test_extreme_document_dates_are_422(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: Any, field: str
) -> None:
    from app.models.documents import DocumentCheck

    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    data = {"category": "homeless", "item": "identity", "document_type": "photo_id"}
    for value in ("0001-01-01", "9999-12-31"):
        r = await client.post(
            f"/api/v1/clients/{person.id}/document-checks",
            headers=cas,
            data={**data, field: value},
            files=file_part(PDF),
        )
        body = assert_problem(r, 422, "validation-error")
        assert ["body", field] in [e["loc"] for e in body["errors"]]
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 0
